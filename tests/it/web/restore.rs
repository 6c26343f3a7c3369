//! `GET|POST /backups/{id}/restore`: the confirmation page, refusals (roles, no confirmation,
//! bad glob or target) that queue nothing, and a queued restore into another directory.

use coffer::db::{LogEntry, LogFilter, Task};
use coffer::domain::{Role, TaskKind};

use super::harness::{location, TestConsole};
use super::tasks::make_backup;
use crate::helpers::BOTH;

fn restore_tasks(console: &TestConsole, backup_id: &str) -> usize {
    let mut conn = console.app.conn().unwrap();
    Task::list_for_backup(&mut conn, backup_id)
        .unwrap()
        .iter()
        .filter(|t| t.kind().unwrap() == TaskKind::Restore)
        .count()
}

#[test]
fn the_confirmation_page_says_what_is_overwritten_and_needs_an_admin() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let backup_id = make_backup(&console);
        let path = format!("/backups/{backup_id}/restore");
        let operator = console.login_as(Role::Operator);
        assert_eq!(operator.get(&path).status(), 403);
        let all = [("sources", "files"), ("confirm", "yes")];
        assert_eq!(operator.post(&path, &all).status(), 403);

        let admin = console.login_as(Role::Admin);
        let page = admin.page(&path);
        assert!(page.contains("id=\"restore-warning\"") && page.contains("overwrites"));
        let files_dir = console.env.path("files").display().to_string();
        assert!(page.contains(&files_dir), "the target path is shown");
        assert!(
            page.contains("<td class=\"num\">2</td>"),
            "the file count is shown: {page}"
        );
        // The box to confirm is on the next page, beside what the restore would change.
        assert!(!page.contains("name=\"confirm\""));
        let confirmation = admin.page(&format!("{path}/preview?sources=files"));
        assert!(confirmation.contains("name=\"confirm\"") && confirmation.contains(&files_dir));
        assert_eq!(admin.get("/backups/nope/restore").status(), 404);
        assert_eq!(restore_tasks(&console, &backup_id), 0);
    }
}

#[test]
fn refusals_are_400_beside_their_field_and_queue_nothing() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let backup_id = make_backup(&console);
        let path = format!("/backups/{backup_id}/restore");
        let admin = console.login_as(Role::Admin);
        let target = console.env.path("elsewhere").display().to_string();

        let unconfirmed = admin.post(&path, &[("sources", "files")]);
        assert_eq!(unconfirmed.status(), 400);
        let body = unconfirmed.text().unwrap();
        // The confirmation page again, with the preview of what would change.
        assert!(body.contains("id=\"confirm-error\"") && body.contains("id=\"restore-confirm\""));

        let cases: [(&[(&str, &str)], &str); 5] = [
            (
                &[
                    ("sources", "files"),
                    ("path_glob", "files/[oops"),
                    ("confirm", "yes"),
                ],
                "path-glob-error",
            ),
            (
                &[
                    ("sources", "files"),
                    ("target_dir", "relative/dir"),
                    ("confirm", "yes"),
                ],
                "target-dir-error",
            ),
            (
                &[
                    ("sources", "files"),
                    ("target_dir", "/tmp/../etc"),
                    ("confirm", "yes"),
                ],
                "target-dir-error",
            ),
            (
                &[
                    ("sources", "ghost"),
                    ("target_dir", &target),
                    ("confirm", "yes"),
                ],
                "sources-error",
            ),
            (
                &[("target_dir", &target), ("confirm", "yes")],
                "sources-error",
            ),
        ];
        for (fields, error_id) in cases {
            let response = admin.post(&path, fields);
            assert_eq!(response.status(), 400, "{fields:?}");
            let body = response.text().unwrap();
            assert!(
                body.contains(&format!("id=\"{error_id}\"")),
                "{fields:?}: {body}"
            );
        }
        std::fs::create_dir_all(console.env.path("elsewhere/files")).unwrap();
        std::fs::write(console.env.path("elsewhere/files/keep.txt"), "mine").unwrap();
        let taken = admin.post(
            &path,
            &[
                ("sources", "files"),
                ("target_dir", &target),
                ("confirm", "yes"),
            ],
        );
        assert_eq!(taken.status(), 400);
        assert!(taken.text().unwrap().contains("is not empty"));
        assert_eq!(
            admin
                .post_raw(&path, &[("sources", "files"), ("confirm", "yes")])
                .status(),
            403
        );
        assert_eq!(restore_tasks(&console, &backup_id), 0, "nothing queued");
    }
}

#[test]
fn a_queued_restore_into_another_directory_reproduces_the_files() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let backup_id = make_backup(&console);
        let admin = console.login_as(Role::Admin);
        let target = console.env.path("restored");
        let target_text = target.display().to_string();
        let response = admin.post(
            &format!("/backups/{backup_id}/restore"),
            &[
                ("sources", "files"),
                ("path_glob", ""),
                ("target_dir", &target_text),
                ("confirm", "yes"),
            ],
        );
        assert_eq!(response.status(), 303);
        assert!(location(&response).starts_with("/tasks/"));
        assert_eq!(restore_tasks(&console, &backup_id), 1);
        console.run_pending_jobs();

        assert_eq!(
            std::fs::read_to_string(target.join("files/hello.txt")).unwrap(),
            "hello from coffer\n"
        );
        assert_eq!(
            std::fs::read(target.join("files/sub/data.bin")).unwrap(),
            vec![7u8; 64 * 1024]
        );
        let task_page = admin.page(&location(&response));
        assert!(task_page.contains("data-status=\"success\""), "{task_page}");
        let mut conn = console.app.conn().unwrap();
        let entries = LogEntry::list(
            &mut conn,
            &LogFilter {
                operation: Some("restore".into()),
                backup_id: Some(backup_id.clone()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        assert!(entries
            .iter()
            .any(|e| e.message.contains("restore queued") && e.message.contains(&target_text)));
        assert!(
            entries
                .iter()
                .any(|e| e.message.contains("restored 2 files")),
            "{entries:?}"
        );
    }
}
