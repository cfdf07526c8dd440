//! Background loops of the leasing: the reaper returns jobs whose lease expired, the
//! sweep wakes parked robots for jobs no wake-up reached (a missed wake-up, a job whose
//! `run_after` came, a re-queue on another replica).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::JobReady;
use crate::AppState;
use crate::db::jobs::{self, Backoff};

/// How often the sweep looks for claimable jobs while robots are parked.
const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// How many jobs one sweep announces at most.
const SWEEP_BATCH: i64 = 200;

/// Starts the reaper and the sweep; both stop when `shutdown` is cancelled.
pub fn spawn_background(state: AppState, shutdown: CancellationToken) {
    // Check a few times per lease TTL, at most once per second.
    let every = Duration::from_millis((state.config.lease_ttl_ms / 4).clamp(100, 1_000));
    tokio::spawn(repeat(every, shutdown.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move { reap_once(&state).await }
        }
    }));
    tokio::spawn(repeat(SWEEP_INTERVAL, shutdown, move || {
        let state = state.clone();
        async move { sweep_once(&state).await }
    }));
}

async fn repeat<F, Fut>(every: Duration, shutdown: CancellationToken, mut tick: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        if let Err(error) = tick().await {
            tracing::warn!(error = %error, "Leasing background task failed; retrying at the next tick.");
        }
    }
}

/// Returns expired leases to pending (or dead) and wakes robots for them.
async fn reap_once(state: &AppState) -> anyhow::Result<()> {
    let backoff = Backoff {
        base_ms: i64::try_from(state.config.retry_base_ms)?,
        max_ms: i64::try_from(state.config.retry_max_ms)?,
    };
    for job in jobs::expire_leases(&state.db, backoff).await? {
        tracing::info!(job.id = job.id, tenant.id = %job.tenant_id, job.state = job.state.as_str(), "Lease expired.");
        if job.state == alq_shared::protocol::JobState::Pending {
            state.dispatcher.job_ready_at(JobReady {
                tenant_id: job.tenant_id,
                labels: job.labels,
                run_after: job.run_after,
            });
        }
    }
    Ok(())
}

/// Wakes parked robots for claimable jobs; does nothing (no query) when none is parked.
pub async fn sweep_once(state: &AppState) -> anyhow::Result<()> {
    if state.dispatcher.parked() == 0 {
        return Ok(());
    }
    for job in jobs::due_pending(&state.db, SWEEP_BATCH).await? {
        state.dispatcher.wake_local(JobReady {
            tenant_id: job.tenant_id,
            labels: job.labels,
            run_after: job.run_after,
        });
    }
    Ok(())
}
