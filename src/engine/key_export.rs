//! The keyring sealed with a passphrase (`coffer key export` / `coffer key import`), so a
//! lost key directory is not the end of every backup.
//!
//! The file is JSON (`docs/archive-format.md` describes it for readers without Coffer):
//!
//! ```text
//! { "format": "coffer-keyring-export", "version": 1, "created_at": RFC 3339,
//!   "key_ids": [ids, in the clear, so an operator can tell exports apart],
//!   "kdf": { "algorithm": "argon2id", "version": 19, "memory_kib": 65536,
//!            "iterations": 3, "parallelism": 4, "salt": hex(16 random bytes) },
//!   "cipher": { "algorithm": "AES-256-GCM", "nonce": hex(12 random bytes) },
//!   "ciphertext": hex(AES-256-GCM(key = argon2id(passphrase, salt), nonce,
//!                     associated data = "coffer-keyring-export v1", plaintext)) }
//! plaintext: { "active": id, "keys": [{ "id", "key": hex(32 bytes), "created_at" }] }
//! ```
//!
//! Argon2id with 64 MiB, 3 passes and 4 lanes is RFC 9106's second recommended setting:
//! it makes each passphrase guess cost a fraction of a second and 64 MiB. The parameters are
//! read back from the file (within bounds), so a future export may raise them. A wrong
//! passphrase and a changed file both fail authentication; the ids in the clear must equal
//! the sealed ones.

use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, OsRng, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::keyring::{Key, KeyInfo};

pub const FORMAT: &str = "coffer-keyring-export";
pub const VERSION: u32 = 1;
const ASSOCIATED_DATA: &[u8] = b"coffer-keyring-export v1";
/// Passphrases shorter than this are refused for a new export.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

#[derive(Debug, Serialize, Deserialize)]
struct ExportFile {
    format: String,
    version: u32,
    created_at: DateTime<Utc>,
    key_ids: Vec<String>,
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kdf {
    algorithm: String,
    version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cipher {
    algorithm: String,
    nonce: String,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    active: String,
    keys: Vec<SealedKey>,
}

#[derive(Serialize, Deserialize)]
struct SealedKey {
    id: String,
    key: String,
    created_at: DateTime<Utc>,
}

/// The keys an export holds, and which was active.
pub struct OpenedExport {
    pub keys: Vec<(KeyInfo, Key)>,
    pub active: String,
    pub created_at: DateTime<Utc>,
}

/// Why an export could not be made or read; the message is for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExportError(pub String);

fn fail(message: impl Into<String>) -> ExportError {
    ExportError(message.into())
}

/// The export file's text for `keys` (oldest first) with `active`, sealed with `passphrase`.
pub fn seal(
    keys: &[(KeyInfo, Key)],
    active: &str,
    passphrase: &str,
) -> Result<String, ExportError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(fail(format!(
            "the passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters \
             (it alone protects every key of the export)"
        )));
    }
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    OsRng
        .try_fill_bytes(&mut salt)
        .and_then(|()| OsRng.try_fill_bytes(&mut nonce))
        .map_err(|e| fail(format!("cannot get random bytes: {e}")))?;
    let kdf = Kdf {
        algorithm: "argon2id".into(),
        version: 19,
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
        salt: hex::encode(salt),
    };
    let plaintext = serde_json::to_vec(&Sealed {
        active: active.to_string(),
        keys: keys
            .iter()
            .map(|(info, bytes)| SealedKey {
                id: info.id.clone(),
                key: hex::encode(bytes),
                created_at: info.created_at,
            })
            .collect(),
    })
    .map_err(|e| fail(e.to_string()))?;
    let key = derive_key(passphrase, &kdf)?;
    let ciphertext = Aes256Gcm::new(GenericArray::from_slice(&key))
        .encrypt(
            GenericArray::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: ASSOCIATED_DATA,
            },
        )
        .map_err(|_| fail("AES-GCM encryption failed"))?;
    let file = ExportFile {
        format: FORMAT.into(),
        version: VERSION,
        created_at: Utc::now(),
        key_ids: keys.iter().map(|(info, _)| info.id.clone()).collect(),
        kdf,
        cipher: Cipher {
            algorithm: "AES-256-GCM".into(),
            nonce: hex::encode(nonce),
        },
        ciphertext: hex::encode(ciphertext),
    };
    let text = serde_json::to_string_pretty(&file).map_err(|e| fail(e.to_string()))?;
    Ok(format!("{text}\n"))
}

/// Reads an export made by [`seal`]; a wrong passphrase or a changed file is an error.
pub fn open(text: &str, passphrase: &str) -> Result<OpenedExport, ExportError> {
    let file: ExportFile = serde_json::from_str(text)
        .map_err(|e| fail(format!("not a Coffer keyring export ({e})")))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(fail(format!(
            "not a Coffer keyring export of version {VERSION} (format `{}`, version {})",
            file.format, file.version
        )));
    }
    if file.kdf.algorithm != "argon2id" || file.cipher.algorithm != "AES-256-GCM" {
        return Err(fail(
            "the export uses an algorithm this Coffer does not know",
        ));
    }
    let nonce: [u8; 12] = hex::decode(&file.cipher.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| fail("the export is damaged: its nonce is not 12 bytes"))?;
    let ciphertext = hex::decode(&file.ciphertext)
        .map_err(|_| fail("the export is damaged: its ciphertext is not hex"))?;
    let key = derive_key(passphrase, &file.kdf)?;
    let plaintext = Aes256Gcm::new(GenericArray::from_slice(&key))
        .decrypt(
            GenericArray::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad: ASSOCIATED_DATA,
            },
        )
        .map_err(|_| fail("wrong passphrase, or the export file was changed"))?;
    let sealed: Sealed = serde_json::from_slice(&plaintext)
        .map_err(|e| fail(format!("the export is damaged inside: {e}")))?;
    let mut keys = Vec::with_capacity(sealed.keys.len());
    for k in sealed.keys {
        let mut bytes: Key = [0; 32];
        hex::decode_to_slice(&k.key, &mut bytes).map_err(|_| {
            fail(format!(
                "the export is damaged: key `{}` is not 32 bytes",
                k.id
            ))
        })?;
        keys.push((
            KeyInfo {
                active: k.id == sealed.active,
                id: k.id,
                created_at: k.created_at,
            },
            bytes,
        ));
    }
    let sealed_ids: Vec<&String> = keys.iter().map(|(info, _)| &info.id).collect();
    if sealed_ids != file.key_ids.iter().collect::<Vec<_>>() {
        return Err(fail(
            "the export was changed: the key ids shown in it are not the ones sealed in it",
        ));
    }
    Ok(OpenedExport {
        keys,
        active: sealed.active,
        created_at: file.created_at,
    })
}

fn derive_key(passphrase: &str, kdf: &Kdf) -> Result<Key, ExportError> {
    // Bounds on what a file may ask for: enough for any sane setting (this writes 64 MiB,
    // 3 passes), not a memory bomb or an hour of hashing (at most 1 GiB, 16 passes).
    if kdf.version != 19
        || !(8 * 1024..=1024 * 1024).contains(&kdf.memory_kib)
        || !(1..=16).contains(&kdf.iterations)
        || !(1..=16).contains(&kdf.parallelism)
    {
        return Err(fail(
            "the export's key derivation settings are out of range",
        ));
    }
    let salt =
        hex::decode(&kdf.salt).map_err(|_| fail("the export is damaged: its salt is not hex"))?;
    let params = argon2::Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|e| fail(format!("the export's key derivation settings: {e}")))?;
    let mut key: Key = [0; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &salt, &mut key)
        .map_err(|e| fail(format!("cannot derive the key from the passphrase: {e}")))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::keyring::Keyring;

    #[test]
    fn sealed_keys_open_with_the_passphrase_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut keyring, _) = Keyring::open_or_create(tmp.path()).unwrap();
        keyring.rotate().unwrap();
        let keys = keyring.keys_for_export();
        let active = keyring.active().unwrap().0.to_string();
        let phrase = "correct horse battery staple";
        let text = seal(&keys, &active, phrase).unwrap();
        for (info, bytes) in &keys {
            assert!(text.contains(&info.id), "ids are shown");
            assert!(
                !text.contains(&hex::encode(bytes)),
                "never a key in the clear"
            );
        }

        let opened = open(&text, phrase).unwrap();
        assert_eq!(opened.active, active);
        assert_eq!(opened.keys, keys);

        let wrong = open(&text, "correct horse battery stable").err().unwrap();
        assert!(wrong.0.contains("wrong passphrase"), "{wrong}");
        let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
        file["key_ids"] = serde_json::json!(["k-20200101-000000"]);
        assert!(
            open(&file.to_string(), phrase).is_err(),
            "ids shown must match"
        );
        assert!(seal(&keys, &active, "short").is_err());
    }
}
