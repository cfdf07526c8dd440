//! The server's configuration: defaults, then a TOML file, then `ALQ_*` variables, then
//! flags (the last three are merged by the CLI through clap).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// How `alq server` runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// `sqlite://...` or `postgres://...`; default SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Redis for cross-replica wake-ups and events.
    pub redis_url: Option<String>,
    /// The Redis channel the replicas of one deployment share.
    pub redis_channel: String,
    /// Where the SQLite database and blobs live (default: the OS data folder).
    pub data_dir: Option<PathBuf>,
    /// TLS certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted artifact (screenshot, file), in bytes.
    pub max_artifact_bytes: usize,
    /// Largest accepted workflow package (the compressed archive), in bytes.
    pub max_package_bytes: usize,
    /// How long a lease lasts without a heartbeat.
    pub lease_ttl_ms: u64,
    /// How often robots should heartbeat (a third of the TTL or less).
    pub heartbeat_interval_ms: u64,
    /// The longest a lease long-poll is parked.
    pub lease_wait_max_s: u64,
    /// First retry delay after a failure or a lost lease; doubles per attempt, with jitter.
    pub retry_base_ms: u64,
    /// Longest retry delay.
    pub retry_max_ms: u64,
    /// How long events are kept in the outbox, in seconds: how far back an SSE client
    /// may resume and an outbox consumer may fall behind.
    pub event_retention_s: u64,
    /// How often `GET /api/v1/events` sends a heartbeat comment, in ms, so proxies keep
    /// the stream open.
    pub event_heartbeat_ms: u64,
    /// The key that encrypts credential assets (32 bytes, hex); default: a key file made
    /// in the data folder on first start.
    pub secret_key_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            redis_url: None,
            redis_channel: "alq:signals".to_owned(),
            data_dir: None,
            tls_cert: None,
            tls_key: None,
            max_body_bytes: 2 * 1024 * 1024,
            max_artifact_bytes: 20 * 1024 * 1024,
            max_package_bytes: 50 * 1024 * 1024,
            lease_ttl_ms: 60_000,
            heartbeat_interval_ms: 15_000,
            lease_wait_max_s: 60,
            retry_base_ms: 2_000,
            retry_max_ms: 600_000,
            event_retention_s: 7 * 24 * 3600,
            event_heartbeat_ms: 15_000,
            secret_key_file: None,
        }
    }
}

impl Config {
    /// Reads a TOML config file; unknown keys are errors.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
    }

    /// Refuses settings that cannot work together, whichever way they were given.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!(
                "give both tls_cert and tls_key (or neither): HTTPS needs the certificate and its key"
            );
        }
        if self.heartbeat_interval_ms == 0 || self.heartbeat_interval_ms >= self.lease_ttl_ms {
            anyhow::bail!(
                "heartbeat_interval_ms ({}) must be more than 0 and less than lease_ttl_ms ({}), or every lease would expire",
                self.heartbeat_interval_ms,
                self.lease_ttl_ms
            );
        }
        if self.event_heartbeat_ms == 0 || self.event_retention_s == 0 {
            anyhow::bail!(
                "event_heartbeat_ms ({}) and event_retention_s ({}) must be more than 0",
                self.event_heartbeat_ms,
                self.event_retention_s
            );
        }
        if self.retry_base_ms > self.retry_max_ms {
            anyhow::bail!(
                "retry_base_ms ({}) must not exceed retry_max_ms ({})",
                self.retry_base_ms,
                self.retry_max_ms
            );
        }
        Ok(())
    }

    /// The data folder: the configured one, or the OS data folder for alq.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        directories::ProjectDirs::from("dev", "alq", "alq")
            .map(|dirs| dirs.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".alq"))
    }
}
