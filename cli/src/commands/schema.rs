//! `alq schema`: the JSON Schema of workflow files.

use std::io::Write;

/// Options of `alq schema`.
#[derive(clap::Args)]
pub struct Args {}

/// Prints the schema.
pub fn run(_args: Args) -> u8 {
    let schema = alq_shared::workflow::json_schema();
    match serde_json::to_string_pretty(&schema) {
        Ok(text) => {
            // A closed pipe (`alq schema | head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            super::EXIT_FAILED
        }
    }
}
