//! The robot agent: registers with a control plane, leases jobs, runs them with the
//! engine, and reports every step. Its on-disk spool keeps reports across outages.

pub mod backoff;
pub mod config;
pub mod folders;
pub mod http;
pub mod identity;
mod job;
pub mod packages;
mod register;
mod sender;
pub mod spool;
pub mod state;
mod supervise;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use folders::Retention;
pub use identity::{Identity, robot_data_dir, robot_dir};
pub use register::{Registration, register};

use backoff::{Backoff, jitter};
use http::{CallError, RobotClient, SetupError};
use spool::Spool;
use state::Jobs;

/// Everything that stops the agent or a registration.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// No folder for the robot's files.
    #[error(
        "cannot find a configuration or data folder for the robot: set ALQ_ROBOT_DIR (and ALQ_ROBOT_DATA_DIR)"
    )]
    NoRobotDir,
    /// No identity yet.
    #[error(
        "this machine is not registered as a robot ({} is missing): run `alq robot register --url URL --token REGISTRATION_TOKEN` first",
        .0.display()
    )]
    NotRegistered(PathBuf),
    /// A file of the robot folder.
    #[error("cannot use {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The URL or the CA certificate.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Plain HTTP to another machine.
    #[error(
        "refusing plain http:// to {0}: the robot's token would cross the network unencrypted. Use https://, or pass --insecure-http if this network is trusted"
    )]
    InsecureHttp(String),
    /// The registration token was refused.
    #[error(
        "the server refused the registration token ({0}): it is wrong, expired, revoked or used; ask an admin for a new one (`alq robot token create`)"
    )]
    BadRegistrationToken(String),
    /// The server could not be reached while registering.
    #[error(
        "{0}\nCheck the URL (scheme, host and port), that the alq server runs there, and that this machine can reach it (proxy, firewall). Nothing was stored."
    )]
    RegisterUnreachable(CallError),
    /// The robot's own token was refused: the robot was deleted, or registered again
    /// (which replaces its token). A disabled robot is not refused: it waits.
    #[error(
        "the server refused this robot's token ({0}): the robot was deleted, or registered again elsewhere, which replaced its token. Register this machine again with `alq robot register --url URL --token REGISTRATION_TOKEN`"
    )]
    Rejected(String),
    /// A call failed.
    #[error(transparent)]
    Call(#[from] CallError),
}

impl AgentError {
    /// Whether the server could not be reached at all (connection or TLS).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            AgentError::Call(CallError::Connect { .. } | CallError::Tls { .. })
                | AgentError::RegisterUnreachable(_)
        )
    }
}

/// How to run the agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The robot folder: identity, spool, state file.
    pub dir: PathBuf,
    /// The robot's data folder: job folders.
    pub data_dir: PathBuf,
    /// How long finished job folders are kept.
    pub retention: Retention,
    /// How many jobs at once (one browser each).
    pub slots: u32,
    /// How long running jobs may go on after a stop request before they are cancelled.
    pub grace: Duration,
    /// Overrides every workflow's WebDriver URL.
    pub webdriver_url: Option<String>,
    /// Overrides every workflow's `browser.startup_timeout_ms`: how slow this machine
    /// starts a browser is the robot's business.
    pub browser_startup_timeout: Option<Duration>,
    /// The only folders workflows' file actions may use besides their job folder
    /// (`--allow-path` and `allow_paths`); empty: anywhere but alq's own folders.
    pub allow_paths: Vec<PathBuf>,
}

/// What every job's supervisor shares.
#[derive(Clone)]
struct Shared {
    client: RobotClient,
    identity: Arc<Identity>,
    config: Arc<AgentConfig>,
    spool: Spool,
    jobs: Jobs,
    wake: Arc<Notify>,
    /// Cancelled when the grace period ends: every job's cancel token is its child.
    stop_jobs: CancellationToken,
}

/// Runs the agent until `shutdown`, then lets running jobs finish within the grace
/// period, cancels the rest, and flushes the spool. Fails only when it cannot start or
/// the server refuses the robot's token.
pub async fn run(config: AgentConfig, shutdown: CancellationToken) -> Result<(), AgentError> {
    let identity = Identity::load(&config.dir)?;
    // Browsers a killed predecessor left behind go before new ones start.
    crate::actions::browser::owner::sweep();
    let client = RobotClient::new(&identity.url, &identity.token, identity.ca_cert.as_deref())?;
    let spool_dir = config.dir.join("spool");
    let spool = Spool::open(&spool_dir).map_err(|source| AgentError::Io {
        path: spool_dir,
        source,
    })?;
    let slots = config.slots.max(1);
    let jobs = Jobs::new(&config.dir, slots);
    // What earlier runs left beyond the retention, except what the spool still reports.
    prune_job_folders(&config, &spool, &jobs).await;
    let shared = Shared {
        client: client.clone(),
        identity: Arc::new(identity),
        config: Arc::new(config),
        spool: spool.clone(),
        jobs: jobs.clone(),
        wake: Arc::new(Notify::new()),
        stop_jobs: CancellationToken::new(),
    };
    let stop_sender = CancellationToken::new();
    let sender = tokio::spawn(sender::run(
        client.clone(),
        spool.clone(),
        jobs.clone(),
        shared.wake.clone(),
        stop_sender.clone(),
    ));
    tracing::info!(robot.id = %shared.identity.robot_id, robot.name = %shared.identity.name, url = %shared.identity.url, slots, "Robot started; waiting for jobs.");
    if !shared.config.allow_paths.is_empty() {
        let roots: Vec<String> = shared
            .config
            .allow_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        tracing::info!(allow_paths = %roots.join(", "), "Workflows may use files only in these folders and their job folder.");
    }

    let mut running = JoinSet::new();
    let result = lease_loop(&shared, slots, &mut running, &shutdown).await;

    if !running.is_empty() {
        tracing::info!(
            jobs = running.len(),
            grace_s = shared.config.grace.as_secs(),
            "Stopping: no new jobs; waiting for the running ones."
        );
        let grace = tokio::time::sleep(shared.config.grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                next = running.join_next() => if next.is_none() { break },
                () = &mut grace, if !shared.stop_jobs.is_cancelled() => {
                    tracing::warn!(jobs = running.len(), "Grace period over: stopping the running jobs.");
                    shared.stop_jobs.cancel();
                }
            }
        }
    }
    // Flush what the spool holds, for a little while: what is left is sent next start.
    let flush_until = tokio::time::Instant::now() + Duration::from_secs(10);
    while spool.jobs().is_ok_and(|j| !j.is_empty()) && tokio::time::Instant::now() < flush_until {
        if sender::drain(&client, &spool, &jobs).await.is_err() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    stop_sender.cancel();
    let _ = sender.await;
    jobs.clear();
    // Its jobs ended (completed, or given back to run again): the server may show it
    // offline now rather than after three silent heartbeat intervals.
    if result.is_ok() {
        match client.goodbye().await {
            Ok(()) => tracing::info!("Told the server this robot stops."),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot tell the server this robot stops; it shows the robot offline after three missed heartbeats.")
            }
        }
    }
    tracing::info!("Robot stopped.");
    result
}

async fn lease_loop(
    shared: &Shared,
    slots: u32,
    running: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) -> Result<(), AgentError> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    let wait_s = shared.identity.lease_wait_s;
    // Disabled by an admin: said once when it starts and once when it ends.
    let mut disabled = false;
    loop {
        while running.try_join_next().is_some() {}
        let free = slots.saturating_sub(u32::try_from(running.len()).unwrap_or(u32::MAX));
        if free == 0 {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                _ = running.join_next() => continue,
            }
        }
        let answer = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            answer = shared.client.lease(wait_s, free) => answer,
        };
        let now_disabled = match &answer {
            Ok(Some(leased)) => leased.disabled,
            // An older server refuses a disabled robot's lease with 403.
            Err(e) => e.status() == Some(403) || (disabled && e.is_retryable()),
            Ok(None) => false,
        };
        if now_disabled != disabled {
            disabled = now_disabled;
            if disabled {
                tracing::warn!(robot.id = %shared.identity.robot_id, "This robot is disabled: it takes no new jobs until an admin enables it (POST /api/v1/robots/{{id}}/enable); running jobs finish.");
            } else {
                tracing::info!(robot.id = %shared.identity.robot_id, "This robot is enabled again: taking jobs.");
            }
        }
        let pause = match answer {
            // The server held the poll while the robot was disabled: ask again.
            Ok(Some(leased)) if leased.disabled => {
                backoff.reset();
                jitter(Duration::from_millis(250))
            }
            Ok(Some(leased)) => {
                backoff.reset();
                for job in leased.jobs {
                    running.spawn(supervise::supervise(job, shared.clone()));
                }
                Duration::ZERO
            }
            // Nothing came: poll again soon, spread out so robots do not move in step.
            Ok(None) => {
                backoff.reset();
                jitter(Duration::from_millis(250))
            }
            // Deleted, or registered again elsewhere: nothing this robot can do but stop
            // (said once, by the caller, with what to do).
            Err(e) if e.status() == Some(401) => {
                return Err(AgentError::Rejected(e.to_string()));
            }
            Err(e) if e.status() == Some(403) => backoff.next(e.retry_after()),
            Err(e) => {
                let wait = backoff.next(e.retry_after());
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "Cannot lease jobs.");
                wait
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Removes job folders beyond the retention, never one of a job the agent runs or whose
/// reports are still in the spool.
async fn prune_job_folders(config: &AgentConfig, spool: &Spool, jobs: &Jobs) {
    let (data_dir, retention) = (config.data_dir.clone(), config.retention);
    let (spool, jobs) = (spool.clone(), jobs.clone());
    let pruned = tokio::task::spawn_blocking(move || {
        // Unreadable spool: keep everything this time rather than lose a report.
        let Ok(unsent) = spool.jobs() else {
            return Vec::new();
        };
        folders::prune(&data_dir, retention, |job| {
            jobs.contains(job) || unsent.contains(&job)
        })
    })
    .await;
    if let Ok(removed) = pruned
        && !removed.is_empty()
    {
        tracing::info!(
            removed = removed.len(),
            "Removed job folders beyond the retention."
        );
    }
}
