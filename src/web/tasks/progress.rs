//! The progress of one task as pages show it: the partial `templates/tasks/progress.html`
//! (a live bar that subscribes to `/tasks/{id}/events` while the task is unfinished) and its
//! inner part `templates/tasks/progress_body.html`, which the event stream re-renders for
//! htmx to swap in. Any page can include the partial: give its template a `progress:
//! ProgressView` field (see [`ProgressView::for_task`]).

use askama::Template;

use crate::db::Task;
use crate::jobs::run::live::{LiveProgress, TaskSnapshot};
use crate::present::{duration_text, human_bytes};

/// A task's progress, formatted for display.
#[derive(Debug, Clone)]
pub struct ProgressView {
    pub task_id: String,
    pub status: String,
    pub phase: String,
    /// 0–100, for `<progress value>`.
    pub percent: f64,
    /// `42%`.
    pub percent_text: String,
    /// `1.2 MiB of 3.0 MiB`.
    pub bytes: String,
    /// `120 of 3000`.
    pub files: String,
    /// `12.5 MiB/s`, or empty before there is anything to measure.
    pub throughput: String,
    /// `1 min 20 s`, or empty when unknown or finished.
    pub eta: String,
    pub error: String,
    /// Unfinished: the partial subscribes to the event stream and the page refreshes without JS.
    pub live: bool,
    /// The page the partial sits on (path and query), whose content is fetched again when
    /// the task ends; empty on pages that need no more than the bar (lists).
    pub page: String,
    /// The status the rest of the page was rendered with (the rows it read, which may lag
    /// behind the live hub): the event stream says `status` when the task's differs.
    pub seen: String,
}

impl ProgressView {
    /// The freshest view of `task`: the live hub's snapshot when a worker of this process
    /// runs it, the row otherwise.
    pub fn for_task(live: &LiveProgress, task: &Task) -> ProgressView {
        let row = TaskSnapshot::from_task(task);
        if row.finished {
            return ProgressView::from(&row);
        }
        let view = match live.subscribe(&task.id) {
            Some(receiver) => ProgressView::from(&*receiver.borrow()),
            None => ProgressView::from(&row),
        };
        view.seen_as(row.status.as_str())
    }

    /// The view on a page whose other parts were rendered with `status`.
    pub fn seen_as(mut self, status: &str) -> ProgressView {
        self.seen = status.to_string();
        self
    }

    /// The view on `page`, which is fetched again (its `#content`) when the task ends.
    pub fn on_page(mut self, page: &str) -> ProgressView {
        self.page = page.to_string();
        self
    }
}

impl From<&TaskSnapshot> for ProgressView {
    fn from(s: &TaskSnapshot) -> ProgressView {
        let percent = s.percent.clamp(0.0, 100.0);
        ProgressView {
            task_id: s.task_id.clone(),
            status: s.status.as_str().to_string(),
            phase: s.phase.clone(),
            percent,
            percent_text: format!("{}%", percent.floor() as u32),
            bytes: if s.bytes_total > 0 {
                format!(
                    "{} of {}",
                    human_bytes(s.bytes_done),
                    human_bytes(s.bytes_total)
                )
            } else {
                human_bytes(s.bytes_done)
            },
            files: if s.files_total > 0 {
                format!("{} of {}", s.files_done, s.files_total)
            } else {
                s.files_done.to_string()
            },
            throughput: s
                .throughput_bytes_per_sec
                .map(|rate| format!("{}/s", human_bytes(rate)))
                .unwrap_or_default(),
            eta: match s.eta_seconds {
                Some(seconds) if !s.finished => duration_text(seconds),
                _ => String::new(),
            },
            error: s.error.clone().unwrap_or_default(),
            live: !s.finished,
            page: String::new(),
            seen: s.status.as_str().to_string(),
        }
    }
}

/// The live partial on its own (the answer to an htmx request for a task page).
#[derive(Template)]
#[template(path = "tasks/progress.html")]
pub struct ProgressPartial {
    pub progress: ProgressView,
}

/// The inside of the partial: what each event of the stream swaps in.
#[derive(Template)]
#[template(path = "tasks/progress_body.html")]
pub struct ProgressBody {
    pub progress: ProgressView,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn snapshot() -> TaskSnapshot {
        TaskSnapshot {
            task_id: "t1".into(),
            status: Status::Running,
            phase: "archiving <files>".into(),
            percent: 42.7,
            bytes_done: 1536,
            bytes_total: 4096,
            files_done: 3,
            files_total: 9,
            throughput_bytes_per_sec: Some(2048),
            eta_seconds: Some(125),
            error: None,
            finished: false,
        }
    }

    #[test]
    fn figures_read_like_people_write_them() {
        let view = ProgressView::from(&snapshot());
        assert_eq!(view.percent_text, "42%");
        assert_eq!(view.bytes, "1.5 KiB of 4.0 KiB");
        assert_eq!(view.files, "3 of 9");
        assert_eq!(view.throughput, "2.0 KiB/s");
        assert_eq!(view.eta, "2 min 05 s");
        assert!(view.live);
        assert_eq!(duration_text(7300), "2 h 01 min");
    }

    #[test]
    fn the_partial_escapes_and_subscribes_only_while_unfinished() {
        let html = ProgressPartial {
            progress: ProgressView::from(&snapshot()),
        }
        .render()
        .unwrap();
        assert!(
            html.contains("archiving &#60;files&#62;") || html.contains("archiving &lt;files&gt;")
        );
        assert!(
            html.contains(r#"sse-connect="/tasks/t1/events?seen=running""#),
            "{html}"
        );
        assert!(!html.contains("sse:done"), "no page to reload: {html}");
        let on_page = ProgressPartial {
            progress: ProgressView::from(&snapshot()).on_page("/backups/b1?path=files%2F"),
        }
        .render()
        .unwrap();
        assert!(
            on_page.contains(
                r#"hx-get="/backups/b1?path=files%2F" hx-trigger="sse:status, sse:done""#
            ),
            "{on_page}"
        );
        let mut done = snapshot();
        done.status = Status::Succeeded;
        done.finished = true;
        let html = ProgressPartial {
            progress: ProgressView::from(&done),
        }
        .render()
        .unwrap();
        assert!(
            !html.contains("sse-connect") && !html.contains("sse:done"),
            "{html}"
        );
        assert!(
            html.contains("succeeded") || html.contains("success"),
            "{html}"
        );
    }

    /// How another page (a backup's) includes the partial: an optional task's progress.
    #[derive(Template)]
    #[template(
        source = r#"<div id="task-progress">{% if let Some(progress) = progress %}{% include "tasks/progress.html" %}{% endif %}</div>"#,
        ext = "html"
    )]
    struct Including {
        progress: Option<ProgressView>,
    }

    #[test]
    fn another_page_can_include_the_partial() {
        let html = Including {
            progress: Some(ProgressView::from(&snapshot())),
        }
        .render()
        .unwrap();
        assert!(
            html.contains(r#"sse-connect="/tasks/t1/events?seen=running""#),
            "{html}"
        );
        assert!(html.contains("42%"));
        let none = Including { progress: None }.render().unwrap();
        assert_eq!(none, r#"<div id="task-progress"></div>"#);
    }
}
