//! Hostile input on every route of the OpenAPI document, with callers allowed to make
//! the call: a NUL character in a path segment, a query value or a body string is a
//! 400 in the error shape on both databases, never a 500 (PostgreSQL cannot store a
//! NUL in text). Robots' reports keep a NUL in their free-form values. A JSON body is
//! an object: an array or a single value is a 400, never read field by field.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, Client, Reply, TestServer};
use crate::on_both_backends;
use crate::robot_api::{GREET, lease_now, push, registration_token, robot, start_job};

on_both_backends!(
    a_nul_anywhere_in_a_request_is_refused,
    robots_report_text_holding_a_nul,
    every_body_is_an_object
);

/// Everything a call of any route needs, made once.
pub struct Fixture {
    pub server: TestServer,
    pub admin: Client,
    pub robot: Client,
    pub registration: Client,
    /// Path parameter values by route template and name.
    params: Vec<(&'static str, &'static str, String)>,
}

impl Fixture {
    pub async fn start(backend: Backend) -> Option<Fixture> {
        let server = TestServer::start(backend).await?;
        let admin = server.admin();
        push(&server, GREET).await;
        let tenant = crate::robot_api::default_tenant(&server).await;
        let robot_client = robot(&server, "r1", &[]).await;
        let robot_id = admin.get("/robots").await.expect(200)[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let job = start_job(&admin, "greet", json!({})).await;
        let token = admin
            .post("/tokens", json!({"name": "t", "role": "viewer"}))
            .await
            .expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let reg = admin
            .post("/robot-tokens", json!({"labels": []}))
            .await
            .expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        admin
            .put("/assets/a1", json!({"type": "text", "value": "v"}))
            .await
            .expect(201);
        let registration = server.client(&registration_token(&server, &[], false, None).await);
        let sha = "0".repeat(64);
        let params = vec![
            ("/api/v1/tenants/{id}/tokens", "id", tenant),
            ("/api/v1/tokens/{id}", "id", token),
            ("/api/v1/robot-tokens/{id}", "id", reg),
            ("/api/v1/robots/", "id", robot_id),
            ("/api/v1/workflows/", "id", "greet".to_owned()),
            ("/api/v1/assets/", "name", "a1".to_owned()),
            ("/api/v1/jobs/", "id", job.to_string()),
            ("/api/v1/robot/jobs/", "id", job.to_string()),
            ("", "sha256", sha),
        ];
        Some(Fixture {
            server,
            admin,
            robot: robot_client,
            registration,
            params,
        })
    }

    /// Every operation of the OpenAPI document: method, path template, operation.
    pub async fn operations(&self) -> Vec<(Method, String, Value)> {
        let doc = self.admin.get("/openapi.json").await.expect(200);
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                out.push((method, path.clone(), operation.clone()));
            }
        }
        assert!(
            out.len() > 30,
            "the document lists {} operations",
            out.len()
        );
        out
    }

    /// Who may call `path`.
    pub fn caller(&self, path: &str) -> &Client {
        if path.starts_with("/api/v1/robot/") {
            &self.robot
        } else if path == "/api/v1/robots/register" {
            &self.registration
        } else {
            &self.admin
        }
    }

    /// `template` with every parameter an existing object, except `nul` which is
    /// `a%00b`.
    pub fn path(&self, template: &str, nul: Option<&str>) -> String {
        let mut path = template.to_owned();
        for name in parameters(template) {
            let value = if nul == Some(name.as_str()) {
                "a%00b".to_owned()
            } else {
                self.params
                    .iter()
                    .find(|(prefix, param, _)| {
                        *param == name && (template.starts_with(prefix) || prefix.is_empty())
                    })
                    .map(|(_, _, value)| value.clone())
                    .unwrap_or_else(|| panic!("no value for {{{name}}} of {template}"))
            };
            path = path.replace(&format!("{{{name}}}"), &value);
        }
        path
    }
}

/// The `{names}` of a path template.
pub fn parameters(template: &str) -> Vec<String> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

/// A valid JSON body for every operation that takes one (a new one must be added here).
pub fn valid_body(method: &Method, template: &str) -> Option<Value> {
    let body = match (method.as_str(), template) {
        ("POST", "/api/v1/tenants") => json!({"name": "t2"}),
        ("POST", "/api/v1/tenants/{id}/tokens" | "/api/v1/tokens") => {
            json!({"name": "n", "role": "viewer"})
        }
        ("POST", "/api/v1/robot-tokens") => json!({"name": "n", "labels": ["x"]}),
        ("PUT", "/api/v1/assets/{name}") => json!({"type": "text", "value": "w"}),
        ("POST", "/api/v1/jobs") => {
            json!({"workflow": "greet", "version": "1", "inputs": {"count": 1, "who": "w"}, "labels": ["x"]})
        }
        ("POST", "/api/v1/jobs/bulk") => {
            json!({"workflow": "greet", "jobs": [{"inputs": {"count": 1, "who": "w"}, "labels": ["x"]}]})
        }
        ("POST", "/api/v1/robots/register") => {
            json!({"name": "r2", "hostname": "h", "os": "linux", "arch": "x86_64", "version": "1", "labels": ["x"], "browsers": ["chromium"]})
        }
        ("POST", "/api/v1/robot/lease") => json!({"wait_s": 0, "slots": 1}),
        ("POST", "/api/v1/robot/goodbye") => json!({}),
        ("POST", "/api/v1/robot/jobs/{id}/heartbeat") => json!({"lease_token": 1}),
        ("POST", "/api/v1/robot/jobs/{id}/events") => {
            json!({"lease_token": 1, "events": [{"seq": 1, "event": {"type": "log", "message": "m"}}]})
        }
        ("POST", "/api/v1/robot/jobs/{id}/complete") => {
            json!({"lease_token": 1, "outcome": "failed", "error": {"type": "business", "message": "m"}})
        }
        _ => return None,
    };
    Some(body)
}

/// Whether the operation takes a JSON body.
pub fn takes_json(operation: &Value) -> bool {
    operation["requestBody"]["content"]
        .as_object()
        .is_some_and(|c| c.contains_key("application/json"))
}

/// Copies of `body`, each with one string (value or key) holding a NUL.
fn with_one_nul(body: &Value) -> Vec<Value> {
    fn walk(value: &Value, out: &mut Vec<Value>, rebuild: &dyn Fn(Value) -> Value) {
        match value {
            Value::String(s) => out.push(rebuild(Value::String(format!("{s}\u{0}x")))),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let rebuild = |new: Value| {
                        let mut items = items.clone();
                        items[i] = new;
                        rebuild(Value::Array(items))
                    };
                    walk(item, out, &rebuild);
                }
            }
            Value::Object(map) => {
                let mut keyed = map.clone();
                keyed.insert("k\u{0}".into(), json!(1));
                out.push(rebuild(Value::Object(keyed)));
                for (key, item) in map {
                    let rebuild = |new: Value| {
                        let mut map = map.clone();
                        map.insert(key.clone(), new);
                        rebuild(Value::Object(map))
                    };
                    walk(item, out, &rebuild);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, &mut out, &|v| v);
    out
}

/// Asserts a 400 `invalid_request` in the error shape.
pub fn refused(reply: Reply, what: &str) {
    assert_eq!(reply.status.as_u16(), 400, "{what}: {}", reply.body);
    reply.expect_error(400, "invalid_request");
}

async fn send(client: &Client, method: &Method, path: &str, body: Option<Value>) -> Reply {
    // The paths are absolute (`/api/v1/...`); the client adds `/api/v1` itself.
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    client.send(method.clone(), path, body).await
}

async fn a_nul_anywhere_in_a_request_is_refused(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let mut calls = 0;
    for (method, template, operation) in f.operations().await {
        let caller = f.caller(&template);
        let body = if takes_json(&operation) {
            Some(valid_body(&method, &template).unwrap_or_else(|| {
                panic!("{method} {template} takes a JSON body: add one to valid_body")
            }))
        } else {
            None
        };
        for name in parameters(&template) {
            let path = f.path(&template, Some(&name));
            refused(
                send(caller, &method, &path, body.clone()).await,
                &format!("{method} {path}"),
            );
            calls += 1;
        }
        let path = f.path(&template, None);
        let queries = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .chain(["x".to_owned()]);
        for query in queries {
            let path = format!("{path}?{query}=a%00b");
            refused(
                send(caller, &method, &path, body.clone()).await,
                &format!("{method} {path}"),
            );
            calls += 1;
        }
        // The robot's reports keep a NUL (see below); every other body refuses it.
        if let Some(body) = &body
            && !template.ends_with("/events")
            && !template.ends_with("/complete")
        {
            for bad in with_one_nul(body) {
                refused(
                    send(caller, &method, &path, Some(bad.clone())).await,
                    &format!("{method} {path} {bad}"),
                );
                calls += 1;
            }
        }
    }
    assert!(calls > 60, "only {calls} calls made");
    // Outside /api/v1 too.
    let health = reqwest::get(format!("{}/healthz?x=a%00b", f.server.url))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 400);
    // A workflow named with a NUL is not a valid workflow.
    f.admin
        .send_raw(
            Method::POST,
            "/workflows",
            "application/json",
            br#"{"name": "a\u0000b", "steps": []}"#.to_vec(),
        )
        .await
        .expect_error(422, "invalid_workflow");
    // Nothing was made or changed by the calls above.
    let robots = f.admin.get("/robots").await.expect(200);
    assert_eq!(robots.as_array().unwrap().len(), 1, "{robots}");
    let jobs = f.admin.get("/jobs").await.expect(200);
    assert_eq!(jobs["items"].as_array().unwrap().len(), 1, "{jobs}");
    f.server.stop().await;
}

async fn robots_report_text_holding_a_nul(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let leased = lease_now(&f.robot, 1).await;
    let job = &leased[0];
    let id = job["job_id"].as_i64().unwrap();
    let token = job["lease_token"].clone();
    let printed = "col1\u{0}col2";
    f.robot
        .post(
            &format!("/robot/jobs/{id}/events"),
            json!({"lease_token": token, "events": [{"seq": 1, "event": {"type": "log", "message": printed}}]}),
        )
        .await
        .expect(200);
    f.robot
        .post(
            &format!("/robot/jobs/{id}/complete"),
            json!({"lease_token": token, "outcome": "failed", "outputs": {"out": printed}, "error": {"type": "business", "message": printed}}),
        )
        .await
        .expect(200);
    let events = f.admin.get(&format!("/jobs/{id}/events")).await.expect(200);
    assert_eq!(events["items"][0]["event"]["message"], printed);
    let job = f.admin.get(&format!("/jobs/{id}")).await.expect(200);
    assert_eq!(job["state"], "failed");
    assert_eq!(job["error"]["message"], printed, "{job}");
    f.server.stop().await;
}

async fn every_body_is_an_object(backend: Backend) {
    let Some(f) = Fixture::start(backend).await else {
        return;
    };
    let mut calls = 0;
    for (method, template, operation) in f.operations().await {
        if !takes_json(&operation) {
            continue;
        }
        let path = f.path(&template, None);
        let valid = valid_body(&method, &template).unwrap();
        // The valid body's values in order, as an array: what serde would take.
        let as_array = Value::Array(valid.as_object().unwrap().values().cloned().collect());
        for body in [
            as_array,
            json!([]),
            json!("x"),
            json!(1),
            json!(null),
            json!(true),
        ] {
            let reply = f
                .caller(&template)
                .send_raw(
                    method.clone(),
                    path.strip_prefix("/api/v1").unwrap(),
                    "application/json",
                    body.to_string().into_bytes(),
                )
                .await;
            refused(reply, &format!("{method} {path} {body}"));
            calls += 1;
        }
    }
    assert!(calls > 50, "only {calls} calls made");
    // Nothing was made: no token, no job leased.
    let tokens = f.admin.get("/tokens").await.expect(200);
    assert_eq!(tokens.as_array().unwrap().len(), 2, "{tokens}");
    assert_eq!(lease_now(&f.robot, 1).await.len(), 1);
    f.server.stop().await;
}
