//! `POST /recoverability/drill` (operators; field `service`: empty for every source): queues
//! a drill of the newest backup holding the chosen sources and sends the browser to its
//! task. A drill touches nothing live, like a verification, so operators may start one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::jobs::drill::DrillRequest;
use crate::jobs::requester::Requester;
use crate::jobs::submit::submit_drill;
use crate::web::auth::Operator;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::layout::Layout;
use crate::web::state::WebState;

#[derive(Debug, Deserialize)]
pub struct DrillForm {
    #[serde(default)]
    service: String,
}

pub async fn submit(
    state: web::Data<WebState>,
    user: Operator,
    form: web::Form<DrillForm>,
) -> WebResult<HttpResponse> {
    let service = form.into_inner().service;
    let service = Some(service).filter(|s| !s.is_empty());
    if let Some(name) = &service {
        if !state
            .app
            .settings
            .sources
            .iter()
            .any(|s| &s.service == name)
        {
            return refused(
                &state,
                &user,
                format!("No source belongs to service `{name}`."),
            )
            .await;
        }
    }
    let request = DrillRequest {
        service,
        ..DrillRequest::default()
    };
    let by = Requester::Console(user.username().to_string());
    match state
        .submit(move |app, queue| submit_drill(app, queue, request, by))
        .await
    {
        Ok(task) => Ok(see_other(&format!("/tasks/{}", task.id))),
        // No backup to drill yet, a source busy: said next to the form.
        Err(e @ (crate::error::Error::Refused(_) | crate::error::Error::Invalid(_))) => {
            refused(&state, &user, e.to_string()).await
        }
        Err(e) => Err(WebError::from(e)),
    }
}

async fn refused(state: &WebState, user: &Operator, error: String) -> WebResult<HttpResponse> {
    let layout = Layout::new(&user.identity, "recoverability");
    super::render(state, layout, error, StatusCode::CONFLICT).await
}
