//! Writes run events: to `events.ndjson` as they happen, to the caller's callback, and
//! at the end to `report.html`. Secrets are masked before anything leaves.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use alq_shared::events::RunEvent;
use serde_json::{Map, Value};

use super::EventCallback;
use super::masks::Masks;

pub(crate) struct Recorder {
    run_dir: PathBuf,
    file: BufWriter<File>,
    callback: Option<EventCallback>,
    events: Vec<RunEvent>,
    secrets: Masks,
    /// The most events and event bytes the run may record, and what it recorded.
    max_events: u64,
    max_bytes: u64,
    bytes: u64,
}

impl Recorder {
    pub(crate) fn create(run_dir: &Path, callback: Option<EventCallback>) -> std::io::Result<Self> {
        let file = BufWriter::new(File::create(run_dir.join("events.ndjson"))?);
        Ok(Recorder {
            run_dir: run_dir.to_path_buf(),
            file,
            callback,
            events: Vec::new(),
            secrets: Masks::default(),
            max_events: super::MAX_EVENTS,
            max_bytes: super::MAX_EVENT_BYTES,
            bytes: 0,
        })
    }

    /// Sets the most events and event bytes the run may record.
    pub(crate) fn limit(&mut self, max_events: u64, max_bytes: u64) {
        self.max_events = max_events;
        self.max_bytes = max_bytes;
    }

    /// Why no further step may start, once the run recorded as much as it may.
    pub(crate) fn limit_reached(&self) -> Option<String> {
        let what = if self.events.len() as u64 >= self.max_events {
            format!("{} events, the most one run may record", self.max_events)
        } else if self.bytes >= self.max_bytes {
            format!(
                "{} bytes of events, the most one run may record",
                self.max_bytes
            )
        } else {
            return None;
        };
        Some(format!(
            "the run was stopped at {what}. A loop probably runs far longer than \
             meant: lower its max_iterations or give it a timeout_ms, log less, or split the \
             work into several jobs (a queue)"
        ))
    }

    /// Masks this text wherever it appears from now on.
    pub(crate) fn add_secret(&mut self, secret: &str) {
        self.secrets.add(secret);
    }

    pub(crate) fn redact_text(&self, text: &str) -> String {
        self.secrets.apply(text)
    }

    pub(crate) fn redact(&self, value: &Value) -> Value {
        if self.secrets.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.redact_text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact(v)).collect()),
            Value::Object(map) => Value::Object(self.redact_map(map)),
            other => other.clone(),
        }
    }

    pub(crate) fn redact_map(&self, map: &Map<String, Value>) -> Map<String, Value> {
        map.iter()
            .map(|(k, v)| (k.clone(), self.redact(v)))
            .collect()
    }

    /// Records an event; its text is masked first.
    pub(crate) fn emit(&mut self, event: RunEvent) {
        let event = if self.secrets.is_empty() {
            event
        } else {
            let value = serde_json::to_value(&event).unwrap_or(Value::Null);
            serde_json::from_value(self.redact(&value)).unwrap_or(event)
        };
        // The events file is the record of the run: write each line as it happens so a
        // crash still leaves everything up to it. A full disk must not stop the run.
        if let Ok(line) = serde_json::to_string(&event) {
            self.bytes += line.len() as u64 + 1;
            let _ = writeln!(self.file, "{line}");
            let _ = self.file.flush();
        }
        if let Some(callback) = self.callback.as_mut() {
            callback(&event);
        }
        self.events.push(event);
    }

    /// Writes the report and returns every event.
    pub(crate) fn close(mut self, workflow_name: &str) -> Vec<RunEvent> {
        let _ = self.file.flush();
        let html = super::report::render(workflow_name, &self.events, &self.run_dir);
        if let Err(e) = std::fs::write(self.run_dir.join("report.html"), html) {
            tracing::warn!(error = %e, "Cannot write report.html.");
        }
        self.events
    }
}
