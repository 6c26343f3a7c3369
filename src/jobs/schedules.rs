//! Changing the backup schedules: the settings page, the API and `coffer schedule` all save
//! and delete through here. Input is parsed into a [`ScheduleSpec`] (one message per bad
//! field, nothing saved), and each change is stored in one transaction with its audit
//! entry, so the log never misses a change nor records one that did not happen.

mod input;
mod row;
mod run_now;

pub use input::{blank_input, input_from_schedule, start_as};
pub use run_now::record_run_now;

use crate::app::App;
use crate::db::{write_transaction, DbConnection, DbError, LogEntry, NewLogEntry, Schedule};
use crate::domain::schedule::{FieldErrors, ScheduleInput};
use crate::domain::{LogLevel, ScheduleSpec};
use crate::error::Error;

/// Why a schedule was not saved.
#[derive(Debug)]
pub enum Refusal {
    /// Bad fields (or a name already taken), by form field.
    Fields(FieldErrors),
    Other(Error),
}

impl<E: Into<Error>> From<E> for Refusal {
    fn from(e: E) -> Refusal {
        Refusal::Other(e.into())
    }
}

/// Parses `input`, checks its name is free, stores it (as the schedule `id`, or a new one)
/// and logs who did it; returns the stored schedule.
pub fn save(
    conn: &mut DbConnection,
    app: &App,
    input: &ScheduleInput,
    id: Option<&str>,
    username: &str,
) -> Result<Schedule, Refusal> {
    let spec = ScheduleSpec::parse(input, &row::known_sources(&app.settings.sources))
        .map_err(Refusal::Fields)?;
    let taken = || {
        let mut errors = FieldErrors::default();
        errors.add(
            "name",
            format!("another schedule is already named `{}`", spec.name),
        );
        Refusal::Fields(errors)
    };
    let saved = write_transaction(conn, |conn| {
        if let Some(other) = Schedule::find_by_name(conn, &spec.name)? {
            if Some(other.id.as_str()) != id {
                return Ok(None);
            }
        }
        let saved = match id {
            Some(id) => Schedule::update(conn, id, &row::schedule_changes(&spec))?,
            None => Schedule::insert(conn, &row::new_schedule(&spec))?,
        };
        let verb = if id.is_some() { "changed" } else { "added" };
        LogEntry::insert(
            conn,
            &NewLogEntry::new(
                LogLevel::Info,
                "settings",
                format!("`{username}` {verb} schedule `{}`", saved.name),
            )
            .by(username)
            .with_details(&row::describe(&spec)),
        )?;
        Ok::<_, DbError>(Some(saved))
    });
    match saved {
        Ok(Some(saved)) => Ok(saved),
        Ok(None) => Err(taken()),
        // Two admins saving the same name at once: the second meets the unique index.
        Err(e) if e.is_unique_violation() => Err(taken()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the schedule `id` and logs who did it; an unknown id is not found.
pub fn delete(conn: &mut DbConnection, id: &str, username: &str) -> Result<Schedule, Error> {
    let deleted = write_transaction(conn, |conn| {
        let schedule = Schedule::find_by_id(conn, id)?;
        Schedule::delete(conn, id)?;
        let entry = NewLogEntry::new(
            LogLevel::Info,
            "settings",
            format!("`{username}` deleted schedule `{}`", schedule.name),
        )
        .by(username)
        .with_details(&serde_json::json!({
            "name": schedule.name,
            "cron": schedule.cron,
            "timezone": schedule.timezone,
        }));
        LogEntry::insert(conn, &entry)?;
        Ok::<_, DbError>(schedule)
    })?;
    Ok(deleted)
}
