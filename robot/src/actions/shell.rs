//! `shell.run` (only with `--allow-shell`).

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use alq_shared::workflow::ShellRunArgs;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{ActionCtx, ActionError, ActionResult};

/// How much of the end of stderr goes into the error message.
const STDERR_TAIL: usize = 500;

/// Runs a command; output `{code, stdout, stderr}`. Without `args` the command goes
/// through `sh -c` (`cmd /C` on Windows); with `args` the program runs directly. The
/// command and everything it started are killed on timeout and on cancel.
pub async fn run(args: &ShellRunArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    if !ctx.allow_shell {
        return Err(ActionError::app(
            "shell.run is disabled: pass --allow-shell to alq run to allow it",
        ));
    }
    let shown = shown_command(args);
    let cwd = args.cwd.as_ref().map_or_else(
        || ctx.workflow_dir.to_path_buf(),
        |c| ctx.resolve(c.as_str()),
    );
    if !tokio::fs::metadata(&cwd).await.is_ok_and(|m| m.is_dir()) {
        return Err(ActionError::app(format!(
            "shell.run `{shown}`: the working folder {} does not exist or is not a folder; \
             check `cwd`",
            cwd.display()
        )));
    }

    let mut command = match &args.args {
        Some(list) => {
            let mut command = Command::new(args.command.as_str());
            command.args(list.iter().map(|a| a.as_str()));
            command
        }
        None if cfg!(windows) => {
            let mut command = Command::new("cmd");
            command.arg("/C").arg(args.command.as_str());
            command
        }
        None => {
            let mut command = Command::new("sh");
            command.arg("-c").arg(args.command.as_str());
            command
        }
    };
    command
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.kill_on_drop(true);
    // Its own process group, so that a timeout also stops what the command started.
    #[cfg(unix)]
    command.process_group(0);
    for (name, value) in &args.env {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        command.env(name, value);
    }

    let mut child = command.spawn().map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "the program was not found; check its name and PATH"
        } else {
            "check the command and its permissions"
        };
        ActionError::app(format!(
            "shell.run `{shown}`: could not start it: {e}; {hint}"
        ))
    })?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());

    let deadline = Instant::now() + ctx.timeout;
    let status: ExitStatus = tokio::select! {
        status = child.wait() => status.map_err(|e| {
            ActionError::app(format!("shell.run `{shown}`: could not wait for it: {e}"))
        })?,
        () = tokio::time::sleep_until(deadline) => {
            kill(&mut child).await;
            return Err(ActionError::app(format!(
                "shell.run `{shown}`: did not finish within {} and was stopped; raise the \
                 step's timeout_ms or check that the command does not wait for something",
                seconds(ctx.timeout)
            )));
        }
        () = ctx.cancel.cancelled() => {
            kill(&mut child).await;
            return Err(ActionError::Cancelled);
        }
    };
    // A background process the command left running may hold the pipes open: stop it at
    // the deadline rather than waiting forever for the end of the output.
    let (stdout, stderr) = match tokio::time::timeout_at(deadline, collect(stdout, stderr)).await {
        Ok(output) => output,
        Err(_) => {
            kill(&mut child).await;
            (String::new(), String::new())
        }
    };

    let code = status.code();
    if args.fail_on_exit && !status.success() {
        let how = match code {
            Some(code) => format!("exited with code {code}"),
            None => "was killed by a signal".to_owned(),
        };
        let tail = tail(&stderr);
        let stderr_text = if tail.is_empty() {
            "nothing on stderr".to_owned()
        } else {
            format!("stderr ends with: {tail}")
        };
        return Err(ActionError::app(format!(
            "shell.run `{shown}` {how}; {stderr_text}; set `fail_on_exit: false` to handle the \
             code in the workflow"
        )));
    }
    Ok(json!({ "code": code, "stdout": stdout, "stderr": stderr }))
}

/// Reads a pipe to its end in the background.
fn reader<R: AsyncRead + Unpin + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut buffer = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error ends the output early; what was read is kept.
            let _ = pipe.read_to_end(&mut buffer).await;
        }
        buffer
    })
}

async fn collect(stdout: JoinHandle<Vec<u8>>, stderr: JoinHandle<Vec<u8>>) -> (String, String) {
    let stdout = stdout.await.unwrap_or_default();
    let stderr = stderr.await.unwrap_or_default();
    (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Kills the child and, on Unix, every process in its group.
async fn kill(child: &mut Child) {
    #[cfg(unix)]
    if let Some(pid) = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw)
    {
        // The group may already be gone: nothing left to stop.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    // Already exited is fine too.
    let _ = child.kill().await;
}

fn shown_command(args: &ShellRunArgs) -> String {
    let mut text = args.command.as_str().to_owned();
    for arg in args.args.iter().flatten() {
        text.push(' ');
        text.push_str(arg.as_str());
    }
    if text.chars().count() > 120 {
        text = text.chars().take(120).collect::<String>() + "...";
    }
    text
}

fn tail(text: &str) -> String {
    let trimmed = text.trim();
    let count = trimmed.chars().count();
    if count <= STDERR_TAIL {
        return trimmed.to_owned();
    }
    let tail: String = trimmed.chars().skip(count - STDERR_TAIL).collect();
    format!("...{tail}")
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}
