//! The audit log as a hash chain, format v1. Each entry stores its position `seq` (1, 2, …),
//! the hash of the entry before it (`prev_hash`; the first entry's is [`GENESIS`]) and its
//! own `hash` = SHA-256(prev_hash's 32 bytes ‖ canonical bytes of the entry). Editing,
//! deleting, inserting or reordering any entry breaks a link; [`ChainWalker`] finds the
//! first broken one. The hash is not keyed: whoever can write the database can recompute
//! a whole chain, which is why the head is also signed and kept in storage
//! (`engine/audit_seal.rs`, `jobs/audit_chain`).
//!
//! Canonical bytes, v1 (never change them; a new form gets a new version byte):
//!
//! ```text
//! "coffer-audit-entry" 0x00 0x01            magic, NUL, version 1
//! seq  i64 big-endian (8 bytes)
//! id   i64 big-endian (8 bytes)
//! then each field as 0x00 (absent) or 0x01 ‖ u32 big-endian length ‖ UTF-8 bytes:
//! created_at  "YYYY-MM-DDTHH:MM:SS.ffffff" (UTC, microseconds)
//! level, operation, username?, backup_id?, task_id?, message, details?
//! ```

use chrono::{NaiveDateTime, SubsecRound};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The version of the canonical bytes this code writes and checks.
pub const FORMAT_VERSION: u8 = 1;
const MAGIC: &[u8] = b"coffer-audit-entry\0";

/// What an entry's hash covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntryContent<'a> {
    pub seq: i64,
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub level: &'a str,
    pub operation: &'a str,
    pub username: Option<&'a str>,
    pub backup_id: Option<&'a str>,
    pub task_id: Option<&'a str>,
    pub message: &'a str,
    pub details: Option<&'a str>,
}

/// The canonical bytes of `entry` (module note).
pub fn canonical_bytes(entry: &EntryContent<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + entry.message.len());
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&entry.seq.to_be_bytes());
    out.extend_from_slice(&entry.id.to_be_bytes());
    let time = entry
        .created_at
        .trunc_subsecs(6)
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    for field in [
        Some(time.as_str()),
        Some(entry.level),
        Some(entry.operation),
        entry.username,
        entry.backup_id,
        entry.task_id,
        Some(entry.message),
        entry.details,
    ] {
        match field {
            None => out.push(0),
            Some(text) => {
                out.push(1);
                let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out
}

/// The hash of `entry` linked to `prev_hash` (lowercase hex); `None` when `prev_hash` is
/// not 64 hex digits (a forged link).
pub fn entry_hash(prev_hash: &str, entry: &EntryContent<'_>) -> Option<String> {
    let prev = decode_hash(prev_hash)?;
    let mut digest = Sha256::new();
    digest.update(prev);
    digest.update(canonical_bytes(entry));
    Some(hex::encode(digest.finalize()))
}

fn decode_hash(text: &str) -> Option<[u8; 32]> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

/// Where a chain starts: after `seq` (0 for a whole chain), whose hash is `hash`. Retention
/// of old entries moves it (the entry recording the prune names the new start).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainStart {
    pub seq: i64,
    pub hash: String,
}

impl Default for ChainStart {
    fn default() -> Self {
        ChainStart {
            seq: 0,
            hash: GENESIS.to_string(),
        }
    }
}

/// One stored entry as the walker sees it.
#[derive(Debug, Clone, Copy)]
pub struct StoredLink<'a> {
    pub content: EntryContent<'a>,
    pub prev_hash: Option<&'a str>,
    pub hash: Option<&'a str>,
}

/// The first broken link of a chain: where (`seq`, the entry's `id`) and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainBreak {
    /// The chain position of the entry where the chain breaks (`None`: the entry has none).
    pub seq: Option<i64>,
    /// The database id of that entry (`None` for a break found at the end of the chain).
    pub id: Option<i64>,
    pub kind: BreakKind,
    /// One sentence for a person.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The entry's content does not match its hash: it was edited.
    Edited,
    /// A position is missing: entries were deleted.
    Missing,
    /// The entry does not link to the one before it: entries were deleted, inserted or
    /// reordered before it.
    Relinked,
    /// The entry was never chained: it was written around Coffer.
    Unchained,
    /// The newest entries are gone, or the chain does not reach the recorded head.
    Truncated,
}

/// Walks a chain in `seq` order and stops at the first broken link.
#[derive(Debug, Clone)]
pub struct ChainWalker {
    expected_seq: i64,
    expected_prev: String,
    walked: u64,
}

impl ChainWalker {
    pub fn new(start: &ChainStart) -> ChainWalker {
        ChainWalker {
            expected_seq: start.seq + 1,
            expected_prev: start.hash.clone(),
            walked: 0,
        }
    }

    /// Entries checked so far.
    pub fn walked(&self) -> u64 {
        self.walked
    }

    /// The position and hash of the last entry checked (the start when none).
    pub fn head(&self) -> (i64, &str) {
        (self.expected_seq - 1, &self.expected_prev)
    }

    /// Checks the next entry; the first error is the chain's first broken link.
    pub fn push(&mut self, link: &StoredLink<'_>) -> Result<(), ChainBreak> {
        let entry = &link.content;
        let brk = |kind, message: String| ChainBreak {
            seq: Some(entry.seq),
            id: Some(entry.id),
            kind,
            message,
        };
        let (Some(prev), Some(hash)) = (link.prev_hash, link.hash) else {
            return Err(ChainBreak {
                seq: None,
                ..brk(
                    BreakKind::Unchained,
                    format!(
                        "entry {} is not part of the chain: it was written around Coffer",
                        entry.id
                    ),
                )
            });
        };
        if entry_hash(prev, entry).as_deref() != Some(hash) {
            return Err(brk(
                BreakKind::Edited,
                format!(
                    "entry #{} (id {}) does not match its hash: it was edited",
                    entry.seq, entry.id
                ),
            ));
        }
        if entry.seq > self.expected_seq {
            return Err(brk(
                BreakKind::Missing,
                format!(
                    "entries #{} to #{} are missing before entry #{} (id {}): deleted",
                    self.expected_seq,
                    entry.seq - 1,
                    entry.seq,
                    entry.id
                ),
            ));
        }
        if entry.seq != self.expected_seq || prev != self.expected_prev {
            return Err(brk(
                BreakKind::Relinked,
                format!(
                    "entry #{} (id {}) does not follow entry #{}: entries were deleted, inserted or reordered",
                    entry.seq,
                    entry.id,
                    self.expected_seq - 1
                ),
            ));
        }
        self.expected_seq += 1;
        self.expected_prev = hash.to_string();
        self.walked += 1;
        Ok(())
    }

    /// Checks that the walk ended at the recorded head `(seq, hash)`.
    pub fn finish(&self, head_seq: i64, head_hash: &str) -> Result<(), ChainBreak> {
        let (seq, hash) = self.head();
        if seq == head_seq && hash == head_hash {
            return Ok(());
        }
        Err(ChainBreak {
            seq: Some(seq + 1),
            id: None,
            kind: BreakKind::Truncated,
            message: format!(
                "the chain ends at entry #{seq} but its recorded head is entry #{head_seq}: the newest entries were removed or the head rewritten"
            ),
        })
    }
}

#[cfg(test)]
#[path = "audit_chain_tests.rs"]
mod tests;
