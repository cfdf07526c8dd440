//! What a robot learns at once and says at once: a held heartbeat answered by a cancel
//! (on one replica and across two), and a goodbye that makes the robot offline.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Backend, Client, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, lease_now, push, robot, start_job};

on_both_backends!(
    a_held_heartbeat_is_answered_at_once_by_a_cancel,
    a_robot_that_says_goodbye_is_offline_until_it_calls_again
);

/// Heartbeats a minute apart: a cancel that came only with the next heartbeat would
/// take up to a minute.
fn minute_heartbeats(config: &mut alq_control_plane::Config) {
    config.heartbeat_interval_ms = 60_000;
    config.lease_ttl_ms = 180_000;
}

/// Far below the heartbeat interval: a held heartbeat that answers within it was woken.
const WOKEN_WITHIN: Duration = Duration::from_secs(30);

async fn heartbeat(robot: &Client, job: &Value, wait_ms: Option<u64>) -> crate::common::Reply {
    let query = wait_ms.map(|w| format!("?wait_ms={w}")).unwrap_or_default();
    robot
        .post(
            &format!("/robot/jobs/{}/heartbeat{query}", job["job_id"]),
            json!({"lease_token": job["lease_token"]}),
        )
        .await
}

async fn wait_watched(server: &TestServer, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.state.dispatcher.cancels().watched() != count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the heartbeat never waited"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn a_held_heartbeat_is_answered_at_once_by_a_cancel(backend: Backend) {
    let Some(server) = TestServer::start_with_config(backend, minute_heartbeats).await else {
        return;
    };
    push(&server, GREET).await;
    let bot = robot(&server, "held", &[]).await;
    let id = start_job(&server.admin(), "greet", json!({})).await;
    let job = lease_now(&bot, 1).await.remove(0);

    // Without `wait_ms` (an older robot) the answer comes at once; a short wait ends.
    assert_eq!(
        heartbeat(&bot, &job, None).await.expect(200)["cancel"],
        false
    );
    assert_eq!(
        heartbeat(&bot, &job, Some(50)).await.expect(200)["cancel"],
        false
    );
    heartbeat(&bot, &job, Some(0)).await.expect(200);
    let bad = bot
        .post(
            &format!("/robot/jobs/{id}/heartbeat?wait_ms=soon"),
            json!({"lease_token": job["lease_token"]}),
        )
        .await;
    bad.expect_error(400, "invalid_request");
    // A stale lease is refused at once, not held.
    let stale = json!({"job_id": id, "lease_token": 99});
    let refused = tokio::time::timeout(WOKEN_WITHIN, heartbeat(&bot, &stale, Some(60_000)))
        .await
        .expect("a stale heartbeat is answered at once");
    refused.expect_error(409, "stale_lease");
    assert_eq!(server.state.dispatcher.cancels().watched(), 0);

    // Held for up to a minute; the cancel answers it.
    let held = tokio::spawn({
        let (bot, job) = (bot.clone(), job.clone());
        async move { heartbeat(&bot, &job, Some(60_000)).await }
    });
    wait_watched(&server, 1).await;
    let cancelled = server
        .admin()
        .post(&format!("/jobs/{id}/cancel"), json!({}))
        .await
        .expect(200);
    assert_eq!(cancelled["cancel_requested"], true, "{cancelled}");
    let answer = tokio::time::timeout(WOKEN_WITHIN, held)
        .await
        .expect("the cancel answers the held heartbeat")
        .unwrap()
        .expect(200);
    assert_eq!(answer["cancel"], true, "{answer}");
    wait_watched(&server, 0).await;

    // Cancelled already: a held heartbeat is answered at once.
    let again = tokio::time::timeout(WOKEN_WITHIN, heartbeat(&bot, &job, Some(60_000)))
        .await
        .expect("answered at once")
        .expect(200);
    assert_eq!(again["cancel"], true);
    server.stop().await;
}

/// The robot as `GET /robots` shows it.
async fn listed(server: &TestServer, name: &str) -> Value {
    let robots = server.admin().get("/robots").await.expect(200);
    robots
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no robot {name}: {robots}"))
}

async fn a_robot_that_says_goodbye_is_offline_until_it_calls_again(backend: Backend) {
    let Some(server) = TestServer::start_with_config(backend, minute_heartbeats).await else {
        return;
    };
    let bot = robot(&server, "leaving", &[]).await;
    assert!(lease_now(&bot, 1).await.is_empty());
    let seen = listed(&server, "leaving").await;
    assert_eq!(seen["status"], "online", "{seen}");
    assert_eq!(seen["stopped_at"], Value::Null);

    bot.post("/robot/goodbye", json!({})).await.expect(204);
    // Three minutes of heartbeat window left, yet offline now: the goodbye says so.
    let gone = listed(&server, "leaving").await;
    assert_eq!(gone["status"], "offline", "{gone}");
    assert!(gone["stopped_at"].as_i64().is_some(), "{gone}");
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l == "alq_robots_online 0"),
        "{metrics}"
    );

    // Its next call brings it back.
    assert!(lease_now(&bot, 1).await.is_empty());
    let back = listed(&server, "leaving").await;
    assert_eq!(back["status"], "online", "{back}");
    assert_eq!(back["stopped_at"], Value::Null);

    // Only a robot says goodbye for itself.
    server
        .client("alq_rbt_wrong")
        .post("/robot/goodbye", json!({}))
        .await
        .expect_error(401, "unauthenticated");
    server
        .admin()
        .post("/robot/goodbye", json!({}))
        .await
        .expect_error(403, "forbidden");
    server.stop().await;
}

/// The robot's heartbeat waits on replica B; the cancel is made on replica A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_made_on_one_replica_answers_a_heartbeat_held_on_another() {
    let Some(redis) = crate::replicas::redis_url() else {
        return;
    };
    let channel = format!("alq-test:{}", alq_control_plane::db::new_id());
    let share = |c: &mut alq_control_plane::Config| {
        minute_heartbeats(c);
        c.redis_url = Some(redis.clone());
        c.redis_channel = channel.clone();
    };
    let Some(a) = TestServer::start_with_config(Backend::Postgres, share).await else {
        return;
    };
    let b = a.replica(share).await;
    push(&a, GREET).await;
    let on_b = robot(&b, "on-b", &[]).await;
    let id = start_job(&a.admin(), "greet", json!({})).await;
    let job = lease_now(&on_b, 1).await.remove(0);
    let held = tokio::spawn({
        let (on_b, job) = (on_b.clone(), job.clone());
        async move { heartbeat(&on_b, &job, Some(60_000)).await }
    });
    wait_watched(&b, 1).await;
    assert_eq!(a.state.dispatcher.cancels().watched(), 0);
    a.admin()
        .post(&format!("/jobs/{id}/cancel"), json!({}))
        .await
        .expect(200);
    let answer = tokio::time::timeout(WOKEN_WITHIN, held)
        .await
        .expect("the cancel crossed replicas through Redis")
        .unwrap()
        .expect(200);
    assert_eq!(answer["cancel"], true, "{answer}");
    b.stop().await;
    a.stop().await;
}
