//! `alq job ...` against a real control plane, with a robot working through the real
//! robot API to move jobs to running, succeeded, failed and cancelled.

use serde_json::{Value, json};

use crate::common::Run;
use crate::common::control_plane::{HELLO, Server, User};
use crate::common::robot::hello_events;

/// A server with `hello` pushed and an admin logged in.
fn with_hello() -> (Server, User) {
    let server = Server::start();
    let user = User::logged_in(&server);
    user.ws.write("hello.json", HELLO);
    user.alq(&["workflow", "push", "hello.json"]).expect_code(0);
    (server, user)
}

/// `alq job start hello ARGS --json`: the new job.
fn start(user: &User, args: &[&str]) -> Value {
    let mut all = vec!["job", "start", "hello"];
    all.extend_from_slice(args);
    user.json(&all)
}

fn id(job: &Value) -> String {
    job["id"].to_string()
}

#[test]
fn start_sends_inputs_of_the_declared_types_and_the_job_shows_them() {
    let (_server, user) = with_hello();
    user.ws.write("inputs.json", r#"{"count": 1, "who": "eu"}"#);
    let run = user.alq(&[
        "job",
        "start",
        "hello",
        "--inputs-file",
        "inputs.json",
        "--input",
        "count=7",
        "--priority",
        "5",
        "--labels",
        "linux,chromium",
        "--max-attempts",
        "4",
    ]);
    run.expect_code(0)
        .stdout_has(&["Started job 1 of hello (pending)."]);
    let job = user.json(&["job", "get", "1"]);
    assert_eq!(job["inputs"], json!({"count": 7, "who": "eu"}));
    assert_eq!(job["priority"], 5);
    assert_eq!(job["labels"], json!(["chromium", "linux"]));
    assert_eq!(job["max_attempts"], 4);
    assert_eq!(job["workflow"]["name"], "hello");
    assert_eq!(job["state"], "pending");

    let shown = user.alq(&["job", "get", "1"]);
    shown.expect_code(0);
    let line = |key: &str| {
        shown
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} line:\n{}", shown.stdout))
            .to_owned()
    };
    assert!(line("workflow").contains(&format!(
        "hello ({})",
        job["workflow"]["id"].as_str().unwrap()
    )));
    assert!(line("state").ends_with("pending"));
    assert!(line("max_attempts").ends_with('4'));
    assert!(line("created_at").contains(&chrono::Local::now().format("%Y-%m-%d").to_string()));

    let run_after = "2030-01-31T12:00:00Z";
    let later = start(&user, &["--run-after", run_after]);
    assert_eq!(later["run_after"], "2030-01-31T12:00:00+00:00");
    user.alq(&["job", "start", "hello", "--run-after", "tomorrow"])
        .expect_code(2)
        .stderr_has(&["not an RFC 3339 time"]);

    // The server checks what the CLI cannot know: an input the workflow does not declare.
    user.alq(&["job", "start", "hello", "--input", "extra=1"])
        .expect_code(1)
        .stderr_has(&["(422)", "unknown input `extra`"]);
}

#[test]
fn an_input_that_does_not_fit_its_type_is_refused_before_sending() {
    let (_server, user) = with_hello();
    user.alq(&["job", "start", "hello", "--input", "count=many"])
        .expect_code(2)
        .stderr_has(&["input `count`", "`many` is not an integer"]);
    user.alq(&["job", "start", "hello", "--input", "count"])
        .expect_code(2)
        .stderr_has(&["must be NAME=VALUE"]);
    assert_eq!(user.json(&["job", "list"])["items"], json!([]));
}

#[test]
fn unknown_workflows_and_jobs_are_the_servers_404() {
    let (_server, user) = with_hello();
    user.alq(&["job", "start", "nope"])
        .expect_code(1)
        .stderr_has(&["(404)", "no workflow `nope`"]);
    user.alq(&["job", "get", "42"])
        .expect_code(1)
        .stderr_has(&["(404)", "no job `42`"]);
    user.alq(&["job", "events", "not-a-job"])
        .expect_code(1)
        .stderr_has(&["(404)"]);
}

#[test]
fn wait_exits_0_when_the_job_succeeds_and_1_when_it_fails_or_dies() {
    let (server, user) = with_hello();
    let robot = server.robot(&user, "r1");

    let waiting = user.spawn(&["job", "start", "hello", "--wait"]);
    let job = robot.take();
    robot.report(&job, &hello_events("succeeded"));
    robot.complete(
        &job,
        json!({"outcome": "succeeded", "outputs": {"total": 42}}),
    );
    User::finish(waiting)
        .expect_code(0)
        .stderr_has(&["waiting for it to end", "succeeded (attempt 1 of 3)"])
        .stdout_has(&["Job 1 succeeded.", r#"outputs: {"total":42}"#]);

    let waiting = user.spawn(&["job", "start", "hello", "--wait"]);
    let job = robot.take();
    robot.complete(
        &job,
        json!({"outcome": "failed", "error": {"message": "the invoice was rejected", "type": "business"}}),
    );
    User::finish(waiting).expect_code(1).stdout_has(&[
        "Job 2 failed.",
        "error (business): the invoice was rejected",
    ]);

    let waiting = user.spawn(&["job", "start", "hello", "--max-attempts", "1", "--wait"]);
    let job = robot.take();
    robot.complete(
        &job,
        json!({"outcome": "failed", "error": {"message": "the page did not load", "type": "application"}}),
    );
    User::finish(waiting)
        .expect_code(1)
        .stdout_has(&["Job 3 dead.", "error (application): the page did not load"]);

    let waiting = user.spawn(&["job", "start", "hello", "--wait", "--json"]);
    let job = robot.take();
    robot.complete(&job, json!({"outcome": "succeeded"}));
    let run = User::finish(waiting);
    run.expect_code(0);
    let job = run.json();
    assert_eq!(job["state"], "succeeded");
    assert_eq!(job["id"], 4);
}

/// `alq job get ID --follow ARGS`, returned once it printed its first line: the job
/// was still going when it looked, so what comes next it shows live.
fn follow(user: &User, id: &str, args: &[&str]) -> Following {
    let mut all = vec!["job", "get", id, "--follow"];
    all.extend_from_slice(args);
    let mut child = user.spawn(&all);
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, first) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let line = line.expect("a line of output");
            let _ = lines.send(());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    first
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the follower printed nothing");
    Following { child, reader }
}

struct Following {
    child: std::process::Child,
    reader: std::thread::JoinHandle<String>,
}

impl Following {
    fn finish(self) -> Run {
        let mut run = User::finish(self.child);
        run.stdout = self.reader.join().expect("the reader thread");
        run
    }
}

#[test]
fn get_follow_prints_the_steps_as_they_come_and_exits_with_the_jobs_state() {
    let (server, user) = with_hello();
    let robot = server.robot(&user, "r1");

    let job = start(&user, &[]);
    let following = follow(&user, &id(&job), &[]);
    let leased = robot.take();
    robot.report(&leased, &hello_events("succeeded"));
    robot.complete(
        &leased,
        json!({"outcome": "succeeded", "outputs": {"total": 42}}),
    );
    following.finish().expect_code(0).stdout_has(&[
        "Job 1 of hello: pending (attempt 0 of 3); following it...",
        "following it...",
        "Attempt 1 started on robot",
        "Run started (attempt 1).",
        "  step 1: log hello",
        "    hello world x1",
        "  step 1: log hello succeeded (3 ms)",
        "Run succeeded (5 ms).",
        "Job 1 succeeded.",
        r#"outputs: {"total":42}"#,
    ]);

    // A failed attempt that runs again is shown, then the end: exit 1 for failed.
    let job = start(&user, &[]);
    let following = follow(&user, &id(&job), &[]);
    let leased = robot.take();
    robot.complete(
        &leased,
        json!({"outcome": "failed", "error": {"message": "the page did not load", "type": "application"}}),
    );
    user.alq(&["job", "cancel", &id(&job)]).expect_code(0);
    following.finish().expect_code(1).stdout_has(&[
        "Attempt 1 failed; the job will run again. error (application): the page did not load",
        "Job 2 cancelled.",
    ]);

    // A job that ended before: its steps and its end, at once.
    user.alq(&["job", "get", "1", "--follow"])
        .expect_code(0)
        .stdout_has(&["  step 1: log hello succeeded (3 ms)", "Job 1 succeeded."]);
    // With --json: one event per line, then the job.
    let run = user.alq(&["job", "get", "2", "--follow", "--json"]);
    run.expect_code(1);
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["state"], "cancelled", "{lines:?}");
    let job = start(&user, &[]);
    let following = follow(&user, &id(&job), &["--json"]);
    let leased = robot.take();
    robot.complete(&leased, json!({"outcome": "succeeded"}));
    let run = following.finish();
    run.expect_code(0);
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines[..lines.len() - 1]
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["job.created", "job.state_changed", "job.state_changed"]
    );
    assert!(
        lines
            .windows(2)
            .take(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );
    assert_eq!(lines.last().unwrap()["state"], "succeeded");

    user.alq(&["job", "get", "42", "--follow"])
        .expect_code(1)
        .stderr_has(&["(404)"]);
}

#[test]
fn events_show_what_the_robot_reported_and_continue_after_an_id() {
    let (server, user) = with_hello();
    let robot = server.robot(&user, "r1");
    let job = start(&user, &[]);
    let leased = robot.take();
    robot.report(&leased, &hello_events("succeeded"));
    robot.complete(&leased, json!({"outcome": "succeeded"}));

    let run = user.alq(&["job", "events", &id(&job)]);
    run.expect_code(0);
    let rows = run.table();
    let kinds: Vec<&str> = rows.iter().map(|r| r["EVENT"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "step_started",
            "log",
            "step_finished",
            "run_finished"
        ]
    );
    assert_eq!(rows[0]["DETAIL"], "hello");
    assert_eq!(rows[1]["DETAIL"], "log hello");
    assert_eq!(rows[2]["DETAIL"], "hello world x1");
    assert_eq!(rows[3]["DETAIL"], "succeeded");
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    for row in &rows {
        assert_eq!(row["ATTEMPT"], "1");
        assert!(row["AT"].starts_with(&today), "{row:?}");
        assert!(row["ID"].parse::<i64>().is_ok(), "{row:?}");
    }

    let after = rows[2]["ID"].clone();
    let rest = user.alq(&["job", "events", &id(&job), "--after", &after]);
    rest.expect_code(0);
    let kinds: Vec<String> = rest
        .table()
        .into_iter()
        .map(|r| r["EVENT"].clone())
        .collect();
    assert_eq!(kinds, ["step_finished", "run_finished"]);

    let all = user.json(&["job", "events", &id(&job)]);
    let items = all["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    for key in ["id", "attempt", "seq", "event", "received_at"] {
        assert!(!items[0][key].is_null(), "{key} in {}", items[0]);
    }
    assert_eq!(items[2]["event"]["message"], "hello world x1");
}

#[test]
fn cancel_is_immediate_when_pending_and_goes_through_the_heartbeat_when_running() {
    let (server, user) = with_hello();
    let pending = start(&user, &[]);
    user.alq(&["job", "cancel", &id(&pending)])
        .expect_code(0)
        .stdout_has(&[&format!("Job {}: cancelled.", id(&pending))]);
    assert_eq!(
        user.json(&["job", "get", &id(&pending)])["state"],
        "cancelled"
    );
    user.alq(&["job", "cancel", &id(&pending)])
        .expect_code(1)
        .stderr_has(&["(409)", "cancelled already"]);

    let robot = server.robot(&user, "r1");
    let running = start(&user, &[]);
    let leased = robot.take();
    assert_eq!(leased["job_id"], running["id"]);
    user.alq(&["job", "cancel", &id(&running)])
        .expect_code(0)
        .stdout_has(&["cancel requested", "next step"]);
    let job = user.json(&["job", "get", &id(&running)]);
    assert_eq!(job["state"], "running");
    assert_eq!(job["cancel_requested"], true);
    assert_eq!(robot.heartbeat(&leased)["cancel"], true);
    robot.complete(&leased, json!({"outcome": "cancelled"}));
    assert_eq!(
        user.json(&["job", "get", &id(&running)])["state"],
        "cancelled"
    );
}

#[test]
fn retry_runs_a_failed_job_again_as_a_new_job() {
    let (server, user) = with_hello();
    let robot = server.robot(&user, "r1");
    let first = start(&user, &["--input", "count=3"]);
    user.alq(&["job", "retry", &id(&first)])
        .expect_code(1)
        .stderr_has(&[
            "(409)",
            "only failed, dead or cancelled jobs can be retried",
        ]);
    let leased = robot.take();
    robot.complete(
        &leased,
        json!({"outcome": "failed", "error": {"message": "no", "type": "business"}}),
    );
    user.alq(&["job", "retry", &id(&first)])
        .expect_code(0)
        .stdout_has(&[&format!("Job {} retried as job 2 (pending).", id(&first))]);
    let again = user.json(&["job", "get", "2"]);
    assert_eq!(again["retry_of"], first["id"]);
    assert_eq!(again["inputs"]["count"], 3);
    assert_eq!(user.json(&["job", "get", &id(&first)])["state"], "failed");
    let retried = user.json(&["job", "retry", &id(&first)]);
    assert_eq!(retried["retry_of"], first["id"]);
    assert_eq!(retried["state"], "pending");
}

#[test]
fn list_filters_by_state_robot_and_time_and_pages_with_the_cursor() {
    let (server, user) = with_hello();
    for _ in 0..5 {
        start(&user, &[]);
    }
    let robot = server.robot(&user, "r1");
    let leased = robot.take();
    robot.complete(&leased, json!({"outcome": "succeeded"}));
    user.alq(&["job", "cancel", "5"]).expect_code(0);

    let all = user.alq(&["job", "list"]);
    all.expect_code(0);
    let rows = all.table();
    assert_eq!(rows.len(), 5);
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    for row in &rows {
        assert_eq!(row["WORKFLOW"], "hello");
        assert_eq!(row["PRIORITY"], "0");
        assert!(row["CREATED"].starts_with(&today), "{row:?}");
    }
    assert_eq!(all.row("ID", "1")["STATE"], "succeeded");
    assert_eq!(all.row("ID", "1")["ATTEMPT"], "1");
    assert_eq!(all.row("ID", "5")["STATE"], "cancelled");
    assert_eq!(all.row("ID", "3")["ATTEMPT"], "0");
    assert!(!all.stderr.contains("--cursor"), "{}", all.stderr);

    let succeeded = user.alq(&["job", "list", "--state", "succeeded"]);
    let ids: Vec<String> = succeeded
        .table()
        .into_iter()
        .map(|r| r["ID"].clone())
        .collect();
    assert_eq!(ids, ["1"]);

    // Newest first, two a page, the next page's command on standard error.
    let mut seen = Vec::new();
    let mut args = vec![
        "job".to_owned(),
        "list".into(),
        "--state".into(),
        "pending".into(),
        "--limit".into(),
        "2".into(),
    ];
    loop {
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let page = user.alq(&args_ref);
        page.expect_code(0);
        seen.extend(page.table().into_iter().map(|r| r["ID"].clone()));
        let Some(next) = page.stderr.split("alq job list --cursor ").nth(1) else {
            break;
        };
        let cursor = next.split_whitespace().next().expect("cursor").to_owned();
        args.truncate(6);
        args.extend(["--cursor".into(), cursor]);
    }
    assert_eq!(seen, ["4", "3", "2"]);

    let page = user.json(&["job", "list", "--state", "pending", "--limit", "2"]);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    let cursor = page["next_cursor"].as_str().expect("a next cursor");
    let last = user.json(&[
        "job", "list", "--state", "pending", "--limit", "2", "--cursor", cursor,
    ]);
    assert_eq!(last["items"][0]["id"], 2);
    assert!(last["next_cursor"].is_null());

    let by_robot = user.alq(&["job", "list", "--robot", &robot.id]);
    let ids: Vec<String> = by_robot
        .table()
        .into_iter()
        .map(|r| r["ID"].clone())
        .collect();
    assert_eq!(ids, ["1"]);
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let earlier = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(
        user.json(&["job", "list", "--since", &later])["items"],
        json!([])
    );
    let window = user.json(&["job", "list", "--since", &earlier, "--until", &later]);
    assert_eq!(window["items"].as_array().map(Vec::len), Some(5));
    user.alq(&["job", "list", "--since", "yesterday"])
        .expect_code(2)
        .stderr_has(&["not an RFC 3339 time"]);

    let run: Run = user.alq(&["job", "list", "--state", "stuck"]);
    run.expect_code(2).stderr_has(&["invalid value 'stuck'"]);
    user.alq(&["job", "list", "--cursor", "bogus"])
        .expect_code(1)
        .stderr_has(&["(400)", "`cursor`"]);
}
