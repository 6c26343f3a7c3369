//! WAL retention: a PITR source's archived WAL is kept exactly as long as a kept base backup
//! needs it — from the start segment of its oldest remaining base backup on — so retention
//! never leaves a gap in what can still be recovered. Older segments (of every timeline) go
//! from the catalogue and every storage target; `.history` files (tiny, read to follow
//! timelines) and the partial segment stay. With no base backup left nothing goes: the
//! archived WAL may then be all there is of the source.

use crate::app::App;
use crate::db::{Backup, NewLogEntry, WalSegment};
use crate::domain::LogLevel;
use crate::error::Result;
use crate::jobs::archives::load_manifest;
use crate::jobs::pitr::base::facts_of;

use super::names::WalName;
use super::store::delete_everywhere;

/// Removes `source`'s archived WAL no kept base backup needs; returns how many segments went.
pub fn prune_wal(app: &App, source: &str) -> Result<usize> {
    let Some((backup_id, start, segment_size)) = oldest_base_start(app, source)? else {
        return Ok(0);
    };
    let number = |name: &str| WalName::parse(name).and_then(|n| n.segment_no(segment_size));
    let Some(needed_from) = number(&start) else {
        return Ok(0);
    };
    let rows = WalSegment::list(&mut *app.conn()?, source)?;
    let mut pruned = 0;
    for row in rows.iter().filter(|r| !r.partial) {
        if number(&row.name).is_none_or(|n| n >= needed_from) {
            continue;
        }
        // The row first: a row never names an object that is gone; an object whose delete
        // failed is an orphan, logged by `delete_everywhere`.
        WalSegment::delete(&mut *app.conn()?, source, &row.name, false)?;
        delete_everywhere(app, &row.storage_key);
        pruned += 1;
    }
    if pruned > 0 {
        app.audit(NewLogEntry::new(
            LogLevel::Info,
            "wal",
            format!(
                "pruned {pruned} WAL segment(s) of source `{source}` before {start}, the start \
                 of its oldest kept base backup `{backup_id}`"
            ),
        ));
    }
    Ok(pruned)
}

/// The oldest successful base backup of `source`: its id, start segment and segment size.
fn oldest_base_start(app: &App, source: &str) -> Result<Option<(String, String, u64)>> {
    let mut conn = app.conn()?;
    let newest_first = Backup::list_succeeded_of_source(&mut conn, source)?;
    for backup in newest_first.iter().rev() {
        let Ok(manifest) = load_manifest(&mut conn, &backup.id) else {
            continue;
        };
        if let Some(facts) = facts_of(&manifest, source) {
            let start = facts.start_segment.clone();
            return Ok(Some((backup.id.clone(), start, facts.wal_segment_size)));
        }
    }
    Ok(None)
}
