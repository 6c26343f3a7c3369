//! Reading the WAL archive back for a restore. Storage is not trusted: every object is
//! decrypted (with the key its row names), gunzipped, and its size and SHA-256 compared
//! with the row before it is written out; a bad or missing copy is skipped for the next
//! target's (primary first), and when no target has a good one the segment is named in
//! the error.

use std::io::{Read, Write};
use std::path::Path;

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use super::names::{WalName, DEFAULT_SEGMENT_SIZE};
use crate::app::App;
use crate::db::WalSegment;
use crate::engine::crypt::DecryptingReader;
use crate::error::{Error, IoContext, Result};

/// At most this many missing segments are named in [`FetchedWal::gaps`].
const MAX_GAPS_LISTED: usize = 1000;

/// What [`fetch_wal`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedWal {
    /// Segment files written (history files not counted), the partial one included.
    pub segments: usize,
    /// The newest segment written (the partial one's plain name when it is the newest).
    pub newest: Option<String>,
    /// When that newest segment was stored (for a partial one: its last flush).
    pub newest_stored_at: Option<NaiveDateTime>,
    /// Segments between `from_segment` and `newest` that the archive does not hold (on
    /// any timeline); replay cannot pass the first one. At most 1000 are named.
    pub gaps: Vec<String>,
}

/// Writes every archived segment of `source` from `from_segment` on (compared by segment
/// number, on timelines up to `timeline_hint` when given), every timeline history file, and
/// the newest partial segment (under its plain name, so replay reaches the newest flushed
/// WAL) into `dir`, each verified. Fails naming the segment when no target holds a good copy.
pub fn fetch_wal(
    app: &App,
    source: &str,
    from_segment: &str,
    timeline_hint: Option<u32>,
    dir: &Path,
) -> Result<FetchedWal> {
    let from = match WalName::parse(from_segment) {
        Some(name @ WalName::Segment { .. }) => name,
        _ => {
            return Err(Error::Invalid(format!(
                "`{from_segment}` is not a WAL segment name (24 upper-case hex digits)"
            )))
        }
    };
    std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
    // The partial segment is replaced while streaming runs: its object may be newer than
    // the row read a moment ago, or gone with the finished segment stored. Read again then.
    let mut attempts = 0;
    loop {
        match fetch_once(app, source, &from, timeline_hint, dir) {
            Err(Fetch::PartialMoved(_)) if attempts < 5 => attempts += 1,
            Err(Fetch::PartialMoved(e) | Fetch::Failed(e)) => return Err(e),
            Ok(fetched) => return Ok(fetched),
        }
    }
}

enum Fetch {
    /// Reading the partial segment failed and its row changed meanwhile.
    PartialMoved(Error),
    Failed(Error),
}

impl From<Error> for Fetch {
    fn from(e: Error) -> Fetch {
        Fetch::Failed(e)
    }
}

impl From<crate::db::DbError> for Fetch {
    fn from(e: crate::db::DbError) -> Fetch {
        Fetch::Failed(e.into())
    }
}

fn fetch_once(
    app: &App,
    source: &str,
    from: &WalName,
    timeline_hint: Option<u32>,
    dir: &Path,
) -> std::result::Result<FetchedWal, Fetch> {
    let rows = WalSegment::list(&mut *app.conn()?, source)?;
    let size = segment_size(&rows);
    let from_no = from.segment_no(size).unwrap_or(0);

    let mut wanted: Vec<(u64, &WalSegment)> = Vec::new();
    for row in &rows {
        let Some(name) = WalName::parse(&row.name) else {
            continue;
        };
        match name.segment_no(size) {
            None => {
                let plain = read_verified(app, row)?;
                write_file(dir, &row.name, &plain)?;
            }
            Some(no) => {
                let on_timeline = timeline_hint.is_none_or(|hint| name.timeline() <= hint);
                if no >= from_no && on_timeline {
                    wanted.push((no, row));
                }
            }
        }
    }
    // A partial segment counts only when it is the newest and not finished since.
    let finished_max = wanted
        .iter()
        .filter(|(_, r)| !r.partial)
        .map(|(n, _)| *n)
        .max();
    let partial = wanted
        .iter()
        .filter(|(no, r)| r.partial && finished_max.is_none_or(|max| *no > max))
        .max_by_key(|(no, r)| (*no, r.timeline))
        .copied();
    wanted.retain(|(_, r)| !r.partial);
    wanted.extend(partial);
    wanted.sort_by_key(|(no, r)| (*no, r.timeline));

    let mut fetched = FetchedWal {
        segments: 0,
        newest: None,
        newest_stored_at: None,
        gaps: Vec::new(),
    };
    let mut expected = from_no;
    for (no, row) in &wanted {
        for missing in expected..*no {
            if fetched.gaps.len() < MAX_GAPS_LISTED {
                let timeline = u32::try_from(row.timeline).unwrap_or(0);
                fetched.gaps.push(WalName::segment(timeline, missing, size));
            }
        }
        expected = expected.max(no + 1);
        let plain = match read_verified(app, row) {
            Ok(plain) => plain,
            Err(e) if row.partial => {
                let now = WalSegment::find(&mut *app.conn()?, source, &row.name, true)?;
                return Err(if now.as_ref() == Some(*row) {
                    Fetch::Failed(e)
                } else {
                    Fetch::PartialMoved(e)
                });
            }
            Err(e) => return Err(e.into()),
        };
        write_file(dir, &row.name, &plain)?;
        fetched.segments += 1;
        fetched.newest = Some(row.name.clone());
        fetched.newest_stored_at = Some(row.stored_at);
    }
    Ok(fetched)
}

/// `(oldest, newest, newest stored)` segment of `source`'s WAL archive (the partial segment
/// counts as its plain name), or `None` when nothing is archived.
pub fn archived_window(app: &App, source: &str) -> Result<Option<(String, String, NaiveDateTime)>> {
    let rows = WalSegment::list(&mut *app.conn()?, source)?;
    let size = segment_size(&rows);
    let numbered = || {
        rows.iter().filter_map(|row| {
            let no = WalName::parse(&row.name)?.segment_no(size)?;
            Some(((no, row.timeline), row))
        })
    };
    let (Some((_, oldest)), Some((_, newest))) = (
        numbered().min_by_key(|(key, _)| *key),
        numbered().max_by_key(|(key, row)| (*key, !row.partial)),
    ) else {
        return Ok(None);
    };
    let stored = rows
        .iter()
        .map(|r| r.stored_at)
        .max()
        .unwrap_or(newest.stored_at);
    Ok(Some((oldest.name.clone(), newest.name.clone(), stored)))
}

/// The archive's segment size: what its finished segments measure.
fn segment_size(rows: &[WalSegment]) -> u64 {
    rows.iter()
        .find(|r| !r.partial && r.start_lsn.is_some() && r.size_bytes > 0)
        .map_or(DEFAULT_SEGMENT_SIZE, |r| r.size_bytes as u64)
}

/// The plain bytes of `row`'s object from the first target whose copy checks out.
pub fn read_verified(app: &App, row: &WalSegment) -> Result<Vec<u8>> {
    let what = if row.partial {
        format!("partial WAL segment {}", row.name)
    } else {
        format!("WAL file {}", row.name)
    };
    let mut problems = Vec::new();
    for target in app.storage_targets() {
        match read_copy(app, &*target.storage, row) {
            Ok(plain) => {
                if !problems.is_empty() {
                    tracing::warn!(
                        "{what} of `{}`: read from `{}` after: {}",
                        row.source,
                        target.name,
                        problems.join("; ")
                    );
                }
                return Ok(plain);
            }
            Err(problem) => problems.push(format!("`{}`: {problem}", target.name)),
        }
    }
    Err(Error::Archive(format!(
        "{what} of source `{}` ({}) has no good copy in storage: {}",
        row.source,
        row.storage_key,
        problems.join("; ")
    )))
}

/// One target's copy, opened, decrypted and checked; the error says what was wrong.
fn read_copy(
    app: &App,
    storage: &dyn crate::storage::Storage,
    row: &WalSegment,
) -> std::result::Result<Vec<u8>, String> {
    let mut stored = Vec::with_capacity(row.stored_bytes.max(0) as usize);
    storage
        .open(&row.storage_key)
        .and_then(|mut r| r.read_to_end(&mut stored))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "missing".to_string(),
            _ => format!("cannot read it: {e}"),
        })?;
    let compressed = match &row.key_id {
        None => stored,
        Some(key_id) => {
            let keyring = app.keyring();
            let mut reader = DecryptingReader::new(stored.as_slice(), &keyring)
                .map_err(|e| format!("cannot decrypt it: {e}"))?;
            if &reader.header().key_id != key_id {
                return Err(format!(
                    "encrypted with key {} instead of {key_id}",
                    reader.header().key_id
                ));
            }
            let mut out = Vec::new();
            reader
                .read_to_end(&mut out)
                .map_err(|e| format!("fails authentication: {e}"))?;
            out
        }
    };
    let mut plain = Vec::with_capacity(row.size_bytes.max(0) as usize);
    flate2::read::MultiGzDecoder::new(compressed.as_slice())
        .read_to_end(&mut plain)
        .map_err(|e| format!("not a readable gzip stream: {e}"))?;
    let sha = hex::encode(Sha256::digest(&plain));
    if plain.len() as i64 != row.size_bytes || sha != row.sha256 {
        return Err(format!(
            "its content does not match the record ({} bytes, SHA-256 {sha}; recorded {} bytes, {})",
            plain.len(),
            row.size_bytes,
            row.sha256
        ));
    }
    Ok(plain)
}

/// Writes `name` into `dir` whole or not at all (temporary name, fsync, rename).
fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let context = || format!("writing {}", path.display());
    let mut temp = tempfile::NamedTempFile::new_in(dir).ctx(context)?;
    temp.write_all(bytes).ctx(context)?;
    temp.as_file().sync_all().ctx(context)?;
    temp.persist(&path).map_err(|e| e.error).ctx(context)?;
    Ok(())
}
