//! `shell.run` (only with `--allow-shell`).

use alq_shared::workflow::ShellRunArgs;

use super::{ActionCtx, ActionError, ActionResult};

/// Runs a command; output `{code, stdout, stderr}`.
pub async fn run(_args: &ShellRunArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}
