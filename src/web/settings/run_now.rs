//! `POST /settings/schedules/{id}/run` (operators and admins): "Run now" queues the backup
//! (or drill) the schedule's time would queue, and the browser goes to its task page. The
//! schedules list shows the run as the schedule's last one, with its result.

use actix_web::{web, HttpResponse};

use crate::jobs::submit::submit_schedule_run;
use crate::web::auth::Operator;
use crate::web::error::{see_other, WebResult};
use crate::web::state::WebState;

pub async fn run(
    state: web::Data<WebState>,
    user: Operator,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let (id, by) = (id.into_inner(), user.username().to_string());
    let task = state
        .submit(move |app, queue| submit_schedule_run(app, queue, id, by))
        .await?;
    Ok(see_other(&format!("/tasks/{}", task.id)))
}
