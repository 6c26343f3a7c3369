//! Restore drills (issue 15): a drill restores a backup into scratch places, proves the
//! content against what the backup recorded, measures the time, and leaves the originals
//! and the servers exactly as they were — also when the backup is damaged or the drill is
//! killed.

use std::path::Path;

use serde_json::Value;

use crate::helpers::*;
use crate::servers::{psql, unique_name, DropDatabases};

/// A service of a folder, a SQLite file and a PostgreSQL database (view, function,
/// sequence), backed up once.
struct Service {
    env: TestEnv,
    db: String,
    _drop: DropDatabases,
    backup: Value,
}

fn service() -> Service {
    let db = unique_name("coffer_drill");
    psql("postgres", &format!("CREATE DATABASE {db}"));
    let drop = DropDatabases(db.clone());
    let env = TestEnv::new(
        &Backend::Sqlite,
        &format!(
            "[[sources]]\nname = \"uploads\"\nservice = \"shop\"\nkind = \"directory\"\npath = \"{{root}}/uploads\"\n\
             [[sources]]\nname = \"shop_db\"\nservice = \"shop\"\nkind = \"postgres\"\nurl = \"postgres://postgres@127.0.0.1:5432/{db}\"\n\
             [[sources]]\nname = \"settings\"\nservice = \"shop\"\nkind = \"sqlite\"\npath = \"{{root}}/settings.db\"\n"
        ),
    );
    std::fs::create_dir_all(env.path("uploads/2026")).unwrap();
    std::fs::write(env.path("uploads/logo.png"), random_bytes(300_000, 1)).unwrap();
    std::fs::write(env.path("uploads/2026/a.txt"), b"receipt").unwrap();
    std::os::unix::fs::symlink("logo.png", env.path("uploads/current.png")).unwrap();
    psql(
        &db,
        "CREATE TABLE orders (id serial PRIMARY KEY, item text);
         INSERT INTO orders (item) SELECT 'item ' || n FROM generate_series(1, 500) n;
         CREATE VIEW big_orders AS SELECT * FROM orders WHERE id > 100;
         CREATE FUNCTION order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders';",
    );
    sqlite(
        &env.path("settings.db"),
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT); INSERT INTO kv VALUES ('theme', 'dark'), ('lang', 'en');
         CREATE VIEW themes AS SELECT v FROM kv WHERE k = 'theme';",
    );
    let backup = env.backup(&["--scope", "shop"]);
    Service {
        env,
        db,
        _drop: drop,
        backup,
    }
}

fn sqlite(file: &Path, sql: &str) -> String {
    let out = tool("sqlite3", &[file.to_str().unwrap(), sql]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `coffer drill … --json`: the report, and whether the command succeeded.
fn drill(env: &TestEnv, args: &[&str]) -> (Value, bool, String) {
    let mut all = vec!["drill"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = env.run(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "drill printed no JSON report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (report, out.status.success(), stderr)
}

fn source<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == name)
        .unwrap_or_else(|| panic!("no source {name} in {report:#}"))
}

fn lines(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Nothing of a drill is left: no scratch folder, no journal, no staging database.
fn assert_nothing_left(env: &TestEnv, db: &str) {
    let tmp = env.path("data/tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("drill-"))
        .collect();
    assert!(left.is_empty(), "scratch folders left: {left:?}");
    let journals: Vec<_> = std::fs::read_dir(env.path("data/journal"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(journals.is_empty(), "journals left: {journals:?}");
    let beside = psql(
        "postgres",
        &format!(
            "SELECT string_agg(datname, ',') FROM pg_database WHERE starts_with(datname, '{db}_')"
        ),
    );
    assert!(beside.is_empty(), "databases left beside {db}: {beside}");
}

#[test]
fn a_drill_proves_every_source_against_backup_time_facts_and_leaves_the_originals_alone() {
    let s = service();
    let id = s.backup["id"].as_str().unwrap();
    // The application moves on: rows are lost after the backup, files change. The drill
    // compares with what the backup recorded, not with this.
    psql(
        &s.db,
        "DELETE FROM orders WHERE id <= 200; SELECT setval('orders_id_seq', 9000)",
    );
    std::fs::write(s.env.path("uploads/2026/a.txt"), b"changed").unwrap();
    sqlite(
        &s.env.path("settings.db"),
        "DELETE FROM kv WHERE k = 'lang'",
    );
    let uploads = snapshot_tree(&s.env.path("uploads"));
    let settings = std::fs::read(s.env.path("settings.db")).unwrap();
    let orders = psql(&s.db, "SELECT count(*), max(id) FROM orders");

    let (report, ok, stderr) = drill(&s.env, &[id]);
    assert!(ok, "{report:#}\n{stderr}");
    assert_eq!(report["passed"], true, "{report:#}");
    assert!(report["rto_ms"].as_u64().unwrap() > 0);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "restore files (fetch, decrypt, unpack)",
            "fetch from storage",
            "check SHA-256 of the stored bytes",
            "decrypt",
            "prove files",
            "load databases",
            "prove databases",
            "clean up"
        ]
    );
    // Fetch, check and decrypt run on one thread alongside unpacking: their busy times are
    // marked so and fit inside the phase that restores the files.
    let phase_ms = |i: usize| report["phases"][i]["ms"].as_u64().unwrap();
    assert!(
        (1..=3).all(|i| report["phases"][i]["alongside"] == true),
        "{report:#}"
    );
    assert!(
        phase_ms(1) + phase_ms(2) + phase_ms(3) <= phase_ms(0) + 3,
        "{report:#}"
    );
    assert!(
        report["snapshot_spread_ms"].as_u64().is_some(),
        "{report:#}"
    );

    let uploads_proof = source(&report, "uploads");
    assert_eq!(uploads_proof["passed"], true);
    let proven = lines(&uploads_proof["proven"]);
    assert!(
        proven[0].starts_with("2 file(s), 300007 bytes read back from disk match their SHA-256"),
        "{proven:?}"
    );
    let db_proof = source(&report, "shop_db");
    let proven = lines(&db_proof["proven"]).join("\n");
    assert!(
        proven.contains(&format!(
            "as at backup: {}: 1 table (500 rows), 1 view, 1 function, 1 sequence",
            s.db
        )),
        "{proven}"
    );
    assert!(lines(&db_proof["unproven"]).is_empty(), "{db_proof:#}");
    let sqlite_proof = lines(&source(&report, "settings")["proven"]).join("\n");
    assert!(
        sqlite_proof.contains("PRAGMA integrity_check: ok"),
        "{sqlite_proof}"
    );
    assert!(
        sqlite_proof.contains("as at backup: main: 1 table (2 rows), 1 view"),
        "{sqlite_proof}"
    );

    // The originals are as the application left them, and nothing of the drill remains.
    assert_eq!(snapshot_tree(&s.env.path("uploads")), uploads);
    assert_eq!(std::fs::read(s.env.path("settings.db")).unwrap(), settings);
    assert_eq!(psql(&s.db, "SELECT count(*), max(id) FROM orders"), orders);
    assert_nothing_left(&s.env, &s.db);

    // The drill is recorded: the API's list and the proven RPO read it.
    let app = s.env.app();
    let mut conn = app.conn().unwrap();
    let recorded = coffer::db::Drill::list_recent(&mut conn, 10).unwrap();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].passed);
    let proven_since = coffer::db::DrillSource::proven_since(&mut conn, "shop_db").unwrap();
    assert!(proven_since.is_some());
}

#[test]
fn a_drill_without_a_backup_id_takes_the_newest_backup_holding_the_sources() {
    let s = service();
    let newer = s.env.backup(&["--sources", "settings"]);
    let (report, ok, stderr) = drill(&s.env, &["--sources", "settings"]);
    assert!(ok, "{stderr}");
    assert_eq!(report["backup_id"], newer["id"]);
    let (report, ok, stderr) = drill(&s.env, &["--service", "shop"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        report["backup_id"], s.backup["id"],
        "the newest holding all three"
    );
    assert_eq!(report["sources"].as_array().unwrap().len(), 3);
    let unknown = s.env.fails(&["drill", "--sources", "nothing_like_it"]);
    assert!(
        unknown.contains("no successful backup holds nothing_like_it"),
        "{unknown}"
    );
}

#[test]
fn a_drill_of_a_damaged_backup_fails_and_says_what_failed() {
    let s = service();
    let id = s.backup["id"].as_str().unwrap();
    // One byte in the middle of the stored archive: every encrypted segment is
    // authenticated, so the drill must find it.
    let archive = s.env.archive_path(&s.backup);
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&archive, bytes).unwrap();

    let (report, ok, stderr) = drill(&s.env, &[id]);
    assert!(!ok, "a damaged backup must fail its drill:\n{report:#}");
    assert_eq!(report["passed"], false);
    let error = report["error"].as_str().unwrap();
    assert!(!error.is_empty());
    assert!(stderr.contains("FAILED"), "{stderr}");
    for name in ["uploads", "shop_db", "settings"] {
        let proof = source(&report, name);
        assert_eq!(proof["passed"], false, "{proof:#}");
        assert!(!lines(&proof["failed"]).is_empty(), "{proof:#}");
    }
    assert_nothing_left(&s.env, &s.db);
    let app = s.env.app();
    let recorded = coffer::db::Drill::list_recent(&mut app.conn().unwrap(), 10).unwrap();
    assert!(!recorded[0].passed, "a failed drill is recorded too");
    let proven_since =
        coffer::db::DrillSource::proven_since(&mut app.conn().unwrap(), "uploads").unwrap();
    assert_eq!(proven_since, None, "a failed drill proves nothing");
}

#[test]
fn a_drill_killed_mid_way_leaves_nothing_after_the_next_start() {
    for point in ["drill:extracted", "drill:staged"] {
        let s = service();
        let id = s.backup["id"].as_str().unwrap();
        let killed = run_killed_at(s.env.command(&["drill", id]), point);
        drop(killed);
        // Something was left by the kill (the point is after the scratch copies exist).
        let tmp_has_drill = std::fs::read_dir(s.env.path("data/tmp"))
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("drill-"));
        assert!(
            tmp_has_drill,
            "{point}: the kill left no scratch folder to clean"
        );
        if point == "drill:staged" {
            let beside = psql(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_database WHERE starts_with(datname, '{}_')",
                    s.db
                ),
            );
            assert_eq!(
                beside, "1",
                "{point}: the staging database exists before recovery"
            );
        }
        // Any next command settles it.
        let recovered = s.env.json(&["recover"]);
        assert_nothing_left(&s.env, &s.db);
        let text = recovered.to_string();
        assert!(text.contains("rolled_back"), "{point}: {text}");
        let app = s.env.app();
        let entries = coffer::db::LogEntry::list(
            &mut app.conn().unwrap(),
            &coffer::db::LogFilter {
                operation: Some("drill".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            entries.iter().any(|e| e
                .message
                .contains("was interrupted; its scratch copies were removed")),
            "{point}: {:?}",
            entries.iter().map(|e| &e.message).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_drill_never_runs_beside_a_backup_or_restore_of_the_same_source() {
    let s = service();
    let id = s.backup["id"].as_str().unwrap();
    // What a running backup or restore of `settings` holds.
    let app = s.env.app();
    let held = coffer::jobs::run::locks::lock_sources(&app.settings, &["settings".into()]).unwrap();
    let busy = s.env.fails(&["drill", id]);
    assert!(busy.contains("source `settings` is busy"), "{busy}");
    drop(held);
    let (report, ok, stderr) = drill(&s.env, &[id]);
    assert!(ok && report["passed"] == true, "{stderr}");
}

/// `drill_url`: the scratch databases go to the drill server, never to the source's. The
/// source's server is stopped before the drill, so a drill that touched it would fail.
#[test]
fn a_drill_with_a_drill_server_loads_there_and_needs_nothing_of_the_source_server() {
    let origin = crate::private_postgres::PrivatePostgres::start();
    let drills = crate::private_postgres::PrivatePostgres::start();
    origin.psql("postgres", "CREATE DATABASE ledger");
    origin.psql(
        "ledger",
        "CREATE TABLE entries (id serial PRIMARY KEY, amount int);
         INSERT INTO entries (amount) SELECT n FROM generate_series(1, 300) n;",
    );
    let env = TestEnv::new(
        &Backend::Sqlite,
        &format!(
            "[[sources]]\nname = \"ledger_db\"\nkind = \"postgres\"\n\
             url = \"postgres://postgres@127.0.0.1:{}/ledger\"\n\
             drill_url = \"postgres://postgres@127.0.0.1:{}\"\n",
            origin.port, drills.port
        ),
    );
    env.backup(&["--sources", "ledger_db"]);
    let databases = "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database \
                     WHERE datname NOT IN ('postgres', 'template0', 'template1')";
    assert_eq!(drills.psql("postgres", databases), "");
    origin.stop();

    let (report, ok, stderr) = drill(&env, &["--sources", "ledger_db"]);
    assert!(ok, "{report:#}\n{stderr}");
    let ledger = source(&report, "ledger_db");
    assert_eq!(ledger["passed"], true, "{report:#}");
    assert!(
        lines(&ledger["proven"])
            .iter()
            .any(|l| l.contains("300 rows")),
        "{ledger:#}"
    );
    // Dropped afterwards: nothing left on the drill server either.
    assert_eq!(drills.psql("postgres", databases), "");
    origin.start_again();
    assert_eq!(
        origin.psql("postgres", databases),
        "ledger",
        "the source server holds only its own database"
    );
}
