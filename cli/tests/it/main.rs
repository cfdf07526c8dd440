//! Integration tests of the `alq` binary: what a user sees (exit codes, messages, files).

mod asset;
mod bench;
mod browser;
#[cfg(target_os = "linux")]
mod browser_lifecycle;
mod common;
mod doctor;
mod engine;
mod examples;
mod job;
mod login;
mod navigation;
mod package;
mod robot_agent;
mod robot_config;
mod robot_disabled;
mod robot_ops;
mod server;
mod site;
mod tenant;
mod token;
mod validate;
mod workflow;
