//! `alq run` with a real Chromium: screenshots, the report, failures and Ctrl-C.

use crate::common::{Workspace, events, have_chromedriver};
use crate::site;

fn form_workflow(url: &str, extra: &str) -> String {
    format!(
        r##"{{"name": "order", "defaults": {{"timeout_ms": 10000}}, "outputs": {{"greeting": "{{{{ steps.greeting.output }}}}", "rows": "{{{{ steps.rows.output }}}}"}},
  "steps": [
    {{"action": "browser.open", "url": "{url}"}},
    {{"action": "browser.type", "selector": "#name", "text": "Ada"}},
    {{"action": "browser.click", "selector": "text=Go"}},
    {{"id": "greeting", "action": "browser.extract", "selector": "#out"}},
    {{"id": "rows", "action": "browser.extract", "selector": "#t", "table": true}}{extra}
  ]}}"##
    )
}

#[test]
fn a_browser_run_writes_a_screenshot_per_step_and_the_report() {
    if !have_chromedriver() {
        return;
    }
    let addr = site::serve();
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        &form_workflow(&format!("http://{addr}/form"), ""),
    );
    ws.alq(&["run", "wf.json"])
        .expect_code(0)
        .stderr_has(&["order succeeded", "✓ #3 browser.click text=Go"]);
    let dir = ws.run_dir();
    let events = events(&dir);
    let end = events.last().unwrap();
    assert_eq!(end["outputs"]["greeting"], "Hello Ada");
    assert_eq!(
        end["outputs"]["rows"],
        serde_json::json!([{"Item": "Apple", "Qty": "3"}, {"Item": "Pear", "Qty": "5"}])
    );
    for (seq, action) in [
        (1, "browser.open"),
        (2, "browser.type"),
        (3, "browser.click"),
        (5, "browser.extract"),
    ] {
        let name = format!("step-{seq:03}-{action}.png");
        let png = std::fs::read(dir.join(&name)).unwrap_or_else(|_| panic!("{name} is missing"));
        assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
        assert!(
            events
                .iter()
                .any(|e| e["seq"] == seq && e["screenshot"] == name.as_str())
        );
    }
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        report.contains("data:image/png;base64,"),
        "the report embeds thumbnails"
    );
    assert!(
        report.contains("step-003-browser.click.png"),
        "thumbnails link to the full screenshots"
    );
}

#[test]
fn a_selector_that_never_matches_fails_after_the_timeout_with_its_screenshot() {
    if !have_chromedriver() {
        return;
    }
    let addr = site::serve();
    let ws = Workspace::new();
    let url = format!("http://{addr}/form");
    let extra = r##",
    {"action": "browser.click", "selector": "#missing", "timeout_ms": 1500},
    {"action": "log", "message": "not reached"}"##;
    ws.write("wf.json", &form_workflow(&url, extra));
    let run = ws.alq(&["run", "wf.json", "--screenshots", "on_error"]);
    run.expect_code(1).stderr_has(&[
        "order failed",
        "step #6 (steps[5], browser.click #missing)",
        "#missing",
        &url,
        "screenshot: ",
    ]);
    assert!(!run.stderr.contains("not reached"));
    let dir = ws.run_dir();
    let shots: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    assert_eq!(
        shots,
        vec!["step-006-browser.click.png".to_owned()],
        "on_error keeps only the failed step's screenshot"
    );
    let end = events(&dir).pop().unwrap();
    assert_eq!(end["status"], "failed");
    assert_eq!(end["error"]["url"], url.as_str());
}

#[test]
fn screenshots_never_takes_none() {
    if !have_chromedriver() {
        return;
    }
    let addr = site::serve();
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        &form_workflow(&format!("http://{addr}/form"), ""),
    );
    ws.alq(&["run", "wf.json", "--screenshots", "never"])
        .expect_code(0);
    let pngs = std::fs::read_dir(ws.run_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert_eq!(pngs, 0);
}

#[test]
fn browser_actions_without_an_open_browser_say_what_to_do() {
    let ws = Workspace::new();
    ws.write(
        "wf.json",
        r##"{"name": "x", "steps": [{"action": "browser.click", "selector": "#a"}]}"##,
    );
    ws.alq(&["run", "wf.json"])
        .expect_code(1)
        .stderr_has(&["no browser is open", "browser.open"]);
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_during_a_browser_run_closes_the_browser_and_writes_the_report() {
    use std::process::Command;
    if !have_chromedriver() {
        return;
    }
    let addr = site::serve();
    let ws = Workspace::new();
    let extra = r#", {"action": "sleep", "ms": 60000}"#;
    ws.write(
        "wf.json",
        &form_workflow(&format!("http://{addr}/form"), extra),
    );
    let child = crate::common::spawn_until_step(&ws, "wf.json", "sleep");
    let pid = child.id();
    // alq's children (chromedriver) and theirs (Chromium) must all be gone afterwards.
    let children = |parent: u32| -> Vec<u32> {
        let out = Command::new("pgrep")
            .args(["-P", &parent.to_string()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    let mut started: Vec<u32> = children(pid);
    for p in started.clone() {
        started.extend(children(p));
    }
    assert!(!started.is_empty(), "alq should have started chromedriver");
    crate::common::interrupt(pid);
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(ws.run_dir().join("report.html").is_file());
    let running = |p: &u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .ok()
            .and_then(|stat| {
                let state = stat[stat.rfind(')')? + 1..].split_whitespace().next()?;
                Some(state != "Z" && state != "X")
            })
            .unwrap_or(false)
    };
    // Killed processes take a moment to go: wait for that, within a bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let alive: Vec<u32> = started.iter().copied().filter(running).collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "processes alq started are still running: {alive:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn webdriver_url_uses_a_running_driver_instead_of_starting_one() {
    use std::process::{Command, Stdio};
    if !have_chromedriver() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = std::env::var("ALQ_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let mut chromedriver = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = site::serve();
    let ws = Workspace::new();
    // No chromedriver on PATH for alq: it must use the one given.
    let workflow = form_workflow(&format!("http://{addr}/form"), "");
    let workflow = workflow.replacen(
        "\"defaults\"",
        r#""browser": {"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]}, "defaults""#,
        1,
    );
    ws.write("wf.json", &workflow);
    let mut ready = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ready, "chromedriver did not start");
    let output = Command::new(env!("CARGO_BIN_EXE_alq"))
        .args([
            "run",
            "wf.json",
            "--webdriver-url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .current_dir(ws.path())
        .env("PATH", "/nonexistent")
        .env_remove("ALQ_CHROMEDRIVER")
        .output()
        .unwrap();
    let _ = chromedriver.kill();
    let _ = chromedriver.wait();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        events(&ws.run_dir()).last().unwrap()["outputs"]["greeting"],
        "Hello Ada"
    );
}
