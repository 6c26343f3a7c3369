//! Chosen tables restored over the original database: their contents are replaced inside
//! one transaction that stays open until the whole restore has succeeded.
//!
//! The choice (instead of `pg_restore --clean -t` into the original): `--clean -t` drops and
//! recreates a table without its indexes, and fails or cascades on views and foreign keys
//! that depend on it. Replacing the contents keeps the table's definition, indexes, grants
//! and dependants as they are now and touches nothing else: `TRUNCATE ONLY` the chosen tables,
//! load their data (`pg_restore --data-only`, piped into `psql`), check deferred constraints
//! at once. A table that other tables reference by foreign key cannot be truncated alone:
//! that fails clearly and the transaction leaves everything as it was. Commit happens in
//! `finish`, so `undo` is a plain rollback. Sequences keep their current values.

use std::path::Path;
use std::process::Stdio;

use super::sql::{ident, Pg};
use crate::error::{Error, Result};
use crate::sources::tool::{self, Session};

/// How long the load waits for a lock on a chosen table before giving up.
const LOCK_TIMEOUT: &str = "60s";

/// A `psql` session with the chosen tables replaced and the transaction still open.
pub struct Held {
    session: Session,
}

impl Held {
    pub fn load(
        pg: &Pg,
        database: &str,
        tables: &[(String, String)],
        dump: &Path,
        list: &Path,
    ) -> Result<Held> {
        let session = pg.session(database).map_err(failed)?;
        let list_of_tables = tables
            .iter()
            .map(|(s, t)| format!("{}.{}", ident(s), ident(t)))
            .collect::<Vec<_>>()
            .join(", ");
        let mut held = Held { session };
        let start = format!(
            "BEGIN;\nSET LOCAL lock_timeout = '{LOCK_TIMEOUT}';\nTRUNCATE ONLY {list_of_tables};\n"
        );
        let loaded = held.session.send(&start).and_then(|()| {
            let mut restore = super::program::command("pg_restore");
            restore
                .args(["--data-only", "--file=-", "--use-list"])
                .arg(list)
                .arg(dump)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = tool::spawn("pg_restore", &mut restore)?;
            let mut out = child.stdout.take().expect("piped");
            // A failing psql closes its input: the copy stops and psql's error says why.
            let copied = match held.session.input() {
                Some(input) => std::io::copy(&mut out, input).map(drop),
                None => Err(std::io::ErrorKind::BrokenPipe.into()),
            };
            drop(out);
            if copied.is_err() {
                let _ = child.kill();
            }
            let output = child
                .wait_with_output()
                .map_err(|e| Error::Source(format!("waiting for pg_restore: {e}")))?;
            if copied.is_err() {
                return Err(held.session.failure());
            }
            if !output.status.success() {
                return Err(Error::Source(format!(
                    "pg_restore failed ({}): {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
            held.session.send("SET CONSTRAINTS ALL IMMEDIATE;\n")
        });
        match loaded.and_then(|()| held.session.confirm().map(drop)) {
            Ok(()) => Ok(held),
            Err(e) => {
                held.rollback();
                Err(failed(e))
            }
        }
    }

    /// Makes the new contents permanent.
    pub fn commit(mut self) -> Result<()> {
        self.session.run("COMMIT;")?;
        self.session.close();
        Ok(())
    }

    /// Leaves the tables as they were before (closing the session rolls back).
    pub fn rollback(self) {
        self.session.close();
    }
}

fn failed(error: Error) -> Error {
    match error {
        Error::Source(message) => Error::Source(format!(
            "replacing the chosen tables failed, they are left as they were: {message}"
        )),
        other => other,
    }
}
