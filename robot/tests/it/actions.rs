//! Non-browser actions: http, files, CSV, JSON, email, shell.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alq_robot::actions::{self, ActionCtx, ActionError, ActionResult, PathPolicy};
use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::common;

/// A workflow folder and what an action needs to run in it.
struct Env {
    dir: tempfile::TempDir,
    cancel: CancellationToken,
    timeout: Duration,
    allow_shell: bool,
    paths: PathPolicy,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
            cancel: CancellationToken::new(),
            timeout: Duration::from_secs(10),
            allow_shell: true,
            paths: PathPolicy::alq_folders(),
        }
    }

    fn ctx(&self) -> ActionCtx<'_> {
        ActionCtx {
            timeout: self.timeout,
            cancel: &self.cancel,
            workflow_dir: self.dir.path(),
            run_dir: self.dir.path(),
            allow_shell: self.allow_shell,
            paths: &self.paths,
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }
}

/// Typed action arguments from JSON, as a workflow would give them.
fn args<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("valid action arguments")
}

/// The message of a failed action.
fn failure(result: ActionResult) -> String {
    match result {
        Err(ActionError::Failed { message, .. }) => {
            eprintln!("failure message: {message}");
            message
        }
        Err(ActionError::Cancelled) => panic!("expected a failure, got a cancel"),
        Ok(value) => panic!("expected a failure, got {value}"),
    }
}

fn ok(result: ActionResult) -> Value {
    match result {
        Ok(value) => value,
        Err(e) => panic!("action failed: {e}"),
    }
}

// ---------------------------------------------------------------------------------------
// http.request

async fn http_server() -> String {
    let app = axum::Router::new()
        .route(
            "/json",
            get(|| async {
                (
                    [("x-served-by", "alq-test")],
                    Json(json!({ "hello": "world" })),
                )
            }),
        )
        .route(
            "/echo",
            post(|headers: HeaderMap, Json(body): Json<Value>| async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                Json(json!({
                    "body": body,
                    "token": header("x-token"),
                    "number": header("x-number"),
                    "content_type": header("content-type"),
                }))
            }),
        )
        .route("/text", get(|| async { "just text" }))
        .route(
            "/missing",
            get(|| async { (StatusCode::NOT_FOUND, "no such thing here") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn http_get_json_with_headers() {
    let base = http_server().await;
    let env = Env::new();
    let out = ok(actions::http::request(
        &args(json!({ "method": "get", "url": format!("{base}/json") })),
        &env.ctx(),
    )
    .await);
    assert_eq!(out["status"], 200);
    assert_eq!(out["json"], json!({ "hello": "world" }));
    assert_eq!(out["headers"]["x-served-by"], "alq-test");
    assert!(
        out["headers"]["content-type"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
    assert!(out.get("text").is_none());
}

#[tokio::test]
async fn http_post_json_body_is_echoed_with_headers() {
    let base = http_server().await;
    let env = Env::new();
    let out = ok(actions::http::request(
        &args(json!({
            "method": "POST",
            "url": format!("{base}/echo"),
            "headers": { "X-Token": "secret-1", "X-Number": 42 },
            "json": { "name": "Ada", "tags": [1, 2] },
        })),
        &env.ctx(),
    )
    .await);
    assert_eq!(out["status"], 200);
    assert_eq!(
        out["json"]["body"],
        json!({ "name": "Ada", "tags": [1, 2] })
    );
    assert_eq!(out["json"]["token"], "secret-1");
    assert_eq!(out["json"]["number"], "42");
    assert_eq!(out["json"]["content_type"], "application/json");
}

#[tokio::test]
async fn http_text_body_and_text_response() {
    let base = http_server().await;
    let env = Env::new();
    let out = ok(actions::http::request(
        &args(json!({ "url": format!("{base}/text") })),
        &env.ctx(),
    )
    .await);
    assert_eq!(out["status"], 200);
    assert_eq!(out["text"], "just text");
    assert!(out.get("json").is_none());

    // A text body is sent as it is: the echo route wants JSON, so a JSON text works.
    let out = ok(actions::http::request(
        &args(json!({
            "method": "post",
            "url": format!("{base}/echo"),
            "headers": { "content-type": "application/json" },
            "body": "{\"raw\": true}",
        })),
        &env.ctx(),
    )
    .await);
    assert_eq!(out["json"]["body"], json!({ "raw": true }));
}

#[tokio::test]
async fn http_404_fails_unless_fail_on_status_is_false() {
    let base = http_server().await;
    let env = Env::new();
    let url = format!("{base}/missing");
    let message = failure(actions::http::request(&args(json!({ "url": url })), &env.ctx()).await);
    assert!(message.contains("GET"), "{message}");
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("404"), "{message}");
    assert!(message.contains("no such thing here"), "{message}");
    assert!(message.contains("fail_on_status"), "{message}");

    let out = ok(actions::http::request(
        &args(json!({ "url": url, "fail_on_status": false })),
        &env.ctx(),
    )
    .await);
    assert_eq!(out["status"], 404);
    assert_eq!(out["text"], "no such thing here");
}

#[tokio::test]
async fn http_connection_refused_names_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let env = Env::new();
    let url = format!("http://127.0.0.1:{port}/nothing");
    let message = failure(actions::http::request(&args(json!({ "url": url })), &env.ctx()).await);
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("could not connect"), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn http_bad_inputs_are_clear() {
    let base = http_server().await;
    let env = Env::new();
    let message = failure(
        actions::http::request(
            &args(json!({ "method": "GE T", "url": format!("{base}/json") })),
            &env.ctx(),
        )
        .await,
    );
    assert!(message.contains("not an HTTP method"), "{message}");

    let message = failure(
        actions::http::request(
            &args(
                json!({ "method": "POST", "url": format!("{base}/echo"), "json": {}, "body": "x" }),
            ),
            &env.ctx(),
        )
        .await,
    );
    assert!(message.contains("both `json` and `body`"), "{message}");

    let message =
        failure(actions::http::request(&args(json!({ "url": "not a url" })), &env.ctx()).await);
    assert!(
        message.contains("`not a url` is not a valid URL"),
        "{message}"
    );

    let message = failure(
        actions::http::request(
            &args(json!({ "url": format!("{base}/json"), "headers": { "X-A": [1] } })),
            &env.ctx(),
        )
        .await,
    );
    assert!(message.contains("header `X-A`"), "{message}");
}

#[tokio::test]
async fn http_cancel_stops_a_slow_request() {
    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let env = Env::new();
    let cancel = env.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let result = actions::http::request(
        &args(json!({ "url": format!("http://{addr}/") })),
        &env.ctx(),
    )
    .await;
    assert!(matches!(result, Err(ActionError::Cancelled)), "{result:?}");
    // Far below the 30 s the other side would hold it: the cancel stopped it.
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn http_timeout_names_the_url_and_the_limit() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut env = Env::new();
    env.timeout = Duration::from_millis(300);
    let url = format!("http://{addr}/slow");
    let message = failure(actions::http::request(&args(json!({ "url": url })), &env.ctx()).await);
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("no answer within 0.3s"), "{message}");
}

// ---------------------------------------------------------------------------------------
// file.*

#[tokio::test]
async fn file_write_read_append_and_json() {
    let env = Env::new();
    let ctx = env.ctx();
    let out = ok(actions::file::write(
        &args(json!({ "path": "out/deep/note.txt", "text": "first\n" })),
        &ctx,
    )
    .await);
    assert_eq!(
        out,
        json!(env.path("out/deep/note.txt").display().to_string())
    );
    ok(actions::file::write(
        &args(json!({ "path": "out/deep/note.txt", "text": "second\n", "append": true })),
        &ctx,
    )
    .await);
    let text = ok(actions::file::read(&args(json!({ "path": "out/deep/note.txt" })), &ctx).await);
    assert_eq!(text, json!("first\nsecond\n"));

    ok(actions::file::write(
        &args(json!({ "path": "data.json", "json": { "a": [1, 2], "b": "x" } })),
        &ctx,
    )
    .await);
    let written = std::fs::read_to_string(env.path("data.json")).expect("written");
    assert!(
        written.contains("\n  \"a\": ["),
        "pretty JSON expected: {written}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&written).expect("json"),
        json!({ "a": [1, 2], "b": "x" })
    );

    let message = failure(actions::file::write(&args(json!({ "path": "x.txt" })), &ctx).await);
    assert!(message.contains("nothing to write"), "{message}");
    let message = failure(
        actions::file::write(
            &args(json!({ "path": "x.txt", "text": "a", "json": 1 })),
            &ctx,
        )
        .await,
    );
    assert!(message.contains("both `text` and `json`"), "{message}");
}

#[tokio::test]
async fn file_read_missing_and_not_utf8() {
    let env = Env::new();
    let ctx = env.ctx();
    let message = failure(actions::file::read(&args(json!({ "path": "nope.txt" })), &ctx).await);
    assert!(
        message.contains(&env.path("nope.txt").display().to_string()),
        "{message}"
    );
    assert!(message.contains("does not exist"), "{message}");

    std::fs::write(env.path("bin.dat"), [0x66, 0x6f, 0xff, 0xfe]).expect("write");
    let message = failure(actions::file::read(&args(json!({ "path": "bin.dat" })), &ctx).await);
    assert!(
        message.contains(&env.path("bin.dat").display().to_string()),
        "{message}"
    );
    assert!(message.contains("not UTF-8"), "{message}");
    assert!(message.contains("offset 2"), "{message}");
}

#[tokio::test]
async fn file_copy_and_move_refuse_to_overwrite_when_asked() {
    let env = Env::new();
    let ctx = env.ctx();
    std::fs::write(env.path("a.txt"), "A").expect("write");
    std::fs::write(env.path("b.txt"), "B").expect("write");

    let out =
        ok(actions::file::copy(&args(json!({ "from": "a.txt", "to": "sub/c.txt" })), &ctx).await);
    assert_eq!(out, json!(env.path("sub/c.txt").display().to_string()));
    assert_eq!(
        std::fs::read_to_string(env.path("sub/c.txt")).expect("copied"),
        "A"
    );
    assert!(env.path("a.txt").exists());

    let message = failure(
        actions::file::copy(
            &args(json!({ "from": "a.txt", "to": "b.txt", "overwrite": false })),
            &ctx,
        )
        .await,
    );
    assert!(
        message.contains(&env.path("b.txt").display().to_string()),
        "{message}"
    );
    assert!(message.contains("already exists"), "{message}");
    assert_eq!(
        std::fs::read_to_string(env.path("b.txt")).expect("kept"),
        "B"
    );

    let message = failure(
        actions::file::rename(
            &args(json!({ "from": "a.txt", "to": "b.txt", "overwrite": false })),
            &ctx,
        )
        .await,
    );
    assert!(message.contains("already exists"), "{message}");
    assert!(env.path("a.txt").exists());

    // overwrite defaults to true
    let out =
        ok(actions::file::rename(&args(json!({ "from": "a.txt", "to": "b.txt" })), &ctx).await);
    assert_eq!(out, json!(env.path("b.txt").display().to_string()));
    assert_eq!(
        std::fs::read_to_string(env.path("b.txt")).expect("moved"),
        "A"
    );
    assert!(!env.path("a.txt").exists());

    let out = ok(actions::file::rename(
        &args(json!({ "from": "b.txt", "to": "new/dir/b.txt" })),
        &ctx,
    )
    .await);
    assert_eq!(out, json!(env.path("new/dir/b.txt").display().to_string()));

    let message = failure(
        actions::file::copy(&args(json!({ "from": "gone.txt", "to": "x.txt" })), &ctx).await,
    );
    assert!(
        message.contains("gone.txt") && message.contains("does not exist"),
        "{message}"
    );
}

#[tokio::test]
async fn file_delete_and_missing_ok() {
    let env = Env::new();
    let ctx = env.ctx();
    std::fs::write(env.path("a.txt"), "A").expect("write");
    let out = ok(actions::file::delete(&args(json!({ "path": "a.txt" })), &ctx).await);
    assert_eq!(out["deleted"], true);
    assert!(!env.path("a.txt").exists());

    let message = failure(actions::file::delete(&args(json!({ "path": "a.txt" })), &ctx).await);
    assert!(
        message.contains("does not exist") && message.contains("missing_ok"),
        "{message}"
    );

    let out = ok(actions::file::delete(
        &args(json!({ "path": "a.txt", "missing_ok": true })),
        &ctx,
    )
    .await);
    assert_eq!(out["deleted"], false);
}

#[tokio::test]
async fn file_list_with_pattern_is_sorted_and_absolute() {
    let env = Env::new();
    let ctx = env.ctx();
    std::fs::create_dir_all(env.path("in/sub.csv")).expect("dir");
    for name in ["b.csv", "a.csv", "c.txt"] {
        std::fs::write(env.path("in").join(name), "x").expect("write");
    }
    let out =
        ok(actions::file::list(&args(json!({ "dir": "in", "pattern": "*.csv" })), &ctx).await);
    assert_eq!(
        out,
        json!([
            env.path("in/a.csv").display().to_string(),
            env.path("in/b.csv").display().to_string()
        ])
    );
    let all = ok(actions::file::list(&args(json!({ "dir": "in" })), &ctx).await);
    assert_eq!(
        all.as_array().expect("list").len(),
        3,
        "folders are left out: {all}"
    );
    assert!(
        all.as_array()
            .expect("list")
            .iter()
            .all(|p| Path::new(p.as_str().expect("str")).is_absolute())
    );

    let message = failure(actions::file::list(&args(json!({ "dir": "nope" })), &ctx).await);
    assert!(
        message.contains(&env.path("nope").display().to_string()),
        "{message}"
    );
    assert!(message.contains("does not exist"), "{message}");

    let message =
        failure(actions::file::list(&args(json!({ "dir": "in", "pattern": "[" })), &ctx).await);
    assert!(message.contains("not a valid pattern"), "{message}");
}

// ---------------------------------------------------------------------------------------
// csv.* and json.parse

#[tokio::test]
async fn csv_round_trip_with_objects_and_quoting() {
    let env = Env::new();
    let ctx = env.ctx();
    let rows = json!([
        { "name": "Ada, Countess", "quote": "she said \"hi\"", "n": 1 },
        { "name": "Line\nbreak", "n": 2.5, "extra": "ignored" },
        { "quote": true, "name": null },
    ]);
    let out = ok(actions::data::csv_write(
        &args(json!({ "path": "out/people.csv", "rows": rows })),
        &ctx,
    )
    .await);
    assert_eq!(out, json!(env.path("out/people.csv").display().to_string()));
    let written = std::fs::read_to_string(env.path("out/people.csv")).expect("written");
    assert!(
        written.starts_with("name,quote,n\n\"Ada, Countess\",\"she said \"\"hi\"\"\",1\n"),
        "{written}"
    );

    let back = ok(actions::data::csv_read(&args(json!({ "path": "out/people.csv" })), &ctx).await);
    assert_eq!(
        back,
        json!([
            { "name": "Ada, Countess", "quote": "she said \"hi\"", "n": "1" },
            { "name": "Line\nbreak", "quote": "", "n": "2.5" },
            { "name": "", "quote": "true", "n": "" },
        ])
    );

    // Explicit columns pick and order them.
    ok(actions::data::csv_write(
        &args(json!({ "path": "cols.csv", "rows": rows, "columns": ["n", "name"] })),
        &ctx,
    )
    .await);
    let written = std::fs::read_to_string(env.path("cols.csv")).expect("written");
    assert!(
        written.starts_with("n,name\n1,\"Ada, Countess\"\n"),
        "{written}"
    );
}

#[tokio::test]
async fn csv_round_trip_with_lists_and_a_custom_delimiter() {
    let env = Env::new();
    let ctx = env.ctx();
    let rows = json!([["a", "b;c", 3], ["x", "", [1, 2]]]);
    ok(actions::data::csv_write(
        &args(json!({ "path": "l.csv", "rows": rows, "delimiter": ";" })),
        &ctx,
    )
    .await);
    let written = std::fs::read_to_string(env.path("l.csv")).expect("written");
    assert_eq!(written, "a;\"b;c\";3\nx;;[1,2]\n");
    let back = ok(actions::data::csv_read(
        &args(json!({ "path": "l.csv", "delimiter": ";", "header": false })),
        &ctx,
    )
    .await);
    assert_eq!(back, json!([["a", "b;c", "3"], ["x", "", "[1,2]"]]));

    let message = failure(
        actions::data::csv_write(
            &args(json!({ "path": "m.csv", "rows": [["a"], { "b": 1 }] })),
            &ctx,
        )
        .await,
    );
    assert!(message.contains("rows[1] is an object"), "{message}");
    let message = failure(
        actions::data::csv_write(&args(json!({ "path": "m.csv", "rows": "abc" })), &ctx).await,
    );
    assert!(message.contains("not a list"), "{message}");
    let message = failure(
        actions::data::csv_write(
            &args(json!({ "path": "m.csv", "rows": [], "delimiter": "é" })),
            &ctx,
        )
        .await,
    );
    assert!(message.contains("delimiter"), "{message}");
}

#[tokio::test]
async fn csv_read_malformed_names_file_and_line() {
    let env = Env::new();
    let ctx = env.ctx();
    std::fs::write(env.path("bad.csv"), "a,b,c\n1,2,3\n4,5\n").expect("write");
    let message = failure(actions::data::csv_read(&args(json!({ "path": "bad.csv" })), &ctx).await);
    assert!(
        message.contains(&env.path("bad.csv").display().to_string()),
        "{message}"
    );
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("2 fields"), "{message}");

    let message =
        failure(actions::data::csv_read(&args(json!({ "path": "none.csv" })), &ctx).await);
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn json_parse_good_and_bad() {
    let out = ok(actions::data::json_parse(&args(
        json!({ "text": "{\"a\": [1, true]}" }),
    )));
    assert_eq!(out, json!({ "a": [1, true] }));
    let message = failure(actions::data::json_parse(&args(
        json!({ "text": "{\"a\": }" }),
    )));
    assert!(message.contains("not valid JSON"), "{message}");
    assert!(message.contains("line 1 column 7"), "{message}");
    assert!(message.contains("{\\\"a\\\": }"), "{message}");
}

// ---------------------------------------------------------------------------------------
// shell.run

#[tokio::test]
async fn shell_is_refused_without_allow_shell() {
    let mut env = Env::new();
    env.allow_shell = false;
    let message =
        failure(actions::shell::run(&args(json!({ "command": "echo hi" })), &env.ctx()).await);
    assert_eq!(
        message,
        "shell.run is disabled: pass --allow-shell to alq run to allow it"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn shell_output_code_cwd_and_env() {
    let env = Env::new();
    let ctx = env.ctx();
    std::fs::create_dir(env.path("work")).expect("dir");
    let out = ok(actions::shell::run(
        &args(json!({
            "command": "echo \"hello $WHO\"; pwd; echo warn >&2",
            "cwd": "work",
            "env": { "WHO": "robot" },
        })),
        &ctx,
    )
    .await);
    assert_eq!(out["code"], 0);
    let work = env.path("work").canonicalize().expect("canonical");
    assert_eq!(out["stdout"], format!("hello robot\n{}\n", work.display()));
    assert_eq!(out["stderr"], "warn\n");

    // With args: no shell, so `$HOME` stays as it is.
    let out = ok(actions::shell::run(
        &args(json!({ "command": "echo", "args": ["a b", "$HOME"] })),
        &ctx,
    )
    .await);
    assert_eq!(out["stdout"], "a b $HOME\n");

    let out = ok(actions::shell::run(
        &args(json!({ "command": "exit 3", "fail_on_exit": false })),
        &ctx,
    )
    .await);
    assert_eq!(out["code"], 3);
}

#[cfg(unix)]
#[tokio::test]
async fn shell_failing_command_reports_code_and_stderr() {
    let env = Env::new();
    let ctx = env.ctx();
    let message = failure(
        actions::shell::run(
            &args(json!({ "command": "echo boom-detail >&2; exit 7" })),
            &ctx,
        )
        .await,
    );
    assert!(message.contains("code 7"), "{message}");
    assert!(message.contains("boom-detail"), "{message}");
    assert!(message.contains("fail_on_exit"), "{message}");

    let message = failure(
        actions::shell::run(
            &args(json!({ "command": "no-such-program-alq", "args": [] })),
            &ctx,
        )
        .await,
    );
    assert!(
        message.contains("no-such-program-alq") && message.contains("not found"),
        "{message}"
    );

    let message = failure(
        actions::shell::run(&args(json!({ "command": "true", "cwd": "missing" })), &ctx).await,
    );
    assert!(message.contains("working folder"), "{message}");
}

/// Whether a process is gone (or a zombie waiting to be reaped).
#[cfg(unix)]
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[cfg(unix)]
#[tokio::test]
async fn shell_timeout_kills_the_command_and_its_children() {
    let mut env = Env::new();
    env.timeout = Duration::from_millis(700);
    let started = Instant::now();
    let message = failure(
        actions::shell::run(
            &args(json!({ "command": "sleep 30 & echo $! > child.pid; wait" })),
            &env.ctx(),
        )
        .await,
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(message.contains("did not finish within 0.7s"), "{message}");
    let pid = std::fs::read_to_string(env.path("child.pid")).expect("pid file");
    let pid = pid.trim();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !process_gone(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(process_gone(pid), "the background sleep {pid} still runs");
}

#[cfg(unix)]
#[tokio::test]
async fn shell_cancel_stops_the_command() {
    let env = Env::new();
    let cancel = env.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let result = actions::shell::run(&args(json!({ "command": "sleep 30" })), &env.ctx()).await;
    assert!(matches!(result, Err(ActionError::Cancelled)), "{result:?}");
    // Far below the 30 s the other side would hold it: the cancel stopped it.
    assert!(started.elapsed() < Duration::from_secs(20));
}

// ---------------------------------------------------------------------------------------
// email.send

/// The message in the Maildir whose subject is `subject`, waiting a little for delivery.
async fn find_mail(maildir: &Path, subject: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(entries) = std::fs::read_dir(maildir.join("new")) {
            for entry in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(entry.path())
                    && text.contains(&format!("Subject: {subject}"))
                {
                    return text;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no message with subject {subject} in {}",
            maildir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[tokio::test]
async fn email_send_delivers_text_html_and_attachment() {
    let Some(server) = common::service("ALQ_TEST_SMTP") else {
        return;
    };
    let Some(maildir) = common::service("ALQ_TEST_SMTP_MAILDIR") else {
        return;
    };
    let (host, port) = server.rsplit_once(':').expect("host:port");
    let env = Env::new();
    std::fs::write(env.path("report.csv"), "a,b\n1,2\n").expect("write");
    let subject = unique("alq-email-test");
    let out = ok(actions::email::send(
        &args(json!({
            "smtp": { "host": host, "port": port.parse::<u16>().expect("port"), "tls": "none" },
            "from": "Robot <robot@example.com>",
            "to": ["ops@example.com", "Boss <boss@example.com>"],
            "cc": "cc@example.com",
            "bcc": "hidden@example.com",
            "subject": subject,
            "text": "Plain body here",
            "html": "<p>Html <b>body</b> here</p>",
            "attachments": ["report.csv"],
        })),
        &env.ctx(),
    )
    .await);
    assert_eq!(out["recipients"], 4);
    assert!(
        out["message_id"]
            .as_str()
            .is_some_and(|id| id.contains('@')),
        "{out}"
    );

    let mail = find_mail(Path::new(&maildir), &subject).await;
    assert!(mail.contains("From: Robot <robot@example.com>"), "{mail}");
    assert!(
        mail.contains("To: ops@example.com, Boss <boss@example.com>"),
        "{mail}"
    );
    assert!(mail.contains("Cc: cc@example.com"), "{mail}");
    assert!(
        !mail.contains("Bcc:"),
        "Bcc must not be in the headers: {mail}"
    );
    // aiosmtpd's Mailbox records the envelope recipients, Bcc included.
    let envelope = mail
        .lines()
        .find(|l| l.starts_with("X-RcptTo:"))
        .expect("X-RcptTo header");
    for rcpt in [
        "ops@example.com",
        "boss@example.com",
        "cc@example.com",
        "hidden@example.com",
    ] {
        assert!(envelope.contains(rcpt), "{rcpt} missing from {envelope}");
    }
    assert!(mail.contains("multipart/mixed"), "{mail}");
    assert!(mail.contains("multipart/alternative"), "{mail}");
    assert!(mail.contains("Plain body here"), "{mail}");
    assert!(mail.contains("<p>Html <b>body</b> here</p>"), "{mail}");
    assert!(mail.contains("filename=\"report.csv\""), "{mail}");
    assert!(mail.contains("Content-Type: text/csv"), "{mail}");
}

#[tokio::test]
async fn email_wrong_port_is_a_clear_connection_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let env = Env::new();
    let message = failure(
        actions::email::send(
            &args(json!({
                "smtp": { "host": "127.0.0.1", "port": port, "tls": "none",
                          "username": "robot", "password": "hunter2-secret" },
                "from": "robot@example.com",
                "to": "ops@example.com",
                "subject": "never sent",
                "text": "x",
            })),
            &env.ctx(),
        )
        .await,
    );
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(message.contains("smtp.port"), "{message}");
    assert!(!message.contains("hunter2-secret"), "{message}");
}

#[tokio::test]
async fn email_starttls_against_a_plain_server_is_refused_clearly() {
    let Some(server) = common::service("ALQ_TEST_SMTP") else {
        return;
    };
    let (host, port) = server.rsplit_once(':').expect("host:port");
    let env = Env::new();
    let message = failure(
        actions::email::send(
            &args(json!({
                "smtp": { "host": host, "port": port.parse::<u16>().expect("port"),
                          "tls": "starttls", "username": "robot", "password": "hunter2-secret" },
                "from": "robot@example.com",
                "to": "ops@example.com",
                "subject": unique("never-sent"),
                "text": "x",
            })),
            &env.ctx(),
        )
        .await,
    );
    assert!(message.contains(&server), "{message}");
    assert!(message.contains("tls starttls"), "{message}");
    assert!(!message.contains("hunter2-secret"), "{message}");
}

#[tokio::test]
async fn email_bad_address_and_missing_attachment_are_named() {
    let env = Env::new();
    let send = |extra: Value| {
        let mut fields = json!({
            "smtp": { "host": "127.0.0.1", "port": 9, "tls": "none" },
            "from": "robot@example.com",
            "to": "ops@example.com",
            "subject": "s",
            "text": "x",
        });
        for (k, v) in extra.as_object().expect("object") {
            fields[k] = v.clone();
        }
        args::<alq_shared::workflow::EmailSendArgs>(fields)
    };
    let message = failure(
        actions::email::send(
            &send(json!({ "to": ["ok@example.com", "not-an-address"] })),
            &env.ctx(),
        )
        .await,
    );
    assert!(
        message.contains("`to` address \"not-an-address\""),
        "{message}"
    );
    let message =
        failure(actions::email::send(&send(json!({ "from": "robot at home" })), &env.ctx()).await);
    assert!(
        message.contains("`from` address \"robot at home\""),
        "{message}"
    );
    let message = failure(
        actions::email::send(&send(json!({ "attachments": ["nope.pdf"] })), &env.ctx()).await,
    );
    assert!(
        message.contains(&env.path("nope.pdf").display().to_string()),
        "{message}"
    );
}
