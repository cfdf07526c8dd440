//! Workflow packages: a workflow file with the files of its folder (pages, data,
//! sub-workflows) as one deterministic, content-addressed `tar.gz` archive. `alq workflow
//! push` builds one, the control plane checks and stores it, and the robot unpacks it
//! into the job's folder, so `{{ workflow.dir }}` holds on the robot what it held on the
//! developer's machine.
//!
//! The archive holds regular files only, sorted by path, each with mode 644 (755 when
//! executable), owner 0 and time 0, gzip-compressed without a name or a time: the same
//! files give the same bytes, so the same SHA-256.

mod build;
mod check;
mod unpack;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use build::{Package, PackedFile, build, locate};
pub use check::check_dir;
pub use unpack::{Unpacked, unpack};

use crate::workflow::WorkflowError;

/// The workflow file a folder stands for.
pub const DEFAULT_ENTRY: &str = "workflow.json";
/// The file (gitignore syntax) that names what to leave out of a package.
pub const IGNORE_FILE: &str = ".alqignore";
/// Files that hold secrets, left out of a package (gitignore syntax, at any depth) unless
/// the package folder's `.alqignore` takes one back with a `!` line (`!.env.example`).
pub const SECRETS_LEFT_OUT: &[&str] = &[
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
];
/// The content type a package is sent with.
pub const CONTENT_TYPE: &str = "application/gzip";
/// Folders never packaged: version control, and the run folders `alq run` writes.
pub const ALWAYS_LEFT_OUT: &[&str] = &[".git", ".hg", ".svn", "runs"];

/// How big a package may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The archive, compressed (default 50 MiB).
    pub max_packed_bytes: u64,
    /// Every file added up, uncompressed (default 200 MiB): a bound against archives
    /// that expand without end.
    pub max_unpacked_bytes: u64,
    /// How many files (default 10,000).
    pub max_files: usize,
    /// One workflow file, the entry or one it calls (default 10 MiB,
    /// [`MAX_WORKFLOW_BYTES`](crate::workflow::MAX_WORKFLOW_BYTES); the server sets its
    /// `max_body_bytes`).
    pub max_workflow_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packed_bytes: 50 * 1024 * 1024,
            max_unpacked_bytes: 200 * 1024 * 1024,
            max_files: 10_000,
            max_workflow_bytes: crate::workflow::MAX_WORKFLOW_BYTES,
        }
    }
}

/// Why a package cannot be built, read or unpacked.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// No workflow file where one was named.
    #[error(
        "cannot read the workflow file {}: there is no such file (name a workflow file, or a folder holding `workflow.json`)",
        .0.display()
    )]
    NoWorkflow(PathBuf),
    /// The workflow file is not a regular file, or not text.
    #[error(transparent)]
    Source(#[from] crate::workflow::SourceError),
    /// A workflow file of the package is not text (named by its path in the package).
    #[error("{file}: {reason}")]
    BadWorkflowFile {
        /// Its path in the package.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The workflow (or a file it calls) is not valid.
    #[error("{0}")]
    Invalid(#[from] WorkflowError),
    /// References that reach outside the package folder, or files left out of it.
    #[error("the package cannot hold what the workflow needs:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    References(Vec<String>),
    /// Over a size limit.
    #[error("the package is too large: {what} is {actual} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// Its size.
        actual: u64,
        /// The limit.
        limit: u64,
    },
    /// A workflow file over `max_workflow_bytes`.
    #[error(
        "{file}: the workflow file is {actual} bytes, over the limit of {limit} bytes for one workflow file"
    )]
    WorkflowTooLarge {
        /// Its path in the package.
        file: String,
        /// Its size.
        actual: u64,
        /// The limit.
        limit: u64,
    },
    /// Over the file count limit.
    #[error(
        "the package has more than {limit} files: leave some out with `.alqignore` (gitignore syntax)"
    )]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// A symbolic link that cannot be packaged.
    #[error("{0}")]
    Link(String),
    /// The archive is not a package (not gzip, not tar, or an entry that may not be).
    #[error("not a valid package: {0}")]
    Corrupt(String),
    /// The bytes do not hash to the expected SHA-256.
    #[error("the package does not match its hash: expected sha256 {expected}, got {actual}")]
    HashMismatch {
        /// The hash it should have.
        expected: String,
        /// The hash it has.
        actual: String,
    },
    /// A disk error.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The SHA-256 of `bytes`, in lowercase hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Refuses bytes that do not hash to `expected`.
pub fn verify(bytes: &[u8], expected: &str) -> Result<(), PackageError> {
    let actual = sha256(bytes);
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(PackageError::HashMismatch {
            expected: expected.to_owned(),
            actual,
        })
    }
}

/// Whether `entry` is a safe relative path inside a package (`a/b.json`): no root, no
/// `..`, no backslashes or drive letters.
pub fn is_safe_relative(entry: &str) -> bool {
    !entry.is_empty()
        && !entry.contains('\\')
        && !entry.contains(':')
        && !entry.starts_with('/')
        && entry
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}
