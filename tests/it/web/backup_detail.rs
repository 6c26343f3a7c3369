//! The backup detail page with real backups: its file figures agree with the backup's
//! progress and its manifest and say what they count; "Encrypted" is said only of an
//! archive that exists; Download and Restore lead, Delete is a small link to a confirmation
//! page that says what will go (archive objects in every storage target, pinned or not) and
//! the list says afterwards what was done.

use coffer::config::{StorageLocation, StorageTarget};
use coffer::db::{Backup, Manifest, Task};
use coffer::domain::Role;

use super::harness::{location, Browser, TestConsole};
use crate::helpers::Backend;

fn create(browser: &Browser, kind: &str) -> String {
    let response = browser.post("/backups", &[("scope", "all"), ("kind", kind)]);
    assert_eq!(response.status(), 303, "{}", response.text().unwrap());
    location(&response)
        .trim_start_matches("/backups/")
        .to_string()
}

/// The text inside the element with `id` (up to its first tag).
fn text_of(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id}: {page}"));
    let open_end = start + page[start..].find('>').unwrap() + 1;
    page[open_end..open_end + page[open_end..].find('<').unwrap()].to_string()
}

#[test]
fn the_files_figures_agree_and_say_what_they_count() {
    let console = TestConsole::start(&Backend::Sqlite);
    std::fs::create_dir_all(console.env.path("files/empty-folder")).unwrap();
    std::os::unix::fs::symlink("hello.txt", console.env.path("files/greeting")).unwrap();
    let operator = console.login_as(Role::Operator);
    let id = create(&operator, "full");
    console.run_pending_jobs();

    let mut conn = console.app.conn().unwrap();
    let record = Backup::find_by_id(&mut conn, &id).unwrap();
    let task = Task::list_for_backup(&mut conn, &id).unwrap().remove(0);
    let manifest = Manifest::load(&mut conn, &id).unwrap().unwrap();
    let manifest = coffer::engine::manifest::Manifest::from_json(&manifest).unwrap();
    drop(conn);
    let folders = manifest
        .files
        .iter()
        .filter(|f| f.kind == coffer::engine::manifest::EntryKind::Dir)
        .count();
    assert!(folders >= 3, "the source, sub and empty-folder");
    // The backup's progress counts regular files, as the record and the manifest do.
    assert_eq!(record.file_count, 2);
    assert_eq!((task.files_done, task.files_total), (2, 2), "{task:?}");

    let page = operator.page(&format!("/backups/{id}"));
    assert!(
        page.contains("<dt>Files</dt><dd>2 of 2</dd>"),
        "progress: {page}"
    );
    let record_files = page
        .split("id=\"record-files\">")
        .nth(1)
        .and_then(|rest| rest.split("</dd>").next())
        .unwrap();
    assert!(record_files.starts_with("2 files"), "{record_files}");
    assert!(
        record_files.contains(&format!(
            "(regular files; also {folders} folders and 1 link)"
        )),
        "{record_files}"
    );
    assert_eq!(
        text_of(&page, "files-total"),
        format!("2 files, {folders} folders, 1 link, 64.0 KiB in all. ")
    );
    let browser = operator.page(&format!("/backups/{id}/files"));
    assert_eq!(
        text_of(&browser, "folder-counts"),
        format!("2 files, {folders} folders, 1 link")
    );
}

#[test]
fn encrypted_is_said_of_an_archive_only() {
    let console = TestConsole::start(&Backend::Sqlite);
    let admin = console.login_as(Role::Admin);
    let pending = create(&admin, "full");
    let page = admin.page(&format!("/backups/{pending}"));
    assert_eq!(text_of(&page, "encrypted"), "—", "pending");

    let task = Task::list_for_backup(&mut console.app.conn().unwrap(), &pending)
        .unwrap()
        .remove(0);
    let cancelled = admin.post(&format!("/tasks/{}/cancel", task.id), &[("back", "backup")]);
    assert_eq!(cancelled.status(), 303);
    let page = admin.page(&format!("/backups/{pending}"));
    assert!(page.contains("data-status=\"cancelled\""), "{page}");
    assert_eq!(text_of(&page, "encrypted"), "—", "cancelled");

    let done = create(&admin, "full");
    console.run_pending_jobs();
    let record = Backup::find_by_id(&mut console.app.conn().unwrap(), &done).unwrap();
    let expected = match &record.key_id {
        Some(key) => format!("yes (key {key})"),
        None => "no".into(),
    };
    let page = admin.page(&format!("/backups/{done}"));
    assert_eq!(text_of(&page, "encrypted"), expected);
}

#[test]
fn download_and_restore_lead_and_delete_is_small_and_apart() {
    let console = TestConsole::start(&Backend::Sqlite);
    let admin = console.login_as(Role::Admin);
    let id = create(&admin, "full");
    console.run_pending_jobs();
    let page = admin.page(&format!("/backups/{id}"));
    let actions = page
        .split("id=\"backup-actions\">")
        .nth(1)
        .and_then(|rest| rest.split("<h2").next())
        .unwrap();
    let download = actions
        .find("class=\"button primary\" id=\"download-backup\"")
        .expect("Download is a main button");
    let restore = actions
        .find("class=\"button primary\" id=\"restore-backup\"")
        .expect("Restore is a main button");
    let delete = actions
        .find("class=\"button small danger-outline\" id=\"delete-backup\"")
        .expect("Delete is a small outlined link");
    assert!(download < restore && restore < delete, "Delete comes last");
    assert!(actions.contains(&format!("href=\"/backups/{id}/delete\"")));
    assert!(
        !page.contains(&format!("action=\"/backups/{id}/delete\"")),
        "no one-click delete form on the detail page"
    );
    // Tasks and Log come right after the sources' totals, not after every file.
    let files = page.find("id=\"files\"").unwrap();
    let tasks = page.find("<h2>Tasks</h2>").unwrap();
    assert!(tasks - files < 3000, "the Files section is short");
}

#[test]
fn delete_asks_first_says_what_goes_and_then_what_happened() {
    let console = TestConsole::start_with(&Backend::Sqlite, |settings| {
        let dir = settings.data_dir.parent().unwrap().join("offsite");
        settings.storage.replicas.push(StorageTarget {
            name: "offsite".into(),
            location: StorageLocation::Local(dir),
            protection: coffer::config::Protection::None,
        });
    });
    let admin = console.login_as(Role::Admin);
    let full = create(&admin, "full");
    console.run_pending_jobs();
    let inc = create(&admin, "incremental");
    console.run_pending_jobs();
    let key = Backup::find_by_id(&mut console.app.conn().unwrap(), &inc)
        .unwrap()
        .storage_key
        .unwrap();
    let primary_copy = console.env.path("backups").join(&key);
    let offsite_copy = console.env.path("offsite").join(&key);
    assert!(
        primary_copy.is_file() && offsite_copy.is_file(),
        "two copies"
    );

    // A parent of an incremental: the page says why not, with no button.
    let blocked = admin.page(&format!("/backups/{full}/delete"));
    assert!(blocked.contains("id=\"delete-blocked\""), "{blocked}");
    assert!(blocked.contains("depend on it") && blocked.contains(&format!("/backups/{inc}")));
    assert!(!blocked.contains("id=\"confirm-delete\""), "{blocked}");

    // The incremental, pinned: what goes, where, and that it is pinned.
    assert_eq!(
        admin
            .post(&format!("/backups/{inc}/pin"), &[("pinned", "yes")])
            .status(),
        303
    );
    let confirm = admin.page(&format!("/backups/{inc}/delete"));
    assert!(confirm.contains("id=\"confirm-delete\""), "{confirm}");
    assert!(confirm.contains(&format!("action=\"/backups/{inc}/delete\"")));
    assert!(confirm.contains("name=\"csrf_token\""));
    assert!(confirm.contains(&key), "names the archive object");
    assert!(
        confirm.contains("id=\"delete-pinned\""),
        "says it is pinned"
    );
    let targets = confirm
        .split("id=\"delete-targets\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap();
    assert!(
        targets.contains("<td>offsite</td><td>replica</td>")
            && targets.contains("<td>primary</td>"),
        "every storage target: {targets}"
    );
    assert!(primary_copy.is_file(), "asking deletes nothing");

    // Others may not even ask.
    let operator = console.login_as(Role::Operator);
    assert_eq!(
        operator.get(&format!("/backups/{inc}/delete")).status(),
        403
    );
    assert_eq!(admin.get("/backups/no-such/delete").status(), 404);

    let deleted = admin.post(&format!("/backups/{inc}/delete"), &[]);
    assert_eq!(deleted.status(), 303);
    let target = location(&deleted);
    assert_eq!(target, format!("/backups?deleted={inc}"));
    assert!(
        !primary_copy.exists() && !offsite_copy.exists(),
        "both copies gone"
    );
    let list = admin.page(&target);
    let note = text_of(&list, "deleted-note");
    assert!(
        note.starts_with("Done: deleted backup `")
            && note.contains("(success, pinned)")
            && note.contains(&format!("archive `{key}` and its manifest removed from `"))
            && note.contains("`offsite`"),
        "{note}"
    );
    // The note is what the log recorded: a link cannot make the list say something else.
    let other = admin.page(&format!("/backups?deleted={full}"));
    assert!(!other.contains("id=\"deleted-note\""), "{other}");
    assert!(!admin
        .page("/backups?deleted=%3Cscript%3E")
        .contains("deleted-note"));
}

#[test]
fn a_backup_still_running_offers_no_delete_even_on_its_confirmation_page() {
    let console = TestConsole::start(&Backend::Sqlite);
    let admin = console.login_as(Role::Admin);
    let id = create(&admin, "full");
    let confirm = admin.page(&format!("/backups/{id}/delete"));
    assert!(confirm.contains("id=\"delete-blocked\""), "{confirm}");
    assert!(!confirm.contains("id=\"confirm-delete\""), "{confirm}");
    let detail = admin.page(&format!("/backups/{id}"));
    assert!(detail.contains("id=\"cancel-backup\""));
    assert!(!detail.contains(&format!("/backups/{id}/delete")));
    assert!(!detail.contains(&format!("/backups/{id}/pin")));
}
