//! The manifest (`coffer/manifest.json`, the archive's last entry, also stored beside the
//! archive and in the database) describes the whole logical state a backup restores to:
//! every entry with its size, mode, mtime and SHA-256, and — in an incremental — which
//! backup holds each unchanged file. Paths are `<source>/<relative path>` with `/`.

pub mod base_backup;
pub mod facts;
mod fields;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

pub use base_backup::BaseBackupFacts;
pub use facts::{DatabaseFacts, SourceFacts};
pub use fields::Sha256Sum;

use crate::domain::{BackupKind, SourceKind};

pub const FORMAT_VERSION: u32 = 1;
/// The archive path of the embedded manifest.
pub const MANIFEST_ENTRY: &str = "coffer/manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format_version: u32,
    pub backup_id: String,
    pub kind: BackupKind,
    pub parent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub scope: String,
    pub sources: Vec<SourceEntry>,
    #[serde(deserialize_with = "deserialize_files")]
    pub files: Vec<FileEntry>,
    /// Paths the parent had that are gone now (incremental only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<String>,
}

/// A source as it was when backed up; `origin` is where it came from (never a secret).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceEntry {
    pub name: String,
    pub service: String,
    pub kind: SourceKind,
    pub origin: String,
    /// When the source's snapshot was taken (the dump's transaction, the SQLite copy, the
    /// Redis sync; the start of the walk of a folder): the sources of one backup describe
    /// moments this close together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_at: Option<DateTime<Utc>>,
    /// Row counts, objects and key counts of a database source, from the same snapshot as
    /// its dump; what a drill proves its restored copy against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<SourceFacts>,
    /// A PITR postgres source backed up as a base backup (its files under
    /// `<source>/pgdata/`): where its WAL starts and ends (see `base_backup.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_backup: Option<BaseBackupFacts>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One entry of the backed-up tree. Held once per file, so its fields are kept compact
/// (boxed strings, the digest inline, backup ids shared); the JSON form is unchanged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub path: Box<str>,
    pub kind: EntryKind,
    #[serde(default)]
    pub size: u64,
    pub mode: u32,
    /// Modification time in nanoseconds since the epoch (tar headers keep whole seconds only).
    pub mtime_ns: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Sum>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<Box<str>>,
    /// The backup whose archive holds this file's content; `None` means this backup's own.
    /// Every entry naming the same backup shares one allocation.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "fields::deserialize_holder"
    )]
    pub stored_in: Option<Arc<str>>,
}

/// Reads `files` with the backup ids of `stored_in` shared across entries.
fn deserialize_files<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<FileEntry>, D::Error> {
    let _shared = fields::SharedHolders::start();
    Vec::<FileEntry>::deserialize(deserializer)
}

impl FileEntry {
    /// The source this entry belongs to (first path component).
    pub fn source(&self) -> &str {
        self.path.split('/').next().unwrap_or_default()
    }

    /// The path inside the source, empty for the source's root.
    pub fn relative(&self) -> &str {
        self.path.split_once('/').map_or("", |(_, rest)| rest)
    }
}

impl Manifest {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a manifest always serialises")
    }

    /// The JSON text, written into a buffer of exactly the right size (counted in a first
    /// pass): growing a buffer of tens of MiB by doubling would briefly need three times that.
    pub fn to_json_sized(&self) -> String {
        let mut counter = ByteCounter(0);
        serde_json::to_writer(&mut counter, self).expect("a manifest always serialises");
        let mut buffer = Vec::with_capacity(counter.0);
        serde_json::to_writer(&mut buffer, self).expect("a manifest always serialises");
        String::from_utf8(buffer).expect("serde_json writes UTF-8")
    }

    pub fn from_json(text: &str) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_str(text).map_err(|e| format!("manifest is not valid: {e}"))?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(format!(
                "manifest has format version {}, this Coffer reads version {FORMAT_VERSION}",
                manifest.format_version
            ));
        }
        Ok(manifest)
    }

    /// The backup id that holds the content of `entry`.
    pub fn holder_of<'a>(&'a self, entry: &'a FileEntry) -> &'a str {
        entry.stored_in.as_deref().unwrap_or(&self.backup_id)
    }

    /// Every backup (this one included) whose archive holds content this manifest needs.
    pub fn chain(&self) -> Vec<String> {
        let mut ids = vec![self.backup_id.clone()];
        for entry in &self.files {
            if let Some(id) = &entry.stored_in {
                if ids.iter().all(|known| **known != **id) {
                    ids.push(id.to_string());
                }
            }
        }
        ids
    }

    pub fn file_count(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.kind == EntryKind::File)
            .count()
    }

    /// Sizes come from storage, which is not trusted: a hostile manifest's sum saturates
    /// instead of overflowing.
    pub fn total_size(&self) -> u64 {
        sum_sizes(self.files.iter())
    }
}

/// The sum of the entries' sizes, saturating (the sizes come from storage).
pub fn sum_sizes<'a>(entries: impl Iterator<Item = &'a FileEntry>) -> u64 {
    entries.fold(0u64, |sum, e| sum.saturating_add(e.size))
}

/// Counts what would be written.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
