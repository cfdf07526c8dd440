//! Outbox consumers: code that must see every event (chained triggers, notifications).
//!
//! A consumer has a name and a cursor in the database (`outbox_consumers`). Every
//! replica runs the consumer's loop; the one that claims the cursor handles the events
//! after it, batch by batch, and moves the cursor past a batch only after the handler
//! returned `Ok`. So each event is handled at least once, across restarts and replicas:
//! a handler that fails, or a replica that dies before moving the cursor, sees the batch
//! again (the handler must be idempotent, e.g. deduplicate by event id). While one
//! replica holds the cursor the others wait; when its claim runs out (it died), another
//! takes over. On shutdown the cursor is released at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::Stored;
use crate::AppState;
use crate::db::{new_id, now_ms, outbox, outbox_consumers};

/// Code that handles every event, at least once.
pub trait Consumer: Send + Sync + 'static {
    /// Handles a batch of events, oldest first. `Err` leaves the cursor where it was:
    /// the same batch comes again after [`Options::retry`].
    fn handle(&self, events: &[Stored]) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Where a consumer registered for the first time starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// With the oldest event still kept.
    Beginning,
    /// With the events committed after it registered.
    End,
}

/// How a consumer's loop runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where it starts the first time it runs (later runs continue from the cursor).
    pub start: Start,
    /// Most events per batch.
    pub batch: i64,
    /// How long a claim lasts without renewal: after a replica died, another takes the
    /// consumer over this long after its last renewal. A batch must be handled within it.
    pub claim_ttl: Duration,
    /// How often a replica that does not hold the consumer looks whether it may take
    /// over, and how often the holder looks for events no wake-up told it about.
    pub poll: Duration,
    /// The pause after a failed batch or database error.
    pub retry: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            start: Start::End,
            batch: 100,
            claim_ttl: Duration::from_secs(30),
            poll: Duration::from_secs(5),
            retry: Duration::from_secs(2),
        }
    }
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

/// Runs the consumer `name` on this replica until `shutdown`: registers it (at
/// `options.start`) when new, then claims, handles and advances as described above.
pub fn spawn(
    state: AppState,
    name: &str,
    consumer: impl Consumer,
    options: Options,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let name = name.to_owned();
    let consumer = Arc::new(consumer);
    tokio::spawn(async move {
        // One owner id per loop: two loops of one name in one process are two owners.
        let owner = new_id();
        let mut events = state.events.subscribe();
        let pause = |wait: Duration| {
            let shutdown = shutdown.clone();
            async move {
                tokio::select! {
                    () = shutdown.cancelled() => false,
                    () = tokio::time::sleep(wait) => true,
                }
            }
        };
        loop {
            let start = match options.start {
                Start::Beginning => Ok(0),
                Start::End => outbox::last_id(&state.db, None).await,
            };
            match start {
                Ok(position) => {
                    match outbox_consumers::register(&state.db, &name, position).await {
                        Ok(()) => break,
                        Err(e) => {
                            tracing::warn!(consumer = %name, error = %e, "Cannot register the outbox consumer; retrying.")
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(consumer = %name, error = %e, "Cannot read the outbox; retrying.")
                }
            }
            if !pause(options.retry).await {
                return;
            }
        }
        while !shutdown.is_cancelled() {
            let until = now_ms() + ms(options.claim_ttl);
            let position = match outbox_consumers::claim(&state.db, &name, &owner, until).await {
                Ok(Some(position)) => position,
                Ok(None) => {
                    // Another replica holds it: look again later.
                    if !pause(options.poll).await {
                        break;
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(consumer = %name, error = %e, "Cannot claim the outbox consumer; retrying.");
                    if !pause(options.retry).await {
                        break;
                    }
                    continue;
                }
            };
            let batch = match outbox::after(&state.db, position, options.batch).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(consumer = %name, error = %e, "Cannot read the outbox; retrying.");
                    if !pause(options.retry).await {
                        break;
                    }
                    continue;
                }
            };
            let Some(last) = batch.last().map(|row| row.id) else {
                // Nothing new: wait for an event (here or, with Redis, on another
                // replica) or the poll, then renew the claim and look again.
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(options.poll) => {}
                    received = events.recv() => {
                        if let Err(RecvError::Closed) = received {
                            break;
                        }
                    }
                }
                continue;
            };
            let stored: Vec<Stored> = batch.into_iter().filter_map(Stored::from_row).collect();
            if let Err(e) = consumer.handle(&stored).await {
                tracing::warn!(consumer = %name, event.first = position + 1, event.last = last, error = %e, "The outbox consumer failed on a batch; it gets the batch again.");
                if !pause(options.retry).await {
                    break;
                }
                continue;
            }
            let until = now_ms() + ms(options.claim_ttl);
            match outbox_consumers::advance(&state.db, &name, &owner, last, until).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(consumer = %name, "The outbox consumer's claim ran out while it handled a batch; another replica handles it again.")
                }
                Err(e) => {
                    tracing::warn!(consumer = %name, error = %e, "Cannot move the outbox consumer's cursor; the batch comes again.")
                }
            }
        }
        if let Err(e) = outbox_consumers::release(&state.db, &name, &owner).await {
            tracing::warn!(consumer = %name, error = %e, "Cannot release the outbox consumer; another replica takes it when the claim runs out.");
        }
    })
}
