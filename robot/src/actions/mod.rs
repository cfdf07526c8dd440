//! The executors of actions, one module per family. Control flow (`if`, `for_each`, ...)
//! is the engine's own; everything else runs here.

pub mod browser;
pub mod data;
pub mod email;
pub mod file;
pub mod http;
pub mod paths;
pub mod shell;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alq_shared::workflow::{Action, FailureKind};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub use paths::{Access, PathPolicy};

/// What an action may know about the step and run it is part of.
pub struct ActionCtx<'a> {
    /// How long the step may take; browser actions wait this long for their element.
    pub timeout: Duration,
    /// Set when the run is being stopped: long waits should give up.
    pub cancel: &'a CancellationToken,
    /// The folder of the workflow file: relative paths resolve against it.
    pub workflow_dir: &'a Path,
    /// The run folder, where screenshots, downloads and reports go.
    pub run_dir: &'a Path,
    /// Whether `shell.run` may run (`--allow-shell`).
    pub allow_shell: bool,
    /// Where file actions may go.
    pub paths: &'a PathPolicy,
}

impl ActionCtx<'_> {
    /// The path a file action uses for `raw` (as the workflow wrote it): resolved against
    /// the workflow's folder, `..` and symbolic links resolved, and checked against the
    /// run's [`PathPolicy`]; a refusal names `action`, the path and the rule.
    pub fn path(&self, action: &str, raw: &str, access: Access) -> Result<PathBuf, ActionError> {
        self.paths
            .check(raw, &self.resolve(raw), access)
            .map_err(|why| ActionError::app(format!("{action}: {why}")))
    }

    /// A path from a workflow, resolved against the workflow's folder, unchecked: only
    /// for what is not a file action (`shell.run`'s working folder).
    pub fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.workflow_dir.join(path)
        }
    }
}

/// Why an action did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// It failed; the message says what happened, to what, and where.
    #[error("{message}")]
    Failed {
        /// What happened.
        message: String,
        /// Business or application failure.
        kind: FailureKind,
    },
    /// The run was cancelled while the action waited.
    #[error("cancelled")]
    Cancelled,
}

impl ActionError {
    /// An application (technical) failure.
    pub fn app(message: impl Into<String>) -> Self {
        ActionError::Failed {
            message: message.into(),
            kind: FailureKind::Application,
        }
    }

    /// A business failure (bad data; retrying will not help).
    pub fn business(message: impl Into<String>) -> Self {
        ActionError::Failed {
            message: message.into(),
            kind: FailureKind::Business,
        }
    }
}

/// What an action returns: its output (`steps.ID.output`) or why it failed.
pub type ActionResult = Result<Value, ActionError>;

/// Runs an action that is neither control flow nor browser.
pub async fn run_other(action: &Action, ctx: &ActionCtx<'_>) -> ActionResult {
    match action {
        Action::HttpRequest(a) => http::request(a, ctx).await,
        Action::FileRead(a) => file::read(a, ctx).await,
        Action::FileWrite(a) => file::write(a, ctx).await,
        Action::FileCopy(a) => file::copy(a, ctx).await,
        Action::FileMove(a) => file::rename(a, ctx).await,
        Action::FileDelete(a) => file::delete(a, ctx).await,
        Action::FileList(a) => file::list(a, ctx).await,
        Action::CsvRead(a) => data::csv_read(a, ctx).await,
        Action::CsvWrite(a) => data::csv_write(a, ctx).await,
        Action::JsonParse(a) => data::json_parse(a),
        Action::EmailSend(a) => email::send(a, ctx).await,
        Action::ShellRun(a) => shell::run(a, ctx).await,
        other => Err(ActionError::app(format!(
            "`{}` cannot run outside the engine",
            other.name()
        ))),
    }
}
