//! The self-contained HTML report of a run (`report.html`).

use std::path::Path;

use alq_shared::events::RunEvent;

/// Renders the report of a run from its events; screenshots are read from `run_dir`.
pub fn render(workflow_name: &str, events: &[RunEvent], run_dir: &Path) -> String {
    let _ = (events, run_dir);
    format!(
        "<!doctype html><title>{}</title>",
        html_escape::encode_text(workflow_name)
    )
}
