//! The local database servers as tests talk to them: SQL through `psql` (PostgreSQL, user
//! postgres) and the `mariadb` client (root), and a guard that drops every database whose
//! name starts with a test's prefix (the original and whatever restores made beside it).

use std::process::Command;

/// Runs SQL in PostgreSQL database `db`; panics with the client's error.
pub fn psql(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-X", "-q", "-A", "-t"])
        .args(["-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Runs SQL on MariaDB as root; panics with the client's error.
pub fn maria(sql: &str) -> String {
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
        .unwrap();
    assert!(
        out.status.success(),
        "mariadb: {}\n{sql}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A unique database name for a test, `<prefix>_<10 hex digits>`.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Databases named `<name>_…` on both servers: what a restore made beside `<name>` and left.
pub fn databases_beside(name: &str) -> Vec<String> {
    psql(
        "postgres",
        &format!("SELECT datname FROM pg_database WHERE starts_with(datname, '{name}_')"),
    )
    .lines()
    .map(|n| format!("postgres {n}"))
    .chain(
        maria(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{name}\\_%'"
        ))
        .lines()
        .map(|n| format!("mariadb {n}")),
    )
    .collect()
}

/// Drops, when dropped, every PostgreSQL and MariaDB database whose name starts with its
/// name — also when the test fails.
pub struct DropDatabases(pub String);

impl Drop for DropDatabases {
    fn drop(&mut self) {
        let family = psql(
            "postgres",
            &format!(
                "SELECT datname FROM pg_database WHERE starts_with(datname, '{}')",
                self.0
            ),
        );
        for db in family.lines() {
            psql(
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
            );
        }
        let family = maria(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{}%'",
            self.0
        ));
        for db in family.lines() {
            maria(&format!("DROP DATABASE IF EXISTS `{db}`"));
        }
    }
}
