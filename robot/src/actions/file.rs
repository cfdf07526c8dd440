//! `file.*`: read, write, copy, move, delete, list.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use alq_shared::workflow::{FileDeleteArgs, FileListArgs, FileWriteArgs, FromToArgs, PathArgs};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::{Access, ActionCtx, ActionError, ActionResult};

/// `file.read`: the file's text.
pub async fn read(args: &PathArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let path = ctx.path("file.read", args.path.as_str(), Access::Read)?;
    let bytes = read_regular("file.read", &path).await?;
    let text = String::from_utf8(bytes).map_err(|e| {
        ActionError::app(format!(
            "file.read: {} is not UTF-8 text (invalid byte at offset {}); file.read reads text \
             files only",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(Value::String(text))
}

/// `file.write`: writes `text`, or `json` as pretty JSON; output the file's path.
pub async fn write(args: &FileWriteArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let path = ctx.path("file.write", args.path.as_str(), Access::Write)?;
    let content = match (&args.text, &args.json) {
        (Some(text), None) => text.as_str().to_owned(),
        (None, Some(value)) => {
            let mut text = serde_json::to_string_pretty(value)
                .map_err(|e| ActionError::app(format!("file.write {}: {e}", path.display())))?;
            text.push('\n');
            text
        }
        (Some(_), Some(_)) => {
            return Err(ActionError::app(format!(
                "file.write {}: both `text` and `json` are set; give only one of them",
                path.display()
            )));
        }
        (None, None) => {
            return Err(ActionError::app(format!(
                "file.write {}: nothing to write; give `text` or `json`",
                path.display()
            )));
        }
    };
    create_parent("file.write", &path).await?;
    let result = if args.append {
        append(&path, content.as_bytes()).await
    } else {
        tokio::fs::write(&path, content.as_bytes()).await
    };
    result.map_err(|e| io_error("file.write", &path, &e))?;
    Ok(path_value(&path))
}

async fn append(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(content).await?;
    file.flush().await
}

/// `file.copy`: output the destination path.
pub async fn copy(args: &FromToArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let (from, to) = prepare_transfer("file.copy", args, ctx).await?;
    tokio::fs::copy(&from, &to)
        .await
        .map_err(|e| transfer_error("file.copy", &from, &to, &e))?;
    Ok(path_value(&to))
}

/// `file.move`: output the destination path. Across file systems it copies, then deletes.
pub async fn rename(args: &FromToArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let (from, to) = prepare_transfer("file.move", args, ctx).await?;
    match tokio::fs::rename(&from, &to).await {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::CrossesDevices => {
            tokio::fs::copy(&from, &to)
                .await
                .map_err(|e| transfer_error("file.move", &from, &to, &e))?;
            tokio::fs::remove_file(&from).await.map_err(|e| {
                ActionError::app(format!(
                    "file.move: copied {} to {} but could not delete the source: {e}",
                    from.display(),
                    to.display()
                ))
            })?;
        }
        Err(e) => return Err(transfer_error("file.move", &from, &to, &e)),
    }
    Ok(path_value(&to))
}

/// Checks the source and destination of a copy or move and creates the destination folder.
async fn prepare_transfer(
    action: &str,
    args: &FromToArgs,
    ctx: &ActionCtx<'_>,
) -> Result<(PathBuf, PathBuf), ActionError> {
    // A move renames the entries themselves (a link moves as a link), but across file
    // systems it copies through them: both uses are checked.
    let (from, to) = if action == "file.move" {
        ctx.path(action, args.from.as_str(), Access::Read)?;
        ctx.path(action, args.to.as_str(), Access::Write)?;
        (
            ctx.path(action, args.from.as_str(), Access::Entry)?,
            ctx.path(action, args.to.as_str(), Access::Entry)?,
        )
    } else {
        (
            ctx.path(action, args.from.as_str(), Access::Read)?,
            ctx.path(action, args.to.as_str(), Access::Write)?,
        )
    };
    let meta = tokio::fs::metadata(&from)
        .await
        .map_err(|e| io_error(action, &from, &e))?;
    if !meta.is_file() {
        return Err(ActionError::app(format!(
            "{action}: {} is a folder, not a file; {action} works on single files",
            from.display()
        )));
    }
    if !args.overwrite && tokio::fs::try_exists(&to).await.unwrap_or(false) {
        return Err(ActionError::app(format!(
            "{action}: {} already exists and `overwrite` is false; delete it first or set \
             `overwrite: true`",
            to.display()
        )));
    }
    create_parent(action, &to).await?;
    Ok((from, to))
}

/// `file.delete`: output `{path, deleted}`.
pub async fn delete(args: &FileDeleteArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let path = ctx.path("file.delete", args.path.as_str(), Access::Entry)?;
    let deleted = match tokio::fs::remove_file(&path).await {
        Ok(()) => true,
        Err(e) if e.kind() == ErrorKind::NotFound && args.missing_ok => false,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(ActionError::app(format!(
                "file.delete: {} does not exist; check the path, or set `missing_ok: true` when \
                 a missing file is fine",
                path.display()
            )));
        }
        Err(e) => return Err(io_error("file.delete", &path, &e)),
    };
    Ok(json!({ "path": path.display().to_string(), "deleted": deleted }))
}

/// `file.list`: the absolute paths of the files in `dir` whose name matches `pattern`,
/// sorted.
pub async fn list(args: &FileListArgs, ctx: &ActionCtx<'_>) -> ActionResult {
    let dir = ctx.path("file.list", args.dir.as_str(), Access::Read)?;
    let pattern_text = args.pattern.as_ref().map_or("*", |p| p.as_str());
    let pattern = glob::Pattern::new(pattern_text).map_err(|e| {
        ActionError::app(format!(
            "file.list: `{pattern_text}` is not a valid pattern ({e}); use e.g. `*.csv` or \
             `report-??.txt`"
        ))
    })?;
    let meta = tokio::fs::metadata(&dir)
        .await
        .map_err(|e| io_error("file.list", &dir, &e))?;
    if !meta.is_dir() {
        return Err(ActionError::app(format!(
            "file.list: {} is a file, not a folder; `dir` must name a folder",
            dir.display()
        )));
    }
    let mut entries = tokio::fs::read_dir(&dir)
        .await
        .map_err(|e| io_error("file.list", &dir, &e))?;
    let mut files = Vec::new();
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| io_error("file.list", &dir, &e))?
    {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !pattern.matches(name) {
            continue;
        }
        // Follow symbolic links: a link to a file counts as a file.
        let is_file = tokio::fs::metadata(entry.path())
            .await
            .is_ok_and(|m| m.is_file());
        if is_file {
            files.push(entry.path().display().to_string());
        }
    }
    files.sort();
    Ok(Value::Array(files.into_iter().map(Value::String).collect()))
}

/// Reads a whole file that must be a regular file: a device such as `/dev/zero` or a
/// named pipe would never end.
pub(crate) async fn read_regular(action: &str, path: &Path) -> Result<Vec<u8>, ActionError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_error(action, path, &e))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "a device, pipe or socket"
        };
        return Err(ActionError::app(format!(
            "{action}: {} is {what}, not a regular file; {action} reads files only",
            path.display()
        )));
    }
    tokio::fs::read(path)
        .await
        .map_err(|e| io_error(action, path, &e))
}

/// Creates the folder a file goes into.
pub(crate) async fn create_parent(action: &str, path: &Path) -> Result<(), ActionError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await.map_err(|e| {
            ActionError::app(format!(
                "{action}: could not create the folder {}: {e}; check the permissions",
                parent.display()
            ))
        })?;
    }
    Ok(())
}

/// The message for a failed file operation on one path.
pub(crate) fn io_error(action: &str, path: &Path, error: &std::io::Error) -> ActionError {
    match error.kind() {
        ErrorKind::NotFound => ActionError::app(format!(
            "{action}: {} does not exist; check the path (relative paths start at the \
             workflow's folder)",
            path.display()
        )),
        ErrorKind::PermissionDenied => ActionError::app(format!(
            "{action}: permission denied on {}; check the file's permissions",
            path.display()
        )),
        _ => ActionError::app(format!("{action}: {}: {error}", path.display())),
    }
}

fn transfer_error(action: &str, from: &Path, to: &Path, error: &std::io::Error) -> ActionError {
    let verb = if action == "file.move" {
        "move"
    } else {
        "copy"
    };
    ActionError::app(format!(
        "{action}: could not {verb} {} to {}: {error}",
        from.display(),
        to.display()
    ))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn path_value(path: &Path) -> Value {
    Value::String(absolute(path).display().to_string())
}
