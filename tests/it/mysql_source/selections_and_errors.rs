//! Selective restores, and the errors a user meets: bad server, password, old tools.

use std::time::{Duration, Instant};

use super::fixture::*;
use crate::helpers::*;

#[test]
fn selective_restore_replaces_only_the_chosen_tables() {
    let db = MysqlDb::new();
    create_shop(&db);
    db.sql("CREATE TABLE notes (x INT) ENGINE=MyISAM; INSERT INTO notes VALUES (1);");
    let env = env_for(&db);
    let backup = coffer_ok(&env, &db, &["backup"]);
    assert!(
        backup["warnings"].to_string().contains("notes (MyISAM)"),
        "{backup}"
    );
    let id = backup["id"].as_str().unwrap();
    db.sql("INSERT INTO notes VALUES (2);");
    let files_at_backup = root_sql(&format!("CHECKSUM TABLE {}.files EXTENDED", db.name));

    db.sql(
        "DELETE FROM files WHERE id > 3; UPDATE accounts SET balance = balance + 1 WHERE id = 7;",
    );
    let accounts_now = root_sql(&format!("CHECKSUM TABLE {}.accounts EXTENDED", db.name));
    let audit_now = root_sql(&format!("CHECKSUM TABLE {}.audit EXTENDED", db.name));

    // `accounts` alone is refused: `audit` references it with a foreign key.
    let err = coffer_fails(&env, &db, &["restore", id, "--table", "accounts", "--yes"]);
    assert!(err.contains("foreign key"), "{err}");
    let err = coffer_fails(&env, &db, &["restore", id, "--table", "nosuch", "--yes"]);
    assert!(err.contains("not in the backup"), "{err}");

    coffer_ok(&env, &db, &["restore", id, "--table", "files", "--yes"]);
    assert_eq!(
        root_sql(&format!("CHECKSUM TABLE {}.files EXTENDED", db.name)),
        files_at_backup
    );
    assert_eq!(
        root_sql(&format!("CHECKSUM TABLE {}.accounts EXTENDED", db.name)),
        accounts_now
    );
    assert_eq!(
        root_sql(&format!("CHECKSUM TABLE {}.audit EXTENDED", db.name)),
        audit_now
    );
    assert!(db.fingerprint(&db.name).contains("trigger accounts_audit"));
    assert_eq!(
        db.sql("SELECT COUNT(*) FROM notes"),
        "2",
        "other tables untouched"
    );
    assert_eq!(db.databases(), vec![db.name.clone()]);

    // Into a new database, only the chosen tables.
    let part = format!("{}_part", db.name);
    coffer_ok(
        &env,
        &db,
        &[
            "restore", id, "--table", "files", "--target", &part, "--yes",
        ],
    );
    assert_eq!(
        db.sql_in(&part, "SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"),
        "files"
    );
}

#[test]
fn bad_servers_and_passwords_fail_clearly_without_hanging() {
    let db = MysqlDb::new();
    create_shop(&db);
    let env = env_for(&db);
    let checked = coffer_ok(&env, &db, &["sources", "check"]);
    let text = checked.to_string();
    assert!(text.contains("MariaDB"), "{text}");
    assert!(text.contains("mariadb-dump"), "{text}");

    // Wrong password: a clear error and a failed record.
    let started = Instant::now();
    let out = env
        .command(&["backup"])
        .env("COFFER_TEST_MYSQL_PW", "not-the-password")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Access denied"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
    let out = env
        .command(&["sources", "check"])
        .env("COFFER_TEST_MYSQL_PW", "not-the-password")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Access denied"));
    let failed = env.json(&["list", "--status", "failed"]);
    assert_eq!(failed.as_array().map(Vec::len), Some(1), "{failed}");

    // A closed port: refused at once.
    let closed = TestEnv::new(
        &Backend::Sqlite,
        &db.source().replace("127.0.0.1:3306", "127.0.0.1:9"),
    );
    let err = coffer_fails(&closed, &db, &["backup"]);
    assert!(err.contains("Can't connect"), "{err}");
    assert!(err.contains("is the server running"), "{err}");
    let err = coffer_fails(&closed, &db, &["sources", "check"]);
    assert!(
        err.contains("Can't connect") || err.contains("shop"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));

    // A dump tool older than the server is refused before anything runs.
    let shim = env.path("old-tools");
    std::fs::create_dir_all(&shim).unwrap();
    let fake = shim.join("mariadb-dump");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'mariadb-dump  Ver 10.17 Distrib 10.3.39-MariaDB, for Linux'; exit 0; fi\nexec /usr/bin/mariadb-dump \"$@\"\n",
    )
    .unwrap();
    set_mode(&fake, 0o755);
    let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
    let out = env
        .command(&["backup"])
        .env("COFFER_TEST_MYSQL_PW", &db.password)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("older than the server"), "{err}");
}
