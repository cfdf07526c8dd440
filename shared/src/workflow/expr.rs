//! The expression language (minijinja) as workflows use it: one environment, shared by
//! validation and the engine so both accept the same things.

use minijinja::{Environment, UndefinedBehavior};

/// The names an expression may start with, besides loop variables and built-in functions.
pub const EXPRESSION_ROOTS: &[&str] = &["inputs", "vars", "steps", "workflow", "run", "env"];

/// Built-in functions of the environment, which look like variables to the parser.
pub(crate) const BUILTIN_FUNCTIONS: &[&str] = &["range", "dict", "namespace", "debug", "now"];

/// The expression environment: strict about undefined values, so a typo is an error
/// rather than an empty string.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_function("now", || chrono::Utc::now().to_rfc3339());
    env
}

/// The expression inside a string that is exactly one `{{ expr }}`, if it is one.
pub fn exact_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    // `{{ a }} and {{ b }}` starts and ends like one expression but is two.
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    Some(inner.trim())
}
