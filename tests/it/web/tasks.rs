//! The task page and its live progress stream (`/tasks/{id}/events`): events in order up to
//! the outcome, from the live hub (workers of this process) or the task's row (a worker
//! elsewhere), a finished task's outcome at once, 404 for unknown tasks.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use coffer::db::Task;
use coffer::domain::{BackupKind, Role, Scope};
use coffer::jobs::backup::{record_backup, run_backup, BackupRequest};
use coffer::jobs::queue::{execute_job, Job};
use coffer::jobs::run::execution::Interrupt;
use coffer::jobs::run::live::LiveProgress;
use serde_json::Value;

use super::harness::{location, Browser, TestConsole};
use crate::helpers::{tester, BOTH};

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub name: String,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// Reads `/tasks/{id}/events` to its end and returns the events in order.
pub fn read_events(browser: &Browser, task_id: &str) -> Vec<SseEvent> {
    read_events_after(browser, task_id, || {})
}

/// Like [`read_events`], calling `connected` once the stream's headers arrived (the console
/// has subscribed this client), before any event is read.
pub fn read_events_after(
    browser: &Browser,
    task_id: &str,
    connected: impl FnOnce(),
) -> Vec<SseEvent> {
    let response = browser
        .client
        .get(browser.url(&format!("/tasks/{task_id}/events")))
        .timeout(Duration::from_secs(120))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    connected();
    let mut events = Vec::new();
    let (mut name, mut data) = (String::new(), Vec::<String>::new());
    for line in BufReader::new(response).lines() {
        let line = line.unwrap();
        if line.is_empty() {
            if !data.is_empty() {
                events.push(SseEvent {
                    name: std::mem::take(&mut name),
                    data: data.join("\n"),
                });
                data.clear();
            }
            name.clear();
        } else if let Some(value) = line.strip_prefix("event:") {
            name = value.trim().to_string();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value).to_string());
        }
    }
    events
}

/// Checks a complete stream: JSON progress in order (percent never decreasing), an HTML
/// fragment for each update, and a last `done` event with the outcome. Returns the progress
/// events' JSON and the `done` JSON.
pub fn check_stream(events: &[SseEvent]) -> (Vec<Value>, Value) {
    let last = events.last().expect("at least one event");
    assert_eq!(last.name, "done", "the stream ends with `done`: {events:?}");
    assert_eq!(
        events.iter().filter(|e| e.name == "done").count(),
        1,
        "one `done` only"
    );
    let progress: Vec<Value> = events
        .iter()
        .filter(|e| e.name == "progress")
        .map(SseEvent::json)
        .collect();
    let mut previous = 0.0;
    for p in &progress {
        let percent = p["percent"].as_f64().unwrap();
        assert!(
            percent >= previous,
            "percent went back: {previous} → {percent}"
        );
        previous = percent;
        for field in [
            "phase",
            "bytes_done",
            "bytes_total",
            "files_done",
            "files_total",
        ] {
            assert!(p.get(field).is_some(), "{field} missing in {p}");
        }
        assert!(p.get("throughput_bytes_per_sec").is_some() && p.get("eta_seconds").is_some());
    }
    let fragments = events.iter().filter(|e| e.name == "fragment").count();
    assert_eq!(fragments, progress.len() + 1, "one fragment per update");
    assert!(events[events.len() - 2].name == "fragment");
    assert!(events
        .iter()
        .filter(|e| e.name == "fragment")
        .all(|e| e.data.contains("<progress")));
    let done = last.json();
    assert!(done["percent"].as_f64().unwrap() >= previous);
    (progress, done)
}

/// Whether some update fell strictly between 0% and 100%.
pub fn has_intermediate(progress: &[Value]) -> bool {
    progress.iter().any(|p| {
        let percent = p["percent"].as_f64().unwrap();
        percent > 0.0 && percent < 100.0
    })
}

/// Writes `count` small files under the console's directory source, and one in ten more
/// of 32 KiB that do not compress, so that archiving them takes a few seconds and progress
/// has time to show.
pub fn add_files(console: &TestConsole, count: usize) {
    let dir = console.env.path("files/many");
    std::fs::create_dir_all(&dir).unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..32 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    for i in 0..count {
        let body = format!("file {i}\n").repeat(40 + i % 200);
        std::fs::write(dir.join(format!("f{i:05}.txt")), body).unwrap();
        if i % 10 == 0 {
            // A different byte pattern per file: nothing for gzip to find in the previous one.
            let salt = (i / 10) as u8;
            let bytes: Vec<u8> = noise.iter().map(|b| b ^ salt).collect();
            std::fs::write(dir.join(format!("n{i:05}.bin")), bytes).unwrap();
        }
    }
}

/// A successful full backup of everything, made in-process; returns its id.
pub fn make_backup(console: &TestConsole) -> String {
    let request = BackupRequest::new(Scope::All, BackupKind::Full);
    run_backup(&console.app, &request, &tester(), None)
        .unwrap()
        .id
}

/// The task of a successful backup made in-process.
fn finished_backup_task(console: &TestConsole) -> String {
    let backup_id = make_backup(console);
    let mut conn = console.app.conn().unwrap();
    Task::list_for_backup(&mut conn, &backup_id).unwrap()[0]
        .id
        .clone()
}

/// Runs `task_id`'s job on a thread, as a worker would, publishing to `live`.
pub fn run_on_thread(
    console: &TestConsole,
    task_id: &str,
    live: LiveProgress,
) -> std::thread::JoinHandle<()> {
    let app = console.app.clone();
    let mut conn = app.conn().unwrap();
    let job = Job::for_task(&Task::find_by_id(&mut conn, task_id).unwrap()).unwrap();
    drop(conn);
    std::thread::spawn(move || {
        assert!(execute_job(&app, &job, &live, &Interrupt::default()).unwrap());
    })
}

#[test]
fn workers_stream_progress_in_order_up_to_the_outcome() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        // A backup of these lasts a few seconds even on a quiet machine (a deep verify of
        // them, which this test streamed before, got too fast to show an update between).
        add_files(&console, 6000);
        let operator = console.login_as(Role::Operator);
        let queued = operator.post("/backups", &[("scope", "all"), ("kind", "full")]);
        assert_eq!(queued.status(), 303);
        let backup_id = location(&queued)
            .trim_start_matches("/backups/")
            .to_string();
        let mut conn = console.app.conn().unwrap();
        let task_id = Task::list_for_backup(&mut conn, &backup_id).unwrap()[0]
            .id
            .clone();
        drop(conn);

        // The workers start only once the viewer is subscribed: a job now starts at once
        // and could otherwise be half done before anyone listens.
        let viewer = console.login_as(Role::Viewer);
        let mut workers = None;
        let events = read_events_after(&viewer, &task_id, || {
            workers = Some(console.start_workers());
        });
        let (progress, done) = check_stream(&events);
        assert_eq!(done["outcome"], "success", "{done}");
        assert_eq!(done["percent"], 100.0);
        assert!(done["files_total"].as_u64().unwrap() >= 3000, "{done}");
        assert!(
            has_intermediate(&progress),
            "updates came before the outcome: {progress:?}"
        );

        let page = viewer.page(&format!("/tasks/{task_id}"));
        assert!(page.contains("backup task") && page.contains("data-status=\"success\""));
        assert!(
            !page.contains("sse-connect"),
            "a finished task does not subscribe"
        );
        assert!(page.contains(&format!("href=\"/backups/{backup_id}\"")));
    }
}

#[test]
fn a_backup_in_the_live_hub_streams_without_reading_its_row() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        add_files(&console, 8000);
        let request = BackupRequest::new(Scope::All, BackupKind::Full);
        let (backup, task) = record_backup(&console.app, &request, &tester()).unwrap();
        let viewer = console.login_as(Role::Viewer);
        let pending = viewer.page(&format!("/tasks/{}", task.id));
        assert!(pending.contains(&format!(
            "sse-connect=\"/tasks/{}/events?seen=pending\"",
            task.id
        )));
        assert!(pending.contains("<noscript><meta http-equiv=\"refresh\""));

        let worker = run_on_thread(&console, &task.id, console.live.clone());
        let started = Instant::now();
        let events = read_events(&viewer, &task.id);
        worker.join().unwrap();
        let (progress, done) = check_stream(&events);
        assert_eq!(done["outcome"], "success", "{done}");
        assert!(
            has_intermediate(&progress),
            "updates came before the outcome: {progress:?}"
        );
        let seconds = started.elapsed().as_secs_f64();
        assert!(
            (progress.len() as f64) <= 4.0 * seconds + 4.0,
            "{} updates in {seconds:.1} s: throttled to about 4 a second",
            progress.len()
        );
        let page = viewer.page(&format!("/tasks/{}", task.id));
        assert!(page.contains(&format!("href=\"/backups/{}\"", backup.id)));
    }
}

#[test]
fn a_task_run_by_another_process_is_followed_from_its_row() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        add_files(&console, 3000);
        let request = BackupRequest::new(Scope::All, BackupKind::Full);
        let (_, task) = record_backup(&console.app, &request, &tester()).unwrap();
        // Its own hub: the console's never hears of this task, as with a `coffer worker`.
        let worker = run_on_thread(&console, &task.id, LiveProgress::new());
        let viewer = console.login_as(Role::Viewer);
        let events = read_events(&viewer, &task.id);
        worker.join().unwrap();
        let (_, done) = check_stream(&events);
        assert_eq!(done["outcome"], "success", "{done}");
        assert!(console.live.subscribe(&task.id).is_none());
    }
}

#[test]
fn a_finished_task_gives_its_outcome_at_once() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let task_id = finished_backup_task(&console);
        let viewer = console.login_as(Role::Viewer);
        let started = Instant::now();
        let events = read_events(&viewer, &task_id);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(events.len(), 2, "{events:?}");
        let (_, done) = check_stream(&events);
        assert_eq!(done["outcome"], "success");
        assert_eq!(done["task_id"], task_id.as_str());
    }
}

#[test]
fn the_task_page_is_a_fragment_for_htmx_and_a_page_otherwise() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let task_id = finished_backup_task(&console);
        let viewer = console.login_as(Role::Viewer);
        let path = format!("/tasks/{task_id}");
        let page = viewer.get(&path);
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["vary"], "HX-Request, HX-Target");
        let page = page.text().unwrap();
        assert!(page.contains("<html") && page.contains("Details"), "{page}");

        let fragment = viewer
            .client
            .get(viewer.url(&path))
            .header("HX-Request", "true")
            .send()
            .unwrap();
        assert_eq!(fragment.status(), 200);
        assert_eq!(fragment.headers()["vary"], "HX-Request, HX-Target");
        let fragment = fragment.text().unwrap();
        assert!(
            fragment.contains(&format!("id=\"task-progress-{task_id}\"")),
            "{fragment}"
        );
        assert!(
            !fragment.contains("<html") && !fragment.contains("Details"),
            "the progress alone: {fragment}"
        );

        // A live page fetching its whole content again (when its task ends) gets the page.
        let content = viewer
            .client
            .get(viewer.url(&path))
            .header("HX-Request", "true")
            .header("HX-Target", "content")
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            content.contains("id=\"content\"") && content.contains("Details"),
            "{content}"
        );
    }
}

#[test]
fn unknown_tasks_are_404_and_streams_need_a_session() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let viewer = console.login_as(Role::Viewer);
        assert_eq!(viewer.get("/tasks/no-such-task/events").status(), 404);
        let page = viewer.get("/tasks/no-such-task");
        assert_eq!(page.status(), 404);
        assert!(page.text().unwrap().contains("no-such-task"));
        let anonymous = console.anonymous();
        let response = anonymous.get("/tasks/whatever/events");
        assert_eq!(response.status(), 303);
        assert!(location(&response).starts_with("/login"));
    }
}

#[test]
fn the_backup_list_shows_a_live_bar_for_running_backups_only() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let viewer = console.login_as(Role::Viewer);
        let request = BackupRequest::new(Scope::All, BackupKind::Full);
        let (backup, task) = record_backup(&console.app, &request, &tester()).unwrap();
        let stream = format!("sse-connect=\"/tasks/{}/events?seen=running\"", task.id);
        assert!(
            !viewer.page("/backups").contains(&stream),
            "pending: no bar yet"
        );
        {
            let mut conn = console.app.conn().unwrap();
            Task::mark_running(&mut conn, &task.id, "elsewhere:1").unwrap();
            coffer::db::Backup::mark_running(&mut conn, &backup.id).unwrap();
        }
        assert!(
            viewer.page("/backups").contains(&stream),
            "running: a live bar"
        );
    }
}
