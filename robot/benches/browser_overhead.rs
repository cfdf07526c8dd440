//! What alq's browser layer costs per step: a 50-step workflow (open, then type, click and
//! extract in turn) on a local page, run through the engine, against the same WebDriver
//! commands sent directly through thirtyfour (find + send_keys / click / text), in the
//! same process, alternating, several runs; medians.
//!
//! `cargo bench -p alq-robot --bench browser_overhead` (`ALQ_BENCH_RUNS=N` for more runs).
//! Screenshots are off in the engine: they are a feature, not overhead, and are measured
//! separately (`--screenshots each_step` adds one screenshot per step).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alq_robot::engine::{RunOptions, run};
use alq_shared::events::RunEvent;
use alq_shared::workflow::{ScreenshotPolicy, load_str};
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::json;
use thirtyfour::prelude::*;

const STEPS: usize = 49;

const PAGE: &str = r#"<!doctype html><title>Bench</title>
<input id="q"><button id="go" onclick="out.textContent = 'Got ' + q.value; q.value = ''">Go</button>
<p id="out"></p>"#;

/// The step after `browser.open` number `i`: type, click, extract in turn.
fn step(i: usize) -> (&'static str, serde_json::Value) {
    match i % 3 {
        0 => (
            "type",
            json!({"action": "browser.type", "selector": "#q", "text": format!("v{i}")}),
        ),
        1 => (
            "click",
            json!({"action": "browser.click", "selector": "#go"}),
        ),
        _ => (
            "extract",
            json!({"action": "browser.extract", "selector": "#out"}),
        ),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}

async fn bench() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(chromedriver) = find("ALQ_CHROMEDRIVER", "chromedriver") else {
        eprintln!("skipped: chromedriver is not installed");
        return Ok(());
    };
    let runs: usize = std::env::var("ALQ_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    let app = Router::new().route("/", get(|| async { Html(PAGE) }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut steps = vec![json!({"action": "browser.open", "url": url})];
    steps.extend((0..STEPS).map(|i| step(i).1));
    let workflow = json!({"name": "bench", "defaults": {"timeout_ms": 10000}, "steps": steps});
    let dir = tempfile::tempdir()?;
    let loaded = load_str(&dir.path().join("bench.json"), &workflow.to_string())?;

    let direct = Direct::start(&chromedriver).await?;
    let mut engine_step = Vec::new();
    let mut direct_step = Vec::new();
    let mut by_kind: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in 0..runs {
        // The engine: per-step times from its own events; the first step (open) also
        // starts the browser and is left out.
        let mut options = RunOptions::new(dir.path().join(format!("run-{r}")));
        options.screenshots = Some(ScreenshotPolicy::Never);
        let outcome = run(&loaded, options).await?;
        let mut started = BTreeMap::new();
        let mut finished = Vec::new();
        for event in &outcome.events {
            match event {
                RunEvent::StepStarted { seq, at, .. } => {
                    started.insert(*seq, *at);
                }
                RunEvent::StepFinished { seq, at, .. } => finished.push((*seq, *at)),
                _ => {}
            }
        }
        let first_done = finished
            .iter()
            .find(|(seq, _)| *seq == 1)
            .map(|(_, at)| *at)
            .ok_or("no open")?;
        let last_done = finished.last().map(|(_, at)| *at).ok_or("no steps")?;
        engine_step.push(ms(last_done - first_done) / STEPS as f64);
        for (seq, at) in &finished {
            if *seq >= 2 {
                let kind = step(*seq as usize - 2).0;
                by_kind
                    .entry(kind)
                    .or_default()
                    .0
                    .push(ms(*at - started[seq]));
            }
        }

        // The same commands, sent directly.
        direct.driver.goto(&url).await?;
        let all = Instant::now();
        for i in 0..STEPS {
            let t = Instant::now();
            match step(i).0 {
                "type" => {
                    direct
                        .driver
                        .find(By::Css("#q"))
                        .await?
                        .send_keys(format!("v{i}"))
                        .await?
                }
                "click" => direct.driver.find(By::Css("#go")).await?.click().await?,
                _ => drop(direct.driver.find(By::Css("#out")).await?.text().await?),
            }
            by_kind
                .entry(step(i).0)
                .or_default()
                .1
                .push(t.elapsed().as_secs_f64() * 1000.0);
        }
        direct_step.push(all.elapsed().as_secs_f64() * 1000.0 / STEPS as f64);
        println!(
            "run {}: engine {:.1} ms/step, direct {:.1} ms/step",
            r + 1,
            engine_step[r],
            direct_step[r]
        );
    }
    direct.stop().await;

    println!("\nmedians over {runs} runs of {STEPS} steps (ms per step)");
    println!("{:<10} {:>8} {:>8} {:>7}", "step", "alq", "direct", "ratio");
    for (kind, (alq, raw)) in &mut by_kind {
        let (a, d) = (median(alq), median(raw));
        println!("{kind:<10} {a:>8.1} {d:>8.1} {:>7.2}", a / d);
    }
    let (a, d) = (median(&mut engine_step), median(&mut direct_step));
    println!("{:<10} {a:>8.1} {d:>8.1} {:>7.2}", "all", a / d);
    println!("(alq's `all` includes the engine between steps: expressions, events, the run log)");
    Ok(())
}

fn ms(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or_default() as f64 / 1000.0
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn find(var: &str, name: &str) -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        return Some(path.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A chromedriver and session started the plain thirtyfour way, with alq's Chromium flags.
struct Direct {
    child: std::process::Child,
    driver: WebDriver,
    /// Chromium's `TMPDIR`, so its scratch folders go away with it.
    _tmp: tempfile::TempDir,
}

impl Direct {
    async fn start(chromedriver: &std::path::Path) -> Result<Direct, Box<dyn std::error::Error>> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let tmp = tempfile::tempdir()?;
        let child = std::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let mut caps = DesiredCapabilities::chrome();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
        ] {
            caps.add_arg(arg)?;
        }
        let started = Instant::now();
        loop {
            match WebDriver::new(format!("http://127.0.0.1:{port}"), caps.clone()).await {
                Ok(driver) => {
                    return Ok(Direct {
                        child,
                        driver,
                        _tmp: tmp,
                    });
                }
                Err(_) if started.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn stop(mut self) {
        let _ = self.driver.quit().await;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
