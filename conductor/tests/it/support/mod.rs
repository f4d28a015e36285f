//! Shared test helpers; each test binary uses a part of them.

#[allow(dead_code)]
pub mod database;
#[allow(dead_code)]
pub mod fixtures;
// Allows its own dead code: the gateway's tests compile it too.
pub mod sushy;
