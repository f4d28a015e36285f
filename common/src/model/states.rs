//! Power and provision states, provision verbs and power targets, as Ironic spells them
//! on the wire and as the `nodes` table stores them.

use serde::{Deserialize, Serialize};

/// A name that is none of an enum's wire names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {name:?}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
}

/// An enum whose variants are Ironic's names: serde, `Display` and `FromStr` all use
/// the one spelling given per variant, and `ALL` lists the variants in order.
macro_rules! wire_names {
    (
        $(#[$meta:meta])*
        $kind:literal enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownName;

            fn from_str(name: &str) -> Result<$name, UnknownName> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == name)
                    .ok_or_else(|| UnknownName {
                        kind: $kind,
                        name: name.to_string(),
                    })
            }
        }
    };
}

wire_names! {
    /// A node's power state, as its power interface reports it.
    "power state" enum PowerState {
        On = "power on",
        Off = "power off",
    }
}

wire_names! {
    /// What `PUT /v1/nodes/{id}/states/power` may ask for.
    "power target" enum PowerTarget {
        PowerOn = "power on",
        PowerOff = "power off",
        Reboot = "rebooting",
        SoftPowerOff = "soft power off",
        SoftReboot = "soft rebooting",
    }
}

impl PowerTarget {
    /// The state a node is in once the action completed.
    pub fn resulting_state(self) -> PowerState {
        match self {
            PowerTarget::PowerOff | PowerTarget::SoftPowerOff => PowerState::Off,
            PowerTarget::PowerOn | PowerTarget::Reboot | PowerTarget::SoftReboot => PowerState::On,
        }
    }

    /// The soft actions, which came with API version 1.27.
    pub fn is_soft(self) -> bool {
        matches!(self, PowerTarget::SoftPowerOff | PowerTarget::SoftReboot)
    }
}

wire_names! {
    /// Ironic's provision states, in the order its error messages list them. sanlink's
    /// transitions complete before the reply, so it stores only the states a transition
    /// ends in; the others are names a node list may still filter on.
    #[derive(Default)]
    "provision state" enum ProvisionState {
        #[default]
        Enroll = "enroll",
        Verifying = "verifying",
        Manageable = "manageable",
        Cleaning = "cleaning",
        CleanWait = "clean wait",
        CleanFailed = "clean failed",
        Available = "available",
        Deploying = "deploying",
        WaitCallback = "wait call-back",
        DeployFailed = "deploy failed",
        Active = "active",
        Deleting = "deleting",
        Error = "error",
        AdoptFailed = "adopt failed",
        Inspecting = "inspecting",
        InspectWait = "inspect wait",
        InspectFailed = "inspect failed",
        Adopting = "adopting",
        Rescuing = "rescuing",
        RescueWait = "rescue wait",
        RescueFailed = "rescue failed",
        Rescue = "rescue",
        Unrescuing = "unrescuing",
        UnrescueFailed = "unrescue failed",
    }
}

wire_names! {
    /// The verbs of `PUT /v1/nodes/{id}/states/provision`, in the order Ironic lists them.
    "provision verb" enum ProvisionVerb {
        Active = "active",
        Deleted = "deleted",
        Rebuild = "rebuild",
        Manage = "manage",
        Provide = "provide",
        Inspect = "inspect",
        Abort = "abort",
        Clean = "clean",
        Adopt = "adopt",
        Rescue = "rescue",
        Unrescue = "unrescue",
        Deploy = "deploy",
        Undeploy = "undeploy",
    }
}

/// Provision states in which a volume connector or target may be deleted whatever the
/// node's power state (Ironic's DELETE_ALLOWED_STATES).
pub const VOLUME_DELETE_ALLOWED_STATES: [ProvisionState; 3] = [
    ProvisionState::Manageable,
    ProvisionState::Enroll,
    ProvisionState::AdoptFailed,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for state in ProvisionState::ALL {
            assert_eq!(state.as_str().parse::<ProvisionState>(), Ok(*state));
            let json = serde_json::to_value(state).unwrap();
            assert_eq!(json, serde_json::json!(state.as_str()));
        }
        assert_eq!("soft rebooting".parse(), Ok(PowerTarget::SoftReboot));
        let e = "power cycle".parse::<PowerTarget>().unwrap_err();
        assert_eq!(e.to_string(), "unknown power target \"power cycle\"");
    }

    #[test]
    fn reboots_end_powered_on() {
        assert_eq!(PowerTarget::Reboot.resulting_state(), PowerState::On);
        assert_eq!(PowerTarget::SoftPowerOff.resulting_state(), PowerState::Off);
    }
}

wire_names! {
    /// The devices a node may be told to boot from (Ironic's `boot_devices`).
    "boot device" enum BootDevice {
        Pxe = "pxe",
        Disk = "disk",
        Cdrom = "cdrom",
        Bios = "bios",
        Safe = "safe",
        Wanboot = "wanboot",
        Iscsiboot = "iscsiboot",
        Floppy = "floppy",
        UefiHttp = "uefihttp",
    }
}
