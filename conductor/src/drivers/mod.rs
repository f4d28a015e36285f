//! Hardware types and their interfaces.

/// The hardware types this conductor can drive.
pub const HARDWARE_TYPES: [&str; 3] = ["fake-hardware", "ipmi", "redfish"];
