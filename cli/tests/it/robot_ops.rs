//! A robot as operators live with it, against a real control plane: a stopped robot is
//! offline at once, a cancel reaches it at once, a job's screenshots and report come
//! back with `alq job artifacts|report`, and job folders live in the data folder and
//! are pruned.

#![allow(clippy::unwrap_used, clippy::zombie_processes)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::control_plane::{HELLO, Server, User};
use crate::common::{Run, have_chromedriver};
use crate::robot_agent::{Robot, api, form_workflow, job, quick, setup, start_job, wait_state};
use crate::site;

/// Heartbeats ten minutes apart (so a robot stays `online` half an hour after its last
/// call): what a robot hears only through its next heartbeat takes up to ten minutes.
fn rare_heartbeats(config: &mut alq_control_plane::Config) {
    quick(config);
    config.heartbeat_interval_ms = 600_000;
    config.lease_ttl_ms = 1_800_000;
}

/// A job that sleeps half an hour between two log steps.
const SLEEPY: &str = r#"{"name": "sleepy", "steps": [
  {"action": "log", "message": "going to sleep"},
  {"action": "sleep", "ms": 1800000},
  {"action": "log", "message": "woke up"}
]}"#;

/// The events of a job's attempts, oldest first.
fn events(server: &Server, id: &str) -> Vec<Value> {
    api(server, None, &format!("jobs/{id}/events"))["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn wait_until(what: &str, robot: &Robot, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never: {what}\nrobot log:\n{}",
            robot.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The robot named `name` as `alq robot list --json` shows it.
fn listed(admin: &User, name: &str) -> Value {
    let robots = admin.json(&["robot", "list"]);
    robots
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no robot {name}: {robots}"))
}

fn push(admin: &User, file: &str, source: &str) {
    admin.ws.write(file, source);
    admin.alq(&["workflow", "push", file]).expect_code(0);
}

#[test]
fn a_robot_stopped_with_sigterm_hands_its_job_back_and_is_offline_at_once() {
    let server = Server::start_configured(rare_heartbeats);
    let (admin, token) = setup(&server, SLEEPY);
    let mut robot = Robot::new();
    robot
        .register(&server.url, &token, &["--name", "leaving"])
        .expect_code(0);
    robot.start(&["--grace", "1s"]);
    let id = start_job(&admin, "sleepy");
    wait_until("the robot runs the job", &robot, || {
        listed(&admin, "leaving")["status"] == "busy"
    });
    assert_eq!(robot.stop(), 0, "{}", robot.log());

    // Half an hour of heartbeat window is left, yet it is offline: it said goodbye.
    let gone = listed(&admin, "leaving");
    assert_eq!(gone["status"], "offline", "{gone}\n{}", robot.log());
    assert!(gone["stopped_at"].as_i64().is_some(), "{gone}");
    assert!(
        robot.log().contains("Told the server this robot stops."),
        "{}",
        robot.log()
    );
    // Its job was handed back before: pending again, to run on another robot.
    let handed_back = job(&admin, &id);
    assert_eq!(handed_back["state"], "pending", "{handed_back}");
    assert!(
        handed_back["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the robot was stopped before the job finished"),
        "{handed_back}"
    );

    // Started again, it is back.
    robot.start(&["--grace", "1s"]);
    wait_until("the robot is back", &robot, || {
        let back = listed(&admin, "leaving");
        back["status"] != "offline" && back["stopped_at"].is_null()
    });
    assert_eq!(robot.stop(), 0, "{}", robot.log());
}

#[test]
fn a_cancel_reaches_the_robot_at_once_though_heartbeats_are_ten_minutes_apart() {
    let server = Server::start_configured(rare_heartbeats);
    let (admin, token) = setup(&server, SLEEPY);
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    robot.start(&[]);
    let id = start_job(&admin, "sleepy");
    wait_until("the sleep step starts", &robot, || {
        events(&server, &id)
            .iter()
            .any(|e| e["event"]["event"] == "step_started" && e["event"]["action"] == "sleep")
    });
    admin
        .alq(&["job", "cancel", &id])
        .expect_code(0)
        .stdout_has(&["cancel requested"]);
    // The next heartbeat is ten minutes away and the sleep half an hour: only the held
    // heartbeat, answered by the cancel, can end the job now. The wait is a hang guard.
    wait_state(&admin, &id, "cancelled", Duration::from_secs(180), &robot);
    let events = events(&server, &id);
    let sleep_seq = events
        .iter()
        .find(|e| e["event"]["event"] == "step_started" && e["event"]["action"] == "sleep")
        .map(|e| e["event"]["seq"].clone())
        .unwrap();
    let sleep_end = events
        .iter()
        .find(|e| e["event"]["event"] == "step_finished" && e["event"]["seq"] == sleep_seq)
        .unwrap_or_else(|| panic!("the sleep step never ended: {events:?}"));
    assert_eq!(sleep_end["event"]["status"], "cancelled", "{sleep_end}");
    let started: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"]["event"] == "step_started")
        .collect();
    assert_eq!(started.len(), 2, "the last step never started: {started:?}");
    assert_eq!(
        events.last().unwrap()["event"]["status"],
        "cancelled",
        "{events:?}"
    );
    assert!(robot.log().contains("Cancel requested"), "{}", robot.log());
    assert_eq!(robot.stop(), 0, "{}", robot.log());
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A user of another tenant, with an admin token there.
fn other_tenant_user(server: &Server) -> User {
    let system = User::logged_in(server);
    let tenant = system.json(&["tenant", "create", "elsewhere"]);
    let tenant_id = tenant["id"].as_str().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let token: Value = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            reqwest::Client::new()
                .post(format!("{}/api/v1/tenants/{tenant_id}/tokens", server.url))
                .bearer_auth(&server.admin_token)
                .json(&json!({"name": "their admin", "role": "admin"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
    User::logged_in_with(server, token["token"].as_str().unwrap())
}

#[test]
fn job_artifacts_and_job_report_bring_back_what_the_robot_reported() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let server = Server::start_configured(quick);
    let (admin, token) = setup(
        &server,
        &form_workflow("order", &format!("http://{site}/form"), ""),
    );
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    robot.start(&[]);
    let id = start_job(&admin, "order");
    wait_state(&admin, &id, "succeeded", Duration::from_secs(60), &robot);

    // Every artifact, under its name, with its bytes.
    let listed = api(&server, None, &format!("jobs/{id}/artifacts"));
    let listed = listed["items"].as_array().unwrap();
    assert!(!listed.is_empty());
    let out = admin.ws.path().join("files");
    admin
        .alq(&["job", "artifacts", &id, "--out", out.to_str().unwrap()])
        .expect_code(0)
        .stdout_has(&[&format!("Saved {} artifact(s) of job {id}", listed.len())]);
    let mut saved: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    saved.sort();
    let mut names: Vec<String> = listed
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(saved, names);
    for artifact in listed {
        let name = artifact["name"].as_str().unwrap();
        assert!(
            name.starts_with("step-00") && name.ends_with(".png"),
            "{name}"
        );
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert_eq!(sha256_hex(&bytes), artifact["sha256"], "{name}");
    }
    let again = admin.json(&["job", "artifacts", &id, "--out", out.to_str().unwrap()]);
    assert_eq!(again["files"].as_array().unwrap().len(), listed.len());

    // The report: every step, every screenshot embedded, next to the files.
    let report = out.join("report.html");
    admin
        .alq(&["job", "report", &id, "--out", report.to_str().unwrap()])
        .expect_code(0)
        .stdout_has(&["Wrote the report of job", "succeeded", "attempt 1"]);
    let html = std::fs::read_to_string(&report).unwrap();
    for piece in [
        "order",
        "browser.open",
        "browser.type",
        "browser.click",
        "browser.extract",
        "st-succeeded",
    ] {
        assert!(html.contains(piece), "the report lacks {piece}");
    }
    assert_eq!(
        html.matches("<img src=\"data:image/png;base64,").count(),
        4,
        "one embedded screenshot per browser step"
    );
    for name in &names {
        assert!(html.contains(&format!("href=\"{name}\"")), "{name}");
    }
    // The default file is in the current folder.
    let summary = admin.json(&["job", "report", &id]);
    assert_eq!(summary["screenshots"], 4, "{summary}");
    assert!(
        admin
            .ws
            .path()
            .join(format!("job-{id}-report.html"))
            .exists()
    );

    // A job that does not exist, or another tenant's: a clear error, exit 1.
    let nowhere = admin.ws.path().join("nowhere");
    admin
        .alq(&[
            "job",
            "artifacts",
            "999999",
            "--out",
            nowhere.to_str().unwrap(),
        ])
        .expect_code(1)
        .stderr_has(&["no job `999999` in this tenant"]);
    assert!(!nowhere.exists(), "nothing is made for a missing job");
    admin
        .alq(&["job", "report", "abc"])
        .expect_code(1)
        .stderr_has(&["no job `abc` in this tenant"]);
    let other = other_tenant_user(&server);
    other
        .alq(&["job", "artifacts", &id, "--out", nowhere.to_str().unwrap()])
        .expect_code(1)
        .stderr_has(&[&format!("no job `{id}` in this tenant")]);
    other
        .alq(&["job", "report", &id])
        .expect_code(1)
        .stderr_has(&[&format!("no job `{id}` in this tenant")]);
    assert!(!nowhere.exists());
    assert_eq!(robot.stop(), 0, "{}", robot.log());
}

#[test]
fn a_job_without_events_has_no_report() {
    let server = Server::start();
    let admin = User::logged_in(&server);
    push(&admin, "hello.json", HELLO);
    let id = start_job(&admin, "hello");
    admin
        .alq(&["job", "report", &id])
        .expect_code(1)
        .stderr_has(&["has no step events yet"]);
    admin
        .alq(&["job", "artifacts", &id, "--out", "none"])
        .expect_code(0)
        .stdout_has(&["has no artifacts"]);
}

/// The robot without `ALQ_ROBOT_DIR`: its folders come from the XDG variables, as
/// `directories` reads them on Linux.
fn os_folders(robot: &Robot, command: &mut Command) -> (PathBuf, PathBuf) {
    let (config, data) = (
        robot.path().join("xdg-config"),
        robot.path().join("xdg-data"),
    );
    command
        .env_remove("ALQ_ROBOT_DIR")
        .env_remove("ALQ_ROBOT_DATA_DIR")
        .env("XDG_CONFIG_HOME", &config)
        .env("XDG_DATA_HOME", &data);
    (config.join("alq/robot"), data.join("alq/robot"))
}

fn jobs_in(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data.join("jobs"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn job_folders_live_in_the_data_folder_and_are_pruned_but_never_while_running() {
    let server = Server::start_configured(quick);
    let (admin, token) = setup(&server, SLEEPY);
    push(&admin, "hello.json", HELLO);
    let mut robot = Robot::new();
    let mut register =
        robot.command(&["robot", "register", "--url", &server.url, "--token", &token]);
    let (config, data) = os_folders(&robot, &mut register);
    Run::from(register.output().unwrap()).expect_code(0);
    assert!(config.join("robot.json").exists());
    let mut status = robot.command(&["robot", "status", "--json"]);
    os_folders(&robot, &mut status);
    let status = Run::from(status.output().unwrap());
    status.expect_code(0);
    assert_eq!(status.json()["dir"], config.to_str().unwrap());
    assert_eq!(status.json()["data_dir"], data.to_str().unwrap());

    let log = std::fs::File::create(robot.log_path()).unwrap();
    let mut run = robot.command(&["robot", "run", "--slots", "2", "--keep-job-folders", "0"]);
    os_folders(&robot, &mut run);
    robot.child = Some(
        run.env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    let sleepy = start_job(&admin, "sleepy");
    wait_until("the long job runs in the data folder", &robot, || {
        jobs_in(&data) == [format!("{sleepy}-1")]
    });
    let hello = start_job(&admin, "hello");
    wait_state(&admin, &hello, "succeeded", Duration::from_secs(30), &robot);
    // Reported, so removed (keep 0); the running job's folder stays.
    wait_until("the finished job's folder is removed", &robot, || {
        jobs_in(&data) == [format!("{sleepy}-1")]
    });
    assert!(
        robot
            .log()
            .contains("Removed job folders beyond the retention"),
        "{}",
        robot.log()
    );
    assert!(
        !config.join("jobs").exists(),
        "no job folder in the config folder"
    );

    admin.alq(&["job", "cancel", &sleepy]).expect_code(0);
    wait_state(
        &admin,
        &sleepy,
        "cancelled",
        Duration::from_secs(30),
        &robot,
    );
    wait_until("the cancelled job's folder is removed", &robot, || {
        jobs_in(&data).is_empty()
    });
    assert_eq!(robot.stop(), 0, "{}", robot.log());
}

#[test]
fn job_folders_are_kept_up_to_the_retention() {
    let server = Server::start_configured(quick);
    let (admin, token) = setup(&server, HELLO);
    let mut robot = Robot::new();
    let data = robot.path().join("data");
    robot.register(&server.url, &token, &[]).expect_code(0);
    let log = std::fs::File::create(robot.log_path()).unwrap();
    robot.child = Some(
        robot
            .command(&["robot", "run", "--keep-job-folders", "2"])
            .env("ALQ_ROBOT_DATA_DIR", &data)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = start_job(&admin, "hello");
        wait_state(&admin, &id, "succeeded", Duration::from_secs(30), &robot);
        ids.push(id);
    }
    // The two newest stay, with their run folders.
    wait_until("the oldest folder is removed", &robot, || {
        jobs_in(&data) == [format!("{}-1", ids[1]), format!("{}-1", ids[2])]
    });
    assert!(
        data.join(format!("jobs/{}-1/run/report.html", ids[2]))
            .exists()
    );
    assert!(!robot.path().join("robot/jobs").exists());
    assert_eq!(robot.stop(), 0, "{}", robot.log());
}
