//! Browser actions against real Chromium, on pages the test serves itself (`site.rs`).

use std::time::{Duration, Instant};

use alq_robot::actions::browser::{Browser, BrowserOptions};
use alq_robot::actions::{ActionCtx, ActionError, ActionResult, PathPolicy};
use alq_shared::workflow::Action;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::common;
use crate::site::{self, Site};

/// A browser, the site it drives and a run folder.
pub(crate) struct Session {
    pub(crate) browser: Browser,
    pub(crate) cancel: CancellationToken,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) site: Site,
}

/// Starts the site and a headless browser; `None` (skip) when chromedriver is missing.
pub(crate) async fn session() -> Option<Session> {
    common::program("ALQ_CHROMEDRIVER", "chromedriver")?;
    let dir = tempfile::tempdir().expect("temp dir");
    let cancel = CancellationToken::new();
    let options = BrowserOptions {
        headless: true,
        webdriver_url: None,
        args: Vec::new(),
        window: [1280, 900],
        download_dir: dir.path().join("downloads"),
    };
    let browser = Browser::start(&options, &cancel)
        .await
        .expect("the browser starts");
    Some(Session {
        browser,
        cancel,
        dir,
        site: site::start().await,
    })
}

/// One step, as a workflow would write it.
fn action(step: Value) -> Action {
    let workflow = json!({ "name": "t", "steps": [step] });
    let mut parsed =
        alq_shared::workflow::parse("t.json", &workflow.to_string()).expect("valid step");
    parsed.steps.remove(0).action
}

impl Session {
    pub(crate) async fn run_for(&mut self, step: Value, timeout: Duration) -> ActionResult {
        let action = action(step);
        let paths = PathPolicy::alq_folders();
        let ctx = ActionCtx {
            timeout,
            cancel: &self.cancel,
            workflow_dir: self.dir.path(),
            run_dir: self.dir.path(),
            allow_shell: false,
            paths: &paths,
        };
        self.browser.run(&action, &ctx).await
    }

    /// Runs a step that must succeed and returns its output.
    pub(crate) async fn ok(&mut self, step: Value) -> Value {
        let shown = step.to_string();
        match self.run_for(step, Duration::from_secs(10)).await {
            Ok(output) => output,
            Err(error) => panic!("{shown} failed: {error}"),
        }
    }

    /// Runs a step that must fail within `timeout` and returns the message.
    pub(crate) async fn fails(&mut self, step: Value, timeout: Duration) -> String {
        let shown = step.to_string();
        match self.run_for(step, timeout).await {
            Ok(output) => panic!("{shown} succeeded with {output}"),
            Err(error) => error.to_string(),
        }
    }

    pub(crate) async fn open(&mut self, path: &str) -> Value {
        let url = self.site.url(path);
        self.ok(json!({"action": "browser.open", "url": url})).await
    }

    pub(crate) async fn text(&mut self, selector: &str) -> Value {
        self.ok(json!({"action": "browser.extract", "selector": selector}))
            .await
    }

    pub(crate) async fn close(self) {
        self.browser.quit().await;
    }
}

#[tokio::test]
async fn waits_for_late_elements_ajax_text_and_spinners() {
    let Some(mut s) = session().await else { return };
    s.open("/late").await;
    let started = Instant::now();
    s.ok(json!({"action": "browser.click", "selector": "#late"}))
        .await;
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "the button appears after 2 s"
    );
    assert_eq!(s.text("#done").await, json!("Clicked late"));

    s.open("/ajax").await;
    s.ok(json!({"action": "browser.wait_for", "text": "Hello from the server"}))
        .await;
    assert_eq!(s.text("#msg").await, json!("Hello from the server"));

    s.open("/spinner").await;
    s.ok(json!({"action": "browser.click", "selector": "#pay"}))
        .await;
    assert_eq!(s.text("#paid").await, json!("Paid"));
    s.ok(json!({"action": "browser.wait_for", "selector": ".spinner", "state": "detached"}))
        .await;

    let url = s
        .ok(json!({"action": "browser.wait_for", "url": "/spinner"}))
        .await;
    assert_eq!(url, json!(s.site.url("/spinner")));
    s.close().await;
}

/// Something that covers the element after alq's check and before the click must get
/// none of the click's events: the click waits and lands on its element, once.
#[tokio::test]
async fn a_click_never_lands_on_what_covered_the_element_after_the_check() {
    let Some(mut s) = session().await else { return };
    s.open("/cover-after-check").await;
    s.ok(json!({"action": "browser.click", "selector": "#target"}))
        .await;
    assert_eq!(s.text("#log").await, json!("target;"));
    s.close().await;
}

#[tokio::test]
async fn failures_name_the_selector_what_was_missing_and_the_page() {
    let Some(mut s) = session().await else { return };
    s.open("/spinner?ms=-1").await;
    let url = s.site.url("/spinner?ms=-1");
    let one = Duration::from_secs(1);

    let message = s
        .fails(
            json!({"action": "browser.click", "selector": "#submit"}),
            one,
        )
        .await;
    assert_eq!(
        message,
        format!(
            "timed out after 1s waiting for the element \"#submit\": no element matches it on {url}"
        )
    );

    let message = s
        .fails(json!({"action": "browser.click", "selector": "#pay"}), one)
        .await;
    assert_eq!(
        message,
        format!(
            "timed out after 1s waiting for the element \"#pay\": it is covered by \
             <div class=\"spinner\"> at its action point on {url}"
        )
    );

    let step =
        json!({"action": "browser.type", "selector": "#pay", "text": "hunter2", "secret": true});
    let message = s.fails(step, one).await;
    assert!(
        message.contains("#pay") && !message.contains("hunter2"),
        "{message}"
    );

    let message = s
        .fails(json!({"action": "browser.click", "selector": "div[["}), one)
        .await;
    assert!(message.contains("not valid"), "{message}");

    let message = s
        .fails(
            json!({"action": "browser.wait_for", "text": "Never there"}),
            one,
        )
        .await;
    assert_eq!(
        message,
        format!("text \"Never there\" did not appear after 1s on {url}")
    );
    s.close().await;
}

#[tokio::test]
async fn cancellation_stops_a_wait() {
    let Some(mut s) = session().await else { return };
    s.open("/late").await;
    let cancel = s.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let result = s
        .run_for(
            json!({"action": "browser.click", "selector": "#never"}),
            Duration::from_secs(30),
        )
        .await;
    assert!(matches!(result, Err(ActionError::Cancelled)), "{result:?}");
    // Far below the step's 30 s: the wait stopped on the cancel, not on the timeout.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stopped after {:?}",
        started.elapsed()
    );
    s.close().await;
}

#[tokio::test]
async fn frames_and_shadow_roots() {
    let Some(mut s) = session().await else { return };
    s.open("/frame").await;
    s.ok(json!({"action": "browser.frame", "selector": "#inner"}))
        .await;
    s.ok(json!({"action": "browser.type", "selector": "#q", "text": "hello"}))
        .await;
    s.ok(json!({"action": "browser.click", "selector": "text=Go"}))
        .await;
    assert_eq!(s.text("#echo").await, json!("Echo: hello"));
    s.ok(json!({"action": "browser.frame", "selector": null}))
        .await;
    assert_eq!(s.text("h1").await, json!("Outer"));

    s.open("/shadow").await;
    s.ok(json!({"action": "browser.click", "selector": "#deep"}))
        .await;
    assert_eq!(s.text(".out").await, json!("Shadow clicked"));
    s.ok(json!({"action": "browser.click", "selector": "text=Shadow button"}))
        .await;
    s.close().await;
}

#[tokio::test]
async fn popups_tabs_and_dialogs() {
    let Some(mut s) = session().await else { return };
    s.open("/popup").await;
    s.ok(json!({"action": "browser.click", "selector": "#link"}))
        .await;
    let tab = s
        .ok(json!({"action": "browser.tab", "title": "Child"}))
        .await;
    assert_eq!(tab["title"], json!("Child page"));
    assert_eq!(s.text("#child").await, json!("I am the child"));
    let tab = s.ok(json!({"action": "browser.tab", "index": 0})).await;
    assert_eq!(tab["title"], json!("Opener"));
    s.ok(json!({"action": "browser.click", "selector": "text=Open later"}))
        .await;
    let tab = s
        .ok(json!({"action": "browser.tab", "url": "via=js"}))
        .await;
    assert_eq!(tab["url"], json!(s.site.url("/child?via=js")));
    s.ok(json!({"action": "browser.tab", "index": 0})).await;

    s.open("/dialogs").await;
    s.ok(json!({"action": "browser.click", "selector": "text=Alert"}))
        .await;
    let started = Instant::now();
    assert!(
        s.browser.screenshot_png().await.is_none(),
        "no screenshot while an alert is open"
    );
    // Far below the session's 60 s request timeout: the open alert was noticed.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        s.ok(json!({"action": "browser.dialog"})).await,
        json!("Hello alert")
    );
    s.ok(json!({"action": "browser.click", "selector": "text=Confirm"}))
        .await;
    assert_eq!(
        s.ok(json!({"action": "browser.dialog", "accept": false}))
            .await,
        json!("Sure?")
    );
    assert_eq!(s.text("#answer").await, json!("no"));
    s.ok(json!({"action": "browser.click", "selector": "text=Prompt"}))
        .await;
    s.ok(json!({"action": "browser.dialog", "text": "Ann"}))
        .await;
    assert_eq!(s.text("#answer").await, json!("name=Ann"));
    assert!(
        s.browser
            .screenshot_png()
            .await
            .is_some_and(|png| png.starts_with(b"\x89PNG"))
    );
    s.close().await;
}

#[tokio::test]
async fn forms_type_select_check_upload_and_press() {
    let Some(mut s) = session().await else { return };
    s.open("/form").await;
    s.ok(json!({"action": "browser.type", "selector": "#name", "text": "Ann", "clear": true}))
        .await;
    let value = s
        .ok(json!({"action": "browser.extract", "selector": "#name", "property": "value"}))
        .await;
    assert_eq!(value, json!("Ann"));
    let inputs: u32 = s
        .text("#inputs")
        .await
        .as_str()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(
        inputs >= 4,
        "the page saw {inputs} input events (1 to clear, 3 to type)"
    );

    let chosen = s
        .ok(json!({"action": "browser.select", "selector": "#color", "label": "Blue"}))
        .await;
    assert_eq!(chosen, json!({"value": "b", "label": "Blue", "index": 2}));
    assert_eq!(s.text("#color-out").await, json!("color=b"));
    s.ok(json!({"action": "browser.select", "selector": "#color", "index": 1}))
        .await;
    assert_eq!(s.text("#color-out").await, json!("color=g"));
    let message = s
        .fails(
            json!({"action": "browser.select", "selector": "#color", "value": "zz"}),
            Duration::from_secs(2),
        )
        .await;
    assert!(
        message.contains("no option with value \"zz\"") && message.contains("\"Red\""),
        "{message}"
    );

    assert_eq!(
        s.ok(json!({"action": "browser.check", "selector": "#agree"}))
            .await,
        json!(true)
    );
    s.ok(json!({"action": "browser.check", "selector": "#agree"}))
        .await;
    let checked = s
        .ok(json!({"action": "browser.extract", "selector": "#agree", "property": "checked"}))
        .await;
    assert_eq!(checked, json!(true));
    s.ok(json!({"action": "browser.check", "selector": "#agree", "checked": false}))
        .await;
    let checked = s
        .ok(json!({"action": "browser.extract", "selector": "#agree", "property": "checked"}))
        .await;
    assert_eq!(checked, json!(false));

    std::fs::write(s.dir.path().join("hello.txt"), "hi there").expect("write");
    s.ok(json!({"action": "browser.upload", "selector": "#file", "path": "hello.txt"}))
        .await;
    assert_eq!(s.text("#file-out").await, json!("hello.txt: hi there"));

    s.ok(json!({"action": "browser.type", "selector": "#search", "text": "rust"}))
        .await;
    s.ok(json!({"action": "browser.press", "keys": "Enter"}))
        .await;
    assert_eq!(s.text("#submitted").await, json!("Submitted Ann"));
    s.ok(
        json!({"action": "browser.press", "selector": "#name", "keys": "Control+a Backspace B o"}),
    )
    .await;
    let value = s
        .ok(json!({"action": "browser.extract", "selector": "#name", "property": "value"}))
        .await;
    assert_eq!(value, json!("Bo"));
    s.close().await;
}

#[tokio::test]
async fn downloads_tables_scripts_and_changing_ids() {
    let Some(mut s) = session().await else { return };
    s.open("/download").await;
    let saved = s
        .ok(json!({"action": "browser.download", "selector": "#get", "path": "out/report.csv"}))
        .await;
    let expected = s.dir.path().join("out/report.csv");
    assert_eq!(saved, json!(expected.display().to_string()));
    assert_eq!(
        std::fs::read_to_string(&expected).expect("downloaded"),
        "name,total\nalice,3\n"
    );

    s.open("/table").await;
    let rows = s
        .ok(json!({"action": "browser.extract", "selector": "#people", "table": true}))
        .await;
    assert_eq!(
        rows,
        json!([{"Name": "Alice", "Age": "31"}, {"Name": "Bob", "Age": "42"}])
    );
    let rows = s
        .ok(json!({"action": "browser.extract", "selector": "id=plain", "table": true}))
        .await;
    assert_eq!(rows, json!([{"Key": "a", "Value": "1"}]));
    let all = s
        .ok(json!({"action": "browser.extract", "selector": ".item", "all": true}))
        .await;
    assert_eq!(all, json!(["one", "two", "three"]));
    let step = json!({"action": "browser.extract", "selector": ".item", "all": true, "attribute": "data-x"});
    assert_eq!(s.ok(step).await, json!([null, null, "3"]));
    assert_eq!(s.text(".item").await, json!("one"));
    assert_eq!(s.text("xpath=//li[2]").await, json!("two"));

    let sum = s
        .ok(json!({"action": "browser.script", "script": "return arguments[0] + 1", "args": [41]}))
        .await;
    assert_eq!(sum, json!(42));
    let shot = s.ok(json!({"action": "browser.screenshot"})).await;
    let png = std::fs::read(shot.as_str().expect("a path")).expect("saved");
    assert!(png.starts_with(b"\x89PNG"));

    for name in ["Zed", "Yan"] {
        s.open("/dynamic").await;
        s.ok(json!({"action": "browser.type", "selector": ".name-field", "text": name}))
            .await;
        s.ok(json!({"action": "browser.click", "selector": "text=Save"}))
            .await;
        assert_eq!(s.text(".out").await, json!(format!("Saved {name}")));
    }
    s.close().await;
}

/// A panic or an abandoned run drops the browser without `quit`: that must not block
/// (thirtyfour's own teardown would wait for its request timeout).
#[tokio::test]
async fn dropping_a_browser_stops_it_at_once() {
    let Some(mut s) = session().await else { return };
    s.open("/form").await;
    let started = Instant::now();
    drop(s);
    // Far below thirtyfour's 60 s request timeout.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "drop took {:?}",
        started.elapsed()
    );
}

/// A whole workflow through the engine: typing, clicking by text on a page whose ids
/// change, a list extracted and looped over, a download, and the browser closed.
#[tokio::test]
async fn a_workflow_drives_the_browser_through_the_engine() {
    if common::program("ALQ_CHROMEDRIVER", "chromedriver").is_none() {
        return;
    }
    let site = site::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let source = json!({
        "name": "e2e",
        "defaults": {"timeout_ms": 10000},
        "outputs": {
            "shown": "{{ steps.shown.output }}",
            "items": "{{ steps.items.output }}",
            "file": "{{ steps.file.output }}",
        },
        "steps": [
            {"action": "browser.open", "url": site.url("/dynamic")},
            {"action": "browser.type", "selector": ".name-field", "text": "Eve"},
            {"action": "browser.click", "selector": "text=Save"},
            {"id": "shown", "action": "browser.extract", "selector": ".out"},
            {"action": "browser.goto", "url": site.url("/table")},
            {"id": "items", "action": "browser.extract", "selector": ".item", "all": true},
            {"action": "for_each", "items": "{{ steps.items.output }}", "as": "item",
             "steps": [{"action": "log", "message": "{{ item }}"}]},
            {"action": "browser.goto", "url": site.url("/download")},
            {"id": "file", "action": "browser.download", "selector": "text=Get report"},
            {"action": "browser.close"},
        ],
    });
    let path = dir.path().join("workflow.json");
    let loaded =
        alq_shared::workflow::load_str(&path, &source.to_string()).expect("valid workflow");
    let options = alq_robot::engine::RunOptions::new(dir.path().join("run"));
    let outcome = alq_robot::engine::run(&loaded, options)
        .await
        .expect("the run starts");
    assert_eq!(
        outcome.status,
        alq_shared::events::RunStatus::Succeeded,
        "{:?}",
        outcome.error
    );
    assert_eq!(outcome.outputs["shown"], json!("Saved Eve"));
    assert_eq!(outcome.outputs["items"], json!(["one", "two", "three"]));
    let file = outcome.outputs["file"].as_str().expect("a path");
    assert!(
        file.starts_with(&dir.path().join("run/downloads").display().to_string()),
        "{file}"
    );
    assert_eq!(
        std::fs::read_to_string(file).expect("downloaded"),
        "name,total\nalice,3\n"
    );
}
