//! Building a package from a workflow file or its folder.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::GzBuilder;

use super::check::check_dir;
use super::{
    ALWAYS_LEFT_OUT, DEFAULT_ENTRY, IGNORE_FILE, Limits, PackageError, SECRETS_LEFT_OUT, sha256,
};
use crate::workflow::LoadedWorkflow;

/// A built package.
#[derive(Debug)]
pub struct Package {
    /// The archive (`tar.gz`).
    pub bytes: Vec<u8>,
    /// Its SHA-256, in lowercase hex.
    pub sha256: String,
    /// The workflow file's path inside the package (`workflow.json`).
    pub entry: String,
    /// The files, sorted by path.
    pub files: Vec<PackedFile>,
    /// Every file's size added up.
    pub unpacked_bytes: u64,
    /// The workflow, as loaded from the folder.
    pub workflow: LoadedWorkflow,
}

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedFile {
    /// Its path inside the package, `/`-separated.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The package folder (canonical) and the workflow file's path in it, for a workflow
/// file or a folder holding `workflow.json`.
pub fn locate(path: &Path) -> Result<(PathBuf, String), PackageError> {
    let file = if path.is_dir() {
        path.join(DEFAULT_ENTRY)
    } else {
        path.to_path_buf()
    };
    if !file.exists() {
        return Err(PackageError::NoWorkflow(file));
    }
    // A device or a pipe would never end, and a package holds regular files only.
    crate::workflow::check_regular(&file)?;
    let io = |source| PackageError::Io {
        path: file.clone(),
        source,
    };
    let file = std::fs::canonicalize(&file).map_err(io)?;
    let root = file
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| PackageError::NoWorkflow(file.clone()))?;
    let home = directories::BaseDirs::new().and_then(|d| std::fs::canonicalize(d.home_dir()).ok());
    if root.parent().is_none() || home.as_deref() == Some(root.as_path()) {
        return Err(PackageError::Link(format!(
            "refusing to package every file of {}: put the workflow in a folder of its own (with the files it needs) and push that folder",
            root.display()
        )));
    }
    let entry = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| PackageError::NoWorkflow(file.clone()))?;
    Ok((root, entry))
}

/// Builds the package of a workflow file (or of a folder holding `workflow.json`): the
/// workflow is validated with the files it calls, every file of its folder is taken
/// except what `.alqignore` and [`ALWAYS_LEFT_OUT`] leave out, and references that
/// reach outside the folder are refused.
pub fn build(path: &Path, limits: &Limits) -> Result<Package, PackageError> {
    let (root, entry) = locate(path)?;
    let files = collect(&root, limits)?;
    let names: Vec<String> = files.keys().cloned().collect();
    let workflow = check_dir(&root, &entry, &names, limits)?;
    let mut packed = Vec::with_capacity(files.len());
    let mut unpacked_bytes = 0;
    let mut archive = tar::Builder::new(Vec::new());
    for (name, source) in &files {
        let io = |source| PackageError::Io {
            path: root.join(name),
            source,
        };
        let bytes = std::fs::read(source).map_err(io)?;
        let size = bytes.len() as u64;
        unpacked_bytes += size;
        if unpacked_bytes > limits.max_unpacked_bytes {
            return Err(PackageError::TooLarge {
                what: "the unpacked size",
                actual: unpacked_bytes,
                limit: limits.max_unpacked_bytes,
            });
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(if executable(source) { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, name, bytes.as_slice())
            .map_err(io)?;
        packed.push(PackedFile {
            path: name.clone(),
            size,
        });
    }
    let tar = archive.into_inner().map_err(|source| PackageError::Io {
        path: root.clone(),
        source,
    })?;
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    let bytes = gz
        .write_all(&tar)
        .and_then(|()| gz.finish())
        .map_err(|source| PackageError::Io {
            path: root.clone(),
            source,
        })?;
    let size = bytes.len() as u64;
    if size > limits.max_packed_bytes {
        return Err(PackageError::TooLarge {
            what: "the archive",
            actual: size,
            limit: limits.max_packed_bytes,
        });
    }
    Ok(Package {
        sha256: sha256(&bytes),
        bytes,
        entry,
        files: packed,
        unpacked_bytes,
        workflow,
    })
}

/// The files to package: `/`-separated path in the package -> file to read (the target,
/// for a symbolic link to a file inside the folder).
fn collect(root: &Path, limits: &Limits) -> Result<BTreeMap<String, PathBuf>, PackageError> {
    let secrets = secrets_left_out(root)?;
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .parents(false)
        .follow_links(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .filter_entry({
            let root = root.to_path_buf();
            move |entry| {
                let name = entry.file_name().to_string_lossy();
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                // `runs/` only at the top (where `alq run` writes); VCS folders anywhere.
                let always = is_dir
                    && ALWAYS_LEFT_OUT.contains(&name.as_ref())
                    && (name != "runs" || entry.path().parent() == Some(root.as_path()));
                !always && !secrets.matched(entry.path(), is_dir).is_ignore()
            }
        })
        .build();
    let mut files = BTreeMap::new();
    let mut links = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|e| PackageError::Io {
            path: root.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        let Some(name) = relative_name(root, path) else {
            continue;
        };
        if kind.is_symlink() {
            match std::fs::canonicalize(path) {
                Ok(target) if !target.starts_with(root) => links.push(format!(
                    "`{name}` is a symbolic link to {}, outside the package folder {}: copy the file into the folder instead",
                    target.display(),
                    root.display()
                )),
                Ok(target) if target.is_dir() => links.push(format!(
                    "`{name}` is a symbolic link to a folder: packages hold files only, so replace the link with the folder"
                )),
                Ok(target) => {
                    files.insert(name, target);
                }
                Err(e) => links.push(format!("`{name}` is a broken symbolic link: {e}")),
            }
        } else if kind.is_file() {
            files.insert(name, path.to_path_buf());
        }
        if files.len() > limits.max_files {
            return Err(PackageError::TooManyFiles {
                limit: limits.max_files,
            });
        }
    }
    if !links.is_empty() {
        return Err(PackageError::References(links));
    }
    Ok(files)
}

/// The secret files left out unless the package folder's own `.alqignore` takes them
/// back with `!name`: [`SECRETS_LEFT_OUT`], then that file's lines (the last match wins).
fn secrets_left_out(root: &Path) -> Result<ignore::gitignore::Gitignore, PackageError> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
    for pattern in SECRETS_LEFT_OUT {
        builder
            .add_line(None, pattern)
            .map_err(|e| PackageError::Link(e.to_string()))?;
    }
    let own = root.join(IGNORE_FILE);
    if own.is_file()
        && let Some(error) = builder.add(&own)
    {
        return Err(PackageError::Link(format!("{}: {error}", own.display())));
    }
    builder
        .build()
        .map_err(|e| PackageError::Link(e.to_string()))
}

/// `a/b.json` for `root/a/b.json`; `None` for the root itself.
pub(super) fn relative_name(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn executable(_path: &Path) -> bool {
    false
}
