//! The robot's config file, `config.toml` in the robot folder: what `alq robot run`
//! takes from a file, for a robot run as a service (whose command line is fixed).
//! Flags add to it. Unknown keys are errors.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::AgentError;
use crate::actions::PathPolicy;

/// The file's name in the robot folder.
pub const CONFIG_FILE: &str = "config.toml";

/// What `config.toml` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotConfig {
    /// The only folders (absolute) workflows' file actions may use, besides their job
    /// folder; empty: anywhere but alq's own folders.
    #[serde(default)]
    pub allow_paths: Vec<PathBuf>,
    /// How long starting a job's browser may take on this machine (overrides every
    /// workflow's `browser.startup_timeout_ms`; `--browser-startup-timeout` wins over it).
    #[serde(default)]
    pub browser_startup_timeout_ms: Option<u64>,
}

impl RobotConfig {
    /// Reads `config.toml` of the robot folder `dir`; no file is the defaults.
    pub fn load(dir: &Path) -> Result<RobotConfig, AgentError> {
        let path = dir.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RobotConfig::default());
            }
            Err(source) => return Err(AgentError::Io { path, source }),
        };
        let config: RobotConfig = toml::from_str(&text).map_err(|e| AgentError::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if let Some(relative) = config.allow_paths.iter().find(|p| !p.is_absolute()) {
            return Err(AgentError::Config {
                path,
                message: format!(
                    "allow_paths: `{}` is relative; write folders as absolute paths",
                    relative.display()
                ),
            });
        }
        if let Some(ms) = config.browser_startup_timeout_ms
            && let Err(why) = alq_shared::workflow::check_startup_timeout_ms(ms)
        {
            return Err(AgentError::Config {
                path,
                message: format!("browser_startup_timeout_ms: {why}"),
            });
        }
        Ok(config)
    }

    /// The browser start-up budget the file sets, if any.
    pub fn browser_startup_timeout(&self) -> Option<std::time::Duration> {
        self.browser_startup_timeout_ms
            .map(std::time::Duration::from_millis)
    }
}

/// What a job's workflow may reach: nothing of the robot's folders but its own job
/// folder, nothing of alq's other folders, and with allowed roots only those.
pub fn job_paths(
    robot_dir: &Path,
    data_dir: &Path,
    allow: &[PathBuf],
    job_dir: &Path,
) -> PathPolicy {
    let mut paths = PathPolicy::alq_folders();
    paths
        .protect(robot_dir, "the robot's folder (its identity and spool)")
        .protect(
            data_dir,
            "the robot's data folder (job folders, package cache)",
        )
        .own(job_dir);
    for root in allow {
        paths.allow(root);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_is_the_defaults_and_bad_keys_or_relative_paths_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            RobotConfig::load(dir.path()).unwrap(),
            RobotConfig::default()
        );
        let file = dir.path().join(CONFIG_FILE);
        std::fs::write(&file, "allow_paths = [\"/srv/invoices\", \"/mnt/in\"]\n").unwrap();
        assert_eq!(
            RobotConfig::load(dir.path()).unwrap().allow_paths,
            [PathBuf::from("/srv/invoices"), PathBuf::from("/mnt/in")]
        );
        std::fs::write(&file, "allow_path = [\"/srv\"]\n").unwrap();
        let error = RobotConfig::load(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("config.toml") && error.contains("allow_path"),
            "{error}"
        );
        std::fs::write(&file, "allow_paths = [\"in\"]\n").unwrap();
        let error = RobotConfig::load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("`in` is relative"), "{error}");
    }

    #[test]
    fn the_browser_start_up_budget_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(CONFIG_FILE);
        std::fs::write(&file, "browser_startup_timeout_ms = 90000\n").unwrap();
        assert_eq!(
            RobotConfig::load(dir.path())
                .unwrap()
                .browser_startup_timeout(),
            Some(std::time::Duration::from_secs(90))
        );
        for bad in ["0", "600001"] {
            std::fs::write(&file, format!("browser_startup_timeout_ms = {bad}\n")).unwrap();
            let error = RobotConfig::load(dir.path()).unwrap_err().to_string();
            assert!(error.contains("browser_startup_timeout_ms"), "{error}");
        }
        std::fs::write(&file, "browser_startup_timeout_ms = \"1m\"\n").unwrap();
        assert!(RobotConfig::load(dir.path()).is_err());
    }
}
