//! Background loops of the leasing: the reaper returns jobs whose lease expired, the
//! sweep wakes parked robots for jobs no wake-up reached (a job whose `run_after` came,
//! a wake-up another replica sent through a Redis that was down).
//!
//! Neither polls the database on a fixed beat. The reaper sleeps until the earliest
//! lease it knows of expires; the sweep until the earliest `run_after` it knows of. An
//! idle server (robots parked, no job running or due) runs no query at all; with
//! replicas, each also looks now and then for what only another replica knew.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use alq_shared::stream::{Event, JobStateChanged};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::JobReady;
use crate::AppState;
use crate::db::jobs::{self, Backoff};
use crate::db::{now_ms, presence};
use crate::events::{Happened, robot_presence};

/// How soon the sweep looks again after it found claimable jobs (robots may not have
/// taken them all: labels, or fewer robots than jobs).
const SWEEP_BUSY: Duration = Duration::from_secs(2);

/// With replicas, how often the sweep looks anyway: a wake-up sent through Redis while
/// it was unreachable, or a far `run_after` another replica was told about.
const SWEEP_SHARED: Duration = Duration::from_secs(10);

/// After a failed query, when to try again.
const RETRY: Duration = Duration::from_secs(1);

/// How many jobs one sweep announces at most.
const SWEEP_BATCH: i64 = 200;

/// Starts the reaper and the sweep; both stop when `shutdown` is cancelled.
pub fn spawn_background(state: AppState, shutdown: CancellationToken) {
    tokio::spawn(reaper(state.clone(), shutdown.clone()));
    tokio::spawn(sweeper(state, shutdown));
}

/// Sleeps until `deadline` (forever when `None`), `woken` is told, or `shutdown`.
/// Returns false on shutdown.
async fn sleep(
    deadline: Option<Instant>,
    woken: &tokio::sync::Notify,
    shutdown: &CancellationToken,
) -> bool {
    let timer = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = timer => true,
        () = woken.notified() => true,
    }
}

/// The instant of a Unix-ms time (now when it has passed), plus `slack`.
fn instant_of(unix_ms: i64, slack: Duration) -> Instant {
    let ahead = u64::try_from(unix_ms - now_ms()).unwrap_or(0);
    Instant::now() + Duration::from_millis(ahead) + slack
}

async fn reaper(state: AppState, shutdown: CancellationToken) {
    let ttl = Duration::from_millis(state.config.lease_ttl_ms);
    let shared = state.dispatcher.bus().is_shared();
    loop {
        let deadline = match reap_once(&state).await {
            // The earliest lease runs out then; a heartbeat may move it, which the
            // next look finds. A few ms late, so that it has expired by then.
            Ok(Some(expires)) => Some(instant_of(expires, Duration::from_millis(5))),
            // No job runs. A lease made here from now on tells this loop; one made on
            // another replica expires one TTL from now at the earliest.
            Ok(None) if shared => Some(Instant::now() + ttl),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(error = %error, "Cannot reap expired leases; retrying.");
                Some(Instant::now() + RETRY)
            }
        };
        let deadline = match deadline {
            Some(at) => at,
            // Nothing to watch until a lease is made here; it ends a TTL later at the
            // earliest. Leases only need telling then, so the lease path costs nothing.
            None => tokio::select! {
                () = shutdown.cancelled() => return,
                () = state.dispatcher.leased.notified() => Instant::now() + ttl,
            },
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// Returns expired leases to pending (or dead), wakes robots for them, and tells when
/// the earliest remaining lease expires.
async fn reap_once(state: &AppState) -> anyhow::Result<Option<i64>> {
    let backoff = Backoff {
        base_ms: i64::try_from(state.config.retry_base_ms)?,
        max_ms: i64::try_from(state.config.retry_max_ms)?,
    };
    let mut tx = state.db.begin().await?;
    let expired = jobs::expire_leases(&mut tx, backoff).await?;
    let mut events = Vec::with_capacity(expired.len());
    let mut robots = BTreeSet::new();
    for job in &expired {
        events.push(Happened {
            tenant_id: job.ready.tenant_id.clone(),
            event: Event::JobStateChanged(JobStateChanged {
                job_id: job.ready.id,
                workflow_name: job.workflow_name.clone(),
                state: job.ready.state,
                attempt: job.attempt,
                robot_id: job.robot_id.clone(),
                error: Some(jobs::lease_expired_error()),
                outputs: None,
            }),
        });
        robots.extend(job.robot_id.clone());
    }
    for robot_id in robots {
        if let Some((tenant, name)) = presence::became_idle(&mut tx, &robot_id).await? {
            events.extend(robot_presence(&tenant, &robot_id, &name, "online"));
        }
    }
    state.events.commit(tx, events).await?;
    for job in expired {
        let job = job.ready;
        tracing::info!(job.id = job.id, tenant.id = %job.tenant_id, job.state = job.state.as_str(), "Lease expired.");
        if job.state == alq_shared::protocol::JobState::Pending {
            state.dispatcher.job_ready_at(JobReady {
                tenant_id: job.tenant_id,
                labels: job.labels,
                run_after: job.run_after,
            });
        }
    }
    Ok(jobs::next_lease_expiry(&state.db).await?)
}

async fn sweeper(state: AppState, shutdown: CancellationToken) {
    let shared = state.dispatcher.bus().is_shared();
    let dispatcher = &state.dispatcher;
    loop {
        // What the dispatcher was told from now on is the sweep's to look at.
        let later = dispatcher.later.swap(i64::MAX, Ordering::AcqRel);
        let mut deadline = match sweep_once(&state).await {
            Ok(Sweep::Busy) => Some(Instant::now() + SWEEP_BUSY),
            Ok(Sweep::Idle { next_run_after }) => {
                let next = next_run_after.map(|at| instant_of(at, Duration::ZERO));
                let safety = shared.then(|| Instant::now() + SWEEP_SHARED);
                next.into_iter().chain(safety).min()
            }
            Err(error) => {
                tracing::warn!(error = %error, "Cannot sweep for claimable jobs; retrying.");
                // Not forgotten: looked at again on the next round.
                dispatcher.ready_later(later);
                Some(Instant::now() + RETRY)
            }
        };
        loop {
            let later = dispatcher.later.load(Ordering::Acquire);
            if later != i64::MAX {
                let at = instant_of(later, Duration::ZERO);
                deadline = Some(deadline.map_or(at, |d| d.min(at)));
            }
            if !sleep(deadline, &dispatcher.later_changed, &shutdown).await {
                return;
            }
            if deadline.is_some_and(|at| Instant::now() >= at) {
                break;
            }
        }
    }
}

/// What a sweep found.
#[derive(Debug, PartialEq, Eq)]
pub enum Sweep {
    /// Claimable jobs, announced to the robots parked here.
    Busy,
    /// Nothing claimable; the earliest `run_after` still to come, if any.
    Idle {
        /// Unix ms.
        next_run_after: Option<i64>,
    },
}

/// Wakes parked robots for claimable jobs; with no robot parked, only finds out when a
/// job becomes claimable next.
pub async fn sweep_once(state: &AppState) -> anyhow::Result<Sweep> {
    if state.dispatcher.parked() > 0 {
        let due = jobs::due_pending(&state.db, SWEEP_BATCH).await?;
        if !due.is_empty() {
            for job in due {
                state.dispatcher.wake_local(JobReady {
                    tenant_id: job.tenant_id,
                    labels: job.labels,
                    run_after: job.run_after,
                });
            }
            return Ok(Sweep::Busy);
        }
    }
    Ok(Sweep::Idle {
        next_run_after: jobs::next_run_after(&state.db).await?,
    })
}
