//! What `alq run` shows while it runs: a live line on a terminal, a plain line per step
//! otherwise, or JSON lines with `--json`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alq_robot::engine::{EventCallback, RunOutcome};
use alq_shared::events::{RunEvent, RunStatus, StepStatus};
use indicatif::{ProgressBar, ProgressStyle};

/// The progress display of one run.
pub struct Progress {
    json: bool,
    bar: Option<ProgressBar>,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// The started steps, by seq.
    steps: HashMap<u64, Shown>,
}

/// A started step, as the display knows it.
#[derive(Clone, Default)]
struct Shown {
    depth: usize,
    label: String,
    parent: Option<u64>,
    /// Its heading line is printed: it has nested steps, shown below it.
    opened: bool,
}

impl Progress {
    /// A display for this terminal (or for scripts with `json`).
    pub fn new(json: bool) -> Self {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("{spinner:.cyan} step {msg} {elapsed:.dim}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Progress {
            json,
            bar,
            state: Arc::default(),
        }
    }

    /// The callback the engine calls with every event.
    pub fn callback(&self) -> EventCallback {
        let json = self.json;
        let bar = self.bar.clone();
        let state = self.state.clone();
        Box::new(move |event| {
            if json {
                if let Ok(line) = serde_json::to_string(event) {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                    let _ = out.flush();
                }
                return;
            }
            let Ok(mut state) = state.lock() else { return };
            if let Some(line) = state.line(event) {
                match &bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
            if let (Some(bar), RunEvent::StepStarted { seq, label, .. }) = (&bar, event) {
                bar.set_message(format!("#{seq} · {label}"));
                bar.reset_elapsed();
            }
        })
    }

    /// Removes the live line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// The closing lines: how the run ended and where the report is.
    pub fn summary(&self, name: &str, outcome: &RunOutcome) {
        if self.json {
            return;
        }
        let report = outcome.run_dir.join("report.html");
        let duration = outcome.events.iter().find_map(|e| match e {
            RunEvent::RunFinished { duration_ms, .. } => Some(*duration_ms),
            _ => None,
        });
        let took = duration
            .map(|ms| format!(" in {}", human_ms(ms)))
            .unwrap_or_default();
        match outcome.status {
            RunStatus::Succeeded => eprintln!("✓ {name} succeeded{took}"),
            RunStatus::Failed => eprintln!("✗ {name} failed{took}"),
            RunStatus::Cancelled => eprintln!("■ {name} was cancelled{took}"),
        }
        if let Some(error) = &outcome.error {
            eprintln!("  {}", error.message);
        }
        if !outcome.outputs.is_empty() {
            eprintln!(
                "  outputs: {}",
                serde_json::Value::Object(outcome.outputs.clone())
            );
        }
        eprintln!("  report: {}", report.display());
    }
}

impl State {
    /// The plain lines for an event, if it gets any. A step gets its line when it ends;
    /// a step with nested steps gets a heading line when its first child starts, so the
    /// parent comes first and its children are indented below it.
    fn line(&mut self, event: &RunEvent) -> Option<String> {
        match event {
            RunEvent::StepStarted {
                seq, parent, label, ..
            } => {
                let depth = parent
                    .and_then(|p| self.steps.get(&p))
                    .map_or(0, |shown| shown.depth + 1);
                self.steps.insert(
                    *seq,
                    Shown {
                        depth,
                        label: label.clone(),
                        parent: *parent,
                        opened: false,
                    },
                );
                let headings = self.open(*parent);
                (!headings.is_empty()).then(|| headings.join("\n"))
            }
            RunEvent::StepFinished {
                seq,
                status,
                duration_ms,
                attempts,
                error,
                ..
            } => {
                let Shown { depth, label, .. } = self.steps.get(seq).cloned().unwrap_or_default();
                let mark = match status {
                    StepStatus::Succeeded => "✓",
                    StepStatus::Failed => "✗",
                    StepStatus::FailedIgnored | StepStatus::Handled => "!",
                    StepStatus::Skipped => "-",
                    StepStatus::Cancelled => "■",
                };
                let retries = if *attempts > 1 {
                    format!(" ({attempts} attempts)")
                } else {
                    String::new()
                };
                let mut line = format!(
                    "{:indent$}{mark} #{seq} {label}  {}{retries}",
                    "",
                    human_ms(*duration_ms),
                    indent = depth * 2
                );
                // A handled failure is told once, at the step it happened in, not again
                // at each step it went through on its way to the `try`.
                let origin = error
                    .as_ref()
                    .is_none_or(|e| e.seq.is_none_or(|s| s == *seq));
                let why = match status {
                    StepStatus::FailedIgnored => Some("ignored"),
                    StepStatus::Handled if origin => Some("handled"),
                    _ => None,
                };
                if let (Some(error), Some(why)) = (error, why) {
                    line.push_str(&format!(
                        "\n{:indent$}    {why}: {}",
                        "",
                        error.message,
                        indent = depth * 2
                    ));
                }
                Some(line)
            }
            RunEvent::Log { seq, message, .. } => {
                let depth = self.steps.get(seq).map_or(0, |shown| shown.depth);
                Some(format!("{:indent$}  · {message}", "", indent = depth * 2))
            }
            RunEvent::BrowserStarted {
                seq,
                duration_ms,
                startup_timeout_ms,
                ..
            } => {
                let depth = self.steps.get(seq).map_or(0, |shown| shown.depth);
                Some(format!(
                    "{:indent$}  · browser started in {} (start-up budget {})",
                    "",
                    human_ms(*duration_ms),
                    human_ms(*startup_timeout_ms),
                    indent = depth * 2
                ))
            }
            RunEvent::RunStarted { .. } | RunEvent::RunFinished { .. } => None,
        }
    }

    /// The heading lines of `seq` and of its ancestors not yet shown, outermost first.
    fn open(&mut self, mut seq: Option<u64>) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(current) = seq {
            let Some(shown) = self.steps.get_mut(&current) else {
                break;
            };
            if shown.opened {
                break;
            }
            shown.opened = true;
            lines.push(format!(
                "{:indent$}▸ #{current} {}",
                "",
                shown.label,
                indent = shown.depth * 2
            ));
            seq = shown.parent;
        }
        lines.reverse();
        lines
    }
}

fn human_ms(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms}ms"),
        1000..=59_999 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m {}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}
