//! After a restore: its task page says what happened (per source where it went, files, data;
//! the safety backup with a link) in words, not stored JSON; the safety backup is labelled
//! as one in the list (badge, filter) and on its page, apart from automatic backups; and the
//! backup's "Restores" count counts restores that succeeded.

use coffer::db::{Backup, BackupFilter, Task};
use coffer::domain::{Role, TaskKind};

use super::harness::{location, Browser, TestConsole};
use super::tasks::make_backup;
use crate::helpers::BOTH;

fn restore(admin: &Browser, backup_id: &str, fields: &[(&str, &str)]) -> String {
    let mut all = fields.to_vec();
    all.push(("confirm", "yes"));
    // The switches of the form's earlier version, which the form now ignores: so the same
    // test runs against the earlier code and shows what it did.
    let elsewhere = fields.iter().any(|(name, _)| *name == "target_dir");
    all.push(("scope", "sources"));
    all.push(("target", if elsewhere { "directory" } else { "original" }));
    let response = admin.post(&format!("/backups/{backup_id}/restore"), &all);
    assert_eq!(response.status(), 303, "{}", response.text().unwrap());
    location(&response)
}

#[test]
fn the_task_page_says_where_each_source_went_and_how_much() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let backup_id = make_backup(&console);
        let admin = console.login_as(Role::Admin);
        let target = console.env.path("restored");
        let task_path = restore(
            &admin,
            &backup_id,
            &[
                ("sources", "files"),
                ("target_dir", target.to_str().unwrap()),
            ],
        );
        console.run_pending_jobs();
        let page = admin.page(&task_path);
        let summary = &page[page
            .find("id=\"restore-summary\"")
            .unwrap_or_else(|| panic!("no restore summary: {page}"))..];
        let row = &summary[summary.find("data-source=\"files\"").unwrap()..];
        let row = &row[..row.find("</li>").unwrap()];
        assert!(
            row.contains(&target.join("files").display().to_string()),
            "{row}"
        );
        assert!(row.contains("another place"), "{row}");
        assert!(row.contains(">2 files<"), "two files: {row}");
        assert!(row.contains("64.0 KiB"), "the bytes written: {row}");
        assert!(
            summary.contains("No safety backup: restoring to another place overwrites nothing"),
            "{summary}"
        );
        // The request in words, not the stored parameters.
        assert!(
            !page.contains("{&quot;") && !page.contains("keys&quot;"),
            "{page}"
        );
        assert!(page.contains("Restore to"), "{page}");
    }
}

#[test]
fn a_safety_backup_is_labelled_filtered_and_linked_from_its_restore() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let backup_id = make_backup(&console);
        let admin = console.login_as(Role::Admin);
        std::fs::write(console.env.path("files/hello.txt"), "changed since\n").unwrap();
        let task_path = restore(&admin, &backup_id, &[("sources", "files")]);
        console.run_pending_jobs();
        assert_eq!(
            std::fs::read_to_string(console.env.path("files/hello.txt")).unwrap(),
            "hello from coffer\n"
        );
        let mut conn = console.app.conn().unwrap();
        let safety: Vec<Backup> = Backup::list(&mut conn, &BackupFilter::default())
            .unwrap()
            .into_iter()
            .filter(|b| b.id != backup_id)
            .collect();
        drop(conn);
        let [safety] = safety.as_slice() else {
            panic!("one safety backup expected: {safety:?}")
        };
        assert!(safety.safety, "recorded as a safety backup");
        assert!(
            safety.name.starts_with("safety before restoring"),
            "{}",
            safety.name
        );

        // The restore's page links it.
        let page = admin.page(&task_path);
        let line = &page[page.find("id=\"safety-backup\"").expect("safety line")..];
        assert!(
            line.contains(&format!("href=\"/backups/{}\"", safety.id)),
            "{line}"
        );
        assert!(page.contains("its original place"), "{page}");

        // The list: a badge, and a filter of its own; "automatic" no longer shows it.
        let list = admin.page("/backups");
        let row = &list[list.find(&format!("/backups/{}\"", safety.id)).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains("badge-safety"), "{row}");
        let only_safety = admin.page("/backups?trigger=safety");
        assert!(
            only_safety.contains(&safety.id)
                && !only_safety.contains(&format!("/backups/{backup_id}\""))
        );
        let automatic = admin.page("/backups?trigger=automatic");
        assert!(!automatic.contains(&safety.id), "{automatic}");
        assert!(list.contains("value=\"safety\""), "the filter is offered");

        // Its own page: the badge and the way back to the restore.
        let own = admin.page(&format!("/backups/{}", safety.id));
        assert!(own.contains("id=\"safety-badge\""), "{own}");
        let note = &own[own.find("id=\"safety-note\"").expect("safety note")..];
        assert!(note.contains(&format!("href=\"{task_path}\"")), "{note}");
        assert!(
            note.contains(&format!("href=\"/backups/{backup_id}\"")),
            "{note}"
        );
        assert!(!own.contains("<dd>schedule</dd>"), "not shown as scheduled");
    }
}

#[test]
fn restores_count_only_the_ones_that_succeeded() {
    let console = TestConsole::start(&crate::helpers::Backend::Sqlite);
    let backup_id = make_backup(&console);
    let admin = console.login_as(Role::Admin);
    let target = console.env.path("restored");
    // Queued while the target is empty; filled before it runs: the run refuses it.
    restore(
        &admin,
        &backup_id,
        &[
            ("sources", "files"),
            ("target_dir", target.to_str().unwrap()),
        ],
    );
    std::fs::create_dir_all(target.join("files")).unwrap();
    std::fs::write(target.join("files/mine.txt"), "mine").unwrap();
    console.run_pending_jobs();
    let mut conn = console.app.conn().unwrap();
    let tasks = Task::list_for_backup(&mut conn, &backup_id).unwrap();
    let failed = tasks
        .iter()
        .filter(|t| t.kind().unwrap() == TaskKind::Restore)
        .all(|t| t.status == "failed");
    assert!(failed, "{tasks:?}");
    assert_eq!(
        Backup::find_by_id(&mut conn, &backup_id)
            .unwrap()
            .restore_count,
        0
    );
    drop(conn);
    let page = admin.page(&format!("/backups/{backup_id}"));
    assert!(page.contains("<dt>Restores</dt><dd>0"), "{page}");

    let other = console.env.path("other");
    restore(
        &admin,
        &backup_id,
        &[
            ("sources", "files"),
            ("target_dir", other.to_str().unwrap()),
        ],
    );
    console.run_pending_jobs();
    let page = admin.page(&format!("/backups/{backup_id}"));
    assert!(page.contains("<dt>Restores</dt><dd>1"), "{page}");
}
