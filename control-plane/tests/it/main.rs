//! Integration tests of the control plane: real servers on port 0, on SQLite and on
//! PostgreSQL.

// Test bodies are plain async fns run once per backend, which clippy does not see as tests.
#![allow(clippy::unwrap_used)]

mod common;
mod jobs;
mod leasing;
mod robot_api;
mod tenants;
mod workflows;
