//! The server's configuration: defaults, then a TOML file, then `ALQ_*` variables, then
//! flags ([`crate::settings`] reads and merges them). The database and Redis URLs may
//! hold passwords: `Debug` shows them with the password replaced, so a logged or
//! printed configuration never does.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How `alq server` runs.
#[derive(Clone)]
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

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured, so a new field cannot be left out (and a new secret is seen).
        let Config {
            listen,
            database_url,
            redis_url,
            redis_channel,
            data_dir,
            tls_cert,
            tls_key,
            max_body_bytes,
            max_artifact_bytes,
            max_package_bytes,
            lease_ttl_ms,
            heartbeat_interval_ms,
            lease_wait_max_s,
            retry_base_ms,
            retry_max_ms,
            event_retention_s,
            event_heartbeat_ms,
            secret_key_file,
        } = self;
        f.debug_struct("Config")
            .field("listen", listen)
            .field("database_url", &database_url.as_deref().map(redact_url))
            .field("redis_url", &redis_url.as_deref().map(redact_url))
            .field("redis_channel", redis_channel)
            .field("data_dir", data_dir)
            .field("tls_cert", tls_cert)
            .field("tls_key", tls_key)
            .field("max_body_bytes", max_body_bytes)
            .field("max_artifact_bytes", max_artifact_bytes)
            .field("max_package_bytes", max_package_bytes)
            .field("lease_ttl_ms", lease_ttl_ms)
            .field("heartbeat_interval_ms", heartbeat_interval_ms)
            .field("lease_wait_max_s", lease_wait_max_s)
            .field("retry_base_ms", retry_base_ms)
            .field("retry_max_ms", retry_max_ms)
            .field("event_retention_s", event_retention_s)
            .field("event_heartbeat_ms", event_heartbeat_ms)
            .field("secret_key_file", secret_key_file)
            .finish()
    }
}

/// A URL fit to log: the password of its user part and any `password=` query value
/// replaced by `***` (`postgres://alq:***@db/alq`, `redis://:***@cache:6379`).
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = match head.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let authority = match authority.rsplit_once('@') {
                Some((user, host)) => match user.split_once(':') {
                    Some((name, _)) => format!("{name}:***@{host}"),
                    None => authority.to_owned(),
                },
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => head.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

impl Config {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show_in_debug() {
        let config = Config {
            database_url: Some(
                "postgres://alq:hunter2@db.internal:5432/alq?sslmode=require".into(),
            ),
            redis_url: Some("redis://:hunter3@cache:6379/0".into()),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(
            shown.contains("postgres://alq:***@db.internal:5432/alq?sslmode=require"),
            "{shown}"
        );
        assert!(shown.contains("redis://:***@cache:6379/0"), "{shown}");
        assert!(shown.contains("lease_ttl_ms: 60000"), "{shown}");
    }

    #[test]
    fn urls_lose_their_passwords_only() {
        for (url, shown) in [
            ("postgres://u:p@h/d", "postgres://u:***@h/d"),
            ("postgres://u@h/d", "postgres://u@h/d"),
            (
                "postgres://h/d?user=u&password=p&x=1",
                "postgres://h/d?user=u&password=***&x=1",
            ),
            ("redis://:p@h:1", "redis://:***@h:1"),
            ("redis://h", "redis://h"),
            (
                "sqlite://data/alq.db?mode=rwc",
                "sqlite://data/alq.db?mode=rwc",
            ),
            ("postgres://u:p@ss@h/d", "postgres://u:***@h/d"),
            ("nonsense", "nonsense"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
