//! Prometheus metrics: HTTP latency by route template (a middleware), lease wait (fed
//! by the leasing code through [`Metrics::observe_lease_wait`]), and gauges counted from
//! the database when `/metrics` is scraped (jobs by state, queue depth, robots online).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use alq_shared::protocol::JobState;
use strum::VariantArray as _;

use crate::AppState;
use crate::db::{self, Db, DbResult};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 33 s: API calls at the low end, parked long-polls at the high end.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The registry and the metrics the server keeps.
pub struct Metrics {
    registry: Registry,
    http: HistogramFamily<HttpLabels>,
    lease_wait: Histogram,
    jobs: Family<StateLabels, Gauge>,
    queue_depth: Gauge,
    robots_online: Gauge,
    parked: Gauge,
    /// Pooled database connections given back: one per statement or transaction. The
    /// pool counts here; `/metrics` shows `database_uses_shown`.
    pub database_uses: Counter,
    /// `database_uses` as it was when a scrape began, before the scrape's own queries
    /// (whose connections go back to the pool a moment after the answer is written,
    /// so counting them in their own scrape would be a race).
    database_uses_shown: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric, all at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("alq");
        let http: HistogramFamily<HttpLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method, route template and status",
            http.clone(),
        );
        let lease_wait = latency_histogram();
        registry.register(
            "lease_wait_seconds",
            "How long a job waited for a robot: from when it could run (created, or its run_after) to its lease",
            lease_wait.clone(),
        );
        let jobs = Family::<StateLabels, Gauge>::default();
        registry.register("jobs", "Jobs by state, all tenants", jobs.clone());
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Jobs waiting for a robot (state pending), all tenants",
            queue_depth.clone(),
        );
        let robots_online = Gauge::default();
        registry.register(
            "robots_online",
            "Enabled robots seen within three heartbeat intervals, all tenants",
            robots_online.clone(),
        );
        let parked = Gauge::default();
        registry.register(
            "lease_polls_parked",
            "Lease long-polls parked on this replica, waiting for a job",
            parked.clone(),
        );
        let database_uses = Counter::default();
        let database_uses_shown = Counter::default();
        registry.register(
            "database_uses",
            "Database statements and transactions run (each takes a pooled connection and gives it back), up to the start of this scrape; each scrape runs two",
            database_uses_shown.clone(),
        );
        Metrics {
            registry,
            database_uses,
            database_uses_shown,
            http,
            lease_wait,
            jobs,
            queue_depth,
            robots_online,
            parked,
        }
    }

    /// Records how long a job waited to be leased, from when it could run (created, or
    /// its `run_after`) to its lease. The leasing code calls this once per leased job.
    pub fn observe_lease_wait(&self, waited: std::time::Duration) {
        self.lease_wait.observe(waited.as_secs_f64());
    }

    /// Sets how many lease long-polls are parked on this replica.
    pub fn set_parked(&self, parked: i64) {
        self.parked.set(parked);
    }

    /// Records one answered HTTP request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, took: std::time::Duration) {
        self.http
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .observe(took.as_secs_f64());
    }

    /// Counts jobs and robots in the database, then renders everything in the
    /// Prometheus text format.
    pub async fn render(&self, db: &Db, offline_after_ms: i64) -> DbResult<String> {
        let uses = self.database_uses.get();
        self.database_uses_shown
            .inc_by(uses.saturating_sub(self.database_uses_shown.get()));
        let by_state = db::metrics::jobs_by_state(db).await?;
        let online = db::metrics::robots_online(db, db::now_ms() - offline_after_ms).await?;
        // Every state is exported, zero included, so a dashboard's series do not vanish
        // when a state empties.
        for &state in JobState::VARIANTS {
            let count = by_state
                .iter()
                .find(|(s, _)| s == state.as_str())
                .map_or(0, |(_, n)| *n);
            self.jobs
                .get_or_create(&StateLabels {
                    state: state.as_str().to_owned(),
                })
                .set(count);
            if state == JobState::Pending {
                self.queue_depth.set(count);
            }
        }
        self.robots_online.set(online);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        Ok(text)
    }
}

/// Middleware: times every routed request under its route template (`/api/v1/jobs/{id}`,
/// never the raw path, so ids do not explode the series).
pub async fn track_http(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe_http(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
