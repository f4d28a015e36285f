//! The integration tests of `common`, one binary.

mod amqp;
mod parsers;
