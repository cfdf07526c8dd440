//! Every action a step can run, with its fields.
//!
//! The `actions!` table below is the one list of action names: it builds the `Action`
//! enum, the name lookup used by the parser, and the schema of every action.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ExpectStatus, FailureKind, OneOrMany, Param, Step, Text};

macro_rules! actions {
    ($( $name:literal => $variant:ident($args:ident) ),* $(,)?) => {
        /// What a step does, with the fields of that action.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Action {
            $( #[doc = concat!("`", $name, "`")] $variant($args), )*
        }

        impl Action {
            /// Every action name, in the order of the reference.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The name used in workflow files, e.g. `browser.click`.
            pub fn name(&self) -> &'static str {
                match self { $( Action::$variant(_) => $name, )* }
            }

            /// Builds an action from its name and its fields (without `action` and the
            /// common step fields). `None` when no action has that name.
            pub(crate) fn from_fields(
                name: &str,
                fields: Value,
            ) -> Option<Result<Action, serde_path_to_error::Error<serde_json::Error>>> {
                Some(match name {
                    $( $name => serde_path_to_error::deserialize(fields).map(Action::$variant), )*
                    _ => return None,
                })
            }

            /// The action's fields as JSON (without `action`).
            pub fn fields(&self) -> Value {
                let value = match self {
                    $( Action::$variant(args) => serde_json::to_value(args), )*
                };
                // Serializing plain data structs into a `Value` cannot fail.
                value.unwrap_or(Value::Null)
            }

            /// The same action with new fields, e.g. after its expressions were rendered.
            pub fn with_fields(&self, fields: Value) -> Result<Action, serde_json::Error> {
                Ok(match self {
                    $( Action::$variant(_) => Action::$variant(serde_json::from_value(fields)?), )*
                })
            }

            /// The JSON Schema of each action's fields, by name.
            pub(crate) fn schemas(
                generator: &mut schemars::SchemaGenerator,
            ) -> Vec<(&'static str, schemars::Schema)> {
                vec![ $( ($name, generator.subschema_for::<$args>()), )* ]
            }
        }
    };
}

actions! {
    "set" => Set(SetArgs),
    "log" => Log(LogArgs),
    "if" => If(IfArgs),
    "for_each" => ForEach(ForEachArgs),
    "while" => While(WhileArgs),
    "try" => Try(TryArgs),
    "fail" => Fail(FailArgs),
    "call" => Call(CallArgs),
    "sleep" => Sleep(SleepArgs),
    "browser.open" => BrowserOpen(UrlArgs),
    "browser.goto" => BrowserGoto(UrlArgs),
    "browser.click" => BrowserClick(ClickArgs),
    "browser.type" => BrowserType(TypeArgs),
    "browser.press" => BrowserPress(PressArgs),
    "browser.select" => BrowserSelect(SelectArgs),
    "browser.check" => BrowserCheck(CheckArgs),
    "browser.hover" => BrowserHover(SelectorArgs),
    "browser.upload" => BrowserUpload(UploadArgs),
    "browser.wait_for" => BrowserWaitFor(WaitForArgs),
    "browser.extract" => BrowserExtract(ExtractArgs),
    "browser.screenshot" => BrowserScreenshot(ScreenshotArgs),
    "browser.script" => BrowserScript(ScriptArgs),
    "browser.frame" => BrowserFrame(FrameArgs),
    "browser.tab" => BrowserTab(TabArgs),
    "browser.dialog" => BrowserDialog(DialogArgs),
    "browser.download" => BrowserDownload(DownloadArgs),
    "browser.close" => BrowserClose(NoArgs),
    "http.request" => HttpRequest(HttpRequestArgs),
    "file.read" => FileRead(PathArgs),
    "file.write" => FileWrite(FileWriteArgs),
    "file.copy" => FileCopy(FromToArgs),
    "file.move" => FileMove(FromToArgs),
    "file.delete" => FileDelete(FileDeleteArgs),
    "file.list" => FileList(FileListArgs),
    "csv.read" => CsvRead(CsvReadArgs),
    "csv.write" => CsvWrite(CsvWriteArgs),
    "json.parse" => JsonParse(JsonParseArgs),
    "email.send" => EmailSend(EmailSendArgs),
    "shell.run" => ShellRun(ShellRunArgs),
}

/// The fields of the action named `name` that hold nested steps (those `children`
/// returns), known before the action is parsed.
pub(crate) fn step_list_fields(name: &str) -> &'static [&'static str] {
    match name {
        "if" => &["then", "else"],
        "for_each" | "while" => &["steps"],
        "try" => &["steps", "catch", "finally"],
        _ => &[],
    }
}

impl Action {
    /// The steps nested in a control action, with the field that holds them.
    pub fn children(&self) -> Vec<(&'static str, &[Step])> {
        match self {
            Action::If(a) => vec![("then", &a.then), ("else", &a.else_)],
            Action::ForEach(a) => vec![("steps", &a.steps)],
            Action::While(a) => vec![("steps", &a.steps)],
            Action::Try(a) => {
                vec![
                    ("steps", &a.steps),
                    ("catch", &a.catch),
                    ("finally", &a.finally),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// Whether this action drives the browser.
    pub fn is_browser(&self) -> bool {
        self.name().starts_with("browser.")
    }

    /// Whether the engine runs this action itself (control flow) rather than an executor.
    pub fn is_control(&self) -> bool {
        matches!(
            self,
            Action::Set(_)
                | Action::Log(_)
                | Action::If(_)
                | Action::ForEach(_)
                | Action::While(_)
                | Action::Try(_)
                | Action::Fail(_)
                | Action::Call(_)
                | Action::Sleep(_)
        )
    }

    /// A short description of the target, for progress lines: the selector, URL or path.
    pub fn target(&self) -> Option<&str> {
        match self {
            Action::BrowserOpen(a) | Action::BrowserGoto(a) => Some(a.url.as_str()),
            Action::BrowserClick(a) => Some(a.selector.as_str()),
            Action::BrowserType(a) => Some(a.selector.as_str()),
            Action::BrowserHover(a) => Some(a.selector.as_str()),
            Action::BrowserSelect(a) => Some(a.selector.as_str()),
            Action::BrowserCheck(a) => Some(a.selector.as_str()),
            Action::BrowserUpload(a) => Some(a.selector.as_str()),
            Action::BrowserExtract(a) => Some(a.selector.as_str()),
            Action::BrowserDownload(a) => Some(a.selector.as_str()),
            Action::BrowserPress(a) => Some(a.keys.as_str()),
            Action::Call(a) => Some(a.workflow.as_str()),
            Action::HttpRequest(a) => Some(a.url.as_str()),
            Action::ShellRun(a) => Some(a.command.as_str()),
            Action::FileRead(a) => Some(a.path.as_str()),
            Action::FileWrite(a) => Some(a.path.as_str()),
            Action::CsvRead(a) => Some(a.path.as_str()),
            Action::CsvWrite(a) => Some(a.path.as_str()),
            Action::FileCopy(a) | Action::FileMove(a) => Some(a.from.as_str()),
            Action::FileDelete(a) => Some(a.path.as_str()),
            Action::FileList(a) => Some(a.dir.as_str()),
            Action::BrowserWaitFor(a) => a
                .selector
                .as_ref()
                .or(a.text.as_ref())
                .or(a.url.as_ref())
                .map(Text::as_str),
            Action::BrowserFrame(a) => a.selector.as_ref().map(Text::as_str),
            Action::EmailSend(a) => Some(a.subject.as_str()),
            _ => None,
        }
    }
}

/// `set`: assigns variables, readable as `vars.NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetArgs {
    /// Variable names and their values (expressions keep their JSON type).
    pub vars: Map<String, Value>,
}

/// `log`: writes a message to the run log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogArgs {
    /// The message.
    pub message: Text,
}

/// `if`: runs `then` when the condition holds, else `else`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IfArgs {
    /// An expression, e.g. `vars.count > 3`.
    pub condition: String,
    /// Steps run when the condition is true.
    pub then: Vec<Step>,
    /// Steps run when the condition is false.
    #[serde(rename = "else", default)]
    pub else_: Vec<Step>,
}

/// `for_each`: runs its steps once per item of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForEachArgs {
    /// A list, usually an expression such as `{{ steps.rows.output }}`.
    pub items: Value,
    /// The variable name of the current item (default `item`).
    #[serde(rename = "as", default = "default_item_name")]
    pub as_: String,
    /// The steps run for each item.
    pub steps: Vec<Step>,
}

fn default_item_name() -> String {
    "item".to_owned()
}

/// `while`: runs its steps while the condition holds, at most `max_iterations` times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhileArgs {
    /// An expression checked before each iteration.
    pub condition: String,
    /// The step fails when the condition still holds after this many iterations (at
    /// most 100000).
    #[serde(default = "default_max_iterations")]
    #[schemars(range(min = 1, max = 100_000))]
    pub max_iterations: u32,
    /// The steps of one iteration.
    pub steps: Vec<Step>,
}

fn default_max_iterations() -> u32 {
    1000
}

/// The most iterations a `while` may allow: more is a loop that should be a queue, or a
/// mistake that would run for hours.
pub const MAX_WHILE_ITERATIONS: u32 = 100_000;

/// `try`: runs `steps`; on failure runs `catch` (with `error`); always runs `finally`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TryArgs {
    /// The steps that may fail.
    pub steps: Vec<Step>,
    /// Steps run after a failure; `error.message`, `error.type` and `error.step` say what failed.
    #[serde(default)]
    pub catch: Vec<Step>,
    /// Steps run in every case.
    #[serde(default)]
    pub finally: Vec<Step>,
}

/// `fail`: stops the workflow with an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailArgs {
    /// What went wrong.
    pub message: Text,
    /// `business` (bad data, never retried) or `application` (worth retrying).
    #[serde(rename = "type", default = "default_fail_kind")]
    pub kind: FailureKind,
}

fn default_fail_kind() -> FailureKind {
    FailureKind::Business
}

/// `call`: runs another workflow file and returns its outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallArgs {
    /// Path of the workflow file, relative to this workflow's folder.
    pub workflow: Text,
    /// Its inputs.
    #[serde(default)]
    pub inputs: Map<String, Value>,
}

/// `sleep`: waits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SleepArgs {
    /// Milliseconds to wait (a number or an expression).
    pub ms: Param<u64>,
}

/// `browser.open` and `browser.goto`: a URL to load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UrlArgs {
    /// The address to load.
    pub url: Text,
    /// The HTTP statuses the page may answer with (`200`, `"2xx"`, `"200-299"` or a list);
    /// any other fails the step. Without it, every status passes and is in the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<ExpectStatus>,
}

/// An action whose only field is a selector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectorArgs {
    /// CSS by default; `xpath=`, `id=` or `text=` prefixes select otherwise.
    pub selector: Text,
}

/// `browser.click`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickArgs {
    /// The element to click.
    pub selector: Text,
    /// Double-click instead of a single click.
    #[serde(default)]
    pub double: bool,
}

/// `browser.type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeArgs {
    /// The field to type into.
    pub selector: Text,
    /// The text to type.
    pub text: Text,
    /// Empty the field first, as a person would (select all, delete).
    #[serde(default)]
    pub clear: bool,
    /// Mask the text in logs, events and reports.
    #[serde(default)]
    pub secret: bool,
}

/// `browser.press`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PressArgs {
    /// Keys such as `Enter`, `Tab`, `Control+a`; several separated by spaces.
    pub keys: Text,
    /// The element to focus first; the focused element otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Text>,
}

/// `browser.select`: chooses an option by `value`, `label` or `index` (exactly one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectArgs {
    /// The `<select>` element.
    pub selector: Text,
    /// The option's `value` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Text>,
    /// The option's visible text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// The option's position, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

/// `browser.check`: sets a checkbox or radio button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckArgs {
    /// The checkbox or radio button.
    pub selector: Text,
    /// The state wanted (default checked).
    #[serde(default = "default_true")]
    pub checked: bool,
}

fn default_true() -> bool {
    true
}

/// `browser.upload`: puts a file into an `<input type=file>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadArgs {
    /// The file input.
    pub selector: Text,
    /// The file, relative to the workflow's folder.
    pub path: Text,
}

/// The state `browser.wait_for` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ElementState {
    /// In the page and visible.
    #[default]
    Visible,
    /// Not in the page, or not visible.
    Hidden,
    /// In the page, visible or not.
    Attached,
    /// Not in the page.
    Detached,
}

/// `browser.wait_for`: waits for an element state, a text in the page, or a URL
/// (exactly one of `selector`, `text`, `url`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitForArgs {
    /// The element to wait for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Text>,
    /// The state the element must reach (default `visible`).
    #[serde(default)]
    pub state: ElementState,
    /// Text that must appear in the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    /// Text the page URL must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Text>,
}

/// `browser.extract`: reads text, an attribute or a property; all matches; or a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractArgs {
    /// The element (or elements, or table).
    pub selector: Text,
    /// Read this attribute instead of the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<Text>,
    /// Read this DOM property (e.g. `value`) instead of the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<Text>,
    /// Return a list with one entry per matching element.
    #[serde(default)]
    pub all: bool,
    /// Read a `<table>` as a list of rows keyed by the header cells.
    #[serde(default)]
    pub table: bool,
}

/// `browser.screenshot`: saves a screenshot of the page.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenshotArgs {
    /// Where to save it (default: in the run folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Text>,
}

/// `browser.script`: runs JavaScript in the page and returns its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptArgs {
    /// A function body; `arguments[0]`... are `args`; `return` gives the output.
    pub script: Text,
    /// Arguments passed to the script.
    #[serde(default)]
    pub args: Vec<Value>,
}

/// `browser.frame`: enters an iframe, or goes back to the top page with `null`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameArgs {
    /// The `<iframe>` to enter, or `null` for the top page.
    #[serde(default)]
    pub selector: Option<Text>,
}

/// `browser.tab`: switches to a tab or popup by `index`, `url` or `title` (exactly one);
/// waits for it to open.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TabArgs {
    /// The tab's position, from 0 in opening order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Text the tab's URL contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Text>,
    /// Text the tab's title contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Text>,
}

/// `browser.dialog`: waits for an alert, confirm or prompt and answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialogArgs {
    /// Press OK (true, the default) or Cancel (false).
    #[serde(default = "default_true")]
    pub accept: bool,
    /// Text to type into a prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
}

/// `browser.download`: clicks an element and waits for the file it downloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadArgs {
    /// The link or button that starts the download.
    pub selector: Text,
    /// Where to save the file (default: `downloads/` in the run folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Text>,
}

/// An action without fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `http.request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRequestArgs {
    /// GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS (default GET).
    #[serde(default = "default_method")]
    pub method: Text,
    /// The address.
    pub url: Text,
    /// Request headers.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// A JSON body (sets `Content-Type: application/json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// A text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Text>,
    /// Fail the step on a 4xx or 5xx status (default true).
    #[serde(default = "default_true")]
    pub fail_on_status: bool,
}

fn default_method() -> Text {
    Text("GET".to_owned())
}

/// An action on one file path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathArgs {
    /// The file, relative to the workflow's folder.
    pub path: Text,
}

/// `file.write`: writes `text` or `json` (exactly one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileWriteArgs {
    /// The file, relative to the workflow's folder; folders are created.
    pub path: Text,
    /// Text to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    /// A value written as pretty JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// Add to the end instead of replacing.
    #[serde(default)]
    pub append: bool,
}

/// `file.copy` and `file.move`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FromToArgs {
    /// The source file.
    pub from: Text,
    /// The destination file; folders are created.
    pub to: Text,
    /// Replace an existing destination (default true).
    #[serde(default = "default_true")]
    pub overwrite: bool,
}

/// `file.delete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDeleteArgs {
    /// The file.
    pub path: Text,
    /// Succeed when the file does not exist.
    #[serde(default)]
    pub missing_ok: bool,
}

/// `file.list`: the files of a folder matching a pattern, sorted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileListArgs {
    /// The folder.
    pub dir: Text,
    /// A glob such as `*.csv` (default `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<Text>,
}

/// `csv.read`: rows as objects keyed by the header (or lists without one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvReadArgs {
    /// The file.
    pub path: Text,
    /// The field separator (default `,`).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// The first line names the columns (default true).
    #[serde(default = "default_true")]
    pub header: bool,
}

fn default_delimiter() -> char {
    ','
}

/// `csv.write`: writes rows (objects or lists) to a CSV file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvWriteArgs {
    /// The file; folders are created.
    pub path: Text,
    /// A list of objects (or of lists), usually an expression.
    pub rows: Value,
    /// Column order for object rows (default: the keys of the first row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// The field separator (default `,`).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
}

/// `json.parse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonParseArgs {
    /// JSON text.
    pub text: Text,
}

/// How `email.send` secures its SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection (local relays only).
    None,
    /// Upgrade with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the start (port 465).
    Tls,
}

/// The SMTP server `email.send` uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Host name or address.
    pub host: Text,
    /// Port (default 587, or 465 with `tls`, or 25 with `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Param<u16>>,
    /// `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    pub tls: SmtpTls,
    /// Login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Text>,
    /// Password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Text>,
}

/// `email.send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSendArgs {
    /// The SMTP server.
    pub smtp: SmtpConfig,
    /// The sender, `Name <a@b.c>` or `a@b.c`.
    pub from: Text,
    /// One or more recipients.
    pub to: OneOrMany<Text>,
    /// Copy recipients.
    #[serde(default)]
    pub cc: OneOrMany<Text>,
    /// Blind copy recipients.
    #[serde(default)]
    pub bcc: OneOrMany<Text>,
    /// The subject.
    pub subject: Text,
    /// The plain-text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    /// The HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<Text>,
    /// Files to attach, relative to the workflow's folder.
    #[serde(default)]
    pub attachments: Vec<Text>,
}

/// `shell.run`: runs a command (only with `--allow-shell`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShellRunArgs {
    /// A shell command line, or the program when `args` is given.
    pub command: Text,
    /// Arguments: when present, `command` runs directly, without a shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<Text>>,
    /// Working folder (default: the workflow's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<Text>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: Map<String, Value>,
    /// Fail the step when the exit code is not 0 (default true).
    #[serde(default = "default_true")]
    pub fail_on_exit: bool,
}
