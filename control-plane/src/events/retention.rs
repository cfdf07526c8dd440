//! Pruning the outbox: events older than `event_retention_s` (default 7 days) are
//! deleted, hourly, by every replica (a row is deleted once, whoever gets there first).
//! The retention is the promise: an SSE client may resume, and an outbox consumer may
//! fall behind, by up to that long. A consumer further behind loses the pruned events,
//! and the pruning says so in the log.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::db::{DbResult, now_ms, outbox, outbox_consumers};

/// How often the outbox is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Deletes the events older than the retention; how many.
pub async fn prune_once(state: &AppState) -> DbResult<u64> {
    let keep = i64::try_from(state.config.event_retention_s)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let before = now_ms().saturating_sub(keep);
    let newest_pruned = outbox::last_before(&state.db, before).await?;
    let pruned = outbox::prune(&state.db, before).await?;
    if pruned > 0
        && let Some((name, position)) = outbox_consumers::lowest_position(&state.db).await?
        && position < newest_pruned
    {
        tracing::warn!(consumer = %name, consumer.position = position, event.newest_pruned = newest_pruned, "The outbox consumer was further behind than the event retention: the events it had not handled were pruned.");
    }
    Ok(pruned)
}

/// Prunes every hour (and once at start) until `shutdown`.
pub fn spawn_pruner(state: AppState, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            match prune_once(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "Old events pruned from the outbox."),
                Err(error) => {
                    tracing::warn!(error = %error, "Cannot prune the outbox; trying again later.");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(PRUNE_EVERY) => {}
            }
        }
    });
}
