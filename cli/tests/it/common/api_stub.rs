//! A stand-in for the parts of the API that are specified but not yet served by the
//! control plane (jobs, assets, tokens, robots; issue 3): it answers as the contract
//! says and records every request, so the commands' requests and output can be checked.
//! Tests move to `control_plane::Server` as the real endpoints land.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Map, Value, json};

/// The token the stub accepts.
pub const TOKEN: &str = "alq_pat_stub";

/// What the stub holds and saw.
#[derive(Default)]
pub struct Stub {
    /// Every request: method, path and query, JSON body (null when none).
    pub requests: Vec<(String, String, Value)>,
    jobs: Vec<Value>,
    assets: Map<String, Value>,
    tokens: Vec<Value>,
    robot_tokens: Vec<Value>,
}

type Shared = Arc<Mutex<Stub>>;

/// A running stub server.
pub struct ApiStub {
    pub url: String,
    pub state: Shared,
    _thread: std::thread::JoinHandle<()>,
}

impl ApiStub {
    pub fn start() -> ApiStub {
        let state = Shared::default();
        let (ready, started) = std::sync::mpsc::channel();
        let thread = std::thread::spawn({
            let state = state.clone();
            move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind");
                    ready
                        .send(format!("http://{}", listener.local_addr().expect("addr")))
                        .expect("send");
                    axum::serve(listener, app(state)).await.expect("serve");
                });
            }
        });
        let url = started.recv().expect("stub started");
        ApiStub {
            url,
            state,
            _thread: thread,
        }
    }

    /// The requests seen so far whose path starts with `prefix`, other than GETs.
    pub fn changes(&self, prefix: &str) -> Vec<(String, String, Value)> {
        let stub = self.state.lock().expect("lock");
        stub.requests
            .iter()
            .filter(|(m, p, _)| m != "GET" && p.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// The variables that point `alq` at the stub.
    pub fn env(&self) -> [(&'static str, &str); 2] {
        [("ALQ_URL", self.url.as_str()), ("ALQ_TOKEN", TOKEN)]
    }
}

fn app(state: Shared) -> Router {
    let api = Router::new()
        .route("/workflows/{name}", get(workflow))
        .route("/jobs", post(create_job).get(list_jobs))
        .route("/jobs/{id}", get(get_job))
        .route("/jobs/{id}/events", get(job_events))
        .route("/jobs/{id}/cancel", post(cancel_job))
        .route("/jobs/{id}/retry", post(retry_job))
        .route("/assets", get(list_assets))
        .route(
            "/assets/{name}",
            put(put_asset).get(get_asset).delete(delete_asset),
        )
        .route("/tokens", post(create_token).get(list_tokens))
        .route("/tokens/{id}", axum::routing::delete(revoke_token))
        .route(
            "/robot-tokens",
            post(create_robot_token).get(list_robot_tokens),
        )
        .route("/robot-tokens/{id}", axum::routing::delete(revoke_token))
        .route("/robots", get(list_robots));
    Router::new()
        .nest("/api/v1", api)
        .layer(axum::middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}

/// Records the request, checks the token, then passes it on.
async fn record(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"));
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("request body");
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    state
        .lock()
        .expect("lock")
        .requests
        .push((parts.method.to_string(), path, json));
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "unauthenticated", "unknown token");
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

async fn workflow(Path(name): Path<String>) -> Response {
    if name != "hello" {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no workflow `{name}` in this tenant"),
        );
    }
    axum::Json(json!({
        "workflow": {"id": "wf-1", "name": "hello", "latest_version_id": "v2"},
        "source": "{}",
        "versions": [
            {"id": "v1", "inputs": {"count": {"type": "string"}}},
            {"id": "v2", "inputs": {"count": {"type": "integer"}, "loud": {"type": "boolean"}}}
        ]
    }))
    .into_response()
}

async fn create_job(State(state): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let mut stub = state.lock().expect("lock");
    let id = format!("job-{}", stub.jobs.len() + 1);
    let job = json!({
        "id": id,
        "workflow": {"id": "wf-1", "name": body["workflow"]},
        "state": "pending",
        "priority": body["priority"],
        "labels": body["labels"],
        "inputs": body["inputs"],
        "attempt": 0,
        "max_attempts": body.get("max_attempts").cloned().unwrap_or(json!(3)),
        "error": null,
        "outputs": null,
        "created_at": 1_795_428_222_966_i64,
        "polls": 0,
    });
    stub.jobs.push(job.clone());
    (StatusCode::CREATED, axum::Json(job)).into_response()
}

fn find<'a>(stub: &'a mut Stub, id: &str) -> Option<&'a mut Value> {
    stub.jobs.iter_mut().find(|j| j["id"] == id)
}

/// Each poll moves the job on: pending, running, then succeeded (or failed when its
/// `fail` input is true).
async fn get_job(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let mut stub = state.lock().expect("lock");
    let Some(job) = find(&mut stub, &id) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such job");
    };
    let polls = job["polls"].as_u64().unwrap_or(0) + 1;
    job["polls"] = json!(polls);
    let fail = job["inputs"]["fail"] == true;
    match (job["state"].as_str(), polls) {
        (Some("pending"), _) => {
            job["state"] = json!("running");
            job["attempt"] = json!(1);
        }
        (Some("running"), _) if fail => {
            job["state"] = json!("failed");
            job["error"] = json!({"kind": "business", "message": "the invoice was rejected"});
        }
        (Some("running"), _) => {
            job["state"] = json!("succeeded");
            job["outputs"] = json!({"total": 42});
        }
        _ => {}
    }
    axum::Json(job.clone()).into_response()
}

async fn list_jobs(
    State(state): State<Shared>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let stub = state.lock().expect("lock");
    let items: Vec<Value> = stub
        .jobs
        .iter()
        .filter(|j| query.get("state").is_none_or(|s| j["state"] == s.as_str()))
        .cloned()
        .collect();
    axum::Json(json!({"items": items, "next_cursor": "c2"})).into_response()
}

async fn job_events(Path(_id): Path<String>) -> Response {
    axum::Json(json!({"items": [
        {"seq": 1, "event": {"event": "step_started", "seq": 1, "label": "log hi", "at": "2026-11-23T10:00:00Z"}},
        {"seq": 2, "event": {"event": "log", "seq": 1, "message": "hello world", "at": "2026-11-23T10:00:01Z"}}
    ]}))
    .into_response()
}

async fn set_state(state: Shared, id: &str, to: &str) -> Response {
    let mut stub = state.lock().expect("lock");
    match find(&mut stub, id) {
        Some(job) => {
            job["state"] = json!(to);
            axum::Json(job.clone()).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "not_found", "no such job"),
    }
}

async fn cancel_job(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    set_state(state, &id, "cancelled").await
}

async fn retry_job(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    set_state(state, &id, "pending").await
}

async fn put_asset(
    State(state): State<Shared>,
    Path(name): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut value = body["value"].clone();
    if body["type"] == "credential" {
        value = json!({"username": value["username"]});
    }
    let asset = json!({"name": name, "type": body["type"], "value": value, "updated_at": 1_795_428_222_966_i64});
    state
        .lock()
        .expect("lock")
        .assets
        .insert(name, asset.clone());
    axum::Json(asset).into_response()
}

async fn get_asset(State(state): State<Shared>, Path(name): Path<String>) -> Response {
    match state.lock().expect("lock").assets.get(&name) {
        Some(asset) => axum::Json(asset.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no asset `{name}` in this tenant"),
        ),
    }
}

async fn list_assets(State(state): State<Shared>) -> Response {
    let assets: Vec<Value> = state
        .lock()
        .expect("lock")
        .assets
        .values()
        .cloned()
        .collect();
    axum::Json(Value::Array(assets)).into_response()
}

async fn delete_asset(State(state): State<Shared>, Path(name): Path<String>) -> Response {
    match state.lock().expect("lock").assets.remove(&name) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "no such asset"),
    }
}

async fn create_token(
    State(state): State<Shared>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut stub = state.lock().expect("lock");
    let id = format!("tok-{}", stub.tokens.len() + 1);
    let token = json!({"id": id, "name": body["name"], "role": body["role"], "created_at": 1_795_428_222_966_i64});
    stub.tokens.push(token.clone());
    let mut answer = token;
    answer["token"] = json!("alq_pat_NEWSECRET");
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn list_tokens(State(state): State<Shared>) -> Response {
    axum::Json(Value::Array(state.lock().expect("lock").tokens.clone())).into_response()
}

async fn revoke_token(Path(_id): Path<String>) -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn create_robot_token(
    State(state): State<Shared>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut stub = state.lock().expect("lock");
    let id = format!("reg-{}", stub.robot_tokens.len() + 1);
    let token = json!({"id": id, "name": body["name"], "labels": body["labels"], "single_use": body["single_use"], "expires_at": null});
    stub.robot_tokens.push(token.clone());
    let mut answer = token;
    answer["token"] = json!("alq_reg_NEWSECRET");
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn list_robot_tokens(State(state): State<Shared>) -> Response {
    axum::Json(Value::Array(
        state.lock().expect("lock").robot_tokens.clone(),
    ))
    .into_response()
}

async fn list_robots() -> Response {
    axum::Json(json!([
        {"id": "r-1", "name": "lab-1", "status": "online", "labels": ["linux", "chromium"], "version": "0.1.0", "last_seen_at": 1_795_428_222_966_i64}
    ]))
    .into_response()
}
