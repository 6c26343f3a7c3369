//! A schedule (table `backup_schedules`): when automatic backups (or restore drills) run and
//! what they keep.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{new_id, now, parse_json, parse_or, parse_strict};
use crate::db::schema::backup_schedules::{self, dsl};
use crate::db::{DbConnection, DbError};
use crate::domain::schedule::ScheduleAction;
use crate::domain::{BackupKind, Scope};

const WHAT: &str = "schedule";

/// One schedule as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = backup_schedules)]
pub struct Schedule {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// Cron expression, interpreted in `timezone`.
    pub cron: String,
    /// IANA time zone name, e.g. `Europe/Paris`.
    pub timezone: String,
    pub scope: String,
    pub kind: String,
    pub retention_days: Option<i64>,
    /// JSON retention policy (e.g. keep-last / keep-daily counts).
    pub retention_policy: Option<String>,
    pub last_run_at: Option<NaiveDateTime>,
    pub next_run_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `backup` or `drill`.
    pub action: String,
    /// A backup schedule drills every this many of its successful backups.
    pub drill_every: Option<i64>,
    /// Successful backups this schedule made (what `drill_every` counts).
    pub backups_succeeded: i64,
    /// The task its last run queued (by its time or "Run now"), for that run's result.
    pub last_task_id: Option<String>,
}

impl Schedule {
    /// What the schedule runs; an unknown stored value reads as `Backup` (what every
    /// schedule did before drills).
    pub fn action(&self) -> ScheduleAction {
        parse_or(
            WHAT,
            &self.id,
            "action",
            &self.action,
            ScheduleAction::Backup,
        )
    }

    /// Kind of backup it makes; an unknown stored value reads as `Full` (always correct,
    /// merely larger).
    pub fn kind(&self) -> BackupKind {
        parse_or(WHAT, &self.id, "kind", &self.kind, BackupKind::Full)
    }

    pub fn scope(&self) -> Result<Scope, DbError> {
        parse_strict(WHAT, &self.id, "scope", &self.scope)
    }

    pub fn retention_policy(&self) -> Result<Option<serde_json::Value>, DbError> {
        self.retention_policy
            .as_deref()
            .map(|text| parse_json(WHAT, &self.id, "retention_policy", text))
            .transpose()
    }
}

/// A schedule about to be recorded, enabled, with no retention until one is set.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = backup_schedules)]
pub struct NewSchedule {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub cron: String,
    pub timezone: String,
    pub scope: String,
    pub kind: String,
    pub retention_days: Option<i64>,
    pub retention_policy: Option<String>,
    pub next_run_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub action: String,
    pub drill_every: Option<i64>,
}

impl NewSchedule {
    pub fn new(name: &str, cron: &str, timezone: &str, scope: &Scope, kind: BackupKind) -> Self {
        let at = now();
        NewSchedule {
            id: new_id(),
            name: name.to_string(),
            enabled: true,
            cron: cron.to_string(),
            timezone: timezone.to_string(),
            scope: scope.to_string(),
            kind: kind.as_str().to_string(),
            retention_days: None,
            retention_policy: None,
            next_run_at: None,
            created_at: at,
            updated_at: at,
            action: ScheduleAction::Backup.as_str().to_string(),
            drill_every: None,
        }
    }
}

/// Edits of a schedule. `None` leaves a column as it is; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = backup_schedules)]
pub struct ScheduleChanges {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub scope: Option<String>,
    pub kind: Option<String>,
    pub retention_days: Option<Option<i64>>,
    pub retention_policy: Option<Option<String>>,
    pub last_run_at: Option<Option<NaiveDateTime>>,
    pub next_run_at: Option<Option<NaiveDateTime>>,
    pub action: Option<String>,
    pub drill_every: Option<Option<i64>>,
    pub last_task_id: Option<Option<String>>,
}

impl ScheduleChanges {
    pub fn with_scope(mut self, scope: &Scope) -> Self {
        self.scope = Some(scope.to_string());
        self
    }

    pub fn with_kind(mut self, kind: BackupKind) -> Self {
        self.kind = Some(kind.as_str().to_string());
        self
    }

    /// What the scheduler writes after starting a run.
    pub fn ran(at: NaiveDateTime, next: Option<NaiveDateTime>) -> Self {
        ScheduleChanges {
            last_run_at: Some(Some(at)),
            next_run_at: Some(next),
            ..ScheduleChanges::default()
        }
    }
}

impl Schedule {
    pub fn insert(conn: &mut DbConnection, new: &NewSchedule) -> Result<Schedule, DbError> {
        Ok(diesel::insert_into(backup_schedules::table)
            .values(new)
            .returning(backup_schedules::all_columns)
            .get_result(conn)?)
    }

    /// The schedule `id`, or [`DbError::NotFound`].
    pub fn find_by_id(conn: &mut DbConnection, id: &str) -> Result<Schedule, DbError> {
        backup_schedules::table
            .find(id)
            .select(Schedule::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// The schedule named `name`, if any (names are unique).
    pub fn find_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<Schedule>, DbError> {
        Ok(backup_schedules::table
            .filter(dsl::name.eq(name))
            .select(Schedule::as_select())
            .first(conn)
            .optional()?)
    }

    /// Every schedule, by name.
    pub fn list(conn: &mut DbConnection) -> Result<Vec<Schedule>, DbError> {
        Ok(backup_schedules::table
            .order(dsl::name.asc())
            .select(Schedule::as_select())
            .load(conn)?)
    }

    /// Enabled schedules whose next run is at or before `at`, soonest first.
    pub fn list_due(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Vec<Schedule>, DbError> {
        Ok(backup_schedules::table
            .filter(dsl::enabled.eq(true))
            .filter(dsl::next_run_at.le(at))
            .order((dsl::next_run_at.asc(), dsl::name.asc()))
            .select(Schedule::as_select())
            .load(conn)?)
    }

    /// Takes the run due at `slot` for this process: moves `next_run_at` from `slot` to
    /// `next` in one conditional UPDATE, so when several Coffer processes share the database
    /// exactly one of them gets `true` for a slot.
    pub fn claim_slot(
        conn: &mut DbConnection,
        id: &str,
        slot: NaiveDateTime,
        ran_at: NaiveDateTime,
        next: Option<NaiveDateTime>,
    ) -> Result<bool, DbError> {
        let claimed = diesel::update(
            backup_schedules::table
                .filter(dsl::id.eq(id))
                .filter(dsl::enabled.eq(true))
                .filter(dsl::next_run_at.eq(slot)),
        )
        .set((
            dsl::last_run_at.eq(ran_at),
            dsl::next_run_at.eq(next),
            dsl::updated_at.eq(now()),
        ))
        .execute(conn)?;
        Ok(claimed == 1)
    }

    /// Notes that a run of schedule `id` (started at `at`) queued `task_id`; `next_run_at`
    /// stays as it is (the scheduler moves it when it claims a slot). `false` once deleted.
    pub fn record_run(
        conn: &mut DbConnection,
        id: &str,
        at: NaiveDateTime,
        task_id: &str,
    ) -> Result<bool, DbError> {
        let updated = diesel::update(backup_schedules::table.find(id))
            .set((
                dsl::last_run_at.eq(at),
                dsl::last_task_id.eq(task_id),
                dsl::updated_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(updated == 1)
    }

    /// Counts one more successful backup of schedule `id`, in the caller's transaction (the
    /// one recording the success); returns the schedule as counted, `None` once deleted.
    pub fn count_success(conn: &mut DbConnection, id: &str) -> Result<Option<Schedule>, DbError> {
        Ok(diesel::update(backup_schedules::table.find(id))
            .set(dsl::backups_succeeded.eq(dsl::backups_succeeded + 1))
            .returning(backup_schedules::all_columns)
            .get_result(conn)
            .optional()?)
    }

    /// Applies `changes` and stamps `updated_at`.
    pub fn update(
        conn: &mut DbConnection,
        id: &str,
        changes: &ScheduleChanges,
    ) -> Result<Schedule, DbError> {
        diesel::update(backup_schedules::table.find(id))
            .set((changes, dsl::updated_at.eq(now())))
            .returning(backup_schedules::all_columns)
            .get_result(conn)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
        match diesel::delete(backup_schedules::table.find(id)).execute(conn)? {
            0 => Err(not_found(id)),
            _ => Ok(()),
        }
    }
}

fn not_found(id: &str) -> DbError {
    DbError::NotFound {
        what: WHAT,
        id: id.to_string(),
    }
}
