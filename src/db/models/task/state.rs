//! Status changes and progress of a task, guarded like those of a backup record
//! (`guarded_status.rs`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Task, TaskProgress, WHAT};
use crate::db::models::guarded_status::{guarded_status_row, illegal};
use crate::db::models::now;
use crate::db::schema::backup_tasks::{self, dsl};
use crate::db::{DbConnection, DbError};
use crate::domain::Status;

diesel::define_sql_function!(
    /// SQL's `coalesce` over a nullable text and a fallback.
    fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::Text>, y: diesel::sql_types::Text) -> diesel::sql_types::Text
);

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = backup_tasks)]
pub(in crate::db::models) struct StatusChange {
    status: String,
    worker: Option<String>,
    heartbeat_at: Option<NaiveDateTime>,
    started_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    error: Option<String>,
    progress_at: Option<NaiveDateTime>,
}

impl Task {
    /// `pending → running` on `worker` (e.g. `host:pid`), stamping start and heartbeat.
    pub fn mark_running(conn: &mut DbConnection, id: &str, worker: &str) -> Result<Task, DbError> {
        let at = now();
        let change = StatusChange {
            worker: Some(worker.to_string()),
            heartbeat_at: Some(at),
            started_at: Some(at),
            progress_at: Some(at),
            ..StatusChange::default()
        };
        transition(conn, id, Status::Running, change)
    }

    /// Claims a pending task for `worker`: `pending → running` in one UPDATE whose WHERE
    /// requires `pending`, so of two workers given the same task exactly one gets it.
    /// `Ok(None)` when the task is no longer pending (already run, running or cancelled).
    /// A task whose backup was deleted meanwhile is failed instead of claimed (it would
    /// read a vanished archive); the backup's row is held while claiming, see
    /// `backup/in_use.rs`.
    pub fn claim(conn: &mut DbConnection, id: &str, worker: &str) -> Result<Option<Task>, DbError> {
        Task::with_backup_held(conn, id, |conn, present| {
            if present {
                return Task::claim_now(conn, id, worker);
            }
            let task = Task::find_by_id(conn, id)?;
            if task.status() == Status::Pending {
                let backup = task.backup_id.as_deref().unwrap_or_default();
                let reason = format!("backup {backup} was deleted before this task could start");
                Task::mark_finished(conn, id, Status::Failed, Some(&reason))?;
            }
            Ok(None)
        })
    }

    fn claim_now(conn: &mut DbConnection, id: &str, worker: &str) -> Result<Option<Task>, DbError> {
        let at = now();
        let change = StatusChange {
            status: Status::Running.as_str().to_string(),
            worker: Some(worker.to_string()),
            heartbeat_at: Some(at),
            started_at: Some(at),
            progress_at: Some(at),
            ..StatusChange::default()
        };
        let claimed = diesel::update(backup_tasks::table.find(id))
            .filter(dsl::status.eq(Status::Pending.as_str()))
            .set(&change)
            .returning(backup_tasks::all_columns)
            .get_result(conn)
            .optional()?;
        if claimed.is_none() {
            Task::find_by_id(conn, id)?;
        }
        Ok(claimed)
    }

    /// Shows why a pending task has not started (e.g. waiting for a busy source). Returns
    /// `false` when the task is no longer pending: whoever waits for it should give up.
    pub fn note_waiting(conn: &mut DbConnection, id: &str, phase: &str) -> Result<bool, DbError> {
        let updated = diesel::update(backup_tasks::table.find(id))
            .filter(dsl::status.eq(Status::Pending.as_str()))
            .set(dsl::phase.eq(phase))
            .execute(conn)?;
        if updated == 0 {
            Task::find_by_id(conn, id)?;
        }
        Ok(updated > 0)
    }

    /// Ends the task as `status` (success, failed or cancelled), with an error message for
    /// the latter two. Any other target status is an illegal transition.
    pub fn mark_finished(
        conn: &mut DbConnection,
        id: &str,
        status: Status,
        error: Option<&str>,
    ) -> Result<Task, DbError> {
        let change = StatusChange {
            finished_at: Some(now()),
            error: error.map(str::to_string),
            ..StatusChange::default()
        };
        if !status.is_finished() {
            let current = Task::find_by_id(conn, id)?;
            return Err(illegal::<Task>(id, current.status(), status));
        }
        transition(conn, id, status, change)
    }

    /// Records progress and a heartbeat; `progress_at` moves only when the progress differs
    /// from the stored one (stall detection). Returns `false` when the task is no longer
    /// running (for instance cancelled meanwhile): the worker should stop.
    pub fn update_progress(
        conn: &mut DbConnection,
        id: &str,
        progress: &TaskProgress,
    ) -> Result<bool, DbError> {
        use diesel::dsl::case_when;
        use diesel::sql_types::{Nullable, Timestamp};
        let at = now();
        // SET expressions see the row as it was, so this compares with the stored progress.
        let moved = dsl::bytes_done
            .ne(progress.bytes_done)
            .or(dsl::files_done.ne(progress.files_done))
            .or(dsl::phase.ne(progress.phase.clone()))
            .or(dsl::percent.ne(progress.percent));
        let progress_at =
            case_when::<_, _, Nullable<Timestamp>>(moved, Some(at)).otherwise(dsl::progress_at);
        let updated = diesel::update(backup_tasks::table.find(id))
            .filter(dsl::status.eq(Status::Running.as_str()))
            .set((
                dsl::progress_at.eq(progress_at),
                progress,
                dsl::heartbeat_at.eq(at),
            ))
            .execute(conn)?;
        if updated == 0 {
            Task::find_by_id(conn, id)?;
        }
        Ok(updated > 0)
    }

    /// Fails the running task `task` as dead, with `reason`, in one UPDATE that names what
    /// the caller saw: still `running`, on the same worker, and — with `silent_before` — a
    /// heartbeat older than that (or none). Of two processes reaping at once exactly one
    /// gets `true`; a worker that beat again meanwhile, or finished the task itself, keeps it.
    pub fn fail_if_dead(
        conn: &mut DbConnection,
        task: &Task,
        silent_before: Option<NaiveDateTime>,
        reason: &str,
    ) -> Result<bool, DbError> {
        let change = StatusChange {
            status: Status::Failed.as_str().to_string(),
            finished_at: Some(now()),
            error: Some(reason.to_string()),
            ..StatusChange::default()
        };
        // A running task always names its worker (the claim sets it); '' stands for none.
        let worker = task.worker.clone().unwrap_or_default();
        let running = backup_tasks::table
            .find(&task.id)
            .filter(dsl::status.eq(Status::Running.as_str()))
            .filter(coalesce(dsl::worker, "").eq(worker));
        let updated = match silent_before {
            Some(before) => diesel::update(
                running.filter(dsl::heartbeat_at.lt(before).or(dsl::heartbeat_at.is_null())),
            )
            .set(&change)
            .execute(conn)?,
            None => diesel::update(running).set(&change).execute(conn)?,
        };
        Ok(updated == 1)
    }

    /// Ends a restore task as recovery found it after its process died (see
    /// `jobs/restore/recovery.rs`): `success` when its switch had gone through, `failed`
    /// otherwise, with `error` replacing whatever was said before (a reaper's "no heartbeat"
    /// guessed; recovery knows). A task that ended `success` itself keeps its row: `false`.
    pub fn settle_recovered(
        conn: &mut DbConnection,
        id: &str,
        status: Status,
        error: Option<&str>,
    ) -> Result<bool, DbError> {
        let updated = diesel::update(
            backup_tasks::table
                .find(id)
                .filter(dsl::status.ne(Status::Succeeded.as_str())),
        )
        .set((
            dsl::status.eq(status.as_str()),
            dsl::finished_at.eq(Some(now())),
            dsl::error.eq(error),
        ))
        .execute(conn)?;
        Ok(updated == 1)
    }

    /// Running tasks whose last heartbeat is older than `before` (or that never beat):
    /// left behind by a crashed worker.
    pub fn list_stale(
        conn: &mut DbConnection,
        before: NaiveDateTime,
    ) -> Result<Vec<Task>, DbError> {
        Ok(backup_tasks::table
            .filter(dsl::status.eq(Status::Running.as_str()))
            .filter(dsl::heartbeat_at.lt(before).or(dsl::heartbeat_at.is_null()))
            .order((dsl::created_at.asc(), dsl::id.asc()))
            .select(Task::as_select())
            .load(conn)?)
    }
}

impl Task {
    /// Running tasks whose progress has not moved since `before`: stalled (their heartbeat
    /// may still beat, e.g. a dump waiting on a locked table).
    pub fn list_stalled(
        conn: &mut DbConnection,
        before: NaiveDateTime,
    ) -> Result<Vec<Task>, DbError> {
        Ok(backup_tasks::table
            .filter(dsl::status.eq(Status::Running.as_str()))
            .filter(
                dsl::progress_at
                    .lt(before)
                    .or(dsl::progress_at.is_null().and(dsl::started_at.lt(before))),
            )
            .order((dsl::created_at.asc(), dsl::id.asc()))
            .select(Task::as_select())
            .load(conn)?)
    }

    /// How many tasks are `pending` (the queue depth).
    pub fn count_pending(conn: &mut DbConnection) -> Result<i64, DbError> {
        Ok(backup_tasks::table
            .filter(dsl::status.eq(Status::Pending.as_str()))
            .count()
            .get_result(conn)?)
    }
}

guarded_status_row!(Task, backup_tasks, StatusChange);
