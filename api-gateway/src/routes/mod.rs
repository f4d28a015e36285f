//! HTTP handlers, one module per resource.

pub mod children;
pub mod drivers;
pub mod nodes;
pub mod ports;
pub mod root;
pub mod volume;
