//! Integration tests of the control plane: real servers on port 0, on SQLite and on
//! PostgreSQL.

mod common;
mod tenants;
mod workflows;
