//! What `alq run` workflows may reach: never alq's own folders (the CLI's login, a
//! robot's identity, the server's data), however the path is written; with
//! `--allow-path`, only the allowed folders (and the workflow's and run's own).

// Test code: a panic is the failure message.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{Run, Workspace, events, have_chromedriver};
use crate::site;

const TOKEN: &str = "alq_rbt_never_shown_token";
const PAT: &str = "alq_pat_never_shown_either";

/// A workspace with alq's folders inside it (`alq/config`, `alq/robot`, `alq/server`),
/// pointed at by the variables alq reads, and the workflows in `wf/`.
pub(crate) struct Alq {
    pub(crate) ws: Workspace,
}

impl Alq {
    pub(crate) fn new() -> Alq {
        let ws = Workspace::new();
        ws.write(
            "alq/robot/robot.json",
            &format!(r#"{{"url": "http://127.0.0.1:1", "token": "{TOKEN}"}}"#),
        );
        ws.write("alq/config/login.json", &format!(r#"{{"token": "{PAT}"}}"#));
        ws.write("alq/server/key.hex", TOKEN);
        ws.write("wf/data.txt", "plain data");
        Alq { ws }
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.ws.path().join(relative)
    }

    pub(crate) fn alq(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_alq"))
            .args(args)
            .current_dir(self.ws.path())
            .env("ALQ_CONFIG_DIR", self.path("alq/config"))
            .env("ALQ_ROBOT_DIR", self.path("alq/robot"))
            .env("ALQ_DATA_DIR", self.path("alq/server"))
            .env_remove("ALQ_ROBOT_DATA_DIR")
            .env_remove("RUST_LOG")
            .output()
            .expect("run alq");
        Run::from(output)
    }

    /// `alq run ARGS --out out/NAME`: the run and its folder.
    pub(crate) fn run(&self, name: &str, args: &[&str]) -> (Run, PathBuf) {
        let out = format!("out/{name}");
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--out", &out]);
        (self.alq(&all), self.path(&out))
    }
}

/// The `step_finished` error messages of a run, by step path.
fn step_errors(dir: &Path) -> Vec<(String, String)> {
    let events = events(dir);
    let started: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "step_started")
        .collect();
    events
        .iter()
        .filter(|e| e["event"] == "step_finished" && e["error"].is_object())
        .map(|e| {
            let path = started
                .iter()
                .find(|s| s["seq"] == e["seq"])
                .map(|s| s["path"].as_str().unwrap_or_default().to_owned())
                .unwrap_or_default();
            (path, e["error"]["message"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// Nothing the run wrote, printed or reported holds a secret of alq's folders.
fn assert_no_secret(run: &Run, dir: &Path) {
    for text in [
        std::fs::read_to_string(dir.join("events.ndjson")).unwrap(),
        std::fs::read_to_string(dir.join("report.html")).unwrap(),
        run.stdout.clone(),
        run.stderr.clone(),
    ] {
        assert!(!text.contains(TOKEN) && !text.contains(PAT), "{text}");
    }
}

/// Asserts that the step at `path` failed naming itself, the path written and the rule.
fn assert_refused(errors: &[(String, String)], path: &str, written: &str, rule: &str) {
    let Some((_, message)) = errors.iter().find(|(p, _)| p == path) else {
        panic!("{path} did not fail: {errors:?}");
    };
    for piece in [path, &format!("`{written}`"), rule] {
        assert!(
            message.contains(piece),
            "{path}: {piece:?} not in {message}"
        );
    }
}

/// A step that may fail without ending the run.
fn step(action: &str, fields: &str) -> String {
    format!(r#"{{"action": "{action}", {fields}, "continue_on_error": true}}"#)
}

fn workflow(steps: &[String]) -> String {
    format!(
        r#"{{"name": "reach", "inputs": {{"abs": {{"type": "string", "default": ""}}}}, "steps": [{}]}}"#,
        steps.join(",\n")
    )
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(unix)]
#[test]
fn reads_by_dot_dot_symlink_or_absolute_path_into_alq_folders_are_refused() {
    let alq = Alq::new();
    symlink(
        &alq.path("alq/config/login.json"),
        &alq.path("wf/login-link.json"),
    );
    symlink(&alq.path("alq/robot"), &alq.path("wf/robot-link"));
    alq.ws.write(
        "wf/wf.json",
        &workflow(&[
            step("file.read", r#""path": "../alq/robot/robot.json""#),
            step("file.read", r#""path": "login-link.json""#),
            step("file.read", r#""path": "robot-link/robot.json""#),
            step("file.read", r#""path": "{{ inputs.abs }}""#),
            step("csv.read", r#""path": "sub/../../alq/robot/robot.json""#),
            step("file.list", r#""dir": "../alq/robot""#),
            step("file.read", r#""path": "data.txt""#),
        ]),
    );
    let abs = alq.path("alq/server/key.hex");
    let (run, dir) = alq.run(
        "reads",
        &["wf/wf.json", "--input", &format!("abs={}", abs.display())],
    );
    run.expect_code(0);
    let errors = step_errors(&dir);
    let robot = "inside the robot's folder";
    assert_refused(&errors, "steps[0]", "../alq/robot/robot.json", robot);
    assert_refused(
        &errors,
        "steps[1]",
        "login-link.json",
        "inside alq's config folder (the CLI's login)",
    );
    assert_refused(&errors, "steps[2]", "robot-link/robot.json", robot);
    assert_refused(
        &errors,
        "steps[3]",
        &abs.display().to_string(),
        "inside the server's data folder",
    );
    assert_refused(&errors, "steps[4]", "sub/../../alq/robot/robot.json", robot);
    assert_refused(&errors, "steps[5]", "../alq/robot", robot);
    assert_eq!(errors.len(), 6, "the workflow's own file reads: {errors:?}");
    // Each message says what to do, and the run's own files are not alq's.
    assert!(
        errors[0].1.contains("cannot reach alq's own folders"),
        "{errors:?}"
    );
    assert_no_secret(&run, &dir);
}

#[cfg(unix)]
#[test]
fn writes_moves_and_deletes_into_alq_folders_are_refused_and_change_nothing() {
    let alq = Alq::new();
    symlink(
        &alq.path("alq/robot/created.txt"),
        &alq.path("wf/dangling.txt"),
    );
    alq.ws.write(
        "wf/wf.json",
        &workflow(&[
            step(
                "file.write",
                r#""path": "../alq/robot/robot.json", "text": "{}""#,
            ),
            step("file.write", r#""path": "dangling.txt", "text": "x""#),
            step(
                "csv.write",
                r#""path": "../alq/config/rows.csv", "rows": [["a"]]"#,
            ),
            step(
                "file.copy",
                r#""from": "data.txt", "to": "../alq/robot/copy.txt""#,
            ),
            step(
                "file.move",
                r#""from": "../alq/robot/robot.json", "to": "stolen.json""#,
            ),
            step("file.delete", r#""path": "../alq/robot/robot.json""#),
            step(
                "file.write",
                r#""path": "{{ run.dir }}/mine.txt", "text": "ok""#,
            ),
        ]),
    );
    let (run, dir) = alq.run("writes", &["wf/wf.json"]);
    run.expect_code(0);
    let errors = step_errors(&dir);
    let robot = "inside the robot's folder";
    assert_refused(&errors, "steps[0]", "../alq/robot/robot.json", robot);
    assert!(errors[0].1.contains("may not write"), "{errors:?}");
    assert_refused(&errors, "steps[1]", "dangling.txt", robot);
    assert_refused(
        &errors,
        "steps[2]",
        "../alq/config/rows.csv",
        "config folder",
    );
    assert_refused(&errors, "steps[3]", "../alq/robot/copy.txt", robot);
    assert_refused(&errors, "steps[4]", "../alq/robot/robot.json", robot);
    assert_refused(&errors, "steps[5]", "../alq/robot/robot.json", robot);
    assert_eq!(
        errors.len(),
        6,
        "the run folder is the run's own: {errors:?}"
    );
    let identity = std::fs::read_to_string(alq.path("alq/robot/robot.json")).unwrap();
    assert!(identity.contains(TOKEN), "the identity is untouched");
    let mut robot_files: Vec<String> = std::fs::read_dir(alq.path("alq/robot"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    robot_files.sort();
    assert_eq!(robot_files, ["robot.json"]);
    assert!(!alq.path("alq/config/rows.csv").exists());
    assert!(!alq.path("wf/stolen.json").exists());
    assert!(dir.join("mine.txt").is_file());
    assert_no_secret(&run, &dir);
}

#[test]
fn allowed_roots_limit_file_actions_to_them_and_the_workflows_own_folders() {
    let alq = Alq::new();
    alq.ws.write("in/a.txt", "from in");
    alq.ws.write("other/b.txt", "from other");
    alq.ws.write(
        "wf/wf.json",
        &workflow(&[
            step("file.read", r#""path": "../in/a.txt""#),
            step("file.read", r#""path": "data.txt""#),
            step(
                "file.write",
                r#""path": "{{ run.dir }}/out.txt", "text": "ok""#,
            ),
            step("file.read", r#""path": "../other/b.txt""#),
            step("file.read", r#""path": "../in/../other/b.txt""#),
            step("file.read", r#""path": "../alq/robot/robot.json""#),
        ]),
    );
    let (run, dir) = alq.run("in", &["wf/wf.json", "--allow-path", "in"]);
    run.expect_code(0);
    let errors = step_errors(&dir);
    let outside = "outside the folders this run may use";
    assert_refused(&errors, "steps[3]", "../other/b.txt", outside);
    assert!(errors[0].1.contains("--allow-path"), "{errors:?}");
    assert!(
        errors[0].1.contains(&alq.path("in").display().to_string()),
        "the allowed folders are named: {errors:?}"
    );
    assert_refused(&errors, "steps[4]", "../in/../other/b.txt", outside);
    // alq's own folders stay out of reach even inside an allowed root.
    assert_refused(
        &errors,
        "steps[5]",
        "../alq/robot/robot.json",
        "inside the robot's folder",
    );
    assert_eq!(errors.len(), 3, "{errors:?}");

    // An allowed root around alq's folders does not open them.
    let (run, dir) = alq.run("all", &["wf/wf.json", "--allow-path", "."]);
    run.expect_code(0);
    let errors = step_errors(&dir);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_refused(
        &errors,
        "steps[5]",
        "../alq/robot/robot.json",
        "inside the robot's folder",
    );
    assert_no_secret(&run, &dir);
}

#[test]
fn attachments_and_called_workflows_in_alq_folders_are_refused_unread() {
    let alq = Alq::new();
    alq.ws.write(
        "wf/mail.json",
        &workflow(&[step(
            "email.send",
            r#""smtp": {"host": "127.0.0.1", "port": 1, "tls": "none"}, "from": "a@example.com", "to": ["b@example.com"], "subject": "s", "text": "t", "attachments": ["data.txt", "../alq/robot/robot.json"]"#,
        )]),
    );
    let (run, dir) = alq.run("mail", &["wf/mail.json"]);
    run.expect_code(0);
    assert_refused(
        &step_errors(&dir),
        "steps[0]",
        "../alq/robot/robot.json",
        "inside the robot's folder",
    );
    assert_no_secret(&run, &dir);

    // A fixed `call` is refused when the workflow is loaded, before anything runs.
    alq.ws.write(
        "wf/call.json",
        r#"{"name": "c", "steps": [{"action": "call", "workflow": "../alq/robot/robot.json"}]}"#,
    );
    let (run, _) = alq.run("call", &["wf/call.json"]);
    run.expect_code(2)
        .stderr_has(&["steps[0].workflow", "inside the robot's folder"]);
    assert!(!run.stderr.contains(TOKEN), "{}", run.stderr);
    // One built by an expression, when it runs.
    alq.ws.write(
        "wf/call2.json",
        r#"{"name": "c", "inputs": {"w": {"type": "string", "default": "../alq/config/login.json"}},
            "steps": [{"action": "call", "workflow": "{{ inputs.w }}"}]}"#,
    );
    let (run, _) = alq.run("call2", &["wf/call2.json"]);
    run.expect_code(1)
        .stderr_has(&["`call` of `../alq/config/login.json`", "config folder"]);
    assert!(!run.stderr.contains(PAT), "{}", run.stderr);
}

#[test]
fn upload_download_screenshot_and_local_pages_in_alq_folders_are_refused() {
    if !have_chromedriver() {
        return;
    }
    let site = site::serve();
    let alq = Alq::new();
    alq.ws.write(
        "wf/page.html",
        &format!(
            r#"<!doctype html><html><body><input id="f" type="file">
<a id="dl" href="http://{site}/report.csv">report</a></body></html>"#
        ),
    );
    let robot_json = alq.path("alq/robot/robot.json");
    alq.ws.write(
        "wf/wf.json",
        &format!(
            r#"{{"name": "b", "defaults": {{"timeout_ms": 10000, "screenshot": "never"}}, "steps": [
  {{"action": "browser.open", "url": "file://{{{{ workflow.dir }}}}/page.html"}},
  {},
  {},
  {},
  {},
  {}
]}}"#,
            step(
                "browser.upload",
                r##""selector": "#f", "path": "../alq/robot/robot.json""##
            ),
            step(
                "browser.download",
                r##""selector": "#dl", "path": "../alq/robot/report.csv""##
            ),
            step("browser.screenshot", r#""path": "../alq/robot/shot.png""#),
            step(
                "browser.goto",
                &format!(r#""url": "file://{}""#, robot_json.display())
            ),
            step(
                "browser.upload",
                r##""selector": "#f", "path": "data.txt""##
            ),
        ),
    );
    let (run, dir) = alq.run("browser", &["wf/wf.json"]);
    run.expect_code(0);
    let errors = step_errors(&dir);
    let robot = "inside the robot's folder";
    assert_refused(&errors, "steps[1]", "../alq/robot/robot.json", robot);
    assert_refused(&errors, "steps[2]", "../alq/robot/report.csv", robot);
    assert_refused(&errors, "steps[3]", "../alq/robot/shot.png", robot);
    assert_refused(
        &errors,
        "steps[4]",
        &robot_json.display().to_string(),
        robot,
    );
    assert_eq!(errors.len(), 4, "{errors:?}");
    // The refused download was never started.
    let downloads = dir.join("downloads");
    assert!(
        std::fs::read_dir(&downloads).map_or(true, |mut d| d.next().is_none()),
        "nothing was downloaded"
    );
    let mut robot_files: Vec<String> = std::fs::read_dir(alq.path("alq/robot"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    robot_files.retain(|n| n != "robot.json");
    assert!(robot_files.is_empty(), "{robot_files:?}");
    assert_no_secret(&run, &dir);
}
