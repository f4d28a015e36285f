//! Masking of secret-looking values, as Ironic shows volume target properties
//! (oslo's `mask_dict_password`).

use serde_json::Value;

use super::JsonObject;

pub const MASK: &str = "******";

/// Key fragments that mark a value as secret (compared lower-cased).
const SECRET_KEYS: [&str; 16] = [
    "password",
    "secret",
    "token",
    "auth_password",
    "chappassword",
    "chapsecret",
    "passphrase",
    "private_key",
    "encrypted_key",
    "encryption_key",
    "configdrive",
    "adminpass",
    "admin_pass",
    "new_pass",
    "sys_pswd",
    "keyring",
];

pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| key.contains(s))
}

/// A copy of `obj` with every secret value replaced by [`MASK`], at any depth.
pub fn mask_secrets(obj: &JsonObject) -> JsonObject {
    obj.iter()
        .map(|(k, v)| {
            let masked = if is_secret_key(k) && !v.is_object() {
                Value::String(MASK.into())
            } else {
                mask_value(v)
            };
            (k.clone(), masked)
        })
        .collect()
}

fn mask_value(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(mask_secrets(o)),
        Value::Array(items) => Value::Array(items.iter().map(mask_value).collect()),
        Value::String(s) => Value::String(mask_url_password(&mask_inline(s))),
        other => other.clone(),
    }
}

/// Masks the password of a URL's user info (`http://admin:pw@bmc` becomes
/// `http://admin:******@bmc`): BMC addresses may carry their credentials.
pub fn mask_url_password(s: &str) -> String {
    let Some(scheme_end) = s.find("://") else {
        return s.to_string();
    };
    let rest = &s[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return s.to_string();
    };
    let Some(colon) = rest[..at].find(':') else {
        return s.to_string();
    };
    let user_end = scheme_end + 3 + colon;
    format!("{}:{MASK}{}", &s[..user_end], &s[scheme_end + 3 + at..])
}

/// Scrubs `password=...`-style fragments inside a string.
fn mask_inline(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    if !SECRET_KEYS.iter().any(|k| lower.contains(k)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut words = s.split_inclusive(|c: char| c.is_whitespace() || c == '&' || c == ',');
    for word in &mut words {
        match word.find(['=', ':']) {
            Some(i) if is_secret_key(&word[..i]) => {
                let tail = word
                    .chars()
                    .last()
                    .filter(|c| c.is_whitespace() || *c == '&' || *c == ',');
                out.push_str(&word[..=i]);
                out.push_str(MASK);
                if let Some(t) = tail {
                    out.push(t);
                }
            }
            _ => out.push_str(word),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_passwords_in_urls() {
        let masked = mask_secrets(
            json!({"redfish_address": "https://admin:pw@bmc:8443/redfish?x=1", "plain": "http://bmc/a@b", "user_only": "http://admin@bmc"})
                .as_object()
                .unwrap(),
        );
        assert_eq!(
            masked["redfish_address"],
            "https://admin:******@bmc:8443/redfish?x=1"
        );
        assert_eq!(masked["plain"], "http://bmc/a@b");
        assert_eq!(masked["user_only"], "http://admin@bmc");
    }

    #[test]
    fn masks_secret_keys_at_any_depth() {
        let props = json!({
            "auth_method": "CHAP", "auth_username": "u", "auth_password": "p",
            "nested": {"discovery_auth_password": "x", "list": [{"secret": "y"}]},
            "target_lun": 0
        });
        let masked = mask_secrets(props.as_object().unwrap());
        assert_eq!(
            Value::Object(masked),
            json!({
                "auth_method": "CHAP", "auth_username": "u", "auth_password": MASK,
                "nested": {"discovery_auth_password": MASK, "list": [{"secret": MASK}]},
                "target_lun": 0
            })
        );
    }

    #[test]
    fn scrubs_inline_passwords() {
        assert_eq!(
            mask_inline("user=a password=b x"),
            format!("user=a password={MASK} x")
        );
        assert_eq!(mask_inline("nothing here"), "nothing here");
    }
}
