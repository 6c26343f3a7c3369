//! A tree with everything awkward in it survives backup and restore unchanged.

use std::fs;
use std::os::unix::fs::symlink;

use crate::helpers::*;

/// Builds the awkward tree under `root`.
pub fn build_tree(root: &std::path::Path) {
    fs::create_dir_all(root.join("many")).unwrap();
    for i in 0..300 {
        fs::write(
            root.join(format!("many/small-{i:03}.txt")),
            text_bytes(i * 7 % 900 + 1, i as u64),
        )
        .unwrap();
    }
    fs::write(
        root.join("big-random.bin"),
        random_bytes(6 * 1024 * 1024 + 13, 1),
    )
    .unwrap();
    fs::write(root.join("big-text.log"), text_bytes(5 * 1024 * 1024, 2)).unwrap();
    fs::write(root.join("photo.jpg"), random_bytes(300 * 1024, 3)).unwrap();
    fs::write(root.join("empty-file"), b"").unwrap();
    fs::create_dir_all(root.join("empty-dir")).unwrap();
    fs::create_dir_all(root.join("nested/deeper/deepest")).unwrap();
    fs::write(root.join("nested/deeper/deepest/leaf.txt"), b"leaf").unwrap();
    fs::write(
        root.join("ünïcödé — 名前 🎉.txt"),
        "unicode name".as_bytes(),
    )
    .unwrap();
    let long_name = format!("{}/{}.txt", "d".repeat(120), "n".repeat(150));
    fs::create_dir_all(root.join(&long_name).parent().unwrap()).unwrap();
    fs::write(root.join(&long_name), b"long path").unwrap();
    symlink("nested/deeper/deepest/leaf.txt", root.join("link-to-leaf")).unwrap();
    symlink("../../big-text.log", root.join("nested/deeper/link-up")).unwrap();
    symlink("does-not-exist", root.join("dangling")).unwrap();
    fs::write(root.join("secret.key"), b"private").unwrap();
    set_mode(&root.join("secret.key"), 0o600);
    fs::write(root.join("script.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    set_mode(&root.join("script.sh"), 0o4755);
    fs::write(root.join("locked"), b"no permissions at all").unwrap();
    set_mode(&root.join("locked"), 0o000);
    fs::create_dir_all(root.join("readonly-dir")).unwrap();
    fs::write(root.join("readonly-dir/inside.txt"), b"inside").unwrap();
    set_mode(&root.join("readonly-dir"), 0o555);
    fs::create_dir_all(root.join("sticky")).unwrap();
    set_mode(&root.join("sticky"), 0o1777);
    let old = filetime::FileTime::from_unix_time(946_684_800, 123_456_789); // 2000-01-01
    filetime::set_file_mtime(root.join("many/small-001.txt"), old).unwrap();
}

#[test]
fn awkward_tree_round_trips_on_both_backends() {
    for backend in BOTH {
        let env = TestEnv::with_directory(&backend);
        build_tree(&env.path("files"));
        let before = snapshot_tree(&env.path("files"));

        let backup = env.backup(&[]);
        assert_eq!(backup["kind"], "full");
        assert!(backup["files"].as_i64().unwrap() > 300);
        assert_eq!(backup["sha256"].as_str().unwrap().len(), 64);
        let archive = env.archive_path(&backup);
        let stored = fs::read(&archive).unwrap();
        assert_eq!(stored.len() as i64, backup["size"].as_i64().unwrap());
        assert_eq!(sha256_hex(&stored), backup["sha256"].as_str().unwrap());
        assert!(
            !String::from_utf8_lossy(&stored).contains("unicode name"),
            "archive is not encrypted"
        );

        let id = backup["id"].as_str().unwrap();
        env.ok(&["verify", id, "--deep"]);
        env.ok(&[
            "restore",
            id,
            "--target",
            env.path("restored").to_str().unwrap(),
            "--yes",
        ]);
        let after = snapshot_tree(&env.path("restored/files"));
        assert_eq!(before, after);

        let listed = env.json(&["list"]);
        assert_eq!(listed.as_array().unwrap().len(), 1);
        let shown = env.json(&["show", id]);
        assert_eq!(shown["storage_key"], backup["storage_key"]);
    }
}

#[test]
fn restore_to_the_original_place_takes_a_safety_backup_first() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    fs::write(files.join("a.txt"), b"version 1").unwrap();
    let backup = env.backup(&[]);
    fs::write(files.join("a.txt"), b"version 2 - to be replaced").unwrap();
    fs::write(files.join("new.txt"), b"created after the backup").unwrap();

    let refused = env.fails(&["restore", backup["id"].as_str().unwrap()]);
    assert!(refused.contains("--yes"), "{refused}");
    assert_eq!(
        fs::read(files.join("a.txt")).unwrap(),
        b"version 2 - to be replaced"
    );

    let out = env.json(&["restore", backup["id"].as_str().unwrap(), "--yes"]);
    assert_eq!(fs::read(files.join("a.txt")).unwrap(), b"version 1");
    assert!(
        !files.join("new.txt").exists(),
        "the restored tree is exactly the backup's"
    );
    let safety = out["safety_backup"].as_str().expect("a safety backup id");
    env.ok(&[
        "restore",
        safety,
        "--target",
        env.path("safety").to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(
        fs::read(env.path("safety/files/new.txt")).unwrap(),
        b"created after the backup"
    );
    // No staging or previous-state folders are left beside the target.
    let leftovers: Vec<_> = fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".coffer-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn partial_restore_by_path_glob_touches_only_matching_files() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    fs::create_dir_all(files.join("docs")).unwrap();
    fs::write(files.join("docs/a.md"), b"doc a v1").unwrap();
    fs::write(files.join("docs/b.md"), b"doc b v1").unwrap();
    fs::write(files.join("keep.txt"), b"keep v1").unwrap();
    let backup = env.backup(&[]);
    fs::write(files.join("docs/a.md"), b"doc a v2").unwrap();
    fs::write(files.join("keep.txt"), b"keep v2").unwrap();

    env.ok(&[
        "restore",
        backup["id"].as_str().unwrap(),
        "--path",
        "files/docs/*.md",
        "--yes",
    ]);
    assert_eq!(fs::read(files.join("docs/a.md")).unwrap(), b"doc a v1");
    assert_eq!(
        fs::read(files.join("keep.txt")).unwrap(),
        b"keep v2",
        "outside the glob: untouched"
    );
}

#[test]
fn scopes_select_sources_by_service_and_name() {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "[[sources]]\nname = \"web\"\nservice = \"main_service\"\nkind = \"directory\"\npath = \"{root}/web\"\n\
         [[sources]]\nname = \"conf\"\nservice = \"admin_service\"\nkind = \"file\"\npath = \"{root}/app.conf\"\n",
    );
    fs::create_dir_all(env.path("web")).unwrap();
    fs::write(env.path("web/index.html"), b"<h1>hi</h1>").unwrap();
    fs::write(env.path("app.conf"), b"key = value").unwrap();

    let admin = env.backup(&["--scope", "admin_service"]);
    assert_eq!(admin["sources"], serde_json::json!(["conf"]));
    let chosen = env.backup(&["--sources", "web"]);
    assert_eq!(chosen["sources"], serde_json::json!(["web"]));
    let unknown = env.fails(&["backup", "--sources", "nope"]);
    assert!(unknown.contains("no source named `nope`"), "{unknown}");

    let all = env.backup(&[]);
    env.ok(&[
        "restore",
        all["id"].as_str().unwrap(),
        "--sources",
        "conf",
        "--target",
        env.path("out").to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(
        fs::read(env.path("out/conf/app.conf")).unwrap(),
        b"key = value"
    );
    assert!(!env.path("out/web").exists());
}
