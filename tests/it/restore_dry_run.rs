//! `coffer restore … --dry-run`: what the restore would change, printed as text, as one
//! JSON document (`--json`) or every path as CSV (`--csv`) — and nothing changed: the
//! target is byte-identical afterwards and no task is recorded.

use coffer::domain::TaskKind;

use crate::helpers::{snapshot_tree, Backend, TestEnv};

#[test]
fn a_dry_run_prints_the_change_and_changes_nothing() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    std::fs::write(files.join("a.txt"), "first").unwrap();
    std::fs::write(files.join("b.txt"), "second").unwrap();
    std::fs::write(files.join("c.txt"), "third").unwrap();
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    std::fs::remove_file(files.join("a.txt")).unwrap();
    std::fs::write(files.join("b.txt"), "second, longer").unwrap();
    std::fs::write(files.join("new.txt"), "not in the backup").unwrap();
    let before = snapshot_tree(&files);

    let text = env.ok(&["restore", id, "--dry-run"]);
    assert!(
        text.contains(
            "files: 1 added, 1 changed, 1 removed, 0 same content but time differs, 1 unchanged"
        ),
        "{text}"
    );
    assert!(text.contains("added     files/a.txt"), "{text}");
    assert!(text.contains("removed   files/new.txt"), "{text}");
    assert!(text.contains("Nothing was changed"), "{text}");

    let out = env.run(&["restore", id, "--dry-run", "--json"]);
    assert!(out.status.success());
    // Exactly one JSON document on stdout.
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let source = &json["sources"][0];
    assert_eq!(source["source"], "files");
    assert_eq!(
        [
            &source["files"]["added"],
            &source["files"]["changed"],
            &source["files"]["removed"]
        ],
        [1, 1, 1],
        "{json:#}"
    );
    assert_eq!(source["files"]["removes_extra"], true);
    assert_eq!(source["files"]["listed"][0]["path"], "files/a.txt");
    assert_eq!(source["files"]["listed"][0]["change"], "added");
    assert_eq!(json["to_original"], true);

    let csv = env.ok(&["restore", id, "--dry-run", "--csv"]);
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "change,path,backup_size,target_size",
            "\"added\",\"files/a.txt\",5,",
            "\"changed\",\"files/b.txt\",6,14",
            "\"removed\",\"files/new.txt\",,17",
        ]
    );

    // Another folder: every file added there, nothing overwritten; the folder not made.
    let elsewhere = env.path("elsewhere");
    let json = env.json(&[
        "restore",
        id,
        "--dry-run",
        "--target",
        elsewhere.to_str().unwrap(),
    ]);
    assert_eq!(json["sources"][0]["files"]["added"], 3, "{json:#}");
    assert_eq!(json["to_original"], false);
    assert!(!elsewhere.exists());

    assert_eq!(
        snapshot_tree(&files),
        before,
        "the target is byte-identical"
    );
    let app = env.app();
    let mut conn = app.conn().unwrap();
    let tasks = coffer::db::Task::list_for_backup(&mut conn, id).unwrap();
    assert!(
        tasks.iter().all(|t| t.kind().unwrap() != TaskKind::Restore),
        "a dry run records no restore"
    );
    // Without --dry-run the confirmation is still needed.
    assert!(env.fails(&["restore", id]).contains("confirm"));
}
