//! Finds every structural problem of a workflow file, not only the first.
//!
//! serde stops at the first unknown field or wrong type. When the strict parse fails,
//! the file is walked as plain JSON instead: each part (the top level, each step's
//! common fields, each action's fields) is parsed on its own, and after each error the
//! member that caused it is taken out (or a missing one filled in) and the part parsed
//! again, so one run names every problem. Nested steps are walked the same way. What is
//! left is a repaired copy of the file that parses, so the semantic checks can run on
//! it too; problems at places the repair invented are dropped.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::error::{join_paths, path_string, split_nested};
use super::locate::{Segment, segments};
use super::step::unknown_action;
use super::{Action, COMMON_FIELDS, Problem, StepCommon, Workflow, json_type_name};
use crate::workflow::actions::step_list_fields;

/// How many errors one part (a step's fields, the top level) may have before the walk
/// gives up on it: each round removes a member, so this only bounds a pathological file.
const MAX_ROUNDS: usize = 256;

/// The structural problems of a workflow held as JSON, in walk order, and the repaired
/// workflow (when the repair parses) for the semantic checks.
pub(crate) struct Checked {
    pub(crate) problems: Vec<Problem>,
    pub(crate) repaired: Option<Workflow>,
    /// Paths of members the repair filled in, and of steps whose action it had to guess:
    /// semantic problems there (or below) are the repair's, not the user's.
    pub(crate) filled: HashSet<String>,
}

/// Walks a whole workflow.
pub(crate) fn check(root: &Value) -> Checked {
    let mut walker = Walker::default();
    let repaired = walker.workflow(root);
    Checked {
        problems: walker.problems,
        repaired: repaired.and_then(|value| serde_json::from_value(value).ok()),
        filled: walker.filled,
    }
}

#[derive(Default)]
struct Walker {
    problems: Vec<Problem>,
    filled: HashSet<String>,
}

type Attempt<T> = Result<T, serde_path_to_error::Error<serde_json::Error>>;

impl Walker {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn workflow(&mut self, root: &Value) -> Option<Value> {
        let Value::Object(fields) = root else {
            self.problem(
                "",
                format!(
                    "a workflow is a JSON object with `name` and `steps`, not {}",
                    json_type_name(root)
                ),
            );
            return None;
        };
        let mut top = fields.clone();
        let steps = match top.remove("steps") {
            Some(Value::Array(steps)) => self.steps(&steps, "steps"),
            Some(other) => {
                self.problem(
                    "steps",
                    format!(
                        "invalid type: {}, expected a list of steps",
                        json_type_name(&other)
                    ),
                );
                Vec::new()
            }
            None => {
                self.problem("", "missing field `steps`");
                Vec::new()
            }
        };
        top.insert("steps".into(), Value::Array(Vec::new()));
        let mut top = Value::Object(top);
        let parsed = self.repair(
            &mut top,
            "",
            "",
            serde_path_to_error::deserialize::<_, Workflow>,
            |field| (field == "name").then(|| Value::String("workflow".into())),
        );
        let Value::Object(mut top) = top else {
            return None;
        };
        top.insert("steps".into(), Value::Array(steps));
        parsed.map(|_| Value::Object(top))
    }

    fn steps(&mut self, steps: &[Value], path: &str) -> Vec<Value> {
        steps
            .iter()
            .enumerate()
            .map(|(i, step)| self.step(step, &format!("{path}[{i}]")))
            .collect()
    }

    /// Checks one step and its nested steps; returns a step that parses in its place.
    fn step(&mut self, value: &Value, here: &str) -> Value {
        let Value::Object(fields) = value else {
            self.problem(
                here,
                format!(
                    "invalid type: {}, expected a step (an object with `action`)",
                    json_type_name(value)
                ),
            );
            return placeholder(None, Map::new(), Map::new());
        };
        let mut fields = fields.clone();
        let action = fields.remove("action");
        let mut common = Map::new();
        for key in COMMON_FIELDS {
            if let Some(value) = fields.remove(*key) {
                common.insert((*key).to_owned(), value);
            }
        }
        let mut common = Value::Object(common);
        self.repair(
            &mut common,
            here,
            "",
            serde_path_to_error::deserialize::<_, StepCommon>,
            |_| None,
        );
        let common = match common {
            Value::Object(common) => common,
            _ => Map::new(),
        };

        let name = match action {
            Some(Value::String(name)) if Action::NAMES.contains(&name.as_str()) => name,
            other => {
                match other {
                    None => self.problem(here, "missing field `action`"),
                    Some(Value::String(name)) => {
                        let message = unknown_action(&name);
                        let (_, text) = split_nested(&message);
                        self.problem(format!("{here}.action"), text);
                    }
                    Some(_) => self.problem(format!("{here}.action"), "must be a string"),
                }
                // The action is unknown, but steps nested under the usual names are
                // still checked (and their ids still count for references). What the
                // real action would put in scope (a loop variable) is unknown, so the
                // semantic checks below this step are left out.
                self.filled.insert(here.to_owned());
                let mut lists = Map::new();
                let like = if fields.contains_key("then") || fields.contains_key("else") {
                    "if"
                } else {
                    "try"
                };
                for field in step_list_fields(like) {
                    if let Some(Value::Array(children)) = fields.get(*field) {
                        let children = self.steps(children, &format!("{here}.{field}"));
                        lists.insert((*field).to_owned(), Value::Array(children));
                    }
                }
                return placeholder(Some(like).filter(|_| !lists.is_empty()), common, lists);
            }
        };

        let list_fields = step_list_fields(&name);
        let mut lists = Map::new();
        for field in list_fields {
            if let Some(Value::Array(children)) = fields.get(*field) {
                let children = self.steps(children, &format!("{here}.{field}"));
                lists.insert((*field).to_owned(), Value::Array(children));
                fields.insert((*field).to_owned(), Value::Array(Vec::new()));
            }
        }
        let mut args = Value::Object(fields);
        let suffix = format!(" (of the `{name}` step)");
        let parsed = self.repair(
            &mut args,
            here,
            &suffix,
            |value| match Action::from_fields(&name, value) {
                Some(result) => result,
                // `name` is one of `Action::NAMES`, so this does not happen; if it did,
                // the step would fail to parse (null is no action's fields).
                None => serde_path_to_error::deserialize(Value::Null).map(Action::Log),
            },
            |field| {
                Some(if list_fields.contains(&field) {
                    Value::Array(Vec::new())
                } else {
                    Value::String(String::new())
                })
            },
        );
        match (parsed, args) {
            (Some(_), Value::Object(mut args)) => {
                args.extend(lists);
                let mut step = Map::new();
                step.insert("action".into(), Value::String(name));
                step.extend(common);
                step.extend(args);
                Value::Object(step)
            }
            _ => placeholder(
                Some(name.as_str()).filter(|n| !step_list_fields(n).is_empty()),
                common,
                lists,
            ),
        }
    }

    /// Parses `value` with `parse`; after each error, records it (at `base` + the
    /// error's path) and takes out the member that caused it, or fills in a missing one
    /// with what `fill` gives, then tries again. `None` when the part cannot be made to
    /// parse; `value` is then what was left of it.
    fn repair<T>(
        &mut self,
        value: &mut Value,
        base: &str,
        unknown_suffix: &str,
        parse: impl Fn(Value) -> Attempt<T>,
        fill: impl Fn(&str) -> Option<Value>,
    ) -> Option<T> {
        let mut removed: HashSet<String> = HashSet::new();
        let mut unknown: Vec<String> = Vec::new();
        for _ in 0..MAX_ROUNDS {
            let error = match parse(value.clone()) {
                Ok(parsed) => return Some(parsed),
                Err(error) => error,
            };
            let outer = path_string(error.path());
            let message = error.into_inner().to_string();
            let (nested, text) = split_nested(&message);
            let at = join_paths(&outer, nested);
            let missing = missing_field(text);
            let culprit = match missing {
                Some(field) => join_paths(&at, field),
                None => at.clone(),
            };
            let full = |path: &str| join_paths(base, path);
            // A field the repair took out or filled in is missing or mistyped because
            // of the repair; a field missing right after a similar unknown one is the
            // same mistake (a typo), already named with the expected fields.
            let ours = removed.contains(&culprit) || self.filled.contains(&full(&culprit));
            let typo = missing.is_some_and(|field| {
                unknown
                    .iter()
                    .any(|name| strsim::jaro_winkler(name, field) > 0.8)
            });
            if !ours && !typo {
                let mut text = text.to_owned();
                if text.starts_with("unknown field") {
                    text.push_str(unknown_suffix);
                }
                self.problem(full(&at), text);
            }
            if let Some(field) = missing {
                let at_top = at.is_empty();
                if at_top
                    && !self.filled.contains(&full(field))
                    && let (Some(filler), Value::Object(map)) = (fill(field), &mut *value)
                {
                    map.insert(field.to_owned(), filler);
                    self.filled.insert(full(field));
                    continue;
                }
                // A nested object that lacks a field goes as a whole.
                if at_top || !remove(value, &at) {
                    return None;
                }
                removed.insert(member(&at));
                continue;
            }
            if text.starts_with("unknown field")
                && let Some(Segment::Key(key)) = segments(&at).last()
            {
                unknown.push((*key).to_owned());
            }
            let target = member(&culprit);
            if target.is_empty() || !remove(value, &target) {
                return None;
            }
            removed.insert(target.clone());
            if target != culprit {
                removed.insert(culprit);
            }
        }
        None
    }
}

/// The field named by a serde "missing field `x`" message.
fn missing_field(text: &str) -> Option<&str> {
    text.strip_prefix("missing field `")?.split('`').next()
}

/// The path of the object member that holds `path`: list indices at the end are cut, so
/// a bad element takes its whole list out (removing one element would renumber the rest).
fn member(path: &str) -> String {
    let mut path = path;
    while path.ends_with(']') {
        match path.rfind('[') {
            Some(at) => path = &path[..at],
            None => break,
        }
    }
    path.to_owned()
}

/// Removes the object member at `path` (which ends with a key); whether it was there.
fn remove(value: &mut Value, path: &str) -> bool {
    let parts = segments(path);
    let Some((Segment::Key(last), parents)) = parts.split_last() else {
        return false;
    };
    let mut current = value;
    for part in parents {
        let next = match (part, current) {
            (Segment::Key(key), Value::Object(map)) => map.get_mut(*key),
            (Segment::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(next) => current = next,
            None => return false,
        }
    }
    match current {
        Value::Object(map) => map.remove(*last).is_some(),
        _ => false,
    }
}

/// A step that parses, standing in for one that does not: a control step keeps its
/// nested steps (so their ids and paths stay), anything else becomes an empty `log`.
fn placeholder(
    control: Option<&str>,
    common: Map<String, Value>,
    lists: Map<String, Value>,
) -> Value {
    let empty = || Value::Array(Vec::new());
    let text = |s: &str| Value::String(s.to_owned());
    let fields: Vec<(&str, Value)> = match control {
        Some("if") => vec![
            ("action", text("if")),
            ("condition", text("true")),
            ("then", empty()),
        ],
        Some("while") => vec![
            ("action", text("while")),
            ("condition", text("false")),
            ("steps", empty()),
        ],
        Some("for_each") => vec![
            ("action", text("for_each")),
            ("items", empty()),
            ("steps", empty()),
        ],
        Some("try") => vec![("action", text("try")), ("steps", empty())],
        _ => vec![("action", text("log")), ("message", text(""))],
    };
    let mut step: Map<String, Value> = fields
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    step.extend(common);
    step.extend(lists);
    Value::Object(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(source: &str) -> Vec<String> {
        match crate::workflow::parse("wf.json", source) {
            Ok(_) => Vec::new(),
            Err(error) => error
                .problems
                .iter()
                .map(|p| p.problem.to_string())
                .collect(),
        }
    }

    #[test]
    fn list_fields_are_the_fields_children_names() {
        let cases = [
            ("if", r#"{"condition": "true", "then": [], "else": []}"#),
            ("for_each", r#"{"items": [], "steps": []}"#),
            ("while", r#"{"condition": "true", "steps": []}"#),
            ("try", r#"{"steps": [], "catch": [], "finally": []}"#),
        ];
        for (name, fields) in cases {
            let value = serde_json::from_str(fields).expect("JSON");
            let action = Action::from_fields(name, value)
                .expect("known action")
                .expect("parses");
            let children: Vec<&str> = action.children().iter().map(|(f, _)| *f).collect();
            assert_eq!(children, step_list_fields(name), "{name}");
        }
        let control: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
        for name in Action::NAMES {
            assert!(
                step_list_fields(name).is_empty() || control.contains(name),
                "{name} holds steps: add it to the cases above"
            );
        }
    }

    #[test]
    fn a_workflow_name_holds_no_control_character() {
        for name in [r"a\u0000b", r"a\nb", r"a\u001bb"] {
            let found = problems(&format!(
                r#"{{"name": "{name}", "steps": [{{"action": "log", "message": "hi"}}]}}"#
            ));
            assert!(
                found.iter().any(|p| p.contains("control characters")),
                "{name}: {found:?}"
            );
        }
        assert!(problems(r#"{"name": "naïve name", "steps": []}"#).is_empty());
    }

    #[test]
    fn every_problem_of_a_step_is_named_once() {
        let found = problems(
            r##"{"name": "x", "steps": [{"action": "browser.type", "selecter": "#a", "txt": 1,
                "retry": {"attempts": "3", "delay": 5}}]}"##,
        );
        assert_eq!(
            found,
            [
                "steps[0].selecter: unknown field `selecter`, expected one of `selector`, `text`, `clear`, `secret` (of the `browser.type` step)",
                "steps[0].txt: unknown field `txt`, expected one of `selector`, `text`, `clear`, `secret` (of the `browser.type` step)",
                "steps[0].retry.attempts: invalid type: string \"3\", expected u32",
                "steps[0].retry.delay: unknown field `delay`, expected one of `attempts`, `delay_ms`, `backoff`",
            ],
        );
    }

    #[test]
    fn nested_steps_of_a_broken_parent_are_still_checked() {
        // The `for_each` lacks `items` and its child has an unknown field; the id inside
        // still counts for the reference after it.
        let found = problems(
            r#"{"name": "x", "steps": [
  {"action": "for_each", "steps": [{"id": "a", "action": "log", "message": "m", "bad": 1}]},
  {"action": "fro_each", "items": [1], "as": "row", "steps": [
    {"id": "b", "action": "log", "message": "{{ row }}", "worse": 2}]},
  {"action": "log", "message": "{{ steps.a.output }} {{ steps.b.output }}"}
]}"#,
        );
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].starts_with("steps[0]: missing field `items`"));
        assert!(found[1].starts_with("steps[0].steps[0].bad: unknown field `bad`"));
        assert!(
            found[2].starts_with(
                "steps[1].action: unknown action `fro_each`; did you mean `for_each`?"
            )
        );
        assert!(found[3].starts_with("steps[1].steps[0].worse: unknown field `worse`"));
        assert!(!found.iter().any(|p| p.contains("unknown name `row`")));
    }

    #[test]
    fn job_fields_are_known_and_debug_is_not() {
        let found = problems(
            r#"{"name": "x", "steps": [
  {"action": "log", "message": "{{ job.id }} {{ job.attempt }} {{ run.id }}"},
  {"action": "log", "message": "{{ job.number }}"},
  {"action": "log", "message": "{{ debug() }}"}
]}"#,
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].starts_with("steps[1].message: `job` has `id` and `attempt`, not `number`"),
            "{found:#?}"
        );
        assert!(
            found[1].starts_with("steps[2].message: unknown name `debug`"),
            "{found:#?}"
        );
    }

    #[test]
    fn a_duplicate_key_is_still_reported() {
        // serde_json's `Value` keeps the last of two equal keys; the strict parse does not.
        let found = problems(r#"{"name": "a", "name": "b", "steps": []}"#);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("duplicate field `name`"), "{found:#?}");
    }
}
