//! The gateway's integration tests, one binary: each module is a group of tests that
//! `scripts/test.sh` selects by name (`volume::`, `nodes::`, ...).

mod support;
// The Redfish emulator harness, shared with the conductor's tests.
#[path = "../../../conductor/tests/it/support/sushy.rs"]
mod sushy;

mod auth;
mod boot;
mod chassis;
mod compat;
mod db_faults;
mod drivers;
mod input_edges;
mod limits;
mod management;
mod nodes;
mod openapi;
mod ops;
mod parsers;
mod portgroups;
mod redfish;
mod startup;
mod traits;
mod volume;
