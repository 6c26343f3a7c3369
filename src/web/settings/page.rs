//! `GET /settings`: the schedules with their next runs, and the form to add or edit one
//! (`?edit=ID`); the notification channels with the button that tests them. The same page comes back with status 400 and a message next to each bad
//! field when a submitted form is refused.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::{DbConnection, DbError, Schedule, Task};
use crate::domain::schedule::{weekday_name, FieldErrors, ScheduleInput};
use crate::domain::{CronExpr, Frequency, ScheduleAction};
use crate::jobs::retention::policy_of;
use crate::jobs::retention::preview_on;
use crate::jobs::schedules::{blank_input, input_from_schedule};
use crate::web::auth::Viewer;
use crate::web::error::{WebError, WebResult};
use crate::web::identity::Identity;
use crate::web::layout::html_response;
use crate::web::layout::Layout;
use crate::web::state::WebState;

/// How many upcoming runs the list shows per schedule.
const NEXT_RUNS: usize = 3;

#[derive(Template)]
#[template(path = "settings/schedules.html")]
pub struct SettingsPage {
    pub layout: Layout,
    pub schedules: Vec<ScheduleRow>,
    pub form: ScheduleInput,
    pub errors: FieldErrors,
    /// The schedule being edited; `None` adds a new one.
    pub editing: Option<String>,
    pub sources: Vec<String>,
    pub services: Vec<String>,
    pub weekdays: &'static [&'static str],
    /// What the edited schedule's retention would do now.
    pub preview: Option<RetentionPreviewView>,
    /// The notification channels: `(label, where to)`, no secrets.
    pub channels: Vec<(String, String)>,
    /// The schedule just deleted (the redirect's `?deleted=`), believed only while no
    /// schedule has that name, so a link cannot claim a deletion that did not happen.
    pub deleted: Option<String>,
}

/// The retention preview of the schedule being edited.
pub struct RetentionPreviewView {
    pub policy: String,
    pub blocked: String,
    pub rows: Vec<PreviewRow>,
    pub removed: usize,
    /// Rows left out of `rows` (the list is cut at [`PREVIEW_ROWS`]).
    pub more: usize,
}

pub struct PreviewRow {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub status: String,
    /// Empty: the backup would be removed.
    pub reasons: String,
}

/// How many backups the retention preview lists.
const PREVIEW_ROWS: usize = 200;

/// What the retention of schedule `id` would do now, as the page shows it.
fn retention_preview(
    conn: &mut DbConnection,
    storage: &crate::config::StorageSettings,
    id: &str,
) -> WebResult<RetentionPreviewView> {
    let schedule = Schedule::find_by_id(conn, id)?;
    let policy = policy_of(&schedule)?;
    let zone =
        crate::domain::cron::parse_time_zone(&schedule.timezone).map_err(WebError::bad_request)?;
    let preview = preview_on(conn, storage, &schedule.scope()?, &policy, &zone)?;
    let removed = preview.plan.removals().count();
    let rows: Vec<PreviewRow> = preview
        .plan
        .decisions
        .iter()
        .filter_map(|d| {
            let backup = preview.backup(&d.id)?;
            Some(PreviewRow {
                id: backup.id.clone(),
                name: backup.name.clone(),
                created_at: crate::web::view::timestamp(&backup.created_at),
                status: backup.status.clone(),
                reasons: d
                    .reasons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            })
        })
        .collect();
    let more = rows.len().saturating_sub(PREVIEW_ROWS);
    Ok(RetentionPreviewView {
        policy: policy.describe(),
        blocked: preview.plan.blocked.clone().unwrap_or_default(),
        rows: rows.into_iter().take(PREVIEW_ROWS).collect(),
        removed,
        more,
    })
}

impl SettingsPage {
    pub fn error(&self, field: &str) -> &str {
        self.errors.get(field).unwrap_or_default()
    }

    pub fn source_checked(&self, name: &str) -> bool {
        self.form.sources.iter().any(|s| s == name)
    }

    pub fn action(&self) -> String {
        match &self.editing {
            Some(id) => format!("/settings/schedules/{id}"),
            None => "/settings/schedules".into(),
        }
    }
}

/// One schedule as the list shows it.
pub struct ScheduleRow {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub frequency: String,
    pub cron: String,
    pub timezone: String,
    pub scope: String,
    /// `backup, full`, `backup, incremental` or `drill`.
    pub action: String,
    /// What it keeps, and for a backup schedule how often a drill follows.
    pub retention: String,
    /// `(in the schedule's zone, in UTC)`.
    pub next_runs: Vec<(String, String)>,
    /// Why no next runs can be shown (a hand-edited row with a bad expression or zone).
    pub problem: String,
    /// When it last ran (UTC), empty when never.
    pub last_run: String,
    /// The task its last run queued: `(id, status)`; `None` before the first run or once
    /// that task is gone.
    pub last_task: Option<(String, String)>,
    /// The task id the schedule notes, looked up by [`ScheduleRow::with_last_task`].
    last_task_id: Option<String>,
}

impl ScheduleRow {
    /// Fills in the status of the last run's task.
    fn with_last_task(mut self, conn: &mut DbConnection) -> Result<ScheduleRow, DbError> {
        if let Some(id) = &self.last_task_id {
            self.last_task = match Task::find_by_id(conn, id) {
                Ok(task) => Some((task.id, task.status)),
                Err(DbError::NotFound { .. }) => None,
                Err(e) => return Err(e),
            };
        }
        Ok(self)
    }
}

impl From<&Schedule> for ScheduleRow {
    fn from(s: &Schedule) -> ScheduleRow {
        let parsed = s
            .cron
            .parse::<CronExpr>()
            .and_then(|expr| Ok((expr, crate::domain::cron::parse_time_zone(&s.timezone)?)));
        let (frequency, next_runs, problem) = match parsed {
            Ok((expr, tz)) => {
                let runs = expr
                    .next_runs(tz, chrono::Utc::now(), NEXT_RUNS)
                    .iter()
                    .map(|t| {
                        (
                            t.format("%a %Y-%m-%d %H:%M %Z").to_string(),
                            t.with_timezone(&chrono::Utc)
                                .format("%Y-%m-%d %H:%M UTC")
                                .to_string(),
                        )
                    })
                    .collect();
                (describe(Frequency::from_cron(expr)), runs, String::new())
            }
            Err(reason) => ("?".into(), Vec::new(), reason),
        };
        ScheduleRow {
            id: s.id.clone(),
            name: s.name.clone(),
            enabled: s.enabled,
            frequency,
            cron: s.cron.clone(),
            timezone: s.timezone.clone(),
            scope: s.scope.clone(),
            action: match s.action() {
                ScheduleAction::Backup => format!("backup, {}", s.kind),
                ScheduleAction::Drill => "drill".into(),
            },
            retention: retention_of(s),
            next_runs,
            problem,
            last_run: s
                .last_run_at
                .as_ref()
                .map(crate::web::view::timestamp)
                .unwrap_or_default(),
            last_task: None,
            last_task_id: s.last_task_id.clone(),
        }
    }
}

/// A drill schedule keeps nothing; a backup schedule's policy, and its drill cadence.
fn retention_of(s: &Schedule) -> String {
    if s.action() == ScheduleAction::Drill {
        return "— (drills the newest backup of its scope)".into();
    }
    let policy = policy_of(s).map_or_else(|e| e.to_string(), |p| p.describe());
    match s.drill_every {
        Some(1) => format!("{policy}; a drill after every backup"),
        Some(n) => format!("{policy}; a drill after every {n}. backup"),
        None => policy,
    }
}

/// A frequency as people say it ("daily at 02:30"); the dashboard uses it too.
pub(crate) fn describe(frequency: Frequency) -> String {
    match frequency {
        Frequency::Daily(t) => format!("daily at {}", t.format("%H:%M")),
        Frequency::Weekly(day, t) => {
            format!("every {} at {}", weekday_name(day), t.format("%H:%M"))
        }
        Frequency::Monthly(Some(day), t) => {
            format!("monthly on day {day} at {}", t.format("%H:%M"))
        }
        Frequency::Monthly(None, t) => {
            format!("monthly on the last day at {}", t.format("%H:%M"))
        }
        Frequency::Cron(expr) => format!("cron {expr}"),
    }
}

#[derive(Debug, Deserialize)]
pub struct SettingsQuery {
    edit: Option<String>,
    /// Set by the redirect after a schedule was deleted.
    deleted: Option<String>,
}

pub async fn show(
    state: web::Data<WebState>,
    user: Viewer,
    query: web::Query<SettingsQuery>,
) -> WebResult<HttpResponse> {
    let query = query.into_inner();
    let editing = query.edit.filter(|id| !id.is_empty());
    let deleted = query.deleted.filter(|name| !name.is_empty());
    let identity = user.identity;
    let app = state.app.clone();
    state
        .db(move |conn| {
            let form = match &editing {
                Some(id) => input_from_schedule(&Schedule::find_by_id(conn, id)?),
                None => blank_input(),
            };
            let deleted = match deleted {
                Some(name) if Schedule::find_by_name(conn, &name)?.is_none() => Some(name),
                _ => None,
            };
            render(
                conn,
                &identity,
                &app.settings,
                form,
                FieldErrors::default(),
                editing,
                deleted,
            )
        })
        .await
        .map(|html| html_response(StatusCode::OK, html))
}

/// Renders the page (HTML) with the list read from `conn`; `deleted` names the schedule
/// just deleted.
pub fn render(
    conn: &mut DbConnection,
    identity: &Identity,
    settings: &crate::config::Settings,
    form: ScheduleInput,
    errors: FieldErrors,
    editing: Option<String>,
    deleted: Option<String>,
) -> WebResult<String> {
    let schedules = Schedule::list(conn)?
        .iter()
        .map(|s| ScheduleRow::from(s).with_last_task(conn))
        .collect::<Result<Vec<_>, DbError>>()?;
    let sources = &settings.sources;
    let services = crate::web::view::service_names(sources);
    // A drill schedule prunes nothing: no preview.
    let preview = match &editing {
        Some(id) if form.action != "drill" => Some(retention_preview(conn, &settings.storage, id)?),
        _ => None,
    };
    let channels = crate::notify::Channel::all(&settings.notify)
        .iter()
        .map(|c| (c.label(), c.describe()))
        .collect();
    let page = SettingsPage {
        preview,
        layout: Layout::new(identity, "settings"),
        schedules,
        form,
        errors,
        editing,
        sources: sources.iter().map(|s| s.name.clone()).collect(),
        services,
        weekdays: &[
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ],
        channels,
        deleted,
    };
    page.render().map_err(WebError::from)
}
