//! The self-contained HTML report of a run (`report.html`): a header with the outcome,
//! then the step tree with status colours, durations, outputs, errors, logs and
//! screenshot thumbnails. Everything is inline (CSS, images as data URIs, a few lines of
//! script), so the file can be mailed or attached to a ticket and still show everything
//! but the full-size screenshots, which it links to next to it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use alq_shared::events::{RunEvent, RunStatus, StepError, StepStatus};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde_json::Value;

/// Screenshots larger than this are linked but not embedded, so a report stays small
/// enough to open quickly and to mail.
const MAX_EMBEDDED_IMAGE: u64 = 2 * 1024 * 1024;
/// Outputs longer than this (pretty JSON characters) are cut in the report; the whole
/// value stays in `events.ndjson`.
const MAX_OUTPUT_CHARS: usize = 4000;

/// Appends formatted text to a `String`; writing to a `String` cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// Where the report finds the screenshots its events name.
#[derive(Debug, Clone, Copy)]
pub enum Screenshots<'a> {
    /// Files in the run folder (`alq run`).
    Dir(&'a Path),
    /// Bytes by file name (`alq job report`, from a job's artifacts).
    Bytes(&'a BTreeMap<String, Vec<u8>>),
}

impl Screenshots<'_> {
    /// The bytes of `file`, when it can be embedded: inside the run folder and not too big.
    fn embeddable(&self, file: &str) -> Option<Vec<u8>> {
        match self {
            Screenshots::Dir(run_dir) => {
                // A file name that tries to leave the run folder is linked (harmless)
                // but never read.
                let inside = Path::new(file)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
                let path = run_dir.join(file);
                let small =
                    inside && std::fs::metadata(&path).is_ok_and(|m| m.len() <= MAX_EMBEDDED_IMAGE);
                small.then(|| std::fs::read(&path).ok()).flatten()
            }
            Screenshots::Bytes(files) => files
                .get(file)
                .filter(|b| u64::try_from(b.len()).is_ok_and(|n| n <= MAX_EMBEDDED_IMAGE))
                .cloned(),
        }
    }
}

/// Renders the report of a run from its events; screenshots are read from `run_dir`.
pub fn render(workflow_name: &str, events: &[RunEvent], run_dir: &Path) -> String {
    render_with(workflow_name, events, Screenshots::Dir(run_dir))
}

/// Renders the report of a run from its events, with the screenshots from `shots`.
pub fn render_with(workflow_name: &str, events: &[RunEvent], shots: Screenshots<'_>) -> String {
    let run = Run::from_events(events);
    let status = run.status_class();
    let mut out = String::with_capacity(16 * 1024);
    w!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · {} · alq</title><style>{}</style></head><body><div class=\"wrap\">",
        text(workflow_name),
        status_word(status),
        include_str!("report.css"),
    );
    header(&mut out, workflow_name, &run, status);
    steps(&mut out, &run, shots);
    if let Some(inputs) = run.inputs.filter(|i| !i.is_empty()) {
        key_values(&mut out, "Inputs", inputs);
    }
    if let Some(outputs) = run.outputs.filter(|o| !o.is_empty()) {
        key_values(&mut out, "Outputs", outputs);
    }
    w!(
        out,
        "<footer>Report written by alq {}. Screenshots, <code>events.ndjson</code> and this \
         file are in the run folder.</footer></div>{SCRIPT}</body></html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// Opens or closes every collapsible part at once: useful on long runs.
const SCRIPT: &str = "<script>function alqAll(o){document.querySelectorAll('details.step')\
    .forEach(function(d){d.open=o;});}</script>";

/// One step execution, put together from its events.
struct StepNode<'a> {
    label: &'a str,
    action: &'a str,
    path: &'a str,
    started: DateTime<Utc>,
    finished: Option<Finished<'a>>,
    logs: Vec<(DateTime<Utc>, &'a str)>,
    /// The browser this step started: how long it took, and the budget it had (ms).
    browser: Option<(u64, u64)>,
    parent: Option<u64>,
    children: Vec<u64>,
    /// How the step is shown and counted (`step_class`), set once every event is read.
    class: &'static str,
}

/// What a `StepFinished` event says.
struct Finished<'a> {
    status: StepStatus,
    duration_ms: u64,
    attempts: u32,
    output: Option<&'a Value>,
    error: Option<&'a StepError>,
    screenshot: Option<&'a str>,
}

/// The whole run, put together from its events.
struct Run<'a> {
    started: Option<DateTime<Utc>>,
    inputs: Option<&'a serde_json::Map<String, Value>>,
    finished: Option<(RunStatus, u64, Option<&'a StepError>)>,
    outputs: Option<&'a serde_json::Map<String, Value>>,
    /// How long starting the browser took, in ms (the first start, if it restarted).
    browser_start: Option<u64>,
    steps: BTreeMap<u64, StepNode<'a>>,
    roots: Vec<u64>,
    /// Log lines whose step is unknown (they are still shown, at the top).
    orphan_logs: Vec<(DateTime<Utc>, &'a str)>,
}

impl<'a> Run<'a> {
    fn from_events(events: &'a [RunEvent]) -> Self {
        let mut run = Run {
            started: None,
            inputs: None,
            finished: None,
            outputs: None,
            browser_start: None,
            steps: BTreeMap::new(),
            roots: Vec::new(),
            orphan_logs: Vec::new(),
        };
        for event in events {
            match event {
                RunEvent::RunStarted { at, inputs, .. } => {
                    run.started = Some(*at);
                    run.inputs = Some(inputs);
                }
                RunEvent::StepStarted {
                    seq,
                    parent,
                    path,
                    action,
                    label,
                    at,
                    ..
                } => {
                    // A parent always starts before its children, so a link to a later
                    // (or unknown) step is bad data: show the step at the top instead of
                    // risking a cycle.
                    let parent = parent.filter(|p| p < seq && run.steps.contains_key(p));
                    match parent {
                        Some(p) => {
                            if let Some(parent) = run.steps.get_mut(&p) {
                                parent.children.push(*seq);
                            }
                        }
                        None => run.roots.push(*seq),
                    }
                    run.steps.insert(
                        *seq,
                        StepNode {
                            label,
                            action,
                            path,
                            started: *at,
                            finished: None,
                            logs: Vec::new(),
                            browser: None,
                            parent,
                            children: Vec::new(),
                            class: "running",
                        },
                    );
                }
                RunEvent::StepFinished {
                    seq,
                    status,
                    duration_ms,
                    attempts,
                    output,
                    error,
                    screenshot,
                    ..
                } => {
                    if let Some(step) = run.steps.get_mut(seq) {
                        step.finished = Some(Finished {
                            status: *status,
                            duration_ms: *duration_ms,
                            attempts: *attempts,
                            output: output.as_ref(),
                            error: error.as_ref(),
                            screenshot: screenshot.as_deref(),
                        });
                    }
                }
                RunEvent::BrowserStarted {
                    seq,
                    duration_ms,
                    startup_timeout_ms,
                    ..
                } => {
                    run.browser_start.get_or_insert(*duration_ms);
                    if let Some(step) = run.steps.get_mut(seq) {
                        step.browser = Some((*duration_ms, *startup_timeout_ms));
                    }
                }
                RunEvent::Log { seq, at, message } => match run.steps.get_mut(seq) {
                    Some(step) => step.logs.push((*at, message)),
                    None => run.orphan_logs.push((*at, message)),
                },
                RunEvent::RunFinished {
                    status,
                    duration_ms,
                    error,
                    outputs,
                    ..
                } => {
                    run.finished = Some((*status, *duration_ms, error.as_ref()));
                    run.outputs = Some(outputs);
                }
            }
        }
        run.classify();
        run
    }

    /// Sets each step's class. A failure that did not stop its parent was handled
    /// (a `try` caught it, `continue_on_error` ignored it, a retry of the parent
    /// succeeded): the step shows as handled, not failed, and so do the failed steps
    /// below it. Parents start before their children, so one pass in seq order sees
    /// each parent's class before its children's.
    fn classify(&mut self) {
        let seqs: Vec<u64> = self.steps.keys().copied().collect();
        for seq in seqs {
            let Some(node) = self.steps.get(&seq) else {
                continue;
            };
            let mut class = step_class(node);
            let parent = node
                .parent
                .and_then(|p| self.steps.get(&p))
                .map(|p| p.class);
            if class == "failed"
                && parent.is_some_and(|p| !matches!(p, "failed" | "cancelled" | "running"))
            {
                class = "handled";
            }
            if let Some(node) = self.steps.get_mut(&seq) {
                node.class = class;
            }
        }
    }

    /// The CSS status class of the run: a run without `RunFinished` is still running
    /// (or its process died).
    fn status_class(&self) -> &'static str {
        match self.finished {
            Some((RunStatus::Succeeded, ..)) => "succeeded",
            Some((RunStatus::Failed, ..)) => "failed",
            Some((RunStatus::Cancelled, ..)) => "cancelled",
            None => "running",
        }
    }

    /// Whether the step or one of its descendants failed: such branches start open.
    fn has_failure(&self, seq: u64) -> bool {
        self.steps.get(&seq).is_some_and(|step| {
            matches!(step.class, "failed" | "handled")
                || step.children.iter().any(|c| self.has_failure(*c))
        })
    }
}

fn header(out: &mut String, name: &str, run: &Run, status: &str) {
    w!(
        out,
        "<header class=\"run step st-{status}\"><h1><span class=\"brand\">alq run</span>{}\
         <span class=\"badge\">{}</span></h1><dl class=\"facts\">",
        text(name),
        status_word(status)
    );
    if let Some(started) = run.started {
        w!(
            out,
            "<div><dt>Started</dt><dd>{}</dd></div>",
            started.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    if let Some((_, duration_ms, _)) = run.finished {
        w!(
            out,
            "<div><dt>Duration</dt><dd>{}</dd></div>",
            duration(duration_ms)
        );
    }
    if let Some(ms) = run.browser_start {
        w!(
            out,
            "<div><dt>Browser start</dt><dd>{}</dd></div>",
            duration(ms)
        );
    }
    w!(
        out,
        "<div><dt>Steps run</dt><dd>{}</dd></div></dl>",
        run.steps.len()
    );

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for step in run.steps.values() {
        *counts.entry(step.class).or_default() += 1;
    }
    out.push_str("<div class=\"counts\">");
    for class in [
        "succeeded",
        "failed",
        "handled",
        "failed_ignored",
        "skipped",
        "cancelled",
        "running",
    ] {
        // Succeeded and failed are always shown: "0 failed" is news too.
        let n = counts.get(class).copied().unwrap_or_default();
        if n > 0 || matches!(class, "succeeded" | "failed") {
            w!(
                out,
                "<span class=\"chip step st-{class}\">{n} {}</span>",
                status_word(class)
            );
        }
    }
    out.push_str("</div>");

    if let Some((_, _, Some(error))) = run.finished {
        w!(
            out,
            "<div class=\"failure\"><strong>{} failure</strong><div class=\"msg\">{}</div>",
            kind_word(error),
            text(&error.message)
        );
        where_line(out, error);
        out.push_str("</div>");
    }
    out.push_str("</header>");
}

fn steps(out: &mut String, run: &Run, shots: Screenshots<'_>) {
    out.push_str(
        "<section class=\"box\"><h2>Steps<span><button type=\"button\" \
         onclick=\"alqAll(true)\">Expand all</button><button type=\"button\" \
         onclick=\"alqAll(false)\">Collapse all</button></span></h2><div class=\"tree\">",
    );
    if !run.orphan_logs.is_empty() {
        out.push_str("<div class=\"body\">");
        logs(out, &run.orphan_logs, run.started);
        out.push_str("</div>");
    }
    if run.roots.is_empty() {
        out.push_str("<div class=\"empty\">No step ran.</div>");
    }
    for seq in &run.roots {
        step(out, run, *seq, shots);
    }
    out.push_str("</div></section>");
}

fn step(out: &mut String, run: &Run, seq: u64, shots: Screenshots<'_>) {
    let Some(node) = run.steps.get(&seq) else {
        return;
    };
    let class = node.class;
    let finished = node.finished.as_ref();
    let error = finished.and_then(|f| f.error);
    let output = finished.and_then(|f| f.output).filter(|v| !v.is_null());
    let has_body = !node.children.is_empty()
        || error.is_some()
        || output.is_some()
        || !node.logs.is_empty()
        || node.browser.is_some();

    if has_body {
        // Containers start open so the tree reads at a glance; a leaf's details (output,
        // logs) stay folded unless it is where the run went wrong.
        let open = !node.children.is_empty() || error.is_some() || run.has_failure(seq);
        w!(
            out,
            "<details class=\"step st-{class}\" id=\"step-{seq}\"{}><summary>\
             <span class=\"tw\">▶</span>",
            if open { " open" } else { "" }
        );
    } else {
        w!(
            out,
            "<div class=\"step st-{class}\" id=\"step-{seq}\"><div class=\"row\"><span></span>"
        );
    }
    w!(
        out,
        "<span class=\"dot\" title=\"{}\"></span><span class=\"seq\">#{seq}</span>\
         <span class=\"label\"><span class=\"name\" title=\"{}\">{}</span>\
         <span class=\"action\">{}</span>",
        status_word(class),
        attr(node.path),
        text(node.label),
        text(node.action)
    );
    if let Some(f) = finished.filter(|f| f.attempts > 1) {
        w!(out, "<span class=\"tries\">{} attempts</span>", f.attempts);
    }
    w!(
        out,
        "</span><span class=\"stat\">{}</span><span class=\"dur\">{}</span>",
        status_word(class),
        finished
            .map(|f| duration(f.duration_ms))
            .unwrap_or_default()
    );
    match finished.and_then(|f| f.screenshot) {
        Some(file) => thumbnail(out, shots, file, seq),
        None => out.push_str("<span></span>"),
    }
    out.push_str(if has_body { "</summary>" } else { "</div>" });

    if has_body {
        out.push_str("<div class=\"body\">");
        if let Some(error) = error {
            w!(
                out,
                "<div class=\"err\"><div class=\"msg\">{}</div>",
                text(&error.message)
            );
            where_line(out, error);
            out.push_str("</div>");
        }
        if let Some((took, budget)) = node.browser {
            // Part of the step's duration, but not of its timeout: it had its own budget.
            w!(
                out,
                "<ul class=\"logs\"><li class=\"browser\">browser started in {} (start-up \
                 budget {})</li></ul>",
                duration(took),
                duration(budget)
            );
        }
        logs(out, &node.logs, Some(node.started));
        if let Some(value) = output {
            output_block(out, value);
        }
        out.push_str("</div>");
        if !node.children.is_empty() {
            out.push_str("<div class=\"kids\">");
            for child in &node.children {
                step(out, run, *child, shots);
            }
            out.push_str("</div>");
        }
        out.push_str("</details>");
    } else {
        out.push_str("</div>");
    }
}

/// A thumbnail of the screenshot, embedded so the report stands alone, inside a link to
/// the full file next to the report.
fn thumbnail(out: &mut String, shots: Screenshots<'_>, file: &str, seq: u64) {
    let href = url_path(file);
    w!(
        out,
        "<a class=\"thumb\" href=\"{}\" target=\"_blank\" title=\"Open the screenshot of step \
         {seq}\" onclick=\"event.stopPropagation()\">",
        attr(&href)
    );
    match shots.embeddable(file) {
        Some(bytes) => w!(
            out,
            "<img src=\"data:{};base64,{}\" alt=\"screenshot of step {seq}\" loading=\"lazy\">",
            image_type(file),
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        None => w!(out, "<img alt=\"{}\">", attr(file)),
    }
    out.push_str("</a>");
}

fn logs(out: &mut String, lines: &[(DateTime<Utc>, &str)], since: Option<DateTime<Utc>>) {
    if lines.is_empty() {
        return;
    }
    out.push_str("<ul class=\"logs\">");
    for (at, message) in lines {
        let offset = since
            .map(|s| (*at - s).num_milliseconds().max(0))
            .unwrap_or_default();
        w!(
            out,
            "<li><span class=\"t\">+{}</span>{}</li>",
            duration(u64::try_from(offset).unwrap_or_default()),
            text(message)
        );
    }
    out.push_str("</ul>");
}

fn output_block(out: &mut String, value: &Value) {
    let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
    let compact = value.to_string();
    let preview: String = compact.chars().take(80).collect();
    let ellipsis = if compact.chars().count() > 80 {
        "…"
    } else {
        ""
    };
    w!(
        out,
        "<details class=\"out\"><summary>output <code>{}{ellipsis}</code></summary><pre>",
        text(&preview)
    );
    let total = pretty.chars().count();
    if total > MAX_OUTPUT_CHARS {
        let cut: String = pretty.chars().take(MAX_OUTPUT_CHARS).collect();
        w!(
            out,
            "{}\n<span class=\"more\">… {} more characters: see events.ndjson</span>",
            text(&cut),
            total - MAX_OUTPUT_CHARS
        );
    } else {
        out.push_str(&text(&pretty));
    }
    out.push_str("</pre></details>");
}

fn key_values(out: &mut String, title: &str, map: &serde_json::Map<String, Value>) {
    w!(
        out,
        "<section class=\"box\"><h2>{title}</h2><table class=\"kv\">"
    );
    for (key, value) in map {
        let shown = match value {
            Value::String(s) => s.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        };
        w!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            text(key),
            text(&shown)
        );
    }
    out.push_str("</table></section>");
}

/// "at step #3 (`steps[2]`) on https://…" under an error message: the number as the
/// tree shows it, the path for editors.
fn where_line(out: &mut String, error: &StepError) {
    if error.step.is_none() && error.url.is_none() {
        return;
    }
    out.push_str("<div class=\"where\">");
    match (&error.step, error.seq) {
        (Some(step), Some(seq)) => w!(
            out,
            "at <a href=\"#step-{seq}\">step #{seq}</a> (<code>{}</code>) ",
            text(step)
        ),
        (Some(step), None) => w!(out, "at <code>{}</code> ", text(step)),
        _ => {}
    }
    if let Some(url) = &error.url {
        w!(out, "on <code>{}</code>", text(url));
    }
    out.push_str("</div>");
}

fn step_class(step: &StepNode) -> &'static str {
    match step.finished.as_ref().map(|f| f.status) {
        Some(StepStatus::Succeeded) => "succeeded",
        Some(StepStatus::Failed) => "failed",
        Some(StepStatus::FailedIgnored) => "failed_ignored",
        Some(StepStatus::Handled) => "handled",
        Some(StepStatus::Skipped) => "skipped",
        Some(StepStatus::Cancelled) => "cancelled",
        None => "running",
    }
}

fn status_word(class: &str) -> &'static str {
    match class {
        "succeeded" => "succeeded",
        "failed" => "failed",
        "failed_ignored" => "failed, ignored",
        "handled" => "handled",
        "skipped" => "skipped",
        "cancelled" => "cancelled",
        _ => "unfinished",
    }
}

fn kind_word(error: &StepError) -> &'static str {
    match error.kind {
        alq_shared::workflow::FailureKind::Business => "Business",
        alq_shared::workflow::FailureKind::Application => "Application",
    }
}

/// 420 ms, 3.2 s, 2 min 05 s.
fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

fn image_type(file: &str) -> &'static str {
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        "image/jpeg"
    } else if lower.ends_with(".webp") {
        "image/webp"
    } else if lower.ends_with(".gif") {
        "image/gif"
    } else {
        "image/png"
    }
}

/// A relative file name as a URL path: unusual characters (spaces, `#`, `?`) would
/// otherwise break the link.
fn url_path(file: &str) -> String {
    let mut out = String::with_capacity(file.len());
    for byte in file.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else if byte == b'\\' {
            out.push('/');
        } else {
            w!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alq_shared::workflow::FailureKind;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_790_000_000_000 + ms)
            .single()
            .expect("a valid time")
    }

    fn started(seq: u64, parent: Option<u64>, action: &str, label: &str) -> RunEvent {
        RunEvent::StepStarted {
            seq,
            parent,
            path: format!("steps[{seq}]"),
            action: action.into(),
            id: None,
            label: label.into(),
            at: at(seq as i64 * 100),
        }
    }

    fn finished(seq: u64, status: StepStatus) -> RunEvent {
        RunEvent::StepFinished {
            seq,
            status,
            at: at(seq as i64 * 100 + 50),
            duration_ms: 50,
            attempts: 1,
            output: None,
            error: None,
            screenshot: None,
        }
    }

    /// A real 1x1 transparent PNG (68 bytes): what the report embeds as the thumbnail.
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0bIDAT\x78\x9c\x63\x60\x00\x02\x00\x00\x05\x00\x01\x7a\x5e\xab\x3f\x00\x00\x00\x00IEND\xae\x42\x60\x82";

    fn failed_run(dir: &Path) -> Vec<RunEvent> {
        std::fs::write(dir.join("step-004-browser.click.png"), PNG).expect("write screenshot");
        let error = StepError {
            message: "no element matches \"#submit\" after 10s".into(),
            kind: FailureKind::Application,
            step: Some("steps[1].steps[1]".into()),
            seq: Some(4),
            url: Some("http://127.0.0.1:8088/form".into()),
        };
        vec![
            RunEvent::RunStarted {
                at: at(0),
                workflow: "login <form>".into(),
                inputs: serde_json::Map::from_iter([("user".into(), Value::from("alice"))]),
            },
            started(1, None, "browser.open", "Open the login page"),
            finished(1, StepStatus::Succeeded),
            started(2, None, "try", "Log in & submit"),
            started(3, Some(2), "log", "Say hello"),
            RunEvent::Log {
                seq: 3,
                at: at(310),
                message: "hello <b>alice</b>".into(),
            },
            finished(3, StepStatus::Succeeded),
            started(
                4,
                Some(2),
                "browser.click",
                "Click <script>alert(1)</script>",
            ),
            RunEvent::StepFinished {
                seq: 4,
                status: StepStatus::Failed,
                at: at(900),
                duration_ms: 10_012,
                attempts: 3,
                output: Some(serde_json::json!({"html": "<script>alert(2)</script>"})),
                error: Some(error.clone()),
                screenshot: Some("step-004-browser.click.png".into()),
            },
            started(5, Some(2), "log", "Never mind"),
            finished(5, StepStatus::FailedIgnored),
            started(6, Some(2), "sleep", "Wait"),
            finished(6, StepStatus::Skipped),
            finished(2, StepStatus::Failed),
            RunEvent::RunFinished {
                at: at(1000),
                status: RunStatus::Failed,
                duration_ms: 10_400,
                error: Some(error),
                outputs: serde_json::Map::new(),
            },
        ]
    }

    #[test]
    fn nested_failed_run_shows_tree_status_error_and_thumbnail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let html = render("login <form>", &failed_run(dir.path()), dir.path());

        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("login &lt;form&gt;"), "escaped workflow name");
        assert!(html.contains("Log in &amp; submit"), "escaped label");
        for class in [
            "st-succeeded",
            "st-failed",
            "st-failed_ignored",
            "st-skipped",
        ] {
            assert!(html.contains(class), "status class {class}");
        }
        // The run failed: the header says so, with the message and where.
        assert!(html.contains("<header class=\"run step st-failed\">"));
        assert!(
            html.contains("no element matches &quot;#submit&quot; after 10s")
                || html.contains("no element matches \"#submit\" after 10s")
        );
        assert!(html.contains("http://127.0.0.1:8088/form"));
        assert!(html.contains("3 attempts"));
        assert!(html.contains("10.0 s"));
        // Children sit inside their parent's details, after the parent's row.
        let parent = html.find("id=\"step-2\"").expect("parent row");
        let kids = html[parent..]
            .find("class=\"kids\"")
            .expect("children block")
            + parent;
        let child = html.find("id=\"step-4\"").expect("child row");
        assert!(parent < kids && kids < child, "step 4 is nested in step 2");
        // The log line is under its step, escaped.
        assert!(html.contains("hello &lt;b&gt;alice&lt;/b&gt;"));
        // Thumbnail: embedded image inside a link to the full file.
        let encoded = base64::engine::general_purpose::STANDARD.encode(PNG);
        assert!(html.contains(&format!("src=\"data:image/png;base64,{encoded}\"")));
        assert!(html.contains("href=\"step-004-browser.click.png\""));
        // Inputs are listed.
        assert!(html.contains("<th>user</th><td>alice</td>"));
    }

    #[test]
    fn script_in_label_and_output_is_escaped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let html = render("x", &failed_run(dir.path()), dir.path());
        assert!(
            !html.contains("<script>alert"),
            "no injected script survives"
        );
        assert!(html.contains("Click &lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
        // Our own script is the only one.
        assert_eq!(html.matches("<script>").count(), 1);
    }

    #[test]
    fn long_output_is_cut_and_missing_screenshot_is_only_linked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let events = vec![
            started(1, None, "browser.extract", "Rows"),
            RunEvent::StepFinished {
                seq: 1,
                status: StepStatus::Succeeded,
                at: at(10),
                duration_ms: 10,
                attempts: 1,
                output: Some(Value::from("x".repeat(10_000))),
                error: None,
                screenshot: Some("../outside.png".into()),
            },
        ];
        let html = render("cut", &events, dir.path());
        assert!(html.contains("more characters: see events.ndjson"));
        assert!(!html.contains(&"x".repeat(MAX_OUTPUT_CHARS + 1)));
        assert!(!html.contains("data:image"));
        assert!(html.contains("href=\"../outside.png\""));
        // No RunFinished: the run shows as unfinished rather than as a success.
        assert!(html.contains("st-running"));
    }

    #[test]
    fn bad_parent_links_do_not_hide_steps() {
        let dir = tempfile::tempdir().expect("temp dir");
        let events = vec![
            started(1, Some(1), "log", "Self parent"),
            started(2, Some(9), "log", "Unknown parent"),
        ];
        let html = render("odd", &events, dir.path());
        assert!(html.contains("Self parent") && html.contains("Unknown parent"));
    }

    #[test]
    fn a_failure_its_parent_survived_counts_as_handled() {
        // A retried `try`-less container: its child failed on the first attempt, the
        // second attempt succeeded. Below a failed parent, a failure stays a failure.
        let dir = tempfile::tempdir().expect("temp dir");
        let events = vec![
            started(1, None, "if", "Retried"),
            started(2, Some(1), "if", "Inner"),
            started(3, Some(2), "browser.click", "Flaky"),
            finished(3, StepStatus::Failed),
            finished(2, StepStatus::Failed),
            started(4, Some(1), "browser.click", "Flaky"),
            finished(4, StepStatus::Succeeded),
            finished(1, StepStatus::Succeeded),
            started(5, None, "if", "Broken"),
            started(6, Some(5), "log", "Boom"),
            finished(6, StepStatus::Failed),
            finished(5, StepStatus::Failed),
        ];
        let html = render("retry", &events, dir.path());
        for chip in ["2 succeeded", "2 failed", "2 handled"] {
            assert!(html.contains(&format!(">{chip}</span>")), "{chip}");
        }
        for (seq, class) in [(2, "handled"), (3, "handled"), (5, "failed"), (6, "failed")] {
            assert!(
                html.contains(&format!("class=\"step st-{class}\" id=\"step-{seq}\"")),
                "step {seq} is {class}"
            );
        }
    }

    #[test]
    fn the_failure_names_the_step_by_its_number_and_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let html = render("x", &failed_run(dir.path()), dir.path());
        assert!(
            html.contains("at <a href=\"#step-4\">step #4</a> (<code>steps[1].steps[1]</code>)")
        );
    }

    #[test]
    fn the_browser_start_shows_in_the_header_and_under_its_step() {
        let dir = tempfile::tempdir().expect("temp dir");
        let events = vec![
            started(1, None, "browser.open", "Open"),
            RunEvent::BrowserStarted {
                seq: 1,
                at: at(90),
                duration_ms: 3_240,
                startup_timeout_ms: 60_000,
            },
            finished(1, StepStatus::Succeeded),
        ];
        let html = render("start", &events, dir.path());
        assert!(
            html.contains("<dt>Browser start</dt><dd>3.2 s</dd>"),
            "{html}"
        );
        let step = html.find("id=\"step-1\"").expect("step row");
        let line = html
            .find("browser started in 3.2 s (start-up budget 1 min 00 s)")
            .expect("the start under its step");
        assert!(step < line);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(420), "420 ms");
        assert_eq!(duration(3_240), "3.2 s");
        assert_eq!(duration(125_000), "2 min 05 s");
        assert_eq!(url_path("step 1#a.png"), "step%201%23a.png");
    }
}
