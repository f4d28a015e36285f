//! Hardware types and their interfaces: which ones a node may use, their defaults,
//! their capabilities and how each one validates a node.

pub mod hardware;
pub mod management;
pub mod power;
pub mod redfish;
pub mod storage;
pub mod validation;

/// The hardware types this conductor can drive.
pub const HARDWARE_TYPES: [&str; 3] = ["fake-hardware", "ipmi", "redfish"];
