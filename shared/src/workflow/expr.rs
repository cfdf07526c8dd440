//! The expression language (minijinja) as workflows use it: one environment, shared by
//! validation and the engine so both accept the same things.

use minijinja::{Environment, UndefinedBehavior};

/// The names an expression may start with, besides loop variables and built-in functions.
pub const EXPRESSION_ROOTS: &[&str] = &[
    "inputs", "vars", "steps", "workflow", "run", "job", "env", "assets",
];

/// Built-in functions of the environment, which look like variables to the parser.
pub(crate) const BUILTIN_FUNCTIONS: &[&str] = &["range", "dict", "namespace", "now"];

/// The expression environment: strict about undefined values, so a typo is an error
/// rather than an empty string.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // `debug()` prints the whole context, secrets included, without naming any of them,
    // so the engine could not tell that its output is secret.
    env.remove_global("debug");
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

/// The asset names a workflow file reads (`assets.NAME` or `assets["NAME"]`), so a robot
/// is sent those assets and no others. A name that only appears in a comment or a string
/// is included too: sending one asset too many is harmless, one too few is not.
pub fn referenced_assets(source: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("assets") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "assets".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let name: String = if let Some(tail) = rest.strip_prefix('.') {
            tail.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        } else if let Some(tail) = rest.strip_prefix('[') {
            let tail = tail.trim_start_matches(['\\', '"', '\'']);
            tail.chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
                .collect()
        } else {
            String::new()
        };
        if !name.is_empty() {
            names.insert(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::referenced_assets;

    #[test]
    fn finds_asset_names_in_both_notations() {
        let source = r#"{"steps": [{"action": "log", "message": "{{ assets.sap_user.username }} {{ assets[\"erp-url\"] }} {{ assets['x.y'] }} {{ myassets.no }}"}]}"#;
        let names: Vec<String> = referenced_assets(source).into_iter().collect();
        assert_eq!(names, ["erp-url", "sap_user", "x.y"]);
    }
}
