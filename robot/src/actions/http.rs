//! `http.request`.

use alq_shared::workflow::HttpRequestArgs;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

use super::{ActionCtx, ActionError, ActionResult};

/// How much of a failing response's body goes into the error message.
const BODY_EXCERPT: usize = 300;

/// Installs the process-wide rustls crypto provider (ring) if none is installed yet;
/// reqwest is built without one and would panic otherwise.
pub(crate) fn ensure_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Sends an HTTP request; output `{status, headers, json | text}`.
pub async fn request(args: &HttpRequestArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let url = args.url.as_str();
    let method_name = args.method.as_str().trim().to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method_name.as_bytes()).map_err(|_| {
        ActionError::app(format!(
            "http.request: `{}` is not an HTTP method; use GET, POST, PUT, PATCH, DELETE, HEAD \
             or OPTIONS",
            args.method
        ))
    })?;
    if args.json.is_some() && args.body.is_some() {
        return Err(ActionError::app(format!(
            "http.request {method} {url}: both `json` and `body` are set; give only one of them"
        )));
    }
    let parsed_url = reqwest::Url::parse(url).map_err(|e| {
        ActionError::app(format!(
            "http.request: `{url}` is not a valid URL ({e}); write it in full, e.g. \
             https://example.com/path"
        ))
    })?;
    let headers = build_headers(&args.headers, &method, url)?;

    ensure_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(ctx.timeout)
        .build()
        .map_err(|e| {
            ActionError::app(format!(
                "http.request: could not set up the HTTP client: {}",
                chain(&e)
            ))
        })?;
    let mut builder = client.request(method.clone(), parsed_url).headers(headers);
    if let Some(body) = &args.json {
        builder = builder.json(body);
    } else if let Some(body) = &args.body {
        builder = builder.body(body.as_str().to_owned());
    }

    let exchange = async {
        let response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        Ok::<_, reqwest::Error>((status, headers, text))
    };
    let (status, headers, text) = tokio::select! {
        result = exchange => result.map_err(|e| send_error(&e, &method, url, ctx))?,
        () = ctx.cancel.cancelled() => return Err(ActionError::Cancelled),
    };

    if args.fail_on_status && (status.is_client_error() || status.is_server_error()) {
        let excerpt = excerpt(&text);
        let body = if excerpt.is_empty() {
            "an empty body".to_owned()
        } else {
            excerpt
        };
        return Err(ActionError::app(format!(
            "http.request {method} {url} answered {status} with {body}; check the URL and the \
             request, or set `fail_on_status: false` to handle the status in the workflow"
        )));
    }

    let mut output = Map::new();
    output.insert("status".into(), json!(status.as_u16()));
    output.insert("headers".into(), Value::Object(headers_to_json(&headers)));
    match parse_json(&headers, &text) {
        Some(value) => output.insert("json".into(), value),
        None => output.insert("text".into(), Value::String(text)),
    };
    Ok(Value::Object(output))
}

/// Request headers from the workflow: values may be strings, numbers or booleans.
fn build_headers(
    headers: &Map<String, Value>,
    method: &reqwest::Method,
    url: &str,
) -> Result<HeaderMap, ActionError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(ActionError::app(format!(
                    "http.request {method} {url}: header `{name}` is {other}; a header value \
                     must be a string or a number"
                )));
            }
        };
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ActionError::app(format!(
                "http.request {method} {url}: `{name}` is not a valid header name; use letters, \
                 digits and dashes"
            ))
        })?;
        let header_value = HeaderValue::from_str(&text).map_err(|_| {
            ActionError::app(format!(
                "http.request {method} {url}: the value of header `{name}` contains characters \
                 a header cannot hold (such as line breaks)"
            ))
        })?;
        map.append(header_name, header_value);
    }
    Ok(map)
}

/// The message for a request that got no answer.
fn send_error(
    error: &reqwest::Error,
    method: &reqwest::Method,
    url: &str,
    ctx: &ActionCtx<'_>,
) -> ActionError {
    if error.is_timeout() {
        return ActionError::app(format!(
            "http.request {method} {url}: no answer within {:.1}s; check that the server is up, \
             or raise the step's timeout_ms",
            ctx.timeout.as_secs_f64()
        ));
    }
    let what = if error.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    // reqwest's outer layers repeat the URL and say little; the innermost cause says what
    // went wrong (connection refused, DNS failure, certificate rejected...).
    ActionError::app(format!(
        "http.request {method} {url}: {what}: {}; check the URL and that the server is running",
        root_cause(error)
    ))
}

/// The innermost cause of an error.
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// An error with its causes, e.g. `error sending request: ... : Connection refused`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Response headers as an object keyed by lowercase name; repeated headers are joined.
fn headers_to_json(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        out.insert(
            name.as_str().to_ascii_lowercase(),
            Value::String(values.join(", ")),
        );
    }
    out
}

/// The body as JSON when the server says it is JSON, or when it looks like a JSON object or
/// list and parses as one.
fn parse_json(headers: &HeaderMap, text: &str) -> Option<Value> {
    let declared = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    let trimmed = text.trim_start();
    let looks_like = trimmed.starts_with('{') || trimmed.starts_with('[');
    if declared || looks_like {
        serde_json::from_str(text).ok()
    } else {
        None
    }
}

/// The start of a body, on one line.
fn excerpt(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = flat.chars().take(BODY_EXCERPT).collect();
    if flat.chars().count() > BODY_EXCERPT {
        out.push_str("...");
    }
    if out.is_empty() {
        out
    } else {
        format!("body \"{out}\"")
    }
}
