//! The alq control plane: keeps tenants, tokens, robots, workflows and jobs, and leases
//! jobs to robots that long-poll it. `run` serves it on a listener the caller binds, so
//! tests start real servers on port 0.

pub mod api;
pub mod auth;
pub mod blobs;
pub mod config;
pub mod crypto;
pub mod data_dir;
pub mod db;
pub mod error;
pub mod events;
pub mod jobs;
pub mod labels;
pub mod lease;
pub mod metrics;
pub mod robot_api;
pub mod serve;
pub mod settings;

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;
pub use error::ApiError;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: db::Db,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Encrypts credential assets.
    pub key: crypto::SecretKey,
    /// Prometheus metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// Domain events: committed with their change, then published here and to the
    /// other replicas.
    pub events: Arc<events::Events>,
    /// Parked lease long-polls and their wake-ups.
    pub dispatcher: Arc<lease::Dispatcher>,
    /// Where artifacts' bytes are kept.
    pub blobs: blobs::BlobStore,
    /// Cancelled when the server stops: parked long-polls answer at once.
    pub shutdown: CancellationToken,
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    api::router(state)
}

/// Opens the database (running migrations), creates the default tenant and its admin
/// token on an empty database (returned once, to be printed), and returns the state.
pub async fn prepare(config: Config) -> anyhow::Result<(AppState, Option<String>)> {
    config.check()?;
    data_dir::make_private(&config.data_dir())?;
    // Everything that can fail comes before the bootstrap: the admin token is shown once
    // and must not be made by a start that then fails.
    let key = crypto::SecretKey::load_or_create(&config)?;
    let bus = match &config.redis_url {
        Some(url) => events::Bus::redis(url, &config.redis_channel).await?,
        None => events::Bus::local(),
    };
    let metrics = Arc::new(metrics::Metrics::new());
    let db = db::Db::connect_counted(&config, metrics.database_uses.clone()).await?;
    db.migrate().await?;
    let admin_token = db.bootstrap().await?;
    let blobs = blobs::BlobStore::new(config.data_dir().join("blobs"));
    Ok((
        AppState {
            db,
            config: Arc::new(config),
            key,
            metrics,
            events: Arc::new(events::Events::new(bus.clone())),
            dispatcher: Arc::new(lease::Dispatcher::new(bus)),
            blobs,
            shutdown: CancellationToken::new(),
        },
        admin_token,
    ))
}

/// Serves the application on `listener` (HTTPS when the config has a certificate) until
/// `shutdown` is cancelled, with the lease reaper and the wake-up sweep running beside
/// it. On shutdown parked long-polls are answered 204 at once; leased jobs stay leased
/// (their robots keep running them, or the leases expire and the jobs are retried).
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    lease::spawn_background(state.clone(), shutdown.clone());
    jobs::idempotency::spawn_pruner(state.clone(), shutdown.clone());
    events::retention::spawn_pruner(state.clone(), shutdown.clone());
    if let Some(url) = &state.config.redis_url {
        let (dispatcher, events) = (state.dispatcher.clone(), state.events.clone());
        let received = move |message| match message {
            events::Message::JobReady {
                tenant_id,
                labels,
                run_after,
            } => {
                dispatcher.wake_local_at(lease::JobReady {
                    tenant_id,
                    labels,
                    run_after,
                });
            }
            events::Message::CancelRequested { job_id } => dispatcher.cancels().cancelled(job_id),
            events::Message::Event(event) => events.received(event),
        };
        state.events.bus().listen(url, received, shutdown.clone());
    }
    tokio::spawn({
        let (shutdown, stopping) = (shutdown.clone(), state.shutdown.clone());
        async move {
            shutdown.cancelled().await;
            stopping.cancel();
        }
    });
    let config = state.config.clone();
    serve::serve(app(state), listener, &config, shutdown).await
}
