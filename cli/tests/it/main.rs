//! Integration tests of the `alq` binary: what a user sees (exit codes, messages, files).

mod common;
mod doctor;
mod engine;
mod validate;
