//! `coffer sources check` for a postgres source, and the version rule the dump applies too:
//! a `pg_dump` older than the server cannot dump it (and says so less plainly).

use super::sql::Pg;
use crate::config::PitrSettings;
use crate::error::{Error, Result};
use crate::sources::tool;

/// Reachable, authenticated, which server, which client tools, and whether they fit.
/// With `pitr`, also what WAL streaming needs (`replication_check.rs`).
pub fn check(pg: &Pg, databases: &[String], pitr: Option<&PitrSettings>) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut server_major = 0;
    for database in databases {
        let row = pg.query(
            database,
            "SELECT current_user || '|' || current_setting('server_version_num') || '|' || version()",
        )?;
        let mut parts = row.trim().splitn(3, '|');
        let user = parts.next().unwrap_or_default().to_string();
        let number: u32 = parts.next().unwrap_or_default().parse().unwrap_or(0);
        let version = parts.next().unwrap_or_default().to_string();
        if server_major == 0 {
            found.push(format!(
                "connected to {} as {user}: {version}",
                pg.server.redacted()
            ));
        }
        server_major = number / 10000;
        found.push(format!("database {database} is reachable"));
    }
    for program in ["pg_dump", "pg_restore", "psql"] {
        let major = client_major(program)?;
        require_fit(program, major, server_major)?;
        found.push(format!("{program} {major} fits server {server_major}"));
    }
    if let (Some(pitr), Some(database)) = (pitr, databases.first()) {
        found.extend(super::replication_check::check(
            pg,
            database,
            pitr,
            server_major,
        )?);
    }
    Ok(found)
}

/// The major version of a client tool (`pg_dump (PostgreSQL) 15.20 (Debian …)` → 15).
pub fn client_major(program: &'static str) -> Result<u32> {
    let mut command = super::program::command(program);
    command.arg("--version");
    let text = tool::output(program, command)?;
    parse_major(&text).ok_or_else(|| {
        Error::Source(format!(
            "cannot tell the version of {program} from `{}`",
            text.trim()
        ))
    })
}

/// A client older than the server cannot read its catalogue: refuse with what to install.
pub fn require_fit(program: &str, client: u32, server: u32) -> Result<()> {
    if client < server {
        return Err(Error::Source(format!(
            "{program} {client} is older than the server ({server}): install PostgreSQL {server} client tools"
        )));
    }
    Ok(())
}

fn parse_major(text: &str) -> Option<u32> {
    let version = text
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    let major: u32 = version
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    // Before PostgreSQL 10 the major version had two parts (9.6): still older than any
    // server Coffer meets, so the first part is enough for the comparison.
    Some(major)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_and_compared() {
        assert_eq!(
            parse_major("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(parse_major("pg_restore (PostgreSQL) 16beta2"), Some(16));
        assert_eq!(parse_major("nothing here"), None);
        let err = require_fit("pg_dump", 15, 16).unwrap_err().to_string();
        assert_eq!(
            err,
            "pg_dump 15 is older than the server (16): install PostgreSQL 16 client tools"
        );
        assert!(require_fit("pg_dump", 17, 16).is_ok());
    }
}
