//! The settings of `alq robot run`: every one is a key of the robot's TOML config file,
//! an `ALQ_*` variable and a flag (flag > variable > file > default), from one struct
//! so the three cannot fall out of step. The file is `config.toml` in the robot folder
//! when it exists, or the one `--config` / `ALQ_ROBOT_CONFIG` names. The robot folder
//! itself (`ALQ_ROBOT_DIR`) is not a setting of the file: it holds the file, and the
//! identity every `alq robot` command reads. `allow_paths` is the one setting whose
//! flags and variable add to the file's folders instead of replacing them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The robot's settings as one source gives them: each one given or not.
#[derive(Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// How many jobs to run at once, one browser each [default: 1].
    #[arg(long, env = "ALQ_ROBOT_SLOTS", value_name = "N")]
    pub slots: Option<u32>,
    /// On stop, how long running jobs may go on before they are cancelled, e.g. 60s
    /// [default: 60s].
    #[arg(long, env = "ALQ_ROBOT_GRACE", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(default, deserialize_with = "duration")]
    pub grace: Option<Duration>,
    /// WebDriver URL for every job [default: a chromedriver the robot starts].
    #[arg(long, env = "ALQ_WEBDRIVER_URL", value_name = "URL")]
    pub webdriver_url: Option<String>,
    /// How long starting a job's browser may take on this machine, e.g. 90s, 2m, or
    /// milliseconds; overrides every workflow's `browser.startup_timeout_ms` [default: the
    /// workflow's, 60s unless it says otherwise].
    #[arg(long, env = "ALQ_BROWSER_STARTUP_TIMEOUT", value_name = "DURATION",
          value_parser = super::run::startup_timeout, allow_negative_numbers = true)]
    #[serde(
        default,
        alias = "browser_startup_timeout_ms",
        deserialize_with = "startup_timeout"
    )]
    pub browser_startup_timeout: Option<Duration>,
    /// Let workflows' file actions use only this folder (and the others given, and their
    /// job folder). Repeatable, and added to the config file's `allow_paths`; the
    /// variable lists folders as PATH does [default: anywhere but alq's own folders].
    #[arg(long = "allow-path", env = "ALQ_ROBOT_ALLOW_PATHS", value_name = "DIR")]
    #[cfg_attr(unix, arg(value_delimiter = ':'))]
    #[cfg_attr(windows, arg(value_delimiter = ';'))]
    #[serde(default)]
    pub allow_paths: Vec<PathBuf>,
    /// Where job folders go [default: ALQ_ROBOT_DATA_DIR, else ALQ_ROBOT_DIR, else the
    /// OS data folder of alq plus `robot`].
    #[arg(long, env = "ALQ_ROBOT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// How many finished job folders to keep (the newest); 0 removes each as soon as
    /// its job is reported [default: 100].
    #[arg(long, env = "ALQ_ROBOT_KEEP_JOB_FOLDERS", value_name = "N")]
    pub keep_job_folders: Option<usize>,
    /// How long to keep finished job folders, e.g. 12h, 7d [default: 7d].
    #[arg(long, env = "ALQ_ROBOT_KEEP_JOB_FOLDERS_FOR", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(default, deserialize_with = "duration")]
    pub keep_job_folders_for: Option<Duration>,
}

/// The settings `alq robot run` works with.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Jobs at once.
    pub slots: u32,
    /// How long running jobs may go on after a stop request.
    pub grace: Duration,
    /// Overrides every workflow's WebDriver URL.
    pub webdriver_url: Option<String>,
    /// Overrides every workflow's browser start-up budget.
    pub browser_startup_timeout: Option<Duration>,
    /// The folders workflows' file actions may use: the file's (absolute), then the
    /// ones given as flags or in the variable (as given); empty: anywhere but alq's own.
    pub allow_paths: Vec<PathBuf>,
    /// Where job folders go; `None`: the default folder.
    pub data_dir: Option<PathBuf>,
    /// How long finished job folders are kept.
    pub retention: alq_robot::agent::Retention,
}

/// A duration written as people do (`90s`, `12h`, `7d`).
fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration like 60s, 12h or 7d: {e}"
        ))
    })
}

/// A browser start-up budget in the file: milliseconds (`90000`) or a duration (`"90s"`).
fn startup_timeout<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Ms(u64),
        Text(String),
    }
    let text = match Given::deserialize(deserializer)? {
        Given::Ms(ms) => ms.to_string(),
        Given::Text(text) => text,
    };
    super::run::startup_timeout(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

impl RunSettings {
    /// Reads a TOML config file; an unknown key, a value that does not parse or a
    /// relative folder in `allow_paths` is an error naming it.
    pub fn from_file(path: &Path) -> Result<RunSettings, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the robot's config file {}: {e}",
                path.display()
            )
        })?;
        let settings: RunSettings = toml::from_str(&text)
            .map_err(|e| format!("robot config file {}: {e}", path.display()))?;
        if let Some(relative) = settings.allow_paths.iter().find(|p| !p.is_absolute()) {
            return Err(format!(
                "robot config file {}: allow_paths: `{}` is relative; write folders as absolute paths",
                path.display(),
                relative.display()
            ));
        }
        Ok(settings)
    }

    /// The settings file to read: the one named, else `config.toml` in the robot
    /// folder when there is one.
    pub fn file(named: Option<PathBuf>, robot_dir: &Path) -> Option<PathBuf> {
        named.or_else(|| {
            Some(robot_dir.join(alq_robot::agent::config::CONFIG_FILE)).filter(|p| p.is_file())
        })
    }

    /// The job folders' folder as `alq robot run` would choose it without flags:
    /// `ALQ_ROBOT_DATA_DIR`, else the config file's `data_dir`, else the default. For
    /// `alq robot status`, which shows it.
    pub fn data_dir_without_flags(robot_dir: &Path) -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("ALQ_ROBOT_DATA_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir));
        }
        let named = std::env::var_os("ALQ_ROBOT_CONFIG").map(PathBuf::from);
        Self::file(named, robot_dir)
            .and_then(|path| Self::from_file(&path).ok())
            .and_then(|settings| settings.data_dir)
    }

    /// These settings over `low` (each one given here wins), over the defaults.
    pub fn over(self, low: RunSettings) -> Resolved {
        let defaults = alq_robot::agent::Retention::default();
        Resolved {
            slots: self.slots.or(low.slots).unwrap_or(1),
            grace: self.grace.or(low.grace).unwrap_or(Duration::from_secs(60)),
            webdriver_url: self.webdriver_url.or(low.webdriver_url),
            browser_startup_timeout: self.browser_startup_timeout.or(low.browser_startup_timeout),
            allow_paths: low
                .allow_paths
                .into_iter()
                .chain(self.allow_paths)
                .collect(),
            data_dir: self.data_dir.or(low.data_dir),
            retention: alq_robot::agent::Retention {
                max_age: self
                    .keep_job_folders_for
                    .or(low.keep_job_folders_for)
                    .unwrap_or(defaults.max_age),
                max_folders: self
                    .keep_job_folders
                    .or(low.keep_job_folders)
                    .unwrap_or(defaults.max_folders),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    fn flags(args: &[&str]) -> RunSettings {
        let command = RunSettings::augment_args(Command::new("run"));
        let matches = command
            .try_get_matches_from(std::iter::once("run").chain(args.iter().copied()))
            .expect("flags");
        RunSettings::from_arg_matches(&matches).expect("settings")
    }

    #[test]
    fn every_setting_is_a_flag_a_variable_and_a_file_key() {
        let command = RunSettings::augment_args(Command::new("run"));
        let mut count = 0;
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            // One folder per `--allow-path`, as `alq run` takes it.
            let long = match id {
                "allow_paths" => "allow-path".to_owned(),
                _ => id.replace('_', "-"),
            };
            assert_eq!(arg.get_long(), Some(long.as_str()), "{id}");
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or("");
            // The two that `alq run` reads too keep its variables.
            let expected = match id {
                "webdriver_url" | "browser_startup_timeout" => {
                    format!("ALQ_{}", id.to_uppercase())
                }
                _ => format!("ALQ_ROBOT_{}", id.to_uppercase()),
            };
            assert_eq!(env, expected, "{id}");
            let value = match id {
                "slots" | "keep_job_folders" => "2",
                "grace" | "keep_job_folders_for" | "browser_startup_timeout" => "\"90s\"",
                "allow_paths" => "[\"/srv\"]",
                _ => "\"x\"",
            };
            toml::from_str::<RunSettings>(&format!("{id} = {value}"))
                .unwrap_or_else(|e| panic!("{id}: {e}"));
            count += 1;
        }
        assert_eq!(count, 8);
    }

    #[test]
    fn a_flag_beats_the_file_which_beats_the_default() {
        let file: RunSettings = toml::from_str(
            "slots = 3\ngrace = \"2m\"\nkeep_job_folders = 5\ndata_dir = \"/srv/jobs\"",
        )
        .expect("file");
        let resolved = flags(&["--slots", "4", "--keep-job-folders-for", "12h"]).over(file);
        assert_eq!(resolved.slots, 4);
        assert_eq!(resolved.grace, Duration::from_secs(120));
        assert_eq!(resolved.retention.max_folders, 5);
        assert_eq!(resolved.retention.max_age, Duration::from_secs(12 * 3600));
        assert_eq!(resolved.data_dir, Some(PathBuf::from("/srv/jobs")));
        assert_eq!(resolved.webdriver_url, None);
        let defaults = RunSettings::default().over(RunSettings::default());
        assert_eq!(defaults.slots, 1);
        assert_eq!(defaults.grace, Duration::from_secs(60));
    }

    #[test]
    fn a_bad_file_says_what_is_wrong() {
        let error = toml::from_str::<RunSettings>("grace = \"soon\"")
            .err()
            .expect("a bad duration");
        assert!(error.to_string().contains("not a duration"), "{error}");
        let error = toml::from_str::<RunSettings>("slot = 2")
            .err()
            .expect("an unknown key");
        assert!(
            error.to_string().contains("unknown field `slot`"),
            "{error}"
        );
    }

    #[test]
    fn folders_add_up_and_the_start_up_budget_takes_both_forms() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "allow_paths = [\"/srv/invoices\"]\nbrowser_startup_timeout_ms = 90000\n",
        )
        .expect("write");
        let file = RunSettings::from_file(&path).expect("file");
        let resolved = flags(&["--allow-path", "/mnt/in"]).over(file.clone());
        assert_eq!(
            resolved.allow_paths,
            [PathBuf::from("/srv/invoices"), PathBuf::from("/mnt/in")]
        );
        assert_eq!(
            resolved.browser_startup_timeout,
            Some(Duration::from_secs(90))
        );
        let resolved = flags(&["--browser-startup-timeout", "2m"]).over(file);
        assert_eq!(
            resolved.browser_startup_timeout,
            Some(Duration::from_secs(120))
        );
        std::fs::write(&path, "browser_startup_timeout = \"1m\"\n").expect("write");
        let file = RunSettings::from_file(&path).expect("a duration");
        assert_eq!(file.browser_startup_timeout, Some(Duration::from_secs(60)));
        for bad in [
            "browser_startup_timeout_ms = 0",
            "browser_startup_timeout = \"11m\"",
        ] {
            std::fs::write(&path, bad).expect("write");
            let error = RunSettings::from_file(&path).err().expect(bad);
            assert!(error.contains("browser_startup_timeout"), "{error}");
        }
        std::fs::write(&path, "allow_paths = [\"in\"]\n").expect("write");
        let error = RunSettings::from_file(&path).err().expect("relative");
        assert!(error.contains("`in` is relative"), "{error}");
    }
}
