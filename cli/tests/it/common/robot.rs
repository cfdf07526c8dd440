//! A robot for the CLI's tests: it registers, leases, reports and completes through the
//! control plane's real robot API over HTTP, so jobs reach the states people look at.

use serde_json::{Value, json};

/// A status and a JSON body (null when there is none).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// Blocking JSON calls with a bearer token, on a runtime of their own.
struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    url: String,
}

impl Http {
    fn new(url: &str) -> Http {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Http {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            client: reqwest::Client::new(),
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        self.runtime.block_on(async {
            let mut request = self
                .client
                .request(method, format!("{}{path}", self.url))
                .bearer_auth(token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            let text = response.text().await.expect("body");
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            Reply { status, body }
        })
    }
}

/// `GET url` without a token: the body as text (for `/metrics`).
pub fn get_text(url: &str) -> String {
    let http = Http::new(url);
    http.runtime.block_on(async {
        http.client
            .get(url)
            .send()
            .await
            .expect("the server answers")
            .text()
            .await
            .expect("body")
    })
}

/// A registered robot.
pub struct Robot {
    http: Http,
    token: String,
    pub id: String,
    pub labels: Vec<String>,
}

impl Robot {
    /// `POST /api/v1/robots/register` with a registration token; the refusal when the
    /// server refuses.
    pub fn register(url: &str, registration_token: &str, name: &str) -> Result<Robot, Reply> {
        let http = Http::new(url);
        let reply = http.call(
            reqwest::Method::POST,
            "/api/v1/robots/register",
            registration_token,
            Some(json!({"name": name, "hostname": "test-host", "os": "linux", "arch": "x86_64", "version": "9.9.9"})),
        );
        if reply.status != 201 {
            return Err(reply);
        }
        let text = |key: &str| reply.body[key].as_str().expect(key).to_owned();
        Ok(Robot {
            token: text("token"),
            id: text("robot_id"),
            labels: serde_json::from_value(reply.body["labels"].clone()).expect("labels"),
            http,
        })
    }

    fn post(&self, path: &str, body: Value) -> Reply {
        self.http.call(
            reqwest::Method::POST,
            &format!("/api/v1{path}"),
            &self.token,
            Some(body),
        )
    }

    /// Leases one job, waiting up to `wait_s` for it.
    pub fn lease(&self, wait_s: u64) -> Option<Value> {
        let reply = self.post("/robot/lease", json!({"wait_s": wait_s, "slots": 1}));
        match reply.status {
            204 => None,
            200 => reply.body["jobs"]
                .as_array()
                .and_then(|jobs| jobs.first().cloned()),
            _ => panic!("lease refused: {reply:?}"),
        }
    }

    /// Leases one job, which must come within 30 s.
    pub fn take(&self) -> Value {
        self.lease(30).expect("a job to lease")
    }

    /// Heartbeats a leased job: the answer (`cancel` says whether to stop).
    pub fn heartbeat(&self, job: &Value) -> Value {
        let reply = self.post(
            &format!("/robot/jobs/{}/heartbeat", job["job_id"]),
            json!({"lease_token": job["lease_token"]}),
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body
    }

    /// Reports run events, numbered from 1.
    pub fn report(&self, job: &Value, events: &[Value]) {
        let items: Vec<Value> = events
            .iter()
            .enumerate()
            .map(|(i, event)| json!({"seq": i + 1, "event": event}))
            .collect();
        let reply = self.post(
            &format!("/robot/jobs/{}/events", job["job_id"]),
            json!({"lease_token": job["lease_token"], "events": items}),
        );
        assert_eq!(reply.status, 200, "{reply:?}");
    }

    /// Completes a leased job with `body` (`outcome`, `outputs`, `error`).
    pub fn complete(&self, job: &Value, mut body: Value) -> Value {
        body["lease_token"] = job["lease_token"].clone();
        let reply = self.post(&format!("/robot/jobs/{}/complete", job["job_id"]), body);
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body
    }
}

/// The events a robot running `HELLO` reports: the run, its one step and its log line.
pub fn hello_events(outcome: &str) -> Vec<Value> {
    let at = chrono::Utc::now().to_rfc3339();
    vec![
        json!({"event": "run_started", "at": at, "workflow": "hello", "inputs": {}}),
        json!({"event": "step_started", "seq": 1, "path": "steps[0]", "action": "log", "label": "log hello", "at": at}),
        json!({"event": "log", "seq": 1, "at": at, "message": "hello world x1"}),
        json!({"event": "step_finished", "seq": 1, "status": "succeeded", "at": at, "duration_ms": 3, "attempts": 1}),
        json!({"event": "run_finished", "at": at, "status": outcome, "duration_ms": 5}),
    ]
}
