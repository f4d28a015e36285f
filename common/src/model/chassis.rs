//! Chassis: a group of nodes (a rack, an enclosure). A chassis belongs to no node, so it
//! is not a [`crate::child::NodeChild`]; nodes refer to it by its internal id.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::{JsonObject, null_as_empty};
use crate::schema::{Field, Kind, field};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Chassis {
    pub id: i64,
    pub uuid: String,
    pub description: Option<String>,
    pub extra: JsonObject,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

/// What a client sets on a chassis: the fields of a create body (besides its UUID), and
/// with the UUID the document a JSON Patch edits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChassisFields {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub extra: JsonObject,
}

/// A new chassis as the gateway hands it to a conductor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewChassis {
    pub uuid: String,
    pub fields: ChassisFields,
}

impl Chassis {
    pub fn new(new: NewChassis) -> Chassis {
        Chassis {
            uuid: new.uuid,
            description: new.fields.description,
            extra: new.fields.extra,
            created_at: super::now(),
            ..Chassis::default()
        }
    }

    pub fn fields(&self) -> ChassisFields {
        ChassisFields {
            description: self.description.clone(),
            extra: self.extra.clone(),
        }
    }

    pub fn not_found(uuid: &str) -> crate::Error {
        crate::Error::not_found(format!("Chassis {uuid} could not be found."))
    }
}

/// Column size of `chassis.description`, and Ironic's `maxLength` for it.
pub const DESCRIPTION_MAX: usize = 255;

/// Every field of a chassis on the wire but `links` (for `fields=`, which always shows
/// `links`).
pub const FIELDS: [&str; 6] = [
    "uuid",
    "description",
    "extra",
    "created_at",
    "updated_at",
    "nodes",
];

/// The fields of a chassis in a list without `detail` or `fields`.
pub const DEFAULT_FIELDS: [&str; 2] = ["uuid", "description"];

/// Columns a chassis list may be sorted on: every column but the JSON one.
pub const SORT_KEYS: [&str; 5] = ["id", "uuid", "description", "created_at", "updated_at"];

/// The top-level fields a JSON Patch may touch, in the order Ironic names them.
pub const PATCHABLE: [&str; 3] = ["uuid", "extra", "description"];

/// The type rules of a create body and of a patched document (description's length is
/// checked on its own, in Ironic's words).
pub const SCHEMA: [Field; 3] = [
    field("uuid", Kind::Uuid, false, true),
    field("extra", Kind::Object, false, true),
    field("description", Kind::Str(usize::MAX), false, true),
];

/// A description longer than Ironic's `maxLength`, refused in the words of Ironic's
/// JSON schema for `what` (`chassis` for a create body, `patch` for a patched one).
pub fn check_description(doc: &JsonObject, what: &str) -> Result<(), crate::Error> {
    match doc.get("description").and_then(|v| v.as_str()) {
        Some(d) if d.chars().count() > DESCRIPTION_MAX => Err(crate::schema::schema_error(
            what,
            format!("{} is too long", crate::schema::py_str(d)),
        )),
        _ => Ok(()),
    }
}

/// Checks a create body or a patched document: the types, then the description's length.
pub fn check(doc: &mut JsonObject, what: &str) -> Result<(), crate::Error> {
    crate::schema::check(doc, &SCHEMA, what)?;
    check_description(doc, what)
}
