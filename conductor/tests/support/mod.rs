//! Shared test helpers.

pub mod sushy;
