//! Integration tests of the control plane: real servers on port 0, on SQLite and on
//! PostgreSQL.

// Test bodies are plain async fns run once per backend, which clippy does not see as tests.
#![allow(clippy::unwrap_used)]

mod artifacts_served;
mod assets;
mod audit;
mod auth_matrix;
mod bus;
mod common;
mod data_dir;
mod error_shape;
mod events;
mod hostile;
mod idempotency;
mod jobs;
mod jobs_bulk;
mod leasing;
mod ops;
mod outbox;
mod packages;
mod replicas;
mod robot_api;
mod robot_presence;
mod robots_admin;
mod tenants;
mod tls;
mod tokens;
mod transactions;
mod workflows;
