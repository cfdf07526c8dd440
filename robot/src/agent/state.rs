//! The state file the agent keeps for `alq robot status`: who runs, since when, and the
//! jobs in hand. Written on every change, removed on a clean exit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A job the agent is running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningJob {
    /// The job's id.
    pub job_id: i64,
    /// Which attempt.
    pub attempt: i64,
    /// The workflow's name.
    pub workflow: String,
    /// When the robot leased it.
    pub started_at: DateTime<Utc>,
}

/// The content of `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    /// The agent's process id.
    pub pid: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How many jobs it runs at once.
    pub slots: u32,
    /// When this file was written.
    pub updated_at: DateTime<Utc>,
    /// The jobs in hand.
    pub jobs: Vec<RunningJob>,
}

/// The state file in the robot folder.
pub fn state_path(dir: &Path) -> PathBuf {
    dir.join("state.json")
}

/// Reads the state file, when an agent wrote one.
pub fn read(dir: &Path) -> Option<AgentState> {
    serde_json::from_slice(&std::fs::read(state_path(dir)).ok()?).ok()
}

impl AgentState {
    /// Whether the agent that wrote the file still runs. An agent that was killed (or
    /// whose machine lost power) leaves its file behind. On Linux `/proc` tells: the
    /// process must exist and be an `alq robot` (not a zombie, whose command line is
    /// empty, nor a later process given the same pid); elsewhere the file is believed.
    pub fn is_running(&self) -> bool {
        if !cfg!(target_os = "linux") {
            return true;
        }
        let cmdline = Path::new("/proc")
            .join(self.pid.to_string())
            .join("cmdline");
        std::fs::read(cmdline).is_ok_and(|line| line.split(|b| *b == 0).any(|arg| arg == b"robot"))
    }
}

/// The agent's jobs, written to the state file on every change.
#[derive(Debug, Clone)]
pub struct Jobs {
    path: PathBuf,
    started_at: DateTime<Utc>,
    slots: u32,
    jobs: Arc<Mutex<BTreeMap<i64, RunningJob>>>,
}

impl Jobs {
    /// An empty set, written at once.
    pub fn new(dir: &Path, slots: u32) -> Jobs {
        let jobs = Jobs {
            path: state_path(dir),
            started_at: Utc::now(),
            slots,
            jobs: Arc::default(),
        };
        jobs.write();
        jobs
    }

    /// Adds a job.
    pub fn add(&self, job: RunningJob) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(job.job_id, job);
        }
        self.write();
    }

    /// Removes a job.
    pub fn remove(&self, id: i64) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.remove(&id);
        }
        self.write();
    }

    /// Whether the agent runs this job now.
    pub fn contains(&self, id: i64) -> bool {
        self.jobs.lock().is_ok_and(|jobs| jobs.contains_key(&id))
    }

    /// Removes the state file (the agent stopped).
    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    fn write(&self) {
        let jobs = match self.jobs.lock() {
            Ok(jobs) => jobs.values().cloned().collect(),
            Err(_) => return,
        };
        let state = AgentState {
            pid: std::process::id(),
            started_at: self.started_at,
            slots: self.slots,
            updated_at: Utc::now(),
            jobs,
        };
        let Ok(bytes) = serde_json::to_vec_pretty(&state) else {
            return;
        };
        let tmp = self.path.with_extension("tmp");
        if std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .is_err()
        {
            tracing::warn!(path = %self.path.display(), "Cannot write the state file.");
        }
    }
}
