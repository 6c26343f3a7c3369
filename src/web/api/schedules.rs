//! `/api/v1/schedules`: the settings page's schedules for scripts. `GET` lists them (viewer);
//! `POST` adds one, `PUT /{id}` changes one (fields left out keep their value), `DELETE /{id}`
//! removes one (admin). Bodies carry the form's fields as JSON (counts as numbers or text);
//! a bad field is a 400 `{"error": …, "fields": {field: message}}` and nothing is saved.
//! `"action": "drill"` makes a drill schedule (no retention, no `drill_every`; `kind` is
//! ignored); a backup schedule takes `"drill_every": N` (`null` or `""`: no drills).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::schema::{Schema, SchemaType};
use utoipa::openapi::{ObjectBuilder, RefOr, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::db::Schedule;
use crate::domain::schedule::ScheduleInput;
use crate::jobs::schedules::{self, blank_input, input_from_schedule, Refusal};
use crate::present::ScheduleView;
use crate::web::auth::{Admin, Viewer};
use crate::web::error::{ApiError, ErrorBody, WebError};
use crate::web::state::WebState;

/// A schedule's fields, as the settings form has them; left out keeps the current value (or
/// the form's default for a new schedule).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    name: Option<String>,
    enabled: Option<bool>,
    /// `backup` or `drill`.
    action: Option<String>,
    /// `null` clears it (no drills), which a plain `Option` would read as "left out".
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<CountOrText>)]
    drill_every: Option<Value>,
    /// `daily`, `weekly`, `monthly` or `cron`.
    frequency: Option<String>,
    /// `HH:MM` for daily, weekly and monthly schedules.
    time: Option<String>,
    /// `mon` … `sun` for weekly schedules.
    weekday: Option<String>,
    /// Day of the month (1–28) for monthly schedules.
    #[schema(value_type = Option<CountOrText>)]
    day: Option<Value>,
    /// A cron expression (makes the frequency `cron`).
    cron: Option<String>,
    /// An IANA time zone, e.g. `Europe/Paris`.
    timezone: Option<String>,
    /// `all`, `service` or `sources`.
    scope: Option<String>,
    /// The service, with `"scope": "service"`.
    service: Option<String>,
    /// The sources, with `"scope": "sources"`.
    sources: Option<Vec<String>>,
    /// `full` or `incremental`.
    kind: Option<String>,
    #[schema(value_type = Option<CountOrText>)]
    retention_days: Option<Value>,
    #[schema(value_type = Option<CountOrText>)]
    keep_last: Option<Value>,
    #[schema(value_type = Option<CountOrText>)]
    keep_daily: Option<Value>,
    #[schema(value_type = Option<CountOrText>)]
    keep_weekly: Option<Value>,
    #[schema(value_type = Option<CountOrText>)]
    keep_monthly: Option<Value>,
    #[schema(value_type = Option<CountOrText>)]
    keep_yearly: Option<Value>,
    #[schema(value_type = Option<CountOrText>)]
    min_verified: Option<Value>,
}

/// A count given as a number or as text, as the form sends it (`""` or `null`: none).
pub struct CountOrText;

impl PartialSchema for CountOrText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([
                Type::Integer,
                Type::String,
                Type::Null,
            ]))
            .description(Some(
                "A count, as a number or as text; `\"\"` or `null`: none.",
            ))
            .into()
    }
}

impl ToSchema for CountOrText {}

/// A field given, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl ScheduleBody {
    fn apply(self, mut input: ScheduleInput) -> ScheduleInput {
        let text = |v: Value| match v {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let set = |field: &mut String, value: Option<String>| {
            if let Some(value) = value {
                *field = value;
            }
        };
        // First: what a drill or a backup starts from, before the fields given on top.
        if let Some(action) = &self.action {
            schedules::start_as(&mut input, action);
        }
        set(&mut input.drill_every, self.drill_every.map(text));
        if self.cron.is_some() && self.frequency.is_none() {
            input.frequency = "cron".into();
        }
        set(&mut input.name, self.name);
        if let Some(enabled) = self.enabled {
            input.enabled = enabled;
        }
        set(&mut input.frequency, self.frequency);
        set(&mut input.time, self.time);
        set(&mut input.weekday, self.weekday);
        set(&mut input.day, self.day.map(text));
        set(&mut input.cron, self.cron);
        set(&mut input.timezone, self.timezone);
        set(&mut input.scope, self.scope);
        set(&mut input.service, self.service);
        set(&mut input.kind, self.kind);
        set(&mut input.retention_days, self.retention_days.map(text));
        set(&mut input.keep_last, self.keep_last.map(text));
        set(&mut input.keep_daily, self.keep_daily.map(text));
        set(&mut input.keep_weekly, self.keep_weekly.map(text));
        set(&mut input.keep_monthly, self.keep_monthly.map(text));
        set(&mut input.keep_yearly, self.keep_yearly.map(text));
        set(&mut input.min_verified, self.min_verified.map(text));
        if let Some(sources) = self.sources {
            input.sources = sources;
        }
        input
    }
}

/// Every schedule.
#[utoipa::path(
    get, path = "/api/v1/schedules", tag = "schedules",
    responses(
        (status = 200, description = "The schedules", body = Vec<ScheduleView>),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
    )
)]
pub async fn list(state: web::Data<WebState>, _user: Viewer) -> Result<HttpResponse, ApiError> {
    let schedules = state.db(Schedule::list).await?;
    Ok(HttpResponse::Ok().json(schedules.iter().map(ScheduleView::of).collect::<Vec<_>>()))
}

/// Adds a schedule (admins), checked like the settings form.
#[utoipa::path(
    post, path = "/api/v1/schedules", tag = "schedules", request_body = ScheduleBody,
    responses(
        (status = 201, description = "Added", body = ScheduleView),
        (status = 400, description = "Not saved: `fields` says what is wrong with each bad field", body = ErrorBody),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
    )
)]
pub async fn create(
    state: web::Data<WebState>,
    user: Admin,
    body: web::Json<ScheduleBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().apply(blank_input());
    save(&state, user.username().to_string(), input, None).await
}

/// Changes a schedule (admins); fields left out keep their value.
#[utoipa::path(
    put, path = "/api/v1/schedules/{id}", tag = "schedules", request_body = ScheduleBody,
    params(("id" = String, Path, description = "The schedule's id")),
    responses(
        (status = 200, description = "Changed", body = ScheduleView),
        (status = 400, description = "Not saved: `fields` says what is wrong with each bad field", body = ErrorBody),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
pub async fn update(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
    body: web::Json<ScheduleBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let lookup = id.clone();
    let existing = state
        .db(move |conn| Schedule::find_by_id(conn, &lookup))
        .await?;
    let input = body.into_inner().apply(input_from_schedule(&existing));
    save(&state, user.username().to_string(), input, Some(id)).await
}

/// Deletes a schedule (admins).
#[utoipa::path(
    delete, path = "/api/v1/schedules/{id}", tag = "schedules",
    params(("id" = String, Path, description = "The schedule's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
pub async fn delete(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let by = user.username().to_string();
    state
        .db(move |conn| schedules::delete(conn, &id, &by))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Stores through the form's own checks; 201 / 200 with the schedule, or 400 by field.
async fn save(
    state: &WebState,
    username: String,
    input: ScheduleInput,
    id: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let app = state.app.clone();
    let creating = id.is_none();
    let outcome = state
        .db(move |conn| {
            Ok::<_, WebError>(schedules::save(
                conn,
                &app,
                &input,
                id.as_deref(),
                &username,
            ))
        })
        .await?;
    match outcome {
        Ok(saved) => {
            let status = if creating {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(HttpResponse::build(status).json(ScheduleView::of(&saved)))
        }
        Err(Refusal::Fields(errors)) => {
            let fields: BTreeMap<String, String> = errors
                .iter()
                .map(|(field, message)| (field.to_string(), message.to_string()))
                .collect();
            Ok(HttpResponse::BadRequest().json(ErrorBody {
                error: "the schedule was not saved: see fields".into(),
                fields: Some(fields),
            }))
        }
        Err(Refusal::Other(e)) => Err(ApiError(e.into())),
    }
}
