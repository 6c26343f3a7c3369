//! The signed head of the audit chain, as written to every storage target
//! (`audit/head-<seq>-<time>.json`, one object per publication, never replaced).
//!
//! Signature: HMAC-SHA256 with a key derived by HKDF-SHA256 from an archive key of the
//! keyring (salt `coffer audit head`, info `coffer-audit-head-v1`); the head names the key
//! id, so a rotated keyring still checks old heads. Why HMAC from the archive key rather
//! than an Ed25519 key of its own: the archive keys are already the secret an operator keeps
//! apart from the metadata database (0600 files, exported with a passphrase), so an
//! attacker with only the database cannot forge a head, and there is no second key to lose,
//! rotate or back up. The derivation keeps the signing key distinct from the encryption key.
//! What HMAC cannot do is let a third party check a head without the secret; whoever holds
//! the archive keys can both check and forge, as they can read every backup anyway.
//!
//! The MAC covers, v1: `"coffer-audit-head" 0x00 0x01`, then seq and start_seq as i64
//! big-endian, then hash, start_hash, signed_at and key_id each as u32 big-endian length ‖
//! UTF-8 bytes.

use ring::{hkdf, hmac};
use serde::{Deserialize, Serialize};

use super::keyring::Key;

const MAGIC: &[u8] = b"coffer-audit-head\0";
pub const HEAD_FORMAT: u8 = 1;
/// Where heads are kept in a storage target.
pub const HEAD_PREFIX: &str = "audit/";

/// A chain head and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    pub version: u8,
    /// Position and hash of the newest entry when signed.
    pub seq: i64,
    pub hash: String,
    /// Where the chain started then (retention moves it).
    pub start_seq: i64,
    pub start_hash: String,
    /// RFC 3339, UTC.
    pub signed_at: String,
    pub key_id: String,
    /// HMAC-SHA256, hex.
    pub mac: String,
}

/// What a head says, before it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadClaim {
    pub seq: i64,
    pub hash: String,
    pub start_seq: i64,
    pub start_hash: String,
    pub signed_at: chrono::DateTime<chrono::Utc>,
}

fn signing_key(archive_key: &Key) -> hmac::Key {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"coffer audit head").extract(archive_key);
    let okm = prk
        .expand(&[b"coffer-audit-head-v1"], hmac::HMAC_SHA256)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    hmac::Key::from(okm)
}

fn message(head: &SignedHead) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(MAGIC);
    out.push(head.version);
    out.extend_from_slice(&head.seq.to_be_bytes());
    out.extend_from_slice(&head.start_seq.to_be_bytes());
    for text in [&head.hash, &head.start_hash, &head.signed_at, &head.key_id] {
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    out
}

impl SignedHead {
    /// Signs `claim` with the key `key_id` → `key`.
    pub fn sign(claim: &HeadClaim, key_id: &str, key: &Key) -> SignedHead {
        let mut head = SignedHead {
            version: HEAD_FORMAT,
            seq: claim.seq,
            hash: claim.hash.clone(),
            start_seq: claim.start_seq,
            start_hash: claim.start_hash.clone(),
            signed_at: claim
                .signed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            key_id: key_id.to_string(),
            mac: String::new(),
        };
        head.mac = hex::encode(hmac::sign(&signing_key(key), &message(&head)).as_ref());
        head
    }

    /// Whether the signature is right for `key` (the key named by `key_id`).
    pub fn verify(&self, key: &Key) -> bool {
        if self.version != HEAD_FORMAT {
            return false;
        }
        let Ok(mac) = hex::decode(&self.mac) else {
            return false;
        };
        hmac::verify(&signing_key(key), &message(self), &mac).is_ok()
    }

    /// The object key it is stored under: sorts by position, then time.
    pub fn storage_key(&self) -> String {
        let stamp: String = self
            .signed_at
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        format!("{HEAD_PREFIX}head-{:020}-{stamp}.json", self.seq)
    }
}

/// Whether `key` names a stored head (`audit/head-….json`).
pub fn is_head_key(key: &str) -> bool {
    key.strip_prefix(HEAD_PREFIX)
        .is_some_and(|name| name.starts_with("head-") && name.ends_with(".json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> HeadClaim {
        HeadClaim {
            seq: 42,
            hash: "ab".repeat(32),
            start_seq: 0,
            start_hash: "00".repeat(32),
            signed_at: chrono::DateTime::from_timestamp(1_765_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_signed_head_verifies_with_its_key_only() {
        let head = SignedHead::sign(&claim(), "k1", &[7u8; 32]);
        assert!(head.verify(&[7u8; 32]));
        assert!(!head.verify(&[8u8; 32]));
        assert_eq!(
            head.storage_key(),
            "audit/head-00000000000000000042-20251206T054640Z.json"
        );
        assert!(is_head_key(&head.storage_key()));
        assert!(!is_head_key("2026/11/abc.tar.gz.enc"));
    }

    #[test]
    fn any_changed_field_breaks_the_signature() {
        let head = SignedHead::sign(&claim(), "k1", &[7u8; 32]);
        let changes: [fn(&mut SignedHead); 6] = [
            |h| h.seq += 1,
            |h| h.hash = "cd".repeat(32),
            |h| h.start_seq = 1,
            |h| h.start_hash = "11".repeat(32),
            |h| h.signed_at = "2030-01-01T00:00:00Z".into(),
            |h| h.key_id = "k2".into(),
        ];
        for change in changes {
            let mut forged = head.clone();
            change(&mut forged);
            assert!(!forged.verify(&[7u8; 32]), "{forged:?}");
        }
    }
}
