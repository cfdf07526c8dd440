//! Integration tests of the robot crate: the engine and its actions against real parts.

mod actionable;
mod actionable_site;
mod actions;
mod browser;
mod common;
mod limits;
mod secrets;
mod site;
mod startup;
