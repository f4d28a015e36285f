//! Resources that belong to a node (volume connectors, volume targets, ports): what the
//! gateway and the conductors do with each of them in the same way, described once per
//! resource by [`NodeChild`].

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::AnyConnection;
use crate::db::rpc_requests::InStatement;
use crate::error::Error;
use crate::model::node::Node;
use crate::rpc::{Call, Reply};
use crate::schema::Field;

/// A new resource as the gateway hands it to a conductor: its UUID (given or generated)
/// and the client's fields, checked against the create schema.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct New<F> {
    pub uuid: String,
    pub fields: F,
}

/// Which state of a resource's row a write or deletion applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The row as it is now: the caller read it under a lock that keeps it so.
    Current,
    /// The row only while it is still as the item was read: its `updated_at` unchanged.
    /// Every write of a resource sets `updated_at`, to the microsecond, so a row whose
    /// `updated_at` is the one read has not been written since.
    AsRead,
}

/// How a node's resource is stored: implemented by its table's module
/// ([`crate::child_queries`]).
pub trait Stored: Sized {
    fn get(conn: &mut AnyConnection, uuid: &str) -> Result<Self, Error>;
    /// The resource and its node, read in one statement that holds the node's row until
    /// the caller's write transaction ends (`reservation::hold_named`'s lock), whether or
    /// not a conductor has reserved it: the caller checks. Only where
    /// `reservation::holds_as_it_reads`, as the transaction's first statement.
    fn get_holding_node(conn: &mut AnyConnection, uuid: &str) -> Result<(Self, Node), Error>;
    /// Internal id, for use as a list marker.
    fn id_of(conn: &mut AnyConnection, uuid: &str) -> Result<i64, Error>;
    /// Inserts `item` on the node its node UUID names (its `node_id` is not read), and
    /// returns it as stored; no such node is the node's `NotFound`. With `request`, the
    /// same statement records that request as applied.
    fn insert(
        conn: &mut AnyConnection,
        item: &Self,
        request: Option<InStatement<'_>>,
    ) -> Result<Self, Error>;
    /// Writes `item` over its row, as `expect` allows; `None` when no row was written
    /// (the row is gone, or no longer as read).
    fn save(conn: &mut AnyConnection, item: &Self, expect: Expect) -> Result<Option<Self>, Error>;
    /// Deletes `item`'s row, as `expect` allows; whether a row was deleted.
    fn delete(conn: &mut AnyConnection, item: &Self, expect: Expect) -> Result<bool, Error>;
}

pub trait NodeChild:
    Stored + Clone + Debug + Default + PartialEq + Send + Sync + Serialize + 'static
{
    /// What a client sets: the fields of a create body and the document a patch edits.
    type Fields: Clone + Debug + PartialEq + Send + Sync + Serialize + DeserializeOwned + 'static;

    /// The name in messages: "Volume connector X could not be found."
    const NAME: &'static str;
    /// The name of its JSON schema in Ironic's messages ("Schema error for connector: ...").
    const SCHEMA_NAME: &'static str;
    /// The collection's path below `/v1`.
    const PATH: &'static str;
    /// The key of a list in a response body.
    const KEY: &'static str;
    /// Every field of the wire form but `links`, in order (for `fields=`).
    const FIELDS: &'static [&'static str];
    /// The fields of an item in a list without `detail` or `fields`.
    const DEFAULT_FIELDS: &'static [&'static str];
    /// Columns a list may be sorted on (Ironic allows any real column but the JSON ones).
    const SORT_KEYS: &'static [&'static str];
    /// The top-level fields a JSON Patch may touch.
    const PATCHABLE: &'static [&'static str];
    /// The fields of a create body and their rules.
    const CREATE_SCHEMA: &'static [Field];
    /// The rules a patched document must meet.
    const PATCH_SCHEMA: &'static [Field];

    /// A resource created now, from a client's fields, on the node they name. Its
    /// `node_id`, like its own id, is the database's: [`Stored::insert`] looks the node
    /// up by its UUID as it inserts the row.
    fn new(uuid: String, fields: Self::Fields) -> Self;
    fn uuid(&self) -> &str;
    fn node_id(&self) -> i64;
    fn fields(&self) -> Self::Fields;
    /// This resource with the client's fields replaced, on the node `node_id`.
    fn with_fields(self, fields: Self::Fields, node_id: i64) -> Self;
    fn node_uuid(fields: &Self::Fields) -> &str;
    fn set_node_uuid(fields: &mut Self::Fields, uuid: String);

    fn not_found(uuid: &str) -> Error {
        Error::not_found(format!("{} {uuid} could not be found.", Self::NAME))
    }

    /// The name in lock purposes and conflict messages: "volume connector".
    fn kind() -> String {
        Self::NAME.to_lowercase()
    }

    fn create_call(new: New<Self::Fields>) -> Call;
    fn update_call(uuid: String, patch: Vec<json_patch::PatchOperation>) -> Call;
    fn destroy_call(uuid: String) -> Call;
    fn into_reply(self) -> Reply;
    /// The resource a conductor answered with; any other answer is an internal error.
    fn from_reply(reply: Reply) -> Result<Self, Error>;
}
