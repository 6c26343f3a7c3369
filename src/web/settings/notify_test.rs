//! `POST /settings/notify/test` (admins): sends a test notification to every channel, one
//! attempt each, and shows which got it — a page, or the result fragment for htmx.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::notify::ChannelReport;
use crate::web::auth::Admin;
use crate::web::error::WebResult;
use crate::web::htmx::HtmxRequest;
use crate::web::layout::Layout;
use crate::web::state::WebState;

#[derive(Template)]
#[template(path = "settings/notify_test.html")]
struct TestPage {
    layout: Layout,
    reports: Vec<ChannelReport>,
    all_delivered: bool,
}

#[derive(Template)]
#[template(path = "settings/notify_result.html")]
struct TestResult {
    reports: Vec<ChannelReport>,
    all_delivered: bool,
}

pub async fn send(
    state: web::Data<WebState>,
    user: Admin,
    htmx: HtmxRequest,
) -> WebResult<HttpResponse> {
    let by = user.username().to_string();
    // Waits for every channel (bounded by `notify.timeout_seconds`), off the async workers.
    let reports = state
        .blocking(move |app| app.notifier().send_test(&app.settings.origin, &by))
        .await?;
    let all_delivered = reports.iter().all(|r| r.delivered);
    let result = TestResult {
        reports,
        all_delivered,
    };
    htmx.answer(result, async |result: TestResult| {
        Ok(TestPage {
            layout: Layout::new(&user.identity, "settings"),
            reports: result.reports,
            all_delivered: result.all_delivered,
        })
    })
    .await
}
