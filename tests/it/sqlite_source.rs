//! A SQLite database backed up while another process keeps writing is consistent.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::*;

fn sqlite3(db: &std::path::Path, sql: &str) -> String {
    let out = tool("sqlite3", &[db.to_str().unwrap(), sql]);
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn snapshot_under_concurrent_writes_is_consistent_and_complete() {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "[[sources]]\nname = \"appdb\"\nservice = \"app\"\nkind = \"sqlite\"\npath = \"{root}/app.db\"\n",
    );
    let db = env.path("app.db");
    sqlite3(
        &db,
        "PRAGMA journal_mode=WAL; CREATE TABLE events(id INTEGER PRIMARY KEY, body TEXT NOT NULL);",
    );
    // A real writer process: inserts rows in small transactions until killed.
    let script = "PRAGMA busy_timeout=10000;\n".to_string()
        + &(0..4000)
            .map(|i| format!("BEGIN; INSERT INTO events(body) VALUES (hex(randomblob(200)) || '{i}'); COMMIT;\n"))
            .collect::<String>();
    let mut writer = Command::new("sqlite3")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = writer.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        for line in script.lines() {
            if stdin.write_all(format!("{line}\n").as_bytes()).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let committed_before: i64 = sqlite3(&db, "SELECT count(*) FROM events").parse().unwrap();
    assert!(committed_before > 0, "the writer is running");
    let backup = env.backup(&[]);
    let _ = writer.kill();
    let _ = feeder.join();
    let _ = writer.wait();

    env.ok(&[
        "restore",
        backup["id"].as_str().unwrap(),
        "--target",
        env.path("out").to_str().unwrap(),
        "--yes",
    ]);
    let restored = env.path("out/appdb/app.db");
    assert_eq!(sqlite3(&restored, "PRAGMA integrity_check"), "ok");
    let count: i64 = sqlite3(&restored, "SELECT count(*) FROM events")
        .parse()
        .unwrap();
    let max: i64 = sqlite3(&restored, "SELECT max(id) FROM events")
        .parse()
        .unwrap();
    assert!(
        count >= committed_before,
        "every row committed before the backup is there ({count} < {committed_before})"
    );
    assert_eq!(count, max, "no gaps: a transaction-consistent snapshot");
}

#[test]
fn sqlite_restore_over_the_original_replaces_it_atomically() {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "[[sources]]\nname = \"appdb\"\nservice = \"app\"\nkind = \"sqlite\"\npath = \"{root}/app.db\"\n",
    );
    let db = env.path("app.db");
    sqlite3(
        &db,
        "PRAGMA journal_mode=WAL; CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('before');",
    );
    let backup = env.backup(&[]);
    sqlite3(
        &db,
        "UPDATE t SET v = 'after'; INSERT INTO t VALUES ('extra');",
    );
    env.ok(&["restore", backup["id"].as_str().unwrap(), "--yes"]);
    assert_eq!(sqlite3(&db, "SELECT group_concat(v) FROM t"), "before");
    assert_eq!(sqlite3(&db, "PRAGMA integrity_check"), "ok");
}

/// A SQLite snapshot is Coffer's own copy, made through SQLite's API: nothing changes it
/// while it is archived, so it is never "changed while being read" (every SQLite backup
/// once said so, because the copy's entry carried the live file's time). A file of a live
/// folder that really changes while read still gets that warning, in the same archive.
#[test]
fn a_sqlite_snapshot_is_not_a_live_read_but_a_changed_folder_file_still_warns() {
    use coffer::engine::archive_writer::{write_archive, ArchiveIdentity, ArchiveOptions};
    use coffer::engine::progress::Silent;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    sqlite3(
        &db,
        "PRAGMA journal_mode=WAL; CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('kept');",
    );
    // The live file was last written an hour ago: a snapshot made now is younger.
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&db)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let folder = dir.path().join("src");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("grows"), text_bytes(100_000, 1)).unwrap();
    let sqlite = coffer::config::SourceConfig::from_toml(&format!(
        "name = \"appdb\"\nkind = \"sqlite\"\npath = \"{}\"",
        db.display()
    ))
    .unwrap();
    let mut warnings = Vec::new();
    let snapshots = vec![
        coffer::sources::snapshot(&sqlite, dir.path(), &Silent, &mut warnings).unwrap(),
        coffer::sources::snapshot(
            &directory_source(folder.clone()),
            dir.path(),
            &Silent,
            &mut warnings,
        )
        .unwrap(),
    ];
    // The folder's file changes between listing and reading, as on a live server.
    std::fs::write(folder.join("grows"), text_bytes(300_000, 2)).unwrap();
    let identity = ArchiveIdentity {
        backup_id: "test",
        kind: coffer::domain::BackupKind::Full,
        scope: "all",
        created_at: chrono::Utc::now(),
    };
    let options = ArchiveOptions {
        level: 1,
        threads: 1,
        key: None,
    };
    let (_, summary) =
        write_archive(Vec::new(), identity, snapshots, None, &options, &Silent).unwrap();
    let text = summary.warnings.join("\n");
    assert!(
        !text.contains("appdb"),
        "the snapshot is not a live read: {text}"
    );
    assert!(
        text.contains("src/grows: changed while being read"),
        "a real change still warns: {text}"
    );
    let manifest = coffer::engine::manifest::Manifest::from_json(&summary.manifest_json).unwrap();
    let entry = manifest
        .files
        .iter()
        .find(|f| f.path.starts_with("appdb/"))
        .expect("the database is in the archive");
    let live = std::fs::metadata(&db).unwrap();
    assert_eq!(
        entry.mtime_ns,
        coffer::engine::planned::mtime_ns(
            std::os::unix::fs::MetadataExt::mtime(&live),
            std::os::unix::fs::MetadataExt::mtime_nsec(&live)
        ),
        "the archived file keeps the live file's time"
    );
}

/// The same through the command line: a backup of a quiet SQLite database has no warning.
#[test]
fn a_backup_of_a_quiet_sqlite_database_has_no_warning() {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "[[sources]]\nname = \"appdb\"\nservice = \"app\"\nkind = \"sqlite\"\npath = \"{root}/app.db\"\n",
    );
    let db = env.path("app.db");
    sqlite3(
        &db,
        "CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('quiet');",
    );
    std::thread::sleep(Duration::from_millis(20));
    let backup = env.backup(&[]);
    let warnings = backup["warnings"].to_string();
    assert!(
        !warnings.contains("changed while being read"),
        "nothing changed: {warnings}"
    );
}
