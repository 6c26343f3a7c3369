//! `POST /settings/schedules` (add) and `POST /settings/schedules/{id}` (edit), admins only.
//! The form's fields go to `jobs::schedules::save`; a refused form comes back with status 400
//! and a message next to each bad field, and nothing is saved then.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use crate::db::Schedule;
use crate::jobs::schedules::{self, Refusal};
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::layout::html_response;
use crate::web::settings::form::{input_from_pairs, FormPairs};
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
            match schedules::save(conn, &app, &input, id.as_deref(), &identity.user.username) {
                Ok(_) => Ok(None),
                Err(Refusal::Fields(errors)) => {
                    render(conn, &identity, &app.settings, input, errors, id, None).map(Some)
                }
                Err(Refusal::Other(e)) => Err(WebError::from(e)),
            }
        })
        .await?;
    Ok(match refused_page {
        None => see_other("/settings"),
        Some(html) => html_response(StatusCode::BAD_REQUEST, html),
    })
}
