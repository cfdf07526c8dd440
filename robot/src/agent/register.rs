//! Registering this machine as a robot: one call with a registration token, then the
//! identity is stored for `alq robot run`.

use std::path::{Path, PathBuf};

use alq_shared::protocol::RegisterRequest;

use super::AgentError;
use super::http::{CallError, RobotClient};
use super::identity::{Identity, is_loopback};

/// What `alq robot register` was given.
#[derive(Clone)]
pub struct Registration {
    /// The control plane's URL.
    pub url: String,
    /// The registration token (`alq_reg_...`).
    pub token: String,
    /// The robot's name [default: the host name].
    pub name: Option<String>,
    /// Extra labels.
    pub labels: Vec<String>,
    /// An extra trusted root certificate.
    pub ca_cert: Option<PathBuf>,
    /// Allows plain http:// to a host other than this machine.
    pub insecure_http: bool,
}

/// The machine's host name, or `robot` when unknown.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "robot".into())
}

/// Registers with the control plane and stores the identity in `dir`.
pub async fn register(dir: &Path, registration: &Registration) -> Result<Identity, AgentError> {
    // An absolute path, so the service finds the certificate from any working folder.
    let ca_cert = registration
        .ca_cert
        .as_ref()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
    let client = RobotClient::new(&registration.url, &registration.token, ca_cert.as_deref())?;
    if client.base().scheme() == "http"
        && !is_loopback(client.base())
        && !registration.insecure_http
    {
        return Err(AgentError::InsecureHttp(registration.url.clone()));
    }
    let hostname = hostname();
    let name = registration
        .name
        .clone()
        .unwrap_or_else(|| hostname.clone());
    let request = RegisterRequest {
        name: name.clone(),
        hostname,
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        labels: registration.labels.clone(),
        browsers: vec!["chromium".into()],
    };
    let answer = client.register(&request).await.map_err(|e| match e {
        e if matches!(e.status(), Some(401 | 403)) => {
            AgentError::BadRegistrationToken(e.to_string())
        }
        e @ CallError::Connect { .. } => AgentError::RegisterUnreachable(e),
        e => AgentError::Call(e),
    })?;
    let identity = Identity {
        url: client.base().as_str().trim_end_matches('/').to_owned(),
        robot_id: answer.robot_id,
        token: answer.token,
        ca_cert,
        name,
        labels: answer.labels,
        lease_wait_s: answer.lease_wait_s,
        heartbeat_interval_ms: answer.heartbeat_interval_ms,
        lease_ttl_ms: answer.lease_ttl_ms,
    };
    identity.save(dir)?;
    Ok(identity)
}
