//! Chassis RPCs: create, update and destroy.
//!
//! A chassis belongs to no node, so no node lock is taken: Ironic writes a chassis
//! straight from its API, under no lock either. The writes still come here rather than
//! from the gateway, like every other write, so that each one is recorded with its
//! request in the same transaction ([`crate::idempotency`]): a request redelivered by
//! the broker is answered from the current state instead of being applied twice (a
//! second create would otherwise answer 409, a second delete 404). Concurrent updates
//! of one chassis are each applied whole, the last one winning, as in Ironic.

use json_patch::PatchOperation;
use serde_json::Value;

use common::Error;
use common::db::chassis;
use common::model::JsonObject;
use common::model::chassis::{self as model, Chassis, NewChassis};
use common::patch;
use common::rpc::{Reply, Response};

use crate::Conductor;
use crate::context::Context;

pub async fn create_chassis(c: &Conductor, ctx: &Context, new: NewChassis) -> Response {
    let created = Chassis::new(new);
    c.write(ctx, move |conn| {
        Ok(Reply::Chassis(chassis::create(conn, &created)?))
    })
    .await
}

/// A chassis as the document a JSON Patch edits.
fn document(current: &Chassis) -> JsonObject {
    let mut doc = JsonObject::new();
    doc.insert("uuid".into(), current.uuid.clone().into());
    doc.insert(
        "description".into(),
        current
            .description
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null),
    );
    doc.insert("extra".into(), Value::Object(current.extra.clone()));
    doc
}

/// `current` with `ops` applied: its UUID cannot change, and a removed field is empty.
fn patched(current: &Chassis, ops: &[PatchOperation]) -> Result<Chassis, Error> {
    let mut doc = patch::apply(&document(current), ops)?;
    model::check(&mut doc, "patch")?;
    if doc.get("uuid").and_then(Value::as_str) != Some(current.uuid.as_str()) {
        return Err(Error::invalid(
            "Cannot overwrite UUID for an existing Chassis.",
        ));
    }
    Ok(Chassis {
        description: doc
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        extra: doc
            .get("extra")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        ..current.clone()
    })
}

/// Ironic saves a chassis whatever the patch changed, so `updated_at` always moves.
pub async fn update_chassis(
    c: &Conductor,
    ctx: &Context,
    uuid: String,
    ops: Vec<PatchOperation>,
) -> Response {
    patch::check_allowed(&ops, &model::PATCHABLE)?;
    c.write(ctx, move |conn| {
        let current = chassis::get_by_uuid(conn, &uuid)?;
        let updated = patched(&current, &ops)?;
        Ok(Reply::Chassis(chassis::update(conn, &updated)?))
    })
    .await
}

pub async fn destroy_chassis(c: &Conductor, ctx: &Context, uuid: String) -> Response {
    c.write(ctx, move |conn| {
        chassis::delete(conn, &uuid)?;
        Ok(Reply::Done)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(v: Value) -> Vec<PatchOperation> {
        patch::parse(&v).expect("a valid patch")
    }

    fn current() -> Chassis {
        Chassis {
            uuid: "1be26c0b-03f2-4d2e-ae87-c02d7f33c123".into(),
            description: Some("rack 1".into()),
            ..Chassis::default()
        }
    }

    #[test]
    fn removed_fields_are_empty_and_the_uuid_stays() {
        let updated = patched(
            &current(),
            &ops(json!([
                {"op": "remove", "path": "/description"},
                {"op": "add", "path": "/extra/row", "value": 4},
            ])),
        )
        .expect("applies");
        assert_eq!(updated.description, None);
        assert_eq!(updated.extra["row"], json!(4));
        let same_uuid = json!([{"op": "replace", "path": "/uuid", "value": current().uuid}]);
        assert!(patched(&current(), &ops(same_uuid)).is_ok());
        let other_uuid = json!([{"op": "replace", "path": "/uuid",
            "value": "0f4e6fcb-2a39-4b8c-9e3b-1c2d3e4f5a6b"}]);
        assert_eq!(
            patched(&current(), &ops(other_uuid))
                .unwrap_err()
                .to_string(),
            "Cannot overwrite UUID for an existing Chassis."
        );
    }

    #[test]
    fn bad_values_are_refused_in_ironics_words() {
        let long = "x".repeat(256);
        let e = patched(
            &current(),
            &ops(json!([{"op": "replace", "path": "/description", "value": long}])),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Schema error for patch: '{long}' is too long")
        );
        let e = patched(
            &current(),
            &ops(json!([{"op": "replace", "path": "/extra", "value": 5}])),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Schema error for patch: 5 is not of type 'object', 'null'"
        );
    }
}
