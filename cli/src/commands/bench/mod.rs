//! `alq bench`: measures the control plane with simulated robots over HTTP doing no-op
//! jobs, against an `alq server` it starts on this machine: enqueue rates, drain rates,
//! enqueue-to-lease latency at half the drain rate, and the server's memory and database
//! work with thousands of parked long-polls.

mod load;
mod server;

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use load::{Api, sample};
use server::{Server, proc_stats};

/// Options of `alq bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Bench on PostgreSQL: a throwaway database is created on this server and dropped
    /// afterwards [default: SQLite in a temporary folder].
    #[arg(long, env = "ALQ_BENCH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Jobs per enqueue and drain measurement.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub jobs: u32,
    /// Simulated robots that drain the jobs.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub robots: u32,
    /// Jobs each simulated robot leases per call.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub slots: u32,
    /// Parked long-polls for the memory and idle check (0 skips it).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub parked: u32,
    /// How long the latency measurement enqueues.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub latency_for: Duration,
    /// How long the idle server is watched with the long-polls parked (under 50 s: the
    /// polls wait 60 s).
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub idle_for: Duration,
    /// How many times each rate and latency is measured; the report gives medians.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub runs: u32,
    /// Keep the server's log in this file [default: a temporary one, removed at the end].
    #[arg(long)]
    pub server_log: Option<std::path::PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Everything measured; medians over the runs, each run's values beside them.
#[derive(Debug, Serialize)]
struct Report {
    database: &'static str,
    jobs: u32,
    robots: u32,
    slots: u32,
    runs: u32,
    /// Jobs/s, one request per job, 16 in flight.
    enqueue_one_by_one: Figure,
    /// Jobs/s, 1,000 per request, 2 in flight.
    enqueue_bulk: Figure,
    /// Jobs/s: the queued jobs leased and completed.
    drain_backlog: Figure,
    /// Jobs/s: enqueued in bulk while the robots lease and complete them.
    drain_end_to_end: Figure,
    /// Jobs/s the latency runs enqueued at: half the end-to-end drain rate.
    latency_rate: f64,
    /// Enqueue-to-lease, ms.
    latency_p50_ms: Figure,
    latency_p99_ms: Figure,
    parked: Option<Parked>,
}

#[derive(Debug, Serialize)]
struct Figure {
    median: f64,
    runs: Vec<f64>,
}

impl Figure {
    fn of(mut runs: Vec<f64>) -> Figure {
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        let median = match sorted.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        runs.iter_mut().for_each(|v| *v = round(*v));
        Figure {
            median: round(median),
            runs,
        }
    }
}

fn round(v: f64) -> f64 {
    if v.abs() >= 100.0 {
        v.round()
    } else {
        (v * 100.0).round() / 100.0
    }
}

/// The parked long-polls check.
#[derive(Debug, Serialize)]
struct Parked {
    polls: u32,
    /// Server RSS after the other measurements, before these robots registered, MiB.
    rss_before_mib: f64,
    /// Server RSS with these robots registered, before they poll, MiB.
    rss_registered_mib: f64,
    /// Server RSS with every poll parked, MiB.
    rss_parked_mib: f64,
    /// Server peak RSS over the whole bench, MiB.
    peak_rss_mib: f64,
    idle_seconds: f64,
    /// Database statements and transactions while idle, the scrapes' own excluded.
    database_uses_idle: f64,
    /// Server CPU while idle, percent of one core.
    idle_cpu_percent: f64,
}

/// Runs the bench; exit 0, 1 when a measurement failed, 2 for bad options.
pub fn run(args: Args) -> u8 {
    if args.idle_for >= Duration::from_secs(50) {
        eprintln!("error: --idle-for must be under 50 s: parked polls wait 60 s");
        return super::EXIT_USAGE;
    }
    if let Some(url) = &args.database_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        eprintln!("error: --database-url must be a postgres:// URL (SQLite is the default)");
        return super::EXIT_USAGE;
    }
    let needed = u64::from(args.parked) + u64::from(args.robots) + 256;
    if let Some(limit) = super::server::raise_open_files_limit()
        && limit < needed
    {
        eprintln!(
            "error: {} parked polls need about {needed} open files, and this process may open {limit}: raise `ulimit -n` or pass a smaller --parked",
            args.parked
        );
        return super::EXIT_USAGE;
    }
    let Some(runtime) = super::runtime(true) else {
        return super::EXIT_FAILED;
    };
    match runtime.block_on(bench(&args)) {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print_report(&report);
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            super::EXIT_FAILED
        }
    }
}

fn say(message: &str) {
    eprintln!("==> {message}");
}

async fn bench(args: &Args) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    say("starting alq server");
    let log = match &args.server_log {
        Some(path) => path.clone(),
        None => dir.path().join("server.log"),
    };
    let server = Server::start(dir.path(), &log, args.database_url.as_deref()).await?;
    let result = measure(args, &server).await;
    say("stopping alq server");
    server.stop().await;
    if result.is_err() {
        // What the server said last is most often why.
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        eprintln!("The server's last log lines:");
        for line in &lines[lines.len().saturating_sub(20)..] {
            eprintln!("    {line}");
        }
    }
    result
}

async fn measure(args: &Args, server: &Server) -> anyhow::Result<Report> {
    let connections = (args.parked + args.robots) as usize + 64;
    let api = Api::new(&server.url, connections)?;
    let admin = &server.token;
    let jobs = args.jobs as usize;
    api.push_workflow(admin).await?;
    say(&format!("registering {} robots", args.robots));
    let robots = api
        .register_robots(admin, "drain", args.robots as usize)
        .await?;

    let mut one_by_one = Vec::new();
    let mut bulk = Vec::new();
    let mut backlog = Vec::new();
    let mut end_to_end = Vec::new();
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    let mut latency_rate = 0.0;
    for run in 1..=args.runs {
        let tag = format!("run {run}/{}", args.runs);
        say(&format!("{tag}: enqueue {jobs} jobs one by one"));
        one_by_one.push(load::enqueue_one_by_one(&api, admin, jobs).await?);
        say(&format!("{tag}: enqueue {jobs} jobs in bulk"));
        bulk.push(load::enqueue_bulk(&api, admin, jobs).await?);
        say(&format!("{tag}: drain the {} queued jobs", 2 * jobs));
        backlog.push(load::drain_backlog(&api, &robots, args.slots, 2 * jobs).await?);
        say(&format!("{tag}: enqueue and drain {jobs} jobs"));
        let drain = load::drain_end_to_end(&api, admin, &robots, args.slots, jobs).await?;
        end_to_end.push(drain);
        // Half the drain rate, and never more than half what one-by-one enqueuing can
        // do, or the operator would be the bottleneck.
        let rate = (drain / 2.0).min(one_by_one[one_by_one.len() - 1] / 2.0);
        latency_rate = rate;
        say(&format!(
            "{tag}: enqueue-to-lease latency at {rate:.0} jobs/s for {}",
            humantime::format_duration(args.latency_for)
        ));
        let latencies = load::latency(&api, admin, &robots, rate, args.latency_for).await?;
        p50.push(latencies.quantile(0.50));
        p99.push(latencies.quantile(0.99));
    }

    let parked = if args.parked > 0 {
        Some(park(args, &api, server).await?)
    } else {
        None
    };
    Ok(Report {
        database: if args.database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        jobs: args.jobs,
        robots: args.robots,
        slots: args.slots,
        runs: args.runs,
        enqueue_one_by_one: Figure::of(one_by_one),
        enqueue_bulk: Figure::of(bulk),
        drain_backlog: Figure::of(backlog),
        drain_end_to_end: Figure::of(end_to_end),
        latency_rate: round(latency_rate),
        latency_p50_ms: Figure::of(p50),
        latency_p99_ms: Figure::of(p99),
        parked,
    })
}

async fn park(args: &Args, api: &Api, server: &Server) -> anyhow::Result<Parked> {
    let admin = &server.token;
    let before = proc_stats(server.pid());
    let count = args.parked as usize;
    say(&format!("registering {count} robots to park"));
    let robots = api.register_robots(admin, "parked", count).await?;
    let registered = proc_stats(server.pid());
    say(&format!("parking {count} long-polls"));
    let release = CancellationToken::new();
    let mut polls = load::park(api, &robots, &release).await;
    let parked_by = Instant::now() + Duration::from_secs(60);
    loop {
        let metrics = api.metrics().await?;
        if sample(&metrics, "alq_lease_polls_parked") == Some(f64::from(args.parked)) {
            break;
        }
        if let Some(done) = polls.try_join_next() {
            done??;
            anyhow::bail!("a parked poll ended early");
        }
        if Instant::now() > parked_by {
            anyhow::bail!("the polls did not all park within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The last polls to park may still be claiming (a poll parks, then claims), and
    // the sweep may look once more after the last measurement's jobs: let both settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Two scrapes tell what a scrape itself costs. Each shows the count as of its
    // start; its own statements give their connections back to the pool a moment
    // after it answers, so each scrape is followed by a pause before the next one.
    let uses = |text: &str| sample(text, "alq_database_uses_total").unwrap_or(f64::NAN);
    let settle = Duration::from_millis(500);
    let first = uses(&api.metrics().await?);
    tokio::time::sleep(settle).await;
    let start = uses(&api.metrics().await?);
    tokio::time::sleep(settle).await;
    let per_scrape = start - first;
    let cpu_start = proc_stats(server.pid());
    let started = Instant::now();
    say(&format!(
        "watching the idle server for {}",
        humantime::format_duration(args.idle_for)
    ));
    tokio::time::sleep(args.idle_for).await;
    let cpu_end = proc_stats(server.pid());
    let idle = started.elapsed();
    let end = uses(&api.metrics().await?);
    let parked = proc_stats(server.pid());
    if let Some(done) = polls.try_join_next() {
        done??;
        anyhow::bail!("a parked poll ended while the server was idle");
    }
    release.cancel();
    while let Some(done) = polls.join_next().await {
        done??;
    }
    let mib = |bytes: u64| round(bytes as f64 / (1024.0 * 1024.0));
    let cpu = cpu_end.cpu.saturating_sub(cpu_start.cpu);
    Ok(Parked {
        polls: args.parked,
        rss_before_mib: mib(before.rss),
        rss_registered_mib: mib(registered.rss),
        rss_parked_mib: mib(parked.rss),
        peak_rss_mib: mib(parked.peak_rss),
        idle_seconds: round(idle.as_secs_f64()),
        database_uses_idle: end - start - per_scrape,
        idle_cpu_percent: round(100.0 * cpu.as_secs_f64() / idle.as_secs_f64()),
    })
}

fn print_report(report: &Report) {
    let line = |what: &str, figure: &Figure, unit: &str| {
        let runs: Vec<String> = figure.runs.iter().map(|v| format!("{v}")).collect();
        println!(
            "{what:<36} {:>10} {unit:<7} (runs: {})",
            figure.median,
            runs.join(", ")
        );
    };
    println!(
        "alq bench on {}: {} jobs per measurement, {} robots x {} slot(s), medians of {} run(s)\n",
        report.database, report.jobs, report.robots, report.slots, report.runs
    );
    line(
        "enqueue, one job per request",
        &report.enqueue_one_by_one,
        "jobs/s",
    );
    line(
        "enqueue, 1,000 jobs per request",
        &report.enqueue_bulk,
        "jobs/s",
    );
    line(
        "drain a backlog (lease + complete)",
        &report.drain_backlog,
        "jobs/s",
    );
    line(
        "drain end to end (enqueue too)",
        &report.drain_end_to_end,
        "jobs/s",
    );
    println!("enqueue-to-lease at {} jobs/s:", report.latency_rate);
    line("  p50", &report.latency_p50_ms, "ms");
    line("  p99", &report.latency_p99_ms, "ms");
    if let Some(parked) = &report.parked {
        println!("\n{} parked long-polls:", parked.polls);
        println!(
            "  server RSS before the robots      {:>10} MiB",
            parked.rss_before_mib
        );
        println!(
            "  server RSS, robots registered     {:>10} MiB",
            parked.rss_registered_mib
        );
        println!(
            "  server RSS with all parked        {:>10} MiB",
            parked.rss_parked_mib
        );
        println!(
            "  server peak RSS                   {:>10} MiB",
            parked.peak_rss_mib
        );
        println!(
            "  database statements in {:>4} s idle {:>9}",
            parked.idle_seconds, parked.database_uses_idle
        );
        println!(
            "  server CPU while idle             {:>10} % of a core",
            parked.idle_cpu_percent
        );
    }
}
