//! `GET /tasks/{id}/events`: a task's progress as Server-Sent Events.
//!
//! While the task runs, each update is two events: `progress` (the snapshot as JSON, for
//! scripts) and `fragment` (the progress partial's inside as HTML, for htmx's `sse-swap`).
//! Each `fragment` also carries the task's status for htmx to swap out of band into the
//! page's other status badges ([`LiveStatus`]). A page that says which status it was
//! rendered with (`?seen=pending`) also gets a `status` event (data: the new status) after
//! the fragment when the task's status changes before its end (it started): the page then
//! fetches its content again, whose times and actions depend on it. The last update is `fragment` then `done`, whose JSON adds `outcome` (`success`, `failed`,
//! `cancelled`); the stream ends after it. A finished task gets those two at once. A comment
//! every 15 s keeps idle connections open; a client that goes away drops the stream.

use std::convert::Infallible;
use std::time::Duration;

use actix_web::web;
use actix_web_lab::sse;
use askama::Template;
use futures_util::{stream, Stream, StreamExt};

use super::feed::Feed;
use super::progress::{ProgressBody, ProgressView};
use crate::db::Task;
use crate::domain::Status;
use crate::jobs::run::live::TaskSnapshot;
use crate::web::auth::Viewer;
use crate::web::error::WebResult;
use crate::web::state::WebState;

const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// What a browser waits before reconnecting after a dropped connection.
const RETRY: Duration = Duration::from_secs(3);

/// `?seen=<status>`: the status the subscribing page was rendered with.
#[derive(Debug, serde::Deserialize)]
pub struct StreamQuery {
    seen: Option<String>,
}

pub async fn stream(
    state: web::Data<WebState>,
    _user: Viewer,
    path: web::Path<String>,
    query: web::Query<StreamQuery>,
) -> WebResult<sse::Sse<impl Stream<Item = Result<sse::Event, Infallible>>>> {
    let id = path.into_inner();
    let task = state.db(move |conn| Task::find_by_id(conn, &id)).await?;
    let feed = Feed::start(state.get_ref().clone(), &task);
    // An unknown value is as good as none: the page then hears of no change of status.
    let seen = query.seen.as_deref().and_then(|s| s.parse::<Status>().ok());
    let events = stream::unfold((feed, seen), |(mut feed, seen)| async move {
        let snapshot = feed.next().await?;
        let mut events = events_for(&snapshot);
        if !snapshot.finished && seen.is_some_and(|seen| seen != snapshot.status) {
            events.push(
                sse::Data::new(snapshot.status.as_str())
                    .event("status")
                    .into(),
            );
        }
        Some((events, (feed, Some(snapshot.status))))
    })
    .flat_map(|events| stream::iter(events.into_iter().map(Ok)));
    Ok(sse::Sse::from_stream(events)
        .with_keep_alive(KEEP_ALIVE)
        .with_retry_duration(RETRY))
}

/// Every other place on the page that shows the task's status (a heading, a record, a
/// table row: elements of class `live-status-<task id>`), swapped out of band by htmx with
/// the fragment, so that none of them still says `pending` while the bar runs.
#[derive(Template)]
#[template(
    source = r#"{% import "tasks/status.html" as tag %}<span hx-swap-oob="innerHTML:.live-status-{{ task_id }}">{% call tag::badge(status) %}{% endcall %}</span>"#,
    ext = "html"
)]
struct LiveStatus<'a> {
    task_id: &'a str,
    status: &'a str,
}

/// The final event's data: the snapshot and how the task ended.
#[derive(serde::Serialize)]
struct Done<'a> {
    /// As stored and shown: `success`, `failed` or `cancelled`.
    outcome: &'static str,
    #[serde(flatten)]
    snapshot: &'a TaskSnapshot,
}

/// The events that tell one snapshot.
pub fn events_for(snapshot: &TaskSnapshot) -> Vec<sse::Event> {
    let mut events = Vec::with_capacity(2);
    let json = if snapshot.finished {
        serde_json::to_string(&Done {
            outcome: snapshot.status.as_str(),
            snapshot,
        })
    } else {
        serde_json::to_string(snapshot)
    };
    let json = match json {
        Ok(json) => json,
        Err(e) => {
            tracing::error!(task = %snapshot.task_id, "cannot encode a progress event: {e}");
            "{}".to_string()
        }
    };
    if !snapshot.finished {
        events.push(sse::Data::new(json.clone()).event("progress").into());
    }
    let body = ProgressBody {
        progress: ProgressView::from(snapshot),
    };
    let statuses = LiveStatus {
        task_id: &snapshot.task_id,
        status: snapshot.status.as_str(),
    };
    match (body.render(), statuses.render()) {
        (Ok(html), Ok(statuses)) => events.push(
            sse::Data::new(format!("{html}{statuses}"))
                .event("fragment")
                .into(),
        ),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(task = %snapshot.task_id, "cannot render a progress fragment: {e}")
        }
    }
    if snapshot.finished {
        events.push(sse::Data::new(json).event("done").into());
    }
    events
}
