//! The one check of a run's inputs against the inputs its workflow declares. The control
//! plane runs it when a job is made (and stores what it gives); the engine runs it when
//! a run starts (`alq run`, a robot's job, a `call`). Both agree, word for word:
//!
//! - an input the workflow does not declare is refused;
//! - a given value must have the declared type; `null` counts as not given;
//! - an input not given takes its default, or is refused when required, or is `null`
//!   (so `{{ inputs.x }}` reads as none instead of failing as undefined).
//!
//! The check is idempotent: what it gives passes it again unchanged, so a job's stored
//! inputs mean the same on the robot.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::model::{InputSpec, InputType, json_type_name};

/// Why given inputs do not fit the declared ones; one per input at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputProblem {
    /// An input the workflow does not declare.
    Unknown {
        /// Its name.
        name: String,
        /// The inputs the workflow declares.
        declared: Vec<String>,
    },
    /// A value that does not have the declared type.
    WrongType {
        /// The input.
        name: String,
        /// The declared type.
        expected: InputType,
        /// The JSON type given (`a string`), never the value: it may be a secret.
        got: &'static str,
    },
    /// A required input with no value.
    Missing {
        /// The input.
        name: String,
    },
    /// A declared default that does not have the declared type (a fault of the
    /// workflow, which validation also reports).
    BadDefault {
        /// The input.
        name: String,
        /// The declared type.
        expected: InputType,
        /// The JSON type of the default.
        got: &'static str,
    },
}

impl InputProblem {
    /// The input at fault.
    pub fn input(&self) -> &str {
        match self {
            InputProblem::Unknown { name, .. }
            | InputProblem::WrongType { name, .. }
            | InputProblem::Missing { name }
            | InputProblem::BadDefault { name, .. } => name,
        }
    }
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputProblem::Unknown { name, declared } if declared.is_empty() => {
                write!(f, "unknown input `{name}`: the workflow declares no inputs")
            }
            InputProblem::Unknown { name, declared } => write!(
                f,
                "unknown input `{name}`; the workflow declares: {}",
                declared.join(", ")
            ),
            InputProblem::WrongType {
                name,
                expected,
                got,
            } => write!(
                f,
                "input `{name}` must be {}, not {got}",
                expected.described()
            ),
            InputProblem::Missing { name } => {
                write!(
                    f,
                    "input `{name}` is required and has no default: give it a value"
                )
            }
            InputProblem::BadDefault {
                name,
                expected,
                got,
            } => write!(
                f,
                "the default of input `{name}` is {got}, but the input must be {}: fix the workflow",
                expected.described()
            ),
        }
    }
}

/// Checks `given` against the `declared` inputs and fills in defaults (and `null` for
/// optional inputs without one): every declared input is in the result. Every problem
/// is reported, not only the first.
pub fn resolve_inputs(
    declared: &BTreeMap<String, InputSpec>,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<InputProblem>> {
    let mut problems = Vec::new();
    for name in given.keys() {
        if !declared.contains_key(name) {
            problems.push(InputProblem::Unknown {
                name: name.clone(),
                declared: declared.keys().cloned().collect(),
            });
        }
    }
    let mut resolved = Map::new();
    for (name, spec) in declared {
        let value = match given.get(name).filter(|v| !v.is_null()) {
            Some(value) if spec.kind.accepts(value) => value.clone(),
            Some(value) => {
                problems.push(InputProblem::WrongType {
                    name: name.clone(),
                    expected: spec.kind,
                    got: json_type_name(value),
                });
                continue;
            }
            None => match &spec.default {
                Some(default) if default.is_null() || spec.kind.accepts(default) => default.clone(),
                Some(default) => {
                    problems.push(InputProblem::BadDefault {
                        name: name.clone(),
                        expected: spec.kind,
                        got: json_type_name(default),
                    });
                    continue;
                }
                None if spec.required => {
                    problems.push(InputProblem::Missing { name: name.clone() });
                    continue;
                }
                None => Value::Null,
            },
        };
        resolved.insert(name.clone(), value);
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn declared() -> BTreeMap<String, InputSpec> {
        serde_json::from_value(json!({
            "who": {"type": "string", "default": "world"},
            "count": {"type": "integer", "required": true},
            "password": {"type": "string", "secret": true},
            "tags": {"type": "list"}
        }))
        .unwrap()
    }

    fn given(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_fill_in_and_optional_inputs_become_null() {
        let resolved = resolve_inputs(&declared(), &given(json!({"count": 2}))).unwrap();
        assert_eq!(
            Value::Object(resolved),
            json!({"count": 2, "password": null, "tags": null, "who": "world"})
        );
    }

    #[test]
    fn null_counts_as_not_given() {
        let resolved = resolve_inputs(
            &declared(),
            &given(json!({"count": 1, "who": null, "password": null})),
        )
        .unwrap();
        assert_eq!(resolved["who"], "world");
        assert_eq!(resolved["password"], Value::Null);
        let problems = resolve_inputs(&declared(), &given(json!({"count": null}))).unwrap_err();
        assert_eq!(
            problems,
            [InputProblem::Missing {
                name: "count".into()
            }]
        );
    }

    #[test]
    fn every_problem_is_named_once_in_one_wording() {
        let problems = resolve_inputs(
            &declared(),
            &given(json!({"password": 1234, "colour": "red", "tags": "a,b"})),
        )
        .unwrap_err();
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "unknown input `colour`; the workflow declares: count, password, tags, who",
                "input `count` is required and has no default: give it a value",
                "input `password` must be a string, not a number",
                "input `tags` must be a list (JSON array), not a string",
            ]
        );
        assert!(
            !messages.iter().any(|m| m.contains("1234")),
            "a wrong value is never shown: it may be a secret"
        );
        assert_eq!(problems[0].input(), "colour");
        let none = resolve_inputs(&BTreeMap::new(), &given(json!({"x": 1}))).unwrap_err();
        assert_eq!(
            none[0].to_string(),
            "unknown input `x`: the workflow declares no inputs"
        );
    }

    #[test]
    fn a_default_of_the_wrong_type_is_the_workflows_fault() {
        let declared: BTreeMap<String, InputSpec> =
            serde_json::from_value(json!({"n": {"type": "integer", "default": "seven"}})).unwrap();
        let problems = resolve_inputs(&declared, &Map::new()).unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "the default of input `n` is a string, but the input must be an integer: fix the workflow"
        );
    }

    #[test]
    fn what_it_gives_passes_again_unchanged() {
        for input in [
            json!({"count": 3}),
            json!({"count": 3, "who": "ann", "password": "pw", "tags": ["a"]}),
            json!({"count": 0, "password": null}),
        ] {
            let once = resolve_inputs(&declared(), &given(input)).unwrap();
            let twice = resolve_inputs(&declared(), &once).unwrap();
            assert_eq!(once, twice);
        }
    }
}
