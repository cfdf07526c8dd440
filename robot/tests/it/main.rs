//! Integration tests of the robot crate: the engine and its actions against real parts.

mod actions;
mod browser;
mod common;
mod limits;
mod site;
