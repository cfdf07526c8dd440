//! Strict parsing of a workflow file: every error names its place (path, line, column).

use serde_json::error::Category;

use super::error::{LocatedProblem, Problem, join_paths, path_string, split_nested};
use super::locate::locate;
use super::{Workflow, WorkflowError, validate};

/// Parses and validates a workflow; `file` names the source in messages.
pub fn parse(file: &str, source: &str) -> Result<Workflow, WorkflowError> {
    let workflow = parse_only(file, source)?;
    let problems = validate(&workflow);
    if problems.is_empty() {
        Ok(workflow)
    } else {
        let mut problems: Vec<LocatedProblem> = problems
            .into_iter()
            .map(|p| place(file, source, p))
            .collect();
        problems.sort_by_key(|p| (p.line, p.column));
        Err(WorkflowError { problems })
    }
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
            Category::Syntax | Category::Eof | Category::Io => LocatedProblem {
                file: file.to_owned(),
                line: Some(inner.line()),
                column: Some(inner.column()),
                problem: Problem::new("", format!("invalid JSON: {}", without_position(&inner))),
            },
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

/// serde_json's message without its " at line L column C" tail (we place errors ourselves).
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) if error.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}
