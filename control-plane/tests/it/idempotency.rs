//! `Idempotency-Key` on `POST /jobs` and `POST /jobs/bulk`: a retry gets the first
//! answer and makes nothing; another request with the key is a 409; keys are per
//! tenant, expire, and are pruned.

use alq_control_plane::db::{Db, idempotency};
use serde_json::{Value, json};

use crate::common::{Backend, Client, Reply, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, push};
use crate::tokens::second_tenant;

on_both_backends!(
    a_retried_create_gets_the_first_answer_and_makes_no_job,
    a_retried_bulk_create_gets_the_first_answer,
    concurrent_retries_make_one_job,
    expired_keys_are_replaced_and_pruned
);

/// Posts `body` with an `Idempotency-Key`; the reply and whether it says it is a replay.
async fn post_keyed(client: &Client, path: &str, key: &str, body: &Value) -> (Reply, bool) {
    let mut request = client
        .http
        .post(format!("{}{path}", client.base))
        .header("idempotency-key", key)
        .json(body);
    if let Some(token) = &client.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (Reply { status, body }, replayed)
}

async fn job_ids(client: &Client) -> Vec<i64> {
    client.get("/jobs?limit=500").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect()
}

async fn a_retried_create_gets_the_first_answer_and_makes_no_job(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let body = json!({"workflow": "greet", "inputs": {"count": 1, "who": "ann"}, "priority": 2});
    let (first, replayed) = post_keyed(&admin, "/jobs", "order-7", &body).await;
    assert!(!replayed);
    let first = first.expect(201);
    let id = first["id"].as_i64().unwrap();
    // The job changes; a retry still gets the answer the first call got.
    admin
        .post(&format!("/jobs/{id}/cancel"), json!({}))
        .await
        .expect(200);
    let same: Value = serde_json::from_str(
        r#"{"priority": 2, "inputs": {"who": "ann", "count": 1}, "workflow": "greet"}"#,
    )
    .unwrap();
    let (again, replayed) = post_keyed(&admin, "/jobs", "order-7", &same).await;
    assert!(replayed, "a replay says so in Idempotent-Replayed");
    assert_eq!(again.expect(201), first);
    assert_eq!(job_ids(&admin).await, [id]);

    // The key with another request, or on the bulk call, is refused and makes nothing.
    let other = json!({"workflow": "greet", "inputs": {"count": 2}});
    let (refused, _) = post_keyed(&admin, "/jobs", "order-7", &other).await;
    let refused = refused.expect_error(409, "conflict");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key `order-7` was used"),
        "{refused}"
    );
    let bulk = json!({"workflow": "greet", "jobs": [{"inputs": {"count": 1}}]});
    let (refused, _) = post_keyed(&admin, "/jobs/bulk", "order-7", &bulk).await;
    refused.expect_error(409, "conflict");
    assert_eq!(job_ids(&admin).await, [id]);

    // A refused request stores nothing: the key works once the request is right.
    let bad = json!({"workflow": "greet", "inputs": {"count": "one"}});
    let (failed, _) = post_keyed(&admin, "/jobs", "order-8", &bad).await;
    failed.expect_error(422, "invalid_inputs");
    let good = json!({"workflow": "greet", "inputs": {"count": 1}});
    let (made, replayed) = post_keyed(&admin, "/jobs", "order-8", &good).await;
    assert!(!replayed);
    let second = made.expect(201)["id"].as_i64().unwrap();

    // Keys are per tenant: another tenant's same key makes its own job.
    let (_, other_admin) = second_tenant(&server, "other").await;
    let other_admin = server.client(&other_admin);
    push_as(&other_admin).await;
    let (theirs, replayed) = post_keyed(&other_admin, "/jobs", "order-7", &body).await;
    assert!(!replayed);
    assert_ne!(theirs.expect(201)["id"].as_i64().unwrap(), id);

    // Malformed keys are a 400 naming the header.
    for key in ["has space", &"k".repeat(256)] {
        let (bad_key, _) = post_keyed(&admin, "/jobs", key, &good).await;
        let error = bad_key.expect_error(400, "invalid_request");
        assert_eq!(error["details"]["header"], "Idempotency-Key");
    }
    assert_eq!(job_ids(&admin).await, [second, id]);
    let audit = admin.get("/audit?limit=500").await.expect(200);
    let creates = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "job.create")
        .count();
    assert_eq!(creates, 2, "one audit row per job made");
    server.stop().await;
}

/// Pushes the greet workflow into the client's tenant.
async fn push_as(client: &Client) {
    client
        .send_raw(
            reqwest::Method::POST,
            "/workflows",
            "application/json",
            GREET.into(),
        )
        .await
        .expect(201);
}

async fn a_retried_bulk_create_gets_the_first_answer(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let body =
        json!({"workflow": "greet", "jobs": [{"inputs": {"count": 1}}, {"inputs": {"count": 2}}]});
    let (first, replayed) = post_keyed(&admin, "/jobs/bulk", "batch-1", &body).await;
    assert!(!replayed);
    let first = first.expect(201);
    assert_eq!(first["ids"].as_array().unwrap().len(), 2);
    let (again, replayed) = post_keyed(&admin, "/jobs/bulk", "batch-1", &body).await;
    assert!(replayed);
    assert_eq!(again.expect(201), first);
    assert_eq!(job_ids(&admin).await.len(), 2);
    let changed = json!({"workflow": "greet", "jobs": [{"inputs": {"count": 1}}]});
    let (refused, _) = post_keyed(&admin, "/jobs/bulk", "batch-1", &changed).await;
    refused.expect_error(409, "conflict");
    let single = json!({"workflow": "greet", "inputs": {"count": 1}});
    let (refused, _) = post_keyed(&admin, "/jobs", "batch-1", &single).await;
    refused.expect_error(409, "conflict");
    assert_eq!(job_ids(&admin).await.len(), 2);
    // The OpenAPI document names the header on both calls.
    let document = server.anonymous().get("/openapi.json").await.expect(200);
    for path in ["/api/v1/jobs", "/api/v1/jobs/bulk"] {
        let parameters = &document["paths"][path]["post"]["parameters"];
        let header = parameters
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "Idempotency-Key")
            .unwrap_or_else(|| panic!("{path}: {parameters}"));
        assert_eq!(header["in"], "header");
    }
    server.stop().await;
}

async fn concurrent_retries_make_one_job(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let body = json!({"workflow": "greet", "inputs": {"count": 1}});
    let calls = (0..8).map(|_| {
        let (admin, body) = (admin.clone(), body.clone());
        tokio::spawn(async move { post_keyed(&admin, "/jobs", "same-key", &body).await })
    });
    let mut answers = Vec::new();
    for call in calls {
        let (reply, _) = call.await.unwrap();
        answers.push(reply.expect(201));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(job_ids(&admin).await, [answers[0]["id"].as_i64().unwrap()]);
    server.stop().await;
}

/// Moves every stored answer back by `ms`, as if that much time had passed.
async fn age_keys(db: &Db, ms: i64) {
    let sql = "UPDATE idempotency_keys SET created_at = created_at - $1";
    match db {
        Db::Sqlite(pool) => sqlx::query(sql).bind(ms).execute(pool).await.map(drop),
        Db::Postgres(pool) => sqlx::query(sql).bind(ms).execute(pool).await.map(drop),
    }
    .unwrap();
}

async fn expired_keys_are_replaced_and_pruned(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let day = 24 * 3600 * 1000;
    let first = json!({"workflow": "greet", "inputs": {"count": 1}});
    let (made, _) = post_keyed(&admin, "/jobs", "daily", &first).await;
    let first_id = made.expect(201)["id"].as_i64().unwrap();
    // Just inside the 24 hours: still a replay.
    age_keys(&server.state.db, day - 60_000).await;
    let (again, replayed) = post_keyed(&admin, "/jobs", "daily", &first).await;
    assert!(replayed);
    assert_eq!(again.expect(201)["id"], first_id);
    // Past them: the key is free again, even for another request.
    age_keys(&server.state.db, 120_000).await;
    let second = json!({"workflow": "greet", "inputs": {"count": 2}});
    let (made, replayed) = post_keyed(&admin, "/jobs", "daily", &second).await;
    assert!(!replayed);
    let second_id = made.expect(201)["id"].as_i64().unwrap();
    assert_ne!(second_id, first_id);
    // Pruning deletes what expired and keeps the rest.
    let (_, _) = post_keyed(&admin, "/jobs", "other", &first).await;
    age_keys(&server.state.db, day + 1).await;
    let (_, _) = post_keyed(&admin, "/jobs", "fresh", &first).await;
    let now = alq_control_plane::db::now_ms();
    let pruned = idempotency::prune(&server.state.db, now - day)
        .await
        .unwrap();
    assert_eq!(pruned, 2, "`daily` and `other` expired, `fresh` did not");
    let (fresh, replayed) = post_keyed(&admin, "/jobs", "fresh", &first).await;
    assert!(replayed);
    fresh.expect(201);
    server.stop().await;
}
