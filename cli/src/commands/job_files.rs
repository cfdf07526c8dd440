//! `alq job artifacts ID --out DIR` and `alq job report ID [--out FILE]`: a job's
//! screenshots and files as its robot uploaded them, and the same self-contained
//! `report.html` as `alq run` writes, built from the job's events and screenshots.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use alq_robot::engine::report::{self, Screenshots};
use alq_shared::client::Client;
use alq_shared::events::RunEvent;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::EXIT_FAILED;
use super::output;
use super::remote::{Failure, Outcome};

fn failed(message: String) -> Failure {
    Failure {
        code: EXIT_FAILED,
        message,
    }
}

/// Fetches one artifact and checks that its bytes are the ones its hash names.
async fn download(client: &Client, job: &str, sha256: &str) -> Result<Vec<u8>, Failure> {
    let bytes = client.job_artifact(job, sha256).await?;
    checked(job, sha256, bytes)
}

fn checked(job: &str, sha256: &str, bytes: Vec<u8>) -> Result<Vec<u8>, Failure> {
    if hex::encode(Sha256::digest(&bytes)) != sha256 {
        return Err(failed(format!(
            "artifact {sha256} of job {job} arrived damaged (its bytes do not match its SHA-256); try again"
        )));
    }
    Ok(bytes)
}

/// `alq job artifacts ID --out DIR`: every artifact of the job, under its name.
pub async fn artifacts(client: &Client, id: &str, out: &Path, as_json: bool) -> Outcome {
    // The job first: a wrong id (or another tenant's job) is a clear 404 before any file.
    client.get_job(id).await?;
    let listed = client.job_artifacts(id).await?;
    let items = listed["items"].as_array().cloned().unwrap_or_default();
    std::fs::create_dir_all(out)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", out.display())))?;
    let mut taken = HashSet::new();
    let mut saved = Vec::new();
    for item in &items {
        let sha256 = output::cell(item, "sha256");
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(failed(format!(
                "the server listed an artifact of job {id} without a valid SHA-256: {item}"
            )));
        }
        let bytes = download(client, id, &sha256).await?;
        let content_type = output::cell(item, "content_type");
        let name = file_name(
            &output::cell(item, "name"),
            &sha256,
            &content_type,
            &mut taken,
        );
        let path = out.join(&name);
        std::fs::write(&path, &bytes)
            .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))?;
        saved.push(json!({
            "name": name, "path": path, "sha256": sha256,
            "size": bytes.len(), "content_type": content_type,
        }));
    }
    if as_json {
        output::json(&json!({ "job": id, "dir": out, "files": saved }));
    } else if saved.is_empty() {
        println!("Job {id} has no artifacts (yet).");
    } else {
        let total: u64 = saved.iter().filter_map(|f| f["size"].as_u64()).sum();
        println!(
            "Saved {} artifact(s) of job {id} ({total} bytes) to {}:",
            saved.len(),
            out.display()
        );
        for file in &saved {
            println!("  {}  {} bytes", output::cell(file, "name"), file["size"]);
        }
    }
    Ok(0)
}

/// A safe file name for an artifact: the last part of the name the robot gave it, in
/// letters, digits, `.`, `_` and `-` only (nothing can leave the folder), made unique
/// with a piece of its hash.
fn file_name(name: &str, sha256: &str, content_type: &str, taken: &mut HashSet<String>) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .chars()
        .take(120)
        .collect();
    if clean.is_empty() {
        let extension = match content_type {
            "image/png" => ".png",
            "image/jpeg" => ".jpg",
            "text/plain" => ".txt",
            "application/json" => ".json",
            "text/csv" => ".csv",
            "application/pdf" => ".pdf",
            _ => "",
        };
        clean = format!("artifact-{}{extension}", &sha256[..12]);
    }
    if !taken.insert(clean.clone()) {
        let (stem, extension) = match clean.rfind('.') {
            Some(dot) if dot > 0 => clean.split_at(dot),
            _ => (clean.as_str(), ""),
        };
        clean = format!("{stem}-{}{extension}", &sha256[..12]);
        taken.insert(clean.clone());
    }
    clean
}

/// `alq job report ID [--out FILE] [--attempt N]`.
pub async fn report(
    client: &Client,
    id: &str,
    out: Option<PathBuf>,
    attempt: Option<i64>,
    as_json: bool,
) -> Outcome {
    let job = client.get_job(id).await?;
    let state = output::cell(&job, "state");
    let items = client.all_job_events(id, None).await?;
    let last = items.iter().filter_map(|e| e["attempt"].as_i64()).max();
    let Some(attempt) = attempt.or(last) else {
        return Err(failed(format!(
            "job {id} ({state}) has no step events yet: no robot reported a run of it, so there is nothing to report"
        )));
    };
    let mut items: Vec<&Value> = items.iter().filter(|e| e["attempt"] == attempt).collect();
    if items.is_empty() {
        return Err(failed(format!(
            "job {id} has no events of attempt {attempt} (the last attempt with events is {})",
            last.map_or_else(|| "none".to_owned(), |a| a.to_string())
        )));
    }
    items.sort_by_key(|e| e["seq"].as_i64());
    // Each screenshot by the name its event gives it, fetched once per hash.
    let mut by_hash: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut shots: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        let event = &item["event"];
        if let (Some(name), Some(sha256)) = (
            event["screenshot"].as_str(),
            event["screenshot_sha256"].as_str(),
        ) {
            if !by_hash.contains_key(sha256) {
                let bytes = match client.job_artifact(id, sha256).await {
                    Ok(bytes) => checked(id, sha256, bytes)?,
                    // Not uploaded (yet): the report shows the step without its picture.
                    Err(e) if e.status() == Some(404) => Vec::new(),
                    Err(e) => return Err(e.into()),
                };
                by_hash.insert(sha256.to_owned(), bytes);
            }
            if let Some(bytes) = by_hash.get(sha256).filter(|b| !b.is_empty()) {
                shots.insert(name.to_owned(), bytes.clone());
            }
        }
        // An event this alq does not know (a newer robot) is left out, not fatal.
        if let Ok(event) = serde_json::from_value::<RunEvent>(event.clone()) {
            events.push(event);
        }
    }
    let workflow = output::cell(&job, "workflow.name");
    let html = report::render_with(&workflow, &events, Screenshots::Bytes(&shots));
    let path = out.unwrap_or_else(|| PathBuf::from(format!("job-{id}-report.html")));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failure::usage(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(&path, html)
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    if as_json {
        output::json(&json!({
            "job": id, "attempt": attempt, "state": state, "path": path,
            "steps": events.iter().filter(|e| matches!(e, RunEvent::StepStarted { .. })).count(),
            "screenshots": shots.len(),
        }));
    } else {
        println!(
            "Wrote the report of job {id} ({workflow}, {state}, attempt {attempt}) to {}.",
            path.display()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_names_stay_in_the_folder_and_do_not_collide() {
        let sha = "ab".repeat(32);
        let other = "cd".repeat(32);
        let mut taken = HashSet::new();
        assert_eq!(
            file_name("step-003-browser.click.png", &sha, "image/png", &mut taken),
            "step-003-browser.click.png"
        );
        assert_eq!(
            file_name(
                "step-003-browser.click.png",
                &other,
                "image/png",
                &mut taken
            ),
            "step-003-browser.click-cdcdcdcdcdcd.png"
        );
        assert_eq!(
            file_name("../../etc/passwd", &sha, "", &mut taken),
            "passwd"
        );
        assert_eq!(
            file_name("..\\..\\x y.txt", &sha, "", &mut taken),
            "x_y.txt"
        );
        assert_eq!(
            file_name("..", &sha, "image/png", &mut taken),
            "artifact-abababababab.png"
        );
        assert_eq!(
            file_name("", &other, "", &mut taken),
            "artifact-cdcdcdcdcdcd"
        );
    }
}
