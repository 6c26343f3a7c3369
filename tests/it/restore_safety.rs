//! What a restore must never do: lose data it could not bring back, write through a
//! symlinked folder of the live tree, or reuse a stale database snapshot.

use std::fs;
use std::os::unix::fs::symlink;

use crate::helpers::*;

#[test]
fn whole_restore_keeps_what_the_filters_leave_out() {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "[[sources]]\nname = \"files\"\nkind = \"directory\"\npath = \"{root}/files\"\nexclude = [\"cache/**\", \"*.tmp\"]\n",
    );
    let files = env.path("files");
    fs::create_dir_all(files.join("cache")).unwrap();
    fs::write(files.join("kept.txt"), b"v1").unwrap();
    fs::write(files.join("cache/video.bin"), b"expensive to rebuild").unwrap();
    fs::write(files.join("scratch.tmp"), b"excluded").unwrap();
    let backup = env.backup(&[]);
    fs::write(files.join("kept.txt"), b"v2").unwrap();
    fs::write(files.join("after.txt"), b"made after the backup").unwrap();

    env.ok(&["restore", backup["id"].as_str().unwrap(), "--yes"]);
    assert_eq!(fs::read(files.join("kept.txt")).unwrap(), b"v1");
    assert!(
        !files.join("after.txt").exists(),
        "backed-up state, exactly"
    );
    assert_eq!(
        fs::read(files.join("cache/video.bin")).unwrap(),
        b"expensive to rebuild"
    );
    assert_eq!(fs::read(files.join("scratch.tmp")).unwrap(), b"excluded");
}

/// A backup taken before `cache/**` was excluded holds `cache/` entries of its own. Restoring
/// it carries the live cache over beside them; a live entry the backup also holds is not
/// overwritten by either side: the backup's comes back, the live one stays in the kept
/// previous folder, and the restore says where.
#[test]
fn an_older_backup_holding_what_is_now_excluded_loses_no_live_file() {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "[[sources]]\nname = \"files\"\nkind = \"directory\"\npath = \"{root}/files\"\n",
    );
    let files = env.path("files");
    fs::create_dir_all(files.join("cache")).unwrap();
    fs::write(files.join("kept.txt"), b"v1").unwrap();
    fs::write(files.join("cache/a.tmp"), b"a in the backup").unwrap();
    let backup = env.backup(&[]);
    let config = fs::read_to_string(&env.config).unwrap();
    let path_line = config
        .lines()
        .find(|l| l.starts_with("path = ") && l.ends_with("/files\""))
        .unwrap();
    let excluding = config.replace(path_line, &format!("{path_line}\nexclude = [\"cache/**\"]"));
    fs::write(&env.config, excluding).unwrap();
    fs::write(files.join("kept.txt"), b"v2").unwrap();
    fs::write(files.join("cache/a.tmp"), b"a live").unwrap();
    fs::write(files.join("cache/x.tmp"), b"x live").unwrap();
    fs::write(files.join("cache/z.tmp"), b"z live").unwrap();

    let out = env.json(&["restore", backup["id"].as_str().unwrap(), "--yes"]);
    assert_eq!(fs::read(files.join("kept.txt")).unwrap(), b"v1");
    assert_eq!(
        fs::read(files.join("cache/a.tmp")).unwrap(),
        b"a in the backup"
    );
    // Every live entry that does not clash is carried over, also after the clash.
    assert_eq!(fs::read(files.join("cache/x.tmp")).unwrap(), b"x live");
    assert_eq!(fs::read(files.join("cache/z.tmp")).unwrap(), b"z live");
    let warnings = out["warnings"].to_string();
    assert!(
        warnings.contains("cache/a.tmp") && warnings.contains("kept at"),
        "{out}"
    );
    let kept: Vec<_> = walkdir::WalkDir::new(env.path(""))
        .into_iter()
        .flatten()
        .filter(|e| e.file_name() == "a.tmp" && fs::read(e.path()).unwrap() == b"a live")
        .collect();
    assert_eq!(kept.len(), 1, "the live a.tmp is kept once, aside");
}

#[test]
fn path_restore_refuses_to_write_through_a_symlinked_folder() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    fs::create_dir_all(files.join("docs")).unwrap();
    fs::write(files.join("docs/report.txt"), b"report").unwrap();
    let backup = env.backup(&[]);
    let outside = env.path("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("report.txt"), b"not coffer's to touch").unwrap();
    fs::remove_dir_all(files.join("docs")).unwrap();
    symlink(&outside, files.join("docs")).unwrap();

    let err = env.fails(&[
        "restore",
        backup["id"].as_str().unwrap(),
        "--path",
        "files/docs/*",
        "--yes",
    ]);
    assert!(err.contains("symlink in the live tree"), "{err}");
    assert_eq!(
        fs::read(outside.join("report.txt")).unwrap(),
        b"not coffer's to touch"
    );
    assert!(
        fs::symlink_metadata(files.join("docs"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "rolled back"
    );
}

#[test]
fn an_incremental_always_takes_a_fresh_sqlite_snapshot() {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "[[sources]]\nname = \"appdb\"\nkind = \"sqlite\"\npath = \"{root}/app.db\"\n",
    );
    let db = env.path("app.db");
    let sql = |q: &str| {
        let out = tool("sqlite3", &[db.to_str().unwrap(), q]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    sql("CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('aaaa');");
    env.backup(&[]);
    let meta = fs::metadata(&db).unwrap();
    let mtime = filetime::FileTime::from_last_modification_time(&meta);
    sql("UPDATE t SET v = 'bbbb';");
    // Same size and mtime, as WAL mode leaves the main file until a checkpoint.
    assert_eq!(fs::metadata(&db).unwrap().len(), meta.len());
    filetime::set_file_mtime(&db, mtime).unwrap();
    let inc = env.backup(&["--kind", "incremental"]);
    assert_eq!(inc["kind"], "incremental");
    env.ok(&[
        "restore",
        inc["id"].as_str().unwrap(),
        "--target",
        env.path("out").to_str().unwrap(),
        "--yes",
    ]);
    let restored = tool(
        "sqlite3",
        &[
            env.path("out/appdb/app.db").to_str().unwrap(),
            "SELECT v FROM t",
        ],
    );
    assert_eq!(String::from_utf8(restored.stdout).unwrap().trim(), "bbbb");
}
