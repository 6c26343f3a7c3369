//! The `mysql` source against the MariaDB server on this machine (127.0.0.1:3306, root
//! without a password): each test makes its own database `coffer_t_<random>` and a user
//! with a password for it, both dropped at the end by a guard, also when the test fails.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

/// Runs SQL as root; panics with the client's error.
fn root_sql(sql: &str) -> String {
    let out = Command::new("mariadb")
        .args([
            "-h127.0.0.1",
            "-P3306",
            "-uroot",
            "--batch",
            "--skip-column-names",
        ])
        .args(["-e", sql])
        .output()
        .expect("the mariadb client runs");
    assert!(
        out.status.success(),
        "mariadb: {}\n{sql}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A database and a user of its own on the test server, dropped with the guard (and every
/// database whose name starts with its name: staging, previous, restored copies).
struct MysqlDb {
    name: String,
    user: String,
    password: String,
}

impl MysqlDb {
    fn new() -> MysqlDb {
        let id = &uuid::Uuid::new_v4().simple().to_string()[..10];
        let db = MysqlDb {
            name: format!("coffer_t_{id}"),
            user: format!("coffer_u_{id}"),
            password: format!("pw-{}", uuid::Uuid::new_v4().simple()),
        };
        root_sql(&format!(
            "CREATE DATABASE {n} CHARACTER SET utf8mb4; CREATE USER '{u}'@'%' IDENTIFIED BY '{p}';
             GRANT ALL ON `{n}%`.* TO '{u}'@'%';",
            n = db.name,
            u = db.user,
            p = db.password
        ));
        db
    }

    /// Runs SQL in the database as its user.
    fn sql(&self, sql: &str) -> String {
        self.sql_in(&self.name, sql)
    }

    fn sql_in(&self, db: &str, sql: &str) -> String {
        let mut child = Command::new("mariadb")
            .args([
                "-h127.0.0.1",
                "-P3306",
                "--batch",
                "--skip-column-names",
                "--default-character-set=utf8mb4",
            ])
            .arg(format!("-u{}", self.user))
            .arg(format!("--database={db}"))
            .env("MYSQL_PWD", &self.password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let script = sql.to_string();
        let feeder = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
        let out = child.wait_with_output().unwrap();
        let _ = feeder.join();
        assert!(
            out.status.success(),
            "mariadb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// The databases of this test now (the original and any working copies).
    fn databases(&self) -> Vec<String> {
        root_sql(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{}%' ORDER BY 1",
            self.name
        ))
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// The source's config, its password given through `COFFER_TEST_MYSQL_PW`.
    fn source(&self) -> String {
        format!(
            "[[sources]]\nname = \"shop\"\nservice = \"app\"\nkind = \"mysql\"\n\
             url = \"mysql://{}@127.0.0.1:3306/{}\"\npassword_env = \"COFFER_TEST_MYSQL_PW\"\n\
             connect_timeout_seconds = 5\n",
            self.user, self.name
        )
    }

    /// Everything a restore must bring back: each table's checksum and row count, and the
    /// definitions of triggers, views, routines and events.
    fn fingerprint(&self, db: &str) -> String {
        let tables = root_sql(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' \
             AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1"
        ));
        let mut out = String::new();
        for table in tables.lines() {
            let sum = root_sql(&format!("CHECKSUM TABLE `{db}`.`{table}` EXTENDED"));
            let sum = sum.split('\t').nth(1).unwrap_or_default().to_string();
            out.push_str(&format!("table {table} {sum}\n"));
        }
        out.push_str(&root_sql(&format!(
            "SELECT CONCAT('trigger ', TRIGGER_NAME, ' ', EVENT_OBJECT_TABLE, ' ', ACTION_STATEMENT) \
             FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{db}' ORDER BY 1"
        )));
        out.push_str(&root_sql(&format!(
            "SELECT CONCAT('view ', TABLE_NAME, ' ', REPLACE(VIEW_DEFINITION, '`{db}`.', '')) \
             FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{db}' ORDER BY 1"
        )));
        out.push_str(&root_sql(&format!(
            "SELECT CONCAT('routine ', ROUTINE_NAME, ' ', ROUTINE_DEFINITION) \
             FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{db}' ORDER BY 1"
        )));
        out.push_str(&root_sql(&format!(
            "SELECT CONCAT('event ', EVENT_NAME, ' ', STATUS, ' ', EVENT_DEFINITION) \
             FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{db}' ORDER BY 1"
        )));
        out
    }
}

impl Drop for MysqlDb {
    fn drop(&mut self) {
        let mut sql = String::new();
        for db in self.databases() {
            sql.push_str(&format!("DROP DATABASE IF EXISTS `{db}`;"));
        }
        sql.push_str(&format!("DROP USER IF EXISTS '{}'@'%';", self.user));
        let _ = Command::new("mariadb")
            .args(["-h127.0.0.1", "-uroot", "-e", &sql])
            .output();
    }
}

/// A shop: accounts whose balances always add up (transfers move money in one
/// transaction, audited by a trigger), files with binary blobs and unicode names, a view,
/// a function and an event.
fn create_shop(db: &MysqlDb) {
    let mut sql = String::from(
        "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(50) NOT NULL, balance BIGINT NOT NULL) ENGINE=InnoDB;
         CREATE TABLE audit (id BIGINT AUTO_INCREMENT PRIMARY KEY, account_id INT NOT NULL,
           delta BIGINT NOT NULL, FOREIGN KEY (account_id) REFERENCES accounts(id)) ENGINE=InnoDB;
         CREATE TABLE files (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL,
           body LONGBLOB NOT NULL) ENGINE=InnoDB;
         CREATE TRIGGER accounts_audit AFTER UPDATE ON accounts FOR EACH ROW
           INSERT INTO audit(account_id, delta) VALUES (NEW.id, NEW.balance - OLD.balance);
         CREATE VIEW rich AS SELECT id, owner, balance FROM accounts WHERE balance > 1000;
         CREATE FUNCTION total_balance() RETURNS BIGINT READS SQL DATA RETURN (SELECT SUM(balance) FROM accounts);
         CREATE EVENT tidy ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit WHERE delta = 0;\n",
    );
    for i in 0..50 {
        sql.push_str(&format!(
            "INSERT INTO accounts VALUES ({i}, 'owner {i} ü€😀', 1000);\n"
        ));
    }
    for i in 0..20u64 {
        let body = hex::encode(random_bytes(20_000 + i as usize * 3_000, i));
        sql.push_str(&format!(
            "INSERT INTO files(name, body) VALUES ('file {i} — naïve 📦', X'{body}');\n"
        ));
    }
    sql.push_str("INSERT INTO files(name, body) VALUES ('zeros', X'000000FF00');\n");
    db.sql(&sql);
}

/// Transfers money between accounts, one transaction each, until stopped.
struct Writer {
    child: std::process::Child,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(db: &MysqlDb) -> Writer {
        let mut child = Command::new("mariadb")
            .args(["-h127.0.0.1", "-P3306", "--batch"])
            .arg(format!("-u{}", db.user))
            .arg(format!("--database={}", db.name))
            .env("MYSQL_PWD", &db.password)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || {
            for i in 0u64..20_000 {
                let (from, to, amount) = (i * 7 % 50, (i * 13 + 1) % 50, i % 17 + 1);
                let sql = format!(
                    "START TRANSACTION; UPDATE accounts SET balance = balance - {amount} WHERE id = {from};
                     UPDATE accounts SET balance = balance + {amount} WHERE id = {to}; COMMIT;\n"
                );
                if stdin.write_all(sql.as_bytes()).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(300));
            }
        });
        Writer {
            child,
            feeder: Some(feeder),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
    }
}

fn env_for(db: &MysqlDb) -> TestEnv {
    TestEnv::new(&Backend::Sqlite, &db.source())
}

/// Runs coffer with the source's password in its environment.
fn coffer(env: &TestEnv, db: &MysqlDb, args: &[&str]) -> std::process::Output {
    let out = env
        .command(args)
        .env("COFFER_TEST_MYSQL_PW", &db.password)
        .output()
        .expect("coffer runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(&db.password), "the password leaked: {text}");
    out
}

fn coffer_ok(env: &TestEnv, db: &MysqlDb, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = coffer(env, db, &all);
    assert!(
        out.status.success(),
        "coffer {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn coffer_fails(env: &TestEnv, db: &MysqlDb, args: &[&str]) -> String {
    let out = coffer(env, db, args);
    assert!(
        !out.status.success(),
        "coffer {args:?} should fail:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Both streams: `sources check` reports its findings on standard output.
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

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

#[test]
fn selective_restore_replaces_only_the_chosen_tables() {
    let db = MysqlDb::new();
    create_shop(&db);
    let env = env_for(&db);
    let backup = coffer_ok(&env, &db, &["backup"]);
    let id = backup["id"].as_str().unwrap();
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
