//! `POST /settings/schedules` (add) and `POST /settings/schedules/{id}` (edit), admins only.
//! The form parses into a [`ScheduleSpec`] or comes back with status 400 and a message next
//! to each bad field; nothing is saved then. Every change is audit-logged.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use crate::app::App;
use crate::db::{write_transaction, DbConnection, DbError, LogEntry, NewLogEntry, Schedule};
use crate::domain::schedule::{FieldErrors, ScheduleInput};
use crate::domain::{LogLevel, ScheduleSpec};
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::layout::html_response;
use crate::web::settings::form::{
    describe, input_from_pairs, known_sources, new_schedule, schedule_changes, FormPairs,
};
use crate::web::settings::page::render;
use crate::web::state::WebState;

pub async fn create(
    state: web::Data<WebState>,
    user: Admin,
    form: web::Form<FormPairs>,
) -> WebResult<HttpResponse> {
    save(state, user, None, form.into_inner()).await
}

pub async fn update(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
    form: web::Form<FormPairs>,
) -> WebResult<HttpResponse> {
    save(state, user, Some(id.into_inner()), form.into_inner()).await
}

/// Why a form was not saved.
pub(crate) enum Refusal {
    Fields(FieldErrors),
    Other(WebError),
}

impl<E: Into<WebError>> From<E> for Refusal {
    fn from(e: E) -> Refusal {
        Refusal::Other(e.into())
    }
}

async fn save(
    state: web::Data<WebState>,
    user: Admin,
    id: Option<String>,
    pairs: FormPairs,
) -> WebResult<HttpResponse> {
    let input = input_from_pairs(&pairs);
    let app = state.app.clone();
    let identity = user.identity;
    let refused_page = state
        .db(move |conn| {
            if let Some(id) = &id {
                Schedule::find_by_id(conn, id)?; // an unknown id is a 404, not a form error
            }
            match store(conn, &app, &input, id.as_deref(), &identity.user.username) {
                Ok(()) => Ok(None),
                Err(Refusal::Fields(errors)) => {
                    render(conn, &identity, &app.settings, input, errors, id).map(Some)
                }
                Err(Refusal::Other(e)) => Err(e),
            }
        })
        .await?;
    Ok(match refused_page {
        None => see_other("/settings"),
        Some(html) => html_response(StatusCode::BAD_REQUEST, html),
    })
}

/// Parses, checks the name is free, stores and logs.
pub(crate) fn store(
    conn: &mut DbConnection,
    app: &App,
    input: &ScheduleInput,
    id: Option<&str>,
    username: &str,
) -> Result<(), Refusal> {
    let spec = ScheduleSpec::parse(input, &known_sources(&app.settings.sources))
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
            Some(id) => Schedule::update(conn, id, &schedule_changes(&spec))?,
            None => Schedule::insert(conn, &new_schedule(&spec))?,
        };
        // In the same transaction: the change and its audit entry are kept together.
        let verb = if id.is_some() { "changed" } else { "added" };
        LogEntry::insert(
            conn,
            &NewLogEntry::new(
                LogLevel::Info,
                "settings",
                format!("`{username}` {verb} schedule `{}`", saved.name),
            )
            .by(username)
            .with_details(&describe(&spec)),
        )?;
        Ok::<_, DbError>(Some(saved))
    });
    match saved {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(taken()),
        // Two admins saving the same name at once: the second meets the unique index.
        Err(e) if e.is_unique_violation() => Err(taken()),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let username = user.username().to_string();
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let schedule = Schedule::find_by_id(conn, &id)?;
                Schedule::delete(conn, &id)?;
                let entry = NewLogEntry::new(
                    LogLevel::Info,
                    "settings",
                    format!("`{username}` deleted schedule `{}`", schedule.name),
                )
                .by(&username)
                .with_details(&serde_json::json!({
                    "name": schedule.name,
                    "cron": schedule.cron,
                    "timezone": schedule.timezone,
                }));
                LogEntry::insert(conn, &entry)?;
                Ok::<_, DbError>(())
            })
        })
        .await?;
    Ok(see_other("/settings"))
}
