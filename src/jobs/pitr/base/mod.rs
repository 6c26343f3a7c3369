//! Base backups in the catalogue: a PITR source's full backup holds its data directory
//! (`<source>/pgdata/…`, streamed by `sources/postgres/basebackup.rs`) and, in the
//! manifest's source entry, its WAL start and end, timeline, times and major version
//! ([`BaseBackupFacts`]). A backup made with `--logical` (or before `pitr = true`) holds
//! dumps instead and is no base backup.

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::db::Backup;
use crate::domain::Status;
use crate::engine::manifest::{BaseBackupFacts, Manifest};
use crate::error::{Error, Result};
use crate::jobs::archives::{load_manifest, load_manifest_with_digest};
use crate::sources::postgres::lsn::parse_lsn;

/// A successful base backup of one source, with its manifest.
pub struct BaseBackup {
    pub backup: Backup,
    pub manifest: Manifest,
    /// SHA-256 of the catalogue's manifest text (checked against the archive's own).
    pub manifest_sha256: String,
    pub facts: BaseBackupFacts,
}

/// The base backup facts of `source` in `manifest`, if it holds one.
pub fn facts_of<'a>(manifest: &'a Manifest, source: &str) -> Option<&'a BaseBackupFacts> {
    manifest
        .sources
        .iter()
        .find(|s| s.name == source)
        .and_then(|s| s.base_backup.as_ref())
}

/// Backup `id` as a base backup of `source`: refused (with what to do) when it is not one.
pub fn base_backup(app: &App, id: &str, source: &str) -> Result<BaseBackup> {
    let mut conn = app.conn()?;
    let backup = crate::jobs::find_backup(&mut conn, id)?;
    if backup.status() != Status::Succeeded {
        return Err(Error::Refused(format!(
            "backup {} is {}, only successful backups can be restored",
            backup.id,
            backup.status()
        )));
    }
    let (manifest, manifest_sha256) = load_manifest_with_digest(&mut conn, &backup.id)?;
    let facts = match facts_of(&manifest, source) {
        Some(facts) => facts.clone(),
        None if manifest.sources.iter().any(|s| s.name == source) => {
            return Err(Error::Refused(format!(
                "backup {} holds a logical dump of source `{source}`, not a base backup (it \
                 was made with --logical or before `pitr = true`): restore it with `coffer \
                 restore {}`, or name a base backup",
                backup.id, backup.id
            )))
        }
        None => {
            return Err(Error::Invalid(format!(
                "backup {} holds no source `{source}`",
                backup.id
            )))
        }
    };
    Ok(BaseBackup {
        backup,
        manifest,
        manifest_sha256,
        facts,
    })
}

/// Where the base backup to start from must end: at or before a target time or position.
#[derive(Debug, Clone)]
pub enum EndingBefore {
    Time(DateTime<Utc>),
    Lsn(String),
    Anything,
}

/// The newest successful base backup of `source` that ends at or before `limit`.
pub fn newest_base_backup(app: &App, source: &str, limit: &EndingBefore) -> Result<String> {
    let mut conn = app.conn()?;
    let candidates = Backup::list_succeeded_of_source(&mut conn, source)?;
    let mut oldest_end = None;
    for backup in candidates {
        let Ok(manifest) = load_manifest(&mut conn, &backup.id) else {
            continue;
        };
        let Some(facts) = facts_of(&manifest, source) else {
            continue;
        };
        let fits = match limit {
            EndingBefore::Time(time) => facts.stop_time <= *time,
            EndingBefore::Lsn(lsn) => parse_lsn(&facts.stop_lsn) <= parse_lsn(lsn),
            EndingBefore::Anything => true,
        };
        if fits {
            return Ok(backup.id);
        }
        oldest_end = Some(facts.stop_time);
    }
    Err(Error::Refused(match oldest_end {
        Some(end) => format!(
            "no base backup of source `{source}` ends before that target: the oldest ends at \
             {} (its recoverable window starts there)",
            end.format("%Y-%m-%d %H:%M:%S%.3f UTC")
        ),
        None => format!(
            "source `{source}` has no successful base backup yet: take one with `coffer backup \
             --sources {source}` (a PITR source's full backup is a base backup)"
        ),
    }))
}
