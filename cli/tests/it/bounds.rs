//! Bounded work: workflow files that are not regular files or are too large are refused
//! by `alq validate`, `alq run` and `alq workflow push`; a byte-order mark is ignored;
//! `while` stops at its timeout and its iteration limit; a run stops at its event limit.

// Test code: a panic is the failure message.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::common::control_plane::{Server, User};
use crate::common::{Workspace, events};

/// `validate`, `run` and `workflow push` of `path`: each exits 2 with `expected`, and
/// no run starts.
fn refused_everywhere(ws: &Workspace, path: &Path, expected: &[&str]) {
    let path = path.to_str().unwrap();
    for command in [
        &["validate", path][..],
        &["run", path][..],
        &["workflow", "push", path][..],
    ] {
        ws.alq(command).expect_code(2).stderr_has(expected);
    }
    assert!(!ws.path().join("runs").exists(), "no run started");
}

#[cfg(unix)]
#[test]
fn devices_pipes_and_folders_are_refused_unopened() {
    let ws = Workspace::new();
    refused_everywhere(
        &ws,
        Path::new("/dev/zero"),
        &[
            "/dev/zero: the workflow file is a character device",
            "not a regular file",
        ],
    );
    // Opening a pipe without a writer would wait forever: it is never opened.
    let fifo = ws.path().join("pipe.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    refused_everywhere(
        &ws,
        &fifo,
        &["pipe.json: the workflow file is a named pipe (FIFO)"],
    );
    // A folder stands for its `workflow.json`: here that is a folder too.
    std::fs::create_dir_all(ws.path().join("dir/workflow.json")).unwrap();
    refused_everywhere(
        &ws,
        &ws.path().join("dir"),
        &["workflow.json: the workflow file is a folder, not a regular file"],
    );
}

#[test]
fn a_workflow_file_over_10_mib_is_refused() {
    let ws = Workspace::new();
    let padding = " ".repeat(10 * 1024 * 1024);
    let path = ws.write(
        "big/workflow.json",
        &format!(r#"{{"name": "big", "steps": [{{"action": "log", "message": "x"}}]}}{padding}"#),
    );
    let size = std::fs::metadata(&path).unwrap().len();
    let expected = format!("the workflow file is {size} bytes, over the limit of 10485760 bytes");
    refused_everywhere(&ws, &path, &[&expected]);
    // A called file over the limit too.
    ws.write(
        "caller/workflow.json",
        r#"{"name": "caller", "steps": [{"action": "call", "workflow": "big.json"}]}"#,
    );
    std::fs::copy(&path, ws.path().join("caller/big.json")).unwrap();
    refused_everywhere(
        &ws,
        &ws.path().join("caller/workflow.json"),
        &["big.json", "over the limit of 10485760 bytes"],
    );
}

#[test]
fn a_workflow_file_with_a_byte_order_mark_is_read_as_if_it_had_none() {
    let server = Server::start();
    let user = User::logged_in(&server);
    let source = "\u{feff}{\"name\": \"bom\",\n  \"steps\": [\n    {\"action\": \"log\", \"message\": \"no mark\"}\n  ]\n}\n";
    user.ws.write("bom/workflow.json", source);
    user.ws.write(
        "bom/sub.json",
        "\u{feff}{\"name\": \"sub\", \"steps\": [{\"action\": \"log\", \"message\": \"sub\"}]}",
    );
    user.alq(&["validate", "bom"])
        .expect_code(0)
        .stdout_has(&["valid (1 steps)"]);
    user.alq(&["run", "bom"])
        .expect_code(0)
        .stderr_has(&["no mark"]);
    user.alq(&["workflow", "push", "bom"])
        .expect_code(0)
        .stdout_has(&["Pushed workflow bom"]);
    // Problems are placed as in the file without the mark.
    user.ws.write(
        "bad/workflow.json",
        "\u{feff}{\"name\": \"bad\",\n  \"steps\": [\n    {\"action\": \"lg\"}\n  ]\n}\n",
    );
    for command in [&["validate", "bad"][..], &["workflow", "push", "bad"][..]] {
        user.alq(command)
            .expect_code(2)
            .stderr_has(&["workflow.json:3:", "unknown action `lg`"]);
    }
}

#[test]
fn max_iterations_over_the_limit_is_refused() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "w", "steps": [{"action": "while", "condition": "true", "max_iterations": 100001,
            "steps": [{"action": "set", "vars": {"a": 1}}]}]}"#,
    );
    for command in [&["validate", "wf.json"][..], &["run", "wf.json"][..]] {
        ws.alq(command).expect_code(2).stderr_has(&[
            "steps[0].max_iterations",
            "is 100001, over the limit of 100000",
        ]);
    }
    ws.write(
        "ok.json",
        r#"{"name": "w", "steps": [{"action": "while", "condition": "true", "max_iterations": 100000,
            "steps": [{"action": "set", "vars": {"a": 1}}]}]}"#,
    );
    ws.alq(&["validate", "ok.json"]).expect_code(0);
}

#[test]
fn a_while_stops_at_its_timeout_even_when_its_steps_never_wait() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "spin", "steps": [{"action": "while", "condition": "true", "max_iterations": 100000,
            "timeout_ms": 300, "steps": [{"action": "set", "vars": {"n": "{{ loop.index }}"}}]}]}"#,
    );
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(1).stderr_has(&["steps[0]", "300ms"]);
    assert!(!run.stderr.contains("max_iterations"), "{}", run.stderr);
    let events = events(&ws.run_dir());
    let end = events.last().unwrap();
    assert_eq!(end["event"], "run_finished");
    assert_eq!(end["status"], "failed");
}

#[test]
fn a_run_stops_at_the_event_limit_and_nothing_swallows_it() {
    let ws = Workspace::new();
    // Two events per iteration: the limit of 100000 comes long before the last one, and
    // `continue_on_error` cannot let the run go on or succeed.
    ws.write(
        "wf.json",
        r#"{"name": "chatty", "steps": [
            {"action": "while", "condition": "true", "max_iterations": 100000, "continue_on_error": true,
             "steps": [{"action": "set", "vars": {"n": 1}}]},
            {"action": "log", "message": "after the loop", "continue_on_error": true}]}"#,
    );
    let run = ws.alq(&["run", "wf.json", "--json"]);
    run.expect_code(1);
    let events = events(&ws.run_dir());
    assert!(
        (100_000..100_010).contains(&events.len()),
        "{} events",
        events.len()
    );
    let end = events.last().unwrap();
    assert_eq!(end["event"], "run_finished");
    assert_eq!(end["status"], "failed");
    let message = end["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the run was stopped at 100000 events, the most one run may record"),
        "{message}"
    );
    assert!(
        !run.stdout.contains("after the loop"),
        "no step ran after it"
    );
    // Every event that was recorded was also shown: none were dropped.
    assert_eq!(run.stdout.lines().count(), events.len());
}
