//! Types and storage shared by sanlink's gateway and conductors.

pub mod admin;
pub mod child;
pub mod cinder;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod hardware;
pub mod htpasswd;
pub mod http_server;
pub mod keystone;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod patch;
pub mod policy;
pub mod rpc;
pub mod schema;
pub mod startup;
pub mod tls;

pub use error::Error;
