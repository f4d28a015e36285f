//! The conductor's integration tests, one binary: each module is a group of tests that
//! `scripts/test.sh` selects by name (`node_lock::`, `copies::`, ...).

mod support;

mod copies;
mod creates;
mod idempotency;
mod ipxe;
mod nmi_copies;
mod node_lock;
mod planned_changes;
mod portgroups;
mod redfish;
mod redfish_management;
mod start;
mod trait_copies;
