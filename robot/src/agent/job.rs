//! Running one leased job: on its own thread with a current-thread runtime (the engine's
//! futures are not `Send`), every event and step screenshot written to the spool as it
//! happens, panics caught so a broken job never takes the agent down.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use alq_shared::events::RunEvent;
use alq_shared::events::RunStatus;
use alq_shared::package;
use alq_shared::protocol::{ErrorType, JobError, LeasedJob, Outcome};
use alq_shared::workflow::FailureKind;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::spool::Spool;
use crate::actions::{Access, PathPolicy};
use crate::engine::{self, RunOptions};

/// How a job's run ended, as the control plane is told.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// Succeeded, failed or cancelled.
    pub outcome: Outcome,
    /// Why it failed.
    pub error: Option<JobError>,
    /// The workflow's outputs.
    pub outputs: Map<String, Value>,
}

impl JobResult {
    /// A failure before or outside the workflow's steps.
    pub(super) fn failed(message: String, kind: ErrorType) -> JobResult {
        JobResult {
            outcome: Outcome::Failed,
            error: Some(JobError { message, kind }),
            outputs: Map::new(),
        }
    }
}

/// What a job's thread needs.
pub struct JobContext {
    /// The job's folder: the workflow file (or the unpacked package) and the run folder.
    pub dir: PathBuf,
    /// The job's package in the robot's cache, checked against its hash.
    pub package: Option<PathBuf>,
    /// Where events and screenshots go first.
    pub spool: Spool,
    /// Woken when something was spooled.
    pub wake: Arc<Notify>,
    /// Cancelled to stop at the next step boundary.
    pub cancel: CancellationToken,
    /// Overrides the workflow's WebDriver URL.
    pub webdriver_url: Option<String>,
    /// Overrides the workflow's browser start-up budget.
    pub browser_startup_timeout: Option<std::time::Duration>,
    /// Runs the browser headless (a service has no screen).
    pub headless: bool,
    /// Where the workflow's file actions (and `call`s) may go.
    pub paths: PathPolicy,
}

/// Starts the job on its own thread; the answer comes when it ended, however it ended.
pub fn spawn(job: LeasedJob, context: JobContext) -> tokio::sync::oneshot::Receiver<JobResult> {
    let (done, result) = tokio::sync::oneshot::channel();
    let name = format!("alq-job-{}", job.job_id);
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run(job, context)));
        let result = outcome.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(panic = %message, "A job panicked; the robot goes on.");
            JobResult::failed(
                format!("the robot crashed running the job: {message}"),
                ErrorType::Application,
            )
        });
        let _ = done.send(result);
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "Cannot start a job thread.");
    }
    result
}

fn run(job: LeasedJob, context: JobContext) -> JobResult {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return JobResult::failed(
                format!("cannot start the job's runtime: {e}"),
                ErrorType::Application,
            );
        }
    };
    if let Err(e) = std::fs::create_dir_all(&context.dir) {
        return JobResult::failed(
            format!("cannot create {}: {e}", context.dir.display()),
            ErrorType::Application,
        );
    }
    // A `call` is refused, unread, where a file action would be.
    let paths = &context.paths;
    let guard = |p: &Path| {
        paths
            .check(&p.display().to_string(), p, Access::Read)
            .map(|_| ())
    };
    let loaded = match (&job.workflow.package, &context.package) {
        (Some(wanted), Some(archive)) => match unpack(&wanted.sha256, archive, &context.dir) {
            Ok(()) => alq_shared::workflow::load_guarded(&context.dir.join(&wanted.entry), &guard),
            Err(message) => return JobResult::failed(message, ErrorType::Application),
        },
        _ => {
            let path = context.dir.join("workflow.json");
            // Written for people looking into the robot folder; parsing uses the leased text.
            let _ = std::fs::write(&path, &job.workflow.source);
            alq_shared::workflow::load_str_guarded(&path, &job.workflow.source, &guard)
        }
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            return JobResult::failed(
                format!("workflow {}: {e}", job.workflow.name),
                ErrorType::Business,
            );
        }
    };
    let run_dir = context.dir.join("run");
    let mut options = RunOptions::new(run_dir.clone());
    options.inputs = job.inputs.clone();
    options.assets = job.assets.clone();
    options.headless = context.headless.then_some(true);
    options.webdriver_url = context.webdriver_url.clone();
    options.browser_startup_timeout = context.browser_startup_timeout;
    options.cancel = context.cancel.clone();
    options.paths = context.paths.clone();
    options.on_event = Some(spooler(job.job_id, run_dir, context.spool, context.wake));
    options.job = Some(engine::JobInfo {
        id: job.job_id,
        attempt: job.attempt,
    });
    // The name of the job's folder: one per attempt.
    options.run_id = Some(format!("{}-{}", job.job_id, job.attempt));
    match runtime.block_on(engine::run(&loaded, options)) {
        Ok(outcome) => {
            let error = outcome.error.map(|e| JobError {
                message: e.message,
                kind: match e.kind {
                    FailureKind::Business => ErrorType::Business,
                    FailureKind::Application => ErrorType::Application,
                },
            });
            JobResult {
                outcome: match outcome.status {
                    RunStatus::Succeeded => Outcome::Succeeded,
                    RunStatus::Failed => Outcome::Failed,
                    RunStatus::Cancelled => Outcome::Cancelled,
                },
                error,
                outputs: outcome.outputs,
            }
        }
        Err(engine::EngineError::Inputs(problems)) => JobResult::failed(
            format!("invalid inputs: {}", problems.join("; ")),
            ErrorType::Business,
        ),
        Err(e) => JobResult::failed(e.to_string(), ErrorType::Application),
    }
}

/// Unpacks the cached package into the job's folder, checking its hash once more (the
/// cache may have changed since it was fetched).
fn unpack(sha256: &str, archive: &Path, dir: &Path) -> Result<(), String> {
    let bytes = std::fs::read(archive).map_err(|e| {
        format!(
            "cannot read the workflow package {}: {e}",
            archive.display()
        )
    })?;
    package::verify(&bytes, sha256)
        .and_then(|()| {
            // The hash says it is what the server accepted; the unpacked bounds still hold.
            let limits = package::Limits {
                max_packed_bytes: u64::MAX,
                ..package::Limits::default()
            };
            package::unpack(&bytes, dir, &limits)
        })
        .map(|_| ())
        .map_err(|e| {
            format!(
                "cannot unpack the workflow package into {}: {e}",
                dir.display()
            )
        })
}

/// The event callback: numbers each event, spools the step screenshot before the event
/// that names it, and wakes the sender.
fn spooler(job: i64, run_dir: PathBuf, spool: Spool, wake: Arc<Notify>) -> engine::EventCallback {
    let mut seq = 0u64;
    Box::new(move |event: &RunEvent| {
        seq += 1;
        let mut screenshot_sha256 = None;
        if let RunEvent::StepFinished {
            screenshot: Some(name),
            ..
        } = event
        {
            // The engine canonicalises the run folder; the name is relative to it.
            match std::fs::read(run_dir.join(name)) {
                Ok(bytes) => {
                    let sha256 = hex::encode(Sha256::digest(&bytes));
                    if let Err(e) = spool.push_artifact(job, &sha256, &bytes, name, "image/png") {
                        tracing::warn!(job.id = job, error = %e, "Cannot spool a screenshot.");
                    }
                    screenshot_sha256 = Some(sha256);
                }
                Err(e) => {
                    tracing::warn!(job.id = job, file = %name, error = %e, "Cannot read a screenshot.")
                }
            }
        }
        match serde_json::to_value(event) {
            Ok(mut value) => {
                // Artifacts are content-addressed: two identical screenshots are one
                // artifact (under the first name), so the event names it by its hash.
                if let (Some(sha256), Some(object)) = (screenshot_sha256, value.as_object_mut()) {
                    object.insert("screenshot_sha256".into(), Value::String(sha256));
                }
                if let Err(e) = spool.push_event(job, seq, &value) {
                    tracing::warn!(job.id = job, error = %e, "Cannot spool an event.");
                }
            }
            Err(e) => tracing::warn!(job.id = job, error = %e, "Cannot encode an event."),
        }
        wake.notify_one();
    })
}
