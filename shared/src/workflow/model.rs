//! The top level of a workflow file and the small value types its steps use.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::Step;

/// A workflow file: metadata, declared inputs, defaults, browser settings and steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// A short name, used in run folder names and reports.
    pub name: String,
    /// What the workflow does, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The inputs the workflow takes, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputSpec>,
    /// Defaults for every step.
    #[serde(default)]
    pub defaults: Defaults,
    /// How the browser is started.
    #[serde(default)]
    pub browser: BrowserConfig,
    /// Values the workflow returns when it succeeds (expressions allowed), by name.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub outputs: serde_json::Map<String, Value>,
    /// The steps, run in order.
    pub steps: Vec<Step>,
}

/// One declared input.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// The type values must have; `--input k=v` values are converted to it.
    #[serde(rename = "type", default)]
    pub kind: InputType,
    /// The value used when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// A run without this input (and without a default) is refused.
    #[serde(default)]
    pub required: bool,
    /// The value is masked in logs, events and reports.
    #[serde(default)]
    pub secret: bool,
    /// What the input is for, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The type of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// Text.
    #[default]
    String,
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A JSON array.
    #[serde(alias = "array")]
    List,
    /// A JSON object.
    Object,
    /// Any JSON value.
    Any,
}

impl InputType {
    /// The name used in workflow files.
    pub fn name(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Number => "number",
            InputType::Integer => "integer",
            InputType::Boolean => "boolean",
            InputType::List => "list",
            InputType::Object => "object",
            InputType::Any => "any",
        }
    }

    /// The type with its article, for messages: `an integer`.
    pub fn described(self) -> &'static str {
        match self {
            InputType::String => "a string",
            InputType::Number => "a number",
            InputType::Integer => "an integer",
            InputType::Boolean => "a boolean",
            InputType::List => "a list (JSON array)",
            InputType::Object => "an object (JSON object)",
            InputType::Any => "a JSON value",
        }
    }

    /// Whether a JSON value has this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            InputType::String => value.is_string(),
            InputType::Number => value.is_number(),
            InputType::Integer => value.is_i64() || value.is_u64(),
            InputType::Boolean => value.is_boolean(),
            InputType::List => value.is_array(),
            InputType::Object => value.is_object(),
            InputType::Any => true,
        }
    }

    /// Converts a value typed on a command line (`--input k=v`) to this type.
    pub fn parse_text(self, text: &str) -> Result<Value, String> {
        let parsed = || serde_json::from_str::<Value>(text).map_err(|e| e.to_string());
        let value = match self {
            InputType::String => return Ok(Value::String(text.to_owned())),
            InputType::Any => {
                return Ok(parsed().unwrap_or_else(|_| Value::String(text.to_owned())));
            }
            InputType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Value::Bool(true),
                "false" | "no" | "0" => Value::Bool(false),
                _ => return Err(format!("`{text}` is not a boolean (true or false)")),
            },
            _ => parsed().map_err(|_| format!("`{text}` is not {}", self.described()))?,
        };
        if self.accepts(&value) {
            Ok(value)
        } else {
            Err(format!("`{text}` is not {}", self.described()))
        }
    }
}

/// Defaults that apply to every step unless the step says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    /// How long one step may take, and how long a browser action waits for its element.
    pub timeout_ms: u64,
    /// When to take screenshots.
    pub screenshot: ScreenshotPolicy,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            timeout_ms: 30_000,
            screenshot: ScreenshotPolicy::EachStep,
        }
    }
}

/// When screenshots are taken while a browser is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScreenshotPolicy {
    /// After every step.
    #[default]
    EachStep,
    /// Only after a step that failed.
    OnError,
    /// Never.
    Never,
}

/// How the browser is started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BrowserConfig {
    /// Run Chromium without a window.
    pub headless: bool,
    /// Use a WebDriver server that is already running instead of starting chromedriver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webdriver_url: Option<String>,
    /// Extra Chromium command-line arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Window width and height in pixels.
    pub window: [u32; 2],
    /// How long starting chromedriver and Chromium (or a session on `webdriver_url`) may
    /// take, in milliseconds. It is not part of any step's `timeout_ms`. A robot's
    /// `--browser-startup-timeout` (and `alq run`'s) overrides it.
    #[schemars(range(min = 1, max = 600_000))]
    pub startup_timeout_ms: u64,
}

impl Default for BrowserConfig {
    fn default() -> Self {
        BrowserConfig {
            headless: true,
            webdriver_url: None,
            args: Vec::new(),
            window: [1280, 900],
            startup_timeout_ms: DEFAULT_STARTUP_TIMEOUT_MS,
        }
    }
}

/// The browser start-up budget when neither the workflow nor the machine sets one: a
/// cold Chromium on a loaded 2-core machine took 12 s, so 60 s leaves room.
pub const DEFAULT_STARTUP_TIMEOUT_MS: u64 = 60_000;
/// The largest start-up budget: a browser that needs more than ten minutes will not
/// come up, and a bigger number is almost surely a unit mistake (seconds for ms).
pub const MAX_STARTUP_TIMEOUT_MS: u64 = 600_000;

/// Checks a start-up budget in milliseconds (from a workflow, a flag or a robot's
/// settings): the problem, for messages, if any.
pub fn check_startup_timeout_ms(ms: u64) -> Result<(), String> {
    if ms == 0 {
        Err("must be more than 0 (the default is 60000, one minute)".to_owned())
    } else if ms > MAX_STARTUP_TIMEOUT_MS {
        Err(format!(
            "{ms} ms is more than the limit of {MAX_STARTUP_TIMEOUT_MS} ms (ten minutes)"
        ))
    } else {
        Ok(())
    }
}

/// Retry policy of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// How many times the step is tried in all (at least 1).
    pub attempts: u32,
    /// Wait before the second try.
    #[serde(default = "default_retry_delay")]
    pub delay_ms: u64,
    /// Each further wait is the previous one times this factor (1 keeps it constant).
    #[serde(default = "default_backoff")]
    pub backoff: f64,
}

fn default_retry_delay() -> u64 {
    1000
}

fn default_backoff() -> f64 {
    1.0
}

/// What kind of failure a step or workflow ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Bad data or a broken business rule: retrying will not help.
    Business,
    /// A technical failure (a page that did not load, a timeout): worth retrying.
    #[default]
    Application,
}

/// Text in a workflow: a string, possibly with `{{ expressions }}`. Numbers and booleans
/// produced by an expression are accepted and turned into their text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Text(pub String);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(s.to_owned())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Text(s)),
            Value::Number(n) => Ok(Text(n.to_string())),
            Value::Bool(b) => Ok(Text(b.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "invalid type: {}, expected a string",
                json_type_name(&other)
            ))),
        }
    }
}

/// A number or switch that may also be given by an expression (`"{{ inputs.port }}"`),
/// which the engine renders before the action runs.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Param<T> {
    /// A literal value.
    Value(T),
    /// An expression, or the text an expression rendered to.
    Expr(String),
}

impl<T: std::str::FromStr + Clone> Param<T> {
    /// The value; text (e.g. what an expression gave) is parsed.
    pub fn get(&self) -> Result<T, String> {
        match self {
            Param::Value(value) => Ok(value.clone()),
            Param::Expr(text) => text
                .trim()
                .parse()
                .map_err(|_| format!("`{text}` is not a valid value here")),
        }
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Param<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(Param::Expr(text)),
            other => T::deserialize(other)
                .map(Param::Value)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl<T> From<T> for Param<T> {
    fn from(value: T) -> Self {
        Param::Value(value)
    }
}

/// One value or a list of them (`"to": "a@x"` or `"to": ["a@x", "b@x"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list of values.
    Many(Vec<T>),
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }
}

/// The JSON name of a value's type, for messages.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_budgets_run_from_one_millisecond_to_ten_minutes() {
        assert!(check_startup_timeout_ms(1).is_ok());
        assert!(check_startup_timeout_ms(MAX_STARTUP_TIMEOUT_MS).is_ok());
        assert!(check_startup_timeout_ms(0).is_err());
        assert!(check_startup_timeout_ms(MAX_STARTUP_TIMEOUT_MS + 1).is_err());
        assert_eq!(
            BrowserConfig::default().startup_timeout_ms,
            DEFAULT_STARTUP_TIMEOUT_MS
        );
    }
}
