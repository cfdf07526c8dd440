//! Starting the browser has a budget of its own, and a browser step that runs out of time
//! names the phase it was in: starting the browser, navigating, or waiting for the page
//! load. Against real chromedriver and Chromium, on pages this test serves.

use std::time::Duration;

use alq_robot::actions::browser::{Browser, BrowserOptions};
use alq_robot::actions::{ActionCtx, ActionError, PathPolicy};
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::common;

fn options(dir: &std::path::Path) -> BrowserOptions {
    BrowserOptions {
        headless: true,
        webdriver_url: None,
        args: Vec::new(),
        window: [1280, 900],
        download_dir: dir.join("downloads"),
    }
}

/// A server whose pages are slow in the two ways a navigation can be: `/no-answer` sends
/// nothing for a minute; `/slow-image` sends its page at once, but the page's image
/// never arrives, so its `load` event never fires.
async fn slow_site() -> String {
    let app = Router::new()
        .route(
            "/no-answer",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Html("<title>Late</title>")
            }),
        )
        .route(
            "/slow-image",
            get(|| async {
                Html("<!doctype html><title>Slow image</title><p id=text>Here</p><img src=\"/never.png\">")
            }),
        )
        .route(
            "/never.png",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                ""
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn message(error: ActionError) -> String {
    match error {
        ActionError::Failed { message, .. } => message,
        ActionError::Cancelled => panic!("cancelled"),
    }
}

#[tokio::test]
async fn a_start_up_budget_that_runs_out_names_the_phase_what_was_started_and_the_way_out() {
    let Some(chromedriver) = common::program("ALQ_CHROMEDRIVER", "chromedriver") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let cancel = CancellationToken::new();
    // No chromedriver answers within a millisecond of being started.
    let result =
        Browser::start_within(&options(dir.path()), Duration::from_millis(1), &cancel).await;
    let message = message(result.err().expect("the start runs out of time"));
    for piece in [
        "starting the browser timed out after 1ms (the start-up budget)",
        &format!("started chromedriver {}", chromedriver.display()),
        "Chromium",
        "`browser.startup_timeout_ms`",
        "`--browser-startup-timeout`",
    ] {
        assert!(message.contains(piece), "{piece:?} in {message}");
    }
}

#[tokio::test]
async fn a_remote_webdriver_that_never_answers_runs_out_of_the_start_up_budget() {
    // A server that accepts the connection and never answers: the session never opens.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = options(dir.path());
    options.webdriver_url = Some(url.clone());
    let result = Browser::start_within(
        &options,
        Duration::from_millis(500),
        &CancellationToken::new(),
    )
    .await;
    let message = message(result.err().expect("no session opens"));
    assert!(
        message.contains("starting the browser timed out after 500ms"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "the WebDriver server at {url} had not opened a session yet"
        )),
        "{message}"
    );
    assert!(
        !message.contains("started chromedriver"),
        "no chromedriver was started: {message}"
    );
    held.abort();
}

#[tokio::test]
async fn a_navigation_that_runs_out_of_time_says_whether_it_was_navigating_or_loading() {
    if common::program("ALQ_CHROMEDRIVER", "chromedriver").is_none() {
        return;
    }
    let site = slow_site().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let cancel = CancellationToken::new();
    let mut browser = Browser::start(&options(dir.path()), &cancel)
        .await
        .expect("the browser starts");
    let paths = PathPolicy::alq_folders();
    let ctx = ActionCtx {
        timeout: Duration::from_secs(1),
        cancel: &cancel,
        workflow_dir: dir.path(),
        run_dir: dir.path(),
        allow_shell: false,
        paths: &paths,
    };
    let open = |url: String| {
        let workflow = json!({"name": "t", "steps": [{"action": "browser.open", "url": url}]});
        let mut parsed =
            alq_shared::workflow::parse("t.json", &workflow.to_string()).expect("valid step");
        parsed.steps.remove(0).action
    };

    let url = format!("{site}/no-answer");
    let failed = browser.run(&open(url.clone()), &ctx).await;
    let text = message(failed.expect_err("the server never answers"));
    assert!(
        text.contains(&format!("opening {url} timed out after 1s navigating")),
        "{text}"
    );

    // The page itself must arrive in time, even on a loaded machine: a longer timeout.
    let ctx = ActionCtx {
        timeout: Duration::from_secs(8),
        ..ctx
    };
    let url = format!("{site}/slow-image");
    let failed = browser.run(&open(url.clone()), &ctx).await;
    let text = message(failed.expect_err("the page never finishes loading"));
    assert!(
        text.contains(&format!(
            "opening {url} timed out after 8s waiting for the page load"
        )),
        "{text}"
    );
    assert!(text.contains("`load` event had not fired"), "{text}");
    browser.quit().await;
}
