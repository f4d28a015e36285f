//! Types and storage shared by sanlink's gateway and conductors.

pub mod config;
pub mod db;
pub mod error;
pub mod model;
pub mod patch;
pub mod rpc;
pub mod schema;
pub mod startup;

pub use error::Error;
