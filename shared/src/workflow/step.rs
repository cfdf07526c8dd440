//! A step: the common fields every step has, plus its action.
//!
//! Steps are parsed by hand rather than by a derived internally-tagged enum so that an
//! error deep inside nested steps keeps its full path (`steps[3].then[0].url`): serde
//! buffers tagged enums and forgets where inside them an error happened.

use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::{join_nested, nested_message};
use super::{Action, Retry};

/// The fields every step may have, whatever its action.
pub const COMMON_FIELDS: &[&str] = &[
    "id",
    "name",
    "when",
    "timeout_ms",
    "retry",
    "continue_on_error",
    "screenshot",
];

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The fields shared by all actions.
    pub common: StepCommon,
    /// What the step does.
    pub action: Action,
}

/// The fields shared by all steps.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepCommon {
    /// A name for expressions (`steps.ID.output`); letters, digits and `_`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A description shown in progress lines and reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An expression: the step runs only when it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// How long the step may take (default `defaults.timeout_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Try the step again when it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// A failure of this step is recorded but does not stop the workflow.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continue_on_error: bool,
    /// Take a screenshot after this step (true) or never (false), whatever the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<bool>,
}

impl Step {
    /// How the step is shown to people: its name, or its action and target.
    pub fn label(&self) -> String {
        self.label_with(|text| text.to_owned())
    }

    /// The label, with the target passed through `render` first (to show the values
    /// expressions have at run time).
    pub fn label_with(&self, render: impl FnOnce(&str) -> String) -> String {
        if let Some(name) = &self.common.name {
            return name.clone();
        }
        match self.action.target() {
            Some(target) => format!("{} {}", self.action.name(), shorten(&render(target), 60)),
            None => self.action.name().to_owned(),
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > max || line.len() < text.len() {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut fields = Map::<String, Value>::deserialize(deserializer)?;
        let name = match fields.remove("action") {
            Some(Value::String(name)) => name,
            Some(_) => {
                return Err(D::Error::custom(nested_message(
                    "action",
                    "must be a string",
                )));
            }
            None => return Err(D::Error::custom("missing field `action`")),
        };
        let mut common = Map::new();
        for key in COMMON_FIELDS {
            if let Some(value) = fields.remove(*key) {
                common.insert((*key).to_owned(), value);
            }
        }
        let common: StepCommon = serde_path_to_error::deserialize(Value::Object(common))
            .map_err(|e| D::Error::custom(join_nested(e)))?;
        let action = match Action::from_fields(&name, Value::Object(fields)) {
            Some(Ok(action)) => action,
            Some(Err(e)) => {
                let message = join_nested(e);
                // Name the action once, at the step the unknown field belongs to.
                return Err(D::Error::custom(
                    if message.contains("unknown field") && !message.ends_with(" step)") {
                        format!("{message} (of the `{name}` step)")
                    } else {
                        message
                    },
                ));
            }
            None => return Err(D::Error::custom(unknown_action(&name))),
        };
        Ok(Step { common, action })
    }
}

pub(crate) fn unknown_action(name: &str) -> String {
    let closest = Action::NAMES
        .iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match closest {
        Some((_, candidate)) => nested_message(
            "action",
            &format!("unknown action `{name}`; did you mean `{candidate}`?"),
        ),
        None => nested_message(
            "action",
            &format!("unknown action `{name}`; see `alq schema` or docs/workflows.md for the list"),
        ),
    }
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = Map::new();
        out.insert(
            "action".to_owned(),
            Value::String(self.action.name().to_owned()),
        );
        if let Value::Object(common) =
            serde_json::to_value(&self.common).map_err(serde::ser::Error::custom)?
        {
            out.extend(common);
        }
        if let Value::Object(fields) = self.action.fields() {
            out.extend(fields);
        }
        out.serialize(serializer)
    }
}
