//! HTTP handlers, one module per resource.

pub mod agent;
pub mod chassis;
pub mod children;
pub mod drivers;
pub mod nodes;
pub mod portgroups;
pub mod ports;
pub mod root;
pub mod volume;
