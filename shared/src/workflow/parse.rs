//! Strict parsing of a workflow file: every error names its place (path, line, column).

use serde_json::error::Category;

use super::check::check;
use super::error::{LocatedProblem, Problem, join_paths, path_string, split_nested};
use super::locate::locate;
use super::{Workflow, WorkflowError, validate};

/// Parses and validates a workflow; `file` names the source in messages. On failure,
/// every problem of the file is listed, in file order.
pub fn parse(file: &str, source: &str) -> Result<Workflow, WorkflowError> {
    // Some Windows editors start UTF-8 files with a byte-order mark: not part of the JSON.
    let source = super::source::strip_bom(source);
    let problems = match parse_only(file, source) {
        Ok(workflow) => {
            let problems = validate(&workflow);
            if problems.is_empty() {
                return Ok(workflow);
            }
            problems
        }
        Err(first) => match serde_json::from_str(source) {
            // The first data error may come before a syntax error further down.
            Err(syntax) => {
                return Err(WorkflowError {
                    problems: vec![syntax_problem(file, &syntax)],
                });
            }
            Ok(root) => all_problems(&root).ok_or(first)?,
        },
    };
    let mut problems: Vec<LocatedProblem> = problems
        .into_iter()
        .map(|p| place(file, source, p))
        .collect();
    // Stable: problems at one place keep the order they were found in.
    problems.sort_by_key(|p| (p.line, p.column));
    Err(WorkflowError { problems })
}

/// Every problem of a file the strict parse refused: the structural ones, then the
/// semantic ones of what is left. `None` when the walk finds nothing (the strict
/// parser's error, e.g. a duplicate key or bad JSON, then stands alone).
fn all_problems(root: &serde_json::Value) -> Option<Vec<Problem>> {
    let checked = check(root);
    if checked.problems.is_empty() {
        return None;
    }
    let mut problems = checked.problems;
    if let Some(workflow) = &checked.repaired {
        let invented = |path: &str| {
            checked.filled.iter().any(|filled| {
                path == filled
                    || path
                        .strip_prefix(filled.as_str())
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            })
        };
        problems.extend(
            validate(workflow)
                .into_iter()
                .filter(|p| !invented(&p.path)),
        );
    }
    Some(problems)
}

/// Locates a problem found after parsing in the source text.
pub(crate) fn place(file: &str, source: &str, problem: Problem) -> LocatedProblem {
    let position = locate(source, &problem.path);
    LocatedProblem {
        file: file.to_owned(),
        line: position.map(|p| p.0),
        column: position.map(|p| p.1),
        problem,
    }
}

fn parse_only(file: &str, source: &str) -> Result<Workflow, WorkflowError> {
    let mut deserializer = serde_json::Deserializer::from_str(source);
    let result = serde_path_to_error::deserialize::<_, Workflow>(&mut deserializer)
        .map_err(|e| (path_string(e.path()), e.into_inner()))
        .and_then(|workflow| {
            deserializer
                .end()
                .map(|()| workflow)
                .map_err(|e| (String::new(), e))
        });
    result.map_err(|(outer, inner)| {
        let located = match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => syntax_problem(file, &inner),
            Category::Data => {
                let message = without_position(&inner);
                let (nested, text) = split_nested(&message);
                let path = join_paths(&outer, nested);
                place(file, source, Problem::new(path, text))
            }
        };
        WorkflowError {
            problems: vec![located],
        }
    })
}

/// A JSON syntax error, at its line and column.
fn syntax_problem(file: &str, error: &serde_json::Error) -> LocatedProblem {
    LocatedProblem {
        file: file.to_owned(),
        line: Some(error.line()),
        column: Some(error.column()),
        problem: Problem::new("", format!("invalid JSON: {}", without_position(error))),
    }
}

/// serde_json's message without its " at line L column C" tail (we place errors ourselves).
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) if error.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}
