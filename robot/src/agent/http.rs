//! The robot's side of the robot protocol (DESIGN.md section 4): one method per call,
//! errors sorted into what is worth retrying and what is not.

use std::path::Path;
use std::time::Duration;

use alq_shared::protocol::{
    CompleteRequest, CompleteResponse, EventItem, EventsRequest, HeartbeatRequest,
    HeartbeatResponse, LeaseRequest, LeaseResponse, RegisterRequest, RegisterResponse,
};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a call to the control plane failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server answered with an error status.
    #[error("the server answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The stable error code (`stale_lease`, `unauthenticated`, ...), when sent.
        code: String,
        /// The server's message.
        message: String,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the alq server at {url}: {reason}")]
    Connect {
        /// The server.
        url: String,
        /// Why, from the HTTP stack.
        reason: String,
    },
    /// The server's certificate is not trusted.
    #[error(
        "the TLS certificate of {url} is not trusted: {reason}\nIf the server uses a private CA, pass its certificate with --ca-cert FILE."
    )]
    Tls {
        /// The server.
        url: String,
        /// Why.
        reason: String,
    },
    /// The answer is not what the protocol promises.
    #[error("the alq server at {url} answered with an unexpected body: {reason}")]
    Decode {
        /// The server.
        url: String,
        /// Why.
        reason: String,
    },
}

impl CallError {
    /// Whether trying again later may work: 429, 5xx and connection errors only.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Status { status, .. } => *status == 429 || *status >= 500,
            CallError::Connect { .. } => true,
            CallError::Tls { .. } | CallError::Decode { .. } => false,
        }
    }

    /// How long the server asked to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the server said the lease is no longer ours.
    pub fn is_stale_lease(&self) -> bool {
        matches!(self, CallError::Status { status: 409, code, .. } if code == "stale_lease")
    }

    /// The status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client of one control plane with one bearer token.
#[derive(Debug, Clone)]
pub struct RobotClient {
    http: reqwest::Client,
    base: Url,
    token: String,
}

/// Why a client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Not an http(s) URL.
    #[error("`{0}` is not a valid server URL: use e.g. https://alq.example.com")]
    Url(String),
    /// The CA certificate cannot be used.
    #[error("cannot use the CA certificate {path}: {reason}")]
    CaCert {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The HTTP stack refused its settings.
    #[error("cannot set up HTTP: {0}")]
    Http(String),
}

impl RobotClient {
    /// A client of `url` with `token`, trusting `ca_cert` on top of the system roots.
    pub fn new(url: &str, token: &str, ca_cert: Option<&Path>) -> Result<RobotClient, SetupError> {
        let base = Url::parse(url.trim()).map_err(|_| SetupError::Url(url.to_owned()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(SetupError::Url(url.to_owned()));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("alq-robot/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_cert {
            let failed = |reason: String| SetupError::CaCert {
                path: path.display().to_string(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| failed(format!("not a PEM certificate: {e}")))?;
            if certs.is_empty() {
                return Err(failed("the file holds no PEM certificate".into()));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| SetupError::Http(e.to_string()))?;
        Ok(RobotClient {
            http,
            base,
            token: token.to_owned(),
        })
    }

    /// The parsed base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, CallError> {
        let response = request
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.connect_error(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let field = |name: &str| body.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        Err(CallError::Status {
            status: status.as_u16(),
            code: field("code").unwrap_or_default(),
            message: field("message").unwrap_or_else(|| {
                let text: String = text.trim().chars().take(200).collect();
                if text.is_empty() {
                    status.to_string()
                } else {
                    text
                }
            }),
            retry_after,
        })
    }

    fn connect_error(&self, error: &reqwest::Error) -> CallError {
        let reason = error_chain(error);
        let url = self.base.to_string();
        let lower = reason.to_ascii_lowercase();
        if lower.contains("certificate") || lower.contains("unknownissuer") {
            CallError::Tls { url, reason }
        } else {
            CallError::Connect { url, reason }
        }
    }

    async fn post<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<Option<T>, CallError> {
        self.post_url(self.url(segments), body, timeout).await
    }

    async fn post_url<T: DeserializeOwned>(
        &self,
        url: Url,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<Option<T>, CallError> {
        let response = self
            .send(
                self.http
                    .request(Method::POST, url.clone())
                    .json(body)
                    .timeout(timeout),
            )
            .await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let decode = |reason: String| CallError::Decode {
            url: url.to_string(),
            reason,
        };
        let bytes = response
            .bytes()
            .await
            .map_err(|e| decode(error_chain(&e)))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| decode(e.to_string()))
    }

    async fn post_some<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &impl Serialize,
    ) -> Result<T, CallError> {
        self.post(segments, body, CALL_TIMEOUT)
            .await?
            .ok_or_else(|| CallError::Decode {
                url: self.url(segments).to_string(),
                reason: "no body".into(),
            })
    }

    /// `POST /robots/register` (the token is a registration token).
    pub async fn register(&self, request: &RegisterRequest) -> Result<RegisterResponse, CallError> {
        self.post_some(&["robots", "register"], request).await
    }

    /// `POST /robot/lease`: jobs, or `None` when none came within `wait_s`.
    pub async fn lease(&self, wait_s: u64, slots: u32) -> Result<Option<LeaseResponse>, CallError> {
        let timeout = CALL_TIMEOUT + Duration::from_secs(wait_s);
        self.post(
            &["robot", "lease"],
            &LeaseRequest { wait_s, slots },
            timeout,
        )
        .await
    }

    /// `POST /robot/jobs/{id}/heartbeat`, answered at once.
    pub async fn heartbeat(
        &self,
        job: i64,
        lease_token: i64,
    ) -> Result<HeartbeatResponse, CallError> {
        self.heartbeat_wait(job, lease_token, Duration::ZERO).await
    }

    /// `POST /robot/jobs/{id}/heartbeat?wait_ms=N`: the server answers when the job is
    /// cancelled, or after `wait` (an older server: at once).
    pub async fn heartbeat_wait(
        &self,
        job: i64,
        lease_token: i64,
        wait: Duration,
    ) -> Result<HeartbeatResponse, CallError> {
        let id = job.to_string();
        let segments = ["robot", "jobs", &id, "heartbeat"];
        let mut url = self.url(&segments);
        if !wait.is_zero() {
            url.query_pairs_mut()
                .append_pair("wait_ms", &wait.as_millis().to_string());
        }
        self.post_url(url, &HeartbeatRequest { lease_token }, CALL_TIMEOUT + wait)
            .await?
            .ok_or_else(|| CallError::Decode {
                url: self.url(&segments).to_string(),
                reason: "no body".into(),
            })
    }

    /// `POST /robot/jobs/{id}/events`.
    pub async fn events(
        &self,
        job: i64,
        lease_token: i64,
        events: Vec<EventItem>,
    ) -> Result<(), CallError> {
        let id = job.to_string();
        let _: serde_json::Value = self
            .post_some(
                &["robot", "jobs", &id, "events"],
                &EventsRequest {
                    lease_token,
                    events,
                },
            )
            .await?;
        Ok(())
    }

    /// `PUT /robot/jobs/{id}/artifacts/{sha256}`.
    pub async fn artifact(
        &self,
        job: i64,
        lease_token: i64,
        sha256: &str,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), CallError> {
        let id = job.to_string();
        let url = self.url(&["robot", "jobs", &id, "artifacts", sha256]);
        self.send(
            self.http
                .put(url)
                .header("x-alq-lease-token", lease_token.to_string())
                .header("x-alq-name", name)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes)
                .timeout(CALL_TIMEOUT),
        )
        .await?;
        Ok(())
    }

    /// `GET /robot/packages/{sha256}`: a workflow package, read up to `max_bytes` (more
    /// is an error: the lease said how big it is).
    pub async fn package(&self, sha256: &str, max_bytes: u64) -> Result<Vec<u8>, CallError> {
        let url = self.url(&["robot", "packages", sha256]);
        let mut response = self
            .send(self.http.get(url.clone()).timeout(PACKAGE_TIMEOUT))
            .await?;
        let decode = |reason: String| CallError::Decode {
            url: url.to_string(),
            reason,
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| decode(error_chain(&e)))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > max_bytes {
                return Err(decode(format!(
                    "the package is larger than the {max_bytes} bytes the lease announced"
                )));
            }
        }
        Ok(bytes)
    }

    /// `POST /robot/goodbye`: this robot stops; it is offline until its next call.
    pub async fn goodbye(&self) -> Result<(), CallError> {
        self.post::<serde_json::Value>(
            &["robot", "goodbye"],
            &serde_json::json!({}),
            GOODBYE_TIMEOUT,
        )
        .await
        .map(drop)
    }

    /// `POST /robot/jobs/{id}/complete`.
    pub async fn complete(
        &self,
        job: i64,
        request: &CompleteRequest,
    ) -> Result<CompleteResponse, CallError> {
        let id = job.to_string();
        self.post_some(&["robot", "jobs", &id, "complete"], request)
            .await
    }
}

/// The longest a call other than a long-poll may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a package download may take (50 MiB over a slow link).
const PACKAGE_TIMEOUT: Duration = Duration::from_secs(600);

/// The goodbye is a courtesy: a stopping robot does not wait long for it.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(5);

/// The error's sources, which is where reqwest puts the useful part.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}
