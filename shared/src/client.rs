//! A typed HTTP client for the public API under `/api/v1`: a base URL and a bearer
//! token, JSON in and out, and every error answer decoded into [`ErrorBody`].

mod endpoints;
mod events;
mod jobs;
pub mod login;
mod types;

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{ErrorBody, ErrorCode};

pub use events::{EventFilter, IDLE};
pub use jobs::{is_final_job_state, typed_inputs};
pub use types::{AssetKind, BulkJob, JobFilter, JobPage, NewJob, NewRobotToken};

/// Everything that can go wrong talking to the control plane.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status.
    #[error("{}", api_message(*.status, .body))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The decoded error body (synthesised when the server sent none).
        body: ErrorBody,
    },
    /// The server could not be reached (refused, DNS, TLS, timeout).
    #[error(
        "cannot reach the alq server at {url}: {reason}\nCheck the URL and that `alq server` is running there."
    )]
    Connect {
        /// The URL that was called.
        url: String,
        /// Why, from the HTTP stack.
        reason: String,
    },
    /// The server answered 2xx with a body that is not what the API promises.
    #[error("the alq server at {url} answered with an unexpected body: {reason}")]
    Decode {
        /// The URL that was called.
        url: String,
        /// The decoding error.
        reason: String,
    },
    /// The base URL is not an http(s) URL.
    #[error("`{url}` is not a valid server URL ({reason}); use e.g. http://127.0.0.1:8080")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The extra root certificate cannot be read or parsed.
    #[error("cannot use the CA certificate {}: {reason}", .path.display())]
    CaCert {
        /// The PEM file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl ClientError {
    /// The HTTP status when the server answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server never answered (as opposed to refusing the request).
    pub fn is_connect(&self) -> bool {
        matches!(self, ClientError::Connect { .. })
    }
}

fn api_message(status: u16, body: &ErrorBody) -> String {
    let mut message = format!(
        "the server refused the request ({status}): {}",
        body.message
    );
    match body.code {
        ErrorCode::Unauthenticated => {
            message.push_str("\nLog in again with `alq login --url URL --token TOKEN`.");
        }
        ErrorCode::Forbidden => {
            message.push_str("\nUse a token with a larger role (admin, operator, viewer).");
        }
        _ => {}
    }
    message
}

/// Where the server is and how to authenticate to it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// Bearer token (`alq_pat_...`).
    pub token: String,
    /// An extra trusted root certificate (PEM), for servers with a private CA.
    pub ca_cert: Option<PathBuf>,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

/// A client of one control plane, with one token.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: String,
}

impl Client {
    /// Builds a client; fails on a malformed URL or an unreadable CA certificate.
    pub fn new(options: &ClientOptions) -> Result<Client, ClientError> {
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: options.url.clone(),
            reason,
        };
        let base = Url::parse(options.url.trim()).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("it must start with http:// or https://".into()));
        }
        // reqwest is built without a default crypto provider; ring is the one alq uses.
        // Installing it again is a harmless no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("alq/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &options.ca_cert {
            builder = builder.tls_certs_merge(read_certificates(path)?);
        }
        let http = builder.build().map_err(|e| ClientError::Connect {
            url: options.url.clone(),
            reason: format!("cannot set up HTTP: {e}"),
        })?;
        Ok(Client {
            http,
            base,
            token: options.token.clone(),
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `/api/v1/<segments>`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<reqwest::Body>,
        content_type: &str,
    ) -> Result<(Url, reqwest::Response), ClientError> {
        let mut request = self
            .http
            .request(method, url.clone())
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body);
        }
        let response = request.send().await.map_err(|e| ClientError::Connect {
            url: self.base.to_string(),
            reason: error_chain(&e),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok((url, response));
        }
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str::<ErrorBody>(&text)
            .unwrap_or_else(|_| fallback_body(status, &url, &text));
        Err(ClientError::Api {
            status: status.as_u16(),
            body,
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        json: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, ClientError> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let body = match json {
            Some(value) => Some(
                serde_json::to_vec(value)
                    .map_err(|e| ClientError::Decode {
                        url: url.to_string(),
                        reason: format!("cannot encode the request: {e}"),
                    })?
                    .into(),
            ),
            None => None,
        };
        let (url, response) = self.send(method, url, body, "application/json").await?;
        decode(url, response).await
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ClientError> {
        self.call(Method::GET, segments, &[], None::<&Value>).await
    }

    /// `GET`, the answer's bytes as they are (an artifact).
    async fn get_bytes(&self, segments: &[&str]) -> Result<Vec<u8>, ClientError> {
        let (url, response) = self.send(Method::GET, self.url(segments), None, "").await?;
        response
            .bytes()
            .await
            .map(|bytes| bytes.to_vec())
            .map_err(|e| ClientError::Decode {
                url: url.to_string(),
                reason: error_chain(&e),
            })
    }

    async fn post<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &(impl Serialize + ?Sized),
    ) -> Result<T, ClientError> {
        self.call(Method::POST, segments, &[], Some(body)).await
    }

    async fn delete(&self, segments: &[&str]) -> Result<(), ClientError> {
        self.call::<Value>(Method::DELETE, segments, &[], None::<&Value>)
            .await
            .map(drop)
    }
}

async fn decode<T: DeserializeOwned>(
    url: Url,
    response: reqwest::Response,
) -> Result<T, ClientError> {
    let decode_error = |reason: String| ClientError::Decode {
        url: url.to_string(),
        reason,
    };
    let bytes = response
        .bytes()
        .await
        .map_err(|e| decode_error(error_chain(&e)))?;
    // 204 and other empty answers read as JSON null.
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes).map_err(|e| decode_error(e.to_string()))
}

/// An error body for answers that carry none (a proxy, an older server without the route).
fn fallback_body(status: StatusCode, url: &Url, text: &str) -> ErrorBody {
    // An older server answered an unknown route's 405 bare: to a client, no such route.
    let code = match status.as_u16() {
        405 => ErrorCode::NotFound,
        status => ErrorCode::for_status(status),
    };
    let message = match status.as_u16() {
        404 | 405 if text.trim().is_empty() => format!(
            "{} is not an API route of this server (is it an older alq version?)",
            url.path()
        ),
        _ => {
            let text: String = text.trim().chars().take(200).collect();
            if text.is_empty() {
                status.to_string()
            } else {
                format!("{status}: {text}")
            }
        }
    };
    ErrorBody {
        code,
        message,
        details: None,
    }
}

/// Why a request failed: the error's sources, which is where reqwest puts the useful
/// part ("tcp connect error: Connection refused", "invalid peer certificate").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&line);
        }
        source = cause.source();
    }
    if text.is_empty() {
        error.to_string()
    } else {
        text
    }
}

fn read_certificates(path: &Path) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let failed = |reason: String| ClientError::CaCert {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| failed(format!("not a PEM certificate: {e}")))?;
    if certificates.is_empty() {
        return Err(failed("the file holds no PEM certificate".into()));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> Client {
        Client::new(&ClientOptions {
            url: url.into(),
            token: "t".into(),
            ca_cert: None,
        })
        .expect("client")
    }

    #[test]
    fn urls_keep_a_path_prefix_and_encode_segments() {
        let c = client("https://example.com/alq/");
        assert_eq!(
            c.url(&["workflows", "my flow/1"]).as_str(),
            "https://example.com/alq/api/v1/workflows/my%20flow%2F1"
        );
        let c = client("http://127.0.0.1:8080");
        assert_eq!(
            c.url(&["jobs"]).as_str(),
            "http://127.0.0.1:8080/api/v1/jobs"
        );
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in ["127.0.0.1:8080", "ftp://x", "nonsense"] {
            let error = Client::new(&ClientOptions {
                url: url.into(),
                token: "t".into(),
                ca_cert: None,
            })
            .expect_err(url);
            assert!(matches!(error, ClientError::InvalidUrl { .. }), "{error}");
        }
    }

    #[test]
    fn answers_without_an_error_body_still_say_what_happened() {
        let url = Url::parse("http://x/api/v1/jobs").expect("url");
        let body = fallback_body(StatusCode::NOT_FOUND, &url, "");
        assert_eq!(body.code, ErrorCode::NotFound);
        assert!(body.message.contains("/api/v1/jobs is not an API route"));
        let body = fallback_body(StatusCode::BAD_GATEWAY, &url, "upstream down");
        assert_eq!(body.code, ErrorCode::Internal);
        assert_eq!(body.message, "502 Bad Gateway: upstream down");
        let error = ClientError::Api {
            status: 401,
            body: fallback_body(StatusCode::UNAUTHORIZED, &url, ""),
        };
        assert!(error.to_string().contains("alq login"), "{error}");
    }

    #[test]
    fn the_token_is_redacted_in_debug() {
        let options = ClientOptions {
            url: "http://x".into(),
            token: "alq_pat_secret".into(),
            ca_cert: None,
        };
        assert!(!format!("{options:?}").contains("secret"));
    }
}
