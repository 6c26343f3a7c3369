//! The redis source against the real server on 127.0.0.1:6379 and the real binary. Each test
//! owns database numbers nobody else uses (8–12) and empties them before and after.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::redis_client::*;

fn source(url: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nname = \"cache\"\nservice = \"app\"\nkind = \"redis\"\nurl = \"{url}\"\nconnect_timeout_seconds = 3\n{extra}"
    )
}

fn env_for(db: u32) -> TestEnv {
    TestEnv::new(
        &Backend::Sqlite,
        &source(&format!("redis://127.0.0.1:{PORT}/{db}"), ""),
    )
}

/// Empties the test's databases when it ends, also when it fails.
struct Flush(&'static [u32]);

impl Drop for Flush {
    fn drop(&mut self) {
        for db in self.0 {
            Redis::fresh(*db);
        }
    }
}

#[test]
fn backup_under_writes_restores_into_another_database_exactly() {
    let _flush = Flush(&[8, 9]);
    let mut live = Redis::fresh(8);
    Redis::fresh(9);
    fill(&mut live, "");
    let env = env_for(8);
    // A writer sets w:0, w:1, … one after another until stopped.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        std::thread::spawn(move || {
            let mut redis = Redis::connect(PORT, 8, None);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                redis.ok(&[b"SET", format!("w:{i}").as_bytes(), &i.to_le_bytes()]);
                i += 1;
                written.store(i, Ordering::Relaxed);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let before = written.load(Ordering::Relaxed);
    let backup = env.backup(&[]);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let id = backup["id"].as_str().unwrap();

    let out = env.json(&["restore", id, "--target", "9", "--yes"]);
    assert!(out["safety_backup"].is_null(), "nothing was overwritten");
    assert_eq!(out["restored"][0]["path"], "redis://127.0.0.1:6379/9");
    let mut restored = Redis::connect(PORT, 9, None);
    // Every key that was not being written is there exactly, TTLs within a second.
    assert_same(
        &restored.state_without("*", b"w:"),
        &live.state_without("*", b"w:"),
        "restored into db 9",
    );
    // The writer's keys form an unbroken prefix: one point in time.
    let count = restored.keys("w:*").len() as u64;
    assert!(
        count >= before,
        "{count} < {before} keys written before the backup"
    );
    for i in 0..count {
        let key = format!("w:{i}");
        assert_eq!(
            restored.ok(&[b"GET", key.as_bytes()]),
            Value::Data(i.to_le_bytes().to_vec()),
            "{key}"
        );
    }
    // A database that holds keys is not a new target.
    let err = env.fails(&["restore", id, "--target", "9", "--yes"]);
    assert!(err.contains("already holds keys"), "{err}");
    assert!(err.contains("--merge"), "{err}");
    let err = env.fails(&["restore", id, "--target", "/tmp/x", "--yes"]);
    assert!(err.contains("not a folder"), "{err}");
}

#[test]
fn restore_over_the_original_and_a_failing_one_leaves_it_as_it_was() {
    let _flush = Flush(&[10]);
    let mut live = Redis::fresh(10);
    fill(&mut live, "");
    let env = env_for(10);
    let backup = env.backup(&[]);
    let snapshot = live.state("*");
    live.run("SET added-later x");
    live.run("DEL hash");
    live.run("RPUSH list d");
    live.run("PERSIST ttl");

    let out = env.json(&["restore", backup["id"].as_str().unwrap(), "--yes"]);
    let safety = out["safety_backup"].as_str().expect("a safety backup");
    assert_same(&live.state("*"), &snapshot, "restored over the original");
    let shown = env.json(&["show", safety]);
    assert_eq!(shown["status"], "success", "{shown}");

    // A damaged snapshot (from a fake server) fails while loading, before the target changes.
    live.run("SET after-restore y");
    let before = live.state("*");
    let fake = damaged_snapshot_server();
    let config = std::fs::read_to_string(&env.config).unwrap();
    let faked = config.replace("127.0.0.1:6379/10", &format!("127.0.0.1:{fake}/10"));
    std::fs::write(&env.config, &faked).unwrap();
    let damaged = env.backup(&[]);
    std::fs::write(&env.config, &config).unwrap();
    let err = env.fails(&["restore", damaged["id"].as_str().unwrap(), "--yes"]);
    assert!(err.contains("could not be loaded"), "{err}");
    assert_same(&live.state("*"), &before, "after a failed restore");
    let app = env.app();
    let tasks = coffer::db::Task::list_recent(&mut app.conn().unwrap(), 10).unwrap();
    let last_restore = tasks.iter().find(|t| t.kind == "restore").unwrap();
    assert_eq!(last_restore.status, "failed");
}

#[test]
fn a_key_pattern_restore_touches_nothing_else() {
    let _flush = Flush(&[11]);
    let mut live = Redis::fresh(11);
    fill(&mut live, "user:");
    fill(&mut live, "other:");
    let env = env_for(11);
    let backup = env.backup(&[]);
    let users = live.state("user:*");
    live.run("SET user:string changed");
    live.run("SET user:new x");
    live.run("DEL user:zset");
    live.run("SET other:string changed");
    live.run("SET other:new x");
    let others = live.state("other:*");

    let id = backup["id"].as_str().unwrap();
    env.ok(&["restore", id, "--keys", "user:*", "--yes"]);
    assert_same(&live.state("user:*"), &users, "the chosen keys");
    assert_same(&live.state("other:*"), &others, "every other key");
    let err = env.fails(&["restore", id, "--table", "x", "--yes"]);
    assert!(err.contains("--table does not apply"), "{err}");
}

#[test]
fn merge_adds_and_overwrites_but_deletes_nothing() {
    let _flush = Flush(&[12]);
    let mut live = Redis::fresh(12);
    fill(&mut live, "");
    let env = env_for(12);
    let backup = env.backup(&[]);
    let snapshot = live.state("*");
    live.run("SET string changed");
    live.run("DEL set");
    live.run("SET extra kept");

    env.ok(&[
        "restore",
        backup["id"].as_str().unwrap(),
        "--merge",
        "--yes",
    ]);
    let mut expected = snapshot.clone();
    expected.extend(live.state("extra"));
    assert_same(&live.state("*"), &expected, "merged");
}

#[test]
fn unreachable_servers_and_wrong_passwords_fail_clearly_and_never_show_the_password() {
    // Nothing listens on the port: a quick, clear failure and a failed record.
    let closed = free_port();
    let env = TestEnv::new(
        &Backend::Sqlite,
        &source(&format!("redis://127.0.0.1:{closed}/0"), ""),
    );
    let started = Instant::now();
    let err = env.fails(&["backup"]);
    assert!(err.contains("cannot connect to Redis"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(env.json(&["list"])[0]["status"], "failed");
    let out = env.run(&["sources", "check"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && said.contains("cannot connect"),
        "{said}"
    );

    let secret = "s3cret-Pa55-word";
    let own = OwnServer::start(secret);
    let url = format!("redis://127.0.0.1:{}/3", own.port);
    let env = TestEnv::new(
        &Backend::Sqlite,
        &source(&url, "password_env = \"COFFER_T_REDIS_PW\"\n"),
    );
    let run = |args: &[&str], password: &str| {
        let out = env
            .command(args)
            .env("COFFER_T_REDIS_PW", password)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(secret), "the password is shown: {text}");
        (out.status.success(), text)
    };
    let (ok, text) = run(&["backup"], "wrong-password");
    assert!(!ok && text.contains("authentication failed"), "{text}");
    let (ok, text) = run(&["sources", "check"], "wrong-password");
    assert!(!ok && text.contains("authentication failed"), "{text}");

    let mut redis = Redis::connect(own.port, 3, Some(secret));
    fill(&mut redis, "");
    let snapshot = redis.state("*");
    let (ok, text) = run(&["sources", "check"], secret);
    assert!(ok && text.contains("Redis 7"), "{text}");
    let (ok, text) = run(&["backup", "--json"], secret);
    assert!(ok, "{text}");
    let id = serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let target = format!("redis://127.0.0.1:{}/4", own.port);
    let (ok, text) = run(&["restore", &id, "--target", &target, "--yes"], secret);
    assert!(ok, "{text}");
    let mut restored = Redis::connect(own.port, 4, Some(secret));
    assert_same(
        &restored.state("*"),
        &snapshot,
        "restored on the same server",
    );
    let with_password = format!("redis://:{secret}@127.0.0.1:{}/5", own.port);
    let (ok, text) = run(
        &["restore", &id, "--target", &with_password, "--yes"],
        secret,
    );
    assert!(
        !ok && text.contains("must not contain a password"),
        "{text}"
    );
    let (ok, text) = run(&["show", &id, "--json"], secret);
    assert!(ok, "{text}");
    let app = env.app();
    for task in coffer::db::Task::list_recent(&mut app.conn().unwrap(), 20).unwrap() {
        let params = task.params.unwrap_or_default();
        assert!(!params.contains(secret), "{params}");
        assert!(!task.error.unwrap_or_default().contains(secret));
    }
    let manifest = coffer::db::Manifest::load(&mut app.conn().unwrap(), &id)
        .unwrap()
        .unwrap();
    assert!(!manifest.contains(secret));
    assert!(
        manifest.contains(&format!("redis://127.0.0.1:{}/3", own.port)),
        "{manifest}"
    );
}

#[test]
fn a_killed_restore_takes_its_temporary_redis_server_along() {
    let _flush = Flush(&[13]);
    let mut live = Redis::fresh(13);
    fill(&mut live, "");
    let env = env_for(13);
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let snapshot = live.state("*");
    let root = env.dir.path().canonicalize().unwrap();
    for point in ["redis.stage.started", "redis.stage.loaded"] {
        run_killed_at(env.command(&["restore", id, "--yes"]), point);
        let gone = within(Duration::from_secs(3), || {
            temporary_redis_servers(&root).is_empty()
        });
        assert!(
            gone,
            "3 s after a kill at {point} the temporary redis-server still runs: {:?}",
            temporary_redis_servers(&root)
        );
        assert_same(&live.state("*"), &snapshot, "the target is untouched");
    }
}
