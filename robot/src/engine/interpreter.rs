//! The interpreter: one step at a time, control flow included.

// Steps run as local (not `Send`) futures: browser actions hold higher-ranked async
// closures that rustc cannot prove `Send`, and a run needs no more than one thread (a robot
// gives each slot its own thread and runtime).
//
// A `Failure` is built at most once per failing step, far from any hot path: boxing it
// would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alq_shared::events::{RunEvent, StepError, StepStatus};
use alq_shared::workflow::{
    Action, FailureKind, LoadedWorkflow, Param, ScreenshotPolicy, Step, Workflow, load_guarded,
};
use futures::future::LocalBoxFuture;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::recorder::Recorder;
use super::scope::{Frame, Rendered, Renderer};
use super::taint::Taint;
use super::{JobInfo, resolve_inputs};
use crate::actions::browser::{Browser, BrowserOptions};
use crate::actions::{Access, ActionCtx, ActionError, PathPolicy, run_other};

/// How deep `call` may nest: deeper is almost surely a cycle through an expression path.
const MAX_CALL_DEPTH: usize = 32;
/// Leaf actions enforce their own timeout with a precise message; this is the backstop.
const TIMEOUT_GRACE: Duration = Duration::from_secs(2);

pub(crate) struct Settings {
    pub(crate) run_dir: PathBuf,
    pub(crate) run_id: String,
    pub(crate) job: Option<JobInfo>,
    pub(crate) headless: Option<bool>,
    pub(crate) webdriver_url: Option<String>,
    /// Overrides `browser.startup_timeout_ms` (the machine knows how slow it is).
    pub(crate) browser_startup_timeout: Option<Duration>,
    pub(crate) screenshots: ScreenshotPolicy,
    pub(crate) allow_shell: bool,
    pub(crate) paths: PathPolicy,
    pub(crate) cancel: CancellationToken,
}

/// Why a step (and so the run) stopped.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// What went wrong, without the step's name (what `error.message` shows in `catch`).
    pub(crate) message: String,
    pub(crate) kind: FailureKind,
    /// The path of the step that failed, once known.
    pub(crate) step: Option<String>,
    /// Its number in the run (`#5` in progress lines and the report).
    pub(crate) seq: Option<u64>,
    /// How that step is shown to people.
    pub(crate) label: String,
    pub(crate) url: Option<String>,
    /// The screenshot taken after the failure.
    pub(crate) screenshot: Option<PathBuf>,
    pub(crate) cancelled: bool,
}

impl Failure {
    fn new(message: impl Into<String>, kind: FailureKind) -> Self {
        Failure {
            message: message.into(),
            kind,
            step: None,
            seq: None,
            label: String::new(),
            url: None,
            screenshot: None,
            cancelled: false,
        }
    }

    fn cancelled() -> Self {
        Failure {
            cancelled: true,
            ..Failure::new("the run was cancelled", FailureKind::Application)
        }
    }

    /// The whole story for people: which step (its number as progress lines show it,
    /// then its path in the file for editors), what happened, where the screenshot is.
    pub(crate) fn describe(&self) -> String {
        let mut text = match (&self.step, self.seq) {
            (Some(step), Some(seq)) if !self.cancelled => {
                format!("step #{seq} ({step}, {}): {}", self.label, self.message)
            }
            (Some(step), None) if !self.cancelled => format!("{step}: {}", self.message),
            _ => self.message.clone(),
        };
        if let Some(file) = &self.screenshot {
            text.push_str(&format!("; screenshot: {}", file.display()));
        }
        text
    }

    pub(crate) fn into_error(self) -> StepError {
        StepError {
            message: self.describe(),
            kind: self.kind,
            step: self.step,
            seq: self.seq,
            url: self.url,
        }
    }

    fn as_value(&self) -> Value {
        serde_json::json!({
            "message": self.message,
            "type": self.kind,
            "step": self.step,
        })
    }
}

pub(crate) struct Interpreter<'w> {
    loaded: &'w LoadedWorkflow,
    settings: Settings,
    recorder: Recorder,
    renderer: Renderer,
    frames: Vec<Frame>,
    browser: Option<Browser>,
    seq: u64,
    screenshot_count: u64,
    /// How many enclosing constructs will handle a failure of the step running now: the
    /// `steps` of a `try` with a `catch`, and steps with `continue_on_error`.
    handlers: usize,
    /// The secret parts of step outputs, by step number, left by the step that made
    /// them for `step` to record (most outputs are clean and have no entry).
    output_taints: HashMap<u64, Taint>,
}

/// The secret parts of a workflow's inputs: those declared `secret`. Their texts are
/// masked wherever they appear from now on.
pub(crate) fn secret_inputs(
    workflow: &Workflow,
    inputs: &Map<String, Value>,
    recorder: &mut Recorder,
) -> Taint {
    let mut taint = Taint::Clean;
    for (name, spec) in &workflow.inputs {
        if spec.secret {
            taint.set(name, Taint::Whole);
            if let Some(Value::String(secret)) = inputs.get(name) {
                recorder.add_secret(secret);
            }
        }
    }
    taint
}

impl<'w> Interpreter<'w> {
    pub(crate) fn new(
        loaded: &'w LoadedWorkflow,
        (inputs, inputs_taint): (Map<String, Value>, Taint),
        assets: Map<String, Value>,
        settings: Settings,
        recorder: Recorder,
    ) -> Self {
        let frame = Frame::new(
            inputs,
            inputs_taint,
            absolute(&loaded.dir),
            loaded.workflow.name.clone(),
        );
        Interpreter {
            renderer: Renderer::new(
                &settings.run_dir,
                &settings.run_id,
                settings.job.as_ref(),
                &assets,
            ),
            loaded,
            settings,
            recorder,
            frames: vec![frame],
            browser: None,
            seq: 0,
            screenshot_count: 0,
            handlers: 0,
            output_taints: HashMap::new(),
        }
    }

    fn frame(&self) -> &Frame {
        // There is always the top frame; `call` pushes and pops around it.
        &self.frames[self.frames.len() - 1]
    }

    fn frame_mut(&mut self) -> &mut Frame {
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }

    pub(crate) async fn run_workflow(&mut self) -> Result<(), Failure> {
        let steps = &self.loaded.workflow.steps;
        self.steps(steps, "steps".to_owned(), None).await
    }

    /// Closes the browser and evaluates the workflow's outputs, as they are shown
    /// (secret ones masked).
    pub(crate) async fn finish(mut self) -> (Recorder, Result<Map<String, Value>, Failure>) {
        if let Some(browser) = self.browser.take() {
            browser.quit().await;
        }
        let outputs = self.outputs(&self.loaded.workflow.outputs);
        let shown = outputs.map(|outputs| match outputs.shown() {
            Value::Object(map) => map,
            _ => Map::new(),
        });
        (self.recorder, shown)
    }

    fn outputs(&self, outputs: &Map<String, Value>) -> Result<Rendered, Failure> {
        self.render(&Value::Object(outputs.clone()))
            .map_err(|e| Failure {
                step: Some("outputs".into()),
                ..Failure::new(e, FailureKind::Application)
            })
    }

    /// Renders a value in the current frame.
    fn render(&self, value: &Value) -> Result<Rendered, String> {
        self.renderer.render(value, self.frame())
    }

    fn steps<'a>(
        &'a mut self,
        steps: &'a [Step],
        path: String,
        parent: Option<u64>,
    ) -> LocalBoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            for (i, step) in steps.iter().enumerate() {
                if self.settings.cancel.is_cancelled() {
                    return Err(Failure::cancelled());
                }
                self.step(step, format!("{path}[{i}]"), parent).await?;
            }
            Ok(())
        })
    }

    async fn step(
        &mut self,
        step: &Step,
        path: String,
        parent: Option<u64>,
    ) -> Result<(), Failure> {
        // A loop of steps that never wait must still let timers, Ctrl-C and timeouts in.
        tokio::task::consume_budget().await;
        if let Some(message) = self.recorder.limit_reached() {
            return Err(Failure::new(
                format!("{message}; stopped before {path}"),
                FailureKind::Application,
            ));
        }
        self.seq += 1;
        let seq = self.seq;
        let started = Instant::now();
        let label = step.label_with(|target| {
            // Best effort: a target whose expression fails shows as written; the step
            // itself reports the error. Masked before it is shortened, which could cut a
            // secret in two.
            match self.render_text(target) {
                Ok(target) => self.recorder.redact_text(&target.shown_text()),
                Err(_) => target.to_owned(),
            }
        });
        let label = self.recorder.redact_text(&label);
        self.recorder.emit(RunEvent::StepStarted {
            seq,
            parent,
            path: path.clone(),
            action: step.action.name().to_owned(),
            id: step.common.id.clone(),
            label: label.clone(),
            at: chrono::Utc::now(),
        });

        let mut attempts = 0;
        // A step cut off by a timeout drops its future half-way: what it pushed (call
        // frames, loop variables, handlers) is put back from here.
        let (handlers, frames) = (self.handlers, self.frames.len());
        let locals = self.frame().locals.len();
        if step.common.continue_on_error {
            self.handlers += 1;
        }
        let result = match self.when(step) {
            Ok(false) => {
                self.handlers = handlers;
                self.finish_step(seq, StepStatus::Skipped, started, 0, None, None, None);
                return Ok(());
            }
            Err(message) => Err(Failure::new(message, FailureKind::Application)),
            Ok(true) => {
                let retry = step.common.retry.clone();
                let max = retry.as_ref().map_or(1, |r| r.attempts.max(1));
                let mut delay = retry.as_ref().map_or(0.0, |r| r.delay_ms as f64);
                loop {
                    attempts += 1;
                    let result = self.attempt(step, &path, seq).await;
                    let retryable = matches!(&result, Err(f) if !f.cancelled && f.kind != FailureKind::Business);
                    if !retryable || attempts >= max {
                        break result;
                    }
                    tracing::info!(step = %path, attempt = attempts, "Step failed; retrying.");
                    if self
                        .sleep(Duration::from_millis(delay as u64))
                        .await
                        .is_err()
                    {
                        break Err(Failure::cancelled());
                    }
                    delay *= retry.as_ref().map_or(1.0, |r| r.backoff);
                }
            }
        };
        self.handlers = handlers;
        self.frames.truncate(frames);
        self.frame_mut().locals.truncate(locals);

        let leaf = !step.action.is_control();
        let screenshot = match (&result, leaf) {
            (_, false) => None,
            (Err(f), true) if f.cancelled => None,
            (Err(_), true) => self.screenshot(seq, step, true).await,
            (Ok(_), true) => self.screenshot(seq, step, false).await,
        };
        let output_taint = self.output_taints.remove(&seq).unwrap_or_default();
        match result {
            Ok(output) => {
                let shown =
                    (!output.is_null()).then(|| self.recorder.redact(&output_taint.mask(&output)));
                if let Some(id) = &step.common.id {
                    let entry = serde_json::json!({ "output": output, "status": "succeeded" });
                    self.frame_mut().steps.insert(id.clone(), entry);
                    self.frame_mut()
                        .set_taint("steps", id, Taint::under("output", output_taint));
                }
                self.finish_step(
                    seq,
                    StepStatus::Succeeded,
                    started,
                    attempts,
                    shown,
                    None,
                    screenshot,
                );
                Ok(())
            }
            Err(mut failure) => {
                if failure.step.is_none() {
                    failure.step = Some(path.clone());
                    failure.seq = Some(seq);
                    failure.label = label.clone();
                    if step.action.is_browser() && failure.url.is_none() {
                        failure.url = self.current_url().await;
                    }
                    failure.screenshot = screenshot.as_ref().map(|f| self.settings.run_dir.join(f));
                }
                let status = if failure.cancelled {
                    StepStatus::Cancelled
                } else if step.common.continue_on_error {
                    StepStatus::FailedIgnored
                } else if self.handlers > 0 {
                    StepStatus::Handled
                } else {
                    StepStatus::Failed
                };
                let mut step_error = failure.clone().into_error();
                step_error.message = self.recorder.redact_text(&step_error.message);
                self.finish_step(
                    seq,
                    status,
                    started,
                    attempts,
                    None,
                    Some(step_error),
                    screenshot,
                );
                if status == StepStatus::FailedIgnored {
                    if let Some(id) = &step.common.id {
                        let message = self.recorder.redact_text(&failure.message);
                        let entry = serde_json::json!({ "output": null, "status": "failed", "error": message });
                        self.frame_mut().steps.insert(id.clone(), entry);
                        self.frame_mut().set_taint("steps", id, Taint::Clean);
                    }
                    return Ok(());
                }
                Err(failure)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_step(
        &mut self,
        seq: u64,
        status: StepStatus,
        started: Instant,
        attempts: u32,
        output: Option<Value>,
        error: Option<StepError>,
        screenshot: Option<String>,
    ) {
        self.recorder.emit(RunEvent::StepFinished {
            seq,
            status,
            at: chrono::Utc::now(),
            duration_ms: started.elapsed().as_millis() as u64,
            attempts,
            output,
            error,
            screenshot,
        });
    }

    fn when(&self, step: &Step) -> Result<bool, String> {
        match &step.common.when {
            None => Ok(true),
            Some(expr) => self
                .renderer
                .truthy(expr, self.frame())
                .map_err(|e| format!("`when`: {e}")),
        }
    }

    /// One try of a step, under its timeout.
    async fn attempt(&mut self, step: &Step, path: &str, seq: u64) -> Result<Value, Failure> {
        let timeout = Duration::from_millis(
            step.common
                .timeout_ms
                .unwrap_or(self.loaded.workflow.defaults.timeout_ms),
        );
        // Control steps are bounded only when their own `timeout_ms` says so.
        let limit = match (step.action.is_control(), step.common.timeout_ms) {
            (true, None) => None,
            (true, Some(_)) => Some(timeout),
            (false, _) => Some(timeout + TIMEOUT_GRACE),
        };
        // Starting chromedriver and Chromium is not the step's work, and on a busy machine
        // it alone can take longer than a step's timeout: it has its own limits (see
        // `Browser::start`), and the step's clock starts once the browser is up.
        if matches!(step.action, Action::BrowserOpen(_)) && self.browser.is_none() {
            self.start_browser(seq).await?;
        }
        let work = self.execute(step, path, seq, timeout);
        match limit {
            None => work.await,
            Some(limit) => match tokio::time::timeout(limit, work).await {
                Ok(result) => result,
                Err(_) => {
                    let phase = if step.action.is_browser() {
                        format!(" ({})", crate::actions::browser::phase(&step.action))
                    } else {
                        String::new()
                    };
                    Err(Failure::new(
                        format!("timed out after {}{phase}", human_duration(timeout)),
                        FailureKind::Application,
                    ))
                }
            },
        }
    }

    fn execute<'a>(
        &'a mut self,
        step: &'a Step,
        path: &'a str,
        seq: u64,
        timeout: Duration,
    ) -> LocalBoxFuture<'a, Result<Value, Failure>> {
        Box::pin(async move {
            let app = |message: String| Failure::new(message, FailureKind::Application);
            match &step.action {
                Action::Set(args) => {
                    for (name, value) in &args.vars {
                        let value = self
                            .render(value)
                            .map_err(|e| app(format!("vars.{name}: {e}")))?;
                        let frame = self.frame_mut();
                        frame.vars.insert(name.clone(), value.value);
                        frame.set_taint("vars", name, value.taint);
                    }
                    Ok(Value::Null)
                }
                Action::Log(args) => {
                    let message = self.render_text(args.message.as_str())?;
                    let message = self.recorder.redact_text(&message.shown_text());
                    tracing::info!(step = %path, "{message}");
                    self.recorder.emit(RunEvent::Log {
                        seq,
                        at: chrono::Utc::now(),
                        message,
                    });
                    Ok(Value::Null)
                }
                Action::If(args) => {
                    let holds = self
                        .renderer
                        .truthy(&args.condition, self.frame())
                        .map_err(|e| app(format!("condition: {e}")))?;
                    let (branch, steps) = if holds {
                        ("then", &args.then)
                    } else {
                        ("else", &args.else_)
                    };
                    self.steps(steps, format!("{path}.{branch}"), Some(seq))
                        .await?;
                    Ok(Value::Null)
                }
                Action::ForEach(args) => {
                    let items = self
                        .render(&args.items)
                        .map_err(|e| app(format!("items: {e}")))?;
                    let taint = items.taint;
                    let items: Vec<(Value, Taint)> = match items.value {
                        Value::Array(items) => items
                            .into_iter()
                            .enumerate()
                            .map(|(i, item)| (item, taint.at(&[i.to_string()])))
                            .collect(),
                        // A secret map's keys are secret too.
                        Value::Object(map) => map
                            .into_iter()
                            .map(|(key, value)| {
                                let part = match &taint {
                                    Taint::Whole => Taint::Whole,
                                    _ => Taint::under("value", taint.at(&[&key])),
                                };
                                (serde_json::json!({"key": key, "value": value}), part)
                            })
                            .collect(),
                        Value::Null => Vec::new(),
                        other => {
                            return Err(app(format!(
                                "items is {}, expected a list",
                                alq_shared::workflow::json_type_name(&other)
                            )));
                        }
                    };
                    let length = items.len();
                    for (i, (item, taint)) in items.into_iter().enumerate() {
                        if self.settings.cancel.is_cancelled() {
                            return Err(Failure::cancelled());
                        }
                        let looping = serde_json::json!({
                            "index": i + 1, "index0": i, "first": i == 0, "last": i + 1 == length, "length": length,
                        });
                        let locals = &mut self.frame_mut().locals;
                        locals.push((args.as_.clone(), item, taint));
                        locals.push(("loop".to_owned(), looping, Taint::Clean));
                        let result = self
                            .steps(&args.steps, format!("{path}.steps"), Some(seq))
                            .await;
                        let locals = &mut self.frame_mut().locals;
                        locals.truncate(locals.len() - 2);
                        result?;
                    }
                    Ok(serde_json::json!({ "iterations": length }))
                }
                Action::While(args) => {
                    let mut iterations: u32 = 0;
                    // Its own timeout_ms bounds the whole loop, even one that never waits.
                    let deadline = step.common.timeout_ms.map(|_| Instant::now() + timeout);
                    loop {
                        let holds = self
                            .renderer
                            .truthy(&args.condition, self.frame())
                            .map_err(|e| app(format!("condition: {e}")))?;
                        if !holds {
                            break;
                        }
                        if iterations >= args.max_iterations {
                            return Err(app(format!(
                                "the condition `{}` still holds after max_iterations ({}) iterations",
                                args.condition, args.max_iterations
                            )));
                        }
                        if self.settings.cancel.is_cancelled() {
                            return Err(Failure::cancelled());
                        }
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            return Err(app(format!(
                                "the condition `{}` still holds after {} (timeout_ms) and {iterations} iterations",
                                args.condition,
                                human_duration(timeout)
                            )));
                        }
                        iterations += 1;
                        self.frame_mut().locals.push((
                            "loop".to_owned(),
                            serde_json::json!({ "index": iterations, "index0": iterations - 1 }),
                            Taint::Clean,
                        ));
                        let result = self
                            .steps(&args.steps, format!("{path}.steps"), Some(seq))
                            .await;
                        self.frame_mut().locals.pop();
                        result?;
                    }
                    Ok(serde_json::json!({ "iterations": iterations }))
                }
                Action::Try(args) => {
                    let catches = !args.catch.is_empty();
                    self.handlers += usize::from(catches);
                    let mut result = self
                        .steps(&args.steps, format!("{path}.steps"), Some(seq))
                        .await;
                    self.handlers -= usize::from(catches);
                    if let Err(failure) = &result
                        && !failure.cancelled
                        && !args.catch.is_empty()
                    {
                        // `error.message` is the message as events show it.
                        let mut error = failure.as_value();
                        error["message"] =
                            Value::String(self.recorder.redact_text(&failure.message));
                        self.frame_mut()
                            .locals
                            .push(("error".to_owned(), error, Taint::Clean));
                        result = self
                            .steps(&args.catch, format!("{path}.catch"), Some(seq))
                            .await;
                        self.frame_mut().locals.pop();
                    }
                    if !matches!(&result, Err(f) if f.cancelled) {
                        self.steps(&args.finally, format!("{path}.finally"), Some(seq))
                            .await?;
                    }
                    result.map(|()| Value::Null)
                }
                Action::Fail(args) => {
                    let message = self.render_text(args.message.as_str())?;
                    Err(Failure::new(message.shown_text(), args.kind))
                }
                Action::Sleep(args) => {
                    let ms = match &args.ms {
                        Param::Value(ms) => *ms,
                        Param::Expr(text) => Param::<u64>::Expr(self.render_text(text)?.text())
                            .get()
                            .map_err(|e| app(format!("ms: {e}")))?,
                    };
                    self.sleep(Duration::from_millis(ms))
                        .await
                        .map_err(|()| Failure::cancelled())?;
                    Ok(Value::Null)
                }
                Action::Call(args) => self.call(args, path, seq).await,
                action => {
                    let fields = self.render(&action.fields()).map_err(app)?;
                    let fields = self.given_fields(action, fields, seq);
                    let action = action
                        .with_fields(fields)
                        .map_err(|e| app(format!("after rendering expressions: {e}")))?;
                    if let Action::BrowserType(typed) = &action
                        && typed.secret
                    {
                        self.recorder.add_secret(typed.text.as_str());
                    }
                    self.leaf(&action, timeout).await
                }
            }
        })
    }

    async fn leaf(&mut self, action: &Action, timeout: Duration) -> Result<Value, Failure> {
        if action.is_browser()
            && !matches!(action, Action::BrowserClose(_))
            && self.browser.is_none()
        {
            // `browser.open` started it before its clock started (see `attempt`).
            if !matches!(action, Action::BrowserOpen(_)) {
                return Err(Failure::new(
                    "no browser is open: add a `browser.open` step before this one",
                    FailureKind::Application,
                ));
            }
        }
        let workflow_dir = self.frame().workflow_dir.clone();
        let ctx = ActionCtx {
            timeout,
            cancel: &self.settings.cancel,
            workflow_dir: &workflow_dir,
            run_dir: &self.settings.run_dir,
            allow_shell: self.settings.allow_shell,
            paths: &self.settings.paths,
        };
        let result = if let Action::BrowserClose(_) = action {
            if let Some(browser) = self.browser.take() {
                browser.quit().await;
            }
            Ok(Value::Null)
        } else if action.is_browser() {
            match self.browser.as_mut() {
                Some(browser) => browser.run(action, &ctx).await,
                None => Err(ActionError::app("the browser is not running")),
            }
        } else {
            run_other(action, &ctx).await
        };
        result.map_err(into_failure)
    }

    /// Starts chromedriver (or connects to the WebDriver server) and the browser, within
    /// the start-up budget, for step `seq`; records how long it took.
    async fn start_browser(&mut self, seq: u64) -> Result<(), Failure> {
        let config = &self.loaded.workflow.browser;
        let options = BrowserOptions {
            headless: self.settings.headless.unwrap_or(config.headless),
            webdriver_url: self
                .settings
                .webdriver_url
                .clone()
                .or_else(|| config.webdriver_url.clone()),
            args: config.args.clone(),
            window: config.window,
            download_dir: self.settings.run_dir.join("downloads"),
        };
        let budget = self
            .settings
            .browser_startup_timeout
            .unwrap_or(Duration::from_millis(config.startup_timeout_ms));
        let started = Instant::now();
        let browser = Browser::start_within(&options, budget, &self.settings.cancel)
            .await
            .map_err(into_failure)?;
        self.browser = Some(browser);
        self.recorder.emit(RunEvent::BrowserStarted {
            seq,
            at: chrono::Utc::now(),
            duration_ms: started.elapsed().as_millis() as u64,
            startup_timeout_ms: budget.as_millis() as u64,
        });
        Ok(())
    }

    async fn call(
        &mut self,
        args: &alq_shared::workflow::CallArgs,
        path: &str,
        seq: u64,
    ) -> Result<Value, Failure> {
        let app = |message: String| Failure::new(message, FailureKind::Application);
        if self.frames.len() > MAX_CALL_DEPTH {
            return Err(app(format!(
                "`call` nests deeper than {MAX_CALL_DEPTH} workflows: is there a cycle?"
            )));
        }
        let target = self.render_text(args.workflow.as_str())?.text();
        let file = self.frame().workflow_dir.join(&target);
        let inputs = self
            .render(&Value::Object(args.inputs.clone()))
            .map_err(|e| app(format!("inputs: {e}")))?;
        let paths = &self.settings.paths;
        let file = paths
            .check(&target, &file, Access::Read)
            .map_err(|why| app(format!("`call` of `{target}`: {why}")))?;
        let mut inputs_taint = inputs.taint;
        let inputs = match inputs.value {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        // Called files were validated with the caller; a path built by an expression
        // is loaded (and validated) here, when its name is known.
        let guard = |p: &Path| {
            paths
                .check(&p.display().to_string(), p, Access::Read)
                .map(|_| ())
        };
        let loaded = load_guarded(&file, &guard)
            .map_err(|e| app(format!("cannot load `{target}`:\n{e}")))?;
        let inputs = resolve_inputs(&loaded.workflow, &inputs)
            .map_err(|p| app(format!("inputs of `{target}`: {}", p.join("; "))))?;
        match secret_inputs(&loaded.workflow, &inputs, &mut self.recorder) {
            Taint::Clean => {}
            Taint::Parts(parts) => parts.into_iter().for_each(|(k, t)| inputs_taint.set(&k, t)),
            Taint::Whole => inputs_taint = Taint::Whole,
        }
        self.frames.push(Frame::new(
            inputs,
            inputs_taint,
            absolute(&loaded.dir),
            loaded.workflow.name.clone(),
        ));
        let result = self
            .steps(&loaded.workflow.steps, format!("{path}.call"), Some(seq))
            .await;
        let outputs = result.and_then(|()| self.outputs(&loaded.workflow.outputs));
        self.frames.pop();
        // The caller gets the outputs in clear, and knows which are secret.
        outputs.map(|outputs| {
            self.output_taints.insert(seq, outputs.taint);
            outputs.value
        })
    }

    fn render_text(&self, text: &str) -> Result<Rendered, Failure> {
        self.render(&Value::String(text.to_owned()))
            .map_err(|e| Failure::new(e, FailureKind::Application))
    }

    /// The fields an action is given, after rendering. Actions get secrets in clear
    /// (typing a password, sending a header), except where they would write them into a
    /// file. When the action computes its output from its fields, a field that read a
    /// secret makes the output secret.
    ///
    /// What an action is given in clear can come back anywhere (a page or a server
    /// echoes it, an error message quotes it): from now on those texts are masked
    /// wherever they appear. A value that stays in expressions needs no such search: it
    /// is masked wherever it is shown because it is secret.
    fn given_fields(&mut self, action: &Action, fields: Rendered, seq: u64) -> Value {
        for secret in &fields.secrets {
            self.recorder.add_secret(secret);
        }
        let (written, computes_output): (&[&str], bool) = match action {
            Action::FileWrite(_) => (&["text", "json"], false),
            Action::CsvWrite(_) => (&["rows"], false),
            Action::JsonParse(_) | Action::ShellRun(_) | Action::BrowserScript(_) => (&[], true),
            _ => (&[], false),
        };
        if computes_output && !fields.taint.is_clean() {
            self.output_taints.insert(seq, Taint::Whole);
        }
        let shown = fields.shown();
        let mut given = fields.value;
        for name in written {
            if let (Some(slot), Some(masked)) = (given.get_mut(*name), shown.get(*name)) {
                *slot = self.recorder.redact(masked);
            }
        }
        given
    }

    /// Waits, unless the run is cancelled first.
    async fn sleep(&self, duration: Duration) -> Result<(), ()> {
        tokio::select! {
            () = tokio::time::sleep(duration) => Ok(()),
            () = self.settings.cancel.cancelled() => Err(()),
        }
    }

    async fn current_url(&self) -> Option<String> {
        match &self.browser {
            Some(browser) => browser.current_url().await,
            None => None,
        }
    }

    /// Takes the screenshot the policy asks for after a step; returns its file name.
    async fn screenshot(&mut self, seq: u64, step: &Step, failed: bool) -> Option<String> {
        let wanted = match step.common.screenshot {
            Some(wanted) => wanted,
            None => match self.settings.screenshots {
                ScreenshotPolicy::EachStep => true,
                ScreenshotPolicy::OnError => failed,
                ScreenshotPolicy::Never => false,
            },
        };
        if !wanted {
            return None;
        }
        let png = self.browser.as_ref()?.screenshot_png().await?;
        let name = format!("step-{seq:03}-{}.png", step.action.name());
        match tokio::fs::write(self.settings.run_dir.join(&name), png).await {
            Ok(()) => {
                self.screenshot_count += 1;
                Some(name)
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot save a screenshot.");
                None
            }
        }
    }
}

fn into_failure(error: ActionError) -> Failure {
    match error {
        ActionError::Failed { message, kind } => Failure::new(message, kind),
        ActionError::Cancelled => Failure::cancelled(),
    }
}

fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `1.5s`, `250ms`, `2m 5s`: durations as people read them.
pub(crate) fn human_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    match ms {
        0..=999 => format!("{ms}ms"),
        1000..=59_999 if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        1000..=59_999 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m {}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}
