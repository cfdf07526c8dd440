//! Integration tests of the `alq` binary: what a user sees (exit codes, messages, files).

mod browser;
mod common;
mod doctor;
mod engine;
mod examples;
mod site;
mod validate;
