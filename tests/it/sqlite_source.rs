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
