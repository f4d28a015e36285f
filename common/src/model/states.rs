//! Power and provision state names, as Ironic spells them on the wire.

pub const POWER_ON: &str = "power on";
pub const POWER_OFF: &str = "power off";
pub const REBOOT: &str = "rebooting";
pub const SOFT_POWER_OFF: &str = "soft power off";
pub const SOFT_REBOOT: &str = "soft rebooting";
pub const POWER_ERROR: &str = "error";

pub const ENROLL: &str = "enroll";
pub const VERIFYING: &str = "verifying";
pub const MANAGEABLE: &str = "manageable";
pub const CLEANING: &str = "cleaning";
pub const CLEAN_WAIT: &str = "clean wait";
pub const CLEAN_FAILED: &str = "clean failed";
pub const AVAILABLE: &str = "available";
pub const DEPLOYING: &str = "deploying";
pub const WAIT_CALLBACK: &str = "wait call-back";
pub const DEPLOY_FAILED: &str = "deploy failed";
pub const ACTIVE: &str = "active";
pub const DELETING: &str = "deleting";
pub const ERROR: &str = "error";
pub const ADOPT_FAILED: &str = "adopt failed";
pub const INSPECTING: &str = "inspecting";

/// Provision states in which a volume connector or target may be deleted whatever the
/// node's power state (Ironic's DELETE_ALLOWED_STATES).
pub const VOLUME_DELETE_ALLOWED_STATES: [&str; 3] = [MANAGEABLE, ENROLL, ADOPT_FAILED];

/// States a node left mid-transition by a dead conductor cannot resume from.
pub const UNRESUMABLE_STATES: [&str; 4] = [DEPLOYING, CLEANING, VERIFYING, DELETING];
