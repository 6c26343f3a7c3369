//! A restore of a service with a PostgreSQL, a MariaDB and a Redis database and a folder,
//! killed (SIGKILL) while staging, between the database switches, in the middle of the
//! Redis copy, and around the commit: after the next start every source is all old or all
//! new, all of them the same, the databases accept connections, and no staging or
//! previous database is left.

use std::process::Command;

use crate::helpers::*;
use crate::servers::*;

/// A Redis database number no other test uses.
const REDIS_DB: &str = "15";
/// Enough keys for several copy batches (100 keys each).
const KEYS: usize = 350;

fn redis(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379", "-n", REDIS_DB])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Empties the test's Redis database, also when the test fails.
struct FlushRedis;

impl Drop for FlushRedis {
    fn drop(&mut self) {
        redis(&["FLUSHDB"]);
    }
}

/// Writes generation `v` of every source: v1 is what the backup holds.
fn write_generation(env: &TestEnv, db: &str, v: &str) {
    psql(
        db,
        &format!(
            "DROP TABLE IF EXISTS orders; CREATE TABLE orders (id int PRIMARY KEY, v text); \
             INSERT INTO orders SELECT g, '{v}' FROM generate_series(1, 50) g"
        ),
    );
    maria(&format!(
        "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}; USE {db}; \
         CREATE TABLE items (id int PRIMARY KEY, v varchar(8)); \
         CREATE TABLE audit (n int); \
         CREATE TRIGGER items_audit AFTER INSERT ON items FOR EACH ROW INSERT INTO audit VALUES (NEW.id); \
         CREATE VIEW item_view AS SELECT v FROM items; \
         INSERT INTO items VALUES (1, '{v}'), (2, '{v}');"
    ));
    redis(&["FLUSHDB"]);
    let mut args = vec!["MSET".to_string()];
    let only = format!("only:{v}");
    for n in 0..KEYS {
        args.push(format!("key:{n}"));
        args.push(v.to_string());
    }
    args.push(only.clone());
    args.push(v.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    redis(&args);
    let dir = env.path("uploads");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("logo.png"), v).unwrap();
}

/// Each source's generation now (`None`: neither whole).
fn generations(env: &TestEnv, db: &str) -> Vec<(&'static str, Option<String>)> {
    let whole = |values: Vec<String>| {
        let first = values.first().cloned()?;
        values.iter().all(|v| *v == first).then_some(first)
    };
    let pg = whole(
        psql(db, "SELECT v FROM orders")
            .lines()
            .map(String::from)
            .collect(),
    )
    .filter(|_| psql(db, "SELECT count(*) FROM orders") == "50");
    let triggers = maria(&format!(
        "SELECT count(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{db}'"
    ));
    let views = maria(&format!(
        "SELECT count(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{db}'"
    ));
    let my = whole(
        maria(&format!("SELECT v FROM {db}.item_view"))
            .lines()
            .map(String::from)
            .collect(),
    )
    .filter(|_| triggers == "1" && views == "1");
    let values: Vec<String> = (0..KEYS)
        .map(|n| redis(&["GET", &format!("key:{n}")]))
        .collect();
    let rd = whole(values).filter(|v| {
        redis(&["DBSIZE"]) == (KEYS + 1).to_string() && redis(&["GET", &format!("only:{v}")]) == *v
    });
    let files = std::fs::read_to_string(env.path("uploads/logo.png")).ok();
    vec![("pg", pg), ("mysql", my), ("redis", rd), ("uploads", files)]
}

const POINTS: [(&str, bool); 13] = [
    ("restore:staging-database#1", false),
    ("restore:staging-database#3", false),
    ("restore:switching", false),
    ("restore:database-switched#1", false),
    // Inside MariaDB's switch, whose statements cannot be one transaction.
    ("mysql.switch.triggers_dropped", false),
    ("mysql.switch.renamed", false),
    ("mysql.switch.installed", false),
    ("restore:database-switched#2", false),
    ("redis:batch#2", false),
    ("restore:database-switched#3", false),
    ("restore:switched", false),
    ("restore:committed", true),
    ("restore:finished", true),
];

#[test]
fn a_killed_restore_of_every_database_kind_ends_all_old_or_all_new() {
    let db = unique_name("coffer_k");
    psql("postgres", &format!("CREATE DATABASE {db}"));
    let _cleanup = (DropDatabases(db.clone()), FlushRedis);
    let env = TestEnv::new(
        &Backend::Sqlite,
        &format!(
            "[[sources]]\nname = \"shop_db\"\nkind = \"postgres\"\nurl = \"postgres://postgres@127.0.0.1:5432/{db}\"\n\
             [[sources]]\nname = \"items\"\nkind = \"mysql\"\nurl = \"mysql://root@127.0.0.1:3306/{db}\"\n\
             [[sources]]\nname = \"cache\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6379/{REDIS_DB}\"\n\
             [[sources]]\nname = \"uploads\"\nkind = \"directory\"\npath = \"{{root}}/uploads\"\n"
        ),
    );
    write_generation(&env, &db, "v1");
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap().to_string();
    let mut figures = (0, 0, 0, 0); // attempts, mixed or unreachable, leftovers, misreported
    for (point, took_effect) in POINTS {
        write_generation(&env, &db, "v2");
        run_killed_at(env.command(&["restore", &id, "--yes"]), point);
        figures.0 += 1;
        let report = env.json(&["recover"]);
        let expected = if took_effect {
            "completed"
        } else {
            "rolled_back"
        };
        let outcomes: Vec<&str> = report["recovered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["outcome"].as_str().unwrap())
            .collect();
        if outcomes != [expected] {
            figures.3 += 1;
        }
        assert_eq!(outcomes, [expected], "{point}: {report}");
        assert_eq!(
            psql(
                "postgres",
                &format!("SELECT datallowconn FROM pg_database WHERE datname = '{db}'")
            ),
            "t",
            "{point}: the original accepts connections"
        );
        let now = generations(&env, &db);
        let want = if took_effect { "v1" } else { "v2" };
        if now.iter().any(|(_, g)| g.as_deref() != Some(want)) {
            figures.1 += 1;
        }
        assert!(
            now.iter().all(|(_, g)| g.as_deref() == Some(want)),
            "{point}: every source must be {want}: {now:?}"
        );
        let left = databases_beside(&db);
        if !left.is_empty() {
            figures.2 += 1;
        }
        assert!(left.is_empty(), "{point}: left behind: {left:?}");
        eprintln!("{point:30} → {expected}: {now:?}");
    }
    eprintln!(
        "database kinds: {} attempts, {} mixed or unreachable, {} with leftovers, {} misreported",
        figures.0, figures.1, figures.2, figures.3
    );
}
