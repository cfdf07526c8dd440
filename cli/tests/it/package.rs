//! A workflow is a package (issue 8 §2): `alq workflow push` uploads the workflow with
//! the files of its folder, and a real robot (`alq robot run`) downloads, checks and
//! unpacks it into the job's folder before running it with real Chromium.

// Robots are children the tests kill.
#![allow(clippy::unwrap_used, clippy::zombie_processes)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::control_plane::{Server, User};
use crate::common::{Run, have_chromedriver};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

/// `alq robot run` in a folder of its own, registered with a token of `admin`'s tenant.
struct Robot {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Robot {
    fn start(server: &Server, admin: &User) -> Robot {
        let dir = tempfile::tempdir().unwrap();
        let mut robot = Robot { dir, child: None };
        let created = admin.json(&["robot", "token", "create"]);
        let token = created["token"].as_str().unwrap();
        Run::from(
            robot
                .command(&[
                    "robot",
                    "register",
                    "--url",
                    &server.url,
                    "--token",
                    token,
                    "--name",
                    "packager",
                ])
                .output()
                .unwrap(),
        )
        .expect_code(0);
        let log = std::fs::File::create(robot.dir.path().join("robot.log")).unwrap();
        let child = robot
            .command(&["robot", "run"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        robot.child = Some(child);
        robot
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_alq"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("ALQ_ROBOT_DIR", self.dir.path().join("robot"))
            .env("ALQ_CONFIG_DIR", self.dir.path().join("config"))
            .env_remove("ALQ_URL")
            .env_remove("ALQ_TOKEN")
            .env_remove("RUST_LOG");
        command
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("robot.log")).unwrap_or_default()
    }

    /// The robot's cached packages.
    fn cached(&self) -> Vec<PathBuf> {
        let dir = self.dir.path().join("robot/cache/packages");
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The job folders the robot made.
    fn job_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.path().join("robot/jobs"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Robot {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `alq job start ARGS --wait --json`: the finished job.
fn run_job(admin: &User, robot: &Robot, args: &[&str]) -> Value {
    let mut all = vec!["job", "start"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--wait", "--json"]);
    let run = admin.alq(&all);
    assert!(
        run.stdout.trim_start().starts_with('{'),
        "{}\n{}\nrobot log:\n{}",
        run.stdout,
        run.stderr,
        robot.log()
    );
    run.json()
}

fn push(admin: &User, path: &Path) -> Run {
    admin.alq(&["workflow", "push", path.to_str().unwrap()])
}

#[test]
fn every_example_pushed_as_it_is_runs_on_a_robot_with_its_files() {
    if !have_chromedriver() {
        return;
    }
    let server = Server::start();
    let admin = User::logged_in(&server);
    // A folder, or the workflow file in it: the same package.
    push(&admin, &example("login-form"))
        .expect_code(0)
        .stdout_has(&[
            "Pushed workflow login-form, version 1 (sha256 ",
            "6 files, ",
            "packed (",
        ]);
    push(&admin, &example("login-form").join("workflow.json"))
        .expect_code(0)
        .stdout_has(&["Unchanged: workflow login-form, version 1"]);
    push(&admin, &example("scrape-pages").join("workflow.json"))
        .expect_code(0)
        .stdout_has(&["Pushed workflow scrape-pages, version 1"]);
    push(&admin, &example("email-report")).expect_code(0);
    let robot = Robot::start(&server, &admin);

    let job = run_job(&admin, &robot, &["login-form", "--max-attempts", "1"]);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", robot.log());
    assert_eq!(job["outputs"]["rows"], 4);
    assert_screenshots(&server, &job);

    let job = run_job(&admin, &robot, &["scrape-pages", "--max-attempts", "1"]);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", robot.log());
    assert_eq!(job["outputs"]["count"], 13);
    assert_screenshots(&server, &job);

    if let (Some(smtp), Some(maildir)) = (
        crate::common::service("ALQ_TEST_SMTP"),
        crate::common::service("ALQ_TEST_SMTP_MAILDIR"),
    ) {
        let (host, port) = smtp.rsplit_once(':').unwrap();
        let to = format!("package-{}@example.com", std::process::id());
        let job = run_job(
            &admin,
            &robot,
            &[
                "email-report",
                "--max-attempts",
                "1",
                "--input",
                &format!("smtp_host={host}"),
                "--input",
                &format!("smtp_port={port}"),
                "--input",
                &format!("to={to}"),
            ],
        );
        assert_eq!(job["state"], "succeeded", "{job}\n{}", robot.log());
        // Read from the package's data/sales.csv on the robot, and attached.
        assert_eq!(job["outputs"]["regions"], 5, "{job}");
        let message = std::fs::read_dir(PathBuf::from(maildir).join("new"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
            .find(|text| text.contains(&to))
            .expect("the report reached the SMTP server");
        assert!(
            message.contains("sales.csv") && message.contains("dashboard.png"),
            "attached"
        );
    }
    // Each package came once, kept by its hash.
    let cached = robot.cached();
    assert!(cached.len() >= 2, "{cached:?}");
    for file in cached {
        let bytes = std::fs::read(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            format!("{}.tar.gz", alq_shared::package::sha256(&bytes)),
            name
        );
    }
}

/// The job's step screenshots reached the server (identical ones are one artifact).
fn assert_screenshots(server: &Server, job: &Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = format!("{}/api/v1/jobs/{}/artifacts", server.url, job["id"]);
    let request = reqwest::Client::new()
        .get(url)
        .bearer_auth(&server.admin_token);
    let artifacts: Value = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move { request.send().await.unwrap().json().await.unwrap() });
    let shots = artifacts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["content_type"] == "image/png" && a["size"].as_i64().unwrap() > 100)
        .count();
    assert!(shots >= 3, "{shots} screenshots: {artifacts}");
}

/// A package of a workflow that calls another file, which reads a data file: no
/// browser needed.
fn calling_package(admin: &User, who: &str) -> PathBuf {
    let root = admin.ws.path().join("greeter");
    admin.ws.write(
        "greeter/workflow.json",
        r#"{"name": "greeter", "steps": [{"id": "greet", "action": "call", "workflow": "lib/greet.json"}],
            "outputs": {"greeting": "{{ steps.greet.output.greeting }}"}}"#,
    );
    admin.ws.write(
        "greeter/lib/greet.json",
        r#"{"name": "greet", "steps": [{"id": "who", "action": "file.read", "path": "../data/who.txt"}],
            "outputs": {"greeting": "Hello {{ steps.who.output | trim }}"}}"#,
    );
    admin.ws.write("greeter/data/who.txt", who);
    admin.ws.write("greeter/.alqignore", "*.tmp\n");
    admin.ws.write("greeter/scratch.tmp", "left out");
    root
}

#[test]
fn a_call_across_files_runs_on_a_robot_and_jobs_pin_versions() {
    let server = Server::start();
    let admin = User::logged_in(&server);
    let root = calling_package(&admin, "Ada");
    push(&admin, &root)
        .expect_code(0)
        .stdout_has(&["Pushed workflow greeter, version 1", "4 files"]);
    calling_package(&admin, "Grace");
    let pushed = admin.json(&["workflow", "push", root.to_str().unwrap()]);
    assert_eq!(pushed["version"]["number"], 2);
    let hash = pushed["version"]["hash"].as_str().unwrap().to_owned();
    let robot = Robot::start(&server, &admin);

    let latest = run_job(&admin, &robot, &["greeter"]);
    assert_eq!(
        latest["outputs"]["greeting"],
        "Hello Grace",
        "{latest}\n{}",
        robot.log()
    );
    let first = run_job(&admin, &robot, &["greeter", "--version", "1"]);
    assert_eq!(first["outputs"]["greeting"], "Hello Ada", "{first}");
    let by_hash = run_job(&admin, &robot, &["greeter", "--version", &hash[..8]]);
    assert_eq!(by_hash["outputs"]["greeting"], "Hello Grace");
    // The job's folder holds the package's files, and not what .alqignore left out.
    let dirs = robot.job_dirs();
    assert!(
        dirs.iter().any(|d| d.join("lib/greet.json").is_file()),
        "{dirs:?}"
    );
    assert!(dirs.iter().all(|d| !d.join("scratch.tmp").exists()));
    // Two versions, two downloads: the third job used the cache.
    assert_eq!(robot.cached().len(), 2);
    assert_eq!(
        robot.log().matches("Workflow package downloaded.").count(),
        2,
        "{}",
        robot.log()
    );

    admin
        .alq(&["job", "start", "greeter", "--version", "7"])
        .expect_code(1)
        .stderr_has(&["(404)", "has no version `7`", "versions 1 to 2"]);
    admin
        .alq(&["workflow", "get", "greeter"])
        .expect_code(0)
        .stdout_has(&["VERSION", "FILES", &hash]);
    let got = admin.json(&["workflow", "get", "greeter"]);
    assert_eq!(got["versions"][1]["number"], 1);
    assert_eq!(got["versions"][1]["package"]["files"], 4);
}

#[test]
fn a_tampered_or_corrupt_package_is_refused_then_fetched_again() {
    let data = tempfile::tempdir().unwrap();
    let blobs = data.path().join("data/blobs");
    let server = Server::start_configured(|c| c.data_dir = Some(data.path().join("data")));
    let admin = User::logged_in(&server);
    let root = calling_package(&admin, "Ada");
    let pushed = admin.json(&["workflow", "push", root.to_str().unwrap()]);
    let sha256 = pushed["version"]["hash"].as_str().unwrap().to_owned();
    let blob = blobs.join(&sha256[..2]).join(&sha256);
    let good = std::fs::read(&blob).unwrap();
    // The server's copy changed behind its back: the robot refuses what does not match.
    std::fs::write(&blob, b"something else").unwrap();
    let robot = Robot::start(&server, &admin);
    let job = run_job(&admin, &robot, &["greeter", "--max-attempts", "1"]);
    assert_eq!(job["state"], "dead", "{job}");
    let error = job["error"]["message"].as_str().unwrap();
    assert!(
        error.contains("does not match its hash") && error.contains(&sha256),
        "{error}"
    );
    assert!(robot.cached().is_empty(), "nothing bad is cached");
    // Put right, the next job downloads it.
    std::fs::write(&blob, &good).unwrap();
    let job = run_job(&admin, &robot, &["greeter"]);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", robot.log());
    // A cached copy that went bad is fetched again.
    let cached = robot.cached();
    assert_eq!(cached.len(), 1);
    std::fs::write(&cached[0], b"corrupt").unwrap();
    let job = run_job(&admin, &robot, &["greeter"]);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", robot.log());
    assert!(
        robot
            .log()
            .contains("does not match its hash; downloading it again"),
        "{}",
        robot.log()
    );
    assert_eq!(std::fs::read(&cached[0]).unwrap(), good);
}

#[test]
fn a_package_over_the_limit_and_a_path_that_escapes_are_refused_at_push() {
    let server = Server::start_configured(|c| c.max_package_bytes = 4096);
    let admin = User::logged_in(&server);
    let root = calling_package(&admin, "Ada");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..32_768)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    std::fs::write(root.join("data/noise.bin"), noise).unwrap();
    push(&admin, &root).expect_code(1).stderr_has(&[
        "(413)",
        "larger than this server accepts",
        "max_package_bytes = 4096",
        ".alqignore",
    ]);
    // Left out by .alqignore, it fits.
    admin.ws.write("greeter/.alqignore", "*.bin\n");
    push(&admin, &root).expect_code(0);

    // A `call` and a page outside the folder: refused here, nothing pushed.
    admin
        .ws
        .write("shared/common.json", r#"{"name": "common", "steps": []}"#);
    admin.ws.write(
        "escaper/workflow.json",
        r#"{"name": "escaper", "steps": [
            {"action": "call", "workflow": "../shared/common.json"},
            {"action": "browser.open", "url": "file://{{ workflow.dir }}/../site/index.html"}
        ]}"#,
    );
    push(&admin, &admin.ws.path().join("escaper"))
        .expect_code(2)
        .stderr_has(&[
            "steps[0].workflow: `call` of `../shared/common.json` reaches outside the package folder",
            "steps[1].url: `{{ workflow.dir }}/../site/index.html` reaches outside the package folder",
        ]);
    #[cfg(unix)]
    {
        std::fs::remove_file(admin.ws.path().join("escaper/workflow.json")).unwrap();
        admin.ws.write(
            "escaper/workflow.json",
            r#"{"name": "escaper", "steps": []}"#,
        );
        std::os::unix::fs::symlink(
            admin.ws.path().join("shared/common.json"),
            admin.ws.path().join("escaper/linked.json"),
        )
        .unwrap();
        push(&admin, &admin.ws.path().join("escaper"))
            .expect_code(2)
            .stderr_has(&[
                "`linked.json` is a symbolic link to",
                "outside the package folder",
            ]);
    }
    let names: Vec<String> = admin
        .json(&["workflow", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["greeter"]);
}

/// `n` bytes that do not compress.
fn noise(n: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// A server that refuses a big package answers before the client has sent it all;
/// it reads the rest, so the client gets the 413 (not "cannot reach the server") every
/// time, with the limit and the package's size.
#[test]
fn a_big_package_over_the_servers_limit_is_refused_with_the_limit() {
    let server = Server::start_configured(|c| c.max_package_bytes = 64 * 1024);
    let admin = User::logged_in(&server);
    let root = calling_package(&admin, "Ada");
    std::fs::write(root.join("data/noise.bin"), noise(16 * 1024 * 1024)).unwrap();
    for _ in 0..3 {
        push(&admin, &root).expect_code(1).stderr_has(&[
            "(413)",
            "max_package_bytes = 65536 bytes, 64.0 KiB",
            "This package is 16.0 MiB packed.",
        ]);
    }
}

#[test]
fn alq_run_and_validate_take_a_folder() {
    let user = User::new();
    let root = calling_package(&user, "Ada");
    user.alq(&["validate", root.to_str().unwrap()])
        .expect_code(0)
        .stdout_has(&["workflow.json: valid (1 steps)"]);
    let run = user.alq(&["run", root.to_str().unwrap(), "--json"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Hello Ada"), "{}", run.stdout);
}

#[test]
fn a_pinned_version_types_inputs_as_that_version_declares() {
    let server = Server::start();
    let admin = User::logged_in(&server);
    let declare = |kind: &str| {
        admin.ws.write(
            "typed/workflow.json",
            &format!(
                r#"{{"name": "typed", "inputs": {{"n": {{"type": "{kind}"}}}}, "steps": [{{"action": "log", "message": "{{{{ inputs.n }}}}"}}]}}"#
            ),
        );
        admin.json(&[
            "workflow",
            "push",
            admin.ws.path().join("typed").to_str().unwrap(),
        ])
    };
    declare("integer");
    declare("string");
    let old = admin.json(&["job", "start", "typed", "--version", "1", "--input", "n=5"]);
    assert_eq!(old["inputs"]["n"], 5, "{old}");
    let new = admin.json(&["job", "start", "typed", "--input", "n=5"]);
    assert_eq!(new["inputs"]["n"], "5", "{new}");
}
