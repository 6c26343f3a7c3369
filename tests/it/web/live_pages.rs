//! Work starts at once and the pages tell the truth about it: a backup queued from the
//! console on an idle pool is running within a second (jobs sat `pending` 9–17 s when only
//! apalis's timer woke the pool), and so is one pushed by another process; a backup's page offers Cancel while it is unfinished and neither
//! Delete nor Pin; its statuses follow the task's event stream; waiting and running times
//! are shown apart.

use std::time::{Duration, Instant};

use coffer::db::{Backup, Task};
use coffer::domain::{BackupKind, Role, Scope};
use coffer::jobs::backup::{record_backup, BackupRequest};
use coffer::jobs::queue::{Job, JobQueue};

use super::harness::{location, Browser, TestConsole};
use super::tasks::read_events;
use crate::helpers::{tester, BOTH};

/// Posts the create form and returns the new backup's id.
fn create(browser: &Browser) -> String {
    let response = browser.post("/backups", &[("scope", "all"), ("kind", "full")]);
    assert_eq!(response.status(), 303);
    location(&response)
        .strip_prefix("/backups/")
        .expect("a backup page")
        .to_string()
}

/// The backup task of backup `id`.
fn task_of(console: &TestConsole, id: &str) -> Task {
    let tasks = Task::list_for_backup(&mut console.app.conn().unwrap(), id).unwrap();
    tasks
        .into_iter()
        .find(|t| t.kind == "backup")
        .expect("a backup task")
}

#[test]
fn a_backup_queued_on_an_idle_pool_starts_within_a_second() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let operator = console.login_as(Role::Operator);
        let workers = console.start_workers();
        // Let the pool settle: its first looks at the empty queue are over, it is idle.
        std::thread::sleep(Duration::from_secs(3));
        // Several pushes, each at another moment of any timer the pool may run on.
        for round in 0..3 {
            let id = create(&operator);
            let deadline = Instant::now() + Duration::from_secs(60);
            let task = loop {
                let task = task_of(&console, &id);
                if task.started_at.is_some() || Instant::now() > deadline {
                    break task;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            let started = task.started_at.expect("the backup started");
            let waited = (started - task.created_at).to_std().unwrap_or_default();
            assert!(
                waited < Duration::from_secs(1),
                "{backend:?} round {round}: pending for {waited:?} on an idle pool"
            );
            // Wait for the end, then idle a while (an odd time, away from any round tick).
            while !task_of(&console, &id).status().is_finished() {
                assert!(Instant::now() < deadline, "the backup did not finish");
                std::thread::sleep(Duration::from_millis(50));
            }
            std::thread::sleep(Duration::from_millis(1700));
        }
        workers.stop();
    }
}

#[test]
fn a_job_pushed_by_another_process_starts_within_a_second_too() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let workers = console.start_workers();
        std::thread::sleep(Duration::from_secs(3));
        // Another queue handle on the same queue: its pushes wake no pool of this one, as
        // with `coffer backup --queue` or a second `coffer serve`. Only the pool's own look
        // at the queue (every 0.5 s) finds the job.
        let elsewhere = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let other = elsewhere.block_on(JobQueue::open(&console.app)).unwrap();
        for round in 0..2 {
            let request = BackupRequest::new(Scope::All, BackupKind::Full);
            let (_, task) = record_backup(&console.app, &request, &tester()).unwrap();
            let job = Job::for_task(&task).unwrap();
            elsewhere.block_on(other.push(job)).unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            let task = loop {
                let task = Task::find_by_id(&mut console.app.conn().unwrap(), &task.id).unwrap();
                if task.status().is_finished() || Instant::now() > deadline {
                    break task;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            let waited = (task.started_at.expect("started") - task.created_at)
                .to_std()
                .unwrap_or_default();
            assert!(
                waited < Duration::from_secs(1),
                "{backend:?} round {round}: pending for {waited:?}"
            );
            std::thread::sleep(Duration::from_millis(1300));
        }
        workers.stop();
    }
}

#[test]
fn an_unfinished_backup_offers_cancel_and_neither_delete_nor_pin() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        let id = create(&admin);
        let task = task_of(&console, &id);
        let page = admin.page(&format!("/backups/{id}"));
        assert!(page.contains("id=\"cancel-backup\""), "{page}");
        assert!(
            page.contains(&format!("action=\"/tasks/{}/cancel\"", task.id)),
            "{page}"
        );
        assert!(!page.contains(&format!("/backups/{id}/delete")), "{page}");
        assert!(!page.contains(&format!("/backups/{id}/pin")), "{page}");

        // A viewer sees no button at all.
        let viewer = console.login_as(Role::Viewer);
        assert!(!viewer
            .page(&format!("/backups/{id}"))
            .contains("id=\"cancel-backup\""));

        // Cancelling from the backup's page comes back to it.
        let response = admin.post(&format!("/tasks/{}/cancel", task.id), &[("back", "backup")]);
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), format!("/backups/{id}"));
        let page = admin.page(&format!("/backups/{id}"));
        assert!(page.contains("data-status=\"cancelled\""), "{page}");
        assert!(!page.contains("id=\"cancel-backup\""), "{page}");
        assert!(page.contains(&format!("/backups/{id}/delete")), "{page}");
        assert!(page.contains(&format!("/backups/{id}/pin")), "{page}");

        // A finished task offers no cancelling either.
        let task_page = admin.page(&format!("/tasks/{}", task.id));
        assert!(!task_page.contains("Cancel this task"), "{task_page}");
        assert!(
            task_page.contains("data-status=\"cancelled\""),
            "{task_page}"
        );
    }
}

#[test]
fn every_status_on_the_page_follows_the_task_live() {
    let console = TestConsole::start(&BOTH[0]);
    let operator = console.login_as(Role::Operator);
    let id = create(&operator);
    let task = task_of(&console, &id);
    let live_class = format!("live-status-{}", task.id);
    let page = operator.page(&format!("/backups/{id}"));
    // The heading, the record and the task's row are all targets of the stream.
    for marker in [
        format!("id=\"backup-status\" class=\"{live_class}\""),
        format!("id=\"record-status\" class=\"{live_class}\""),
        format!("<td class=\"{live_class}\">"),
    ] {
        assert!(page.contains(&marker), "{marker} in {page}");
    }
    // The stream knows what the page was rendered with, to say when the task started.
    assert!(
        page.contains(&format!("/tasks/{}/events?seen=pending", task.id)),
        "{page}"
    );
    // The page fetches itself again when the task starts and when it ends.
    assert!(
        page.contains(&format!(
            "hx-get=\"/backups/{id}\" hx-trigger=\"sse:status, sse:done\""
        )),
        "{page}"
    );
    let task_page = operator.page(&format!("/tasks/{}", task.id));
    assert!(
        task_page.contains(&format!("class=\"{live_class}\" id=\"task-status\"")),
        "{task_page}"
    );

    // The task starts (as in another process): a page rendered while it was pending hears
    // `status`, and fetches its content again (times, actions).
    {
        let mut conn = console.app.conn().unwrap();
        Task::mark_running(&mut conn, &task.id, "elsewhere:1").unwrap();
        Backup::mark_running(&mut conn, &id).unwrap();
    }
    let started = first_status_event(&operator, &task.id, "pending");
    assert_eq!(started, "running");
    {
        let mut conn = console.app.conn().unwrap();
        Task::mark_finished(&mut conn, &task.id, coffer::domain::Status::Cancelled, None).unwrap();
    }
    let events = read_events(&operator, &task.id);
    let fragment = events
        .iter()
        .find(|e| e.name == "fragment")
        .expect("a fragment");
    assert!(
        fragment
            .data
            .contains(&format!("hx-swap-oob=\"innerHTML:.{live_class}\"")),
        "{}",
        fragment.data
    );
    assert!(fragment.data.contains("data-status=\"cancelled\""));
}

/// Reads `/tasks/{id}/events?seen=SEEN` until its first `status` event and returns its data.
fn first_status_event(browser: &Browser, task_id: &str, seen: &str) -> String {
    use std::io::{BufRead, BufReader};
    let response = browser
        .client
        .get(browser.url(&format!("/tasks/{task_id}/events?seen={seen}")))
        .timeout(Duration::from_secs(20))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut in_status = false;
    for line in BufReader::new(response).lines() {
        let line = line.expect("a `status` event within 20 s");
        if let Some(name) = line.strip_prefix("event:") {
            in_status = name.trim() == "status";
        } else if let Some(data) = line.strip_prefix("data:").filter(|_| in_status) {
            return data.trim().to_string();
        }
    }
    panic!("the stream ended without a `status` event");
}

#[test]
fn waiting_and_running_are_shown_apart() {
    let console = TestConsole::start(&BOTH[0]);
    let operator = console.login_as(Role::Operator);
    let id = create(&operator);
    let waiting = operator.page(&format!("/backups/{id}"));
    assert!(
        waiting.contains("id=\"backup-queued\">since "),
        "still waiting: {waiting}"
    );
    std::thread::sleep(Duration::from_millis(1200));
    console.run_pending_jobs();
    let backup = Backup::find_by_id(&mut console.app.conn().unwrap(), &id).unwrap();
    let queued = (backup.started_at.unwrap() - backup.created_at).num_milliseconds();
    assert!(queued >= 1200, "{queued}");
    let page = operator.page(&format!("/backups/{id}"));
    let figure = |id: &str| {
        let marker = format!("id=\"{id}\">");
        let start = page.find(&marker).expect(id) + marker.len();
        page[start..start + page[start..].find('<').unwrap()].to_string()
    };
    let (queued_text, ran_text) = (figure("backup-queued"), figure("backup-ran"));
    assert!(
        queued_text.ends_with(" s")
            && !queued_text.starts_with("0.")
            && !queued_text.contains("since"),
        "{queued_text}"
    );
    assert!(
        ran_text.ends_with(" s") && !ran_text.contains("since"),
        "{ran_text}"
    );
    assert!(
        !page.contains("<dt>Took</dt>"),
        "one figure that hides the wait: {page}"
    );
    let task = task_of(&console, &id);
    let task_page = operator.page(&format!("/tasks/{}", task.id));
    assert!(task_page.contains("id=\"task-queued\"") && task_page.contains("id=\"task-ran\""));
}
