//! Integration tests of the `alq` binary: what a user sees (exit codes, messages, files).

mod asset;
mod bench;
mod bounds;
mod browser;
#[cfg(target_os = "linux")]
mod browser_lifecycle;
mod browser_startup;
mod common;
mod doctor;
mod engine;
mod examples;
mod job;
mod login;
mod navigation;
mod package;
mod paths;
mod robot_agent;
mod robot_config;
mod robot_disabled;
mod robot_ops;
mod robot_paths;
mod robot_secrets;
mod secrets;
mod server;
mod site;
mod tenant;
mod token;
mod validate;
mod workflow;
