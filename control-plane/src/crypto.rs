//! The server key and the encryption of secrets at rest (credential assets):
//! ChaCha20-Poly1305 with a random nonce per value, the value's owner as associated data
//! so a ciphertext copied to another row does not decrypt.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::RngCore;

use crate::config::Config;

const NONCE_LEN: usize = 12;

/// Why the key or a secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The key file is missing, unreadable or not 32 bytes of hex.
    #[error("server key {path}: {problem}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A stored secret does not decrypt with this key (the key changed, or the row was
    /// tampered with).
    #[error("a stored secret does not decrypt with the server key (was the key changed?)")]
    Decrypt,
}

/// The 32-byte key that encrypts secrets at rest. `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> SecretKey {
        SecretKey {
            cipher: ChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// The configured `secret_key_file`, or `server.key` in the data folder, made (mode
    /// 0600) on first start. Replicas sharing a database must share the key file.
    pub fn load_or_create(config: &Config) -> Result<SecretKey, CryptoError> {
        match &config.secret_key_file {
            Some(path) => Self::read(path),
            None => {
                let path = config.data_dir().join("server.key");
                if path.exists() {
                    Self::read(&path)
                } else {
                    Self::create(&path)
                }
            }
        }
    }

    fn read(path: &Path) -> Result<SecretKey, CryptoError> {
        let problem = |problem: String| CryptoError::Key {
            path: path.to_path_buf(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
        let bytes = hex::decode(text.trim())
            .map_err(|_| problem("expected 64 hexadecimal characters".into()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| problem(format!("expected 32 bytes, found {}", b.len())))?;
        Ok(Self::from_bytes(&bytes))
    }

    fn create(path: &Path) -> Result<SecretKey, CryptoError> {
        let problem = |problem: String| CryptoError::Key {
            path: path.to_path_buf(),
            problem,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| problem(e.to_string()))?;
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let mut options = std::fs::OpenOptions::new();
        // create_new: two servers starting on one data folder must not both write a key.
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| problem(e.to_string()))?;
        file.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| problem(e.to_string()))?;
        tracing::info!(path = %path.display(), "Server key created; back it up with the database.");
        Ok(Self::from_bytes(&bytes))
    }

    /// Encrypts `plaintext` bound to `owner`: the nonce, then the ciphertext and tag.
    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: owner.as_bytes(),
        };
        // Encryption fails only for messages past 256 GiB; assets are bounded far below.
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what `seal` made for the same `owner`.
    pub fn open(&self, owner: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Decrypt)?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_owner_and_differ_each_time() {
        let key = SecretKey::from_bytes(&[7; 32]);
        let a = key.seal("t/erp", b"hunter2");
        let b = key.seal("t/erp", b"hunter2");
        assert_ne!(a, b, "a fresh nonce per value");
        assert_eq!(key.open("t/erp", &a).unwrap(), b"hunter2");
        assert!(key.open("t/other", &a).is_err());
        assert!(SecretKey::from_bytes(&[8; 32]).open("t/erp", &a).is_err());
        assert!(key.open("t/erp", &a[..5]).is_err());
    }

    #[test]
    fn the_key_file_is_made_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: Some(dir.path().to_path_buf()),
            ..Config::default()
        };
        let first = SecretKey::load_or_create(&config).unwrap();
        let sealed = first.seal("x", b"v");
        let second = SecretKey::load_or_create(&config).unwrap();
        assert_eq!(second.open("x", &sealed).unwrap(), b"v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("server.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
