//! No browser outlives `alq run`: SIGTERM stops it like Ctrl-C (report written, browser
//! closed, exit 143), and after SIGKILL its chromedriver and Chromium die with it and the
//! next start of alq removes its profile folder.

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use crate::common::processes::{
    count_browsers, profiles_of, signal, users_of, wait_no_browsers, wait_until,
};
use crate::common::{Workspace, have_chromedriver, spawn_until_step};
use crate::site;

/// How long the processes of a stopped run may take to go.
const LIMIT: Duration = Duration::from_secs(20);

/// Starts `alq run` on a workflow whose second step waits a minute for an element that
/// never comes, and returns once that step runs, with the run's profile folder (checked
/// to be in use by a chromedriver and a Chromium, so the counts below can see them).
fn start_waiting_run(ws: &Workspace) -> (Child, PathBuf) {
    let addr = site::serve();
    ws.write(
        "wf.json",
        &format!(
            r##"{{"name": "waits", "steps": [
            {{"action": "browser.open", "url": "http://{addr}/form"}},
            {{"action": "browser.wait_for", "selector": "#never", "timeout_ms": 60000}}]}}"##
        ),
    );
    let child = spawn_until_step(ws, "wf.json", "browser.wait_for");
    let profiles = profiles_of(child.id());
    assert_eq!(
        profiles.len(),
        1,
        "one profile folder with alq's owner file"
    );
    let profile = profiles.into_iter().next().expect("a profile");
    let (drivers, chromiums) = count_browsers(&profile);
    assert_eq!(drivers, 1, "chromedriver runs: {:?}", users_of(&profile));
    assert!(chromiums >= 1, "Chromium runs: {:?}", users_of(&profile));
    (child, profile)
}

#[test]
fn sigterm_during_a_browser_step_writes_the_report_closes_the_browser_and_exits_143() {
    if !have_chromedriver() {
        return;
    }
    let ws = Workspace::new();
    let (child, profile) = start_waiting_run(&ws);
    signal(child.id(), "-TERM");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    let dir = ws.run_dir();
    assert!(dir.join("report.html").is_file(), "the report is written");
    let end = crate::common::events(&dir).pop().unwrap();
    assert_eq!(end["status"], "cancelled", "{end}");
    wait_no_browsers(std::slice::from_ref(&profile), LIMIT);
    assert!(!profile.exists(), "the profile folder is removed");
}

#[test]
fn after_sigkill_the_browser_dies_and_the_next_start_removes_its_folder() {
    if !have_chromedriver() {
        return;
    }
    let ws = Workspace::new();
    let (mut child, profile) = start_waiting_run(&ws);
    signal(child.id(), "-KILL");
    child.wait().unwrap();
    // chromedriver dies with alq (parent-death signal), Chromium with chromedriver.
    wait_no_browsers(std::slice::from_ref(&profile), LIMIT);
    // The next start of alq, with a workflow that opens no browser, sweeps the folder.
    let next = Workspace::new();
    next.write(
        "wf.json",
        r#"{"name": "next", "steps": [{"action": "log", "message": "hi"}]}"#,
    );
    let run = next.alq(&["run", "wf.json"]);
    run.expect_code(0);
    // Another alq starting in parallel may be removing it too: wait for the end of that.
    wait_until("the removal of the killed run's folder", LIMIT, || {
        if profile.exists() {
            let left: Vec<_> = std::fs::read_dir(&profile)
                .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            Err(format!("it holds {left:?}\n{}", run.stderr))
        } else {
            Ok(())
        }
    });
}

#[test]
fn a_second_sigterm_quits_at_once_and_still_leaves_no_browser() {
    if !have_chromedriver() {
        return;
    }
    let ws = Workspace::new();
    let (child, profile) = start_waiting_run(&ws);
    signal(child.id(), "-TERM");
    signal(child.id(), "-TERM");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    wait_no_browsers(std::slice::from_ref(&profile), LIMIT);
    assert!(!profile.exists(), "the profile folder is removed");
}
