//! Serializing typed values straight to the response body ([`Json`]): a struct with
//! only the fields a request selected ([`Only`]), the `links` of an item, and the shapes
//! Ironic gives timestamps and secrets.

use std::fmt;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use serde::ser::{self, Impossible, Serialize, SerializeSeq, SerializeStruct, Serializer};

use common::Error;
use common::model::mask::mask_secrets;
use common::model::{IsoFormat, JsonObject};

use crate::error::ApiError;

/// A response whose body is `T` as JSON. It writes the same text as serde_json (the
/// tests below compare them), with sonic-rs, which checks strings for characters to
/// escape many bytes at a time: a list's body is mostly UUIDs, links and timestamps.
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match sonic_rs::to_vec(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => {
                ApiError::from(Error::Internal(format!("response body: {e}"))).into_response()
            }
        }
    }
}

/// `value`, a struct, with only the fields `keep` accepts: the selection happens while
/// serializing, so nothing is built only to be thrown away.
pub struct Only<'a, T> {
    pub value: T,
    pub keep: &'a dyn Fn(&str) -> bool,
}

impl<T: Serialize> Serialize for Only<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Selecting {
            inner: serializer,
            keep: self.keep,
        })
    }
}

/// A serializer that passes a struct's kept fields on to `inner`; anything but a struct
/// is refused (no view is anything else).
struct Selecting<'a, S> {
    inner: S,
    keep: &'a dyn Fn(&str) -> bool,
}

struct SelectedFields<'a, S: Serializer> {
    inner: S::SerializeStruct,
    keep: &'a dyn Fn(&str) -> bool,
}

impl<S: Serializer> SerializeStruct for SelectedFields<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        if (self.keep)(key) {
            self.inner.serialize_field(key, value)
        } else {
            self.inner.skip_field(key)
        }
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}

fn not_a_struct<E: ser::Error>() -> E {
    E::custom("only a struct can have its fields selected")
}

/// The methods of values that are not structs: each refuses.
macro_rules! refuse {
    ($($method:ident($($arg:ty),*);)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<S::Ok, S::Error> {
            Err(not_a_struct())
        })*
    };
}

impl<'a, S: Serializer> Serializer for Selecting<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = SelectedFields<'a, S>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    // `len` stays the struct's: JSON, the only format views are written in, ignores it.
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<SelectedFields<'a, S>, S::Error> {
        Ok(SelectedFields {
            inner: self.inner.serialize_struct(name, len)?,
            keep: self.keep,
        })
    }

    refuse! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Err(not_a_struct())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Err(not_a_struct())
    }
}

/// An item's `links`: its URL under `/v1` (`self`) and without (`bookmark`).
pub struct Links<'a> {
    pub base_url: &'a str,
    /// Path below `/v1` in pieces written one after the other, e.g.
    /// `["volume/connectors", "/", uuid]`: a list writes two links an item, and nothing
    /// is joined for them.
    pub path: [&'a str; 3],
}

// One of an item's links.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Link<'a> {
    #[schema(value_type = String)]
    href: Href<'a>,
    rel: &'static str,
}

/// A link's URL: the base, `root` and the path, written as one string.
struct Href<'a> {
    base_url: &'a str,
    root: &'static str,
    path: &'a [&'a str; 3],
}

impl fmt::Display for Href<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base_url)?;
        f.write_str(self.root)?;
        self.path.iter().try_for_each(|piece| f.write_str(piece))
    }
}

impl Serialize for Href<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Links<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let href = |root| Href {
            base_url: self.base_url,
            root,
            path: &self.path,
        };
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(&Link {
            href: href("/v1/"),
            rel: "self",
        })?;
        seq.serialize_element(&Link {
            href: href("/"),
            rel: "bookmark",
        })?;
        seq.end()
    }
}

/// A timestamp as Ironic renders it (Python's `isoformat()`).
pub struct Timestamp(pub NaiveDateTime);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(IsoFormat::of(&self.0).as_str())
    }
}

/// A document whose secret-looking values are shown as `******`.
pub struct Masked<'a>(pub &'a JsonObject);

impl Serialize for Masked<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        mask_secrets(self.0).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Item {
        a: i32,
        b: &'static str,
        c: Option<bool>,
    }

    #[test]
    fn only_the_kept_fields_are_written() {
        let item = Item {
            a: 1,
            b: "x",
            c: None,
        };
        let keep = |f: &str| f != "b";
        let text = serde_json::to_string(&Only {
            value: item,
            keep: &keep,
        })
        .expect("serialises");
        assert_eq!(text, r#"{"a":1,"c":null}"#);
    }

    /// The body of `value` as `Json` writes it.
    async fn written(value: &serde_json::Value) -> String {
        let response = Json(value).into_response();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        String::from_utf8(body.expect("body").to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn bodies_are_written_as_serde_json_writes_them() {
        let values = [
            serde_json::json!({"\u{0}\u{1f}\u{7f}\u{80}\u{ffff}": "\\ \" / \u{8}\u{c}\n\r\t é 漢字 😀 \u{2028}"}),
            serde_json::json!([
                0.1,
                100.0,
                1e16,
                1e21,
                1.5e-300,
                -0.0,
                5e-324,
                u64::MAX,
                i64::MIN,
                3.0,
                null,
                true
            ]),
            serde_json::json!({"links": [{"href": "http://[::1]:6385/v1/volume/connectors/x", "rel": "self"}]}),
        ];
        for value in &values {
            assert_eq!(
                written(value).await,
                serde_json::to_string(value).expect("serialises")
            );
        }
        // A character to escape at every offset of strings longer than a SIMD lane.
        for len in 1..80 {
            for at in 0..len {
                let mut text = "a".repeat(len);
                text.replace_range(at..at + 1, "\n");
                let value = serde_json::Value::String(text);
                assert_eq!(
                    written(&value).await,
                    serde_json::to_string(&value).expect("serialises")
                );
            }
        }
    }
}
