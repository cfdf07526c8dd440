//! Run events: what the engine reports while it runs a workflow. `alq run` writes them to
//! `events.ndjson` and the report; robots send them to the control plane.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::workflow::FailureKind;

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run began.
    RunStarted {
        /// When.
        at: DateTime<Utc>,
        /// The workflow's name.
        workflow: String,
        /// The inputs, secrets masked.
        inputs: serde_json::Map<String, Value>,
    },
    /// A step began.
    StepStarted {
        /// Number of this step execution in the run, from 1.
        seq: u64,
        /// The `seq` of the enclosing control step, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        parent: Option<u64>,
        /// Where the step is in the workflow file, e.g. `steps[3].then[0]`.
        path: String,
        /// The action name.
        action: String,
        /// The step's id.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// How the step is shown to people.
        label: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A step ended.
    StepFinished {
        /// The `seq` of its `StepStarted`.
        seq: u64,
        /// How it ended.
        status: StepStatus,
        /// When.
        at: DateTime<Utc>,
        /// How long it took in all, retries included.
        duration_ms: u64,
        /// How many times it was tried.
        attempts: u32,
        /// What it produced (`steps.ID.output`).
        #[serde(skip_serializing_if = "Option::is_none")]
        output: Option<Value>,
        /// Why it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<StepError>,
        /// The screenshot taken after it, relative to the run folder.
        #[serde(skip_serializing_if = "Option::is_none")]
        screenshot: Option<String>,
    },
    /// A `log` step's message.
    Log {
        /// The step that logged it.
        seq: u64,
        /// When.
        at: DateTime<Utc>,
        /// The message, secrets masked.
        message: String,
    },
    /// The browser came up: chromedriver and Chromium started (or a session opened on a
    /// given WebDriver server). Its time counts against the start-up budget, not against
    /// the timeout of the step that needed the browser.
    BrowserStarted {
        /// The step that started it (its first `browser.open`).
        seq: u64,
        /// When it was up.
        at: DateTime<Utc>,
        /// How long starting it took.
        duration_ms: u64,
        /// The start-up budget it had (`browser.startup_timeout_ms` or the machine's).
        startup_timeout_ms: u64,
    },
    /// The run ended.
    RunFinished {
        /// When.
        at: DateTime<Utc>,
        /// How it ended.
        status: RunStatus,
        /// How long it took.
        duration_ms: u64,
        /// Why it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<StepError>,
        /// The workflow's `outputs`.
        #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
        outputs: serde_json::Map<String, Value>,
    },
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It did its work.
    Succeeded,
    /// It failed (and the failure was not ignored).
    Failed,
    /// It failed, but `continue_on_error` let the workflow go on.
    FailedIgnored,
    /// It failed inside a `try` with a `catch` (or inside a step with
    /// `continue_on_error`), which handled the failure: it did not fail the run.
    Handled,
    /// Its `when` was false.
    Skipped,
    /// The run was cancelled while it ran.
    Cancelled,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every step that had to succeed did.
    Succeeded,
    /// A step failed.
    Failed,
    /// Someone stopped it.
    Cancelled,
}

/// Why a step or run failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepError {
    /// What happened, to what, and where.
    pub message: String,
    /// Business or application failure.
    #[serde(rename = "type")]
    pub kind: FailureKind,
    /// The path of the step that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The number of the step that failed, as progress lines and the report show it
    /// (`#5`): the `seq` of its events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The page the browser showed, for browser steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
