//! Helpers: run the built `alq` binary on workflow files written into temp folders.

#![allow(dead_code)]

pub mod control_plane;
#[cfg(target_os = "linux")]
pub mod processes;
pub mod robot;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temp folder holding workflow files; runs go to its `runs/`.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (folders created) and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    /// `alq ARGS` in this folder.
    pub fn alq(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_alq"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .output()
            .expect("run alq");
        Run::from(output)
    }

    /// `alq ARGS` in this folder with `env` set.
    pub fn alq_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_alq"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .output()
            .expect("run alq");
        Run::from(output)
    }

    /// The only run folder under `runs/`.
    pub fn run_dir(&self) -> PathBuf {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("runs"))
            .expect("runs folder")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(dirs.len(), 1, "expected one run folder, found {dirs:?}");
        dirs.remove(0)
    }
}

/// What a finished `alq` process showed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that standard error contains every piece.
    pub fn stderr_has(&self, pieces: &[&str]) -> &Self {
        for piece in pieces {
            assert!(
                self.stderr.contains(piece),
                "stderr lacks {piece:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

/// The events of a run folder, parsed.
pub fn events(run_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run_dir.join("events.ndjson"))
        .expect("events.ndjson")
        .lines()
        .map(|line| serde_json::from_str(line).expect("event JSON"))
        .collect()
}

/// Whether chromedriver is installed; outside CI a test without it is skipped with a
/// note, under CI (`CI=true`) its absence is a failure.
pub fn have_chromedriver() -> bool {
    let found = std::env::var_os("ALQ_CHROMEDRIVER").is_some()
        || std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join("chromedriver").is_file())
        });
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if !found && ci {
        panic!("chromedriver is not installed: scripts/test.sh must install it under CI");
    }
    if !found {
        eprintln!("skipped: chromedriver is not installed");
    }
    found
}

/// The address of a service `scripts/test.sh` started, from its variable: `None` (the
/// test is skipped with a note) outside CI, a failure under CI.
pub fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("{var} is not set: scripts/test.sh must start this service under CI")
        }
        _ => {
            eprintln!("skipped: {var} is not set (scripts/test.sh starts the service)");
            None
        }
    }
}

/// Starts `alq run FILE --json` in the workspace and returns once a step with this
/// action has started (read from the run's `events.ndjson`).
pub fn spawn_until_step(ws: &Workspace, file: &str, action: &str) -> std::process::Child {
    use std::process::Stdio;
    let child = Command::new(env!("CARGO_BIN_EXE_alq"))
        .args(["run", file, "--json"])
        .current_dir(ws.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start alq");
    let marker = format!("\"action\":\"{action}\"");
    // `runs/` exists a moment before the run's folder inside it: read whatever is there.
    let events = || {
        std::fs::read_dir(ws.path().join("runs"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| {
                std::fs::read_to_string(entry.path().join("events.ndjson")).unwrap_or_default()
            })
            .collect::<String>()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !events().contains(&marker) {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never reached a {action} step"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// Sends SIGINT, as Ctrl-C in a terminal would.
#[cfg(unix)]
pub fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}
