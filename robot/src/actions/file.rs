//! `file.*`: read, write, copy, move, delete, list.

use alq_shared::workflow::{FileDeleteArgs, FileListArgs, FileWriteArgs, FromToArgs, PathArgs};

use super::{ActionCtx, ActionError, ActionResult};

/// `file.read`: the file's text.
pub async fn read(_args: &PathArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}

/// `file.write`.
pub async fn write(_args: &FileWriteArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}

/// `file.copy`.
pub async fn copy(_args: &FromToArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}

/// `file.move`.
pub async fn rename(_args: &FromToArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}

/// `file.delete`.
pub async fn delete(_args: &FileDeleteArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}

/// `file.list`.
pub async fn list(_args: &FileListArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}
