//! The robot's package cache: each workflow package is downloaded once, checked against
//! the SHA-256 the lease names, and kept as `<cache>/packages/<sha256>.tar.gz`. A cached
//! file that no longer matches its name (a broken disk, a hand edit) is fetched again.

use std::path::{Path, PathBuf};

use alq_shared::package;
use alq_shared::protocol::PackageRef;

use super::http::{CallError, RobotClient};

/// Why a job's package could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The lease named something that is not a SHA-256.
    #[error("the lease names the package `{0}`, which is not a SHA-256")]
    BadName(String),
    /// The download failed.
    #[error("cannot download the workflow package {sha256}: {source}")]
    Download {
        /// The package.
        sha256: String,
        /// Why.
        source: CallError,
    },
    /// What came is not what was asked for.
    #[error("the downloaded workflow package was refused: {0}")]
    Mismatch(package::PackageError),
    /// The cache folder.
    #[error("cannot write the package cache {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The cached archive of `wanted`, downloaded first when missing or corrupt.
pub async fn fetch(
    client: &RobotClient,
    cache: &Path,
    wanted: &PackageRef,
) -> Result<PathBuf, FetchError> {
    let sha256 = wanted.sha256.to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FetchError::BadName(wanted.sha256.clone()));
    }
    let dir = cache.join("packages");
    let path = dir.join(format!("{sha256}.tar.gz"));
    if let Ok(bytes) = tokio::fs::read(&path).await {
        if package::verify(&bytes, &sha256).is_ok() {
            return Ok(path);
        }
        tracing::warn!(file = %path.display(), "A cached package does not match its hash; downloading it again.");
        let _ = tokio::fs::remove_file(&path).await;
    }
    let bytes = client
        .package(&sha256, wanted.size)
        .await
        .map_err(|source| FetchError::Download {
            sha256: sha256.clone(),
            source,
        })?;
    package::verify(&bytes, &sha256).map_err(FetchError::Mismatch)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FetchError::Io { path, source }
    };
    tokio::fs::create_dir_all(&dir).await.map_err(io(&dir))?;
    // Two jobs of one version may download at once: each writes its own file and the
    // rename puts a whole one in place.
    let temp = dir.join(format!(".{sha256}.{:016x}.tmp", rand::random::<u64>()));
    tokio::fs::write(&temp, &bytes).await.map_err(io(&temp))?;
    if let Err(source) = tokio::fs::rename(&temp, &path).await {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(FetchError::Io { path, source });
    }
    tracing::info!(package = %sha256, bytes = bytes.len(), "Workflow package downloaded.");
    Ok(path)
}
