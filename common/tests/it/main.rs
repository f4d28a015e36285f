//! The integration tests of `common`, one binary.

mod amqp;
mod db_workers;
mod parsers;
mod sqlite_build;
mod sqlite_log;
mod stored_timestamps;
