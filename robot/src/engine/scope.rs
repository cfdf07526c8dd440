//! What expressions see (inputs, vars, step outputs, loop variables, ...) and how
//! values with `{{ expressions }}` are rendered against it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use alq_shared::workflow::{environment, exact_expression};
use minijinja::Environment;
use serde_json::{Map, Value};

/// The names one workflow (the top one, or one reached by `call`) sees.
pub(crate) struct Frame {
    pub(crate) inputs: Map<String, Value>,
    pub(crate) vars: Map<String, Value>,
    /// Step outputs by step id: `{"output": ..., "status": ...}`.
    pub(crate) steps: Map<String, Value>,
    pub(crate) workflow_dir: PathBuf,
    pub(crate) workflow_name: String,
    /// Loop variables and `error`, innermost last.
    pub(crate) locals: Vec<(String, Value)>,
}

/// Renders expressions; holds what does not change during a run.
pub(crate) struct Renderer {
    env: Environment<'static>,
    run: minijinja::Value,
    process_env: minijinja::Value,
    assets: minijinja::Value,
}

impl Renderer {
    pub(crate) fn new(run_dir: &std::path::Path, assets: &Map<String, Value>) -> Self {
        let run_id = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let run = serde_json::json!({ "dir": run_dir.display().to_string(), "id": run_id });
        let process_env: BTreeMap<String, String> = std::env::vars().collect();
        Renderer {
            env: environment(),
            run: minijinja::Value::from(minijinja::value::Serde(&run)),
            process_env: minijinja::Value::from(minijinja::value::Serde(&process_env)),
            assets: minijinja::Value::from(minijinja::value::Serde(assets)),
        }
    }

    /// The names an expression sees in this frame.
    fn context(&self, frame: &Frame) -> minijinja::Value {
        let mut names: BTreeMap<&str, minijinja::Value> = BTreeMap::new();
        names.insert(
            "inputs",
            minijinja::Value::from(minijinja::value::Serde(&frame.inputs)),
        );
        names.insert(
            "vars",
            minijinja::Value::from(minijinja::value::Serde(&frame.vars)),
        );
        names.insert(
            "steps",
            minijinja::Value::from(minijinja::value::Serde(&frame.steps)),
        );
        names.insert(
            "workflow",
            minijinja::Value::from(minijinja::value::Serde(serde_json::json!({
                "dir": frame.workflow_dir.display().to_string(),
                "name": frame.workflow_name,
            }))),
        );
        names.insert("run", self.run.clone());
        names.insert("env", self.process_env.clone());
        names.insert("assets", self.assets.clone());
        for (name, value) in &frame.locals {
            names.insert(name, minijinja::Value::from(minijinja::value::Serde(value)));
        }
        minijinja::Value::from(minijinja::value::Serde(&names))
    }

    /// Renders every string inside a value; a string that is exactly one expression
    /// keeps the expression's JSON type.
    pub(crate) fn render(&self, value: &Value, frame: &Frame) -> Result<Value, String> {
        let mut context = None;
        self.render_with(value, frame, &mut context)
    }

    fn render_with(
        &self,
        value: &Value,
        frame: &Frame,
        context: &mut Option<minijinja::Value>,
    ) -> Result<Value, String> {
        Ok(match value {
            Value::String(text) if text.contains("{{") || text.contains("{%") => {
                let ctx = context.get_or_insert_with(|| self.context(frame)).clone();
                match exact_expression(text) {
                    Some(expr) => self.eval_in(expr, ctx)?,
                    None => Value::String(
                        self.env
                            .render_str(text, ctx)
                            .map_err(|e| describe(text, &e))?,
                    ),
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_with(v, frame, context))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_with(v, frame, context)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    /// Evaluates a condition to true or false, the way Jinja's `if` does.
    pub(crate) fn truthy(&self, expr: &str, frame: &Frame) -> Result<bool, String> {
        let expr = exact_expression(expr).unwrap_or(expr);
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| describe(expr, &e))?;
        let value = compiled
            .eval(self.context(frame))
            .map_err(|e| describe(expr, &e))?;
        if value.is_undefined() {
            return Err(format!("`{expr}` is undefined"));
        }
        Ok(value.is_true())
    }

    fn eval_in(&self, expr: &str, ctx: minijinja::Value) -> Result<Value, String> {
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| describe(expr, &e))?;
        let value = compiled.eval(ctx).map_err(|e| describe(expr, &e))?;
        if value.is_undefined() {
            return Err(format!("`{expr}` is undefined"));
        }
        serde_json::to_value(&value)
            .map_err(|e| format!("`{expr}` gave a value that is not JSON: {e}"))
    }
}

fn describe(source: &str, error: &minijinja::Error) -> String {
    let detail = error
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| error.kind().to_string());
    format!("expression error in `{}`: {detail}", source.trim())
}
