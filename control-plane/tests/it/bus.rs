//! Messages between replicas through a real Redis.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alq_control_plane::events::{Bus, Message};
use tokio_util::sync::CancellationToken;

fn redis_url() -> Option<String> {
    match std::env::var("ALQ_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("ALQ_TEST_REDIS_URL is not set: scripts/test.sh must provide Redis under CI")
        }
        _ => {
            eprintln!("skipped: ALQ_TEST_REDIS_URL is not set");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_reaches_the_other_replica_but_not_its_sender() {
    let Some(url) = redis_url() else { return };
    // A channel of this test's own: the Redis server is shared.
    let channel = format!(
        "alq-test:{}:{}",
        std::process::id(),
        alq_control_plane::db::new_id()
    );
    let a = Bus::redis(&url, &channel).await.unwrap();
    let b = Bus::redis(&url, &channel).await.unwrap();
    assert!(a.ping().await && b.ping().await);
    let shutdown = CancellationToken::new();
    let seen_by = |bus: &Bus| {
        let seen = Arc::new(Mutex::new(Vec::<(Message, Instant)>::new()));
        let sink = seen.clone();
        bus.listen(
            &url,
            move |s| sink.lock().unwrap().push((s, Instant::now())),
            shutdown.clone(),
        );
        seen
    };
    let (seen_a, seen_b) = (seen_by(&a), seen_by(&b));
    // Subscriptions are asynchronous: publish until B hears, as a new replica would.
    let signal = Message::JobReady {
        tenant_id: "t1".into(),
        labels: vec!["sap".into()],
        run_after: 0,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen_b.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "B never heard A");
        a.publish(signal.clone()).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (got, _) = seen_b.lock().unwrap()[0].clone();
    assert_eq!(got, signal);
    let other = Message::JobReady {
        tenant_id: "t2".into(),
        labels: vec![],
        run_after: 5,
    };
    // A may subscribe later than B did: publish until it hears.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen_a.lock().unwrap().iter().any(|(s, _)| *s == other) {
        assert!(Instant::now() < deadline, "A never heard B");
        b.publish(other.clone()).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen_a.lock().unwrap().iter().all(|(s, _)| *s != signal),
        "A heard itself"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn a_local_bus_sends_nothing_and_an_unreachable_redis_is_a_clear_error() {
    let local = Bus::local();
    assert!(!local.is_shared());
    assert!(local.ping().await);
    local
        .publish(Message::JobReady {
            tenant_id: "t".into(),
            labels: vec![],
            run_after: 0,
        })
        .await;
    let error = Bus::redis("redis://127.0.0.1:1", "x")
        .await
        .err()
        .expect("no Redis there");
    assert!(
        error
            .to_string()
            .contains("cannot connect to Redis at redis://127.0.0.1:1"),
        "{error}"
    );
    let error = Bus::redis("nonsense", "x").await.err().expect("bad URL");
    assert!(error.to_string().contains("invalid Redis URL"), "{error}");
}
