//! Microversion negotiation (spec: volume-api.md §2).
//!
//! The requested version comes from `OpenStack-API-Version: baremetal X.Y`, else from
//! `X-OpenStack-Ironic-API-Version`. No header means the minimum, 1.1. Every response
//! carries the supported range, and the effective version when it was valid.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, RoutingError};

pub const MIN: Version = Version(1);
/// 1.46 covers every field and call Nova's ironic driver uses.
pub const MAX: Version = Version(46);

/// Versions of the features sanlink gates.
pub const VOLUME: Version = Version(32);
pub const STORAGE_INTERFACE: Version = Version(33);

/// A microversion `1.N` (the major is always 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32);

impl Version {
    pub fn at_least(self, other: Version) -> bool {
        self >= other
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "1.{}", self.0)
    }
}

const LEGACY_HEADER: &str = "x-openstack-ironic-api-version";
const STANDARD_HEADER: &str = "openstack-api-version";

/// The version string the request names, if any.
fn requested(headers: &HeaderMap) -> Option<String> {
    let standard = headers
        .get_all(STANDARD_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| {
            let mut words = entry.split_whitespace();
            let service = words.next()?;
            let version = words.next()?;
            service
                .eq_ignore_ascii_case("baremetal")
                .then(|| version.to_string())
        })
        .next_back();
    standard.or_else(|| {
        headers
            .get_all(LEGACY_HEADER)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_string())
            .next_back()
    })
}

/// Whether a version string has the `X.Y` form, whatever its numbers.
fn parses(value: &str) -> bool {
    value
        .split_once('.')
        .is_some_and(|(major, minor)| major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok())
}

/// A regular expression for the version values [`negotiate`] accepts: `1.N` for every
/// supported N (leading zeros allowed, as the number is parsed), or `latest` in any case.
pub fn header_pattern() -> String {
    let minors: Vec<String> = (MIN.0..=MAX.0).map(|n| n.to_string()).collect();
    format!("^(1\\.0*({})|[Ll][Aa][Tt][Ee][Ss][Tt])$", minors.join("|"))
}

/// Parses `X.Y` (or `latest`) into a supported version.
pub fn negotiate(value: Option<&str>) -> Result<Version, ApiError> {
    let Some(value) = value else { return Ok(MIN) };
    if value.eq_ignore_ascii_case("latest") {
        return Ok(MAX);
    }
    let invalid = || {
        ApiError::routing(
            StatusCode::NOT_ACCEPTABLE,
            "Invalid value for X-OpenStack-Ironic-API-Version header",
        )
    };
    let (major, minor) = value.split_once('.').ok_or_else(invalid)?;
    let major: u32 = major.parse().map_err(|_| invalid())?;
    let minor: u32 = minor.parse().map_err(|_| invalid())?;
    let version = Version(minor);
    if major != 1 {
        return Err(ApiError::routing(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Mutually exclusive versions requested. Version {value} requested but not supported by this service. The supported version range is: [{MIN}, {MAX}]."
            ),
        ));
    }
    if version < MIN || version > MAX {
        return Err(ApiError::routing(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {value} was requested but the minor version is not supported by this service. The supported version range is: [{MIN}, {MAX}]."
            ),
        ));
    }
    Ok(version)
}

/// Middleware: decides the request's version and stamps the version headers. As in
/// Ironic, routing-level errors (unknown path, method not allowed) carry none, and a
/// version header that does not parse gets neither the range nor the version back.
pub async fn middleware(mut request: Request, next: Next) -> Response {
    let requested = requested(request.headers());
    let negotiated = negotiate(requested.as_deref());
    let mut response = match negotiated {
        Ok(version) => {
            request.extensions_mut().insert(version);
            let mut response = next.run(request).await;
            if response.extensions().get::<RoutingError>().is_some() {
                return response;
            }
            let value = HeaderValue::from_str(&version.to_string()).expect("ascii");
            response
                .headers_mut()
                .insert("x-openstack-ironic-api-version", value);
            response
        }
        Err(e) if !parses(requested.as_deref().unwrap_or_default()) => {
            return e.into_response();
        }
        Err(e) => e.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        "x-openstack-ironic-api-minimum-version",
        HeaderValue::from_static("1.1"),
    );
    headers.insert(
        "x-openstack-ironic-api-maximum-version",
        HeaderValue::from_str(&MAX.to_string()).expect("ascii"),
    );
    headers.append(
        "vary",
        HeaderValue::from_static("X-OpenStack-Ironic-API-Version"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_header_is_the_minimum() {
        assert_eq!(negotiate(None).unwrap(), MIN);
    }

    #[test]
    fn latest_is_the_maximum() {
        assert_eq!(negotiate(Some("LATEST")).unwrap(), MAX);
    }

    #[test]
    fn malformed_and_out_of_range_are_406() {
        for bad in ["foo", "1", "1.2.3", "2.1", "1.0", "1.999", "1.x", ""] {
            let e = negotiate(Some(bad)).unwrap_err();
            assert_eq!(e.status, StatusCode::NOT_ACCEPTABLE, "{bad}");
        }
    }

    #[test]
    fn standard_header_wins_over_legacy() {
        let mut h = HeaderMap::new();
        h.insert(LEGACY_HEADER, HeaderValue::from_static("1.20"));
        h.insert(
            STANDARD_HEADER,
            HeaderValue::from_static("compute 2.1, baremetal 1.33"),
        );
        assert_eq!(requested(&h).as_deref(), Some("1.33"));
        h.insert(STANDARD_HEADER, HeaderValue::from_static("compute 2.1"));
        assert_eq!(requested(&h).as_deref(), Some("1.20"));
    }
}
