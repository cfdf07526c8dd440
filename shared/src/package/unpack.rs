//! Unpacking a package safely: regular files only, at relative paths that stay inside
//! the destination, within the size and file count limits.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::{Limits, PackageError, is_safe_relative};

/// What an unpack wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// The files written, in archive order (`/`-separated).
    pub files: Vec<String>,
    /// Their sizes added up.
    pub bytes: u64,
}

/// Unpacks the archive `bytes` into `dest` (made if missing). Refuses, before writing
/// anything past it, an entry that is not a regular file or folder, a path that is
/// absolute or climbs with `..`, and archives over `limits`.
pub fn unpack(bytes: &[u8], dest: &Path, limits: &Limits) -> Result<Unpacked, PackageError> {
    if bytes.len() as u64 > limits.max_packed_bytes {
        return Err(PackageError::TooLarge {
            what: "the archive",
            actual: bytes.len() as u64,
            limit: limits.max_packed_bytes,
        });
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PackageError::Io { path, source }
    };
    std::fs::create_dir_all(dest).map_err(io(dest))?;
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| PackageError::Corrupt(e.to_string()))?;
    let mut unpacked = Unpacked {
        files: Vec::new(),
        bytes: 0,
    };
    for entry in entries {
        let mut entry = entry.map_err(|e| PackageError::Corrupt(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| PackageError::Corrupt(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        // `tar -czf x.tar.gz -C folder .` names entries `./a`, and the folder `./`.
        let mut name = path.trim_end_matches('/');
        while let Some(rest) = name.strip_prefix("./") {
            name = rest;
        }
        let name = name.to_owned();
        if (name.is_empty() || name == ".") && entry.header().entry_type().is_dir() {
            continue;
        }
        if !is_safe_relative(&name) {
            return Err(PackageError::Corrupt(format!(
                "the entry `{name}` is not a relative path inside the package"
            )));
        }
        let target: PathBuf = dest.join(&name);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(io(&target))?;
                continue;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            other => {
                return Err(PackageError::Corrupt(format!(
                    "the entry `{name}` is a {other:?}, not a file: packages hold regular files only"
                )));
            }
        }
        if unpacked.files.len() >= limits.max_files {
            return Err(PackageError::TooManyFiles {
                limit: limits.max_files,
            });
        }
        // Read at most one byte past what is left, whatever the header claims.
        let left = limits.max_unpacked_bytes.saturating_sub(unpacked.bytes);
        let mut content = Vec::new();
        (&mut entry)
            .take(left + 1)
            .read_to_end(&mut content)
            .map_err(|e| PackageError::Corrupt(e.to_string()))?;
        unpacked.bytes += content.len() as u64;
        if unpacked.bytes > limits.max_unpacked_bytes {
            return Err(PackageError::TooLarge {
                what: "the unpacked size",
                actual: unpacked.bytes,
                limit: limits.max_unpacked_bytes,
            });
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        // The destination holds only what this function made, and it makes no links,
        // so writing through `target` cannot land outside `dest`.
        std::fs::write(&target, &content).map_err(io(&target))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = if entry.header().mode().unwrap_or(0o644) & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                .map_err(io(&target))?;
        }
        unpacked.files.push(name);
    }
    Ok(unpacked)
}
