//! The robot agent: registers with a control plane, leases jobs, runs them with the
//! engine, and reports every step. Its on-disk spool keeps reports across outages.

pub mod spool;
