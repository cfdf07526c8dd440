//! The data folder and the SQLite files are the server's user's alone: they hold job
//! inputs (secrets among them), encrypted credentials, the key that decrypts them and
//! every artifact. The folder is 0700 and the database files (with SQLite's `-wal`
//! and `-shm`) 0600, like the server key; a folder or file an older version made with
//! wider modes is narrowed at start-up. No-ops off Unix.

use std::path::{Path, PathBuf};

/// The mode of the data folder.
pub const FOLDER_MODE: u32 = 0o700;
/// The mode of the database files.
pub const FILE_MODE: u32 = 0o600;

/// Creates the data folder readable by this user only, or narrows the mode of one that
/// exists.
pub fn make_private(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, FOLDER_MODE);
        builder
            .create(dir)
            .map_err(|e| anyhow::anyhow!("cannot create the data folder {}: {e}", dir.display()))?;
    }
    narrow(dir, FOLDER_MODE, "data folder")
}

/// The SQLite database at `path` and its `-wal` and `-shm` files: the database made
/// empty with mode 0600 before SQLite opens it (SQLite gives the other two the mode of
/// the database), and any that exist narrowed to 0600.
pub fn make_sqlite_private(path: &Path) -> anyhow::Result<()> {
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
        options.open(path).map_err(|e| {
            anyhow::anyhow!("cannot create the database file {}: {e}", path.display())
        })?;
    }
    for file in sqlite_files(path) {
        if file.exists() {
            narrow(&file, FILE_MODE, "database file")?;
        }
    }
    Ok(())
}

/// The database file and the two SQLite keeps beside it in WAL mode.
pub fn sqlite_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Sets `mode` when the current one lets anyone else in.
#[cfg(unix)]
fn narrow(path: &Path, mode: u32, what: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("cannot read the {what} {}: {e}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if current & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
        anyhow::anyhow!(
            "the {what} {} is readable by other users (mode {current:o}) and cannot be made private: {e}; run `chmod {mode:o} {}` as its owner",
            path.display(),
            path.display()
        )
    })?;
    tracing::info!(path = %path.display(), from = format!("{current:o}"), to = format!("{mode:o}"), "Made the {what} private.");
    Ok(())
}

#[cfg(not(unix))]
fn narrow(_path: &Path, _mode: u32, _what: &str) -> anyhow::Result<()> {
    Ok(())
}
