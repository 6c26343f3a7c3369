//! Restore drills of `mysql` and `redis` sources, proven against the facts their backups
//! recorded from the dump's own snapshot: the manifest holds the true counts, a drill run
//! after the live data changed still passes (it compares with the backup, never with the
//! live source), and it leaves no staging database or temporary server behind. Redis
//! database 6 belongs to this file.

use serde_json::Value;

use crate::helpers::*;
use crate::mysql_source::fixture::{coffer, coffer_ok, create_shop, env_for, root_sql, MysqlDb};
use crate::redis_client::*;

const REDIS_DB: u32 = 6;

/// The facts the backup `id` recorded for its only source.
fn recorded_facts(shown: &Value) -> Value {
    let sources = shown["manifest"]["sources"].as_array().expect("a manifest");
    assert_eq!(sources.len(), 1, "{shown}");
    sources[0]["facts"]["databases"].clone()
}

/// Checks a drill's JSON report: passed, and the source proven against its facts.
fn assert_proven(report: &Value) {
    assert_eq!(report["passed"], true, "{report:#}");
    let source = &report["sources"][0];
    let proven: Vec<&str> = source["proven"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        proven.iter().any(|l| l.starts_with("as at backup:")),
        "{report:#}"
    );
    assert_eq!(source["unproven"], serde_json::json!([]), "{report:#}");
    assert_eq!(source["failed"], serde_json::json!([]), "{report:#}");
}

#[test]
fn a_mysql_drill_proves_the_rows_views_and_routines_the_dump_held() {
    let db = MysqlDb::new();
    // The shop: binary blobs as hex, a trigger whose body is an INSERT, a function, an event.
    create_shop(&db);
    // Strings holding quotes, commas, parentheses, a semicolon and a trailing backslash:
    // what a naive reading of the dump's INSERT statements would miscount.
    db.sql(
        "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT, data BLOB) ENGINE=InnoDB;
         CREATE TABLE empty_one (id INT) ENGINE=InnoDB;
         INSERT INTO notes VALUES (1, 'it''s (a, b), \"c\"; d\\\\', X'00FF28'),
           (2, NULL, NULL), (3, 'x''),(9,', NULL), (4, 'plain', X'');
         CREATE VIEW later_notes AS SELECT id FROM notes WHERE id > 1;
         CREATE PROCEDURE purge_notes() DELETE FROM notes WHERE id > 100;",
    );
    let env = env_for(&db);
    let backup = coffer_ok(&env, &db, &["backup"]);
    let id = backup["id"].as_str().unwrap();
    let shown = coffer_ok(&env, &db, &["show", id, "--files"]);
    let facts = recorded_facts(&shown);
    assert_eq!(
        facts,
        serde_json::json!({ db.name.clone(): {
            "tables": { "accounts": 50, "audit": 0, "empty_one": 0, "files": 21, "notes": 4 },
            "views": ["later_notes", "rich"],
            "functions": ["FUNCTION total_balance", "PROCEDURE purge_notes"],
        }}),
        "{shown:#}"
    );

    // The live database changes; the drill proves the backup, not what is live now.
    db.sql(
        "DELETE FROM notes WHERE id < 3; DELETE FROM files; DROP VIEW later_notes; \
         DROP PROCEDURE purge_notes;",
    );
    let out = coffer(&env, &db, &["drill", id, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_proven(&report);
    assert_eq!(db.databases(), vec![db.name.clone()], "staging left behind");
    let staging = root_sql(&format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA \
         WHERE SCHEMA_NAME LIKE '{}%coffer_staging%'",
        db.name
    ));
    assert_eq!(staging, "");
}

/// Empties the test's database when it ends, also when it fails.
struct Flush;

impl Drop for Flush {
    fn drop(&mut self) {
        Redis::fresh(REDIS_DB);
    }
}

#[test]
fn a_redis_drill_proves_key_counts_and_sampled_values_of_the_snapshot() {
    let _flush = Flush;
    let mut live = Redis::fresh(REDIS_DB);
    // Every type, keys with a TTL (not counted: they may expire before a drill), and a set
    // and a hash large enough to be hash tables (their DUMP order differs per process).
    fill(&mut live, "");
    for i in 0..300 {
        let member = format!("m{i}");
        live.ok(&[b"SADD", b"bigset", member.as_bytes()]);
        live.ok(&[b"HSET", b"bighash", member.as_bytes(), b"v"]);
    }
    let env = TestEnv::new(
        &Backend::Sqlite,
        &format!(
            "[[sources]]\nname = \"cache\"\nservice = \"app\"\nkind = \"redis\"\n\
             url = \"redis://127.0.0.1:{PORT}/{REDIS_DB}\"\nconnect_timeout_seconds = 3\n"
        ),
    );
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let shown = env.json(&["show", id, "--files"]);
    let facts = recorded_facts(&shown);
    let key = format!("db{REDIS_DB}");
    assert_eq!(
        facts[&key]["keys_by_type"],
        serde_json::json!({
            "hash": 2, "list": 2, "set": 3, "stream": 1, "string": 253, "zset": 1
        }),
        "{shown:#}"
    );
    let sampled = facts[&key]["sampled_keys"].as_object().unwrap();
    assert_eq!(sampled.len(), 100);
    assert!(sampled.contains_key("bigset") && !sampled.contains_key("ttl"));
    let crate::redis_client::Value::Data(payload) = live.cmd(&[b"DUMP", b"counter"]) else {
        panic!("DUMP counter");
    };
    assert_eq!(
        sampled["counter"],
        sha256_hex(&payload),
        "the SHA-256 of DUMP"
    );

    live.ok(&[b"DEL", b"string", b"bigset"]);
    live.ok(&[b"SET", b"new", b"key"]);
    let root = env.dir.path().canonicalize().unwrap();
    let out = env.run(&["drill", id, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_proven(&report);
    assert!(
        within(std::time::Duration::from_secs(5), || {
            temporary_redis_servers(&root).is_empty()
        }),
        "a temporary redis-server outlived the drill"
    );
}
