//! `alq robot register` and `alq robot run` against a real control plane, with real
//! Chromium: jobs leased, run, every step and screenshot reported, completed.

// The helpers below are test code too; robots are children the tests kill.
#![allow(clippy::unwrap_used, clippy::zombie_processes)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::control_plane::{HELLO, Server, User};
use crate::common::{Run, have_chromedriver};
use crate::site;

/// A robot: its own folder, and maybe a running `alq robot run`.
pub(crate) struct Robot {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) child: Option<Child>,
}

impl Robot {
    pub(crate) fn new() -> Robot {
        Robot {
            dir: tempfile::tempdir().unwrap(),
            child: None,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_alq"));
        command
            .args(args)
            .current_dir(self.path())
            .env("ALQ_ROBOT_DIR", self.path().join("robot"))
            .env("ALQ_CONFIG_DIR", self.path().join("config"))
            .env_remove("ALQ_URL")
            .env_remove("ALQ_TOKEN")
            .env_remove("ALQ_CA_CERT");
        command
    }

    pub(crate) fn alq(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    pub(crate) fn register(&self, url: &str, token: &str, extra: &[&str]) -> Run {
        let mut args = vec!["robot", "register", "--url", url, "--token", token];
        args.extend_from_slice(extra);
        self.alq(&args)
    }

    /// Starts `alq robot run ARGS` with the default log settings (no `RUST_LOG`), as a
    /// service runs it; its log goes to `robot.log` in its folder.
    pub(crate) fn start(&mut self, args: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let mut all = vec!["robot", "run"];
        all.extend_from_slice(args);
        let child = self
            .command(&all)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    pub(crate) fn log_path(&self) -> PathBuf {
        self.path().join("robot.log")
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap();
        }
    }

    /// SIGTERM, then the exit code.
    pub(crate) fn stop(&mut self) -> i32 {
        self.signal("-TERM");
        let mut child = self.child.take().unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        panic!("the robot did not stop on SIGTERM:\n{}", self.log());
    }

    /// The pid of the running `alq robot run`.
    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Whether `alq robot run` still runs (panics with its log when it exited).
    pub(crate) fn assert_running(&mut self) {
        let status = self.child.as_mut().unwrap().try_wait().unwrap();
        assert!(
            status.is_none(),
            "the robot exited ({status:?}):\n{}",
            self.log()
        );
    }

    /// Waits until the robot's log holds `piece` at least `times` times.
    pub(crate) fn wait_log(&self, piece: &str, times: usize) {
        let started = Instant::now();
        while self.log().matches(piece).count() < times {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the robot never logged {piece:?} {times} times:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `alq robot status --json`, which must exit `code`, parsed.
    fn status_json(&self, code: i32) -> Value {
        let run = self.alq(&["robot", "status", "--json"]);
        run.expect_code(code);
        run.json()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Robot {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Short leases so lost robots are noticed within seconds.
pub(crate) fn quick(config: &mut alq_control_plane::Config) {
    config.lease_ttl_ms = 3_000;
    config.heartbeat_interval_ms = 500;
    config.lease_wait_max_s = 5;
    config.retry_base_ms = 100;
    config.retry_max_ms = 500;
}

/// A workflow that fills the test site's form: five steps, four screenshots.
pub(crate) fn form_workflow(name: &str, url: &str, extra: &str) -> String {
    format!(
        r##"{{"name": "{name}", "defaults": {{"timeout_ms": 10000}}, "outputs": {{"greeting": "{{{{ steps.greeting.output }}}}"}},
  "steps": [
    {{"action": "browser.open", "url": "{url}"}},
    {{"action": "browser.type", "selector": "#name", "text": "Ada"}},
    {{"action": "browser.click", "selector": "text=Go"}},
    {{"id": "greeting", "action": "browser.extract", "selector": "#out"}}{extra}
  ]}}"##
    )
}

/// An admin, a pushed workflow, and a registration token.
pub(crate) fn setup(server: &Server, workflow: &str) -> (User, String) {
    let admin = User::logged_in(server);
    admin.ws.write("wf.json", workflow);
    admin.alq(&["workflow", "push", "wf.json"]).expect_code(0);
    let created = admin.json(&["robot", "token", "create", "--name", "robots"]);
    (admin, created["token"].as_str().unwrap().to_owned())
}

pub(crate) fn start_job(admin: &User, workflow: &str) -> String {
    let job = admin.json(&["job", "start", workflow]);
    job["id"].to_string().trim_matches('"').to_owned()
}

pub(crate) fn job(admin: &User, id: &str) -> Value {
    admin.json(&["job", "get", id])
}

pub(crate) fn wait_state(
    admin: &User,
    id: &str,
    state: &str,
    timeout: Duration,
    robot: &Robot,
) -> Value {
    let started = Instant::now();
    loop {
        let last = job(admin, id);
        if last["state"] == state {
            return last;
        }
        if started.elapsed() > timeout {
            panic!(
                "timed out waiting for job {id} to be {state}; last: {last}\nrobot log:\n{}",
                robot.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET /api/v1/jobs/{id}/{what}` with the admin token.
pub(crate) fn api(server: &Server, ca: Option<&Path>, path: &str) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder();
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).unwrap();
        builder = builder.tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).unwrap());
    }
    let client = builder.build().unwrap();
    let request = client
        .get(format!("{}/api/v1/{path}", server.url))
        .bearer_auth(&server.admin_token);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move { request.send().await.unwrap().json().await.unwrap() })
}

/// Checks that every step event and every screenshot of the job's last attempt arrived,
/// each exactly once.
fn assert_reported(server: &Server, ca: Option<&Path>, id: &str, steps: usize) {
    let events = api(server, ca, &format!("jobs/{id}/events"));
    let items = events["items"].as_array().unwrap();
    let attempt = items
        .iter()
        .map(|e| e["attempt"].as_i64().unwrap())
        .max()
        .unwrap();
    let items: Vec<&Value> = items.iter().filter(|e| e["attempt"] == attempt).collect();
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (1..=i64::try_from(seqs.len()).unwrap()).collect();
    assert_eq!(
        seqs, expected,
        "events arrive once each, in order: {events}"
    );
    let kinds: Vec<&str> = items
        .iter()
        .map(|e| e["event"]["event"].as_str().unwrap_or("?"))
        .collect();
    let finished: Vec<&&Value> = items
        .iter()
        .filter(|e| e["event"]["event"] == "step_finished")
        .collect();
    assert_eq!(
        finished.len(),
        steps,
        "one step_finished per step: {kinds:?}"
    );
    assert_eq!(kinds.first(), Some(&"run_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"run_finished"), "{kinds:?}");
    let artifacts = api(server, ca, &format!("jobs/{id}/artifacts"));
    let artifacts = artifacts["items"].as_array().unwrap();
    let shots: Vec<&str> = finished
        .iter()
        .filter_map(|e| e["event"]["screenshot_sha256"].as_str())
        .collect();
    assert_eq!(shots.len(), steps, "every browser step has a screenshot");
    for shot in &shots {
        // Identical screenshots are one artifact (content-addressed).
        let found: Vec<&Value> = artifacts.iter().filter(|a| a["sha256"] == *shot).collect();
        assert_eq!(
            found.len(),
            1,
            "screenshot {shot} arrives once: {artifacts:?}"
        );
        assert_eq!(found[0]["content_type"], "image/png");
        assert!(found[0]["size"].as_i64().unwrap() > 100);
    }
}

#[test]
fn a_registered_robot_runs_a_browser_job_and_reports_every_step_and_screenshot() {
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
    robot
        .register(
            &server.url,
            &token,
            &["--name", "bot-1", "--labels", "linux"],
        )
        .expect_code(0)
        .stdout_has(&["Registered robot bot-1"]);
    let identity = robot.path().join("robot/robot.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&identity).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the identity holds a token");
    }
    robot.start(&[]);
    let id = start_job(&admin, "order");
    // Followed live from the event stream while the robot runs it.
    let following = admin.spawn(&["job", "get", &id, "--follow"]);
    let done = wait_state(&admin, &id, "succeeded", Duration::from_secs(60), &robot);
    assert_eq!(done["outputs"]["greeting"], "Hello Ada", "{done}");
    let followed = User::finish(following);
    followed.expect_code(0).stdout_has(&[
        "following it...",
        "Attempt 1 started on robot",
        "  step 1: ",
        "  step 4: ",
        " succeeded (",
        "Run succeeded",
        &format!("Job {id} succeeded."),
        r#"outputs: {"greeting":"Hello Ada"}"#,
    ]);
    let step_ends = followed
        .stdout
        .lines()
        .filter(|l| l.starts_with("  step ") && l.contains(" succeeded ("))
        .count();
    assert_eq!(step_ends, 4, "{}", followed.stdout);
    assert_reported(&server, None, &id, 4);
    let robots = admin.json(&["robot", "list"]);
    assert!(robots.to_string().contains("bot-1"), "{robots}");
    assert_eq!(robot.stop(), 0, "{}", robot.log());
    assert!(!robot.path().join("robot/state.json").exists());
}

#[test]
fn a_wrong_registration_token_and_plain_http_to_another_host_are_clear_errors() {
    let server = Server::start();
    let robot = Robot::new();
    robot
        .register(&server.url, "alq_reg_wrong", &[])
        .expect_code(1)
        .stderr_has(&["refused the registration token", "alq robot token create"]);
    robot
        .register("http://alq.example.com", "alq_reg_x", &[])
        .expect_code(2)
        .stderr_has(&["refusing plain http://", "--insecure-http"]);
    // Nobody listens there, or the name does not resolve: exit 3, what to check, and
    // nothing stored.
    robot
        .register("http://127.0.0.1:1", "alq_reg_x", &[])
        .expect_code(3)
        .stderr_has(&[
            "cannot reach the alq server at http://127.0.0.1:1/",
            "Connection refused",
            "Check the URL",
            "Nothing was stored",
        ]);
    robot
        .register("https://alq.invalid", "alq_reg_x", &[])
        .expect_code(3)
        .stderr_has(&["cannot reach the alq server at https://alq.invalid/"]);
    assert!(!robot.path().join("robot/robot.json").exists());
    robot
        .alq(&["robot", "run"])
        .expect_code(2)
        .stderr_has(&["not registered", "alq robot register"]);
}

#[test]
fn over_https_with_a_private_ca_the_robot_needs_ca_cert() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let (server, ca) = Server::start_tls_changed(quick);
    let admin = User::new();
    admin
        .alq(&[
            "login",
            "--url",
            &server.url,
            "--token",
            &server.admin_token,
            "--ca-cert",
            ca.to_str().unwrap(),
        ])
        .expect_code(0);
    admin.ws.write(
        "wf.json",
        &form_workflow("order", &format!("http://{site}/form"), ""),
    );
    admin.alq(&["workflow", "push", "wf.json"]).expect_code(0);
    let token = admin.json(&["robot", "token", "create"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut robot = Robot::new();
    robot
        .register(&server.url, &token, &[])
        .expect_code(3)
        .stderr_has(&["not trusted", "--ca-cert"]);
    robot
        .register(&server.url, &token, &["--ca-cert", ca.to_str().unwrap()])
        .expect_code(0);
    robot.start(&[]);
    let id = start_job(&admin, "order");
    wait_state(&admin, &id, "succeeded", Duration::from_secs(60), &robot);
    assert_reported(&server, Some(&ca), &id, 4);
}

/// A workflow of `rounds` slow rounds (open the late page, wait for its paragraph):
/// about 1.6 s and two steps each.
fn slow_workflow(name: &str, site: std::net::SocketAddr, rounds: usize) -> String {
    let round = format!(
        r##"{{"action": "browser.goto", "url": "http://{site}/late"}}, {{"action": "browser.wait_for", "selector": "#late"}}"##
    );
    let rounds = vec![round; rounds].join(", ");
    format!(
        r##"{{"name": "{name}", "defaults": {{"timeout_ms": 10000}}, "steps": [
    {{"action": "browser.open", "url": "http://{site}/form"}}, {rounds}]}}"##
    )
}

/// How many steps of the job's attempts have finished, as the API shows.
fn steps_finished(server: &Server, id: &str) -> usize {
    let events = api(server, None, &format!("jobs/{id}/events"));
    events["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|e| e["event"]["event"] == "step_finished")
                .count()
        })
        .unwrap_or(0)
}

fn wait_steps(server: &Server, id: &str, at_least: usize, robot: &Robot) {
    let started = Instant::now();
    while steps_finished(server, id) < at_least {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "job {id} never reached {at_least} steps:\n{}",
            robot.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_robots_job_is_finished_by_another_and_the_first_never_completes_it() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let server = Server::start_configured(quick);
    let (admin, token) = setup(&server, &slow_workflow("slow", site, 3));
    let mut first = Robot::new();
    first
        .register(&server.url, &token, &["--name", "first"])
        .expect_code(0);
    first.start(&[]);
    let id = start_job(&admin, "slow");
    wait_steps(&server, &id, 2, &first);
    #[cfg(target_os = "linux")]
    let profiles = crate::common::processes::profiles_of(first.pid());
    #[cfg(target_os = "linux")]
    assert_eq!(
        profiles.len(),
        1,
        "the job's browser has its profile folder"
    );
    first.signal("-KILL");
    first.kill();
    // The killed robot's chromedriver and Chromium die with it.
    #[cfg(target_os = "linux")]
    crate::common::processes::wait_no_browsers(&profiles, Duration::from_secs(20));
    let mut second = Robot::new();
    second
        .register(&server.url, &token, &["--name", "second"])
        .expect_code(0);
    second.start(&[]);
    let done = wait_state(&admin, &id, "succeeded", Duration::from_secs(60), &second);
    assert_eq!(done["attempt"], 2, "{done}");
    // The next robot to start removed the folder the killed one left.
    #[cfg(target_os = "linux")]
    crate::common::processes::wait_until(
        "the removal of the killed robot's profile folder",
        Duration::from_secs(20),
        || match profiles.iter().find(|p| p.exists()) {
            Some(left) => Err(format!("{} is left behind", left.display())),
            None => Ok(()),
        },
    );
    // The first robot comes back with the old attempt in its spool: it drops it.
    first.start(&[]);
    let started = Instant::now();
    while !first.log().contains("Job lost") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the restarted robot never gave the job up:\n{}",
            first.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!first.log().contains("Job completed"), "{}", first.log());
    let after = job(&admin, &id);
    assert_eq!(after["state"], "succeeded");
    assert_eq!(after["attempt"], 2);
    assert_eq!(first.stop(), 0);
}

#[test]
fn a_cancelled_job_stops_at_the_next_step_and_is_reported_cancelled() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let server = Server::start_configured(quick);
    let (admin, token) = setup(&server, &slow_workflow("slow", site, 6));
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    robot.start(&[]);
    let id = start_job(&admin, "slow");
    wait_steps(&server, &id, 2, &robot);
    admin.alq(&["job", "cancel", &id]).expect_code(0);
    wait_state(&admin, &id, "cancelled", Duration::from_secs(30), &robot);
    assert!(steps_finished(&server, &id) < 13, "the run stopped early");
    // The robot is free for the next job.
    let next = start_job(&admin, "slow");
    admin.alq(&["job", "cancel", &next]).expect_code(0);
    assert_eq!(robot.stop(), 0, "{}", robot.log());
}

#[test]
fn two_slots_run_two_jobs_at_once() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let server = Server::start_configured(quick);
    let (admin, token) = setup(&server, &slow_workflow("slow", site, 2));
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    robot.start(&["--slots", "2"]);
    let a = start_job(&admin, "slow");
    let b = start_job(&admin, "slow");
    let started = Instant::now();
    loop {
        let (ja, jb) = (job(&admin, &a), job(&admin, &b));
        if ja["state"] == "running" && jb["state"] == "running" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30) && ja["state"] != "succeeded",
            "the two jobs never ran together: {ja} {jb}\n{}",
            robot.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_state(&admin, &a, "succeeded", Duration::from_secs(60), &robot);
    wait_state(&admin, &b, "succeeded", Duration::from_secs(60), &robot);
}

/// A TCP proxy between robot and server that the test can cut and restore.
struct Proxy {
    addr: std::net::SocketAddr,
    cut: std::sync::Arc<std::sync::Mutex<Option<tokio_util::sync::CancellationToken>>>,
}

impl Proxy {
    fn start(target: &str) -> Proxy {
        let target = target
            .trim_start_matches("http://")
            .replace("localhost", "127.0.0.1");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = std::sync::Arc::new(std::sync::Mutex::new(Some(
            tokio_util::sync::CancellationToken::new(),
        )));
        let state = cut.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else {
                        continue;
                    };
                    // While cut, connections are dropped at once.
                    let Some(open) = state.lock().unwrap().clone() else {
                        continue;
                    };
                    let target = target.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            () = open.cancelled() => {}
                        }
                    });
                }
            });
        });
        Proxy { addr, cut }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Breaks every connection and refuses new ones.
    fn cut(&self) {
        if let Some(open) = self.cut.lock().unwrap().take() {
            open.cancel();
        }
    }

    fn restore(&self) {
        *self.cut.lock().unwrap() = Some(tokio_util::sync::CancellationToken::new());
    }
}

#[test]
fn a_network_cut_shorter_than_the_lease_loses_nothing_and_sends_nothing_twice() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let server = Server::start_configured(|config| {
        config.lease_ttl_ms = 8_000;
        config.heartbeat_interval_ms = 500;
        config.lease_wait_max_s = 5;
    });
    let (admin, token) = setup(&server, &slow_workflow("slow", site, 4));
    let proxy = Proxy::start(&server.url);
    let mut robot = Robot::new();
    robot.register(&proxy.url(), &token, &[]).expect_code(0);
    robot.start(&[]);
    let id = start_job(&admin, "slow");
    wait_steps(&server, &id, 2, &robot);
    proxy.cut();
    // Several heartbeats fail, the job goes on and spools its reports.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(job(&admin, &id)["state"], "running");
    proxy.restore();
    let done = wait_state(&admin, &id, "succeeded", Duration::from_secs(60), &robot);
    assert_eq!(done["attempt"], 1, "the lease survived the cut: {done}");
    assert!(robot.log().contains("Heartbeat failed"), "{}", robot.log());
    assert_reported(&server, None, &id, 9);
}

#[test]
fn a_server_that_goes_away_and_comes_back_gets_its_parked_robot_back() {
    // Quick polls, but a lease that a stall of the loaded test machine cannot outlast:
    // this test is about the robot coming back, and a 3 s lease expired under load 20
    // (then the job ran twice and `attempt` said 2).
    let mut server = Server::start_configured(|config| {
        quick(config);
        config.lease_ttl_ms = 30_000;
    });
    let (admin, token) = setup(&server, HELLO);
    let mut robot = Robot::new();
    robot.register(&server.url, &token, &[]).expect_code(0);
    robot.start(&[]);
    // A first job proves the robot works; once it is done the robot is parked on a
    // long-poll again.
    let first = start_job(&admin, "hello");
    wait_state(&admin, &first, "succeeded", Duration::from_secs(60), &robot);
    std::thread::sleep(Duration::from_millis(500));

    server.stop();
    // The parked poll is answered, the next ones find nobody: the robot backs off and
    // keeps trying.
    robot.wait_log("Cannot lease jobs", 2);
    std::thread::sleep(Duration::from_secs(2));
    robot.assert_running();
    let log = robot.log();
    let attempts = log.matches("Cannot lease jobs").count();
    assert!(
        log.contains("cannot reach the alq server"),
        "the robot says why it cannot lease:\n{log}"
    );
    assert!(
        !log.contains('\x1b'),
        "a log that is not a terminal has no colour codes:\n{log}"
    );
    // Backing off from 0.5 s, doubling: a handful of tries in these seconds; a robot that
    // polled without pause would have made hundreds.
    assert!(
        attempts <= 8,
        "{attempts} lease attempts while the server was away:\n{log}"
    );

    server.restart();
    let second = start_job(&admin, "hello");
    let done = wait_state(
        &admin,
        &second,
        "succeeded",
        Duration::from_secs(60),
        &robot,
    );
    assert_eq!(done["attempt"], 1, "{done}");
    let events = api(&server, None, &format!("jobs/{second}/events"));
    assert!(
        events.to_string().contains("hello world x1"),
        "the step's log line arrived: {events}"
    );
    robot.assert_running();
    assert_eq!(robot.stop(), 0, "{}", robot.log());
}

/// `DELETE /api/v1/robots/{id}` with the admin token.
fn delete_robot(server: &Server, id: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let request = reqwest::Client::new()
        .delete(format!("{}/api/v1/robots/{id}", server.url))
        .bearer_auth(&server.admin_token);
    let status = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move { request.send().await.unwrap().status() });
    assert!(status.is_success(), "delete robot {id}: {status}");
}

/// A workflow that logs, then sleeps long enough to be looked at.
const SLEEPY: &str = r#"{"name": "sleepy", "steps": [
  {"action": "log", "message": "going to sleep"},
  {"action": "sleep", "ms": 120000}
]}"#;

#[test]
fn robot_status_shows_the_identity_the_server_and_the_jobs_in_hand() {
    // A lease long enough to outlive the outage below.
    let mut server = Server::start_configured(|config| {
        config.lease_ttl_ms = 120_000;
        config.heartbeat_interval_ms = 500;
        config.lease_wait_max_s = 5;
    });
    let (admin, token) = setup(&server, SLEEPY);
    let mut robot = Robot::new();
    robot
        .alq(&["robot", "status"])
        .expect_code(2)
        .stderr_has(&["not registered", "alq robot register"]);
    robot
        .register(
            &server.url,
            &token,
            &["--name", "bot-s", "--labels", "linux"],
        )
        .expect_code(0);

    // Registered, no agent.
    robot.alq(&["robot", "status"]).expect_code(0).stdout_has(&[
        "Robot:   bot-s",
        "Labels:  linux",
        &format!("Server:  {}", server.url),
        "reachable",
        "Agent:   not running",
    ]);
    let status = robot.status_json(0);
    assert_eq!(status["name"], "bot-s", "{status}");
    assert_eq!(status["reachable"], true, "{status}");
    assert!(status["agent"].is_null(), "{status}");

    // The agent runs, idle.
    robot.start(&[]);
    robot.wait_log("Robot started", 1);
    let status = robot.status_json(0);
    assert_eq!(status["agent"]["pid"], robot.pid(), "{status}");
    assert_eq!(status["agent"]["slots"], 1, "{status}");
    assert_eq!(status["agent"]["jobs"], serde_json::json!([]), "{status}");
    robot.alq(&["robot", "status"]).expect_code(0).stdout_has(&[
        &format!("Agent:   pid {}, since ", robot.pid()),
        " UTC, 1 slot(s)",
        "Jobs:    none",
    ]);

    // A job in hand.
    let id = start_job(&admin, "sleepy");
    wait_state(&admin, &id, "running", Duration::from_secs(30), &robot);
    let started = Instant::now();
    let status = loop {
        let status = robot.status_json(0);
        if status["agent"]["jobs"]
            .as_array()
            .is_some_and(|j| !j.is_empty())
        {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{status}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let held = &status["agent"]["jobs"][0];
    assert_eq!(held["job_id"].to_string(), id, "{status}");
    assert_eq!(held["attempt"], 1, "{status}");
    assert_eq!(held["workflow"], "sleepy", "{status}");
    robot
        .alq(&["robot", "status"])
        .expect_code(0)
        .stdout_has(&[&format!("Job:     {id} attempt 1 (sleepy)")]);

    // The server is gone: exit 3, and what the robot knows is still shown.
    server.stop();
    robot.alq(&["robot", "status"]).expect_code(3).stdout_has(&[
        "Robot:   bot-s",
        "NOT reachable: cannot reach the alq server",
        &format!("Job:     {id} attempt 1 (sleepy)"),
    ]);
    let status = robot.status_json(3);
    assert_eq!(status["reachable"], false, "{status}");
    assert!(
        status["error"].as_str().unwrap().contains("cannot reach"),
        "{status}"
    );
    assert_eq!(status["agent"]["jobs"][0]["job_id"].to_string(), id);

    // Back again: the job is cancelled and leaves the robot's hands.
    server.restart();
    admin.alq(&["job", "cancel", &id]).expect_code(0);
    wait_state(&admin, &id, "cancelled", Duration::from_secs(30), &robot);
    let started = Instant::now();
    while robot.status_json(0)["agent"]["jobs"] != serde_json::json!([]) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            robot.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Killed, the agent leaves its state file behind: status does not believe it.
    let pid = robot.pid();
    robot.kill();
    robot.alq(&["robot", "status"]).expect_code(0).stdout_has(&[
        &format!("Agent:   not running (pid {pid}"),
        "ended without a clean stop",
    ]);
    assert!(robot.status_json(0)["agent"].is_null());

    // Deleted on the server: it answers, but refuses the token (exit 1).
    delete_robot(&server, status["robot_id"].as_str().unwrap());
    robot.alq(&["robot", "status"]).expect_code(1).stdout_has(&[
        "reachable, but it refuses this robot's token",
        "register the robot again",
    ]);
    let status = robot.status_json(1);
    assert_eq!(status["reachable"], true, "{status}");
    assert_eq!(status["token_refused"], true, "{status}");
}
