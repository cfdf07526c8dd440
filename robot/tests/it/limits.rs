//! The engine's event limits: past the most events (or event bytes) a run may record, no
//! further step starts and the run fails; what was recorded is all kept.

use alq_robot::engine::{RunOptions, run};
use alq_shared::events::{RunEvent, RunStatus};
use serde_json::json;

/// Runs a workflow of endless `log` steps with these limits.
async fn chatty(max_events: u64, max_event_bytes: u64, message: &str) -> (Vec<RunEvent>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = json!({
        "name": "chatty",
        "steps": [
            {"action": "while", "condition": "true", "max_iterations": 100000,
             "steps": [{"action": "log", "message": message}]},
        ],
    });
    let loaded = alq_shared::workflow::load_str(&dir.path().join("w.json"), &source.to_string())
        .expect("valid workflow");
    let mut options = RunOptions::new(dir.path().join("run"));
    options.max_events = max_events;
    options.max_event_bytes = max_event_bytes;
    let outcome = run(&loaded, options).await.expect("the run starts");
    assert_eq!(outcome.status, RunStatus::Failed);
    let written = std::fs::read_to_string(dir.path().join("run/events.ndjson")).expect("events");
    assert_eq!(
        written.lines().count(),
        outcome.events.len(),
        "every event is in events.ndjson"
    );
    (outcome.events, outcome.error.expect("an error").message)
}

#[tokio::test]
async fn a_run_stops_at_its_event_count_limit() {
    let (events, message) = chatty(50, u64::MAX, "x").await;
    // The limit, plus the ends of the steps under way and of the run.
    assert!((50..55).contains(&events.len()), "{} events", events.len());
    assert!(
        message.contains("the run was stopped at 50 events, the most one run may record"),
        "{message}"
    );
    assert!(matches!(events.last(), Some(RunEvent::RunFinished { .. })));
}

#[tokio::test]
async fn a_run_stops_at_its_event_bytes_limit() {
    let (events, message) = chatty(u64::MAX, 20_000, &"y".repeat(1000)).await;
    // About 20 log lines of 1 KB each, whatever the count.
    assert!((10..80).contains(&events.len()), "{} events", events.len());
    assert!(
        message.contains("the run was stopped at 20000 bytes of events"),
        "{message}"
    );
}
