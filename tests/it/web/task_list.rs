//! `GET /tasks`: all work newest first, each row linking to its task page; the filters by
//! kind, status and source each leave out what they do not match; a bad filter is a 400
//! that names it.

use coffer::db::Task;
use coffer::domain::Role;

use super::dashboard::{console_with_uploads, failed_restore};
use super::harness::{Browser, TestConsole};
use super::tasks::make_backup;
use crate::helpers::BOTH;

/// The task ids the list shows, in order.
fn listed(browser: &Browser, path: &str) -> Vec<String> {
    let response = browser.get(path);
    assert_eq!(response.status(), 200, "{path}");
    let page = response.text().unwrap();
    page.split("<tr data-task=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// The one task of `backup_id` of kind `kind`.
fn task_of(console: &TestConsole, backup_id: &str, kind: &str) -> Task {
    let mut conn = console.app.conn().unwrap();
    Task::list_for_backup(&mut conn, backup_id)
        .unwrap()
        .into_iter()
        .find(|t| t.kind == kind)
        .unwrap_or_else(|| panic!("a {kind} task of {backup_id}"))
}

#[test]
fn the_list_shows_all_work_and_each_filter_leaves_out_what_it_does_not_match() {
    for backend in &BOTH {
        let console = console_with_uploads(backend, |_| {});
        let admin = console.login_as(Role::Admin);
        let viewer = console.login_as(Role::Viewer);

        // A backup of both sources, a verify of it, a failed restore of `files`, and a
        // backup of `uploads` alone.
        let both = make_backup(&console);
        let backup = task_of(&console, &both, "backup");
        let verify = admin.post(&format!("/backups/{both}/verify"), &[("depth", "quick")]);
        assert_eq!(verify.status(), 303);
        console.run_pending_jobs();
        let verify = task_of(&console, &both, "verify");
        let restore = failed_restore(&console, &admin, &both);
        let queued = admin.post(
            "/backups",
            &[
                ("scope", "sources"),
                ("sources", "uploads"),
                ("kind", "full"),
            ],
        );
        assert_eq!(queued.status(), 303, "{}", queued.text().unwrap());
        let pending_page = viewer.page("/tasks");
        assert!(
            pending_page.contains("hx-trigger=\"every 3s\""),
            "a pending task keeps the list updating"
        );
        console.run_pending_jobs();
        let uploads_only = {
            let mut conn = console.app.conn().unwrap();
            Task::list_recent(&mut conn, 1).unwrap().remove(0)
        };
        assert_eq!(uploads_only.kind, "backup");

        // Everything, newest first, each linking to its page.
        let all = listed(&viewer, "/tasks");
        assert_eq!(
            all,
            [
                uploads_only.id.as_str(),
                restore.id.as_str(),
                verify.id.as_str(),
                backup.id.as_str()
            ],
            "newest first"
        );
        let page = viewer.page("/tasks");
        for id in &all {
            assert!(page.contains(&format!("href=\"/tasks/{id}\"")), "{page}");
        }
        assert!(
            !page.contains("hx-trigger"),
            "nothing unfinished, nothing polled"
        );
        let reason = restore.error.clone().unwrap();
        assert!(page.contains(&reason.replace('\'', "&#39;").replace('"', "&#34;")));

        assert_eq!(
            listed(&viewer, "/tasks?kind=restore"),
            [restore.id.as_str()]
        );
        assert_eq!(listed(&viewer, "/tasks?kind=verify"), [verify.id.as_str()]);
        assert_eq!(
            listed(&viewer, "/tasks?status=failed"),
            [restore.id.as_str()]
        );
        assert_eq!(
            listed(&viewer, "/tasks?status=success"),
            [
                uploads_only.id.as_str(),
                verify.id.as_str(),
                backup.id.as_str()
            ]
        );
        // `files`: the backup of both, its verify (through the backup), the restore of
        // `files` — not the backup of `uploads` alone.
        assert_eq!(
            listed(&viewer, "/tasks?source=files"),
            [restore.id.as_str(), verify.id.as_str(), backup.id.as_str()]
        );
        // `uploads`: not the restore, which named `files` only.
        assert_eq!(
            listed(&viewer, "/tasks?source=uploads"),
            [
                uploads_only.id.as_str(),
                verify.id.as_str(),
                backup.id.as_str()
            ]
        );
        assert_eq!(
            listed(&viewer, "/tasks?kind=backup&source=uploads&status=success"),
            [uploads_only.id.as_str(), backup.id.as_str()]
        );
        assert!(listed(&viewer, "/tasks?source=nothing_here").is_empty());
        assert!(listed(&viewer, "/tasks?kind=drill").is_empty());
    }
}

#[test]
fn a_bad_filter_is_a_400_that_names_it() {
    let console = TestConsole::start(&crate::helpers::Backend::Sqlite);
    let viewer = console.login_as(Role::Viewer);
    for (query, says) in [
        ("kind=nap", "kind: `nap` is not a valid TaskKind"),
        ("status=done", "status: `done` is not a valid Status"),
        ("source=a%20b", "is not a source name"),
        ("page=0", "page: `0` is not a page number"),
    ] {
        let response = viewer.get(&format!("/tasks?{query}"));
        assert_eq!(response.status(), 400, "{query}");
        let page = response.text().unwrap();
        let shown = page.replace("&#96;", "`");
        assert!(shown.contains(says), "{query}: {page}");
    }
}
