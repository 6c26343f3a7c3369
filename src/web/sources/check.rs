//! `POST /sources/{name}/check`: the "test connection" button. Checks that the source can be
//! backed up now — a path is readable; a server is reachable, accepts the credentials and its
//! client tools fit — and shows what was found on the source's row: the result alone for htmx,
//! the whole page otherwise. Operators and admins; each test is audit-logged.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::NewLogEntry;
use crate::domain::LogLevel;
use crate::error::Error;
use crate::sources::database::check;
use crate::web::auth::Operator;
use crate::web::error::{WebError, WebResult};
use crate::web::htmx::HtmxRequest;
use crate::web::layout::Layout;
use crate::web::sources::list::{load, CheckResult};
use crate::web::state::WebState;

#[derive(Template)]
#[template(path = "sources/check_result.html")]
struct CheckPartial {
    check: CheckResult,
}

pub async fn run(
    state: web::Data<WebState>,
    user: Operator,
    path: web::Path<String>,
    htmx: HtmxRequest,
) -> WebResult<HttpResponse> {
    let name = path.into_inner();
    if state.app.settings.source(&name).is_none() {
        return Err(WebError::NotFound(format!("source `{name}` not found")));
    }
    let by = user.identity.user.username.clone();
    let source_name = name.clone();
    let outcome = state
        .blocking(move |app| {
            let source = app.settings.source(&source_name).expect("checked above");
            let outcome = check(source);
            let (level, text) = match &outcome {
                Ok(_) => (
                    LogLevel::Info,
                    format!("connection test of source `{source_name}`: ok"),
                ),
                Err(e) => (
                    LogLevel::Warning,
                    format!("connection test of source `{source_name}` failed: {e}"),
                ),
            };
            app.audit(NewLogEntry::new(level, "source-check", text).by(&by));
            Ok::<_, Error>(outcome)
        })
        .await?;
    let result = match outcome {
        Ok(lines) => CheckResult { ok: true, lines },
        Err(e) => CheckResult {
            ok: false,
            lines: vec![e.to_string()],
        },
    };
    htmx.answer(
        CheckPartial { check: result },
        async |partial: CheckPartial| {
            let layout = Layout::new(&user.identity, "sources");
            load(&state, layout, Some((name, partial.check))).await
        },
    )
    .await
}
