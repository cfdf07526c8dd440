//! Job folders: each leased attempt runs in `<data dir>/jobs/<job>-<attempt>/` (the
//! workflow, its files and the `run/` folder with screenshots and the report). They are
//! kept for a while to look into, then removed: after each job and when the agent
//! starts, folders beyond the retention go, oldest first. A folder of a job the agent
//! runs, or whose reports are still in the spool, is never removed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long finished job folders are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Folders older than this go.
    pub max_age: Duration,
    /// At most this many finished folders stay (the newest); 0 removes each one as soon
    /// as its job is reported.
    pub max_folders: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_folders: 100,
        }
    }
}

/// The folder of the job folders in the robot's data folder.
pub fn jobs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("jobs")
}

/// The folder one attempt of a job runs in.
pub fn job_dir(data_dir: &Path, job: i64, attempt: i64) -> PathBuf {
    jobs_dir(data_dir).join(format!("{job}-{attempt}"))
}

/// Written into a job folder when its job ended and was reported: its time is the
/// folder's age.
const FINISHED: &str = ".finished";

/// Marks a job folder finished (its reports sent), which starts its retention.
pub fn mark_finished(dir: &Path) {
    if dir.is_dir()
        && let Err(e) = std::fs::write(dir.join(FINISHED), b"")
    {
        tracing::warn!(path = %dir.display(), error = %e, "Cannot mark a job folder finished.");
    }
}

/// The job id of a folder named `<job>-<attempt>`.
fn job_of(name: &str) -> Option<i64> {
    let (job, attempt) = name.split_once('-')?;
    attempt.parse::<i64>().ok()?;
    job.parse().ok()
}

/// Removes the job folders of `data_dir` beyond `retention`, except those of the jobs
/// for which `keep` says yes (running, or with reports in the spool). Returns the
/// folders removed.
pub fn prune(data_dir: &Path, retention: Retention, keep: impl Fn(i64) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(jobs_dir(data_dir)) else {
        return Vec::new();
    };
    let mut folders: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| {
            let job = job_of(entry.file_name().to_str()?)?;
            if keep(job) {
                return None;
            }
            let path = entry.path();
            // A folder a crashed agent left unfinished ages from its last change.
            let changed = std::fs::metadata(path.join(FINISHED))
                .or_else(|_| entry.metadata())
                .and_then(|m| m.modified())
                .ok()?;
            Some((changed, path))
        })
        .collect();
    // Newest first: the first `max_folders` young enough stay.
    folders.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    let now = SystemTime::now();
    let mut removed = Vec::new();
    for (i, (changed, path)) in folders.into_iter().enumerate() {
        let age = now.duration_since(changed).unwrap_or_default();
        if i < retention.max_folders && age <= retention.max_age {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Cannot remove an old job folder.")
            }
        }
    }
    if !removed.is_empty() {
        tracing::debug!(removed = removed.len(), "Old job folders removed.");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(data: &Path, job: i64, attempt: i64, finished: bool) -> PathBuf {
        let dir = job_dir(data, job, attempt);
        std::fs::create_dir_all(dir.join("run")).unwrap();
        std::fs::write(dir.join("run/step-001.png"), b"png").unwrap();
        if finished {
            mark_finished(&dir);
        }
        dir
    }

    fn names(data: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(jobs_dir(data))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn only_the_newest_folders_stay_and_kept_jobs_are_never_removed() {
        let data = tempfile::tempdir().unwrap();
        for job in 1..=5 {
            folder(data.path(), job, 1, true);
            // Distinct times, oldest first.
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::write(jobs_dir(data.path()).join("notes.txt"), b"mine").unwrap();
        std::fs::create_dir_all(jobs_dir(data.path()).join("other")).unwrap();
        let retention = Retention {
            max_age: Duration::from_secs(3600),
            max_folders: 2,
        };
        // Job 1 (the oldest) runs again, job 2 still has reports to send.
        let removed = prune(data.path(), retention, |job| job == 1 || job == 2);
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert_eq!(
            names(data.path()),
            ["1-1", "2-1", "4-1", "5-1", "notes.txt", "other"],
            "what is not a job folder is left alone"
        );
    }

    #[test]
    fn zero_folders_or_zero_age_removes_every_finished_folder() {
        let data = tempfile::tempdir().unwrap();
        folder(data.path(), 7, 1, true);
        folder(data.path(), 7, 2, false);
        folder(data.path(), 8, 1, true);
        let keep_none = |_| false;
        let by_count = Retention {
            max_age: Duration::from_secs(3600),
            max_folders: 0,
        };
        assert_eq!(prune(data.path(), by_count, keep_none).len(), 3);
        assert!(names(data.path()).is_empty());

        folder(data.path(), 9, 1, true);
        std::thread::sleep(Duration::from_millis(20));
        let by_age = Retention {
            max_age: Duration::from_millis(1),
            max_folders: 100,
        };
        assert_eq!(prune(data.path(), by_age, keep_none).len(), 1);
        // No jobs folder at all is nothing to do.
        assert!(prune(&data.path().join("none"), by_age, keep_none).is_empty());
    }
}
