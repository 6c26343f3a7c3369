//! The tamper-evident audit log, attacked as issue 18 says: with `sqlite3` on the metadata
//! database (edit, delete, insert, reorder, truncate, rewrite from the start), each caught by
//! `coffer audit verify`; the signed head in storage; the monitor's alert; the heads
//! published after a restore.

use std::fs;
use std::process::Command;

use coffer::db::{AuditHead, LogEntry, MonitorAlert, NewLogEntry};
use coffer::domain::audit_chain::entry_hash;
use coffer::domain::LogLevel;
use serde_json::Value;

use crate::helpers::{Backend, TestEnv};

/// A SQLite install whose audit log holds a sign-in, a restore and more, all written through
/// the audit API, with its head signed and published to storage.
fn signed_log() -> TestEnv {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let app = env.app();
    for (operation, user, message) in [
        ("login", "alice", "alice signed in"),
        (
            "restore",
            "alice",
            "restore of backup `nightly` over the original",
        ),
        ("settings", "alice", "schedule `nightly` changed"),
        ("delete", "bob", "backup `old` deleted"),
        ("login", "bob", "bob signed in"),
    ] {
        app.audit(NewLogEntry::new(LogLevel::Info, operation, message).by(user));
    }
    drop(app);
    env.ok(&["audit", "publish"]);
    env
}

/// Runs SQL on the metadata database with the sqlite3 shell, as an attacker would.
fn sqlite3(env: &TestEnv, sql: &str) {
    let out = Command::new("sqlite3")
        .arg(env.db.url())
        .arg(sql)
        .output()
        .expect("sqlite3 runs");
    assert!(
        out.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `coffer audit verify --json`: its report, checking that the exit status agrees with it.
fn verify(env: &TestEnv) -> Value {
    let out = env.run(&["audit", "verify", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.success(), report["ok"] == true, "{report}");
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("audit chain is broken"), "{stderr}");
    }
    report
}

fn first_break(report: &Value) -> (&str, i64) {
    let brk = &report["first_break"];
    assert!(brk.is_object(), "a break is reported: {report}");
    (
        brk["kind"].as_str().unwrap(),
        brk["seq"].as_i64().unwrap_or(-1),
    )
}

fn heads(env: &TestEnv) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(env.path("backups/audit"))
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_clean_chain_verifies_and_its_head_is_in_storage() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    env.app()
        .audit(NewLogEntry::new(LogLevel::Info, "login", "alice signed in").by("alice"));
    let before = verify(&env);
    assert_eq!(before["ok"], true, "{before}");
    assert!(
        before["storage"]["message"]
            .as_str()
            .unwrap()
            .contains("no signed head was published"),
        "{before}"
    );
    env.ok(&["audit", "publish"]);
    let report = verify(&env);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries_checked"], 1);
    assert_eq!(report["storage"]["newest"]["seq"], 1, "{report}");
    assert_eq!(heads(&env).len(), 1, "one head object per publication");
    let text = env.ok(&["audit", "verify"]);
    assert!(text.contains("audit chain intact"), "{text}");
}

#[test]
fn renaming_the_user_of_a_restore_to_mallory_is_caught() {
    let env = signed_log();
    sqlite3(
        &env,
        "UPDATE backup_logs SET username = 'mallory' WHERE operation = 'restore'",
    );
    let report = verify(&env);
    assert_eq!(first_break(&report), ("edited", 2), "{report}");
    assert!(report["first_break"]["message"]
        .as_str()
        .unwrap()
        .contains("edited"));
}

#[test]
fn deleting_the_sign_in_row_is_caught() {
    let env = signed_log();
    sqlite3(
        &env,
        "DELETE FROM backup_logs WHERE operation = 'login' AND username = 'alice'",
    );
    let report = verify(&env);
    assert_eq!(first_break(&report), ("missing", 2), "{report}");
}

#[test]
fn inserted_rows_are_caught_chained_or_not() {
    let env = signed_log();
    sqlite3(
        &env,
        "INSERT INTO backup_logs (created_at, level, operation, username, message) \
         VALUES ('2026-12-01 09:00:00', 'info', 'login', 'mallory', 'mallory signed in')",
    );
    let report = verify(&env);
    assert_eq!(report["first_break"]["kind"], "unchained", "{report}");

    // A row given the next position and the head's hash as its link, with a made-up hash.
    let env = signed_log();
    sqlite3(
        &env,
        "INSERT INTO backup_logs (created_at, level, operation, username, message, seq, prev_hash, hash) \
         SELECT '2026-12-01 09:00:00', 'info', 'login', 'mallory', 'mallory signed in', seq + 1, hash, hash \
         FROM audit_chain_head",
    );
    let report = verify(&env);
    assert_eq!(first_break(&report), ("edited", 6), "{report}");
}

#[test]
fn reordered_entries_are_caught() {
    // Swapping two entries' content.
    let env = signed_log();
    sqlite3(
        &env,
        "UPDATE backup_logs SET \
           message = (SELECT message FROM backup_logs b WHERE b.seq = 5 - backup_logs.seq), \
           username = (SELECT username FROM backup_logs b WHERE b.seq = 5 - backup_logs.seq), \
           operation = (SELECT operation FROM backup_logs b WHERE b.seq = 5 - backup_logs.seq) \
         WHERE seq IN (2, 3)",
    );
    let report = verify(&env);
    assert_eq!(first_break(&report), ("edited", 2), "{report}");

    // Swapping two whole rows' positions, links and hashes along.
    let env = signed_log();
    sqlite3(
        &env,
        "UPDATE backup_logs SET seq = -seq WHERE seq IN (2, 3); \
         UPDATE backup_logs SET seq = 5 + seq WHERE seq IN (-2, -3);",
    );
    let report = verify(&env);
    assert_eq!(first_break(&report), ("edited", 2), "{report}");
}

#[test]
fn truncating_the_newest_entries_is_caught_even_with_the_head_set_back() {
    let env = signed_log();
    sqlite3(&env, "DELETE FROM backup_logs WHERE seq >= 4");
    let report = verify(&env);
    assert_eq!(first_break(&report), ("truncated", 4), "{report}");

    // The attacker also sets the head row back: the chain alone looks whole now, but the
    // newest signed head in storage is beyond it.
    sqlite3(
        &env,
        "UPDATE audit_chain_head SET seq = 3, hash = (SELECT hash FROM backup_logs WHERE seq = 3)",
    );
    let report = verify(&env);
    assert!(report["first_break"].is_null(), "{report}");
    assert_eq!(report["storage"]["matches"], false, "{report}");
    let message = report["storage"]["message"].as_str().unwrap();
    assert!(
        message.contains("beyond the database's head #3"),
        "{message}"
    );
}

/// Whoever can write the database can recompute every hash: only the signed head in storage
/// shows the chain is not the one that was signed — and publishing refuses to bless it.
#[test]
fn a_chain_rewritten_from_the_start_is_caught_by_the_signed_head() {
    let env = signed_log();
    let app = env.app();
    let mut entries = LogEntry::list_chain(&mut app.conn().unwrap(), 0, 100).unwrap();
    drop(app);
    let mut prev = coffer::domain::audit_chain::GENESIS.to_string();
    let mut sql = String::new();
    for entry in &mut entries {
        if entry.operation == "restore" {
            entry.username = Some("mallory".into());
        }
        let seq = entry.seq.unwrap();
        let hash = entry_hash(&prev, &entry.content(seq)).unwrap();
        sql.push_str(&format!(
            "UPDATE backup_logs SET username = '{}', prev_hash = '{prev}', hash = '{hash}' WHERE id = {};\n",
            entry.username.as_deref().unwrap_or_default(),
            entry.id
        ));
        prev = hash;
    }
    sql.push_str(&format!("UPDATE audit_chain_head SET hash = '{prev}';"));
    sqlite3(&env, &sql);

    let report = verify(&env);
    assert!(
        report["first_break"].is_null(),
        "the chain is consistent: {report}"
    );
    assert_eq!(report["storage"]["matches"], false, "{report}");
    let message = report["storage"]["message"].as_str().unwrap();
    assert!(message.contains("chain was rewritten"), "{message}");

    let refused = env.fails(&["audit", "publish"]);
    assert!(refused.contains("not signing"), "{refused}");
}

#[test]
fn a_forged_head_in_storage_is_reported() {
    let env = signed_log();
    let real = heads(&env).pop().unwrap();
    let text = fs::read_to_string(env.path("backups/audit").join(&real)).unwrap();
    let mut forged: Value = serde_json::from_str(&text).unwrap();
    forged["seq"] = Value::from(99);
    fs::write(
        env.path("backups/audit/head-00000000000000000099-20991231T000000Z.json"),
        forged.to_string(),
    )
    .unwrap();
    let report = verify(&env);
    assert_eq!(report["ok"], false, "{report}");
    let message = report["storage"]["message"].as_str().unwrap();
    assert!(message.contains("forged head"), "{message}");
}

#[test]
fn the_monitor_alerts_once_when_the_chain_is_broken() {
    let env = signed_log();
    let hook = crate::notify::receivers::WebhookReceiver::start(200);
    let config = fs::read_to_string(&env.config).unwrap();
    fs::write(
        &env.config,
        format!(
            "{config}\n[[notify.webhooks]]\nname = \"ops\"\nurl = \"{}\"\nformat = \"json\"\n",
            hook.url
        ),
    )
    .unwrap();
    sqlite3(
        &env,
        "UPDATE backup_logs SET username = 'mallory' WHERE operation = 'restore'",
    );
    let app = env.app();
    let now = coffer::db::now();
    let checked = coffer::monitor::check_once(&app, now);
    assert_eq!(checked.audit.intact, Some(false));
    assert_eq!(
        checked.audit.published, None,
        "a broken chain is not signed"
    );
    let mut conn = app.conn().unwrap();
    assert_eq!(
        MonitorAlert::list_subjects(&mut conn, "audit").unwrap(),
        ["audit_chain"]
    );
    assert_eq!(alerts(&mut conn), 1);
    // The webhook hears it (other monitor alerts, such as a missed RPO, may come too).
    let posted = std::iter::from_fn(|| hook.next())
        .find(|r| r.body["event"] == "audit_chain_broken")
        .expect("the webhook got the alert");
    let problem = posted.body["problem"].as_str().unwrap();
    assert!(problem.contains("entry #2"), "{problem}");
    // Checked today: the next pass does not verify (or alert) again.
    let again = coffer::monitor::check_once(&app, now + chrono::Duration::minutes(1));
    assert_eq!(again.audit.intact, None);
    // A day later it checks again and, still broken, does not alert twice.
    let later = coffer::monitor::check_once(&app, now + chrono::Duration::hours(25));
    assert_eq!(later.audit.intact, Some(false));
    assert_eq!(alerts(&mut conn), 1, "raised once per occurrence");
}

/// The "audit log was tampered with" notifications raised (each is in the audit log).
fn alerts(conn: &mut coffer::db::DbConnection) -> usize {
    let filter = coffer::db::LogFilter {
        operation: Some("notify".into()),
        ..Default::default()
    };
    LogEntry::list(conn, &filter)
        .unwrap()
        .iter()
        .filter(|e| e.message.contains("The audit log was tampered with"))
        .count()
}

#[test]
fn a_restore_publishes_the_head_at_once() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a.txt"), b"a").unwrap();
    let backup = env.backup(&[]);
    let published_before = heads(&env).len();
    env.ok(&[
        "restore",
        backup["id"].as_str().unwrap(),
        "--target",
        env.path("restored").to_str().unwrap(),
        "--yes",
    ]);
    let after = heads(&env);
    assert_eq!(after.len(), published_before + 1, "{after:?}");
    let app = env.app();
    let head = AuditHead::get(&mut app.conn().unwrap()).unwrap();
    assert_eq!(
        head.published_seq,
        Some(head.seq),
        "the restore's entries are signed"
    );
    assert_eq!(verify(&env)["ok"], true);
}

/// Set in the child processes of the test below: the database they append to.
const APPEND_TO: &str = "COFFER_TEST_AUDIT_APPEND_TO";

/// Not a test of its own: the body of each child process of
/// `two_processes_appending_at_once_keep_one_chain` (does nothing unless `APPEND_TO` is set).
#[test]
fn append_worker() {
    let Ok(url) = std::env::var(APPEND_TO) else {
        return;
    };
    let pool = coffer::db::open(&url).unwrap();
    let mut conn = coffer::db::get(&pool).unwrap();
    for i in 0..100 {
        let entry = NewLogEntry::new(
            LogLevel::Info,
            "test",
            format!("{} #{i}", std::process::id()),
        );
        LogEntry::insert(&mut conn, &entry).unwrap();
    }
}

/// Two processes (this test binary run twice, `append_worker`) append 100 entries each to
/// one database at the same time, on both backends: one chain of 200, no fork.
#[test]
fn two_processes_appending_at_once_keep_one_chain() {
    for db in coffer::db::testing::TestDatabase::both().unwrap() {
        coffer::db::open(db.url()).unwrap();
        let children: Vec<_> = (0..2)
            .map(|_| {
                Command::new(std::env::current_exe().unwrap())
                    .args(["audit_chain::append_worker", "--exact", "--test-threads=1"])
                    .env(APPEND_TO, db.url())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(
                child.wait().unwrap().success(),
                "{:?}: a child failed",
                db.backend()
            );
        }
        let pool = coffer::db::open(db.url()).unwrap();
        let mut conn = coffer::db::get(&pool).unwrap();
        let head = AuditHead::get(&mut conn).unwrap();
        assert_eq!(head.seq, 200, "{:?}", db.backend());
        let mut walker = coffer::domain::audit_chain::ChainWalker::new(&head.start());
        let chain = LogEntry::list_chain(&mut conn, 0, 1000).unwrap();
        for entry in &chain {
            walker.push(&entry.link()).unwrap();
        }
        walker.finish(head.seq, &head.hash).unwrap();
        assert_eq!(walker.walked(), 200);
        let writers: std::collections::BTreeSet<&str> = chain
            .iter()
            .map(|e| e.message.split(' ').next().unwrap())
            .collect();
        assert_eq!(writers.len(), 2, "both processes wrote");
    }
}
