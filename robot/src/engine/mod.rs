//! The workflow engine: runs a loaded workflow step by step, with timeouts, retries,
//! conditions and cancellation, and writes the run folder (events, screenshots, report).

mod interpreter;
mod recorder;
pub mod report;
mod scope;

use std::path::PathBuf;
use std::time::Instant;

use alq_shared::events::{RunEvent, RunStatus, StepError};
use alq_shared::workflow::{LoadedWorkflow, ScreenshotPolicy, Workflow};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use interpreter::Interpreter;
use recorder::Recorder;

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
    /// Overrides `defaults.screenshot`.
    pub screenshots: Option<ScreenshotPolicy>,
    /// Lets `shell.run` run.
    pub allow_shell: bool,
    /// Cancelled to stop the run at the next step boundary.
    pub cancel: CancellationToken,
    /// Called with every event.
    pub on_event: Option<EventCallback>,
}

impl RunOptions {
    /// Options with defaults for everything but the run folder.
    pub fn new(run_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            inputs: Map::new(),
            assets: Map::new(),
            run_dir: run_dir.into(),
            headless: None,
            webdriver_url: None,
            screenshots: None,
            allow_shell: false,
            cancel: CancellationToken::new(),
            on_event: None,
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
    for (name, spec) in &workflow.inputs {
        if spec.secret
            && let Some(Value::String(secret)) = inputs.get(name)
        {
            recorder.add_secret(secret);
        }
    }
    for value in options.assets.values() {
        if let Some(Value::String(password)) = value.get("password") {
            recorder.add_secret(password);
        }
    }
    recorder.emit(RunEvent::RunStarted {
        at: chrono::Utc::now(),
        workflow: workflow.name.clone(),
        inputs: recorder.redact_map(&inputs),
    });

    let mut interpreter = Interpreter::new(
        loaded,
        inputs,
        options.assets,
        interpreter::Settings {
            run_dir: run_dir.clone(),
            headless: options.headless,
            webdriver_url: options.webdriver_url,
            screenshots: options.screenshots.unwrap_or(workflow.defaults.screenshot),
            allow_shell: options.allow_shell,
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
