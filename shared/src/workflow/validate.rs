//! Checks a parsed workflow for what the types cannot say: unique and known step ids,
//! valid expressions over known names, input types, and fields that go together.

use std::collections::{BTreeMap, HashSet};

use minijinja::Environment;
use serde_json::Value;

use super::expr::{BUILTIN_FUNCTIONS, EXPRESSION_ROOTS, environment, exact_expression};
use super::{
    Action, InputType, MAX_WHILE_ITERATIONS, Param, Problem, Step, Workflow, json_type_name,
};

/// Whether `name` can be used in expressions: a letter or `_`, then letters, digits, `_`.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every problem of a parsed workflow; empty when it can run.
pub fn validate(workflow: &Workflow) -> Vec<Problem> {
    let mut checker = Checker {
        env: environment(),
        problems: Vec::new(),
        ids: BTreeMap::new(),
        inputs: workflow.inputs.keys().cloned().collect(),
    };
    if workflow.name.trim().is_empty() {
        checker.problem("name", "must not be empty");
    }
    // A NUL cannot be stored by PostgreSQL, and a line break or escape code in a name
    // garbles every list and log that shows it.
    if workflow.name.chars().any(char::is_control) {
        checker.problem(
            "name",
            "must not hold control characters (NUL, tab, line breaks, escape codes)",
        );
    }
    for (name, spec) in &workflow.inputs {
        let path = format!("inputs.{name}");
        if !is_identifier(name) {
            checker.problem(
                &path,
                "input names use letters, digits and `_`, and do not start with a digit",
            );
        }
        if let Some(default) = &spec.default
            && !spec.kind.accepts(default)
        {
            checker.problem(
                format!("{path}.default"),
                format!(
                    "is {}, but the input's type is {}",
                    json_type_name(default),
                    spec.kind.name()
                ),
            );
        }
        if spec.required && spec.default.is_some() {
            checker.problem(&path, "a required input cannot have a default");
        }
        if spec.kind == InputType::Any && spec.secret {
            checker.problem(
                &path,
                "a secret input must have a type (string, number, ...)",
            );
        }
    }
    if workflow.defaults.timeout_ms == 0 {
        checker.problem("defaults.timeout_ms", "must be more than 0");
    }
    if let Err(message) = super::check_startup_timeout_ms(workflow.browser.startup_timeout_ms) {
        checker.problem("browser.startup_timeout_ms", message);
    }
    checker.collect_ids(&workflow.steps, "steps");
    let top = Scope::default();
    checker.steps(&workflow.steps, "steps", &top);
    for (name, value) in &workflow.outputs {
        checker.value(value, &format!("outputs.{name}"), &top);
    }
    checker.problems
}

#[derive(Default, Clone)]
struct Scope {
    /// Loop variables and `error` inside `catch`.
    locals: Vec<String>,
}

impl Scope {
    fn with(&self, name: &str) -> Scope {
        let mut scope = self.clone();
        scope.locals.push(name.to_owned());
        scope
    }
}

struct Checker {
    env: Environment<'static>,
    problems: Vec<Problem>,
    ids: BTreeMap<String, String>,
    inputs: HashSet<String>,
}

impl Checker {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn collect_ids(&mut self, steps: &[Step], path: &str) {
        for (i, step) in steps.iter().enumerate() {
            let here = format!("{path}[{i}]");
            if let Some(id) = &step.common.id {
                if !is_identifier(id) {
                    self.problem(
                        format!("{here}.id"),
                        format!("`{id}` is not a valid id: use letters, digits and `_`, starting with a letter"),
                    );
                } else if let Some(first) = self.ids.get(id) {
                    let first = first.clone();
                    self.problem(
                        format!("{here}.id"),
                        format!("duplicate step id `{id}` (first used at {first})"),
                    );
                } else {
                    self.ids.insert(id.clone(), here.clone());
                }
            }
            for (field, children) in step.action.children() {
                self.collect_ids(children, &format!("{here}.{field}"));
            }
        }
    }

    fn steps(&mut self, steps: &[Step], path: &str, scope: &Scope) {
        for (i, step) in steps.iter().enumerate() {
            self.step(step, &format!("{path}[{i}]"), scope);
        }
    }

    fn step(&mut self, step: &Step, here: &str, scope: &Scope) {
        let common = &step.common;
        if let Some(when) = &common.when {
            self.expression(when, &format!("{here}.when"), scope);
        }
        if common.timeout_ms == Some(0) {
            self.problem(format!("{here}.timeout_ms"), "must be more than 0");
        }
        if let Some(retry) = &common.retry {
            if retry.attempts == 0 {
                self.problem(format!("{here}.retry.attempts"), "must be at least 1");
            }
            if !(retry.backoff.is_finite() && retry.backoff >= 1.0) {
                self.problem(
                    format!("{here}.retry.backoff"),
                    "must be a number of at least 1",
                );
            }
        }
        let field = |name: &str| format!("{here}.{name}");
        match &step.action {
            Action::If(a) => {
                self.expression(&a.condition, &field("condition"), scope);
                self.steps(&a.then, &field("then"), scope);
                self.steps(&a.else_, &field("else"), scope);
            }
            Action::While(a) => {
                self.expression(&a.condition, &field("condition"), scope);
                if a.max_iterations == 0 {
                    self.problem(field("max_iterations"), "must be at least 1");
                } else if a.max_iterations > MAX_WHILE_ITERATIONS {
                    self.problem(
                        field("max_iterations"),
                        format!(
                            "is {}, over the limit of {MAX_WHILE_ITERATIONS}: bound the loop lower, or feed the items through a queue",
                            a.max_iterations
                        ),
                    );
                }
                self.steps(&a.steps, &field("steps"), &scope.with("loop"));
            }
            Action::ForEach(a) => {
                self.value(&a.items, &field("items"), scope);
                if !is_identifier(&a.as_) || EXPRESSION_ROOTS.contains(&a.as_.as_str()) {
                    self.problem(
                        field("as"),
                        format!("`{}` cannot name a loop variable: use letters, digits and `_`, and none of {}", a.as_, EXPRESSION_ROOTS.join(", ")),
                    );
                }
                if let Value::String(s) = &a.items
                    && exact_expression(s).is_none()
                {
                    self.problem(
                        field("items"),
                        "must be a list or one `{{ expression }}` giving a list",
                    );
                } else if !matches!(a.items, Value::String(_) | Value::Array(_)) {
                    self.problem(
                        field("items"),
                        format!("is {}, expected a list", json_type_name(&a.items)),
                    );
                }
                self.steps(&a.steps, &field("steps"), &scope.with(&a.as_).with("loop"));
            }
            Action::Try(a) => {
                self.steps(&a.steps, &field("steps"), scope);
                self.steps(&a.catch, &field("catch"), &scope.with("error"));
                self.steps(&a.finally, &field("finally"), scope);
            }
            Action::Set(a) => {
                for name in a.vars.keys() {
                    if !is_identifier(name) {
                        self.problem(
                            field(&format!("vars.{name}")),
                            "variable names use letters, digits and `_`",
                        );
                    }
                }
                self.value(&step.action.fields(), here, scope);
            }
            action => {
                self.value(&action.fields(), here, scope);
                self.leaf_rules(action, here);
            }
        }
    }

    /// Rules about fields of one action that go together.
    fn leaf_rules(&mut self, action: &Action, here: &str) {
        let count = |options: &[bool]| options.iter().filter(|set| **set).count();
        let exactly_one = |this: &mut Self, options: &[bool], names: &str| {
            if count(options) != 1 {
                this.problem(here, format!("give exactly one of {names}"));
            }
        };
        match action {
            Action::BrowserSelect(a) => exactly_one(
                self,
                &[a.value.is_some(), a.label.is_some(), a.index.is_some()],
                "`value`, `label`, `index`",
            ),
            Action::BrowserWaitFor(a) => exactly_one(
                self,
                &[a.selector.is_some(), a.text.is_some(), a.url.is_some()],
                "`selector`, `text`, `url`",
            ),
            Action::BrowserTab(a) => exactly_one(
                self,
                &[a.index.is_some(), a.url.is_some(), a.title.is_some()],
                "`index`, `url`, `title`",
            ),
            Action::FileWrite(a) => exactly_one(
                self,
                &[a.text.is_some(), a.json.is_some()],
                "`text`, `json`",
            ),
            Action::BrowserExtract(a) => {
                if count(&[a.attribute.is_some(), a.property.is_some(), a.table]) > 1 {
                    self.problem(here, "give at most one of `attribute`, `property`, `table`");
                }
                if a.table && a.all {
                    self.problem(here, "`table` and `all` cannot be used together");
                }
            }
            Action::HttpRequest(a) => {
                if a.json.is_some() && a.body.is_some() {
                    self.problem(here, "give at most one of `json`, `body`");
                }
                let method = a.method.as_str();
                if !method.contains("{{") && reqwest_method(method).is_none() {
                    self.problem(
                        format!("{here}.method"),
                        format!("`{method}` is not an HTTP method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)"),
                    );
                }
            }
            Action::Sleep(a) => check_param(self, &a.ms, &format!("{here}.ms")),
            Action::BrowserOpen(a) | Action::BrowserGoto(a) => {
                for (sub, message) in a.expect_status.iter().flat_map(|e| e.problems()) {
                    self.problem(format!("{here}.expect_status{sub}"), message);
                }
            }
            Action::EmailSend(a) => {
                if let Some(port) = &a.smtp.port {
                    check_param(self, port, &format!("{here}.smtp.port"));
                }
                if a.to.as_slice().is_empty() {
                    self.problem(format!("{here}.to"), "needs at least one recipient");
                }
                if a.text.is_none() && a.html.is_none() {
                    self.problem(here, "give `text`, `html` or both");
                }
            }
            Action::CsvWrite(a) if !matches!(a.rows, Value::String(_) | Value::Array(_)) => {
                self.problem(
                    format!("{here}.rows"),
                    format!("is {}, expected a list", json_type_name(&a.rows)),
                );
            }
            _ => {}
        }
    }

    /// Checks every string inside a JSON value as a template.
    fn value(&mut self, value: &Value, path: &str, scope: &Scope) {
        match value {
            Value::String(s) => self.template(s, path, scope),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(item, &format!("{path}[{i}]"), scope);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let sub = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    self.value(item, &sub, scope);
                }
            }
            _ => {}
        }
    }

    fn template(&mut self, text: &str, path: &str, scope: &Scope) {
        if !text.contains("{{") && !text.contains("{%") {
            return;
        }
        if let Some(expr) = exact_expression(text) {
            return self.expression(expr, path, scope);
        }
        let names = match self.env.template_from_str(text) {
            Ok(template) => template.undeclared_variables(true),
            Err(e) => return self.problem(path, format!("invalid expression: {}", describe(&e))),
        };
        self.names(names, path, scope);
    }

    fn expression(&mut self, expr: &str, path: &str, scope: &Scope) {
        let expr = exact_expression(expr).unwrap_or(expr);
        let names = match self.env.compile_expression(expr) {
            Ok(compiled) => compiled.undeclared_variables(true),
            Err(e) => {
                return self.problem(
                    path,
                    format!("invalid expression `{expr}`: {}", describe(&e)),
                );
            }
        };
        self.names(names, path, scope);
    }

    fn names(&mut self, names: HashSet<String>, path: &str, scope: &Scope) {
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        for name in names {
            let mut parts = name.split('.');
            let root = parts.next().unwrap_or_default();
            let second = parts.next();
            let known = EXPRESSION_ROOTS.contains(&root)
                || BUILTIN_FUNCTIONS.contains(&root)
                || scope.locals.iter().any(|l| l == root);
            if !known {
                let mut roots: Vec<&str> = EXPRESSION_ROOTS.to_vec();
                roots.extend(scope.locals.iter().map(String::as_str));
                self.problem(
                    path,
                    format!(
                        "unknown name `{root}` in expression; known names: {}",
                        roots.join(", ")
                    ),
                );
            } else if root == "steps"
                && let Some(id) = second
                && !self.ids.contains_key(id)
            {
                self.problem(
                    path,
                    format!("no step has the id `{id}` (used in `{name}`)"),
                );
            } else if root == "inputs"
                && let Some(input) = second
                && !self.inputs.contains(input)
            {
                self.problem(path, format!("the workflow declares no input `{input}`"));
            } else if root == "job"
                && let Some(field) = second
                && !["id", "attempt"].contains(&field)
            {
                self.problem(path, format!("`job` has `id` and `attempt`, not `{field}`"));
            }
        }
    }
}

/// A `Param` given as text must be an expression or text of the right kind.
fn check_param<T: std::str::FromStr + Clone>(checker: &mut Checker, param: &Param<T>, path: &str) {
    if let Param::Expr(text) = param
        && !text.contains("{{")
        && param.get().is_err()
    {
        checker.problem(
            path,
            format!("`{text}` is not a number (or a `{{{{ expression }}}}`)"),
        );
    }
}

/// A minijinja error without its template name: what is wrong, and where in the text.
fn describe(error: &minijinja::Error) -> String {
    let detail = error
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| error.kind().to_string());
    match error.line() {
        Some(line) if line > 1 => format!("{detail} (line {line} of the expression)"),
        _ => detail,
    }
}

fn reqwest_method(method: &str) -> Option<&str> {
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        .into_iter()
        .find(|m| m.eq_ignore_ascii_case(method))
}
