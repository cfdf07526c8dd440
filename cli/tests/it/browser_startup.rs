//! Starting the browser has its own budget (`browser.startup_timeout_ms`, the
//! `--browser-startup-timeout` flag), not the first step's `timeout_ms`: a chromedriver
//! slowed on purpose by a wrapper script that sleeps before it starts the real one.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Run, Workspace, events, have_chromedriver};
use crate::robot_agent::{Robot, job, setup, wait_state};
use crate::site;

/// How long the wrapper sleeps before it starts chromedriver: beyond the step timeout
/// of the workflows below with its grace (10 s + 2 s), within the default start-up
/// budget (60 s). The step timeout is not shorter because the first page of a fresh
/// Chromium on a loaded machine can take seconds: the test must not depend on speed.
const SLEEP_S: u64 = 13;
/// The `timeout_ms` of every step of [`workflow`].
const STEP_TIMEOUT_MS: u64 = 10_000;

/// The real chromedriver, as the tests find it.
fn real_chromedriver() -> PathBuf {
    if let Some(path) = std::env::var_os("ALQ_CHROMEDRIVER") {
        return path.into();
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
        .unwrap()
}

/// A chromedriver that says it is slow on stderr, sleeps, then becomes the real one.
fn slow_chromedriver(ws: &Workspace) -> PathBuf {
    let path = ws.write(
        "slow-chromedriver",
        &format!(
            "#!/bin/sh\necho 'slow-chromedriver: sleeping {SLEEP_S} s' >&2\nsleep {SLEEP_S}\nexec '{}' \"$@\"\n",
            real_chromedriver().display()
        ),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// A workflow whose steps each have [`STEP_TIMEOUT_MS`]: open the form, read its heading.
fn workflow(site: std::net::SocketAddr, browser: &str) -> String {
    format!(
        r#"{{"name": "slow-start", "defaults": {{"timeout_ms": {STEP_TIMEOUT_MS}}}, "browser": {{{browser}}},
  "steps": [
    {{"action": "browser.open", "url": "http://{site}/form"}},
    {{"id": "title", "action": "browser.extract", "selector": "h1"}}
  ]}}"#
    )
}

/// `alq run ARGS` in the workspace with the slow chromedriver.
fn run_slow(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_alq"));
    command
        .args(args)
        .current_dir(ws.path())
        .env_remove("RUST_LOG")
        .env_remove("ALQ_BROWSER_STARTUP_TIMEOUT")
        .env("ALQ_CHROMEDRIVER", slow_chromedriver(ws));
    for (key, value) in env {
        command.env(key, value);
    }
    Run::from(command.output().unwrap())
}

fn browser_started(events: &[Value]) -> Option<&Value> {
    events.iter().find(|e| e["event"] == "browser_started")
}

/// The failure of the run in `run_dir`, from its `run_finished` event.
fn run_error(run_dir: &Path) -> String {
    let events = events(run_dir);
    let finished = events
        .iter()
        .find(|e| e["event"] == "run_finished")
        .unwrap();
    finished["error"]["message"].as_str().unwrap().to_owned()
}

#[test]
fn a_slow_browser_start_does_not_eat_the_first_steps_timeout() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let ws = Workspace::new();
    ws.write("wf.json", &workflow(site, ""));
    let run = run_slow(&ws, &["run", "wf.json"], &[]);
    run.expect_code(0)
        .stderr_has(&["browser started in", "(start-up budget 1m 0s)"]);
    let run_dir = ws.run_dir();
    let events = events(&run_dir);
    let started = browser_started(&events).expect("a browser_started event");
    assert_eq!(started["seq"], 1, "the first browser.open started it");
    assert_eq!(started["startup_timeout_ms"], 60_000, "the default budget");
    assert!(
        started["duration_ms"].as_u64().unwrap() >= SLEEP_S * 1000,
        "the start took the wrapper's sleep: {started}"
    );
    let report = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(report.contains("<dt>Browser start</dt>"), "report header");
    assert!(
        report.contains("browser started in") && report.contains("(start-up budget 1 min 00 s)"),
        "the report shows the start under its step"
    );
}

#[test]
fn a_start_up_budget_shorter_than_the_start_fails_naming_what_and_how_to_raise_it() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let ws = Workspace::new();
    ws.write("wf.json", &workflow(site, r#""startup_timeout_ms": 1000"#));
    let run = run_slow(&ws, &["run", "wf.json"], &[]);
    run.expect_code(1);
    let wrapper = ws.path().join("slow-chromedriver");
    let message = run_error(&ws.run_dir());
    for piece in [
        "step #1 (steps[0], browser.open",
        "starting the browser timed out after 1s (the start-up budget)",
        &format!("started chromedriver {}", wrapper.display()),
        "Chromium",
        "`browser.startup_timeout_ms`",
        "`--browser-startup-timeout`",
        &format!("chromedriver's stderr ended with: \"slow-chromedriver: sleeping {SLEEP_S} s\""),
    ] {
        assert!(message.contains(piece), "{piece:?} in {message}");
    }
    run.stderr_has(&["starting the browser timed out after 1s"]);
    let events = events(&ws.run_dir());
    assert!(browser_started(&events).is_none(), "{events:#?}");
    assert!(
        !events.iter().any(|e| e["seq"] == 2),
        "no step runs after the failed start"
    );
}

#[test]
fn the_flag_and_its_variable_override_the_workflows_budget() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    // The workflow's budget is too short for this machine; the machine's setting wins.
    let ws = Workspace::new();
    ws.write("wf.json", &workflow(site, r#""startup_timeout_ms": 1000"#));
    run_slow(
        &ws,
        &["run", "wf.json", "--browser-startup-timeout", "45s"],
        &[],
    )
    .expect_code(0);
    let events = events(&ws.run_dir());
    let started = browser_started(&events).expect("a browser_started event");
    assert_eq!(started["startup_timeout_ms"], 45_000);

    // And the other way: a workflow that leaves room, a machine that says less.
    let ws = Workspace::new();
    ws.write("wf.json", &workflow(site, ""));
    let run = run_slow(
        &ws,
        &["run", "wf.json"],
        &[("ALQ_BROWSER_STARTUP_TIMEOUT", "1500")],
    );
    run.expect_code(1)
        .stderr_has(&["starting the browser timed out after 1.5s"]);
}

#[test]
fn bad_start_up_budgets_are_refused_with_a_clear_error() {
    let ws = Workspace::new();
    for (value, expected) in [
        ("0", "browser.startup_timeout_ms: must be more than 0"),
        (
            "6000000",
            "browser.startup_timeout_ms: 6000000 ms is more than the limit of 600000",
        ),
        (
            "-5",
            "browser.startup_timeout_ms: invalid value: integer `-5`",
        ),
        (
            "\"soon\"",
            "browser.startup_timeout_ms: invalid type: string \"soon\"",
        ),
    ] {
        ws.write(
            "wf.json",
            &format!(
                r#"{{"name": "x", "browser": {{"startup_timeout_ms": {value}}}, "steps": [{{"action": "log", "message": "hi"}}]}}"#
            ),
        );
        ws.alq(&["validate", "wf.json"])
            .expect_code(2)
            .stderr_has(&[expected]);
    }
    ws.write(
        "ok.json",
        r#"{"name": "x", "steps": [{"action": "log", "message": "hi"}]}"#,
    );
    for (value, expected) in [
        ("0", "must be more than 0"),
        ("-5", "must be more than 0"),
        ("soon", "not a duration"),
        ("11m", "660000 ms is more than the limit of 600000"),
        ("99999999999999999999", "not a duration"),
    ] {
        for command in [
            &["run", "ok.json", "--browser-startup-timeout", value][..],
            &["robot", "run", "--browser-startup-timeout", value][..],
        ] {
            let run = ws.alq(command);
            run.expect_code(2).stderr_has(&[
                &format!("invalid value '{value}' for '--browser-startup-timeout <DURATION>'"),
                expected,
            ]);
        }
    }
    assert!(!ws.path().join("runs").exists(), "nothing ran");
    // Editors learn the limits from the schema.
    let schema: Value = serde_json::from_str(&ws.alq(&["schema"]).expect_code(0).stdout).unwrap();
    let field = &schema["$defs"]["BrowserConfig"]["properties"]["startup_timeout_ms"];
    assert_eq!(field["minimum"], 1, "{field}");
    assert_eq!(field["maximum"], 600_000, "{field}");
    assert_eq!(field["default"], 60_000, "{field}");
}

#[cfg(unix)]
#[test]
fn a_chromedriver_that_exits_at_start_is_named_with_its_last_words() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new();
    let broken = ws.write(
        "broken-chromedriver",
        "#!/bin/sh\necho 'broken-chromedriver: cannot bind' >&2\nexit 3\n",
    );
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [{"action": "browser.open", "url": "about:blank"}]}"#,
    );
    let output = Command::new(env!("CARGO_BIN_EXE_alq"))
        .args(["run", "wf.json"])
        .current_dir(ws.path())
        .env("ALQ_CHROMEDRIVER", &broken)
        .output()
        .unwrap();
    let run = Run::from(output);
    run.expect_code(1);
    let message = run_error(&ws.run_dir());
    for piece in [
        "starting the browser failed: chromedriver exited at start (exit status: 3)",
        &format!("started chromedriver {}", broken.display()),
        "chromedriver's stderr ended with: \"broken-chromedriver: cannot bind\"",
    ] {
        assert!(message.contains(piece), "{piece:?} in {message}");
    }
}

#[test]
fn a_navigation_that_runs_out_of_time_names_the_phase() {
    if !have_chromedriver() {
        return;
    }
    // A port that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        &format!(
            r#"{{"name": "nav", "steps": [{{"action": "browser.open", "url": "{url}", "timeout_ms": 1000}}]}}"#
        ),
    );
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(1);
    let message = run_error(&ws.run_dir());
    assert!(
        message.contains(&format!("opening {url} timed out after 1s navigating"))
            || message.contains("timed out after 1s (navigating)"),
        "{message}"
    );
    drop(listener);
}

#[test]
fn a_robots_start_up_budget_overrides_the_workflows() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let server = crate::common::control_plane::Server::start_configured(crate::robot_agent::quick);
    // The workflow leaves the default minute; the robot says a millisecond, which no
    // browser start can meet: the job fails with the robot's budget in its message.
    let (admin, token) = setup(&server, &workflow(site, ""));
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    robot.start(&["--browser-startup-timeout", "1ms"]);
    let created = admin.json(&["job", "start", "slow-start", "--max-attempts", "1"]);
    let id = created["id"].to_string().trim_matches('"').to_owned();
    let done = wait_state(&admin, &id, "dead", Duration::from_secs(60), &robot);
    let message = done["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("starting the browser timed out after 1ms"),
        "{done}"
    );
    assert_eq!(job(&admin, &id)["state"], "dead");
    assert_eq!(robot.stop(), 0, "{}", robot.log());
}
