//! The checks a package folder must pass: the workflow is valid, every workflow it
//! `call`s by a fixed path is in the package, and no path that can be read without
//! running the workflow leads outside the package folder.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::{Limits, PackageError};
use crate::workflow::{LoadedWorkflow, SourceError, load_in, read_source};

/// Step fields that hold a file path relative to the workflow's folder.
const PATH_FIELDS: &[&str] = &["path", "from", "to", "dir", "file", "files", "attachments"];

/// Checks the folder `root` (canonical) whose workflow file is `entry`; `files` are the
/// package's files (`/`-separated). Answers the loaded workflow.
///
/// The references are checked first, reading only files of the package, and a package
/// with a reference that leads outside it is refused before the workflow is loaded: a
/// `call` of `/dev/zero` or `../../etc/passwd` is never read. Workflow files over
/// `limits.max_workflow_bytes` are refused unread.
pub fn check_dir(
    root: &Path,
    entry: &str,
    files: &[String],
    limits: &Limits,
) -> Result<LoadedWorkflow, PackageError> {
    let files: BTreeSet<&str> = files.iter().map(String::as_str).collect();
    let mut problems = Vec::new();
    if !files.contains(entry) {
        problems.push(format!(
            "the workflow file `{entry}` is left out by {}",
            super::IGNORE_FILE
        ));
    }
    let mut queue = vec![entry.to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(file) = queue.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let path = root.join(&file);
        let io = |source| PackageError::Io {
            path: path.clone(),
            source,
        };
        let source = match read_source(&path, limits.max_workflow_bytes) {
            Ok(source) => source,
            Err(SourceError::TooLarge { size, limit, .. }) => {
                return Err(PackageError::WorkflowTooLarge {
                    file,
                    actual: size,
                    limit,
                });
            }
            Err(SourceError::Io { source, .. }) => return Err(io(source)),
            Err(other) => {
                return Err(PackageError::BadWorkflowFile {
                    file,
                    reason: other.reason(),
                });
            }
        };
        let Ok(value) = serde_json::from_str::<Value>(&source) else {
            continue; // `load` reports it
        };
        let dir: Vec<String> = parts(&file);
        let dir = dir[..dir.len().saturating_sub(1)].to_vec();
        let mut check = Checker {
            file: &file,
            dir: &dir,
            files: &files,
            problems: &mut problems,
            calls: Vec::new(),
        };
        check.value(&value, "");
        queue.extend(check.calls);
    }
    if !problems.is_empty() {
        return Err(PackageError::References(problems));
    }
    Ok(load_in(&root.join(entry), root)?)
}

struct Checker<'a> {
    file: &'a str,
    dir: &'a [String],
    files: &'a BTreeSet<&'a str>,
    problems: &'a mut Vec<String>,
    calls: Vec<String>,
}

impl Checker<'_> {
    fn value(&mut self, value: &Value, path: &str) {
        match value {
            Value::String(text) => self.dir_references(text, path),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(item, &format!("{path}[{i}]"));
                }
            }
            Value::Object(map) => {
                let is_step = map.get("action").is_some_and(Value::is_string);
                for (key, item) in map {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if is_step && PATH_FIELDS.contains(&key.as_str()) {
                        self.literal_paths(item, &here);
                    }
                    self.value(item, &here);
                }
                if map.get("action").and_then(Value::as_str) == Some("call")
                    && let Some(target) = map.get("workflow").and_then(Value::as_str)
                    && !target.contains("{{")
                {
                    self.call(target, &format!("{path}.workflow"));
                }
            }
            _ => {}
        }
    }

    fn problem(&mut self, path: &str, text: String) {
        self.problems.push(format!("{} {path}: {text}", self.file));
    }

    fn call(&mut self, target: &str, path: &str) {
        if target.starts_with('/') || target.contains(':') {
            self.problem(
                path,
                format!("`call` of `{target}`: a package can only call workflow files inside it; use a path relative to this file"),
            );
            return;
        }
        match resolve(self.dir, target) {
            None => self.problem(
                path,
                format!("`call` of `{target}` reaches outside the package folder: move that workflow into the folder"),
            ),
            Some(name) if !self.files.contains(name.as_str()) => self.problem(
                path,
                format!("`call` of `{target}`: `{name}` is left out of the package (by {}?)", super::IGNORE_FILE),
            ),
            Some(name) => self.calls.push(name),
        }
    }

    /// A fixed relative path in a file field that climbs out of the package.
    fn literal_paths(&mut self, value: &Value, path: &str) {
        let texts: Vec<(String, &str)> = match value {
            Value::String(text) => vec![(path.to_owned(), text.as_str())],
            Value::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_str().map(|t| (format!("{path}[{i}]"), t)))
                .collect(),
            _ => Vec::new(),
        };
        for (here, text) in texts {
            if text.contains("{{") || text.starts_with('/') || text.contains(':') {
                continue;
            }
            if resolve(self.dir, text).is_none() {
                self.problem(
                    &here,
                    format!("`{text}` reaches outside the package folder: keep the files a workflow reads inside its folder"),
                );
            }
        }
    }

    /// `{{ workflow.dir }}/../x`: a path built on the workflow's folder that leaves it.
    fn dir_references(&mut self, text: &str, path: &str) {
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { return };
            let expression = after[..end].trim();
            rest = &after[end + 2..];
            if expression != "workflow.dir" {
                continue;
            }
            let tail: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '{' | '?' | '#'))
                .collect();
            let Some(relative) = tail.strip_prefix('/') else {
                continue;
            };
            if resolve(self.dir, relative).is_none() {
                self.problem(
                    path,
                    format!("`{{{{ workflow.dir }}}}{tail}` reaches outside the package folder: move the file into the folder"),
                );
            }
        }
    }
}

fn parts(path: &str) -> Vec<String> {
    path.split(['/', '\\'])
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `relative` joined to the folder `dir` (both inside the package), as a package path;
/// `None` when it climbs above the package folder.
fn resolve(dir: &[String], relative: &str) -> Option<String> {
    let mut stack: Vec<String> = dir.to_vec();
    for part in relative.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                stack.pop()?;
            }
            other => stack.push(other.to_owned()),
        }
    }
    Some(stack.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_stays_inside_or_says_none() {
        let dir = vec!["sub".to_owned()];
        assert_eq!(resolve(&dir, "a.json").as_deref(), Some("sub/a.json"));
        assert_eq!(resolve(&dir, "../a.json").as_deref(), Some("a.json"));
        assert_eq!(resolve(&dir, "./x/../b").as_deref(), Some("sub/b"));
        assert_eq!(resolve(&dir, "../../a.json"), None);
        assert_eq!(resolve(&[], "..\\x"), None);
    }
}
