//! The robot's identity: where it registered, its id and token, and the intervals the
//! server asked for. Stored as `robot.json` in the robot folder (mode 0600 on Unix).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::AgentError;

/// What `alq robot register` stores and `alq robot run` reads.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The control plane's base URL.
    pub url: String,
    /// The robot's id.
    pub robot_id: String,
    /// The robot's token (`alq_rbt_...`).
    pub token: String,
    /// An extra trusted root certificate (PEM) for a private CA.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// The robot's name.
    pub name: String,
    /// Its labels, as the server answered them.
    #[serde(default)]
    pub labels: Vec<String>,
    /// How long to park a lease long-poll (seconds).
    pub lease_wait_s: u64,
    /// How often to heartbeat a running job.
    pub heartbeat_interval_ms: u64,
    /// How long a lease lasts without a heartbeat.
    pub lease_ttl_ms: u64,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("url", &self.url)
            .field("robot_id", &self.robot_id)
            .field("token", &"<redacted>")
            .field("ca_cert", &self.ca_cert)
            .field("name", &self.name)
            .field("labels", &self.labels)
            .finish()
    }
}

/// The robot folder: `ALQ_ROBOT_DIR`, else the OS config folder of alq plus `robot`.
pub fn robot_dir() -> Result<PathBuf, AgentError> {
    if let Some(dir) = std::env::var_os("ALQ_ROBOT_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "alq")
        .map(|dirs| dirs.config_dir().join("robot"))
        .ok_or(AgentError::NoRobotDir)
}

/// The robot's data folder, for job folders: `ALQ_ROBOT_DATA_DIR`, else `ALQ_ROBOT_DIR`
/// (one folder for everything), else the OS data folder of alq plus `robot`.
pub fn robot_data_dir() -> Result<PathBuf, AgentError> {
    for name in ["ALQ_ROBOT_DATA_DIR", "ALQ_ROBOT_DIR"] {
        if let Some(dir) = std::env::var_os(name).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
    }
    directories::ProjectDirs::from("", "", "alq")
        .map(|dirs| dirs.data_dir().join("robot"))
        .ok_or(AgentError::NoRobotDir)
}

/// The identity file in `dir`.
pub fn identity_path(dir: &Path) -> PathBuf {
    dir.join("robot.json")
}

impl Identity {
    /// Reads the identity from `dir`; a missing file says to register.
    pub fn load(dir: &Path) -> Result<Identity, AgentError> {
        let path = identity_path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AgentError::NotRegistered(path));
            }
            Err(source) => return Err(AgentError::Io { path, source }),
        };
        serde_json::from_str(&text).map_err(|e| AgentError::Io {
            path,
            source: std::io::Error::other(e),
        })
    }

    /// Writes the identity to `dir`, readable by its owner only.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, AgentError> {
        let path = identity_path(dir);
        let io = |source| AgentError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let text = serde_json::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = path.with_extension("tmp");
        write_private(&tmp, text.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(path)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An older file keeps its mode on open: set it again.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Whether a URL's host is this machine, where plain HTTP cannot be overheard.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity {
            url: "https://cp.example".into(),
            robot_id: "r1".into(),
            token: "alq_rbt_secret".into(),
            ca_cert: None,
            name: "bot".into(),
            labels: vec!["linux".into()],
            lease_wait_s: 25,
            heartbeat_interval_ms: 10_000,
            lease_ttl_ms: 60_000,
        };
        let path = identity.save(dir.path()).unwrap();
        assert_eq!(Identity::load(dir.path()).unwrap(), identity);
        assert!(!format!("{identity:?}").contains("secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let missing = Identity::load(&dir.path().join("nope")).unwrap_err();
        assert!(
            missing.to_string().contains("alq robot register"),
            "{missing}"
        );
    }

    #[test]
    fn only_loopback_hosts_count_as_local() {
        for (url, local) in [
            ("http://localhost:8080", true),
            ("http://127.0.0.1", true),
            ("http://[::1]:9", true),
            ("http://10.0.0.1", false),
            ("http://cp.example", false),
        ] {
            assert_eq!(
                is_loopback(&reqwest::Url::parse(url).unwrap()),
                local,
                "{url}"
            );
        }
    }
}
