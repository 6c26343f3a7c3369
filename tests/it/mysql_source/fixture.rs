//! The MariaDB side of the `mysql` source tests: a database and user per test (dropped by
//! a guard), a shop schema, a writer that keeps transferring money, and coffer runs that
//! check the password never shows.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::*;

/// Runs SQL as root; panics with the client's error.
pub fn root_sql(sql: &str) -> String {
    crate::servers::maria(sql)
}

/// A database and a user of its own on the test server, dropped with the guard (and every
/// database whose name starts with its name: staging, previous, restored copies).
pub struct MysqlDb {
    pub name: String,
    pub user: String,
    pub password: String,
}

impl MysqlDb {
    pub fn new() -> MysqlDb {
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
    pub fn sql(&self, sql: &str) -> String {
        self.sql_in(&self.name, sql)
    }

    pub fn sql_in(&self, db: &str, sql: &str) -> String {
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
    pub fn databases(&self) -> Vec<String> {
        root_sql(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{}%' ORDER BY 1",
            self.name
        ))
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// The source's config, its password given through `COFFER_TEST_MYSQL_PW`.
    pub fn source(&self) -> String {
        format!(
            "[[sources]]\nname = \"shop\"\nservice = \"app\"\nkind = \"mysql\"\n\
             url = \"mysql://{}@127.0.0.1:3306/{}\"\npassword_env = \"COFFER_TEST_MYSQL_PW\"\n\
             connect_timeout_seconds = 5\n",
            self.user, self.name
        )
    }

    /// Everything a restore must bring back: each table's checksum and row count, and the
    /// definitions of triggers, views, routines and events.
    pub fn fingerprint(&self, db: &str) -> String {
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
pub fn create_shop(db: &MysqlDb) {
    create_shop_in(db, &db.name);
}

pub fn create_shop_in(db: &MysqlDb, name: &str) {
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
    db.sql_in(name, &sql);
}

/// Transfers money between accounts, one transaction each, until stopped.
pub struct Writer {
    child: std::process::Child,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    pub fn start(db: &MysqlDb) -> Writer {
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

pub fn env_for(db: &MysqlDb) -> TestEnv {
    TestEnv::new(&Backend::Sqlite, &db.source())
}

/// Runs coffer with the source's password in its environment.
pub fn coffer(env: &TestEnv, db: &MysqlDb, args: &[&str]) -> std::process::Output {
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

pub fn coffer_ok(env: &TestEnv, db: &MysqlDb, args: &[&str]) -> serde_json::Value {
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

pub fn coffer_fails(env: &TestEnv, db: &MysqlDb, args: &[&str]) -> String {
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
