//! Age-based cleanup (`coffer cleanup --days N`): backups older than N days go, except those
//! a kept incremental still needs (its chain of parents). Planning and deleting are separate
//! steps so the operator sees exactly what would go, and why the rest stays.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDateTime};

use crate::app::App;
use crate::db::{Backup, BackupFilter};
use crate::error::{Error, Result};
use crate::jobs::retention::delete::{delete_backup, Deletion};

#[derive(Debug, Clone, serde::Serialize)]
pub struct CleanupPlan {
    pub cutoff: NaiveDateTime,
    pub remove: Vec<Backup>,
    /// Old backups kept because a kept incremental needs them: (backup, id of the dependant).
    pub kept_for_chain: Vec<(Backup, String)>,
    /// Old backups their storage keeps (Object Lock, write-once folder): (backup, why).
    pub held: Vec<(Backup, String)>,
}

pub fn plan_cleanup(app: &App, days: u32) -> Result<CleanupPlan> {
    if days == 0 {
        return Err(Error::Refused(
            "--days must be at least 1: cleanup never deletes today's backups".into(),
        ));
    }
    let cutoff = crate::db::now() - Duration::days(i64::from(days));
    let mut conn = app.conn()?;
    let old = Backup::list_older_than(&mut conn, cutoff)?;
    let all = Backup::list(&mut conn, &BackupFilter::default())?;
    let old_ids: HashSet<&str> = old.iter().map(|b| b.id.as_str()).collect();
    // Kept whatever their age, so their parents are needed too.
    let mut holds = super::hold::holds(&mut conn, &app.settings.storage, &old)?;
    let parent_of: HashMap<&str, &str> = all
        .iter()
        .filter_map(|b| b.parent_id.as_deref().map(|p| (b.id.as_str(), p)))
        .collect();

    // Every ancestor of a kept backup is needed; remember the first dependant for the reason.
    let mut needed: HashMap<&str, &str> = HashMap::new();
    let stays = |b: &&Backup| !old_ids.contains(b.id.as_str()) || holds.contains_key(&b.id);
    for kept in all.iter().filter(stays) {
        let mut current = kept.id.as_str();
        while let Some(parent) = parent_of.get(current) {
            needed.entry(parent).or_insert(kept.id.as_str());
            current = parent;
        }
    }
    let mut remove = Vec::new();
    let mut kept_for_chain = Vec::new();
    let mut held = Vec::new();
    for backup in old {
        if let Some(hold) = holds.remove(&backup.id) {
            held.push((backup, hold.to_string()));
            continue;
        }
        match needed.get(backup.id.as_str()) {
            Some(dependant) => {
                let dependant = dependant.to_string();
                kept_for_chain.push((backup, dependant));
            }
            None => remove.push(backup),
        }
    }
    Ok(CleanupPlan {
        cutoff,
        remove,
        kept_for_chain,
        held,
    })
}

/// Deletes what the plan removes, newest first so children go before their parents.
/// Each backup's sources are locked while it goes (no incremental can pick it as a parent
/// meanwhile) and its record is deleted before its objects: the database refuses to delete a
/// parent that gained a child since the plan was made, and then nothing is touched.
pub fn apply_cleanup(app: &App, plan: &CleanupPlan, by: Option<&str>) -> Result<usize> {
    let mut ordered: Vec<&Backup> = plan.remove.iter().collect();
    ordered.sort_by_key(|b| std::cmp::Reverse(b.created_at));
    let mut deleted = 0;
    for backup in ordered {
        let message = format!(
            "cleanup deleted backup `{}` ({}, older than {})",
            backup.name, backup.status, plan.cutoff
        );
        match delete_backup(app, backup, by, message)? {
            Deletion::Deleted => deleted += 1,
            Deletion::HasDependants => tracing::warn!(
                "kept backup {}: an incremental now depends on it",
                backup.id
            ),
            Deletion::Held(hold) => tracing::warn!("kept backup {}: {hold}", backup.id),
            Deletion::InUse(task) => tracing::warn!(
                "kept backup {}: its {} task {} is {}",
                backup.id,
                task.kind,
                task.id,
                task.status
            ),
        }
    }
    Ok(deleted)
}
