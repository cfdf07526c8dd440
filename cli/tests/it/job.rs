//! `alq job ...` against the API contract (the stub until the jobs endpoints land).

use serde_json::{Value, json};

use crate::common::Run;
use crate::common::api_stub::ApiStub;
use crate::common::control_plane::User;

fn alq(stub: &ApiStub, user: &User, args: &[&str]) -> Run {
    user.alq_with(args, &stub.env(), "")
}

#[test]
fn start_converts_inputs_to_the_declared_types_and_sends_the_contract_body() {
    let stub = ApiStub::start();
    let user = User::new();
    user.ws
        .write("inputs.json", r#"{"count": 1, "region": "eu"}"#);
    alq(
        &stub,
        &user,
        &[
            "job",
            "start",
            "hello",
            "--inputs-file",
            "inputs.json",
            "--input",
            "count=7",
            "--input",
            "loud=yes",
            "--input",
            "extra=[1,2]",
            "--input",
            "note=hi there",
            "--priority",
            "5",
            "--labels",
            "linux,chromium",
            "--max-attempts",
            "4",
        ],
    )
    .expect_code(0)
    .stdout_has(&["Started job job-1 of hello (pending)"]);
    let changes = stub.changes("/api/v1/jobs");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        changes[0].2,
        json!({
            "workflow": "hello",
            "inputs": {"count": 7, "region": "eu", "loud": true, "extra": [1, 2], "note": "hi there"},
            "priority": 5,
            "labels": ["linux", "chromium"],
            "max_attempts": 4
        })
    );
}

#[test]
fn an_input_that_does_not_fit_its_type_is_refused_before_sending() {
    let stub = ApiStub::start();
    let user = User::new();
    alq(
        &stub,
        &user,
        &["job", "start", "hello", "--input", "count=many"],
    )
    .expect_code(2)
    .stderr_has(&["input `count`", "`many` is not an integer"]);
    alq(&stub, &user, &["job", "start", "hello", "--input", "count"])
        .expect_code(2)
        .stderr_has(&["must be NAME=VALUE"]);
    assert!(stub.changes("/api/v1/jobs").is_empty());
}

#[test]
fn an_unknown_workflow_is_the_servers_404() {
    let stub = ApiStub::start();
    alq(&stub, &User::new(), &["job", "start", "nope"])
        .expect_code(1)
        .stderr_has(&["(404)", "no workflow `nope`"]);
}

#[test]
fn wait_exits_0_when_the_job_succeeds_and_1_when_it_fails() {
    let stub = ApiStub::start();
    let user = User::new();
    alq(&stub, &user, &["job", "start", "hello", "--wait"])
        .expect_code(0)
        .stderr_has(&["pending", "running (attempt 1 of 3)", "succeeded"])
        .stdout_has(&["Job job-1 succeeded.", "\"total\":42"]);
    alq(
        &stub,
        &user,
        &["job", "start", "hello", "--input", "fail=true", "--wait"],
    )
    .expect_code(1)
    .stdout_has(&["Job job-2 failed.", "the invoice was rejected"]);

    let run = alq(&stub, &user, &["job", "start", "hello", "--wait", "--json"]);
    run.expect_code(0);
    let job: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(job["state"], "succeeded");
}

#[test]
fn list_get_events_cancel_and_retry() {
    let stub = ApiStub::start();
    let user = User::new();
    alq(&stub, &user, &["job", "start", "hello"]).expect_code(0);

    let list = alq(
        &stub,
        &user,
        &["job", "list", "--state", "pending", "--limit", "5"],
    );
    list.expect_code(0)
        .stdout_has(&["ID", "WORKFLOW", "STATE", "job-1", "hello", "pending"])
        .stderr_has(&["alq job list --cursor c2"]);
    let page = user.alq_with(&["job", "list", "--json"], &stub.env(), "");
    let page: Value = serde_json::from_str(&page.stdout).expect("JSON");
    assert_eq!(page["items"][0]["id"], "job-1");
    {
        let seen = stub.state.lock().expect("lock");
        assert!(
            seen.requests
                .iter()
                .any(|(_, path, _)| path == "/api/v1/jobs?state=pending&limit=5"),
            "{:?}",
            seen.requests
        );
    }

    alq(&stub, &user, &["job", "get", "job-1"])
        .expect_code(0)
        .stdout_has(&["state", "priority", "workflow"]);
    alq(&stub, &user, &["job", "events", "job-1"])
        .expect_code(0)
        .stdout_has(&["step_started", "log hi", "hello world"]);
    alq(&stub, &user, &["job", "cancel", "job-1"])
        .expect_code(0)
        .stdout_has(&["Job job-1: cancelled."]);
    alq(&stub, &user, &["job", "retry", "job-1"])
        .expect_code(0)
        .stdout_has(&["queued again: pending"]);
    alq(&stub, &user, &["job", "get", "job-404"])
        .expect_code(1)
        .stderr_has(&["(404)"]);
}
