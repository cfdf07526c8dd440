//! Loading workflow files from disk, with the files they `call`, refusing call cycles.

use std::path::{Path, PathBuf};

use super::error::{LocatedProblem, Problem};
use super::parse::place;
use super::source::{MAX_WORKFLOW_BYTES, read_source, strip_bom};
use super::{Action, Step, Workflow, WorkflowError, parse};

/// Decides, before a called workflow file is read, whether it may be: `Err` says why not.
/// Robots refuse files inside alq's own folders this way.
pub type Guard<'a> = &'a dyn Fn(&Path) -> Result<(), String>;

/// What a load may read: inside `root` only (a package), and what `guard` allows.
#[derive(Clone, Copy, Default)]
struct Rules<'a> {
    root: Option<&'a Path>,
    guard: Option<Guard<'a>>,
}

/// A parsed and validated workflow with the place it was read from.
#[derive(Debug, Clone)]
pub struct LoadedWorkflow {
    /// The workflow.
    pub workflow: Workflow,
    /// The file it was read from.
    pub path: PathBuf,
    /// The folder of that file (`workflow.dir` in expressions).
    pub dir: PathBuf,
}

/// Reads, parses and validates a workflow file and every file it calls by a fixed path.
pub fn load(path: &Path) -> Result<LoadedWorkflow, WorkflowError> {
    let mut stack = Vec::new();
    load_checked(path, Rules::default(), &mut stack)
}

/// [`load`], where every file a `call` names is first shown to `guard`; the file at
/// `path` itself is not (the caller chose it).
pub fn load_guarded(path: &Path, guard: Guard<'_>) -> Result<LoadedWorkflow, WorkflowError> {
    let mut stack = Vec::new();
    let rules = Rules {
        root: None,
        guard: Some(guard),
    };
    load_checked(path, rules, &mut stack)
}

/// [`load`] for a workflow inside the package folder `root` (canonical): a `call` whose
/// file is absolute or lies outside `root` is refused without being read.
pub fn load_in(path: &Path, root: &Path) -> Result<LoadedWorkflow, WorkflowError> {
    let mut stack = Vec::new();
    let rules = Rules {
        root: Some(root),
        guard: None,
    };
    load_checked(path, rules, &mut stack)
}

/// Parses and validates a workflow held in memory; `path` is where it is said to live
/// (its folder resolves relative paths and called workflows).
pub fn load_str(path: &Path, source: &str) -> Result<LoadedWorkflow, WorkflowError> {
    let mut stack = Vec::new();
    from_source(path, source, Rules::default(), &mut stack)
}

/// [`load_str`], with the files it calls shown to `guard` first.
pub fn load_str_guarded(
    path: &Path,
    source: &str,
    guard: Guard<'_>,
) -> Result<LoadedWorkflow, WorkflowError> {
    let mut stack = Vec::new();
    let rules = Rules {
        root: None,
        guard: Some(guard),
    };
    from_source(path, source, rules, &mut stack)
}

fn load_checked(
    path: &Path,
    rules: Rules<'_>,
    stack: &mut Vec<PathBuf>,
) -> Result<LoadedWorkflow, WorkflowError> {
    let source = read_source(path, MAX_WORKFLOW_BYTES).map_err(|e| WorkflowError {
        problems: vec![LocatedProblem {
            file: path.display().to_string(),
            line: None,
            column: None,
            problem: Problem::new("", e.reason()),
        }],
    })?;
    from_source(path, &source, rules, stack)
}

/// Whether `target` is a relative path that, joined to `dir`, stays inside `root`, both
/// as written and (when it exists) once symbolic links are followed.
fn stays_inside(root: &Path, dir: &Path, target: &str) -> bool {
    if target.starts_with(['/', '\\']) || target.contains(':') {
        return false;
    }
    let mut inside = PathBuf::new();
    for part in dir.join(target).components() {
        match part {
            std::path::Component::ParentDir => {
                if !inside.pop() {
                    return false;
                }
            }
            std::path::Component::CurDir => {}
            other => inside.push(other),
        }
    }
    inside.starts_with(root)
        && std::fs::canonicalize(&inside).map_or(true, |real| real.starts_with(root))
}

fn from_source(
    path: &Path,
    source: &str,
    rules: Rules<'_>,
    stack: &mut Vec<PathBuf>,
) -> Result<LoadedWorkflow, WorkflowError> {
    // A byte-order mark is read as if it were not there (and so are the places found).
    let source = strip_bom(source);
    let file = path.display().to_string();
    let workflow = parse(&file, source)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    stack.push(canonical);
    let mut problems = Vec::new();
    let mut calls = Vec::new();
    collect_calls(&workflow.steps, "steps", &mut calls);
    for (step_path, target) in calls {
        if let Some(root) = rules.root
            && !stays_inside(root, &dir, &target)
        {
            problems.push(place(
                &file,
                source,
                Problem::new(
                    format!("{step_path}.workflow"),
                    format!("`call` of `{target}` reaches outside the package folder: move that workflow into the folder"),
                ),
            ));
            continue;
        }
        let target_path = dir.join(&target);
        if let Some(guard) = rules.guard
            && let Err(why) = guard(&target_path)
        {
            problems.push(place(
                &file,
                source,
                Problem::new(
                    format!("{step_path}.workflow"),
                    format!("`call` of `{target}`: {why}"),
                ),
            ));
            continue;
        }
        let canonical = std::fs::canonicalize(&target_path).unwrap_or(target_path.clone());
        if let Some(start) = stack.iter().position(|p| *p == canonical) {
            let cycle: Vec<String> = stack[start..]
                .iter()
                .chain([&canonical])
                .map(|p| p.display().to_string())
                .collect();
            problems.push(place(
                &file,
                source,
                Problem::new(
                    format!("{step_path}.workflow"),
                    format!("`call` cycle: {}", cycle.join(" -> ")),
                ),
            ));
            continue;
        }
        if let Err(error) = load_checked(&target_path, rules, stack) {
            problems.push(place(
                &file,
                source,
                Problem::new(
                    format!("{step_path}.workflow"),
                    format!("the called workflow `{target}` is not valid"),
                ),
            ));
            problems.extend(error.problems);
        }
    }
    stack.pop();
    if problems.is_empty() {
        Ok(LoadedWorkflow {
            workflow,
            path: path.to_path_buf(),
            dir,
        })
    } else {
        Err(WorkflowError { problems })
    }
}

/// The `call` steps whose workflow path is fixed (has no expression), with their paths.
fn collect_calls(steps: &[Step], path: &str, out: &mut Vec<(String, String)>) {
    for (i, step) in steps.iter().enumerate() {
        let here = format!("{path}[{i}]");
        if let Action::Call(call) = &step.action
            && !call.workflow.as_str().contains("{{")
        {
            out.push((here.clone(), call.workflow.as_str().to_owned()));
        }
        for (field, children) in step.action.children() {
            collect_calls(children, &format!("{here}.{field}"), out);
        }
    }
}

impl Workflow {
    /// Every step of the workflow, nested ones included, depth first.
    pub fn all_steps(&self) -> Vec<&Step> {
        fn walk<'a>(steps: &'a [Step], out: &mut Vec<&'a Step>) {
            for step in steps {
                out.push(step);
                for (_, children) in step.action.children() {
                    walk(children, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.steps, &mut out);
        out
    }
}
