//! Fresh, throw-away databases for tests (unit tests here and integration tests in `tests/`).
//!
//! `TestDatabase::sqlite()` is a file in its own temporary directory; `TestDatabase::postgres()`
//! is a new database `coffer_test_<uuid>` on the server named by `COFFER_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`). Both vanish on drop.

use std::path::PathBuf;

use diesel::prelude::*;
use diesel::PgConnection;

use super::url::redact_url;
use super::{open, Backend, DbError, Pool};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh database that is removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    RemoveDir(PathBuf),
    DropDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    /// A SQLite file `coffer.db` in a new directory under the system temp dir.
    pub fn sqlite() -> Result<TestDatabase, DbError> {
        let dir = std::env::temp_dir().join(format!("coffer-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| {
            DbError::Connect(format!(
                "cannot create test directory {}: {e}",
                dir.display()
            ))
        })?;
        Ok(TestDatabase {
            url: dir.join("coffer.db").to_string_lossy().into_owned(),
            backend: Backend::Sqlite,
            cleanup: Cleanup::RemoveDir(dir),
        })
    }

    /// A new, empty PostgreSQL database on the test server.
    pub fn postgres() -> Result<TestDatabase, DbError> {
        let admin_url =
            std::env::var("COFFER_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string());
        let name = format!("coffer_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).map_err(|e| {
            DbError::Connect(format!(
                "cannot connect to the test PostgreSQL at {} (set COFFER_TEST_PG_URL): {e}",
                redact_url(&admin_url)
            ))
        })?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        Ok(TestDatabase {
            url: with_database(&admin_url, &name),
            backend: Backend::Postgres,
            cleanup: Cleanup::DropDatabase { admin_url, name },
        })
    }

    /// One fresh database of each backend, SQLite first.
    pub fn both() -> Result<[TestDatabase; 2], DbError> {
        Ok([TestDatabase::sqlite()?, TestDatabase::postgres()?])
    }

    /// Runs `test` once per backend, each time on a fresh, migrated database; panics with the
    /// backend's name if setting one up fails.
    pub fn on_each_backend(test: impl Fn(&Pool, Backend)) {
        for make in [TestDatabase::sqlite, TestDatabase::postgres] {
            let db = make().unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
            let pool = db.open().unwrap_or_else(|e| {
                panic!("cannot open the {} test database: {e}", db.backend.name())
            });
            test(&pool, db.backend);
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens a pool on this database, applying the migrations.
    pub fn open(&self) -> Result<Pool, DbError> {
        open(&self.url)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::RemoveDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::DropDatabase { admin_url, name } => {
                // FORCE ends connections a pool may still hold open.
                let dropped = PgConnection::establish(admin_url)
                    .map_err(|e| e.to_string())
                    .and_then(|mut admin| {
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .map_err(|e| e.to_string())
                    });
                if let Err(e) = dropped {
                    eprintln!("warning: could not drop test database {name}: {e}");
                }
            }
        }
    }
}

/// `url` with its database name replaced by `name`, query string kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_swapped_in() {
        let swap = super::with_database;
        assert_eq!(
            swap("postgres://u@h:5432/postgres", "t"),
            "postgres://u@h:5432/t"
        );
        assert_eq!(swap("postgres://u@h", "t"), "postgres://u@h/t");
        assert_eq!(
            swap("postgres://h/db?sslmode=disable", "t"),
            "postgres://h/t?sslmode=disable"
        );
    }
}
