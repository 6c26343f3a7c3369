//! The confirmation page shows what a restore would change, and the numbers are the real
//! change: a folder is changed in known ways after its backup (a file deleted, two
//! modified — one to another size, one in place with the same size —, one only touched,
//! extra files added), the preview counts and lists them and offers the whole list as CSV,
//! changes nothing itself, and then the restore changes exactly what it said.

use std::collections::BTreeMap;
use std::path::Path;

use coffer::domain::{Role, TaskKind};

use super::harness::{location, TestConsole};
use super::tasks::make_backup;
use crate::helpers::{snapshot_tree, Backend};

/// Files only (folders are not counted), by path: (content digest, mtime).
fn files_of(root: &Path) -> BTreeMap<String, (String, String)> {
    snapshot_tree(root)
        .into_iter()
        .filter(|(_, what)| what.starts_with("file "))
        .map(|(path, what)| {
            let mut words = what.split(' ');
            let digest = words.nth(1).unwrap().to_string();
            let mtime = what.rsplit(' ').next().unwrap().to_string();
            (path, (digest, mtime))
        })
        .collect()
}

/// What really changed between two states of a folder: added, changed, removed, retimed.
fn real_change(
    before: &BTreeMap<String, (String, String)>,
    after: &BTreeMap<String, (String, String)>,
) -> [usize; 4] {
    let added = after.keys().filter(|p| !before.contains_key(*p)).count();
    let removed = before.keys().filter(|p| !after.contains_key(*p)).count();
    let (mut changed, mut retimed) = (0, 0);
    for (path, (digest, mtime)) in after {
        if let Some((was_digest, was_mtime)) = before.get(path) {
            if digest != was_digest {
                changed += 1;
            } else if mtime != was_mtime {
                retimed += 1;
            }
        }
    }
    [added, changed, removed, retimed]
}

/// The number the page shows for `class` in source `source`'s counts.
fn count_on(page: &str, source: &str, class: &str) -> usize {
    let at = page
        .find(&format!("id=\"counts-{source}\""))
        .unwrap_or_else(|| panic!("no counts for {source}: {page}"));
    let rest = &page[at..];
    let marker = format!("<strong class=\"{class}\">");
    let start = rest.find(&marker).unwrap() + marker.len();
    rest[start..start + rest[start..].find('<').unwrap()]
        .parse()
        .unwrap()
}

#[test]
fn the_preview_counts_the_change_the_restore_then_makes() {
    let console = TestConsole::start(&Backend::Sqlite);
    let files = console.env.path("files");
    std::fs::write(files.join("keep.txt"), "kept as it is").unwrap();
    std::fs::write(files.join("touched.txt"), "only its time changes").unwrap();
    std::fs::write(files.join("gone.txt"), "deleted after the backup").unwrap();
    let backup_id = make_backup(&console);
    let admin = console.login_as(Role::Admin);

    // The known change: 1 deleted (the restore adds it), 2 modified (it changes them back),
    // 1 touched (same content, time differs), 61 extra (it removes them: the folder is
    // replaced whole over its original place).
    std::fs::remove_file(files.join("gone.txt")).unwrap();
    std::fs::write(files.join("hello.txt"), "HELLO FROM COFFER\n").unwrap(); // same size
    std::fs::write(files.join("sub/data.bin"), vec![8u8; 70 * 1024]).unwrap();
    let touched = std::fs::File::options()
        .write(true)
        .open(files.join("touched.txt"))
        .unwrap();
    touched
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000))
        .unwrap();
    drop(touched);
    std::fs::write(files.join("extra.txt"), "written after the backup").unwrap();
    std::fs::create_dir_all(files.join("later")).unwrap();
    for i in 0..60 {
        std::fs::write(files.join(format!("later/{i:02}.txt")), format!("late {i}")).unwrap();
    }
    let before = files_of(&files);
    let tree_before = snapshot_tree(&files);

    // The form leads to the confirmation page (a GET: choosing changes nothing).
    let form = admin.page(&format!("/backups/{backup_id}/restore"));
    assert!(form.contains(&format!("action=\"/backups/{backup_id}/restore/preview\"")));
    let preview = format!("/backups/{backup_id}/restore/preview?sources=files");
    let page = admin.page(&preview);
    let shown = [
        count_on(&page, "files", "added"),
        count_on(&page, "files", "changed"),
        count_on(&page, "files", "removed"),
        count_on(&page, "files", "retimed"),
    ];
    assert_eq!(shown, [1, 2, 61, 1], "{page}");
    assert_eq!(count_on(&page, "files", "unchanged"), 1, "keep.txt");
    assert!(
        page.contains("<td class=\"mono\">files/gone.txt</td>"),
        "{page}"
    );
    assert!(page.contains("<tr class=\"change-retimed\"><td>same content, time differs</td><td class=\"mono\">files/touched.txt</td>"));
    // The first 50 are listed, the rest said and downloadable.
    assert_eq!(page.matches("<tr class=\"change-").count(), 50);
    assert!(page.contains("and 15 more"), "{page}");
    assert!(page.contains("id=\"restore-confirm\"") && page.contains("name=\"confirm\""));

    let csv = admin.get(&format!(
        "/backups/{backup_id}/restore/preview.csv?sources=files"
    ));
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "change,path,backup_size,target_size");
    assert_eq!(lines.len(), 1 + 65, "{csv}");
    assert!(lines.contains(&"\"added\",\"files/gone.txt\",24,"), "{csv}");
    assert!(lines.contains(&"\"changed\",\"files/sub/data.bin\",65536,71680"));
    assert!(lines.contains(&"\"removed\",\"files/later/59.txt\",,7"));
    assert_eq!(
        snapshot_tree(&files),
        tree_before,
        "a preview and its list change nothing"
    );

    // Without the box ticked: the confirmation page again, with its preview.
    let restore = format!("/backups/{backup_id}/restore");
    let unconfirmed = admin.post(&restore, &[("sources", "files")]);
    assert_eq!(unconfirmed.status(), 400);
    let body = unconfirmed.text().unwrap();
    assert!(body.contains("id=\"confirm-error\"") && body.contains("id=\"counts-files\""));

    let response = admin.post(&restore, &[("sources", "files"), ("confirm", "yes")]);
    assert_eq!(response.status(), 303, "{}", response.text().unwrap());
    assert!(location(&response).starts_with("/tasks/"));
    console.run_pending_jobs();
    let mut conn = console.app.conn().unwrap();
    let restored = coffer::db::Task::list_for_backup(&mut conn, &backup_id)
        .unwrap()
        .into_iter()
        .find(|t| t.kind().unwrap() == TaskKind::Restore)
        .unwrap();
    assert_eq!(restored.status, "success", "{restored:?}");
    assert_eq!(
        real_change(&before, &files_of(&files)),
        shown,
        "the preview's numbers are the restore's real change"
    );
    let again = admin.page(&preview);
    assert_eq!(count_on(&again, "files", "added"), 0);
    assert_eq!(count_on(&again, "files", "unchanged"), 5, "{again}");
}

#[test]
fn a_path_glob_and_another_folder_are_previewed_as_the_restore_runs_them() {
    let console = TestConsole::start(&Backend::Sqlite);
    let files = console.env.path("files");
    let backup_id = make_backup(&console);
    let admin = console.login_as(Role::Admin);
    std::fs::write(files.join("extra.txt"), "not in the backup").unwrap();
    std::fs::remove_file(files.join("sub/data.bin")).unwrap();

    // Only `sub/**`, file by file: the extra file elsewhere stays (nothing removed).
    let page = admin.page(&format!(
        "/backups/{backup_id}/restore/preview?sources=files&path_glob=files%2Fsub%2F**"
    ));
    assert_eq!(count_on(&page, "files", "added"), 1);
    assert_eq!(count_on(&page, "files", "removed"), 0, "{page}");
    assert!(page.contains("nothing is removed"));

    // Into another folder: everything is added there, nothing is overwritten.
    let elsewhere = console.env.path("elsewhere");
    let page = admin.page(&format!(
        "/backups/{backup_id}/restore/preview?sources=files&target_dir={}",
        elsewhere.display()
    ));
    assert_eq!(count_on(&page, "files", "added"), 2, "{page}");
    assert_eq!(count_on(&page, "files", "removed"), 0);
    assert!(page.contains("nothing that exists is overwritten"));
    assert!(!elsewhere.exists(), "a preview creates nothing");
}

#[test]
fn a_preview_of_bad_input_is_the_form_with_the_message_beside_its_field() {
    let console = TestConsole::start(&Backend::Sqlite);
    let backup_id = make_backup(&console);
    let admin = console.login_as(Role::Admin);
    let cases = [
        ("sources=files&path_glob=files%2F%5Boops", "path-glob-error"),
        (
            "sources=files&target_dir=relative%2Fdir",
            "target-dir-error",
        ),
        ("sources=ghost", "sources-error"),
        ("target_dir=%2Ftmp%2Fx", "sources-error"),
    ];
    for (query, error_id) in cases {
        let response = admin.get(&format!("/backups/{backup_id}/restore/preview?{query}"));
        assert_eq!(response.status(), 400, "{query}");
        let body = response.text().unwrap();
        assert!(
            body.contains(&format!("id=\"{error_id}\"")),
            "{query}: {body}"
        );
        assert!(body.contains("id=\"restore-form\""), "the form again");

        let csv = admin.get(&format!("/backups/{backup_id}/restore/preview.csv?{query}"));
        assert_eq!(csv.status(), 400, "{query}");
        assert!(!csv.text().unwrap().is_empty(), "the 400 says why");
    }
    let not_there = admin.get("/backups/nope/restore/preview?sources=files");
    assert_eq!(not_there.status(), 404);
}
