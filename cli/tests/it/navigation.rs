//! `browser.open` / `browser.goto` tell the truth: a navigation that fails fails the step
//! at once with the browser's error, and the HTTP status is in the output.

use serde_json::Value;

use crate::common::{Workspace, events, have_chromedriver};
use crate::site;

/// A workflow that opens `url` (with extra fields on the open step), then clicks.
fn open_then_click(url: &str, open_extra: &str) -> String {
    format!(
        r##"{{"name": "nav", "defaults": {{"timeout_ms": 20000}}, "outputs": {{"page": "{{{{ steps.page.output }}}}"}},
  "steps": [
    {{"id": "page", "action": "browser.open", "url": "{url}"{open_extra}}},
    {{"action": "browser.click", "selector": "#never"}}
  ]}}"##
    )
}

/// The `step_finished` event of step `seq`.
fn finished(events: &[Value], seq: u64) -> &Value {
    events
        .iter()
        .find(|e| e["event"] == "step_finished" && e["seq"] == seq)
        .unwrap_or_else(|| panic!("no step_finished for step {seq} in {events:#?}"))
}

/// Runs the workflow, expecting the open step (step 1) to fail and nothing after it to
/// run; returns its error and stderr.
fn open_fails(ws: &Workspace, workflow: &str) -> (Value, String) {
    ws.write("wf.json", workflow);
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(1);
    let events = events(&ws.run_dir());
    let open = finished(&events, 1);
    assert_eq!(open["status"], "failed", "{open}");
    assert!(
        !events.iter().any(|e| e["seq"] == 2),
        "no step runs after the failed open: {events:#?}"
    );
    (open["error"].clone(), run.stderr.clone())
}

#[test]
fn a_missing_file_fails_the_open_step_at_once_with_the_browsers_error() {
    if !have_chromedriver() {
        return;
    }
    let ws = Workspace::new();
    let url = format!("file://{}/site/missing.html", ws.path().display());
    let (error, stderr) = open_fails(&ws, &open_then_click(&url, ""));
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("cannot open {url}: net::ERR_FILE_NOT_FOUND")),
        "{message}"
    );
    assert_eq!(error["type"], "business", "a missing file stays missing");
    assert!(stderr.contains("net::ERR_FILE_NOT_FOUND"), "{stderr}");
    assert!(!stderr.contains("no element matches"), "{stderr}");
}

#[test]
fn a_closed_port_fails_with_connection_refused_as_a_retryable_failure() {
    if !have_chromedriver() {
        return;
    }
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let ws = Workspace::new();
    let url = format!("http://127.0.0.1:{port}/");
    let (error, _) = open_fails(&ws, &open_then_click(&url, ""));
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("cannot open {url}: net::ERR_CONNECTION_REFUSED")),
        "{message}"
    );
    assert_eq!(error["type"], "application", "the service may come back");
}

#[test]
fn a_404_page_is_reported_in_the_output_and_fails_only_with_expect_status() {
    if !have_chromedriver() {
        return;
    }
    let addr = site::serve();
    let url = format!("http://{addr}/missing");
    // Without expect_status the page opens; its status is in the output.
    let ws = Workspace::new();
    let workflow = format!(
        r#"{{"name": "nav", "outputs": {{"page": "{{{{ steps.page.output }}}}"}}, "steps": [
        {{"id": "page", "action": "browser.open", "url": "{url}"}},
        {{"id": "form", "action": "browser.goto", "url": "http://{addr}/form"}},
        {{"action": "log", "message": "{{{{ steps.form.output.status }}}}"}}]}}"#
    );
    ws.write("wf.json", &workflow);
    ws.alq(&["run", "wf.json"]).expect_code(0);
    let events = events(&ws.run_dir());
    let page = &events.last().unwrap()["outputs"]["page"];
    assert_eq!(page["status"], 404, "{page}");
    assert_eq!(page["title"], "Not here");
    assert_eq!(page["url"], url.as_str());
    assert_eq!(finished(&events, 2)["output"]["status"], 200);

    // With expect_status it fails, as a business failure, naming status and expectation.
    let ws = Workspace::new();
    let (error, _) = open_fails(
        &ws,
        &open_then_click(&url, r#", "expect_status": ["2xx", 301]"#),
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "{url} answered with HTTP status 404, expected 2xx, 301"
        )),
        "{message}"
    );
    assert_eq!(error["type"], "business");

    // A range that holds the status passes.
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        &format!(
            r#"{{"name": "nav", "steps": [{{"action": "browser.open", "url": "{url}", "expect_status": "400-404"}}]}}"#
        ),
    );
    ws.alq(&["run", "wf.json"]).expect_code(0);
}

#[test]
fn a_url_that_downloads_a_file_is_not_a_page() {
    if !have_chromedriver() {
        return;
    }
    let addr = site::serve();
    let ws = Workspace::new();
    let url = format!("http://{addr}/report.csv");
    let workflow = format!(
        r##"{{"name": "nav", "defaults": {{"timeout_ms": 20000}}, "steps": [
        {{"action": "browser.open", "url": "http://{addr}/form"}},
        {{"action": "browser.goto", "url": "{url}"}},
        {{"action": "browser.click", "selector": "#never"}}]}}"##
    );
    ws.write("wf.json", &workflow);
    let run = ws.alq(&["run", "wf.json"]);
    run.expect_code(1);
    let events = events(&ws.run_dir());
    let goto = finished(&events, 2);
    let message = goto["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("cannot open {url}: it started a download")),
        "{message}"
    );
    assert!(message.contains("report.csv"), "{message}");
    assert_eq!(goto["error"]["type"], "business");
    assert!(!events.iter().any(|e| e["seq"] == 3));
}

#[test]
fn a_server_error_without_a_body_is_a_status_and_retryable_when_unexpected() {
    if !have_chromedriver() {
        return;
    }
    let addr = site::serve();
    let url = format!("http://{addr}/broken");
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        &format!(
            r#"{{"name": "nav", "outputs": {{"page": "{{{{ steps.page.output }}}}"}}, "steps": [
            {{"id": "page", "action": "browser.open", "url": "{url}"}}]}}"#
        ),
    );
    ws.alq(&["run", "wf.json"]).expect_code(0);
    let end = events(&ws.run_dir()).pop().unwrap();
    assert_eq!(end["outputs"]["page"]["status"], 500, "{end}");

    let ws = Workspace::new();
    let (error, _) = open_fails(&ws, &open_then_click(&url, r#", "expect_status": 200"#));
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "{url} answered with HTTP status 500, expected 200"
        )),
        "{message}"
    );
    assert_eq!(
        error["type"], "application",
        "a server error may pass later"
    );
}
