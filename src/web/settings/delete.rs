//! Deleting a schedule (admins): `GET /settings/schedules/{id}/delete` asks first, saying
//! what stops and what stays; `POST` deletes it with its audit entry
//! (`jobs::schedules::delete`) and the settings page then says which schedule went.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::Schedule;
use crate::jobs::schedules;
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::settings::page::ScheduleRow;
use crate::web::state::WebState;

#[derive(Template)]
#[template(path = "settings/delete_schedule.html")]
struct ConfirmPage {
    layout: Layout,
    schedule: ScheduleRow,
}

pub async fn confirm(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let schedule = state
        .db(move |conn| Schedule::find_by_id(conn, &id))
        .await?;
    let page = ConfirmPage {
        layout: Layout::new(&user.identity, "settings"),
        schedule: ScheduleRow::from(&schedule),
    };
    Ok(html_response(StatusCode::OK, page.render()?))
}

/// `POST /settings/schedules/{id}/delete`.
pub async fn delete(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let username = user.username().to_string();
    let deleted = state
        .db(move |conn| schedules::delete(conn, &id, &username))
        .await?;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("deleted", &deleted.name)
        .finish();
    Ok(see_other(&format!("/settings?{query}")))
}
