//! Reading a workflow file from disk, bounded: only a regular file (a device such as
//! `/dev/zero` or a named pipe would never end), no larger than a limit, UTF-8, with a
//! byte-order mark read as if it were not there.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest workflow file alq reads: 10 MiB. A workflow is a few kilobytes; data
/// belongs in the files it reads.
pub const MAX_WORKFLOW_BYTES: u64 = 10 * 1024 * 1024;

/// The UTF-8 byte-order mark some Windows editors put at the start of a file.
const BOM: char = '\u{feff}';

/// Why a workflow file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A folder, a device, a pipe or a socket.
    #[error("{}: {}", .path.display(), self.reason())]
    NotRegular {
        /// The path as given.
        path: PathBuf,
        /// What it is, with its article: `a folder`, `a named pipe (FIFO)`.
        kind: &'static str,
    },
    /// Over the size limit.
    #[error("{}: {}", .path.display(), self.reason())]
    TooLarge {
        /// The path as given.
        path: PathBuf,
        /// Its size (at least; a file that grows while read counts what was read).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not UTF-8 text.
    #[error("{}: {}", .path.display(), self.reason())]
    NotUtf8 {
        /// The path as given.
        path: PathBuf,
        /// Where the first bad byte is.
        offset: usize,
    },
    /// It cannot be read.
    #[error("{}: {}", .path.display(), self.reason())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl SourceError {
    /// What is wrong, without the path (for messages that name the file already).
    pub fn reason(&self) -> String {
        match self {
            SourceError::NotRegular { kind, .. } => format!(
                "the workflow file is {kind}, not a regular file: name a workflow file (or, \
                 where a folder is accepted, a folder holding `workflow.json`)"
            ),
            SourceError::TooLarge { size, limit, .. } => format!(
                "the workflow file is {size} bytes, over the limit of {limit} bytes ({}): keep \
                 data in files the workflow reads, not in the workflow",
                size_text(*limit)
            ),
            SourceError::NotUtf8 { offset, .. } => format!(
                "the workflow file is not UTF-8 text (invalid byte at offset {offset}): save it \
                 as UTF-8"
            ),
            SourceError::Io { source, .. } => format!("cannot read the workflow file: {source}"),
        }
    }
}

/// `10 MiB`, `1.5 KiB`, `300 bytes`.
fn size_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        format!("{} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

/// What a file that is not a regular file is, for messages.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_char_device() {
            return "a character device (such as /dev/zero)";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Refuses a path that is not a regular file (following symbolic links), without
/// opening it: opening a named pipe would wait for a writer.
pub fn check_regular(path: &Path) -> Result<std::fs::Metadata, SourceError> {
    let meta = std::fs::metadata(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        Ok(meta)
    } else {
        Err(SourceError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        })
    }
}

/// Reads a workflow file: a regular file of at most `limit` bytes, UTF-8; a leading
/// byte-order mark is dropped.
pub fn read_source(path: &Path, limit: u64) -> Result<String, SourceError> {
    let meta = check_regular(path)?;
    let too_large = |size| SourceError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit,
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let io = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // The size seen before opening is no promise (the file may grow, or be a file of
    // `/proc` that says 0): read at most one byte past the limit.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    let text = String::from_utf8(bytes).map_err(|e| SourceError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    Ok(match text.strip_prefix(BOM) {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// The text without a leading byte-order mark.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix(BOM).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_is_dropped_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.json");
        std::fs::write(&file, "\u{feff}{\"a\": 1}").unwrap();
        assert_eq!(read_source(&file, 100).unwrap(), "{\"a\": 1}");
        assert_eq!(strip_bom("\u{feff}x"), "x");
        assert_eq!(strip_bom("x\u{feff}"), "x\u{feff}");
    }

    #[test]
    fn folders_devices_and_large_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = read_source(dir.path(), 100).unwrap_err();
        assert!(error.to_string().contains("is a folder"), "{error}");
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; 101]).unwrap();
        let error = read_source(&big, 100).unwrap_err();
        assert!(
            matches!(
                error,
                SourceError::TooLarge {
                    size: 101,
                    limit: 100,
                    ..
                }
            ),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("is 101 bytes, over the limit of 100 bytes"),
            "{error}"
        );
        #[cfg(unix)]
        {
            let error = read_source(Path::new("/dev/zero"), 100).unwrap_err();
            assert!(error.to_string().contains("character device"), "{error}");
        }
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"{\xff}").unwrap();
        let error = read_source(&bad, 100).unwrap_err();
        assert!(error.to_string().contains("offset 1"), "{error}");
    }
}
