//! `coffer restore` of a postgres source killed for real (SIGKILL) while `pg_restore -j`
//! loads: `pg_restore`, its workers and their COPY go with it. What the restore leaves
//! beside the database is recognisable by name (the restore journal drops it; here the
//! test does).

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::postgres_source::{psql, source, TempDb};

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
