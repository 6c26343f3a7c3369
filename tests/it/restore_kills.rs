//! A restore killed (SIGKILL, for real) at every step of its switch: whatever the moment,
//! the next start settles it from its journal so that every source of the restore is all
//! old or all new — never one of each, never half a tree — leaves no staging or previous
//! folder behind, and the task, the audit log and the backup's restore count say which.

use std::fs;
use std::path::Path;
use std::process::Command;

use coffer::db::{LogEntry, LogFilter, Task};

use crate::helpers::*;

const SOURCES: &str = "\
[[sources]]
name = \"files\"
kind = \"directory\"
path = \"{root}/live/files\"
exclude = [\"cache/**\"]

[[sources]]
name = \"notes\"
kind = \"file\"
path = \"{root}/live/etc/notes.conf\"

[[sources]]
name = \"app_db\"
kind = \"sqlite\"
path = \"{root}/live/db/app.db\"
";

fn sqlite(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3").arg(db).arg(sql).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Writes generation `version` of every source (the cache is never backed up).
fn write_generation(env: &TestEnv, version: &str) {
    let live = env.path("live");
    let files = live.join("files");
    let _ = fs::remove_dir_all(&files);
    fs::create_dir_all(files.join("docs")).unwrap();
    fs::create_dir_all(files.join("cache")).unwrap();
    fs::create_dir_all(live.join("etc")).unwrap();
    fs::create_dir_all(live.join("db")).unwrap();
    fs::write(files.join("docs/report.txt"), format!("report {version}")).unwrap();
    fs::write(files.join(format!("only-in-{version}.txt")), version).unwrap();
    fs::write(files.join("cache/x.tmp"), "cache, never backed up").unwrap();
    fs::write(live.join("etc/notes.conf"), format!("notes {version}")).unwrap();
    let db = live.join("db/app.db");
    let _ = fs::remove_file(&db);
    sqlite(
        &db,
        &format!("CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('{version}');"),
    );
}

/// Which generation each source holds now: `Some("v1")`, `Some("v2")`, or `None` when it
/// is neither whole (a mixed or damaged tree).
fn generations(env: &TestEnv) -> Vec<(&'static str, Option<String>)> {
    let live = env.path("live");
    let files = live.join("files");
    let tree = |v: &str| {
        let other = if v == "v1" { "v2" } else { "v1" };
        fs::read_to_string(files.join("docs/report.txt")).ok() == Some(format!("report {v}"))
            && files.join(format!("only-in-{v}.txt")).exists()
            && !files.join(format!("only-in-{other}.txt")).exists()
            && fs::read_to_string(files.join("cache/x.tmp"))
                .ok()
                .as_deref()
                == Some("cache, never backed up")
    };
    let files_gen = ["v1", "v2"].into_iter().find(|v| tree(v)).map(String::from);
    let notes = fs::read_to_string(live.join("etc/notes.conf"))
        .ok()
        .and_then(|t| t.strip_prefix("notes ").map(String::from));
    let db = live.join("db/app.db");
    let db_gen = db
        .exists()
        .then(|| sqlite(&db, "PRAGMA integrity_check; SELECT v FROM t;"))
        .and_then(|out| out.strip_prefix("ok\n").map(String::from));
    vec![("files", files_gen), ("notes", notes), ("app_db", db_gen)]
}

/// `.coffer-*` folders beside any target, in the scratch folder, or journals left.
fn leftovers(env: &TestEnv) -> Vec<String> {
    let mut found = Vec::new();
    for dir in ["live", "live/etc", "live/db", "data/tmp", "data/journal"] {
        for entry in fs::read_dir(env.path(dir)).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".coffer-") || dir == "data/journal" {
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    found
}

/// Every point of a restore a kill can hit, with whether the restore had taken effect.
const POINTS: [(&str, bool); 14] = [
    ("restore:extracted", false),
    ("restore:switching", false),
    ("switch:item#1", false),
    ("switch:exchanged#2", false),
    ("switch:item#2", false),
    ("switch:side#1", false),
    ("switch:exchanged#3", false),
    ("switch:item#3", false),
    ("restore:switched", false),
    ("restore:committed", true),
    ("restore:finished", true),
    ("restore:recorded", true),
    // A recovery killed in turn is settled by the next one.
    ("recover:start", false),
    ("recover:start", true),
];

#[test]
fn a_restore_killed_at_any_step_of_its_switch_ends_all_old_or_all_new() {
    let env = TestEnv::new(&Backend::Sqlite, SOURCES);
    write_generation(&env, "v1");
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap().to_string();
    kill_at_every_point(&env, &id, &POINTS, None);
}

#[test]
fn a_one_source_restore_killed_mid_switch_ends_all_old_or_all_new() {
    let env = TestEnv::new(&Backend::Sqlite, SOURCES);
    write_generation(&env, "v1");
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap().to_string();
    let points = [
        ("restore:switching", false),
        ("switch:exchanged#1", false),
        ("switch:item#1", false),
        ("restore:switched", false),
        ("restore:committed", true),
    ];
    kill_at_every_point(&env, &id, &points, Some("files"));
}

/// Kills `coffer restore ID` at each point, settles it, and checks every source (with
/// `only`, that source; the others must stay as they are, v2).
fn kill_at_every_point(env: &TestEnv, id: &str, points: &[(&str, bool)], only: Option<&str>) {
    let id = id.to_string();
    let mut figures = (0, 0, 0, 0); // attempts, mixed, leftovers, misreported
    for (n, (point, took_effect)) in points.iter().enumerate() {
        write_generation(env, "v2");
        // A stale WAL beside the live database: moved aside by the switch, back by a rollback.
        fs::write(env.path("live/db/app.db-wal"), b"").unwrap();
        let restore_count = |env: &TestEnv| env.json(&["show", &id])["restore_count"].as_i64();
        let count_before = restore_count(env);

        let mut args = vec!["restore", &id, "--yes"];
        if let Some(source) = only {
            args.extend(["--sources", source]);
        }
        let restore = env.command(&args);
        if point.starts_with("recover:") {
            // The restore dies after its commit (or before), then the recovery dies too.
            let first = if *took_effect {
                "restore:committed"
            } else {
                "switch:item#2"
            };
            run_killed_at(restore, first);
            run_killed_at(env.command(&["list"]), point);
        } else {
            run_killed_at(restore, point);
        }
        figures.0 += 1;

        let report = env.json(&["recover"]);
        let outcomes: Vec<&str> = report["recovered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["outcome"].as_str().unwrap())
            .collect();
        let expected = if *took_effect {
            "completed"
        } else {
            "rolled_back"
        };
        assert_eq!(outcomes, [expected], "{point}: {report}");

        let now = generations(env);
        let want = |source: &str| match (took_effect, only) {
            (true, None) => "v1",
            (true, Some(chosen)) if chosen == source => "v1",
            _ => "v2",
        };
        let whole = now.iter().all(|(s, g)| g.as_deref() == Some(want(s)));
        if !whole {
            figures.1 += 1;
        }
        assert!(whole, "{point}: every source all old or all new: {now:?}");
        let wal = env.path("live/db/app.db-wal");
        assert_eq!(
            wal.exists(),
            want("app_db") == "v2",
            "{point}: the stale WAL"
        );
        let left = leftovers(env);
        if !left.is_empty() {
            figures.2 += 1;
        }
        assert!(left.is_empty(), "{point}: left behind: {left:?}");

        let app = env.app();
        let mut conn = app.conn().unwrap();
        let task = Task::list_recent(&mut conn, 20)
            .unwrap()
            .into_iter()
            .find(|t| t.kind == "restore")
            .unwrap();
        let want_status = if *took_effect { "success" } else { "failed" };
        let entries = LogEntry::list(
            &mut conn,
            &LogFilter {
                operation: Some("restore".into()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        let said = entries
            .iter()
            .find(|e| e.task_id.as_deref() == Some(&task.id) && e.message.contains("recovery"))
            .map(|e| e.message.clone())
            .unwrap_or_default();
        let counted = restore_count(env).unwrap() - count_before.unwrap();
        if task.status != want_status || counted != i64::from(*took_effect) {
            figures.3 += 1;
        }
        assert_eq!(task.status, want_status, "{point}: {:?}", task.error);
        assert!(
            said.contains(if *took_effect {
                "completed"
            } else {
                "rolled back"
            }),
            "{point}: audit says {said:?}"
        );
        assert_eq!(counted, i64::from(*took_effect), "{point}: restore count");
        eprintln!("{n:2} {point:22} → {expected}: sources {now:?}");
    }
    eprintln!(
        "path kinds: {} attempts, {} mixed, {} with leftovers, {} misreported",
        figures.0, figures.1, figures.2, figures.3
    );
}

#[test]
fn a_restore_that_finishes_leaves_no_journal_and_one_that_is_running_is_not_recovered() {
    let env = TestEnv::new(&Backend::Sqlite, SOURCES);
    write_generation(&env, "v1");
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    write_generation(&env, "v2");
    env.ok(&["restore", id, "--yes"]);
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
    assert!(generations(&env)
        .iter()
        .all(|(_, g)| g.as_deref() == Some("v1")));
    let report = env.json(&["recover"]);
    assert_eq!(report["recovered"].as_array().unwrap().len(), 0, "{report}");
}
