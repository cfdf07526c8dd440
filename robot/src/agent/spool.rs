//! The on-disk spool: step events and artifacts are written here first, then sent to the
//! control plane in order and removed once it has them. It survives restarts and network
//! outages, so no report is lost; the control plane ignores replays, so sending twice is
//! harmless.
//!
//! Layout: `<dir>/<job id>/events/<seq, 12 digits>.json` and
//! `<dir>/<job id>/artifacts/<sha256>` with `<sha256>.meta.json` beside it. Every file is
//! written to a temporary name and renamed, so a crash never leaves half a file.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An artifact waiting to be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactMeta {
    /// SHA-256 of the bytes, in hex.
    pub sha256: String,
    /// Its file name, e.g. `step-003-browser.click.png`.
    pub name: String,
    /// Its media type.
    pub content_type: String,
}

/// The spool of one robot.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn missing_ok(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

impl Spool {
    /// Opens (creating) the spool in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Spool> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Spool { dir })
    }

    fn job_dir(&self, job: i64) -> PathBuf {
        self.dir.join(job.to_string())
    }

    /// Records the lease token the job's reports are sent with (kept across restarts).
    pub fn set_lease(&self, job: i64, lease_token: i64) -> io::Result<()> {
        let dir = self.job_dir(job);
        std::fs::create_dir_all(&dir)?;
        write_atomic(&dir.join("lease"), lease_token.to_string().as_bytes())
    }

    /// The lease token of a job's reports, when recorded.
    pub fn lease(&self, job: i64) -> Option<i64> {
        std::fs::read_to_string(self.job_dir(job).join("lease"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Stores step event `seq` of a job.
    pub fn push_event(&self, job: i64, seq: u64, event: &Value) -> io::Result<()> {
        let dir = self.job_dir(job).join("events");
        std::fs::create_dir_all(&dir)?;
        let bytes = serde_json::to_vec(event).map_err(io::Error::other)?;
        write_atomic(&dir.join(format!("{seq:012}.json")), &bytes)
    }

    /// Stores an artifact of a job under its SHA-256 (the same bytes twice are one file).
    pub fn push_artifact(
        &self,
        job: i64,
        sha256: &str,
        bytes: &[u8],
        name: &str,
        content_type: &str,
    ) -> io::Result<()> {
        let dir = self.job_dir(job).join("artifacts");
        std::fs::create_dir_all(&dir)?;
        write_atomic(&dir.join(sha256), bytes)?;
        let meta = ArtifactMeta {
            sha256: sha256.to_owned(),
            name: name.to_owned(),
            content_type: content_type.to_owned(),
        };
        let meta = serde_json::to_vec(&meta).map_err(io::Error::other)?;
        write_atomic(&dir.join(format!("{sha256}.meta.json")), &meta)
    }

    /// The jobs with something left to send, oldest id first.
    pub fn jobs(&self) -> io::Result<Vec<i64>> {
        let mut jobs: Vec<i64> = std::fs::read_dir(&self.dir)?
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        jobs.sort_unstable();
        Ok(jobs)
    }

    /// Up to `max` unsent events of a job, in `seq` order.
    pub fn events(&self, job: i64, max: usize) -> io::Result<Vec<(u64, Value)>> {
        let dir = self.job_dir(job).join("events");
        let mut seqs: Vec<u64> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| {
                    e.ok()?
                        .file_name()
                        .to_str()?
                        .strip_suffix(".json")?
                        .parse()
                        .ok()
                })
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        seqs.sort_unstable();
        seqs.truncate(max);
        seqs.into_iter()
            .map(|seq| {
                let bytes = std::fs::read(dir.join(format!("{seq:012}.json")))?;
                let value = serde_json::from_slice(&bytes).map_err(io::Error::other)?;
                Ok((seq, value))
            })
            .collect()
    }

    /// Forgets events the control plane has acknowledged.
    pub fn ack_events(&self, job: i64, seqs: &[u64]) -> io::Result<()> {
        let dir = self.job_dir(job).join("events");
        for seq in seqs {
            missing_ok(std::fs::remove_file(dir.join(format!("{seq:012}.json"))))?;
        }
        Ok(())
    }

    /// The unsent artifacts of a job.
    pub fn artifacts(&self, job: i64) -> io::Result<Vec<ArtifactMeta>> {
        let dir = self.job_dir(job).join("artifacts");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut metas = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.to_string_lossy().ends_with(".meta.json") {
                let meta: ArtifactMeta =
                    serde_json::from_slice(&std::fs::read(&path)?).map_err(io::Error::other)?;
                metas.push(meta);
            }
        }
        metas.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(metas)
    }

    /// The bytes of an unsent artifact.
    pub fn artifact_bytes(&self, job: i64, sha256: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.job_dir(job).join("artifacts").join(sha256))
    }

    /// Forgets an artifact the control plane has.
    pub fn ack_artifact(&self, job: i64, sha256: &str) -> io::Result<()> {
        let dir = self.job_dir(job).join("artifacts");
        missing_ok(std::fs::remove_file(
            dir.join(format!("{sha256}.meta.json")),
        ))?;
        missing_ok(std::fs::remove_file(dir.join(sha256)))
    }

    /// Forgets everything of a job: all sent, or the job is no longer ours to report.
    pub fn forget(&self, job: i64) -> io::Result<()> {
        match std::fs::remove_dir_all(self.job_dir(job)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Whether nothing of a job is left to send.
    pub fn is_drained(&self, job: i64) -> io::Result<bool> {
        Ok(self.events(job, 1)?.is_empty() && self.artifacts(job)?.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_come_back_in_order_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        for seq in [3, 1, 10, 2] {
            spool.push_event(7, seq, &json!({ "seq": seq })).unwrap();
        }
        spool.push_event(5, 1, &json!({})).unwrap();
        // A new process sees the same spool.
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        assert_eq!(spool.jobs().unwrap(), vec![5, 7]);
        let seqs: Vec<u64> = spool
            .events(7, 3)
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        spool.ack_events(7, &[1, 2, 3]).unwrap();
        assert_eq!(
            spool.events(7, 10).unwrap(),
            vec![(10, json!({ "seq": 10 }))]
        );
        spool.ack_events(7, &[10, 11]).unwrap();
        assert!(spool.is_drained(7).unwrap());
    }

    #[test]
    fn artifacts_are_kept_with_their_metadata_until_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        spool
            .push_artifact(1, "abc", b"png bytes", "step-001-x.png", "image/png")
            .unwrap();
        spool
            .push_artifact(1, "abc", b"png bytes", "step-001-x.png", "image/png")
            .unwrap();
        let metas = spool.artifacts(1).unwrap();
        assert_eq!(metas.len(), 1);
        assert_eq!(metas[0].content_type, "image/png");
        assert_eq!(spool.artifact_bytes(1, "abc").unwrap(), b"png bytes");
        spool.ack_artifact(1, "abc").unwrap();
        spool.ack_artifact(1, "abc").unwrap();
        assert!(spool.is_drained(1).unwrap());
        spool.push_event(1, 1, &json!(1)).unwrap();
        spool.set_lease(1, 42).unwrap();
        assert_eq!(spool.lease(1), Some(42));
        spool.forget(1).unwrap();
        assert_eq!(spool.lease(1), None);
        assert!(spool.jobs().unwrap().is_empty());
    }
}
