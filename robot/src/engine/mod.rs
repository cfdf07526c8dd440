//! The workflow engine: runs a loaded workflow step by step, with timeouts, retries,
//! conditions and cancellation, and writes the run folder (events, screenshots, report).

mod interpreter;
mod masks;
mod reads;
mod recorder;
pub mod report;
mod scope;
mod taint;

use std::path::PathBuf;
use std::time::Instant;

use alq_shared::events::{RunEvent, RunStatus, StepError};
use alq_shared::workflow::{FailureKind, LoadedWorkflow, ScreenshotPolicy, Workflow};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::actions::PathPolicy;
use interpreter::Interpreter;
use recorder::Recorder;

/// The most events one run (one attempt of a job) records. A run that reaches it starts
/// no further step and fails: nothing is dropped.
pub const MAX_EVENTS: u64 = 100_000;
/// The most event text (JSON) one run records, 256 MiB, with the same rule.
pub const MAX_EVENT_BYTES: u64 = 256 * 1024 * 1024;

/// A callback that sees every event as it happens (progress display, robot upload).
pub type EventCallback = Box<dyn FnMut(&RunEvent) + Send + Sync>;

/// How to run a workflow.
pub struct RunOptions {
    /// The inputs given by the caller, already of the declared types.
    pub inputs: Map<String, Value>,
    /// Assets the workflow reads as `{{ assets.NAME }}`; a credential is an object with
    /// `username` and `password`, and its password is masked like a secret input.
    pub assets: Map<String, Value>,
    /// The run folder: created if missing; events, screenshots and the report go there.
    pub run_dir: PathBuf,
    /// Overrides `browser.headless`.
    pub headless: Option<bool>,
    /// Overrides `browser.webdriver_url`.
    pub webdriver_url: Option<String>,
    /// Overrides `browser.startup_timeout_ms`: how long starting the browser may take.
    pub browser_startup_timeout: Option<std::time::Duration>,
    /// Overrides `defaults.screenshot`.
    pub screenshots: Option<ScreenshotPolicy>,
    /// Lets `shell.run` run.
    pub allow_shell: bool,
    /// Where file actions may go; the run folder and the workflow's folder are added.
    pub paths: PathPolicy,
    /// At most this many events ([`MAX_EVENTS`]).
    pub max_events: u64,
    /// At most this much event text ([`MAX_EVENT_BYTES`]).
    pub max_event_bytes: u64,
    /// Cancelled to stop the run at the next step boundary.
    pub cancel: CancellationToken,
    /// Called with every event.
    pub on_event: Option<EventCallback>,
    /// The job this run is an attempt of (`{{ job.id }}`, `{{ job.attempt }}`); `None`
    /// for `alq run`.
    pub job: Option<JobInfo>,
    /// `{{ run.id }}`; the run folder's name when not given.
    pub run_id: Option<String>,
}

/// The job a run is an attempt of, as workflows see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobInfo {
    /// The job's id.
    pub id: i64,
    /// Which attempt this run is, from 1: a job runs again after a failure, or when its
    /// robot stopped answering, even after its steps ended.
    pub attempt: i64,
}

impl RunOptions {
    /// Options with defaults for everything but the run folder; alq's own folders are
    /// out of the workflow's reach ([`PathPolicy::alq_folders`]).
    pub fn new(run_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            inputs: Map::new(),
            assets: Map::new(),
            run_dir: run_dir.into(),
            headless: None,
            webdriver_url: None,
            browser_startup_timeout: None,
            screenshots: None,
            allow_shell: false,
            paths: PathPolicy::alq_folders(),
            max_events: MAX_EVENTS,
            max_event_bytes: MAX_EVENT_BYTES,
            cancel: CancellationToken::new(),
            on_event: None,
            job: None,
            run_id: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Succeeded, failed or cancelled.
    pub status: RunStatus,
    /// Why it failed.
    pub error: Option<StepError>,
    /// The workflow's `outputs`, when it succeeded.
    pub outputs: Map<String, Value>,
    /// The run folder.
    pub run_dir: PathBuf,
    /// Every event of the run, in order.
    pub events: Vec<RunEvent>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The inputs do not fit the workflow's declared inputs.
    #[error("invalid inputs:\n  {}", .0.join("\n  "))]
    Inputs(Vec<String>),
    /// The run folder cannot be created or written.
    #[error("cannot write the run folder {path}: {source}")]
    RunDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Checks given inputs against the declared ones and fills in defaults, with the check
/// the control plane runs when it makes a job (`alq_shared::workflow::resolve_inputs`);
/// the problems as sentences.
pub fn resolve_inputs(
    workflow: &Workflow,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<String>> {
    alq_shared::workflow::resolve_inputs(&workflow.inputs, given)
        .map_err(|problems| problems.iter().map(ToString::to_string).collect())
}

/// Runs a workflow to its end and writes the run folder.
pub async fn run(loaded: &LoadedWorkflow, options: RunOptions) -> Result<RunOutcome, EngineError> {
    let started = Instant::now();
    let workflow = &loaded.workflow;
    let inputs = resolve_inputs(workflow, &options.inputs).map_err(EngineError::Inputs)?;
    let run_dir = options.run_dir.clone();
    std::fs::create_dir_all(&run_dir).map_err(|source| EngineError::RunDir {
        path: run_dir.clone(),
        source,
    })?;
    let run_dir = std::fs::canonicalize(&run_dir).unwrap_or(run_dir);
    let mut recorder =
        Recorder::create(&run_dir, options.on_event).map_err(|source| EngineError::RunDir {
            path: run_dir.clone(),
            source,
        })?;
    recorder.limit(options.max_events, options.max_event_bytes);
    let mut paths = options.paths;
    paths.own(&run_dir).allow_implicitly(&loaded.dir);
    let inputs_taint = interpreter::secret_inputs(workflow, &inputs, &mut recorder);
    for value in options.assets.values() {
        if let Some(Value::String(password)) = value.get("password") {
            recorder.add_secret(password);
        }
    }
    let shown = match inputs_taint.mask(&Value::Object(inputs.clone())) {
        Value::Object(shown) => shown,
        _ => Map::new(),
    };
    recorder.emit(RunEvent::RunStarted {
        at: chrono::Utc::now(),
        workflow: workflow.name.clone(),
        inputs: recorder.redact_map(&shown),
    });
    let run_id = options.run_id.clone().unwrap_or_else(|| {
        run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });

    let mut interpreter = Interpreter::new(
        loaded,
        (inputs, inputs_taint),
        options.assets,
        interpreter::Settings {
            run_id,
            job: options.job,
            run_dir: run_dir.clone(),
            headless: options.headless,
            webdriver_url: options.webdriver_url,
            browser_startup_timeout: options.browser_startup_timeout,
            screenshots: options.screenshots.unwrap_or(workflow.defaults.screenshot),
            allow_shell: options.allow_shell,
            paths,
            cancel: options.cancel,
        },
        recorder,
    );
    let result = interpreter.run_workflow().await;
    let (mut recorder, outputs) = interpreter.finish().await;
    let (status, error, outputs) = match result {
        Ok(()) => match outputs {
            Ok(outputs) => (RunStatus::Succeeded, None, outputs),
            Err(failure) => (RunStatus::Failed, Some(failure.into_error()), Map::new()),
        },
        Err(failure) if failure.cancelled => {
            (RunStatus::Cancelled, Some(failure.into_error()), Map::new())
        }
        Err(failure) => (RunStatus::Failed, Some(failure.into_error()), Map::new()),
    };
    // Past the event limit no step starts; whatever caught that, the run failed.
    let (status, error, outputs) = match recorder.limit_reached() {
        Some(message) if status != RunStatus::Cancelled => {
            let error = StepError {
                message,
                kind: FailureKind::Application,
                step: None,
                seq: None,
                url: None,
            };
            (RunStatus::Failed, Some(error), Map::new())
        }
        _ => (status, error, outputs),
    };
    // What leaves the engine is masked like the events are.
    let error = error.map(|mut e| {
        e.message = recorder.redact_text(&e.message);
        e
    });
    let outputs = recorder.redact_map(&outputs);
    recorder.emit(RunEvent::RunFinished {
        at: chrono::Utc::now(),
        status,
        duration_ms: started.elapsed().as_millis() as u64,
        error: error.clone(),
        outputs: outputs.clone(),
    });
    let events = recorder.close(&workflow.name);
    Ok(RunOutcome {
        status,
        error,
        outputs,
        run_dir,
        events,
    })
}
