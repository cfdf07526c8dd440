//! What expressions see (inputs, vars, step outputs, loop variables, ...), how values with
//! `{{ expressions }}` are rendered against it, and which rendered values are secret.
//!
//! A value is secret when its expression reads a secret: a credential's password, an
//! input declared `secret`, or anything earlier computed from one (a variable, a loop
//! variable, a step output, an output of a called workflow). Secrets are tracked by path
//! (`vars.token`, `steps.login.output`), so an expression that reads only the clean part
//! of a value (`assets.erp.username`) stays clean.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alq_shared::workflow::{environment, exact_expression};
use minijinja::Environment;
use serde_json::{Map, Value};

use super::JobInfo;
use super::reads::{self, Part, ReadPath};
use super::taint::{MASK, Taint};

/// The names one workflow (the top one, or one reached by `call`) sees.
pub(crate) struct Frame {
    pub(crate) inputs: Map<String, Value>,
    pub(crate) vars: Map<String, Value>,
    /// Step outputs by step id: `{"output": ..., "status": ...}`.
    pub(crate) steps: Map<String, Value>,
    pub(crate) workflow_dir: PathBuf,
    pub(crate) workflow_name: String,
    /// Loop variables and `error`, innermost last, each with its secret parts.
    pub(crate) locals: Vec<(String, Value, Taint)>,
    /// The secret parts of `inputs`, `vars` and `steps` (under those names).
    pub(crate) taint: Taint,
}

impl Frame {
    /// A frame for a workflow about to run, with its inputs and their secret parts.
    pub(crate) fn new(
        inputs: Map<String, Value>,
        inputs_taint: Taint,
        workflow_dir: PathBuf,
        workflow_name: String,
    ) -> Self {
        Frame {
            inputs,
            vars: Map::new(),
            steps: Map::new(),
            workflow_dir,
            workflow_name,
            locals: Vec::new(),
            taint: Taint::under("inputs", inputs_taint),
        }
    }

    /// Records which parts of `root.key` (`vars.NAME`, `steps.ID`) are secret.
    pub(crate) fn set_taint(&mut self, root: &str, key: &str, taint: Taint) {
        let mut under = self.taint.at(&[root]);
        under.set(key, taint);
        self.taint.set(root, under);
    }
}

/// A value after its expressions were rendered.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// The value with secrets in clear: what actions are given.
    pub(crate) value: Value,
    /// Which parts of it were computed from a secret.
    pub(crate) taint: Taint,
    /// How it is shown, when that differs from `value`: secret parts masked, and in a
    /// text only the `{{ }}` that read a secret.
    shown: Option<Value>,
    /// Texts computed from secrets, to mask wherever they appear.
    pub(crate) secrets: Vec<String>,
}

impl Rendered {
    /// The value as events, reports and written files show it.
    pub(crate) fn shown(&self) -> Value {
        self.shown.clone().unwrap_or_else(|| self.value.clone())
    }

    /// The shown value as text (a non-string value as its JSON).
    pub(crate) fn shown_text(&self) -> String {
        match self.shown() {
            Value::String(text) => text,
            other => other.to_string(),
        }
    }

    /// The clear value as text (a non-string value as its JSON).
    pub(crate) fn text(&self) -> String {
        match &self.value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }
}

/// Renders expressions; holds what does not change during a run.
pub(crate) struct Renderer {
    env: Environment<'static>,
    run: minijinja::Value,
    job: minijinja::Value,
    process_env: minijinja::Value,
    assets: minijinja::Value,
    /// The password of every credential asset.
    assets_taint: Taint,
}

impl Renderer {
    pub(crate) fn new(
        run_dir: &Path,
        run_id: &str,
        job: Option<&JobInfo>,
        assets: &Map<String, Value>,
    ) -> Self {
        let run = serde_json::json!({ "dir": run_dir.display().to_string(), "id": run_id });
        // `alq run` is the first and only attempt of a run that is no job.
        let job = serde_json::json!({
            "id": job.map(|j| j.id),
            "attempt": job.map_or(1, |j| j.attempt),
        });
        let process_env: BTreeMap<String, String> = std::env::vars().collect();
        let mut assets_taint = Taint::Clean;
        for (name, asset) in assets {
            if asset.get("password").is_some() {
                assets_taint.set(name, Taint::under("password", Taint::Whole));
            }
        }
        Renderer {
            // Without `debug()`, which would print the whole context without naming it.
            env: environment(),
            run: jinja(&run),
            job: jinja(&job),
            process_env: jinja(&process_env),
            assets: jinja(assets),
            assets_taint,
        }
    }

    /// The names an expression sees in this frame.
    fn context(&self, frame: &Frame) -> minijinja::Value {
        let mut names: BTreeMap<&str, minijinja::Value> = BTreeMap::new();
        names.insert("inputs", jinja(&frame.inputs));
        names.insert("vars", jinja(&frame.vars));
        names.insert("steps", jinja(&frame.steps));
        names.insert(
            "workflow",
            jinja(serde_json::json!({
                "dir": frame.workflow_dir.display().to_string(),
                "name": frame.workflow_name,
            })),
        );
        names.insert("run", self.run.clone());
        names.insert("job", self.job.clone());
        names.insert("env", self.process_env.clone());
        names.insert("assets", self.assets.clone());
        for (name, value, _) in &frame.locals {
            names.insert(name, jinja(value));
        }
        jinja(&names)
    }

    /// How secret the value at `path` is. Loop variables shadow the other names, as in
    /// `context`.
    fn read_taint(&self, frame: &Frame, path: &[String]) -> Taint {
        let Some((root, rest)) = path.split_first() else {
            return Taint::Clean;
        };
        let base = match frame.locals.iter().rev().find(|(name, ..)| name == root) {
            Some((_, _, taint)) => taint.clone(),
            None => match root.as_str() {
                "inputs" | "vars" | "steps" => frame.taint.at(&[root]),
                "assets" => self.assets_taint.clone(),
                _ => Taint::Clean,
            },
        };
        base.at(rest)
    }

    fn reads_secret(&self, frame: &Frame, paths: &[ReadPath]) -> bool {
        paths
            .iter()
            .any(|path| !self.read_taint(frame, path).is_clean())
    }

    /// Renders every string inside a value; a string that is exactly one expression
    /// keeps the expression's JSON type.
    pub(crate) fn render(&self, value: &Value, frame: &Frame) -> Result<Rendered, String> {
        let mut context = None;
        let mut secrets = Vec::new();
        let (value, taint, shown) = self.render_with(value, frame, &mut context, &mut secrets)?;
        taint.secret_texts(&value, &mut secrets);
        Ok(Rendered {
            value,
            taint,
            shown,
            secrets,
        })
    }

    /// Renders one value: the clear value, its taint, and how it is shown when that
    /// differs.
    fn render_with(
        &self,
        value: &Value,
        frame: &Frame,
        context: &mut Option<minijinja::Value>,
        secrets: &mut Vec<String>,
    ) -> Result<(Value, Taint, Option<Value>), String> {
        Ok(match value {
            Value::String(text) if text.contains("{{") || text.contains("{%") => {
                let ctx = context.get_or_insert_with(|| self.context(frame)).clone();
                match exact_expression(text) {
                    Some(expr) => {
                        let taint = match reads::bare_path(expr) {
                            Some(path) => self.read_taint(frame, &path),
                            None => Taint::whole_if(
                                self.reads_secret(frame, &reads::expression_reads(expr)),
                            ),
                        };
                        let value = self.eval_in(expr, ctx, !taint.is_clean())?;
                        let shown = (!taint.is_clean()).then(|| taint.mask(&value));
                        (value, taint, shown)
                    }
                    None => self.render_template(text, frame, ctx, secrets)?,
                }
            }
            Value::Array(items) => {
                let (mut out, mut shown, mut taint) = (Vec::new(), Vec::new(), Taint::Clean);
                for (i, item) in items.iter().enumerate() {
                    let (value, part, seen) = self.render_with(item, frame, context, secrets)?;
                    shown.push(seen.unwrap_or_else(|| value.clone()));
                    out.push(value);
                    taint.set(&i.to_string(), part);
                }
                let shown = (!taint.is_clean()).then_some(Value::Array(shown));
                (Value::Array(out), taint, shown)
            }
            Value::Object(map) => {
                let (mut out, mut shown, mut taint) = (Map::new(), Map::new(), Taint::Clean);
                for (key, item) in map {
                    let (value, part, seen) = self.render_with(item, frame, context, secrets)?;
                    shown.insert(key.clone(), seen.unwrap_or_else(|| value.clone()));
                    out.insert(key.clone(), value);
                    taint.set(key, part);
                }
                let shown = (!taint.is_clean()).then_some(Value::Object(shown));
                (Value::Object(out), taint, shown)
            }
            other => (other.clone(), Taint::Clean, None),
        })
    }

    /// Renders a text with expressions in it. When some `{{ }}` read a secret, the text
    /// is shown with only those masked; when a `{% %}` does, the whole text is masked.
    fn render_template(
        &self,
        text: &str,
        frame: &Frame,
        ctx: minijinja::Value,
        secrets: &mut Vec<String>,
    ) -> Result<(Value, Taint, Option<Value>), String> {
        let parts = reads::parts(text);
        let secret_part = |code: &str| self.reads_secret(frame, &reads::expression_reads(code));
        let secret: Vec<bool> = parts
            .iter()
            .map(|part| match part {
                Part::Expr(code) | Part::Statement(code) => secret_part(code),
                Part::Text(_) | Part::Comment(_) => false,
            })
            .collect();
        let tainted = secret.iter().any(|s| *s);
        let clear = self
            .env
            .render_str(text, ctx.clone())
            .map_err(|e| describe(text, &e, tainted))?;
        if !tainted {
            return Ok((Value::String(clear), Taint::Clean, None));
        }
        let statement_reads_secret = parts
            .iter()
            .zip(&secret)
            .any(|(part, secret)| *secret && matches!(part, Part::Statement(_)));
        let shown = if statement_reads_secret {
            MASK.to_owned()
        } else {
            let mut masked = String::with_capacity(text.len());
            for (part, secret) in parts.iter().zip(&secret) {
                match part {
                    Part::Text(t) | Part::Comment(t) => masked.push_str(t),
                    Part::Statement(code) => masked.push_str(&format!("{{%{code}%}}")),
                    Part::Expr(code) if *secret => {
                        // Keep the whitespace marks (`{{-`, `-}}`) so the text around
                        // reads as it would.
                        let pre = if code.starts_with(['-', '+']) {
                            &code[..1]
                        } else {
                            ""
                        };
                        let post = if code.ends_with(['-', '+']) && code.len() > pre.len() {
                            &code[code.len() - 1..]
                        } else {
                            ""
                        };
                        masked.push_str(&format!("{{{{{pre} \"{MASK}\" {post}}}}}"));
                        // The expression's own value, to mask wherever it appears.
                        let inner = code[pre.len()..code.len() - post.len()].trim();
                        if let Ok(value) = self.eval_in(inner, ctx.clone(), true) {
                            Taint::Whole.secret_texts(&value, secrets);
                        }
                    }
                    Part::Expr(code) => masked.push_str(&format!("{{{{{code}}}}}")),
                }
            }
            // The masked text reads nothing secret; should it fail anyway, mask it all.
            self.env
                .render_str(&masked, ctx)
                .unwrap_or_else(|_| MASK.to_owned())
        };
        Ok((
            Value::String(clear),
            Taint::Whole,
            Some(Value::String(shown)),
        ))
    }

    /// Evaluates a condition to true or false, the way Jinja's `if` does.
    pub(crate) fn truthy(&self, expr: &str, frame: &Frame) -> Result<bool, String> {
        let expr = exact_expression(expr).unwrap_or(expr);
        let secret = self.reads_secret(frame, &reads::expression_reads(expr));
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| describe(expr, &e, secret))?;
        let value = compiled
            .eval(self.context(frame))
            .map_err(|e| describe(expr, &e, secret))?;
        if value.is_undefined() {
            return Err(format!("`{expr}` is undefined"));
        }
        Ok(value.is_true())
    }

    fn eval_in(&self, expr: &str, ctx: minijinja::Value, secret: bool) -> Result<Value, String> {
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| describe(expr, &e, secret))?;
        let value = compiled.eval(ctx).map_err(|e| describe(expr, &e, secret))?;
        if value.is_undefined() {
            return Err(format!("`{expr}` is undefined"));
        }
        serde_json::to_value(&value).map_err(|e| {
            if secret {
                format!("`{expr}` gave a value that is not JSON")
            } else {
                format!("`{expr}` gave a value that is not JSON: {e}")
            }
        })
    }
}

fn jinja<T: serde::Serialize>(value: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

/// An expression's error. The details of one that reads a secret are left out: they can
/// quote the values it computed.
fn describe(source: &str, error: &minijinja::Error, secret: bool) -> String {
    let detail = match error.detail() {
        Some(_) if secret => format!(
            "{} (details not shown: the expression reads a secret)",
            error.kind()
        ),
        Some(detail) => detail.to_owned(),
        None => error.kind().to_string(),
    };
    format!("expression error in `{}`: {detail}", source.trim())
}
