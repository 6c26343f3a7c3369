//! Start-up repair: tasks left `running` by a process that died (killed, crashed, host
//! rebooted) are marked failed, with their backup records, so nothing spins forever and no
//! half-written archive is ever taken for a good one.

use chrono::Duration;

use crate::app::App;
use crate::db::{Backup, NewLogEntry, Task};
use crate::domain::{LogLevel, Status};
use crate::error::Result;
use crate::jobs::task_run::host_name;

/// A task whose heartbeat is older than this is dead even if its process looks alive.
const STALE_AFTER_MINUTES: i64 = 10;

/// Temporary objects and snapshot folders older than this belong to no running backup
/// (a running one keeps writing, so its files stay fresh).
const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Removes what dead processes left: partial objects in storage, database snapshot folders.
pub fn sweep_leftovers(app: &App) {
    match app.storage.sweep_abandoned(LEFTOVER_AGE) {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!("removed {n} unfinished object(s) left in storage by a stopped process")
        }
        Err(e) => tracing::warn!(
            "cannot sweep unfinished objects in {}: {e}",
            app.storage.describe()
        ),
    }
    let scratch = app.settings.data_dir.join("tmp");
    for entry in std::fs::read_dir(&scratch).into_iter().flatten().flatten() {
        let old = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > LEFTOVER_AGE);
        if old {
            let _ = crate::engine::extract::remove_tree(&entry.path());
        }
    }
}

pub fn fail_abandoned_tasks(app: &App) -> Result<usize> {
    let mut conn = app.conn()?;
    let host = host_name();
    let stale_before = crate::db::now() - Duration::minutes(STALE_AFTER_MINUTES);
    let mut failed = 0;
    for task in Task::list_running(&mut conn)? {
        let reason = match task.worker.as_deref().and_then(|w| w.rsplit_once(':')) {
            Some((worker_host, pid)) if worker_host == host && !process_alive(pid) => {
                format!("the process running it (pid {pid}) stopped before it finished")
            }
            _ if task.heartbeat_at.is_none_or(|beat| beat < stale_before) => {
                format!("no heartbeat for over {STALE_AFTER_MINUTES} minutes: its worker is gone")
            }
            _ => continue,
        };
        // Another process may finish or fail it meanwhile; losing that race is fine.
        if Task::mark_finished(&mut conn, &task.id, Status::Failed, Some(&reason)).is_err() {
            continue;
        }
        if let Some(backup_id) = &task.backup_id {
            if let Ok(backup) = Backup::find_by_id(&mut conn, backup_id) {
                if backup.status() == Status::Running || backup.status() == Status::Pending {
                    let _ = Backup::mark_failed(&mut conn, backup_id, &reason);
                }
            }
        }
        let mut entry = NewLogEntry::new(
            LogLevel::Error,
            &task.kind,
            format!("task {} failed: {reason}", task.id),
        )
        .for_task(&task.id);
        if let Some(backup_id) = &task.backup_id {
            entry = entry.for_backup(backup_id);
        }
        app.audit(entry);
        failed += 1;
    }
    Ok(failed)
}

fn process_alive(pid: &str) -> bool {
    pid.parse::<u32>()
        .is_ok_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}
