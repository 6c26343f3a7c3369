//! `coffer restore` over the original killed for real (SIGKILL) at each step of the MySQL
//! switch. MySQL's DDL is not transactional: between the first and the last live statement
//! `<db>` is neither database, and recovery (the restore journal) must finish or undo it.
//! This test pins down what each kill point leaves, as `switch.rs` documents it: before the
//! statements `<db>` is the whole original, after them the whole restored database, and
//! the leftovers are recognisable by name.

use super::fixture::*;
use crate::helpers::*;

/// The tables' part of a fingerprint (checksums), without definitions.
fn tables_of(fingerprint: &str) -> String {
    fingerprint
        .lines()
        .filter(|l| l.starts_with("table "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn recognised(db: &str, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(db) else {
        return false;
    };
    let staging = rest
        .strip_prefix("_coffer_staging_")
        .is_some_and(|tag| tag.len() == 12 && tag.chars().all(|c| c.is_ascii_hexdigit()));
    let previous = rest.strip_prefix("_coffer_previous_").is_some_and(|time| {
        time.len() == 15 && time.chars().filter(char::is_ascii_digit).count() == 14
    });
    staging || previous
}

#[test]
fn a_restore_killed_at_each_step_of_the_switch_leaves_the_documented_state() {
    let db = MysqlDb::new();
    create_shop(&db);
    let env = env_for(&db);
    let backup = coffer_ok(&env, &db, &["backup"]);
    let id = backup["id"].as_str().unwrap();
    let restored = db.fingerprint(&db.name);
    db.sql(
        "UPDATE accounts SET balance = balance + 5 WHERE id < 10; DELETE FROM files WHERE id > 15;
         DROP VIEW rich; CREATE VIEW rich AS SELECT id FROM accounts;",
    );
    let live = db.fingerprint(&db.name);
    let live_backup = coffer_ok(&env, &db, &["backup"]);
    let live_id = live_backup["id"].as_str().unwrap();
    let (mut attempts, mut mixed, mut unreachable) = (0, 0, 0);

    for (point, tables, whole) in [
        ("mysql.switch.prepared", &live, Some(&live)),
        ("mysql.switch.triggers_dropped", &live, None),
        ("mysql.switch.renamed", &restored, None),
        ("mysql.switch.defaults", &restored, None),
        ("mysql.switch.old_dropped", &restored, None),
        ("mysql.switch.installed", &restored, None),
        ("mysql.switch.views", &restored, Some(&restored)),
    ] {
        attempts += 1;
        let mut command = env.command(&["restore", id, "--yes"]);
        command.env("COFFER_TEST_MYSQL_PW", &db.password);
        run_killed_at(command, point);
        let reachable = root_sql(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{}'",
            db.name
        ));
        if reachable != "1" {
            unreachable += 1;
        }
        let now = db.fingerprint(&db.name);
        assert_eq!(tables_of(&now), tables_of(tables), "the tables at {point}");
        match whole {
            Some(whole) => assert_eq!(&now, whole, "at {point}"),
            None => {
                assert!(now != live && now != restored, "at {point}");
                mixed += 1;
            }
        }
        let left: Vec<String> = db
            .databases()
            .into_iter()
            .filter(|d| *d != db.name)
            .collect();
        assert!(!left.is_empty(), "at {point}");
        for name in &left {
            assert!(recognised(&db.name, name), "not recognisable: {name}");
            root_sql(&format!("DROP DATABASE `{name}`"));
        }
        // Back to the live state for the next round: an ordinary restore of it, over
        // whatever the kill left (it must cope with that too).
        coffer_ok(&env, &db, &["restore", live_id, "--yes"]);
        assert_eq!(db.fingerprint(&db.name), live, "reset after {point}");
        assert_eq!(db.databases(), vec![db.name.clone()]);
    }
    eprintln!(
        "mysql kill figures: {attempts} attempts, {mixed} mixed (to be finished or undone by \
         the journal), {unreachable} unreachable"
    );
}

/// A restore into a new database (`--target NAME`) killed while the dump loads or inside its
/// switch leaves nothing under the new name once recovered: the dump loads into a staging
/// database, and the new database exists only from the switch on, as the switch's own.
/// (It used to be created first and loaded in place: a kill left it half-loaded.)
#[test]
fn a_restore_into_a_new_database_killed_anywhere_leaves_nothing_once_recovered() {
    let db = MysqlDb::new();
    create_shop(&db);
    let env = env_for(&db);
    let backup = coffer_ok(&env, &db, &["backup"]);
    let id = backup["id"].as_str().unwrap();
    let copy = format!("{}_copy", db.name);
    for point in [
        "mysql.load.line#20",
        "mysql.switch.prepared",
        "mysql.switch.renamed",
        "mysql.switch.installed",
        "restore:database-switched",
    ] {
        let mut command = env.command(&["restore", id, "--target", &copy, "--yes"]);
        command.env("COFFER_TEST_MYSQL_PW", &db.password);
        run_killed_at(command, point);
        coffer_ok(&env, &db, &["recover"]);
        assert_eq!(
            db.databases(),
            vec![db.name.clone()],
            "left after a kill at {point} and recovery"
        );
    }
    coffer_ok(&env, &db, &["restore", id, "--target", &copy, "--yes"]);
    assert_eq!(db.fingerprint(&copy), db.fingerprint(&db.name));
    assert_eq!(db.databases(), vec![db.name.clone(), copy.clone()]);
    root_sql(&format!("DROP DATABASE `{copy}`"));
}
