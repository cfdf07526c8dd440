//! The workflow engine: runs a loaded workflow step by step, with timeouts, retries,
//! conditions and cancellation, and writes the run folder (events, screenshots, report).

pub mod report;
