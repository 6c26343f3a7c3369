//! A source of several databases: switched in together, and put back together when one of
//! them cannot be switched; `keep_replaced` keeps what was replaced.

use super::fixture::*;
use crate::helpers::*;

#[test]
fn a_failed_switch_puts_every_database_back_and_keep_replaced_keeps_the_old_ones() {
    let db = MysqlDb::new();
    let (a, b) = (format!("{}_a", db.name), format!("{}_b", db.name));
    root_sql(&format!(
        "CREATE DATABASE {a} CHARACTER SET utf8mb4; CREATE DATABASE {b} CHARACTER SET utf8mb4;"
    ));
    create_shop_in(&db, &a);
    create_shop_in(&db, &b);
    let source = format!(
        "[[sources]]\nname = \"shop\"\nkind = \"mysql\"\nurl = \"mysql://{}@127.0.0.1:3306\"\n\
         databases = [\"{a}\", \"{b}\"]\npassword_env = \"COFFER_TEST_MYSQL_PW\"\nkeep_replaced = true\n",
        db.user
    );
    let env = TestEnv::new(&Backend::Sqlite, &source);
    let backup = coffer_ok(&env, &db, &["backup"]);
    let id = backup["id"].as_str().unwrap();
    let (a_at_backup, b_at_backup) = (db.fingerprint(&a), db.fingerprint(&b));
    for name in [&a, &b] {
        db.sql_in(
            name,
            "UPDATE accounts SET balance = balance + 3 WHERE id < 5; DROP VIEW rich;",
        );
    }
    let (a_changed, b_changed) = (db.fingerprint(&a), db.fingerprint(&b));

    // `b` cannot be switched: the name its replaced tables would move to is taken (for
    // every second the restore could start in). `a`, switched first, must go back.
    let now = chrono::Utc::now();
    let taken: Vec<String> = (-5..120)
        .map(|s| {
            let at = now + chrono::Duration::seconds(s);
            format!("{b}_coffer_previous_{}", at.format("%Y%m%d_%H%M%S"))
        })
        .collect();
    root_sql(
        &taken
            .iter()
            .map(|n| format!("CREATE DATABASE `{n}`;"))
            .collect::<String>(),
    );
    let err = coffer_fails(&env, &db, &["restore", id, "--yes"]);
    assert!(err.contains("exists"), "{err}");
    assert_eq!(db.fingerprint(&a), a_changed, "a was switched back: {err}");
    assert_eq!(db.fingerprint(&b), b_changed);
    let left: Vec<String> = db
        .databases()
        .into_iter()
        .filter(|n| !taken.contains(n))
        .collect();
    assert_eq!(
        left,
        vec![db.name.clone(), a.clone(), b.clone()],
        "no staging or previous left"
    );
    root_sql(
        &taken
            .iter()
            .map(|n| format!("DROP DATABASE `{n}`;"))
            .collect::<String>(),
    );

    // Now it goes through; the replaced databases are kept, with their triggers.
    coffer_ok(&env, &db, &["restore", id, "--yes"]);
    assert_eq!(db.fingerprint(&a), a_at_backup);
    assert_eq!(db.fingerprint(&b), b_at_backup);
    let kept: Vec<String> = db
        .databases()
        .into_iter()
        .filter(|n| n.contains("_coffer_previous_"))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    for previous in &kept {
        let print = db.fingerprint(previous);
        assert!(print.contains("trigger accounts_audit"), "{print}");
        assert!(!print.contains("view rich"), "{print}");
    }
    assert!(!db
        .databases()
        .iter()
        .any(|n| n.contains("_coffer_staging_")));
}
