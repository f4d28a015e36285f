//! The conductor's RPC handlers, one module per resource, named after Ironic's
//! ConductorManager methods.

pub mod chassis;
pub mod child;
pub mod console;
pub mod management;
pub mod node;
pub mod port;
pub mod portgroup;
pub mod volume;
