//! The outbox and its consumers: every event handled at least once across a failure and
//! a restart, one replica at a time with two servers on one database, and pruning after
//! the retention.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alq_control_plane::AppState;
use alq_control_plane::db::{now_ms, outbox, outbox_consumers};
use alq_control_plane::events::consumer::{self, Consumer, Options, Start};
use alq_control_plane::events::{Stored, retention};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::common::sse::Sse;
use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, default_tenant, push, start_job};

on_both_backends!(
    a_consumer_sees_every_event_at_least_once_across_a_failure_and_a_restart,
    two_replicas_never_handle_the_same_consumer_at_once,
    events_older_than_the_retention_are_pruned,
);

/// Records the event ids it handles; fails the first time it sees `fail_on`, and
/// counts how many handlers run at once across every copy.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<(&'static str, i64)>>>,
    fail_on: Option<i64>,
    failed: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    most_at_once: Arc<AtomicUsize>,
    who: &'static str,
}

impl Consumer for Recorder {
    async fn handle(&self, events: &[Stored]) -> anyhow::Result<()> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        // Long enough for another replica to try to step in meanwhile.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let failing = self
            .fail_on
            .is_some_and(|id| events.iter().any(|e| e.id == id))
            && self.failed.fetch_add(1, Ordering::SeqCst) == 0;
        if !failing {
            let mut seen = self.seen.lock().unwrap();
            seen.extend(events.iter().map(|e| (self.who, e.id)));
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        if failing {
            anyhow::bail!("the handler failed on purpose");
        }
        Ok(())
    }
}

fn quick() -> Options {
    Options {
        start: Start::Beginning,
        batch: 2,
        claim_ttl: Duration::from_secs(30),
        poll: Duration::from_millis(50),
        retry: Duration::from_millis(50),
    }
}

/// Waits until the recorder has seen every id in `ids`.
async fn until_seen(recorder: &Recorder, ids: &[i64]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen: Vec<i64> = recorder.seen.lock().unwrap().iter().map(|s| s.1).collect();
        if ids.iter().all(|id| seen.contains(id)) {
            return;
        }
        assert!(Instant::now() < deadline, "saw {seen:?}, want {ids:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The outbox ids of every event so far.
async fn all_ids(state: &AppState) -> Vec<i64> {
    outbox::after(&state.db, 0, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect()
}

async fn a_consumer_sees_every_event_at_least_once_across_a_failure_and_a_restart(
    backend: Backend,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    for _ in 0..3 {
        start_job(&admin, "greet", json!({})).await;
    }
    let before = all_ids(&server.state).await;
    assert_eq!(before.len(), 3);
    let recorder = Recorder {
        fail_on: Some(before[2]),
        who: "first",
        ..Recorder::default()
    };
    let stop = CancellationToken::new();
    let task = consumer::spawn(
        server.state.clone(),
        "test.recorder",
        recorder.clone(),
        quick(),
        stop.clone(),
    );
    until_seen(&recorder, &before).await;
    // The failed batch came again: the event it held was handled after all.
    assert_eq!(recorder.failed.load(Ordering::SeqCst), 2);
    stop.cancel();
    task.await.unwrap();
    let position = outbox_consumers::position(&server.state.db, "test.recorder")
        .await
        .unwrap();
    assert_eq!(position, before.last().copied());

    // Events made while no consumer runs wait for it; a new process (a replica on the
    // same database) continues from the cursor, not from the start.
    for _ in 0..2 {
        start_job(&admin, "greet", json!({})).await;
    }
    let after = all_ids(&server.state).await;
    let restarted = server.replica(|_| {}).await;
    let again = Recorder {
        who: "second",
        ..Recorder::default()
    };
    let stop = CancellationToken::new();
    let task = consumer::spawn(
        restarted.state.clone(),
        "test.recorder",
        again.clone(),
        quick(),
        stop.clone(),
    );
    until_seen(&again, &after[3..]).await;
    // And live events reach it while it runs.
    start_job(&admin, "greet", json!({})).await;
    let newest = *all_ids(&server.state).await.last().unwrap();
    until_seen(&again, &[newest]).await;
    let seen: Vec<i64> = again.seen.lock().unwrap().iter().map(|s| s.1).collect();
    assert!(
        seen.iter().all(|id| !before.contains(id)),
        "the restarted consumer began again from the start: {seen:?}"
    );
    stop.cancel();
    task.await.unwrap();
    restarted.stop().await;
    server.stop().await;
}

async fn two_replicas_never_handle_the_same_consumer_at_once(backend: Backend) {
    let Some(a) = TestServer::start(backend).await else {
        return;
    };
    let b = a.replica(|_| {}).await;
    push(&a, GREET).await;
    let shared = Recorder::default();
    let on_a = Recorder {
        who: "a",
        ..shared.clone()
    };
    let on_b = Recorder {
        who: "b",
        ..shared.clone()
    };
    let stop = CancellationToken::new();
    let tasks = [
        consumer::spawn(a.state.clone(), "test.once", on_a, quick(), stop.clone()),
        consumer::spawn(b.state.clone(), "test.once", on_b, quick(), stop.clone()),
    ];
    // Jobs made on both replicas.
    for round in 0..6 {
        let server = if round % 2 == 0 { &a } else { &b };
        start_job(&server.admin(), "greet", json!({})).await;
    }
    let ids = all_ids(&a.state).await;
    assert_eq!(ids.len(), 6);
    until_seen(&shared, &ids).await;
    // Let a replica that wrongly stepped in show itself before looking.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(shared.most_at_once.load(Ordering::SeqCst), 1);
    let mut times: BTreeMap<i64, usize> = BTreeMap::new();
    for (_, id) in shared.seen.lock().unwrap().iter() {
        *times.entry(*id).or_default() += 1;
    }
    assert!(
        times.values().all(|n| *n == 1),
        "events handled more than once without a failure: {times:?}"
    );
    stop.cancel();
    for task in tasks {
        task.await.unwrap();
    }
    b.stop().await;
    a.stop().await;
}

async fn events_older_than_the_retention_are_pruned(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let tenant = default_tenant(&server).await;
    let day = 24 * 3600 * 1000;
    let row = |age: i64| outbox::NewRow {
        tenant_id: tenant.clone(),
        kind: "job.created",
        job_id: Some(1),
        payload: json!({"job_id": 1, "workflow_id": "w", "workflow_name": "w", "state": "pending"})
            .to_string(),
        created_at: now_ms() - age,
    };
    let mut tx = server.state.db.begin().await.unwrap();
    let ids = outbox::append(&mut tx, &[row(8 * day), row(6 * day)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The default retention is 7 days. (The pruning the server runs when it starts may
    // get there first: either way the old event is gone and the younger one kept.)
    assert_eq!(server.config.event_retention_s, 7 * 24 * 3600);
    assert!(retention::prune_once(&server.state).await.unwrap() <= 1);
    assert_eq!(all_ids(&server.state).await, ids[1..].to_vec());
    assert_eq!(retention::prune_once(&server.state).await.unwrap(), 0);
    // A client resuming from before the pruned event gets what is left.
    let mut stream = Sse::open(&server, &server.admin_token, "after=0", None)
        .await
        .ok()
        .expect("a stream");
    assert_eq!(stream.event().await.0, ids[1]);
    server.stop().await;
}
