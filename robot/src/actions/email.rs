//! `email.send` over SMTP (lettre).

use alq_shared::workflow::EmailSendArgs;

use super::{ActionCtx, ActionError, ActionResult};

/// Sends one message.
pub async fn send(_args: &EmailSendArgs, _ctx: &ActionCtx<'_>) -> ActionResult {
    Err(ActionError::app("not built yet"))
}
