//! One leased job from lease to completion: its thread runs the workflow while this task
//! heartbeats; when the run ends and its reports are sent, the job is completed with its
//! lease token. A job whose lease is lost is stopped and never completed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alq_shared::protocol::{CompleteRequest, ErrorType, JobError, LeasedJob, Outcome};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::backoff::Backoff;
use super::folders;
use super::job::{self, JobContext, JobResult};
use super::packages;
use super::state::RunningJob;

/// Runs `job` to its end; never fails (problems are logged and reported to the server).
pub async fn supervise(job: LeasedJob, shared: Shared) {
    let id = job.job_id;
    let lease_token = job.lease_token;
    tracing::info!(job.id = id, job.attempt = job.attempt, workflow = %job.workflow.name, "Job leased.");
    shared.jobs.add(RunningJob {
        job_id: id,
        attempt: job.attempt,
        workflow: job.workflow.name.clone(),
        started_at: chrono::Utc::now(),
    });
    if let Err(e) = shared
        .spool
        .forget(id)
        .and_then(|()| shared.spool.set_lease(id, lease_token))
    {
        tracing::warn!(job.id = id, error = %e, "Cannot write the spool.");
    }
    let cancel = shared.stop_jobs.child_token();
    let lost = Arc::new(AtomicBool::new(false));
    let cancelled_by_server = Arc::new(AtomicBool::new(false));
    let stop_heartbeats = CancellationToken::new();
    let heartbeats = tokio::spawn(heartbeat(
        shared.clone(),
        id,
        lease_token,
        cancel.clone(),
        lost.clone(),
        cancelled_by_server.clone(),
        stop_heartbeats.clone(),
    ));
    let dir = folders::job_dir(&shared.config.data_dir, id, job.attempt);
    // The package is fetched here (while heartbeats keep the lease) and unpacked by the
    // job's thread into its folder.
    let package = match &job.workflow.package {
        Some(wanted) => packages::fetch(
            &shared.client,
            &shared.config.data_dir.join("cache"),
            wanted,
        )
        .await
        .map(Some),
        None => Ok(None),
    };
    let done = match package {
        Ok(package) => job::spawn(
            job,
            JobContext {
                dir: dir.clone(),
                package,
                spool: shared.spool.clone(),
                wake: shared.wake.clone(),
                cancel: cancel.clone(),
                webdriver_url: shared.config.webdriver_url.clone(),
                browser_startup_timeout: shared.config.browser_startup_timeout,
                headless: true,
                paths: super::config::job_paths(
                    &shared.config.dir,
                    &shared.config.data_dir,
                    &shared.config.allow_paths,
                    &dir,
                ),
            },
        ),
        Err(e) => {
            tracing::warn!(job.id = id, error = %e, "Cannot get the job's workflow package.");
            let (failed, done) = tokio::sync::oneshot::channel();
            let _ = failed.send(JobResult::failed(e.to_string(), ErrorType::Application));
            done
        }
    };
    let mut result = done.await.unwrap_or_else(|_| JobResult {
        outcome: Outcome::Failed,
        error: Some(JobError {
            message: "the job's thread ended without an outcome".into(),
            kind: ErrorType::Application,
        }),
        outputs: Default::default(),
    });
    tracing::info!(job.id = id, outcome = ?result.outcome, "Job run ended.");
    // A run the robot stopped for its own shutdown is not the user's cancel: it fails
    // with an application error, so the server runs it again.
    if result.outcome == Outcome::Cancelled
        && shared.stop_jobs.is_cancelled()
        && !cancelled_by_server.load(Ordering::SeqCst)
        && !lost.load(Ordering::SeqCst)
    {
        result = JobResult {
            outcome: Outcome::Failed,
            error: Some(JobError {
                message: "the robot was stopped before the job finished".into(),
                kind: ErrorType::Application,
            }),
            outputs: Default::default(),
        };
    }
    // Reports first, then the completion (heartbeats keep the lease meanwhile).
    shared.wake.notify_one();
    while !lost.load(Ordering::SeqCst) && !shared.spool.is_drained(id).unwrap_or(true) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        shared.wake.notify_one();
    }
    if lost.load(Ordering::SeqCst) {
        report_lost(&shared, id, lease_token).await;
    } else {
        complete(&shared, id, lease_token, result, &lost).await;
    }
    stop_heartbeats.cancel();
    let _ = heartbeats.await;
    let _ = shared.spool.forget(id);
    shared.jobs.remove(id);
    folders::mark_finished(&dir);
    super::prune_job_folders(&shared.config, &shared.spool, &shared.jobs).await;
}

async fn complete(
    shared: &Shared,
    id: i64,
    lease_token: i64,
    result: JobResult,
    lost: &AtomicBool,
) {
    let request = CompleteRequest {
        lease_token,
        outcome: result.outcome,
        outputs: result.outputs,
        error: result.error,
    };
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        if lost.load(Ordering::SeqCst) {
            return report_lost(shared, id, lease_token).await;
        }
        match shared.client.complete(id, &request).await {
            Ok(answer) => {
                tracing::info!(job.id = id, state = answer.state.as_str(), "Job completed.");
                return;
            }
            Err(e) if e.is_stale_lease() => {
                tracing::warn!(
                    job.id = id,
                    "Job lost: the server gave its lease to another robot; it is not completed here."
                );
                return;
            }
            Err(e) if e.is_retryable() => {
                let wait = backoff.next(e.retry_after());
                tracing::warn!(job.id = id, error = %e, "Cannot complete the job yet.");
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                tracing::error!(job.id = id, error = %e, "The server refused the job's completion.");
                return;
            }
        }
    }
}

/// Waits until the server answers about the job again, then logs it as lost.
async fn report_lost(shared: &Shared, id: i64, lease_token: i64) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        match shared.client.heartbeat(id, lease_token).await {
            Err(e) if e.is_retryable() => tokio::time::sleep(backoff.next(e.retry_after())).await,
            _ => break,
        }
    }
    tracing::warn!(
        job.id = id,
        "Job lost: its lease expired while the server was unreachable; the robot stopped it and does not complete it (the server re-queues it)."
    );
}

/// Extends the lease at the server's interval until `stop`. Each heartbeat is a
/// long-poll the server holds for one interval unless the job is cancelled meanwhile,
/// so a cancel arrives at once rather than at the next heartbeat. A cancel request
/// cancels the run; a lease that is stale, or that ran out while no heartbeat got
/// through, marks the job lost and cancels the run.
async fn heartbeat(
    shared: Shared,
    id: i64,
    lease_token: i64,
    cancel: CancellationToken,
    lost: Arc<AtomicBool>,
    cancelled_by_server: Arc<AtomicBool>,
    stop: CancellationToken,
) {
    let interval = Duration::from_millis(shared.identity.heartbeat_interval_ms.max(100));
    let ttl = Duration::from_millis(shared.identity.lease_ttl_ms);
    // Measured from when a heartbeat was sent: the lease can only end later than that.
    let mut deadline = Instant::now() + ttl;
    // The answer comes after `interval` at the latest; a server that stopped answering
    // is given up on after as long again.
    let patience = interval + interval.max(Duration::from_secs(1));
    loop {
        let sent = Instant::now();
        let answer = tokio::select! {
            () = stop.cancelled() => return,
            answer = tokio::time::timeout(patience, shared.client.heartbeat_wait(id, lease_token, interval)) => answer,
        };
        match answer {
            Ok(Ok(answer)) => {
                deadline = sent + ttl;
                if answer.cancel && !cancelled_by_server.swap(true, Ordering::SeqCst) {
                    tracing::info!(
                        job.id = id,
                        "Cancel requested: stopping the job at the next step."
                    );
                    cancel.cancel();
                }
            }
            Ok(Err(e)) if e.is_stale_lease() => {
                tracing::warn!(
                    job.id = id,
                    "The job's lease is no longer ours: stopping it."
                );
                lost.store(true, Ordering::SeqCst);
                cancel.cancel();
                return;
            }
            Ok(Err(e)) => tracing::warn!(job.id = id, error = %e, "Heartbeat failed."),
            Err(_) => tracing::warn!(job.id = id, "Heartbeat timed out."),
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                job.id = id,
                "No heartbeat got through before the lease ran out: stopping the job."
            );
            lost.store(true, Ordering::SeqCst);
            cancel.cancel();
            return;
        }
        // One heartbeat per interval, also when the answer came early (a failure, a
        // cancel, or an older server that does not hold heartbeats).
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(sent + interval) => {}
        }
    }
}
