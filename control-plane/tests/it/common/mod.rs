//! A real control plane on port 0 for each test, on SQLite (a temp folder) or PostgreSQL
//! (a database of its own on the server `scripts/test.sh` names).

#![allow(dead_code)]

pub mod sse;

use alq_control_plane::{AppState, Config, prepare, run};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Which database a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Defines one test per backend from an `async fn(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        )*
    };
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The PostgreSQL server for tests; `None` (skip) outside CI when none is configured.
pub fn postgres_url() -> Option<String> {
    match std::env::var("ALQ_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if ci() => panic!(
            "ALQ_TEST_DATABASE_URL is not set: scripts/test.sh must provide PostgreSQL under CI"
        ),
        _ => {
            eprintln!("skipped: ALQ_TEST_DATABASE_URL is not set");
            None
        }
    }
}

/// A running control plane.
pub struct TestServer {
    pub url: String,
    pub admin_token: String,
    pub config: Config,
    /// The server's state, for tests that set up what no endpoint makes yet.
    pub state: AppState,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: Option<tempfile::TempDir>,
    database: Option<(String, String)>,
}

impl TestServer {
    /// Starts a server on a fresh database; `None` when the backend is not available
    /// outside CI.
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with_config(backend, |_| {}).await
    }

    /// Like `start`, with the default test configuration changed by `change`.
    pub async fn start_with_config(
        backend: Backend,
        change: impl FnOnce(&mut Config),
    ) -> Option<TestServer> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            data_dir: Some(dir.path().to_path_buf()),
            ..Config::default()
        };
        let mut database = None;
        if backend == Backend::Postgres {
            let admin_url = postgres_url()?;
            let name = format!("alq_test_{}", uuid_like());
            let admin = sqlx::PgPool::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .expect("create the test database");
            admin.close().await;
            config.database_url = Some(replace_database(&admin_url, &name));
            database = Some((admin_url, name));
        }
        change(&mut config);
        Self::start_with(config, dir, database).await
    }

    async fn start_with(
        config: Config,
        dir: tempfile::TempDir,
        database: Option<(String, String)>,
    ) -> Option<TestServer> {
        let (state, admin_token) = prepare(config.clone()).await.expect("prepare the server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            let state = state.clone();
            async move {
                run(state, listener, shutdown).await.expect("server");
            }
        });
        Some(TestServer {
            url,
            admin_token: admin_token.expect("a fresh database prints an admin token"),
            config,
            state,
            shutdown,
            task,
            _dir: Some(dir),
            database,
        })
    }

    /// A client that sends `token`.
    pub fn client(&self, token: &str) -> Client {
        Client {
            base: format!("{}/api/v1", self.url),
            token: Some(token.to_owned()),
            http: reqwest::Client::new(),
        }
    }

    /// A client that sends the bootstrap admin token.
    pub fn admin(&self) -> Client {
        self.client(&self.admin_token)
    }

    /// A client without a token.
    pub fn anonymous(&self) -> Client {
        Client {
            base: format!("{}/api/v1", self.url),
            token: None,
            http: reqwest::Client::new(),
        }
    }

    /// Another replica on the same database and data folder, its configuration changed
    /// by `change` (e.g. to share Redis). It drops nothing when stopped.
    pub async fn replica(&self, change: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = self.config.clone();
        change(&mut config);
        let (state, _) = prepare(config.clone()).await.expect("prepare the replica");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let (shutdown, state) = (shutdown.clone(), state.clone());
            async move {
                run(state, listener, shutdown).await.expect("replica");
            }
        });
        TestServer {
            url,
            admin_token: self.admin_token.clone(),
            config,
            state,
            shutdown,
            task,
            _dir: None,
            database: None,
        }
    }

    /// Asks the server to stop without waiting for it.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
        if let Some((admin_url, name)) = self.database
            && let Ok(admin) = sqlx::PgPool::connect(&admin_url).await
        {
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await;
            admin.close().await;
        }
    }
}

fn uuid_like() -> String {
    format!("{:x}{:x}", std::process::id(), rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Sends a request again while the server answers 503, as a real robot does (the robot
/// protocol retries 429, 5xx and connection errors). On a machine loaded far beyond its
/// cores a replica can wait longer than its pool's acquire timeout for a database
/// connection and answer 503 "the database is not reachable": that is the server
/// shedding load correctly, and it changed nothing, so the call is safe to repeat (lease
/// claims nothing, complete is fenced, create never started its transaction).
pub async fn until_served<F, Fut>(mut send: F) -> Reply
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let mut pause = std::time::Duration::from_millis(100);
    for _ in 0..30 {
        let reply = send().await;
        if reply.status.as_u16() != 503 {
            return reply;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(2));
    }
    panic!("the server answered 503 thirty times in a row");
}

/// A small JSON client for the API.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
    pub http: reqwest::Client,
}

/// A response: its status and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts an error with this status and code, in the API's error shape.
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(body["code"], code, "error code; body: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error message; body: {body}"
        );
        body
    }
}

impl Client {
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request.send().await.expect("request")).await
    }

    /// Sends raw bytes with a content type (for malformed bodies).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        Self::reply(request.send().await.expect("request")).await
    }

    async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }
}
