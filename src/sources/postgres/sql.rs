//! Talking to the server: the environment every PostgreSQL client tool gets (the password
//! travels in `PGPASSWORD`, never on a command line) and small admin queries through `psql`
//! (one short-lived process per statement group: nothing to keep alive between the steps of
//! a restore, and the same connection settings as `pg_dump` / `pg_restore`).

use std::process::Command;

use super::creation::Creation;
use crate::error::{Error, Result};
use crate::sources::server::ServerAddress;
use crate::sources::tool::{self, Session};

/// The database admin statements connect to (it exists on every server unless removed).
pub const MAINTENANCE_DB: &str = "postgres";

/// Where and how to connect: the server, its password and the connect time-out.
#[derive(Clone)]
pub struct Pg {
    pub server: ServerAddress,
}

impl Pg {
    /// `program` set up to connect to `database` through its environment. Variables a
    /// user's shell may carry (`PGPASSWORD`, `PGSERVICE` …) are replaced or removed so the
    /// configured source decides alone.
    pub fn command(&self, program: &str, database: &str) -> Command {
        let mut command = super::program::command(program);
        for var in [
            "PGSERVICE",
            "PGSERVICEFILE",
            "PGPASSFILE",
            "PGOPTIONS",
            "PGUSER",
        ] {
            command.env_remove(var);
        }
        command
            .env("PGHOST", self.server.host())
            .env("PGPORT", self.server.port().to_string())
            .env("PGDATABASE", database)
            .env(
                "PGCONNECT_TIMEOUT",
                self.server.connect_timeout_seconds().max(1).to_string(),
            )
            .env("PGAPPNAME", "coffer");
        if let Some(user) = self.server.user() {
            command.env("PGUSER", user);
        }
        match self.server.password() {
            Some(password) => command.env("PGPASSWORD", password),
            None => command.env_remove("PGPASSWORD"),
        };
        command
    }

    /// Runs `sql` (one or more statements) in `database` and returns the rows, one per line,
    /// columns separated by `|`. Errors name the server (without its password).
    pub fn query(&self, database: &str, sql: &str) -> Result<String> {
        let mut psql = self.command("psql", database);
        psql.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        tool::output("psql", psql).map_err(|e| self.failed(database, e))
    }

    /// A `psql` session on `database` for statements run one at a time, each confirmed
    /// (see `tool/session.rs`).
    pub fn session(&self, database: &str) -> Result<Session> {
        let mut psql = self.command("psql", database);
        psql.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
        Session::open("psql", psql, |mark| format!("\\echo {mark}"))
            .map_err(|e| self.failed(database, e))
    }

    /// Whether `database` exists on the server.
    pub fn exists(&self, database: &str) -> Result<bool> {
        let rows = self.query(
            MAINTENANCE_DB,
            &format!(
                "SELECT 1 FROM pg_database WHERE datname = {}",
                literal(database)
            ),
        )?;
        Ok(!rows.trim().is_empty())
    }

    /// `pg_database_size`: the estimate a dump's progress is measured against.
    pub fn size(&self, database: &str) -> Result<u64> {
        let rows = self.query(
            MAINTENANCE_DB,
            &format!("SELECT pg_database_size({})", literal(database)),
        )?;
        Ok(rows.trim().parse().unwrap_or(0))
    }

    /// The server's major version (`server_version_num` / 10000: 15, 16 …).
    pub fn server_major(&self, database: &str) -> Result<u32> {
        let rows = self.query(database, "SHOW server_version_num")?;
        rows.trim()
            .parse::<u32>()
            .map(|n| n / 10000)
            .map_err(|_| Error::Source(format!("unexpected server_version_num `{}`", rows.trim())))
    }

    /// The user tables (ordinary and partitioned) of `database`, as `schema.name`.
    pub fn tables(&self, database: &str) -> Result<Vec<String>> {
        let rows = self.query(
            database,
            "SELECT n.nspname || '.' || c.relname FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' \
             ORDER BY 1",
        )?;
        Ok(rows.lines().map(str::to_string).collect())
    }

    /// Creates `database` (from `template0`: nothing added to template1 on this server can
    /// collide with a dump), with the encoding and locale of `creation` when given (the
    /// server's defaults otherwise).
    pub fn create(
        &self,
        database: &str,
        owner: Option<&str>,
        creation: Option<&Creation>,
    ) -> Result<()> {
        let mut sql = format!("CREATE DATABASE {} TEMPLATE template0", ident(database));
        if let Some(owner) = owner {
            sql.push_str(&format!(" OWNER {}", ident(owner)));
        }
        if let Some(creation) = creation {
            sql.push_str(&creation.clause());
        }
        self.query(MAINTENANCE_DB, &sql).map(drop)
    }

    /// Drops `database`, ending its sessions first (`WITH (FORCE)`, PostgreSQL 13+).
    pub fn drop_database(&self, database: &str) -> Result<()> {
        self.query(
            MAINTENANCE_DB,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(database)),
        )
        .map(drop)
    }

    /// The owner of an existing database: a replacement gets the same one.
    pub fn owner(&self, database: &str) -> Result<Option<String>> {
        let rows = self.query(
            MAINTENANCE_DB,
            &format!(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = {}",
                literal(database)
            ),
        )?;
        Ok(Some(rows.trim().to_string()).filter(|o| !o.is_empty()))
    }

    fn failed(&self, database: &str, error: Error) -> Error {
        match error {
            Error::Source(message) => Error::Source(format!(
                "PostgreSQL {} (database {database}): {message}",
                self.server.redacted()
            )),
            other => other,
        }
    }
}

/// A quoted SQL identifier: `"na""me"`.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted SQL string literal (standard_conforming_strings, on since 9.1): `'it''s'`.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("shop"), "\"shop\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
