//! The sender: drains the spool to the control plane, job by job, screenshots before the
//! events that name them, events in `seq` order and in batches. It keeps the spool
//! across outages and retries with backoff; a stale lease means the reports are no
//! longer wanted, so they are forgotten.

use std::sync::Arc;
use std::time::Duration;

use alq_shared::protocol::EventItem;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::http::{CallError, RobotClient};
use super::spool::Spool;
use super::state::Jobs;

/// Events per batch.
const BATCH: usize = 200;

/// Drains the spool whenever woken (and every few seconds) until `stop`.
pub async fn run(
    client: RobotClient,
    spool: Spool,
    jobs: Jobs,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        match drain(&client, &spool, &jobs).await {
            Ok(()) => {
                backoff.reset();
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
            Err(e) => {
                let wait = backoff.next(e.retry_after());
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "Cannot send reports; they stay in the spool.");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// One pass over the spool; stops at the first error worth retrying.
pub async fn drain(client: &RobotClient, spool: &Spool, jobs: &Jobs) -> Result<(), CallError> {
    let ids = match spool.jobs() {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "Cannot read the spool.");
            return Ok(());
        }
    };
    for job in ids {
        let Some(lease_token) = spool.lease(job) else {
            if !jobs.contains(job) {
                // Reports of a job whose lease was forgotten: nobody can take them.
                let _ = spool.forget(job);
            }
            continue;
        };
        match drain_job(client, spool, job, lease_token).await {
            Ok(()) => {}
            Err(e) if e.is_stale_lease() => {
                tracing::warn!(
                    job.id = job,
                    "Job lost: its lease is no longer ours; its unsent reports are dropped."
                );
                let _ = spool.forget(job);
                continue;
            }
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                tracing::warn!(job.id = job, error = %e, "The server refused a report; it is dropped.");
                continue;
            }
        }
        if !jobs.contains(job) && spool.is_drained(job).unwrap_or(false) {
            // A job of an earlier run of the agent: reported, never completed here (its
            // lease runs out and the server re-queues it).
            tracing::warn!(
                job.id = job,
                "Job lost: the robot restarted while running it; its reports were sent, the server will re-queue it."
            );
            let _ = spool.forget(job);
        }
    }
    Ok(())
}

async fn drain_job(
    client: &RobotClient,
    spool: &Spool,
    job: i64,
    lease_token: i64,
) -> Result<(), CallError> {
    let io = |e: std::io::Error| {
        tracing::warn!(job.id = job, error = %e, "Cannot read the spool.");
    };
    for meta in spool.artifacts(job).map_err(io).unwrap_or_default() {
        let Ok(bytes) = spool.artifact_bytes(job, &meta.sha256) else {
            let _ = spool.ack_artifact(job, &meta.sha256);
            continue;
        };
        match client
            .artifact(
                job,
                lease_token,
                &meta.sha256,
                &meta.name,
                &meta.content_type,
                bytes,
            )
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_stale_lease() || e.is_retryable() => return Err(e),
            Err(e) => {
                tracing::warn!(job.id = job, artifact = %meta.name, error = %e, "The server refused an artifact; it is dropped.");
            }
        }
        let _ = spool.ack_artifact(job, &meta.sha256);
    }
    loop {
        let batch = spool.events(job, BATCH).map_err(io).unwrap_or_default();
        if batch.is_empty() {
            return Ok(());
        }
        let seqs: Vec<u64> = batch.iter().map(|(seq, _)| *seq).collect();
        let events = batch
            .into_iter()
            .map(|(seq, event)| EventItem {
                seq: i64::try_from(seq).unwrap_or(i64::MAX),
                event,
            })
            .collect();
        match client.events(job, lease_token, events).await {
            Ok(()) => {}
            Err(e) if e.is_stale_lease() || e.is_retryable() => return Err(e),
            Err(e) => {
                tracing::warn!(job.id = job, error = %e, "The server refused events; they are dropped.");
            }
        }
        let _ = spool.ack_events(job, &seqs);
    }
}
