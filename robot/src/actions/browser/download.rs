//! `browser.download`: click, then wait for the finished file in the download folder.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use alq_shared::workflow::DownloadArgs;
use serde_json::json;

use super::Browser;
use super::locate::{Need, Selector, Unmet, Waiter};
use crate::actions::{Access, ActionCtx, ActionError, ActionResult};

impl Browser {
    /// `browser.download`: clicks the element, waits for a new finished file in the
    /// download folder, and moves it to `path` if given. Output: the file's absolute path.
    pub(super) async fn download(&self, a: &DownloadArgs, ctx: &ActionCtx<'_>) -> ActionResult {
        let selector = Selector::parse(a.selector.as_str());
        // Checked before the click: a refused target downloads nothing.
        let target = match &a.path {
            Some(path) => Some(ctx.path("browser.download", path.as_str(), Access::Write)?),
            None => None,
        };
        let before = files(&self.download_dir);
        let mut wait = Waiter::new(ctx);
        self.act(&selector, Need::Click, &mut wait, async |target| {
            self.press_at(target, false).await
        })
        .await?;
        wait.unmet = Unmet::Other("no download finished".into());
        let file = loop {
            let mut new: Vec<PathBuf> = files(&self.download_dir)
                .difference(&before)
                .cloned()
                .collect();
            // Chromium writes `.crdownload` and renames it when the download is complete.
            new.retain(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                !name.ends_with(".crdownload")
                    && !name.ends_with(".tmp")
                    && !name.starts_with('.')
                    && p.is_file()
            });
            new.sort();
            if let Some(file) = new.into_iter().next() {
                break file;
            }
            if !wait.pause().await? {
                let page = self.page_name().await;
                return Err(ActionError::app(format!(
                    "clicking {:?} downloaded no file within {} on {page}",
                    selector.raw,
                    wait.timeout_text()
                )));
            }
        };
        let target = match target {
            None => file,
            Some(target) => {
                move_file(&file, &target)?;
                target
            }
        };
        Ok(json!(target.display().to_string()))
    }
}

/// The files of a folder (empty when it cannot be read).
pub(super) fn files(dir: &Path) -> HashSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Moves a file, across file systems too, creating the target's folder.
fn move_file(from: &Path, to: &Path) -> Result<(), ActionError> {
    let error = |e: std::io::Error| {
        ActionError::app(format!(
            "cannot move {} to {}: {e}",
            from.display(),
            to.display()
        ))
    };
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    if std::fs::rename(from, to).is_err() {
        std::fs::copy(from, to).map_err(error)?;
        std::fs::remove_file(from).map_err(error)?;
    }
    Ok(())
}
