//! `coffer restore` of a postgres source killed for real (SIGKILL) at every step of the
//! switch and of its undo: the name `<db>` always accepts connections and holds either the
//! whole original or the whole restored database. What the restore leaves beside it is
//! recognisable by name (the restore journal drops it; here the test does). And a restore
//! killed while `pg_restore -j` loads takes `pg_restore`, its workers and their COPY with it.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::postgres_source::{contents, psql, source, TempDb};

/// Counts of a kill test, printed for the record.
#[derive(Default)]
struct Figures {
    attempts: u32,
    mixed: u32,
    unreachable: u32,
}

impl Drop for Figures {
    fn drop(&mut self) {
        eprintln!(
            "kill figures: {} attempts, {} mixed, {} unreachable",
            self.attempts, self.mixed, self.unreachable
        );
    }
}

/// Whether `db` accepts a connection.
fn accepts(db: &str) -> bool {
    Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-X",
            "-Atc",
            "SELECT 1",
            "-d",
            db,
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Drops what a killed restore left beside `name` (as the journal's recovery will), after
/// checking it is recognisable: `<name>_coffer_staging_<12 hex>` or
/// `<name>_coffer_previous_<YYYYmmdd_HHMMSS>`.
fn drop_leftovers(db: &TempDb, keep: &[&str]) -> Vec<String> {
    let left: Vec<String> = db
        .family()
        .into_iter()
        .filter(|d| !keep.contains(&d.as_str()))
        .collect();
    for name in &left {
        let recognised = name
            .rsplit_once("_coffer_staging_")
            .is_some_and(|(_, tag)| tag.len() == 12 && tag.chars().all(|c| c.is_ascii_hexdigit()))
            || name
                .rsplit_once("_coffer_previous_")
                .is_some_and(|(_, time)| {
                    time.len() == 15
                        && time.chars().enumerate().all(|(i, c)| {
                            if i == 8 {
                                c == '_'
                            } else {
                                c.is_ascii_digit()
                            }
                        })
                });
        assert!(
            recognised,
            "left by a killed restore, not recognisable: {name}"
        );
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        );
    }
    left
}

const TABLE: &str = "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL); \
    INSERT INTO t SELECT g, 'backed up ' || g FROM generate_series(1, 2000) g; \
    CREATE TABLE u (id int PRIMARY KEY); INSERT INTO u SELECT generate_series(1, 10);";
/// Turns the backed-up contents into the live ones (again, after a switch went through).
const CHANGE: &str = "UPDATE t SET v = 'live' WHERE id <= 500; DELETE FROM t WHERE id > 1900; \
    DROP TABLE u; CREATE TABLE w (x int);";

#[test]
fn a_restore_killed_at_any_step_of_its_switch_leaves_the_database_whole() {
    let db = TempDb::new();
    db.sql(TABLE);
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let restored = contents(&db.name);
    db.sql(CHANGE);
    let live = contents(&db.name);
    let mut figures = Figures::default();

    // Over the original.
    for (point, switched) in [
        ("postgres.replace.begin", false),
        ("postgres.replace.sessions_ended", false),
        ("postgres.replace.renamed1", false),
        ("postgres.replace.renamed2", false),
        ("postgres.replace.committed", true),
        ("postgres.finish.drop_previous", true),
    ] {
        figures.attempts += 1;
        run_killed_at(
            env.command(&["restore", id, "--sources", "pg", "--yes"]),
            point,
        );
        if !accepts(&db.name) {
            figures.unreachable += 1;
            panic!("{} refuses connections after a kill at {point}", db.name);
        }
        let now = contents(&db.name);
        if now != live && now != restored {
            figures.mixed += 1;
            panic!(
                "{} is neither the original nor the restored one at {point}",
                db.name
            );
        }
        let expected = if switched { &restored } else { &live };
        assert!(
            &now == expected,
            "at {point}: switched = {}",
            now == restored
        );
        let left = drop_leftovers(&db, &[&db.name]);
        assert!(
            !left.is_empty(),
            "at {point} the restore left nothing to clean up?"
        );
        if switched {
            db.sql(CHANGE);
        }
    }

    // Into a new name: the name is absent or holds the whole restored database.
    let copy = format!("{}_copy", db.name);
    for (point, created) in [
        ("postgres.create.begin", false),
        ("postgres.create.sessions_ended", false),
        ("postgres.create.renamed1", false),
        ("postgres.create.committed", true),
    ] {
        figures.attempts += 1;
        run_killed_at(
            env.command(&["restore", id, "--sources", "pg", "--target", &copy, "--yes"]),
            point,
        );
        let exists = db.family().contains(&copy);
        assert_eq!(exists, created, "at {point}");
        if created {
            assert!(accepts(&copy), "{copy} refuses connections after {point}");
            if contents(&copy) != restored {
                figures.mixed += 1;
                panic!("{copy} is not the whole restored database at {point}");
            }
            psql(
                "postgres",
                &format!("DROP DATABASE \"{copy}\" WITH (FORCE)"),
            );
        }
        drop_leftovers(&db, &[&db.name]);
        assert_eq!(contents(&db.name), live, "the original is untouched");
    }
}

#[test]
fn a_restore_killed_while_undoing_its_switch_leaves_each_database_whole() {
    // Two databases of one source, owned by a role that is not a superuser: the second
    // cannot be switched while a superuser session holds it (the role may not end that
    // session), so the first, switched already, is undone.
    let mut db = TempDb::new();
    let role = format!("{}_r", db.name);
    db.roles.push(role.clone());
    psql("postgres", &format!("CREATE ROLE {role} LOGIN CREATEDB"));
    let (a, b) = (format!("{}_a", db.name), format!("{}_b", db.name));
    for name in [&a, &b] {
        psql("postgres", &format!("CREATE DATABASE {name} OWNER {role}"));
        psql(
            name,
            &format!("{TABLE} ALTER TABLE t OWNER TO {role}; ALTER TABLE u OWNER TO {role}"),
        );
    }
    let url = format!("postgres://{role}@127.0.0.1:5432/postgres");
    let env = TestEnv::new(
        &Backend::Sqlite,
        &source(&url, &format!("databases = [\"{a}\", \"{b}\"]")),
    );
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let restored = contents(&a);
    for name in [&a, &b] {
        psql(name, &format!("{CHANGE} ALTER TABLE w OWNER TO {role}"));
    }
    let live = contents(&a);

    let mut holder = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-X", "-d", &b])
        .args(["-c", "SELECT pg_sleep(600)"])
        .spawn()
        .unwrap();
    assert!(within(Duration::from_secs(10), || {
        psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{b}'"),
        ) == "1"
    }));
    let err = env.fails(&["restore", id, "--sources", "pg", "--yes"]);
    assert!(err.contains("superuser"), "{err}");
    assert_eq!(contents(&a), live, "the first database was put back");
    assert_eq!(contents(&b), live);
    drop_leftovers(&db, &[&db.name, &a, &b]);

    let mut figures = Figures::default();
    for (point, undone) in [
        ("postgres.undo.begin", false),
        ("postgres.undo.sessions_ended", false),
        ("postgres.undo.renamed1", false),
        ("postgres.undo.renamed2", false),
        ("postgres.undo.committed", true),
    ] {
        figures.attempts += 1;
        run_killed_at(
            env.command(&["restore", id, "--sources", "pg", "--yes"]),
            point,
        );
        for name in [&a, &b] {
            if !accepts(name) {
                figures.unreachable += 1;
                panic!("{name} refuses connections after a kill at {point}");
            }
        }
        let (now_a, now_b) = (contents(&a), contents(&b));
        if (now_a != live && now_a != restored) || now_b != live {
            figures.mixed += 1;
            panic!("a database is neither the original nor the restored one at {point}");
        }
        let expected = if undone { &live } else { &restored };
        assert!(
            &now_a == expected,
            "{a} at {point}: undone = {}",
            now_a == live
        );
        drop_leftovers(&db, &[&db.name, &a, &b]);
        if !undone {
            psql(&a, &format!("{CHANGE} ALTER TABLE w OWNER TO {role}"));
        }
    }
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn a_killed_restore_takes_pg_restore_and_its_workers_along() {
    let db = TempDb::new();
    // Two tables of about 200 MB, loaded by two workers for several seconds.
    db.sql(
        "CREATE TABLE a AS SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) AS t \
         FROM generate_series(1, 1300000) g; \
         CREATE TABLE b AS SELECT * FROM a;",
    );
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let copy = format!("{}_copy", db.name);
    let staging = format!("{copy}_coffer_staging_");

    let mut coffer = env
        .command(&["restore", id, "--sources", "pg", "--target", &copy, "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The client side: `pg_restore`, its workers and the `sh` leading them (the server's
    // backends also name the database in their process titles, `postgres: …`).
    let tools = || -> Vec<(u32, String)> {
        processes_with(&staging)
            .into_iter()
            .filter(|(_, line)| !line.starts_with("postgres:"))
            .collect()
    };
    let copying = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE starts_with(datname, '{staging}') \
         AND query LIKE 'COPY %'"
    );
    assert!(
        within(Duration::from_secs(120), || psql("postgres", &copying)
            != "0"),
        "the load never started"
    );
    assert!(!tools().is_empty(), "pg_restore runs while it loads");
    // SAFETY: a signal to our own child, not yet reaped.
    unsafe {
        libc::kill(coffer.id() as i32, libc::SIGKILL);
    }
    let killed = Instant::now();
    assert_eq!(coffer.wait().unwrap().signal(), Some(9));

    let gone = within(Duration::from_secs(3), || {
        tools().is_empty() && psql("postgres", &copying) == "0"
    });
    assert!(
        gone,
        "3 s after the kill: processes {:?}, COPY sessions {}",
        tools(),
        psql("postgres", &copying)
    );
    eprintln!(
        "pg_restore, its workers and their COPY gone {:?} after the kill",
        killed.elapsed()
    );
    // The partly filled staging database stays for the journal to drop.
    drop_leftovers(&db, &[&db.name]);
}

/// A restore to another server (a target URL) killed while staging leaves its staging
/// database on that server. The journal records the server when staging begins, so
/// recovery looks for it there (it used to look on the source's server only, and the
/// staging copy stayed for good).
#[test]
fn a_restore_to_another_server_killed_while_staging_is_cleaned_up_there() {
    let other = crate::private_postgres::PrivatePostgres::start();
    let db = TempDb::new();
    db.sql("CREATE TABLE t (v text); INSERT INTO t VALUES ('v1')");
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let target = format!("postgres://postgres@127.0.0.1:{}/copy", other.port);
    let copies = || {
        other.psql(
            "postgres",
            "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database \
             WHERE datname LIKE 'copy%'",
        )
    };

    run_killed_at(
        env.command(&["restore", id, "--target", &target, "--yes"]),
        "postgres.stage.created",
    );
    assert!(copies().starts_with("copy_coffer_staging_"), "{}", copies());
    let report = env.json(&["recover"]);
    assert_eq!(report["recovered"][0]["outcome"], "rolled_back", "{report}");
    assert_eq!(copies(), "", "nothing is left on the target server");

    env.ok(&["restore", id, "--target", &target, "--yes"]);
    assert_eq!(other.psql("copy", "SELECT v FROM t"), "v1");
    assert_eq!(copies(), "copy");
}
