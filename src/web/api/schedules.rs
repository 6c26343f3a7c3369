//! `/api/v1/schedules`: the settings page's schedules for scripts. `GET` lists them (viewer);
//! `POST` adds one, `PUT /{id}` changes one (fields left out keep their value), `DELETE /{id}`
//! removes one (admin). Bodies carry the form's fields as JSON (counts as numbers or text);
//! a bad field is a 400 `{"error": …, "fields": {field: message}}` and nothing is saved.
//! `"action": "drill"` makes a drill schedule (no retention, no `drill_every`; `kind` is
//! ignored); a backup schedule takes `"drill_every": N` (`null` or `""`: no drills).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use crate::db::Schedule;
use crate::domain::schedule::ScheduleInput;
use crate::jobs::schedules::{self, blank_input, input_from_schedule, Refusal};
use crate::web::auth::{Admin, Viewer};
use crate::web::error::{ApiError, WebError};
use crate::web::state::WebState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    name: Option<String>,
    enabled: Option<bool>,
    action: Option<String>,
    /// `null` clears it (no drills), which a plain `Option` would read as "left out".
    #[serde(default, deserialize_with = "present")]
    drill_every: Option<Value>,
    frequency: Option<String>,
    time: Option<String>,
    weekday: Option<String>,
    day: Option<Value>,
    cron: Option<String>,
    timezone: Option<String>,
    scope: Option<String>,
    service: Option<String>,
    sources: Option<Vec<String>>,
    kind: Option<String>,
    retention_days: Option<Value>,
    keep_last: Option<Value>,
    keep_daily: Option<Value>,
    keep_weekly: Option<Value>,
    keep_monthly: Option<Value>,
    keep_yearly: Option<Value>,
    min_verified: Option<Value>,
}

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

pub async fn list(state: web::Data<WebState>, _user: Viewer) -> Result<HttpResponse, ApiError> {
    let schedules = state.db(Schedule::list).await?;
    Ok(HttpResponse::Ok().json(schedules))
}

pub async fn create(
    state: web::Data<WebState>,
    user: Admin,
    body: web::Json<ScheduleBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().apply(blank_input());
    save(&state, user.username().to_string(), input, None).await
}

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
            Ok(HttpResponse::build(status).json(saved))
        }
        Err(Refusal::Fields(errors)) => {
            let fields: serde_json::Map<String, Value> = errors
                .iter()
                .map(|(field, message)| (field.to_string(), Value::String(message.to_string())))
                .collect();
            Ok(HttpResponse::BadRequest().json(serde_json::json!({
                "error": "the schedule was not saved: see fields",
                "fields": fields,
            })))
        }
        Err(Refusal::Other(e)) => Err(ApiError(e.into())),
    }
}
