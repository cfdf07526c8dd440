//! Bulk enqueue: many jobs in one request and one transaction, each checked like a
//! single create, audited once, waking as many parked robots as there are jobs.

use std::time::{Duration, Instant};

use alq_control_plane::auth::Role;
use serde_json::{Value, json};

use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, lease, lease_now, personal_token, push, robot};

on_both_backends!(
    bulk_jobs_are_made_checked_and_audited_once,
    a_bad_item_makes_nothing_and_is_named,
    bulk_jobs_wake_as_many_parked_robots_as_jobs
);

async fn job_count(server: &TestServer) -> usize {
    server.admin().get("/jobs?limit=500").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn bulk_jobs_are_made_checked_and_audited_once(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let reply = admin
        .post(
            "/jobs/bulk",
            json!({"workflow": "greet", "jobs": [
                {"inputs": {"count": 1}},
                {"inputs": {"count": 2, "password": "hunter2"}, "priority": 7, "labels": ["eu", "chrome", "eu"], "max_attempts": 5},
                {"inputs": {"count": 3}, "run_after": "2030-01-01T00:00:00Z"},
            ]}),
        )
        .await
        .expect(201);
    let ids: Vec<i64> = reply["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let mut jobs = Vec::new();
    for id in &ids {
        jobs.push(admin.get(&format!("/jobs/{id}")).await.expect(200));
    }
    // Each id is the job of its item, checked and filled in like a single create.
    assert_eq!(
        jobs[0]["inputs"],
        json!({"count": 1, "password": null, "who": "world"})
    );
    assert_eq!(jobs[0]["state"], "pending");
    assert_eq!(jobs[0]["max_attempts"], 3);
    assert_eq!(jobs[1]["priority"], 7);
    assert_eq!(jobs[1]["labels"], json!(["chrome", "eu"]));
    assert_eq!(jobs[1]["max_attempts"], 5);
    assert_eq!(jobs[1]["inputs"]["password"], "***");
    assert_eq!(jobs[2]["run_after"], "2030-01-01T00:00:00+00:00");
    // The label rows are there too: a robot without the labels does not get job 1, one
    // with them does (priority first), and nobody gets the job of 2030.
    let plain = robot(&server, "plain", &[]).await;
    let leased = lease_now(&plain, 10).await;
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0]["job_id"], ids[0]);
    let labelled = robot(&server, "labelled", &["eu", "chrome", "x"]).await;
    let leased = lease_now(&labelled, 10).await;
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0]["job_id"], ids[1]);
    assert_eq!(leased[0]["inputs"]["password"], "hunter2");
    // Audited once.
    let audit = admin.get("/audit?limit=10").await.expect(200);
    let bulk: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "job.create_bulk")
        .collect();
    assert_eq!(bulk.len(), 1, "{audit}");
    assert_eq!(bulk[0]["details"]["count"], 3);
    assert_eq!(bulk[0]["details"]["first_id"], ids[0]);
    // More than fits in one INSERT chunk: every job is made, in order.
    let many: Vec<Value> = (0..1_000)
        .map(|i| json!({"inputs": {"count": i}, "labels": [format!("l{}", i % 3)]}))
        .collect();
    let reply = admin
        .post("/jobs/bulk", json!({"workflow": "greet", "jobs": many}))
        .await
        .expect(201);
    let ids: Vec<i64> = reply["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1_000);
    for i in [0usize, 499, 500, 999] {
        let job = admin.get(&format!("/jobs/{}", ids[i])).await.expect(200);
        assert_eq!(job["inputs"]["count"], i, "job {i}");
        assert_eq!(job["labels"], json!([format!("l{}", i % 3)]), "job {i}");
    }
    // Operators may; viewers may not.
    let viewer = server.client(&personal_token(&server, Role::Viewer).await);
    viewer
        .post(
            "/jobs/bulk",
            json!({"workflow": "greet", "jobs": [{"inputs": {"count": 1}}]}),
        )
        .await
        .expect_error(403, "forbidden");
    let operator = server.client(&personal_token(&server, Role::Operator).await);
    operator
        .post(
            "/jobs/bulk",
            json!({"workflow": "greet", "jobs": [{"inputs": {"count": 1}}]}),
        )
        .await
        .expect(201);
    server.stop().await;
}

async fn a_bad_item_makes_nothing_and_is_named(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let bad = admin
        .post(
            "/jobs/bulk",
            json!({"workflow": "greet", "jobs": [
                {"inputs": {"count": 1}},
                {"inputs": {"count": 2}},
                {"inputs": {"count": "three"}},
            ]}),
        )
        .await
        .expect_error(422, "invalid_inputs");
    let message = bad["message"].as_str().unwrap();
    assert!(message.starts_with("jobs[2]: "), "{message}");
    assert!(message.contains("`count` must be an integer"), "{message}");
    assert_eq!(bad["details"]["index"], 2);
    let bad = admin
        .post(
            "/jobs/bulk",
            json!({"workflow": "greet", "jobs": [{"inputs": {"count": 1}}, {"inputs": {"count": 1}, "max_attempts": 0}]}),
        )
        .await
        .expect_error(422, "invalid_inputs");
    assert_eq!(bad["details"]["index"], 1);
    assert!(bad["message"].as_str().unwrap().contains("max_attempts"));
    assert_eq!(job_count(&server).await, 0);
    // Too many, none, unknown fields, unknown workflow.
    let many: Vec<Value> = (0..1_001)
        .map(|_| json!({"inputs": {"count": 1}}))
        .collect();
    let too_many = admin
        .post("/jobs/bulk", json!({"workflow": "greet", "jobs": many}))
        .await
        .expect_error(400, "invalid_request");
    assert!(too_many["message"].as_str().unwrap().contains("1001"));
    admin
        .post("/jobs/bulk", json!({"workflow": "greet", "jobs": []}))
        .await
        .expect_error(400, "invalid_request");
    admin
        .post(
            "/jobs/bulk",
            json!({"workflow": "greet", "jobs": [{"inputs": {}, "colour": 1}]}),
        )
        .await
        .expect_error(400, "invalid_request");
    admin
        .post(
            "/jobs/bulk",
            json!({"workflow": "nope", "jobs": [{"inputs": {"count": 1}}]}),
        )
        .await
        .expect_error(404, "not_found");
    assert_eq!(job_count(&server).await, 0);
    server.stop().await;
}

async fn bulk_jobs_wake_as_many_parked_robots_as_jobs(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let mut robots = Vec::new();
    for i in 0..3 {
        robots.push(robot(&server, &format!("parked-{i}"), &[]).await);
    }
    let started = Instant::now();
    let waits: Vec<_> = robots
        .into_iter()
        .map(|r| tokio::spawn(async move { lease(&r, 10, 1).await }))
        .collect();
    // Let all three park.
    while server.state.dispatcher.parked() < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "robots park");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    admin
        .post(
            "/jobs/bulk",
            json!({"workflow": "greet", "jobs": [{"inputs": {"count": 1}}, {"inputs": {"count": 2}}]}),
        )
        .await
        .expect(201);
    let mut got = 0;
    let mut empty = 0;
    for wait in waits {
        let jobs = wait.await.unwrap();
        if jobs.is_empty() {
            empty += 1;
        } else {
            // An idle server's sweep sleeps until something is due: a robot that got a
            // job within its wait was woken by the bulk call itself.
            got += jobs.len();
        }
    }
    assert_eq!((got, empty), (2, 1));
    server.stop().await;
}
