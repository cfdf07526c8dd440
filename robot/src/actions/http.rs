//! `http.request`.

use alq_shared::workflow::HttpRequestArgs;

use super::{ActionCtx, ActionError, ActionResult};

/// Sends an HTTP request; output `{status, headers, json | text}`.
pub async fn request(_args: &HttpRequestArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("http.request is not built yet"))
}
