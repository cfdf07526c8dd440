//! Errors of the workflow language: where in the file, and what is wrong.

use std::fmt;

use serde_path_to_error::Segment;

/// Marks a message that carries the path of the place inside a step where it arose, so
/// the path survives the hand-written `Step` deserializer: `\u{1}PATH\u{1}MESSAGE`.
const MARK: char = '\u{1}';

/// A message about the field at `path` (relative to the step being parsed).
pub(crate) fn nested_message(path: &str, message: &str) -> String {
    format!("{MARK}{path}{MARK}{message}")
}

/// Splits a message made by `nested_message` into its path and its text.
pub(crate) fn split_nested(message: &str) -> (&str, &str) {
    if let Some(rest) = message.strip_prefix(MARK)
        && let Some((path, text)) = rest.split_once(MARK)
    {
        return (path, text);
    }
    ("", message)
}

/// Renders a path of serde segments as `steps[3].then[0]`.
pub(crate) fn path_string(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Joins two relative paths: `steps[3]` + `then[0].url`.
pub(crate) fn join_paths(outer: &str, inner: &str) -> String {
    match (outer.is_empty(), inner.is_empty()) {
        (true, _) => inner.to_owned(),
        (_, true) => outer.to_owned(),
        _ if inner.starts_with('[') => format!("{outer}{inner}"),
        _ => format!("{outer}.{inner}"),
    }
}

/// Turns an error found while parsing inside a step into a message carrying its full path.
pub(crate) fn join_nested(error: serde_path_to_error::Error<serde_json::Error>) -> String {
    let outer = path_string(error.path());
    let inner = error.into_inner().to_string();
    let (inner_path, text) = split_nested(&inner);
    nested_message(&join_paths(&outer, inner_path), text)
}

/// One problem found in a workflow, at a place named by its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `steps[3].then[0].selector`, or empty for the whole file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A workflow that cannot run: each problem with the file, line and column it is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowError {
    /// The problems, in file order.
    pub problems: Vec<LocatedProblem>,
}

/// A problem and where it is in which file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedProblem {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What and where in the document.
    pub problem: Problem,
}

impl fmt::Display for LocatedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.problem)
    }
}

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WorkflowError {}
