//! The robot API: registration, and the fencing of every call about a leased job.
//! Also the helpers the job and leasing tests share.

use alq_control_plane::auth::Role;
use alq_control_plane::db::{tenants, tokens};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Backend, Client, TestServer};
use crate::on_both_backends;

on_both_backends!(
    registration_tokens_are_checked,
    stale_leases_are_refused_everywhere,
    artifacts_are_checked_and_kept,
    many_robots_register_and_report_at_once
);

/// A workflow with a plain, a typed-required and a secret input.
pub const GREET: &str = r#"{"name": "greet", "inputs": {"who": {"type": "string", "default": "world"}, "count": {"type": "integer"}, "password": {"type": "string", "secret": true}}, "steps": [{"action": "log", "message": "hi {{ inputs.who }}"}]}"#;

/// Pushes `source` as the admin.
pub async fn push(server: &TestServer, source: &str) -> Value {
    server
        .admin()
        .send_raw(
            Method::POST,
            "/workflows",
            "application/json",
            source.into(),
        )
        .await
        .expect(201)
}

/// The default tenant's id.
pub async fn default_tenant(server: &TestServer) -> String {
    tenants::list(&server.state.db).await.unwrap()[0].id.clone()
}

/// A registration token of the default tenant.
pub async fn registration_token(
    server: &TestServer,
    labels: &[&str],
    single_use: bool,
    expires_at: Option<i64>,
) -> String {
    let tenant = default_tenant(server).await;
    let new = tokens::NewRegistration {
        name: "test".into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        single_use,
        expires_at,
        created_at: alq_control_plane::db::now_ms(),
    };
    let mut tx = server.state.db.begin().await.unwrap();
    let secret = tokens::create_registration(&mut tx, &tenant, &new, None)
        .await
        .unwrap()
        .secret;
    tx.commit().await.unwrap();
    secret
}

/// A personal token of the default tenant with `role`.
pub async fn personal_token(server: &TestServer, role: Role) -> String {
    let tenant = default_tenant(server).await;
    let mut tx = server.state.db.begin().await.unwrap();
    let secret = tokens::create_personal(
        &mut tx,
        &tenant,
        tokens::NewPersonal {
            name: format!("{role:?}"),
            role,
            system: false,
        },
        None,
    )
    .await
    .unwrap()
    .secret;
    tx.commit().await.unwrap();
    secret
}

/// Registers a robot with `labels`; returns a client with its token.
pub async fn robot(server: &TestServer, name: &str, labels: &[&str]) -> Client {
    let token = registration_token(server, &[], false, None).await;
    let body = server
        .client(&token)
        .post("/robots/register", json!({"name": name, "labels": labels}))
        .await
        .expect(201);
    server.client(body["token"].as_str().unwrap())
}

/// Starts a job of `workflow` with `body` fields added; returns its id.
pub async fn start_job(client: &Client, workflow: &str, extra: Value) -> i64 {
    let mut body = json!({"workflow": workflow, "inputs": {"count": 1}});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            body.insert(k.clone(), v.clone());
        }
    }
    crate::common::until_served(|| client.post("/jobs", body.clone()))
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap()
}

/// Leases without waiting: the leased jobs, or none (204).
pub async fn lease_now(robot: &Client, slots: u32) -> Vec<Value> {
    lease(robot, 0, slots).await
}

/// Leases, waiting up to `wait_s`.
pub async fn lease(robot: &Client, wait_s: u64, slots: u32) -> Vec<Value> {
    let body = json!({"wait_s": wait_s, "slots": slots});
    let reply = crate::common::until_served(|| robot.post("/robot/lease", body.clone())).await;
    if reply.status.as_u16() == 204 {
        return Vec::new();
    }
    reply.expect(200)["jobs"].as_array().unwrap().clone()
}

/// Completes a leased job.
pub async fn complete(robot: &Client, job: &Value, body: Value) -> crate::common::Reply {
    let mut body = body;
    body["lease_token"] = job["lease_token"].clone();
    let path = format!("/robot/jobs/{}/complete", job["job_id"]);
    crate::common::until_served(|| robot.post(&path, body.clone())).await
}

async fn registration_tokens_are_checked(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let register = |token: String, name: &'static str| {
        let client = server.client(&token);
        async move {
            client
                .post(
                    "/robots/register",
                    json!({"name": name, "hostname": "h1", "os": "linux", "arch": "x86_64", "version": "0.1.0", "labels": ["chrome", "eu"], "browsers": ["chromium"]}),
                )
                .await
        }
    };
    // Labels: the token's and the robot's, once each.
    let token = registration_token(&server, &["eu", "finance"], false, None).await;
    let first = register(token.clone(), "r1").await.expect(201);
    assert!(first["token"].as_str().unwrap().starts_with("alq_rbt_"));
    assert_eq!(first["labels"], json!(["chrome", "eu", "finance"]));
    assert_eq!(first["lease_ttl_ms"], server.config.lease_ttl_ms);
    // Registering the same name again keeps the id and replaces the token.
    let again = register(token.clone(), "r1").await.expect(201);
    assert_eq!(again["robot_id"], first["robot_id"]);
    server
        .client(first["token"].as_str().unwrap())
        .post("/robot/lease", json!({"wait_s": 0}))
        .await
        .expect_error(401, "unauthenticated");
    server
        .client(again["token"].as_str().unwrap())
        .post("/robot/lease", json!({"wait_s": 0}))
        .await
        .expect(204);
    // Single use: once.
    let single = registration_token(&server, &[], true, None).await;
    register(single.clone(), "r2").await.expect(201);
    register(single, "r3")
        .await
        .expect_error(401, "unauthenticated");
    // Expired, unknown, wrong kind.
    let expired = registration_token(&server, &[], false, Some(1)).await;
    register(expired, "r4")
        .await
        .expect_error(401, "unauthenticated");
    register("alq_reg_nope".into(), "r5")
        .await
        .expect_error(401, "unauthenticated");
    register(server.admin_token.clone(), "r6")
        .await
        .expect_error(403, "forbidden");
    // A robot token does not reach the public API, nor a personal one the robot API.
    let robot_token = again["token"].as_str().unwrap();
    server
        .client(robot_token)
        .get("/jobs")
        .await
        .expect_error(403, "forbidden");
    server
        .admin()
        .post("/robot/lease", json!({"wait_s": 0}))
        .await
        .expect_error(403, "forbidden");
    // Malformed bodies.
    let token = registration_token(&server, &[], false, None).await;
    server
        .client(&token)
        .send_raw(
            Method::POST,
            "/robots/register",
            "application/json",
            b"{\"name\":".to_vec(),
        )
        .await
        .expect_error(400, "invalid_request");
    register(token.clone(), "   ")
        .await
        .expect_error(400, "invalid_request");
    server
        .client(&token)
        .post("/robots/register", json!({"name": "x", "colour": "red"}))
        .await
        .expect_error(400, "invalid_request");
    // A disabled robot leases nothing, and is told why (not refused).
    let robot_id = again["robot_id"].as_str().unwrap();
    set_disabled(&server, robot_id).await;
    let answer = server
        .client(robot_token)
        .post("/robot/lease", json!({"wait_s": 0}))
        .await
        .expect(200);
    assert_eq!(answer, json!({"jobs": [], "disabled": true}));
    server.stop().await;
}

async fn set_disabled(server: &TestServer, robot_id: &str) {
    use alq_control_plane::db::Db;
    let sql = "UPDATE robots SET disabled = TRUE WHERE id = $1";
    match &server.state.db {
        Db::Sqlite(pool) => {
            sqlx::query(sql).bind(robot_id).execute(pool).await.unwrap();
        }
        Db::Postgres(pool) => {
            sqlx::query(sql).bind(robot_id).execute(pool).await.unwrap();
        }
    }
}

async fn stale_leases_are_refused_everywhere(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let r1 = robot(&server, "r1", &[]).await;
    let r2 = robot(&server, "r2", &[]).await;
    let id = start_job(&admin, "greet", json!({})).await;
    let job = lease_now(&r1, 1).await.remove(0);
    let token = job["lease_token"].as_i64().unwrap();
    let wrong = token + 7;
    let path = |what: &str| format!("/robot/jobs/{id}/{what}");
    // Wrong token, then the right token from another robot.
    for robot in [&r1, &r2] {
        let t = if std::ptr::eq(robot, &r1) {
            wrong
        } else {
            token
        };
        robot
            .post(&path("heartbeat"), json!({"lease_token": t}))
            .await
            .expect_error(409, "stale_lease");
        robot
            .post(
                &path("events"),
                json!({"lease_token": t, "events": [{"seq": 1, "event": {}}]}),
            )
            .await
            .expect_error(409, "stale_lease");
        put_artifact(robot, id, t, b"png".to_vec(), None)
            .await
            .expect_error(409, "stale_lease");
        robot
            .post(
                &path("complete"),
                json!({"lease_token": t, "outcome": "succeeded"}),
            )
            .await
            .expect_error(409, "stale_lease");
    }
    // Nothing changed.
    let shown = admin.get(&format!("/jobs/{id}")).await.expect(200);
    assert_eq!(shown["state"], "running");
    // A job of no tenant or of another tenant: 404.
    r1.post(
        "/robot/jobs/999999/heartbeat",
        json!({"lease_token": token}),
    )
    .await
    .expect_error(404, "not_found");
    r1.post("/robot/jobs/abc/heartbeat", json!({"lease_token": token}))
        .await
        .expect_error(404, "not_found");
    // Malformed bodies.
    r1.send_raw(
        Method::POST,
        &path("heartbeat"),
        "application/json",
        b"{".to_vec(),
    )
    .await
    .expect_error(400, "invalid_request");
    r1.post(
        &path("complete"),
        json!({"lease_token": token, "outcome": "meh"}),
    )
    .await
    .expect_error(400, "invalid_request");
    r1.post("/robot/lease", json!({"wait_s": 0, "slots": 0}))
        .await
        .expect_error(400, "invalid_request");
    // The right token works, and a replay of the same completion is accepted.
    r1.post(&path("heartbeat"), json!({"lease_token": token}))
        .await
        .expect(200);
    let done = json!({"outcome": "succeeded", "outputs": {"n": 1}});
    assert_eq!(
        complete(&r1, &job, done.clone()).await.expect(200)["state"],
        "succeeded"
    );
    assert_eq!(
        complete(&r1, &job, done).await.expect(200)["state"],
        "succeeded"
    );
    complete(&r1, &job, json!({"outcome": "cancelled"}))
        .await
        .expect_error(409, "stale_lease");
    r1.post(&path("heartbeat"), json!({"lease_token": token}))
        .await
        .expect_error(409, "stale_lease");
    server.stop().await;
}

/// Uploads an artifact under its (or a given) hash.
pub async fn put_artifact(
    robot: &Client,
    job_id: i64,
    lease_token: i64,
    bytes: Vec<u8>,
    sha256: Option<String>,
) -> crate::common::Reply {
    let sha256 = sha256.unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
    let response = robot
        .http
        .put(format!(
            "{}/robot/jobs/{job_id}/artifacts/{sha256}",
            robot.base
        ))
        .bearer_auth(robot.token.as_deref().unwrap())
        .header("content-type", "image/png")
        .header("x-alq-name", "step-001.png")
        .header("x-alq-lease-token", lease_token.to_string())
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_default();
    crate::common::Reply {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn artifacts_are_checked_and_kept(backend: Backend) {
    let Some(server) =
        TestServer::start_with_config(backend, |c| c.max_artifact_bytes = 64 * 1024).await
    else {
        return;
    };
    push(&server, GREET).await;
    let admin = server.admin();
    let r1 = robot(&server, "r1", &[]).await;
    let id = start_job(&admin, "greet", json!({})).await;
    let job = lease_now(&r1, 1).await.remove(0);
    let token = job["lease_token"].as_i64().unwrap();
    let png = b"\x89PNG not really".to_vec();
    put_artifact(&r1, id, token, png.clone(), None)
        .await
        .expect(204);
    // Idempotent.
    put_artifact(&r1, id, token, png.clone(), None)
        .await
        .expect(204);
    let wrong = hex::encode(Sha256::digest(b"other"));
    put_artifact(&r1, id, token, png.clone(), Some(wrong))
        .await
        .expect_error(400, "invalid_request");
    put_artifact(&r1, id, token, png.clone(), Some("nothex".into()))
        .await
        .expect_error(400, "invalid_request");
    put_artifact(&r1, id, token, vec![7; 64 * 1024 + 1], None)
        .await
        .expect_error(413, "payload_too_large");
    let list = admin
        .get(&format!("/jobs/{id}/artifacts"))
        .await
        .expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["name"], "step-001.png");
    assert_eq!(items[0]["size"], png.len());
    let sha = items[0]["sha256"].as_str().unwrap();
    let response = admin
        .http
        .get(format!("{}/jobs/{id}/artifacts/{sha}", admin.base))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.unwrap().to_vec(), png);
    server.stop().await;
}

/// Writes that start with a read (registration looks the name up first; job creation
/// reads the workflow) used to fail on SQLite with "database is locked" when they ran
/// at the same time, instead of waiting their turn.
async fn many_robots_register_and_report_at_once(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    push(&server, GREET).await;
    let token = registration_token(&server, &[], false, None).await;
    let anonymous = server.anonymous();
    let mut registrations = tokio::task::JoinSet::new();
    for i in 0..48 {
        let mut client = anonymous.clone();
        client.token = Some(token.clone());
        registrations.spawn(async move {
            client
                .post("/robots/register", json!({"name": format!("r{i}")}))
                .await
        });
    }
    let mut robots = Vec::new();
    while let Some(reply) = registrations.join_next().await {
        let body = reply.unwrap().expect(201);
        let mut robot = anonymous.clone();
        robot.token = Some(body["token"].as_str().unwrap().to_owned());
        robots.push(robot);
    }
    // Each creates a job and posts its events, all at once.
    let admin = server.admin();
    let mut work = tokio::task::JoinSet::new();
    for robot in robots {
        let admin = admin.clone();
        work.spawn(async move {
            start_job(&admin, "greet", json!({"inputs": {"count": 1}})).await;
            let job = lease_now(&robot, 1).await.pop().expect("a job");
            let events: Vec<Value> = (1..=5)
                .map(|seq| json!({"seq": seq, "event": {"event": "log"}}))
                .collect();
            let path = format!("/robot/jobs/{}/events", job["job_id"]);
            robot
                .post(
                    &path,
                    json!({"lease_token": job["lease_token"], "events": events}),
                )
                .await
                .expect(200);
        });
    }
    while let Some(done) = work.join_next().await {
        done.unwrap();
    }
    server.stop().await;
}
