//! What the archive writer is given to write: each source's planned entries, planned by
//! `sources` (which walks trees and dumps databases) and written here without the engine
//! knowing where they came from.

use std::io::Read;
use std::path::PathBuf;

use crate::engine::manifest::{EntryKind, SourceEntry};
use crate::error::Result;

/// One thing to put in the archive. A whole tree's plan is held at once, so the entry is
/// kept small: where it is read from is not stored but derived (`PlannedSource::disk_path`).
#[derive(Debug, Clone)]
pub struct PlannedEntry {
    /// `<source>/<relative path>`; the source root itself is `<source>`.
    pub archive_path: Box<str>,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub mtime_ns: i64,
    pub link_target: Option<Box<str>>,
    /// Never taken from the parent in an incremental: a database snapshot's size and
    /// mtime say nothing about its content (WAL mode leaves the main file's mtime alone).
    pub always_archive: bool,
    /// Already compressed (a database dump its tool compressed): stored in the archive
    /// without deflating it again, whatever its name.
    pub store_only: bool,
    /// Device and inode when planned: a path swapped for another file is noticed.
    pub identity: (u64, u64),
}

/// One source's part of an archive: its manifest entry, its planned entries (taken as they
/// are written, so a large tree's plan and its manifest are never both whole in memory), and
/// where each entry is read from now.
pub trait PlannedSource {
    fn entry(&self) -> &SourceEntry;
    fn entries(&self) -> &[PlannedEntry];
    fn take_entries(&mut self) -> Vec<PlannedEntry>;
    fn disk_path(&self, entry: &PlannedEntry) -> PathBuf;

    /// Entries that arrive while the archive is written, after the planned ones (a base
    /// backup's tar read from its server as it comes, never spooled to disk): each is handed
    /// to `sink`, which archives it. Nothing by default. The writer reads `entry()` again
    /// afterwards, since a stream learns some of its facts only as it ends.
    fn stream(&mut self, _sink: &mut EntrySink<'_>) -> Result<()> {
        Ok(())
    }

    /// The bytes `stream` is expected to bring (for progress only; 0 when unknown).
    fn streamed_estimate(&self) -> u64 {
        0
    }
}

/// One entry of a streamed source: its header, and (a file) exactly `size` bytes in `reader`.
pub struct StreamedEntry<'r> {
    /// The path inside the source (`pgdata/base/1/112`), `/`-separated.
    pub relative: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub mtime_ns: i64,
    pub link_target: Option<String>,
    pub reader: &'r mut dyn Read,
}

/// What a streamed source hands its entries to.
pub type EntrySink<'s> = dyn FnMut(StreamedEntry<'_>) -> Result<()> + 's;

/// Nanoseconds since the epoch, saturating far in the past or future (past the year 2262)
/// rather than overflowing.
pub fn mtime_ns(seconds: i64, nanos: i64) -> i64 {
    seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
}
