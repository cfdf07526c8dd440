//! Every workflow in `examples/` runs as it is, against the site it ships with.

use std::path::PathBuf;

use crate::common::{Workspace, events, have_chromedriver};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join("workflow.json")
}

fn outputs(ws: &Workspace) -> serde_json::Value {
    let events = events(&ws.run_dir());
    let end = events.last().expect("events").clone();
    assert_eq!(end["event"], "run_finished");
    end["outputs"].clone()
}

#[test]
fn every_example_is_valid() {
    let ws = Workspace::new();
    for name in ["login-form", "scrape-pages", "email-report"] {
        let file = example(name);
        ws.alq(&["validate", file.to_str().unwrap()]).expect_code(0);
    }
}

#[test]
fn login_form_extracts_the_orders_table_to_csv() {
    if !have_chromedriver() {
        return;
    }
    let ws = Workspace::new();
    ws.alq(&["run", example("login-form").to_str().unwrap()])
        .expect_code(0);
    let out = outputs(&ws);
    assert_eq!(out["rows"], 4);
    let csv = std::fs::read_to_string(out["csv"].as_str().unwrap()).unwrap();
    assert_eq!(csv.lines().count(), 5, "a header and four rows:\n{csv}");
    // A wrong password ends in a failure that quotes the page's message.
    let ws = Workspace::new();
    let run = ws.alq(&[
        "run",
        example("login-form").to_str().unwrap(),
        "--input",
        "password=wrong",
    ]);
    run.expect_code(1);
    assert!(
        !run.stderr.contains("password=wrong") && !run.stderr.contains(" wrong"),
        "{}",
        run.stderr
    );
}

#[test]
fn scrape_pages_walks_every_page_and_downloads_the_export() {
    if !have_chromedriver() {
        return;
    }
    let ws = Workspace::new();
    ws.alq(&["run", example("scrape-pages").to_str().unwrap()])
        .expect_code(0);
    let out = outputs(&ws);
    assert_eq!(out["count"], 13);
    assert_eq!(out["pages"], 3);
    let export = PathBuf::from(out["export"].as_str().unwrap());
    assert!(
        export.starts_with(ws.run_dir().canonicalize().unwrap().join("downloads")),
        "{export:?}"
    );
    assert!(
        std::fs::read_to_string(&export)
            .unwrap()
            .contains("Earl Grey")
    );
}

#[test]
fn email_report_is_delivered_to_the_smtp_server() {
    if !have_chromedriver() {
        return;
    }
    let Some(server) = crate::common::service("ALQ_TEST_SMTP") else {
        return;
    };
    let Some(maildir) = crate::common::service("ALQ_TEST_SMTP_MAILDIR") else {
        return;
    };
    let (host, port) = server.rsplit_once(':').unwrap();
    let ws = Workspace::new();
    let to = format!("report-{}@example.com", std::process::id());
    let run = ws.alq(&[
        "run",
        example("email-report").to_str().unwrap(),
        "--input",
        &format!("smtp_host={host}"),
        "--input",
        &format!("smtp_port={port}"),
        "--input",
        &format!("to={to}"),
    ]);
    run.expect_code(0);
    assert_eq!(outputs(&ws)["sent_to"], to.as_str());
    // The sink keeps each message as a file in the Maildir: find ours by recipient.
    let message = std::fs::read_dir(PathBuf::from(maildir).join("new"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .find(|text| text.contains(&to))
        .expect("the report reached the SMTP server");
    assert!(
        message.contains("Subject: Sales report, October 2026"),
        "{message}"
    );
    assert!(message.contains("dashboard.png"), "the chart is attached");
    assert!(message.contains("sales.csv"), "the data is attached");
}
