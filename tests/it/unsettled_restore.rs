//! A restore whose recovery cannot finish (its Redis server is away) stays in the journal,
//! and nothing builds on the half-restored source until it is settled: a new restore of it
//! and a backup of it are refused, saying what to do; other sources carry on. Once the
//! server is back, `coffer recover` settles it and both work again.

use crate::helpers::*;
use crate::private_redis::PrivateRedis;

#[test]
fn an_unsettled_restore_refuses_restores_and_backups_of_its_source_until_recovered() {
    let mut redis = PrivateRedis::start();
    let env = TestEnv::new(
        &Backend::Sqlite,
        &format!(
            "[[sources]]\nname = \"cache\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:{}/0\"\n\
             connect_timeout_seconds = 2\n\
             [[sources]]\nname = \"uploads\"\nkind = \"directory\"\npath = \"{{root}}/uploads\"\n",
            redis.port
        ),
    );
    std::fs::create_dir_all(env.path("uploads")).unwrap();
    std::fs::write(env.path("uploads/logo.png"), "v1").unwrap();
    redis.cli(&["SET", "k", "v1"]);
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    redis.cli(&["SET", "k", "v2"]);

    // Killed after the Redis switch, before the commit: recovery must roll it back, and
    // cannot while the server is away.
    run_killed_at(
        env.command(&["restore", id, "--sources", "cache", "--yes"]),
        "restore:database-switched",
    );
    redis.stop();
    let out = env.run(&["recover", "--json"]);
    assert!(!out.status.success(), "recovery cannot succeed yet");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["recovered"][0]["outcome"], "unsettled", "{report}");

    for refused in [
        env.fails(&["backup", "--json"]),
        env.fails(&["backup", "--sources", "cache", "--json"]),
        env.fails(&["restore", id, "--sources", "cache", "--yes"]),
    ] {
        assert!(
            refused.contains("not settled yet") && refused.contains("coffer recover"),
            "{refused}"
        );
    }
    // A source the interrupted restore did not touch is backed up as usual.
    env.backup(&["--sources", "uploads"]);

    // The server is back (empty: it keeps nothing on disk). Recovery puts back what the
    // restore replaced, from its undo journal, and the source is usable again.
    redis.restart();
    let report = env.json(&["recover"]);
    assert_eq!(report["recovered"][0]["outcome"], "rolled_back", "{report}");
    assert_eq!(redis.cli(&["GET", "k"]), "v2");
    env.backup(&[]);
    env.ok(&["restore", id, "--sources", "cache", "--yes"]);
    assert_eq!(redis.cli(&["GET", "k"]), "v1");
}
