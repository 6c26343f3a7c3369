//! Backups under writes, restores into new databases and over the original.

use std::time::Duration;

use super::fixture::*;

#[test]
fn backup_under_writes_is_consistent_and_restores_exactly_into_a_new_database() {
    let db = MysqlDb::new();
    create_shop(&db);
    let env = env_for(&db);
    let writer = Writer::start(&db);
    std::thread::sleep(Duration::from_millis(500));
    assert_ne!(db.sql("SELECT COUNT(*) FROM audit"), "0", "the writer runs");
    let during = coffer_ok(&env, &db, &["backup"]);
    assert_eq!(during["status"], "success", "{during}");
    drop(writer);

    let copy = format!("{}_copy", db.name);
    let id = during["id"].as_str().unwrap();
    coffer_ok(&env, &db, &["restore", id, "--target", &copy, "--yes"]);
    // A consistent snapshot: every transfer whole, the audit matching the balances.
    assert_eq!(
        db.sql_in(&copy, "SELECT SUM(balance) FROM accounts"),
        "50000"
    );
    assert_eq!(db.sql_in(&copy, "SELECT total_balance()"), "50000");
    let drift = db.sql_in(
        &copy,
        "SELECT COUNT(*) FROM accounts a WHERE a.balance <> 1000 + \
         (SELECT COALESCE(SUM(delta), 0) FROM audit WHERE account_id = a.id)",
    );
    assert_eq!(drift, "0", "balances and audit agree");
    assert_ne!(db.sql_in(&copy, "SELECT COUNT(*) FROM audit"), "0");

    // Quiet now: a second backup restored elsewhere is an exact copy, definitions included.
    let quiet = coffer_ok(&env, &db, &["backup"]);
    let copy2 = format!("{}_copy2", db.name);
    let quiet_id = quiet["id"].as_str().unwrap();
    coffer_ok(
        &env,
        &db,
        &["restore", quiet_id, "--target", &copy2, "--yes"],
    );
    assert_eq!(db.fingerprint(&copy2), db.fingerprint(&db.name));
    assert!(db.fingerprint(&copy2).contains("trigger accounts_audit"));
    assert_eq!(
        db.sql_in(&copy2, "SELECT HEX(body) FROM files WHERE name = 'zeros'"),
        "000000FF00"
    );

    // A target that exists is refused, and nothing is created.
    let before = db.databases();
    let err = coffer_fails(
        &env,
        &db,
        &["restore", quiet_id, "--target", &copy2, "--yes"],
    );
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(db.databases(), before);

    // The password is nowhere Coffer keeps things: manifest, catalogue (task params, log).
    let shown = coffer_ok(&env, &db, &["show", quiet_id, "--files"]);
    assert!(!shown.to_string().contains(&db.password));
    assert!(shown.to_string().contains("shop/"), "{shown}");
    for path in [env.db.url().to_string(), format!("{}-wal", env.db.url())] {
        if let Ok(bytes) = std::fs::read(&path) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&db.password), "password in {path}");
        }
    }
}

#[test]
fn restore_over_the_original_is_safe_and_a_failing_load_changes_nothing() {
    let db = MysqlDb::new();
    create_shop(&db);
    // A view on another database: dropped later, it makes a second backup fail to load.
    let ext = format!("{}_ext", db.name);
    db.sql(&format!(
        "CREATE DATABASE {ext}; CREATE TABLE {ext}.t (x INT); CREATE VIEW ext_view AS SELECT x FROM {ext}.t;"
    ));
    let env = env_for(&db);
    let broken = coffer_ok(&env, &db, &["backup"]);
    db.sql(&format!("DROP VIEW ext_view; DROP DATABASE {ext};"));
    let good = coffer_ok(&env, &db, &["backup"]);
    let at_backup = db.fingerprint(&db.name);

    // Change everything a restore must undo.
    db.sql(
        "UPDATE accounts SET balance = balance + 5 WHERE id < 10; DELETE FROM files WHERE id > 15;
         CREATE TABLE extra (x INT); DROP VIEW rich; CREATE VIEW rich AS SELECT id FROM accounts;
         DROP TRIGGER accounts_audit; DROP FUNCTION total_balance;",
    );
    let changed = db.fingerprint(&db.name);
    assert_ne!(changed, at_backup);

    // The load of the broken backup fails in staging: the original is exactly as it was.
    let broken_id = broken["id"].as_str().unwrap();
    let err = coffer_fails(&env, &db, &["restore", broken_id, "--yes"]);
    assert!(err.contains("nothing live was changed"), "{err}");
    assert_eq!(db.fingerprint(&db.name), changed);
    assert_eq!(db.databases(), vec![db.name.clone()], "no staging left");
    let failed = env.json(&["list", "--status", "failed"]);
    assert!(failed.to_string().contains("failed") || failed.as_array().is_some());

    // The good one replaces the original, after a safety backup of the changed state.
    let good_id = good["id"].as_str().unwrap();
    let outcome = coffer_ok(&env, &db, &["restore", good_id, "--yes"]);
    let safety = outcome["safety_backup"].as_str().expect("a safety backup");
    assert_eq!(db.fingerprint(&db.name), at_backup);
    assert_eq!(
        db.databases(),
        vec![db.name.clone()],
        "previous and staging dropped"
    );
    assert_eq!(db.sql("SELECT total_balance()"), "50000");
    db.sql("UPDATE accounts SET balance = balance - 1 WHERE id = 1");
    assert_eq!(
        db.sql("SELECT delta FROM audit ORDER BY id DESC LIMIT 1"),
        "-1",
        "the trigger works on the switched-in table"
    );

    // The safety backup brings the changed state back.
    coffer_ok(&env, &db, &["restore", safety, "--yes"]);
    assert_eq!(db.fingerprint(&db.name), changed);
}
