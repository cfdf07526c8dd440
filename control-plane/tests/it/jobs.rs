//! The jobs API: create (inputs checked), list with filters and a cursor, get, cancel,
//! retry, tenants kept apart.

use alq_control_plane::auth::Role;
use alq_control_plane::db::tokens;
use reqwest::Method;
use serde_json::json;

use crate::common::{Backend, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, personal_token, push, start_job};

on_both_backends!(
    jobs_are_created_with_checked_inputs,
    jobs_are_listed_with_filters_and_a_cursor,
    pending_jobs_cancel_at_once_and_retry_as_new_jobs,
    other_tenants_and_small_roles_are_kept_out
);

async fn jobs_are_created_with_checked_inputs(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let pushed = push(&server, GREET).await;
    let admin = server.admin();
    let job = admin
        .post(
            "/jobs",
            json!({"workflow": "greet", "inputs": {"count": 2, "password": "hunter2"}, "priority": 5, "labels": ["eu", "chrome", "eu"], "max_attempts": 2, "run_after": "2030-01-01T00:00:00Z"}),
        )
        .await
        .expect(201);
    assert_eq!(job["state"], "pending");
    assert_eq!(job["workflow"]["name"], "greet");
    assert_eq!(job["workflow"]["id"], pushed["workflow"]["id"]);
    assert_eq!(job["version_id"], pushed["version"]["id"]);
    assert_eq!(job["priority"], 5);
    assert_eq!(job["labels"], json!(["chrome", "eu"]));
    assert_eq!(job["max_attempts"], 2);
    assert_eq!(job["attempt"], 0);
    assert_eq!(job["run_after"], "2030-01-01T00:00:00+00:00");
    // Defaults filled in, secrets masked.
    assert_eq!(
        job["inputs"],
        json!({"count": 2, "password": "***", "who": "world"})
    );
    let got = admin.get(&format!("/jobs/{}", job["id"])).await.expect(200);
    assert_eq!(got["inputs"]["password"], "***");
    assert!(!got.to_string().contains("hunter2"));
    // Every problem named at once.
    let bad = admin
        .post(
            "/jobs",
            json!({"workflow": "greet", "inputs": {"count": "two", "colour": "red"}}),
        )
        .await
        .expect_error(422, "invalid_inputs");
    let message = bad["message"].as_str().unwrap();
    assert!(message.contains("`colour`"), "{message}");
    assert!(message.contains("`count` must be an integer"), "{message}");
    assert_eq!(bad["details"]["problems"].as_array().unwrap().len(), 2);
    admin
        .post("/jobs", json!({"workflow": "nope"}))
        .await
        .expect_error(404, "not_found");
    admin
        .post("/jobs", json!({"workflow": "greet", "version": "nope"}))
        .await
        .expect_error(404, "not_found");
    admin
        .post("/jobs", json!({"workflow": "greet", "max_attempts": 0}))
        .await
        .expect_error(400, "invalid_request");
    admin
        .post(
            "/jobs",
            json!({"workflow": "greet", "run_after": "tomorrow"}),
        )
        .await
        .expect_error(400, "invalid_request");
    admin
        .post("/jobs", json!({"workflow": "greet", "prio": 1}))
        .await
        .expect_error(400, "invalid_request");
    admin
        .send_raw(Method::POST, "/jobs", "application/json", b"[".to_vec())
        .await
        .expect_error(400, "invalid_request");
    // A required input.
    let strict = GREET.replace("\"greet\"", "\"strict\"").replace(
        r#"{"type": "integer"}"#,
        r#"{"type": "integer", "required": true}"#,
    );
    push(&server, &strict).await;
    let missing = admin
        .post("/jobs", json!({"workflow": "strict"}))
        .await
        .expect_error(422, "invalid_inputs");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("`count` is required")
    );
    server.stop().await;
}

async fn jobs_are_listed_with_filters_and_a_cursor(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    push(&server, &GREET.replace("\"greet\"", "\"other\"")).await;
    let admin = server.admin();
    let mut ids = Vec::new();
    for i in 0..7 {
        let workflow = if i % 2 == 0 { "greet" } else { "other" };
        ids.push(start_job(&admin, workflow, json!({})).await);
    }
    admin
        .post(&format!("/jobs/{}/cancel", ids[0]), json!({}))
        .await
        .expect(200);
    // Pages of 3, newest first.
    let mut seen = Vec::new();
    let mut path = "/jobs?limit=3".to_owned();
    loop {
        let page = admin.get(&path).await.expect(200);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/jobs?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    let greet = admin.get("/jobs?workflow=greet").await.expect(200);
    assert_eq!(greet["items"].as_array().unwrap().len(), 4);
    let cancelled = admin.get("/jobs?state=cancelled").await.expect(200);
    assert_eq!(cancelled["items"].as_array().unwrap().len(), 1);
    assert_eq!(cancelled["items"][0]["id"], ids[0]);
    let pending_greet = admin
        .get("/jobs?state=pending&workflow=greet")
        .await
        .expect(200);
    assert_eq!(pending_greet["items"].as_array().unwrap().len(), 3);
    let future = admin
        .get("/jobs?since=2100-01-01T00:00:00Z")
        .await
        .expect(200);
    assert!(future["items"].as_array().unwrap().is_empty());
    let past = admin
        .get("/jobs?until=2000-01-01T00:00:00Z")
        .await
        .expect(200);
    assert!(past["items"].as_array().unwrap().is_empty());
    let all = admin
        .get("/jobs?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&robot=nobody")
        .await
        .expect(200);
    assert!(all["items"].as_array().unwrap().is_empty());
    admin
        .get("/jobs?state=lost")
        .await
        .expect_error(400, "invalid_request");
    admin
        .get("/jobs?limit=501")
        .await
        .expect_error(400, "invalid_request");
    admin
        .get("/jobs?since=yesterday")
        .await
        .expect_error(400, "invalid_request");
    admin
        .get("/jobs?cursor=zzz")
        .await
        .expect_error(400, "invalid_request");
    admin
        .get("/jobs?colour=red")
        .await
        .expect_error(400, "invalid_request");
    server.stop().await;
}

async fn pending_jobs_cancel_at_once_and_retry_as_new_jobs(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let id = start_job(&admin, "greet", json!({"priority": 3, "labels": ["eu"]})).await;
    let cancelled = admin
        .post(&format!("/jobs/{id}/cancel"), json!({}))
        .await
        .expect(200);
    assert_eq!(cancelled["state"], "cancelled");
    assert!(cancelled["finished_at"].is_string());
    admin
        .post(&format!("/jobs/{id}/cancel"), json!({}))
        .await
        .expect_error(409, "conflict");
    let retried = admin
        .post(&format!("/jobs/{id}/retry"), json!({}))
        .await
        .expect(201);
    assert_ne!(retried["id"], id);
    assert_eq!(retried["retry_of"], id);
    assert_eq!(retried["state"], "pending");
    assert_eq!(retried["priority"], 3);
    assert_eq!(retried["labels"], json!(["eu"]));
    assert_eq!(retried["inputs"]["count"], 1);
    // A pending job is not retried.
    admin
        .post(&format!("/jobs/{}/retry", retried["id"]), json!({}))
        .await
        .expect_error(409, "conflict");
    admin
        .get("/jobs/424242")
        .await
        .expect_error(404, "not_found");
    admin.get("/jobs/x").await.expect_error(404, "not_found");
    admin
        .post("/jobs/424242/cancel", json!({}))
        .await
        .expect_error(404, "not_found");
    // The audit log has the changes.
    let tenant = crate::robot_api::default_tenant(&server).await;
    let entries = alq_control_plane::db::audit::list(&server.state.db, &tenant, None, 50)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for action in ["job.create", "job.cancel", "job.retry"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    server.stop().await;
}

async fn other_tenants_and_small_roles_are_kept_out(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let id = start_job(&admin, "greet", json!({})).await;
    // Another tenant sees nothing of it.
    let other = admin
        .post("/tenants", json!({"name": "other"}))
        .await
        .expect(201);
    let mut tx = server.state.db.begin().await.unwrap();
    let stranger = tokens::create_personal(
        &mut tx,
        other["id"].as_str().unwrap(),
        tokens::NewPersonal {
            name: "o".into(),
            role: Role::Admin,
            system: false,
        },
        None,
    )
    .await
    .unwrap()
    .secret;
    tx.commit().await.unwrap();
    let stranger = server.client(&stranger);
    for path in ["", "/events", "/artifacts"] {
        stranger
            .get(&format!("/jobs/{id}{path}"))
            .await
            .expect_error(404, "not_found");
    }
    stranger
        .post(&format!("/jobs/{id}/cancel"), json!({}))
        .await
        .expect_error(404, "not_found");
    stranger
        .post(&format!("/jobs/{id}/retry"), json!({}))
        .await
        .expect_error(404, "not_found");
    assert!(
        stranger.get("/jobs").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    stranger
        .post("/jobs", json!({"workflow": "greet"}))
        .await
        .expect_error(404, "not_found");
    // A viewer reads but does not start or cancel.
    let viewer = server.client(&personal_token(&server, Role::Viewer).await);
    viewer.get(&format!("/jobs/{id}")).await.expect(200);
    viewer
        .post(
            "/jobs",
            json!({"workflow": "greet", "inputs": {"count": 1}}),
        )
        .await
        .expect_error(403, "forbidden");
    viewer
        .post(&format!("/jobs/{id}/cancel"), json!({}))
        .await
        .expect_error(403, "forbidden");
    let operator = server.client(&personal_token(&server, Role::Operator).await);
    start_job(&operator, "greet", json!({})).await;
    server
        .anonymous()
        .get("/jobs")
        .await
        .expect_error(401, "unauthenticated");
    server.stop().await;
}
