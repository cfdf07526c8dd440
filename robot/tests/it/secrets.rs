//! Secrets through the engine: a value computed from a secret is a secret wherever it is
//! shown (events, report, outputs, errors, written files), and actions that need it get
//! it in clear.

use std::sync::{Arc, Mutex};

use alq_robot::engine::{self, JobInfo, RunOptions, RunOutcome};
use alq_shared::events::RunStatus;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Map, Value, json};

const PASSWORD: &str = "Hunter2Secret";
const CREDENTIAL: &str = "Tr0ub4dor-pass";

/// What the engine wrote for a run.
struct Run {
    outcome: RunOutcome,
    /// `events.ndjson` as text.
    events_text: String,
    /// `report.html` as text.
    report: String,
    /// Every `log` message, in order.
    logs: Vec<String>,
    dir: tempfile::TempDir,
}

impl Run {
    /// Fails when any of `texts` shows up in the events, the report or the outcome.
    fn shows_none_of(&self, texts: &[&str]) {
        let outcome = format!("{:?} {:?}", self.outcome.outputs, self.outcome.error);
        for text in texts {
            for (what, shown) in [
                ("events.ndjson", &self.events_text),
                ("report.html", &self.report),
                ("the outcome", &outcome),
            ] {
                assert!(!shown.contains(text), "{what} shows {text:?}:\n{shown}");
            }
        }
    }

    /// The `step_finished` event of the step at `path`.
    fn finished(&self, path: &str) -> Value {
        let seq = self
            .outcome
            .events
            .iter()
            .map(|e| serde_json::to_value(e).expect("JSON"))
            .find(|e| e["event"] == "step_started" && e["path"] == path)
            .unwrap_or_else(|| panic!("no step {path}"))["seq"]
            .clone();
        self.outcome
            .events
            .iter()
            .map(|e| serde_json::to_value(e).expect("JSON"))
            .find(|e| e["event"] == "step_finished" && e["seq"] == seq)
            .expect("step_finished")
    }
}

/// Runs a workflow with the secret input `pw` and the credential asset `cred`.
async fn run(workflow: Value, options: impl FnOnce(&mut RunOptions)) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut source = workflow;
    source["inputs"]["pw"] = json!({"type": "string", "secret": true, "required": true});
    let path = dir.path().join("workflow.json");
    let loaded =
        alq_shared::workflow::load_str(&path, &source.to_string()).expect("valid workflow");
    let mut run_options = RunOptions::new(dir.path().join("run"));
    run_options.inputs = Map::from_iter([("pw".to_owned(), json!(PASSWORD))]);
    run_options.assets = Map::from_iter([(
        "cred".to_owned(),
        json!({"username": "robot1", "password": CREDENTIAL}),
    )]);
    options(&mut run_options);
    let outcome = engine::run(&loaded, run_options)
        .await
        .expect("the run starts");
    let run_dir = &outcome.run_dir;
    let events_text = std::fs::read_to_string(run_dir.join("events.ndjson")).expect("events");
    let report = std::fs::read_to_string(run_dir.join("report.html")).expect("report");
    let logs = outcome
        .events
        .iter()
        .map(|e| serde_json::to_value(e).expect("JSON"))
        .filter(|e| e["event"] == "log")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    Run {
        outcome,
        events_text,
        report,
        logs,
        dir,
    }
}

fn succeeded(run: &Run) {
    assert_eq!(
        run.outcome.status,
        RunStatus::Succeeded,
        "{:?}",
        run.outcome.error
    );
}

/// Everything a transformation below computes from the password, in clear.
fn derived() -> Vec<String> {
    let reversed: String = PASSWORD.chars().rev().collect();
    vec![
        PASSWORD.to_owned(),
        PASSWORD.to_uppercase(),
        PASSWORD.to_lowercase(),
        reversed,
        PASSWORD[1..].to_owned(),
        PASSWORD.replace('2', "two"),
        CREDENTIAL.to_owned(),
        CREDENTIAL.to_uppercase(),
    ]
}

#[tokio::test]
async fn every_transformation_of_a_secret_is_masked_in_logs() {
    let log = |message: &str| json!({"action": "log", "message": message});
    let run = run(
        json!({"name": "t", "steps": [
            log("upper {{ inputs.pw | upper }}"),
            log("{{ inputs.pw | reverse }}"),
            log("concat {{ 'x-' ~ inputs.pw ~ '-y' }} and {{ assets.cred.username }}"),
            log("slice {{ inputs.pw[1:] }} / {{ inputs.pw[:3] }}"),
            log("replace {{ inputs.pw | replace('2', 'two') }}"),
            log("{% if inputs.pw %}a statement reads it{% endif %}"),
            log("{{ assets.cred | tojson }}"),
            log("lower {{- ' ' ~ assets.cred.password | lower -}} !"),
            log("Hun is a short word"),
        ]}),
        |_| {},
    )
    .await;
    succeeded(&run);
    assert_eq!(
        run.logs,
        [
            "upper ***",
            "***",
            "concat *** and robot1",
            "slice *** / ***",
            "replace ***",
            "***",
            "***",
            "lower***!",
            // `inputs.pw[:3]` is too short to mask by value: its own field is masked,
            // the same letters elsewhere are not.
            "Hun is a short word",
        ]
    );
    let derived = derived();
    run.shows_none_of(&derived.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn variables_loops_and_outputs_carry_the_secret_along() {
    let run = run(
        json!({"name": "t",
        "outputs": {
            "token": "{{ vars.token }}",
            "cred": "{{ assets.cred }}",
            "user": "{{ assets.cred.username }}",
            "length": "{{ inputs.pw | length }}",
            "list": "{{ vars.list }}",
            "parsed": "{{ steps.parsed.output }}",
            "plain": "{{ vars.plain }}"
        },
        "steps": [
            {"action": "set", "vars": {
                "token": "{{ assets.cred.password | upper }}",
                "list": ["{{ inputs.pw | lower }}", "plain-item"],
                "copy": "{{ assets.cred }}",
                "plain": "{{ vars.copy.username }} ok"
            }},
            {"action": "log", "message": "token {{ vars.token }}, user {{ vars.copy.username }}"},
            {"action": "for_each", "items": "{{ vars.list }}", "as": "item", "steps": [
                {"action": "log", "message": "item {{ item }}"}
            ]},
            {"action": "for_each", "items": "{{ {'a': inputs.pw} }}", "as": "entry", "steps": [
                {"action": "log", "message": "entry {{ entry.key }}={{ entry.value }}"}
            ]},
            {"id": "parsed", "action": "json.parse",
             "text": "{{ {'k': inputs.pw | upper} | tojson }}"},
            {"action": "log", "message": "parsed {{ steps.parsed.output.k }}"}
        ]}),
        |_| {},
    )
    .await;
    succeeded(&run);
    assert_eq!(
        run.logs,
        [
            "token ***, user robot1",
            "item ***",
            "item plain-item",
            "entry ***=***",
            "parsed ***",
        ]
    );
    let outputs = &run.outcome.outputs;
    assert_eq!(outputs["token"], "***");
    assert_eq!(
        outputs["cred"],
        json!({"username": "robot1", "password": "***"})
    );
    assert_eq!(outputs["user"], "robot1");
    assert_eq!(outputs["length"], "***");
    assert_eq!(outputs["list"], json!(["***", "plain-item"]));
    assert_eq!(outputs["parsed"], "***");
    assert_eq!(outputs["plain"], "robot1 ok");
    assert_eq!(run.finished("steps[4]")["output"], "***");
    let derived = derived();
    run.shows_none_of(&derived.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn errors_built_from_a_secret_are_masked() {
    let run = run(
        json!({"name": "t", "steps": [
            {"action": "try",
             "steps": [{"action": "fail", "message": "rejected {{ inputs.pw | upper }} for {{ assets.cred.username }}"}],
             "catch": [{"action": "log", "message": "caught: {{ error.message }}"}]},
            {"action": "log", "message": "{{ inputs.pw | upper | int }}"}
        ]}),
        |_| {},
    )
    .await;
    assert_eq!(run.outcome.status, RunStatus::Failed);
    assert_eq!(run.logs, ["caught: rejected *** for robot1"]);
    let error = run.outcome.error.clone().expect("an error").message;
    assert!(
        error.contains("details not shown: the expression reads a secret"),
        "{error}"
    );
    let derived = derived();
    run.shows_none_of(&derived.iter().map(String::as_str).collect::<Vec<_>>());

    // A `fail` that ends the run shows its message masked too.
    let run = run_failing("{{ assets.cred.password | reverse }} was refused").await;
    let error = run.outcome.error.clone().expect("an error").message;
    assert!(error.ends_with("*** was refused"), "{error}");
    run.shows_none_of(&["ssap-rod4buorT"]);
}

async fn run_failing(message: &str) -> Run {
    run(
        json!({"name": "t", "steps": [{"action": "fail", "message": message}]}),
        |_| {},
    )
    .await
}

#[tokio::test]
async fn labels_and_action_errors_built_from_a_secret_are_masked() {
    let run = run(
        json!({"name": "t", "steps": [
            {"action": "http.request", "url": "http://127.0.0.1:1/{{ inputs.pw[:3] }}",
             "continue_on_error": true}
        ]}),
        |_| {},
    )
    .await;
    succeeded(&run);
    let started = run
        .outcome
        .events
        .iter()
        .map(|e| serde_json::to_value(e).expect("JSON"))
        .find(|e| e["event"] == "step_started")
        .expect("step_started");
    assert_eq!(started["label"], "http.request http://127.0.0.1:1/***");
    // The error quotes the URL the action was given: masked by value, though the part
    // computed from the secret is only 3 characters long.
    let error = run.finished("steps[0]")["error"]["message"]
        .as_str()
        .expect("an error")
        .to_owned();
    assert!(error.contains("***"), "{error}");
    run.shows_none_of(&["127.0.0.1:1/Hun"]);
    // The inputs are shown masked in `run_started`, whatever their type.
    let first = serde_json::to_value(&run.outcome.events[0]).expect("JSON");
    assert_eq!(first["inputs"]["pw"], "***");
}

#[test]
fn debug_cannot_dump_the_context() {
    // `debug()` would print every name with its value, without naming any of them.
    let source = json!({"name": "t", "steps": [{"action": "log", "message": "{{ debug() }}"}]});
    let error = alq_shared::workflow::load_str("t.json".as_ref(), &source.to_string())
        .expect_err("debug() is refused");
    assert!(
        error.to_string().contains("unknown name `debug`"),
        "{error}"
    );
}

#[tokio::test]
async fn files_written_get_the_masked_form() {
    let run = run(
        json!({"name": "t", "steps": [
            {"action": "file.write", "path": "{{ run.dir }}/a.txt",
             "text": "user {{ assets.cred.username }} password {{ assets.cred.password | upper }}"},
            {"action": "file.write", "path": "{{ run.dir }}/b.json",
             "json": {"p": "{{ inputs.pw }}", "q": "plain"}},
            {"action": "csv.write", "path": "{{ run.dir }}/c.csv",
             "rows": [{"p": "{{ inputs.pw | lower }}", "q": "plain"}]}
        ]}),
        |_| {},
    )
    .await;
    succeeded(&run);
    let dir = &run.outcome.run_dir;
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
    assert_eq!(read("a.txt"), "user robot1 password ***");
    let b: Value = serde_json::from_str(&read("b.json")).expect("JSON");
    assert_eq!(b, json!({"p": "***", "q": "plain"}));
    assert_eq!(read("c.csv"), "p,q\n***,plain\n");
    let _ = &run.dir;
}

#[tokio::test]
async fn actions_that_need_the_secret_get_it_in_clear() {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/login",
        post(move |headers: HeaderMap, body: String| {
            let record = record.clone();
            async move {
                let key = headers
                    .get("x-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                record.lock().expect("lock").push((key.clone(), body));
                // Echoes the key back, as a careless server might.
                axum::Json(json!({"echo": key, "ok": true}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/login", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let run = run(
        json!({"name": "t",
        "outputs": {"ok": "{{ steps.login.output.json.ok }}", "shell": "{{ vars.shell }}"},
        "steps": [
            {"id": "login", "action": "http.request", "method": "POST", "url": url,
             "headers": {"X-Key": "{{ inputs.pw | upper }}"},
             "json": {"p": "{{ inputs.pw | reverse }}"}},
            {"id": "sh", "action": "shell.run", "command": "printf '%s' \"$PW\"",
             "env": {"PW": "{{ inputs.pw | lower }}"}},
            {"action": "if", "condition": "steps.sh.output.stdout == inputs.pw | lower",
             "then": [{"action": "set", "vars": {"shell": "got it in clear"}}],
             "else": [{"action": "set", "vars": {"shell": "did not get it"}}]}
        ]}),
        |options| options.allow_shell = true,
    )
    .await;
    succeeded(&run);
    let reversed: String = PASSWORD.chars().rev().collect();
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, PASSWORD.to_uppercase());
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].1).expect("JSON body"),
        json!({"p": reversed})
    );
    assert_eq!(run.outcome.outputs["ok"], true);
    assert_eq!(run.outcome.outputs["shell"], "got it in clear");
    // The response is not secret as a whole, but the echoed key is masked by value; the
    // shell's output is computed from what it was given: secret.
    assert_eq!(run.finished("steps[0]")["output"]["json"]["echo"], "***");
    assert_eq!(run.finished("steps[1]")["output"], "***");
    let derived = derived();
    run.shows_none_of(&derived.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_called_workflow_keeps_secrets_secret_both_ways() {
    let dir = tempfile::tempdir().expect("temp dir");
    let callee = dir.path().join("callee.json");
    std::fs::write(
        &callee,
        json!({"name": "callee",
            "inputs": {"given": {"type": "string"}, "plain": {"type": "string"}},
            "outputs": {"made": "{{ inputs.given | upper }}", "plain": "{{ inputs.plain }}"},
            "steps": [{"action": "log", "message": "callee got {{ inputs.given }} and {{ inputs.plain }}"}]})
        .to_string(),
    )
    .expect("write");
    let callee_path = callee.display().to_string();
    let run = run(
        json!({"name": "t", "steps": [
            {"id": "sub", "action": "call", "workflow": callee_path,
             "inputs": {"given": "{{ inputs.pw }}", "plain": "visible"}},
            {"action": "log", "message": "back: {{ steps.sub.output.made }} {{ steps.sub.output.plain }}"}
        ]}),
        |_| {},
    )
    .await;
    succeeded(&run);
    assert_eq!(
        run.logs,
        ["callee got *** and visible", "back: *** visible"]
    );
    assert_eq!(
        run.finished("steps[0]")["output"],
        json!({"made": "***", "plain": "visible"})
    );
    let derived = derived();
    run.shows_none_of(&derived.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn job_and_run_identity_are_in_expressions() {
    let workflow = json!({"name": "t",
        "outputs": {"job": "{{ job.id }}", "attempt": "{{ job.attempt }}", "run": "{{ run.id }}"},
        "steps": []});
    let local = run(workflow.clone(), |_| {}).await;
    succeeded(&local);
    assert_eq!(local.outcome.outputs["job"], Value::Null);
    assert_eq!(local.outcome.outputs["attempt"], 1);
    assert_eq!(local.outcome.outputs["run"], "run");

    let robot = run(workflow, |options| {
        options.job = Some(JobInfo { id: 42, attempt: 3 });
        options.run_id = Some("42-3".into());
    })
    .await;
    succeeded(&robot);
    assert_eq!(robot.outcome.outputs["job"], 42);
    assert_eq!(robot.outcome.outputs["attempt"], 3);
    assert_eq!(robot.outcome.outputs["run"], "42-3");
}

#[tokio::test]
async fn the_browser_gets_the_secret_in_clear_and_shows_it_masked() {
    if crate::common::program("ALQ_CHROMEDRIVER", "chromedriver").is_none() {
        return;
    }
    let site = crate::site::start().await;
    let run = run(
        json!({"name": "t",
            "outputs": {"ok": "{{ vars.ok }}"},
            "steps": [
                {"action": "browser.open", "url": site.url("/form")},
                {"action": "browser.type", "selector": "#name", "text": "{{ inputs.pw | upper }}", "clear": true},
                {"id": "typed", "action": "browser.extract", "selector": "#name", "property": "value"},
                {"id": "reversed", "action": "browser.script",
                 "script": "return arguments[0].split('').reverse().join('')",
                 "args": ["{{ inputs.pw | upper }}"]},
                {"action": "if",
                 "condition": "steps.typed.output == inputs.pw | upper and steps.reversed.output == inputs.pw | upper | reverse",
                 "then": [{"action": "set", "vars": {"ok": "typed and passed in clear"}}],
                 "else": [{"action": "set", "vars": {"ok": "not in clear"}}]},
                {"action": "browser.close"}
            ]}),
        |_| {},
    )
    .await;
    succeeded(&run);
    assert_eq!(run.outcome.outputs["ok"], "typed and passed in clear");
    // The page's value is masked by value, the script's result because it was computed
    // from a secret.
    assert_eq!(run.finished("steps[2]")["output"], "***");
    assert_eq!(run.finished("steps[3]")["output"], "***");
    let derived = derived();
    run.shows_none_of(&derived.iter().map(String::as_str).collect::<Vec<_>>());
}
