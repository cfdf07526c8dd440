//! The load: an operator enqueuing no-op jobs and simulated robots leasing and
//! completing them, over HTTP exactly as real ones do, but without running anything.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The workflow every job runs: one `log` step (the simulated robots never run it).
pub const WORKFLOW: &str = r#"{"name": "bench-noop", "inputs": {"n": {"type": "integer", "default": 0}}, "steps": [{"action": "log", "message": "{{ inputs.n }}"}]}"#;

/// Largest bulk request the API takes.
pub const BULK: usize = 1_000;

/// How many requests the operator keeps in flight when enqueuing one by one.
const ENQUEUERS: usize = 16;

/// The API of one server, as the operator or as a robot.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// A client for the server at `url`, with room for `connections` at once.
    pub fn new(url: &str, connections: usize) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .tcp_nodelay(true)
            .http1_only()
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Api {
            http,
            base: format!("{url}/api/v1"),
        })
    }

    /// Sends `body` as JSON with `token`: the answer's JSON, `None` for 204, an error
    /// for any other status.
    async fn post(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<Option<Value>> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        answer(path, response).await
    }

    /// Pushes the bench workflow.
    pub async fn push_workflow(&self, token: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/workflows", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(WORKFLOW)
            .send()
            .await?;
        answer("/workflows", response).await.map(|_| ())
    }

    /// Registers `count` robots (64 at a time) and returns their tokens.
    pub async fn register_robots(
        &self,
        token: &str,
        prefix: &str,
        count: usize,
    ) -> anyhow::Result<Vec<String>> {
        let reg = self
            .post(
                token,
                "/robot-tokens",
                &json!({"name": format!("bench {prefix}")}),
            )
            .await?
            .and_then(|v| v["token"].as_str().map(str::to_owned))
            .context("no registration token")?;
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = JoinSet::new();
        for _ in 0..64.min(count) {
            let (api, reg, next, prefix) =
                (self.clone(), reg.clone(), next.clone(), prefix.to_owned());
            workers.spawn(async move {
                let mut tokens = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return anyhow::Ok(tokens);
                    }
                    let robot = api
                        .post(
                            &reg,
                            "/robots/register",
                            &json!({"name": format!("{prefix}-{i}")}),
                        )
                        .await?
                        .and_then(|v| v["token"].as_str().map(str::to_owned))
                        .context("no robot token")?;
                    tokens.push(robot);
                }
            });
        }
        let mut tokens = Vec::with_capacity(count);
        while let Some(done) = workers.join_next().await {
            tokens.extend(done??);
        }
        Ok(tokens)
    }

    /// Creates one job whose input `n` identifies it.
    pub async fn enqueue(&self, token: &str, n: u64) -> anyhow::Result<()> {
        self.post(
            token,
            "/jobs",
            &json!({"workflow": "bench-noop", "inputs": {"n": n}}),
        )
        .await
        .map(|_| ())
    }

    /// Creates the jobs `first..first + count` in one request.
    pub async fn enqueue_bulk(&self, token: &str, first: u64, count: usize) -> anyhow::Result<()> {
        let jobs: Vec<Value> = (first..first + count as u64)
            .map(|n| json!({"inputs": {"n": n}}))
            .collect();
        self.post(
            token,
            "/jobs/bulk",
            &json!({"workflow": "bench-noop", "jobs": jobs}),
        )
        .await
        .map(|_| ())
    }

    /// One lease call: the jobs it got (none after `wait_s`).
    pub async fn lease(&self, robot: &str, wait_s: u64, slots: u32) -> anyhow::Result<Vec<Value>> {
        let got = self
            .post(
                robot,
                "/robot/lease",
                &json!({"wait_s": wait_s, "slots": slots}),
            )
            .await?;
        Ok(got
            .and_then(|mut v| v.get_mut("jobs").map(Value::take))
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    /// Completes a leased job as succeeded.
    pub async fn complete(&self, robot: &str, job: &Value) -> anyhow::Result<()> {
        let path = format!("/robot/jobs/{}/complete", job["job_id"]);
        let body = json!({"lease_token": job["lease_token"], "outcome": "succeeded"});
        self.post(robot, &path, &body).await.map(|_| ())
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        let url = self.base.trim_end_matches("/api/v1").to_owned() + "/metrics";
        Ok(self
            .http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?)
    }
}

async fn answer(path: &str, response: reqwest::Response) -> anyhow::Result<Option<Value>> {
    let status = response.status();
    if status == StatusCode::NO_CONTENT {
        return Ok(None);
    }
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{path}: {status}: {text}");
    }
    Ok(Some(serde_json::from_str(&text)?))
}

/// A value of `/metrics` (the first sample whose name and labels are `name`).
pub fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(' ')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Enqueues `count` jobs one request each, `ENQUEUERS` at a time; returns jobs/s.
pub async fn enqueue_one_by_one(api: &Api, token: &str, count: usize) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..ENQUEUERS {
        let (api, token, next) = (api.clone(), token.to_owned(), next.clone());
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return anyhow::Ok(());
                }
                api.enqueue(&token, n as u64).await?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Enqueues `count` jobs in requests of `BULK`, two at a time; returns jobs/s.
pub async fn enqueue_bulk(api: &Api, token: &str, count: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    bulk_feed(api, token, count).await?;
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

async fn bulk_feed(api: &Api, token: &str, count: usize) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..2 {
        let (api, token, next) = (api.clone(), token.to_owned(), next.clone());
        workers.spawn(async move {
            loop {
                let first = next.fetch_add(BULK, Ordering::Relaxed);
                if first >= count {
                    return anyhow::Ok(());
                }
                api.enqueue_bulk(&token, first as u64, BULK.min(count - first))
                    .await?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(())
}

/// Simulated robots: each leases (`slots` at a time, parking up to 1 s), calls
/// `on_lease` with each job's input `n`, and completes the job, until `stop`.
pub struct Robots {
    stop: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
    /// Jobs completed so far.
    pub completed: Arc<AtomicUsize>,
}

impl Robots {
    /// Starts one task per robot token.
    pub fn start(
        api: &Api,
        tokens: &[String],
        slots: u32,
        on_lease: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> Robots {
        let stop = CancellationToken::new();
        let completed = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        for token in tokens {
            let (api, token, stop, completed, on_lease) = (
                api.clone(),
                token.clone(),
                stop.clone(),
                completed.clone(),
                on_lease.clone(),
            );
            tasks.spawn(async move {
                loop {
                    let jobs = tokio::select! {
                        () = stop.cancelled() => return Ok(()),
                        jobs = api.lease(&token, 1, slots) => jobs?,
                    };
                    for job in &jobs {
                        on_lease(job["inputs"]["n"].as_u64().unwrap_or(u64::MAX));
                    }
                    for job in &jobs {
                        api.complete(&token, job).await?;
                        completed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        Robots {
            stop,
            tasks,
            completed,
        }
    }

    /// Waits until `count` jobs are completed in all; fails when a robot fails or
    /// nothing moves for 60 s.
    pub async fn wait_for(&mut self, count: usize) -> anyhow::Result<()> {
        let mut last = (0, Instant::now());
        while self.completed.load(Ordering::Relaxed) < count {
            if let Some(done) = self.tasks.try_join_next() {
                done??;
                bail!("a simulated robot stopped");
            }
            let now = self.completed.load(Ordering::Relaxed);
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() > Duration::from_secs(60) {
                bail!("stuck: {now} of {count} jobs completed, none for 60 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }

    /// Stops every robot (a parked poll is dropped) and reports the first failure.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        while let Some(done) = self.tasks.join_next().await {
            done??;
        }
        Ok(())
    }
}

/// Drains what is queued (`count` jobs): returns jobs/s.
pub async fn drain_backlog(
    api: &Api,
    robots: &[String],
    slots: u32,
    count: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut fleet = Robots::start(api, robots, slots, Arc::new(|_| {}));
    fleet.wait_for(count).await?;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    fleet.stop().await?;
    Ok(rate)
}

/// Enqueues `count` jobs in bulk while the robots drain them: jobs/s from the first
/// enqueue to the last completion.
pub async fn drain_end_to_end(
    api: &Api,
    token: &str,
    robots: &[String],
    slots: u32,
    count: usize,
) -> anyhow::Result<f64> {
    let mut fleet = Robots::start(api, robots, slots, Arc::new(|_| {}));
    let started = Instant::now();
    bulk_feed(api, token, count).await?;
    fleet.wait_for(count).await?;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    fleet.stop().await?;
    Ok(rate)
}

/// Enqueue-to-lease latencies, in ms, sorted.
pub struct Latencies(pub Vec<f64>);

impl Latencies {
    /// The `q` quantile (0 to 1), nearest rank.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = (q * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }
}

/// Creates jobs one by one at `rate` per second for `duration` (open loop: on a
/// schedule, whatever the answers take), with the robots parked and waiting; each
/// latency runs from just before the job's request is sent to the robot's receipt of
/// the lease answer, on this process's monotonic clock.
pub async fn latency(
    api: &Api,
    token: &str,
    robots: &[String],
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Latencies> {
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let leased: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let on_lease = {
        let leased = leased.clone();
        Arc::new(move |n: u64| {
            let now = Instant::now();
            leased
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(n, now);
        })
    };
    let mut fleet = Robots::start(api, robots, 1, on_lease);
    // Let them park.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = (rate * duration.as_secs_f64()).round().max(1.0) as usize;
    let started = Instant::now();
    let mut requests = JoinSet::new();
    let mut next = 0usize;
    while next < total {
        let due = ((started.elapsed().as_secs_f64() * rate) as usize + 1).min(total);
        while next < due {
            let (api, token, sent) = (api.clone(), token.to_owned(), sent.clone());
            // Far above any id the other phases used, so a straggler cannot be mistaken.
            let n = 1_000_000_000 + next as u64;
            requests.spawn(async move {
                sent.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(n, Instant::now());
                api.enqueue(&token, n).await
            });
            next += 1;
        }
        while let Some(done) = requests.try_join_next() {
            done??;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    while let Some(done) = requests.join_next().await {
        done??;
    }
    fleet.wait_for(total).await?;
    fleet.stop().await?;
    let sent = sent.lock().unwrap_or_else(|e| e.into_inner());
    let leased = leased.lock().unwrap_or_else(|e| e.into_inner());
    let mut ms: Vec<f64> = sent
        .iter()
        .filter_map(|(n, at)| {
            Some(leased.get(n)?.saturating_duration_since(*at).as_secs_f64() * 1e3)
        })
        .collect();
    if ms.len() != total {
        bail!("{} of {total} jobs were leased", ms.len());
    }
    ms.sort_by(f64::total_cmp);
    Ok(Latencies(ms))
}

/// How many robots start their long-poll per 100 ms when parking: 1,000 a second, as
/// 10,000 robots renewing 60 s polls would arrive at about 170 a second.
pub const PARK_PER_TICK: usize = 100;

/// Parks one long-poll (`wait_s` 60) per robot token, `PARK_PER_TICK` every 100 ms,
/// and keeps them parked until `release` is cancelled; returns the tasks.
pub async fn park(
    api: &Api,
    robots: &[String],
    release: &CancellationToken,
) -> JoinSet<anyhow::Result<()>> {
    let mut polls = JoinSet::new();
    for (i, token) in robots.iter().enumerate() {
        if i > 0 && i % PARK_PER_TICK == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (api, token, release) = (api.clone(), token.clone(), release.clone());
        polls.spawn(async move {
            tokio::select! {
                () = release.cancelled() => Ok(()),
                got = api.lease(&token, 60, 1) => match got {
                    Ok(jobs) if jobs.is_empty() => Ok(()),
                    Ok(_) => bail!("a parked robot got a job"),
                    Err(e) => Err(e),
                },
            }
        });
    }
    polls
}
