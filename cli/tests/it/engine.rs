//! The engine through `alq run`, without a browser: control flow, expressions, outputs,
//! failures, secrets, the run folder and cancellation.

use crate::common::{Workspace, events};

fn finished(events: &[serde_json::Value]) -> &serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == "run_finished")
        .expect("run_finished event")
}

#[test]
fn control_flow_and_expressions_produce_outputs() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{
  "name": "flow",
  "inputs": {"limit": {"type": "integer", "default": 10}, "who": {"type": "string", "required": true}},
  "outputs": {"total": "{{ vars.total }}", "names": "{{ vars.names }}", "greeting": "hi {{ inputs.who }}", "sub": "{{ steps.sub.output }}"},
  "steps": [
    {"action": "set", "vars": {"total": 0, "names": [], "list": [1, 2, 3]}},
    {"action": "for_each", "items": "{{ vars.list }}", "as": "x", "steps": [
      {"action": "set", "vars": {"total": "{{ vars.total + x }}", "names": "{{ vars.names + ['n' ~ loop.index] }}"}}
    ]},
    {"action": "if", "condition": "vars.total == 6", "then": [{"action": "set", "vars": {"branch": "then"}}],
     "else": [{"action": "fail", "message": "wrong total {{ vars.total }}"}]},
    {"action": "while", "condition": "vars.total < inputs.limit", "steps": [
      {"action": "set", "vars": {"total": "{{ vars.total + 1 }}"}}
    ]},
    {"action": "log", "message": "never", "when": "vars.total != inputs.limit"},
    {"id": "sub", "action": "call", "workflow": "sub/double.json", "inputs": {"n": "{{ vars.total }}"}}
  ]
}"#,
    );
    ws.write(
        "sub/double.json",
        r#"{"name": "double", "inputs": {"n": {"type": "integer", "required": true}},
            "outputs": {"doubled": "{{ inputs.n * 2 }}", "dir_name": "{{ workflow.dir }}"},
            "steps": [{"action": "log", "message": "doubling {{ inputs.n }}"}]}"#,
    );
    let run = ws.alq(&[
        "run", "wf.json", "--input", "who=Ada", "--input", "limit=12",
    ]);
    run.expect_code(0)
        .stderr_has(&["flow succeeded", "report: ", "doubling 12"]);
    let dir = ws.run_dir();
    assert!(
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-flow")
    );
    assert!(dir.join("report.html").is_file());
    let events = events(&dir);
    let end = finished(&events);
    assert_eq!(end["status"], "succeeded");
    assert_eq!(end["outputs"]["total"], 12);
    assert_eq!(
        end["outputs"]["names"],
        serde_json::json!(["n1", "n2", "n3"])
    );
    assert_eq!(end["outputs"]["greeting"], "hi Ada");
    assert_eq!(end["outputs"]["sub"]["doubled"], 24);
    assert!(
        end["outputs"]["sub"]["dir_name"]
            .as_str()
            .unwrap()
            .ends_with("sub")
    );
    let skipped: Vec<_> = events.iter().filter(|e| e["status"] == "skipped").collect();
    assert_eq!(skipped.len(), 1, "the `when: false` step is skipped");
    // Every started step finishes, nested ones carry their parent.
    let started = events
        .iter()
        .filter(|e| e["event"] == "step_started")
        .count();
    let ended = events
        .iter()
        .filter(|e| e["event"] == "step_finished")
        .count();
    assert_eq!(started, ended);
    assert!(events.iter().any(|e| e["event"] == "step_started"
        && e["path"] == "steps[1].steps[0]"
        && e["parent"] == 2));
}

#[test]
fn a_failing_step_fails_the_run_with_exit_1_and_names_the_step() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "bad", "steps": [
  {"action": "log", "message": "first"},
  {"action": "fail", "message": "invoice {{ 40 + 2 }} is not valid"},
  {"action": "log", "message": "never reached"}
]}"#,
    );
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(1).stderr_has(&[
        "bad failed",
        "step #2 (steps[1], fail): invoice 42 is not valid",
    ]);
    assert!(!run.stderr.contains("never reached"));
    let events = events(&ws.run_dir());
    let end = finished(&events);
    assert_eq!(end["status"], "failed");
    assert_eq!(end["error"]["type"], "business");
    assert_eq!(end["error"]["step"], "steps[1]");
    assert_eq!(end["error"]["seq"], 2);
    assert!(ws.run_dir().join("report.html").is_file());
}

#[test]
fn runtime_expression_errors_fail_the_step() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [{"action": "log", "message": "{{ vars.missing.deeper }}"}]}"#,
    );
    ws.alq(&["run", "wf.json"])
        .expect_code(1)
        .stderr_has(&["step #1 (steps[0], log)", "vars.missing"]);
}

#[test]
fn try_catch_finally_retry_and_continue_on_error() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "outputs": {"log": "{{ vars.log }}"}, "steps": [
  {"action": "set", "vars": {"log": []}},
  {"action": "try",
   "steps": [{"action": "fail", "message": "boom", "type": "application"}],
   "catch": [{"action": "set", "vars": {"log": "{{ vars.log + ['caught ' ~ error.message ~ ' at ' ~ error.step ~ ' ' ~ error.type] }}"}}],
   "finally": [{"action": "set", "vars": {"log": "{{ vars.log + ['finally'] }}"}}]},
  {"id": "flaky", "action": "file.read", "path": "missing.txt", "retry": {"attempts": 3, "delay_ms": 10, "backoff": 2},
   "continue_on_error": true},
  {"action": "set", "vars": {"log": "{{ vars.log + [steps.flaky.status] }}"}}
]}"#,
    );
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(0).stderr_has(&[
        "(3 attempts)",
        "ignored: step #6 (steps[2], file.read missing.txt)",
    ]);
    let events = events(&ws.run_dir());
    assert_eq!(
        finished(&events)["outputs"]["log"],
        serde_json::json!([
            "caught boom at steps[1].steps[0] application",
            "finally",
            "failed"
        ])
    );
    assert!(
        events
            .iter()
            .any(|e| e["status"] == "failed_ignored" && e["attempts"] == 3)
    );
}

#[test]
fn business_failures_are_not_retried_and_while_is_bounded() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [
  {"action": "fail", "message": "bad data", "retry": {"attempts": 5, "delay_ms": 1}, "continue_on_error": true},
  {"action": "while", "condition": "true", "max_iterations": 3, "steps": [{"action": "log", "message": "again {{ loop.index }}"}]}
]}"#,
    );
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(1)
        .stderr_has(&["again 3", "still holds after max_iterations (3)"]);
    let events = events(&ws.run_dir());
    assert!(
        events
            .iter()
            .any(|e| e["status"] == "failed_ignored" && e["attempts"] == 1)
    );
}

#[test]
fn step_timeout_stops_a_slow_step() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [{"action": "sleep", "ms": 5000, "timeout_ms": 200}]}"#,
    );
    ws.alq(&["run", "wf.json"])
        .expect_code(1)
        .stderr_has(&["timed out after 200ms"]);
}

#[test]
fn secrets_are_masked_everywhere() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "inputs": {"password": {"type": "string", "secret": true, "required": true}},
            "steps": [{"action": "log", "message": "logging in with {{ inputs.password }}"},
                      {"action": "fail", "message": "rejected {{ inputs.password }}"}]}"#,
    );
    let run = ws.alq(&["run", "wf.json", "--input", "password=hunter2"]);
    run.expect_code(1)
        .stderr_has(&["logging in with ***", "rejected ***"]);
    assert!(!run.stderr.contains("hunter2"));
    let dir = ws.run_dir();
    for file in ["events.ndjson", "report.html"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(!text.contains("hunter2"), "{file} shows the secret");
    }
}

#[test]
fn json_mode_prints_events_and_out_chooses_the_folder() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [{"action": "log", "message": "hello"}]}"#,
    );
    let run = ws.alq(&["run", "wf.json", "--json", "--out", "my-run"]);
    run.expect_code(0);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.first().unwrap()["event"], "run_started");
    assert_eq!(lines.last().unwrap()["event"], "run_finished");
    assert!(
        lines
            .iter()
            .any(|e| e["event"] == "log" && e["message"] == "hello")
    );
    assert!(ws.path().join("my-run/events.ndjson").is_file());
    assert!(ws.path().join("my-run/report.html").is_file());
}

#[test]
fn unwritable_run_folder_is_a_clear_error() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [{"action": "log", "message": "hello"}]}"#,
    );
    ws.write("file", "not a folder");
    ws.alq(&["run", "wf.json", "--out", "file/run"])
        .expect_code(2)
        .stderr_has(&["cannot write the run folder"]);
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_at_the_next_step_and_still_writes_the_report() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [{"action": "log", "message": "started"}, {"action": "sleep", "ms": 30000}, {"action": "log", "message": "after"}]}"#,
    );
    let child = crate::common::spawn_until_step(&ws, "wf.json", "sleep");
    crate::common::interrupt(child.id());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let events = events(&ws.run_dir());
    assert_eq!(finished(&events)["status"], "cancelled");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("after"));
    assert!(ws.run_dir().join("report.html").is_file());
}

#[test]
fn shell_steps_need_allow_shell() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "outputs": {"said": "{{ steps.echo.output.stdout | trim }}"},
            "steps": [{"id": "echo", "action": "shell.run", "command": "echo hello"}]}"#,
    );
    ws.alq(&["run", "wf.json"])
        .expect_code(1)
        .stderr_has(&["pass --allow-shell"]);
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "outputs": {"said": "{{ steps.echo.output.stdout | trim }}"},
            "steps": [{"id": "echo", "action": "shell.run", "command": "echo hello"}]}"#,
    );
    ws.alq(&["run", "wf.json", "--allow-shell"]).expect_code(0);
    assert_eq!(
        events(&ws.run_dir()).last().unwrap()["outputs"]["said"],
        "hello"
    );
}

#[test]
fn assets_are_read_from_the_assets_file_and_credentials_are_masked() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "outputs": {"who": "{{ assets.erp.username }}", "url": "{{ assets['erp-url'] }}"},
            "steps": [{"action": "log", "message": "signing in as {{ assets.erp.username }} with {{ assets.erp.password }}"}]}"#,
    );
    ws.write(
        "assets.json",
        r#"{"erp": {"username": "robot1", "password": "Tr0ub4dor"}, "erp-url": "https://erp.example"}"#,
    );
    let run = ws.alq(&["run", "wf.json", "--assets-file", "assets.json"]);
    run.expect_code(0)
        .stderr_has(&["signing in as robot1 with ***"]);
    assert!(!run.stderr.contains("Tr0ub4dor"));
    let text = std::fs::read_to_string(ws.run_dir().join("events.ndjson")).unwrap();
    assert!(!text.contains("Tr0ub4dor"), "events show the password");
    let end = events(&ws.run_dir()).pop().unwrap();
    assert_eq!(end["outputs"]["who"], "robot1");
    assert_eq!(end["outputs"]["url"], "https://erp.example");
    // A missing asset is a failure naming it; a bad file is a usage error.
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [{"action": "log", "message": "{{ assets.nope }}"}]}"#,
    );
    ws.alq(&["run", "wf.json"])
        .expect_code(1)
        .stderr_has(&["assets.nope"]);
    ws.write("assets.json", "[]");
    ws.alq(&["run", "wf.json", "--assets-file", "assets.json"])
        .expect_code(2)
        .stderr_has(&["the assets file assets.json must hold a JSON object"]);
}

/// Nested steps as `alq run` prints them (stderr is not a terminal here: one plain line
/// per step): the parent's heading first, its children indented below it, its result
/// after them; a failure caught by `try` is shown as handled, and numbered as the
/// report numbers it.
#[test]
fn a_parent_is_shown_before_its_children_and_a_caught_failure_as_handled() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "caught", "steps": [
  {"action": "log", "message": "first"},
  {"action": "try",
   "steps": [
     {"action": "if", "condition": "true", "then": [
       {"action": "fail", "message": "boom"}
     ]}
   ],
   "catch": [{"action": "log", "message": "caught {{ error.message }}"}]},
  {"action": "log", "message": "after"}
]}"#,
    );
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(0).stderr_has(&["caught succeeded"]);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let at = |wanted: &str| {
        lines
            .iter()
            .position(|line| line.starts_with(wanted))
            .unwrap_or_else(|| panic!("no line starts with {wanted:?} in:\n{}", run.stderr))
    };
    let order = [
        at("✓ #1 log"),
        at("▸ #2 try"),
        at("  ▸ #3 if"),
        at("    ! #4 fail"),
        at("        handled: step #4 (steps[1].steps[0].then[0], fail): boom"),
        at("  ! #3 if"),
        at("    · caught boom"),
        at("  ✓ #5 log"),
        at("✓ #2 try"),
        at("✓ #6 log"),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "lines out of order ({order:?}):\n{}",
        run.stderr
    );

    assert_eq!(
        run.stderr.matches("handled: ").count(),
        1,
        "a handled failure is told once, where it happened:\n{}",
        run.stderr
    );

    let events = events(&ws.run_dir());
    let status = |seq: u64| {
        events
            .iter()
            .find(|e| e["event"] == "step_finished" && e["seq"] == seq)
            .map(|e| e["status"].clone())
            .unwrap_or_default()
    };
    assert_eq!(status(4), "handled", "the caught failure");
    assert_eq!(status(3), "handled", "the `if` the failure went through");
    assert_eq!(status(2), "succeeded", "the `try` that caught it");

    // The report counts what a user calls a failure: none.
    let report = std::fs::read_to_string(ws.run_dir().join("report.html")).unwrap();
    for chip in ["4 succeeded", "0 failed", "2 handled"] {
        assert!(
            report.contains(&format!("\">{chip}</span>")),
            "the report's counts lack {chip:?}"
        );
    }
    assert!(
        !report.contains("class=\"step st-failed\""),
        "no step shows as failed"
    );
}

/// A failure that ends the run is named with the step's number, as progress lines and
/// the report show it, and its path in the file; inside a loop each pass has its own
/// number.
#[test]
fn a_failure_in_a_loop_names_the_step_number_the_user_saw() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "loop", "steps": [
  {"action": "for_each", "items": [1, 2, 3], "steps": [
    {"action": "fail", "message": "item {{ item }} is bad", "when": "item == 2"}
  ]}
]}"#,
    );
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(1).stderr_has(&[
        "  - #2 fail",
        "  ✗ #3 fail",
        "step #3 (steps[0].steps[0], fail): item 2 is bad",
    ]);
    let events = events(&ws.run_dir());
    let end = finished(&events);
    assert_eq!(end["error"]["seq"], 3);
    assert_eq!(end["error"]["step"], "steps[0].steps[0]");
    let report = std::fs::read_to_string(ws.run_dir().join("report.html")).unwrap();
    assert!(
        report.contains("at <a href=\"#step-3\">step #3</a> (<code>steps[0].steps[0]</code>)"),
        "the report names the step as its tree does"
    );
}

/// A `try` cut off by its own timeout stops handling failures: the failure of a later
/// step is a failure again.
#[test]
fn a_timed_out_try_handles_nothing_after_it() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r#"{"name": "x", "steps": [
  {"action": "try", "timeout_ms": 300, "continue_on_error": true,
   "steps": [{"action": "sleep", "ms": 60000}],
   "catch": [{"action": "log", "message": "never"}]},
  {"action": "fail", "message": "real"}
]}"#,
    );
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(1)
        .stderr_has(&["! #1 try", "✗ #3 fail", "step #3 (steps[1], fail): real"]);
    let events = events(&ws.run_dir());
    assert!(
        events
            .iter()
            .any(|e| e["seq"] == 3 && e["status"] == "failed"),
        "the later failure is not handled"
    );
}
