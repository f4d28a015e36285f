//! Vendor interfaces: the methods `vendor_passthru` calls. The methods each interface
//! offers are listed in [`common::hardware::vendor_methods`]; only the `fake` ones run
//! here. The `ipmitool` and `redfish` methods (raw IPMI bytes, BMC resets, virtual
//! media ejection, event subscriptions) are listed as Ironic lists them but refused
//! when called.

use serde_json::{Map, Value};

use common::Error;
use common::hardware::{VendorMethod, vendor_methods};
use common::model::node::Node;
use common::rpc::PassthruResult;

/// Looks `method` up on the node's vendor interface and checks the HTTP method, as
/// Ironic does before validating the arguments.
pub fn find(node: &Node, method: &str, http_method: &str) -> Result<VendorMethod, Error> {
    let iface = node.interfaces.vendor.as_deref().unwrap_or_default();
    let found = vendor_methods(iface)
        .remove(method)
        .ok_or_else(|| Error::invalid(format!("No handler for method {method}")))?;
    if !found.http_methods.iter().any(|m| m == http_method) {
        return Err(Error::invalid(format!(
            "The method {method} does not support HTTP {http_method}"
        )));
    }
    Ok(found)
}

/// Calls a found method with the request body's arguments.
pub fn call(
    node: &Node,
    method: &str,
    found: &VendorMethod,
    info: &Map<String, Value>,
) -> Result<PassthruResult, Error> {
    let iface = node.interfaces.vendor.as_deref().unwrap_or_default();
    if iface != "fake" {
        return Err(Error::invalid(format!(
            "The vendor method {method} of the {iface} vendor interface is not available in sanlink."
        )));
    }
    let value = fake_method(method, info)?;
    Ok(PassthruResult {
        is_async: found.is_async,
        value,
    })
}

/// Ironic's fake vendor methods: three compare their `bar` argument with a word, one
/// only logs.
fn fake_method(method: &str, info: &Map<String, Value>) -> Result<Value, Error> {
    let word = match method {
        "second_method" => "kazoo",
        "third_method_sync" => "meow",
        "fourth_method_shared_lock" => "woof",
        _ => {
            tracing::debug!(method, ?info, "fake vendor passthru called");
            return Ok(Value::Null);
        }
    };
    let bar = info.get("bar").filter(|v| is_truthy(v)).ok_or_else(|| {
        Error::invalid(format!("Parameter 'bar' not passed to method '{method}'."))
    })?;
    Ok(Value::Bool(bar.as_str() == Some(word)))
}

/// Python's truth value of a JSON value (the fake methods test `not bar`).
fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(vendor: &str) -> Node {
        let mut node = Node::default();
        node.interfaces.vendor = Some(vendor.into());
        node
    }

    fn run(vendor: &str, method: &str, info: Value) -> Result<PassthruResult, Error> {
        let node = node(vendor);
        let found = find(&node, method, "POST")?;
        call(&node, method, &found, info.as_object().unwrap())
    }

    #[test]
    fn fake_methods_compare_bar() {
        let sync = run("fake", "third_method_sync", json!({"bar": "meow"})).unwrap();
        assert_eq!((sync.is_async, sync.value), (false, json!(true)));
        let other = run("fake", "second_method", json!({"bar": "x"})).unwrap();
        assert_eq!((other.is_async, other.value), (true, json!(false)));
        let e = run("fake", "second_method", json!({})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Parameter 'bar' not passed to method 'second_method'."
        );
    }

    #[test]
    fn unknown_methods_and_verbs_are_refused() {
        let e = run("no-vendor", "second_method", json!({})).unwrap_err();
        assert_eq!(e.to_string(), "No handler for method second_method");
        let e = find(&node("fake"), "third_method_sync", "GET").unwrap_err();
        assert_eq!(
            e.to_string(),
            "The method third_method_sync does not support HTTP GET"
        );
        assert!(run("redfish", "eject_vmedia", json!({})).is_err());
    }
}
