//! One service = its PostgreSQL database, its Redis database, its SQLite file and its upload
//! folder, backed up together in one backup and restored together over the originals: every
//! kind comes back as it was at the backup, in one restore with one safety backup.

use std::process::Command;

use crate::helpers::*;
use crate::servers::psql;

/// A Redis database number no other test uses (redis_source.rs takes 8–13).
const REDIS_DB: &str = "14";

fn redis(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379", "-n", REDIS_DB])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Drops the test database (and what restores made beside it) and empties the Redis db.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let family = psql(
            "postgres",
            &format!(
                "SELECT datname FROM pg_database WHERE starts_with(datname, '{}')",
                self.0
            ),
        );
        for db in family.lines() {
            psql(
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
            );
        }
        redis(&["FLUSHDB"]);
    }
}

#[test]
fn a_service_of_every_kind_is_backed_up_and_restored_as_one_point_in_time() {
    let db = format!(
        "coffer_t_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    psql("postgres", &format!("CREATE DATABASE {db}"));
    let _cleanup = Cleanup(db.clone());
    redis(&["FLUSHDB"]);
    let env = TestEnv::new(
        &Backend::Sqlite,
        &format!(
            "[[sources]]\nname = \"uploads\"\nservice = \"shop\"\nkind = \"directory\"\npath = \"{{root}}/uploads\"\n\
             [[sources]]\nname = \"shop_db\"\nservice = \"shop\"\nkind = \"postgres\"\nurl = \"postgres://postgres@127.0.0.1:5432/{db}\"\n\
             [[sources]]\nname = \"cache\"\nservice = \"shop\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6379/{REDIS_DB}\"\n\
             [[sources]]\nname = \"settings\"\nservice = \"shop\"\nkind = \"sqlite\"\npath = \"{{root}}/settings.db\"\n"
        ),
    );
    std::fs::create_dir_all(env.path("uploads")).unwrap();
    std::fs::write(env.path("uploads/logo.png"), b"first logo").unwrap();
    psql(&db, "CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, 'tea'), (2, 'cake')");
    redis(&["SET", "cart:1", "tea"]);
    redis(&["SET", "session:1", "ada", "EX", "3600"]);
    let settings = env.path("settings.db");
    let sqlite = |sql: &str| tool("sqlite3", &[settings.to_str().unwrap(), sql]);
    sqlite(
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT); INSERT INTO kv VALUES ('theme', 'dark');",
    );

    let backup = env.backup(&["--scope", "shop"]);
    let manifest = env.ok(&["show", backup["id"].as_str().unwrap()]);
    for source in ["uploads", "shop_db", "cache", "settings"] {
        assert!(manifest.contains(source), "{source} in {manifest}");
    }

    // The application moves on.
    std::fs::write(env.path("uploads/logo.png"), b"second logo").unwrap();
    std::fs::write(env.path("uploads/new.png"), b"new").unwrap();
    psql(
        &db,
        "DELETE FROM orders WHERE id = 1; INSERT INTO orders VALUES (3, 'pie')",
    );
    redis(&["SET", "cart:1", "pie"]);
    redis(&["SET", "cart:2", "jam"]);
    sqlite("UPDATE kv SET v = 'light';");

    let out = env.ok(&["restore", backup["id"].as_str().unwrap(), "--yes"]);
    assert!(out.contains("safety backup"), "{out}");

    assert_eq!(
        std::fs::read(env.path("uploads/logo.png")).unwrap(),
        b"first logo"
    );
    assert!(!env.path("uploads/new.png").exists());
    assert_eq!(
        psql(
            &db,
            "SELECT string_agg(id || ':' || item, ',' ORDER BY id) FROM orders"
        ),
        "1:tea,2:cake"
    );
    assert_eq!(redis(&["GET", "cart:1"]), "tea");
    assert_eq!(redis(&["EXISTS", "cart:2"]), "0");
    let ttl: i64 = redis(&["TTL", "session:1"]).parse().unwrap();
    assert!(ttl > 3000 && ttl <= 3600, "TTL kept: {ttl}");
    let theme = tool(
        "sqlite3",
        &[
            settings.to_str().unwrap(),
            "SELECT v FROM kv WHERE k = 'theme'",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&theme.stdout).trim(), "dark");
}
