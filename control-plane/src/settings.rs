//! How the server's settings are given: every setting is a key of the TOML config file,
//! an `ALQ_*` variable and a flag, in that order of strength (a flag wins over a
//! variable, which wins over the file, which wins over the default). One struct serves
//! as the file's keys and as the flags (clap reads the variables), so the three cannot
//! fall out of step. The two secrets, `database_url` and `redis_url`, can also be read
//! from a file (`database_url_file`, `--database-url-file`, `ALQ_DATABASE_URL_FILE`),
//! as container secrets are mounted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::Config;

/// The server's settings as one source gives them: each one given or not.
#[derive(Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "ALQ_LISTEN", value_name = "ADDRESS")]
    pub listen: Option<SocketAddr>,
    /// `postgres://...` or `sqlite://...` [default: SQLite in the data folder].
    #[arg(
        long,
        env = "ALQ_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// A file holding `database_url` (a mounted secret), instead of the URL itself.
    #[arg(long, env = "ALQ_DATABASE_URL_FILE", value_name = "FILE")]
    pub database_url_file: Option<PathBuf>,
    /// Redis, for several replicas.
    #[arg(
        long,
        env = "ALQ_REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// A file holding `redis_url`, instead of the URL itself.
    #[arg(long, env = "ALQ_REDIS_URL_FILE", value_name = "FILE")]
    pub redis_url_file: Option<PathBuf>,
    /// The Redis channel the replicas of one deployment share [default: alq:signals].
    #[arg(long, env = "ALQ_REDIS_CHANNEL", value_name = "NAME")]
    pub redis_channel: Option<String>,
    /// Where SQLite, blobs and the server key live [default: the OS data folder].
    #[arg(long, env = "ALQ_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// TLS certificate chain (PEM); with a key, the server serves HTTPS.
    #[arg(long, env = "ALQ_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "ALQ_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Largest request body, in bytes [default: 2 MiB].
    #[arg(long, env = "ALQ_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest artifact upload, in bytes [default: 20 MiB].
    #[arg(long, env = "ALQ_MAX_ARTIFACT_BYTES", value_name = "BYTES")]
    pub max_artifact_bytes: Option<usize>,
    /// Largest workflow package (compressed), in bytes [default: 50 MiB].
    #[arg(long, env = "ALQ_MAX_PACKAGE_BYTES", value_name = "BYTES")]
    pub max_package_bytes: Option<usize>,
    /// How long a lease lasts without a heartbeat, in ms [default: 60000].
    #[arg(long, env = "ALQ_LEASE_TTL_MS", value_name = "MS")]
    pub lease_ttl_ms: Option<u64>,
    /// How often robots heartbeat, in ms [default: 15000].
    #[arg(long, env = "ALQ_HEARTBEAT_INTERVAL_MS", value_name = "MS")]
    pub heartbeat_interval_ms: Option<u64>,
    /// The longest a lease long-poll is parked, in seconds [default: 60].
    #[arg(long, env = "ALQ_LEASE_WAIT_MAX_S", value_name = "SECONDS")]
    pub lease_wait_max_s: Option<u64>,
    /// First retry delay of a failed job, in ms; doubles per attempt [default: 2000].
    #[arg(long, env = "ALQ_RETRY_BASE_MS", value_name = "MS")]
    pub retry_base_ms: Option<u64>,
    /// Longest retry delay, in ms [default: 600000].
    #[arg(long, env = "ALQ_RETRY_MAX_MS", value_name = "MS")]
    pub retry_max_ms: Option<u64>,
    /// How long events are kept for SSE resume and outbox consumers, in seconds
    /// [default: 604800, 7 days].
    #[arg(long, env = "ALQ_EVENT_RETENTION_S", value_name = "SECONDS")]
    pub event_retention_s: Option<u64>,
    /// How often the event stream sends a heartbeat comment, in ms [default: 15000].
    #[arg(long, env = "ALQ_EVENT_HEARTBEAT_MS", value_name = "MS")]
    pub event_heartbeat_ms: Option<u64>,
    /// The key that encrypts credential assets [default: server.key in the data folder].
    #[arg(long, env = "ALQ_SECRET_KEY_FILE", value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,
}

/// Takes `$field` from `high` when given there, else from `low`.
macro_rules! over {
    ($high:ident, $low:ident, $($field:ident),* $(,)?) => {
        Settings { $($field: $high.$field.or($low.$field)),* }
    };
}

impl Settings {
    /// Reads a TOML config file; an unknown key is an error naming it.
    pub fn from_file(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
    }

    /// These settings over `low`: each one given here wins. A secret and its `_file`
    /// count as one setting, so a file given by a variable beats a URL in the file.
    pub fn over(self, low: Settings) -> Settings {
        let mut low = low;
        if self.database_url.is_some() || self.database_url_file.is_some() {
            low.database_url = None;
            low.database_url_file = None;
        }
        if self.redis_url.is_some() || self.redis_url_file.is_some() {
            low.redis_url = None;
            low.redis_url_file = None;
        }
        let high = self;
        over!(
            high,
            low,
            listen,
            database_url,
            database_url_file,
            redis_url,
            redis_url_file,
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
        )
    }

    /// The configuration: these settings over the defaults, secrets read from their
    /// files, checked.
    pub fn resolve(self) -> anyhow::Result<Config> {
        let defaults = Config::default();
        let config = Config {
            listen: self.listen.unwrap_or(defaults.listen),
            database_url: secret(
                "database_url",
                self.database_url,
                self.database_url_file.as_deref(),
            )?,
            redis_url: secret("redis_url", self.redis_url, self.redis_url_file.as_deref())?,
            redis_channel: self.redis_channel.unwrap_or(defaults.redis_channel),
            data_dir: self.data_dir,
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
            max_body_bytes: self.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            max_artifact_bytes: self
                .max_artifact_bytes
                .unwrap_or(defaults.max_artifact_bytes),
            max_package_bytes: self.max_package_bytes.unwrap_or(defaults.max_package_bytes),
            lease_ttl_ms: self.lease_ttl_ms.unwrap_or(defaults.lease_ttl_ms),
            heartbeat_interval_ms: self
                .heartbeat_interval_ms
                .unwrap_or(defaults.heartbeat_interval_ms),
            lease_wait_max_s: self.lease_wait_max_s.unwrap_or(defaults.lease_wait_max_s),
            retry_base_ms: self.retry_base_ms.unwrap_or(defaults.retry_base_ms),
            retry_max_ms: self.retry_max_ms.unwrap_or(defaults.retry_max_ms),
            event_retention_s: self.event_retention_s.unwrap_or(defaults.event_retention_s),
            event_heartbeat_ms: self
                .event_heartbeat_ms
                .unwrap_or(defaults.event_heartbeat_ms),
            secret_key_file: self.secret_key_file,
        };
        config.check()?;
        Ok(config)
    }
}

/// A secret given as it is or as a file holding it (the file's text, trimmed).
fn secret(
    name: &str,
    value: Option<String>,
    file: Option<&Path>,
) -> anyhow::Result<Option<String>> {
    match (value, file) {
        (Some(_), Some(_)) => anyhow::bail!(
            "{name} and {name}_file are both given in one place (flags and ALQ_* variables count as one): give one of them"
        ),
        (value, None) => Ok(value),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {name}_file {}: {e}", path.display()))?;
            let text = text.trim();
            if text.is_empty() {
                anyhow::bail!("{name}_file {} is empty", path.display());
            }
            Ok(Some(text.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command};

    fn file(text: &str) -> Settings {
        toml::from_str(text).expect("settings")
    }

    fn flags(args: &[&str]) -> Settings {
        let command = Settings::augment_args(Command::new("server"));
        let matches = command
            .try_get_matches_from(std::iter::once("server").chain(args.iter().copied()))
            .expect("flags");
        <Settings as clap::FromArgMatches>::from_arg_matches(&matches).expect("settings")
    }

    #[test]
    fn every_setting_is_a_flag_a_variable_and_a_file_key() {
        let command = Settings::augment_args(Command::new("server"));
        let mut keys = Vec::new();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            assert_eq!(arg.get_long(), Some(id.replace('_', "-").as_str()), "{id}");
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or("");
            assert_eq!(env, format!("ALQ_{}", id.to_uppercase()), "{id}");
            keys.push(id.to_owned());
        }
        // Every Config field, and the two secrets' files.
        let config = format!("{:?}", Config::default());
        let fields: Vec<&str> = config
            .trim_start_matches("Config { ")
            .split(", ")
            .filter_map(|f| f.split_once(':').map(|(name, _)| name.trim()))
            .collect();
        for field in &fields {
            assert!(keys.iter().any(|k| k == field), "no flag for {field}");
        }
        assert_eq!(keys.len(), fields.len() + 2, "{keys:?}\n{fields:?}");
        // The file takes every key.
        for key in &keys {
            let value = match key.as_str() {
                "listen" => "\"127.0.0.1:1\"",
                k if k.ends_with("_ms") || k.ends_with("_s") || k.ends_with("_bytes") => "1",
                _ => "\"x\"",
            };
            toml::from_str::<Settings>(&format!("{key} = {value}"))
                .unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }

    #[test]
    fn a_flag_beats_the_file_which_beats_the_default() {
        let from_file = file("lease_ttl_ms = 30000\nretry_max_ms = 9000\nredis_channel = \"f\"");
        let given = flags(&["--lease-ttl-ms", "40000", "--max-body-bytes", "7"]);
        let config = given.over(from_file).resolve().expect("config");
        assert_eq!(config.lease_ttl_ms, 40_000);
        assert_eq!(config.retry_max_ms, 9_000);
        assert_eq!(config.redis_channel, "f");
        assert_eq!(config.max_body_bytes, 7);
        assert_eq!(
            config.heartbeat_interval_ms,
            Config::default().heartbeat_interval_ms
        );
    }

    #[test]
    fn secrets_come_from_files_and_a_file_given_higher_wins() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("db");
        std::fs::write(&path, "postgres://alq:s3cret@db/alq\n").expect("write");
        let from_file = file("database_url = \"sqlite://from-the-file.db\"");
        let given = flags(&["--database-url-file", path.to_str().expect("path")]);
        let config = given.over(from_file).resolve().expect("config");
        assert_eq!(
            config.database_url.as_deref(),
            Some("postgres://alq:s3cret@db/alq")
        );
        let both = file(&format!(
            "redis_url = \"redis://r\"\nredis_url_file = {:?}",
            path.display().to_string()
        ));
        let error = both.resolve().expect_err("both");
        assert!(
            error.to_string().contains("redis_url and redis_url_file"),
            "{error}"
        );
        let missing = flags(&["--redis-url-file", "/nonexistent/alq"]);
        let error = missing.resolve().expect_err("missing");
        assert!(
            error.to_string().contains("cannot read redis_url_file"),
            "{error}"
        );
    }
}
