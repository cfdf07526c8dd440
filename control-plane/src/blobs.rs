//! The blob store: artifacts by SHA-256 in a folder (`<data dir>/blobs/ab/abcdef...`).
//! Writes go to a temporary file first and are renamed into place, so a reader never
//! sees half a blob and two robots uploading the same bytes do not interfere.

use std::io;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// Why a blob was not stored.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The name is not 64 lowercase hex characters.
    #[error("`{0}` is not a SHA-256 in lowercase hex (64 characters)")]
    BadName(String),
    /// The bytes do not hash to the name.
    #[error("the bytes hash to {actual}, not to {expected}")]
    Mismatch {
        /// The name given.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// The disk failed.
    #[error("blob store: {0}")]
    Io(#[from] io::Error),
    /// A blob the database names is not in the store.
    #[error("blob {0} is missing from the blob store")]
    Missing(String),
}

/// A folder of content-addressed blobs.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

/// Whether `name` is a SHA-256 in lowercase hex.
pub fn is_sha256(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl BlobStore {
    /// A store in `dir` (made when the first blob is written).
    pub fn new(dir: PathBuf) -> BlobStore {
        BlobStore { dir }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(sha256)
    }

    /// Stores `bytes` under their SHA-256, which must be `sha256`; storing the same
    /// bytes again is a no-op.
    pub async fn put(&self, sha256: &str, bytes: &[u8]) -> Result<(), BlobError> {
        if !is_sha256(sha256) {
            return Err(BlobError::BadName(sha256.to_owned()));
        }
        let actual = hex::encode(Sha256::digest(bytes));
        if actual != sha256 {
            return Err(BlobError::Mismatch {
                expected: sha256.to_owned(),
                actual,
            });
        }
        let path = self.path(sha256);
        if tokio::fs::try_exists(&path).await? {
            return Ok(());
        }
        let folder = self.dir.join(&sha256[..2]);
        tokio::fs::create_dir_all(&folder).await?;
        let temp = folder.join(format!(".{sha256}.{}.tmp", uuid::Uuid::new_v4()));
        tokio::fs::write(&temp, bytes).await?;
        if let Err(error) = tokio::fs::rename(&temp, &path).await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(error.into());
        }
        Ok(())
    }

    /// The bytes of a blob, or `None` when there is none.
    pub async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError> {
        if !is_sha256(sha256) {
            return Err(BlobError::BadName(sha256.to_owned()));
        }
        match tokio::fs::read(self.path(sha256)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes of a blob the database says is stored: its absence is the server's
    /// fault, not the caller's.
    pub async fn require(&self, sha256: &str) -> Result<Vec<u8>, BlobError> {
        self.get(sha256)
            .await?
            .ok_or_else(|| BlobError::Missing(sha256.to_owned()))
    }
}
