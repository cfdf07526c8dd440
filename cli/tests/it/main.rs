//! Integration tests of the `alq` binary: what a user sees (exit codes, messages, files).

mod asset;
mod bench;
mod browser;
mod common;
mod doctor;
mod engine;
mod examples;
mod job;
mod login;
mod package;
mod robot_agent;
mod server;
mod site;
mod tenant;
mod token;
mod validate;
mod workflow;
