//! `GET /tasks/{id}/events`: a task's progress as Server-Sent Events.
//!
//! While the task runs, each update is two events: `progress` (the snapshot as JSON, for
//! scripts) and `fragment` (the progress partial's inside as HTML, for htmx's `sse-swap`).
//! The last update is `fragment` then `done`, whose JSON adds `outcome` (`success`, `failed`,
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
use crate::jobs::run::live::TaskSnapshot;
use crate::web::auth::Viewer;
use crate::web::error::WebResult;
use crate::web::state::WebState;

const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// What a browser waits before reconnecting after a dropped connection.
const RETRY: Duration = Duration::from_secs(3);

pub async fn stream(
    state: web::Data<WebState>,
    _user: Viewer,
    path: web::Path<String>,
) -> WebResult<sse::Sse<impl Stream<Item = Result<sse::Event, Infallible>>>> {
    let id = path.into_inner();
    let task = state.db(move |conn| Task::find_by_id(conn, &id)).await?;
    let feed = Feed::start(state.get_ref().clone(), &task);
    let events = stream::unfold(feed, |mut feed| async move {
        let snapshot = feed.next().await?;
        Some((events_for(&snapshot), feed))
    })
    .flat_map(|events| stream::iter(events.into_iter().map(Ok)));
    Ok(sse::Sse::from_stream(events)
        .with_keep_alive(KEEP_ALIVE)
        .with_retry_duration(RETRY))
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
    match body.render() {
        Ok(html) => events.push(sse::Data::new(html).event("fragment").into()),
        Err(e) => {
            tracing::error!(task = %snapshot.task_id, "cannot render a progress fragment: {e}")
        }
    }
    if snapshot.finished {
        events.push(sse::Data::new(json).event("done").into());
    }
    events
}
