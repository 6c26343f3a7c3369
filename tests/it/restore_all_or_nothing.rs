//! A multi-source restore is all or nothing: when the third source's switch fails for real
//! (its Redis server runs out of memory half-way through the copy), the two databases
//! switched before it are put back, the folder after it is never touched, and the task says
//! so.

use crate::helpers::*;
use crate::private_redis::PrivateRedis;
use crate::servers::*;

#[test]
fn when_the_third_switch_fails_the_first_two_are_put_back() {
    let db = unique_name("coffer_a");
    psql("postgres", &format!("CREATE DATABASE {db}"));
    maria(&format!("CREATE DATABASE {db}"));
    let _cleanup = DropDatabases(db.clone());
    let redis = PrivateRedis::start();
    let env = TestEnv::new(
        &Backend::Sqlite,
        &format!(
            "[[sources]]\nname = \"shop_db\"\nkind = \"postgres\"\nurl = \"postgres://postgres@127.0.0.1:5432/{db}\"\n\
             [[sources]]\nname = \"items\"\nkind = \"mysql\"\nurl = \"mysql://root@127.0.0.1:3306/{db}\"\n\
             [[sources]]\nname = \"cache\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:{}/0\"\n\
             [[sources]]\nname = \"uploads\"\nkind = \"directory\"\npath = \"{{root}}/uploads\"\n",
            redis.port
        ),
    );
    let write = |v: &str| {
        psql(
            &db,
            &format!(
                "DROP TABLE IF EXISTS t; CREATE TABLE t (v text); INSERT INTO t VALUES ('{v}')"
            ),
        );
        maria(&format!("DROP TABLE IF EXISTS {db}.t; CREATE TABLE {db}.t (v text); INSERT INTO {db}.t VALUES ('{v}')"));
        std::fs::create_dir_all(env.path("uploads")).unwrap();
        std::fs::write(env.path("uploads/logo.png"), v).unwrap();
    };
    write("v1");
    // The backup's keys: 200 of 2 KiB each.
    let value = "x".repeat(2048);
    for n in 0..200 {
        redis.cli(&["SET", &format!("k:{n}"), &value]);
    }
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();

    write("v2");
    redis.cli(&["FLUSHALL"]);
    redis.cli(&["SET", "live", "v2"]);
    // Room for the live data and some more (the rollback needs a little), not for the
    // backup's 400 KiB of keys.
    let limit = redis.used_memory() + 192 * 1024;
    redis.cli(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);

    let err = env.fails(&["restore", id, "--yes"]);
    assert!(
        err.to_lowercase().contains("oom") || err.contains("memory"),
        "{err}"
    );
    assert_eq!(psql(&db, "SELECT v FROM t"), "v2", "PostgreSQL put back");
    assert_eq!(
        maria(&format!("SELECT v FROM {db}.t")),
        "v2",
        "MariaDB put back"
    );
    assert_eq!(redis.cli(&["GET", "live"]), "v2");
    assert_eq!(
        redis.cli(&["DBSIZE"]),
        "1",
        "Redis put back: {}",
        redis.cli(&["KEYS", "*"])
    );
    assert_eq!(
        std::fs::read_to_string(env.path("uploads/logo.png")).unwrap(),
        "v2"
    );
    let left = databases_beside(&db);
    assert!(
        left.is_empty(),
        "staging or previous databases left: {left:?}"
    );
    let journals = std::fs::read_dir(env.path("data/journal"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(journals, 0, "the journal goes with the recorded failure");
}
