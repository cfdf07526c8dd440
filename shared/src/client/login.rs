//! The login `alq login` keeps: server URL, token and CA certificate, in `cli.json` in
//! the OS config folder (or `ALQ_CONFIG_DIR`), readable by its owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ClientOptions;

/// The name of the file in the config folder.
pub const FILE_NAME: &str = "cli.json";

/// The variable that moves the config folder (tests, several servers).
pub const CONFIG_DIR_VAR: &str = "ALQ_CONFIG_DIR";

/// Reading or writing the stored login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No config folder: no home folder and no `ALQ_CONFIG_DIR`.
    #[error("cannot find a config folder for alq: set {CONFIG_DIR_VAR} to a folder")]
    NoConfigDir,
    /// The file exists but cannot be read or parsed.
    #[error("cannot read the alq login {}: {reason}\nRun `alq login` again (or `alq logout` to remove it).", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file cannot be written or removed.
    #[error("cannot write the alq login {}: {reason}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// What `alq login` stores.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredLogin {
    /// The server's base URL.
    pub url: String,
    /// The bearer token.
    pub token: String,
    /// An extra trusted root certificate (PEM file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
}

impl std::fmt::Debug for StoredLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLogin")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

impl From<StoredLogin> for ClientOptions {
    fn from(login: StoredLogin) -> Self {
        ClientOptions {
            url: login.url,
            token: login.token,
            ca_cert: login.ca_cert,
        }
    }
}

/// The config folder: `ALQ_CONFIG_DIR`, else the OS one (`~/.config/alq` on Linux).
pub fn config_dir() -> Result<PathBuf, LoginError> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_VAR).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("dev", "alq", "alq")
        .map(|dirs| dirs.config_dir().to_path_buf())
        .ok_or(LoginError::NoConfigDir)
}

/// The login file's path.
pub fn path() -> Result<PathBuf, LoginError> {
    Ok(config_dir()?.join(FILE_NAME))
}

/// The stored login, if any.
pub fn load() -> Result<Option<StoredLogin>, LoginError> {
    load_from(&path()?)
}

/// The login stored in `path`, if the file exists.
pub fn load_from(path: &Path) -> Result<Option<StoredLogin>, LoginError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(LoginError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| LoginError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Stores the login (replacing any), readable by its owner only; returns the file.
pub fn save(login: &StoredLogin) -> Result<PathBuf, LoginError> {
    let path = path()?;
    save_to(&path, login)?;
    Ok(path)
}

/// Stores the login in `path`: written to a temporary file created with mode 0600,
/// then renamed, so the token is never readable by others, even for a moment.
pub fn save_to(path: &Path, login: &StoredLogin) -> Result<(), LoginError> {
    let failed = |e: std::io::Error| LoginError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(failed)?;
    }
    let text = serde_json::to_string_pretty(login).map_err(|e| LoginError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let temp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&temp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.write_all(b"\n").map_err(failed)?;
    file.sync_all().map_err(failed)?;
    drop(file);
    std::fs::rename(&temp, path).map_err(failed)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Removes the stored login; returns the file removed, or `None` when there was none.
pub fn remove() -> Result<Option<PathBuf>, LoginError> {
    let path = path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(Some(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LoginError::Write {
            reason: e.to_string(),
            path,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_logins_read_back_and_are_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub").join(FILE_NAME);
        assert_eq!(load_from(&path).expect("no file is fine"), None);
        let login = StoredLogin {
            url: "http://127.0.0.1:8080".into(),
            token: "alq_pat_x".into(),
            ca_cert: None,
        };
        save_to(&path, &login).expect("save");
        save_to(&path, &login).expect("save again");
        assert_eq!(load_from(&path).expect("load"), Some(login));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
