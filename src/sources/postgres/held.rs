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

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use super::sql::{ident, Pg};
use crate::error::{Error, Result};

const MARK: &str = "coffer-step-done";
/// How long the load waits for a lock on a chosen table before giving up.
const LOCK_TIMEOUT: &str = "60s";

/// A `psql` session with the chosen tables replaced and the transaction still open.
pub struct Held {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    errors: std::thread::JoinHandle<String>,
}

impl Held {
    pub fn load(
        pg: &Pg,
        database: &str,
        tables: &[(String, String)],
        dump: &Path,
        list: &Path,
    ) -> Result<Held> {
        let mut psql = pg.command("psql", database);
        psql.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::sources::tool::die_with_coffer(&mut psql);
        let mut child = psql.spawn().map_err(|e| spawn_error("psql", e))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        let list_of_tables = tables
            .iter()
            .map(|(s, t)| format!("{}.{}", ident(s), ident(t)))
            .collect::<Vec<_>>()
            .join(", ");
        let mut held = Held {
            child,
            stdin,
            lines,
            errors,
        };
        let start = format!(
            "BEGIN;\nSET LOCAL lock_timeout = '{LOCK_TIMEOUT}';\nTRUNCATE ONLY {list_of_tables};\n"
        );
        let loaded = held.send(&start).and_then(|()| {
            let mut restore = super::program::command("pg_restore");
            restore
                .args(["--data-only", "--file=-", "--use-list"])
                .arg(list)
                .arg(dump)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            crate::sources::tool::die_with_coffer(&mut restore);
            let mut child = restore.spawn().map_err(|e| spawn_error("pg_restore", e))?;
            let mut out = child.stdout.take().expect("piped");
            // A failing psql closes its input: the copy stops and psql's error says why.
            let copied = std::io::copy(&mut out, &mut held.stdin);
            drop(out);
            if copied.is_err() {
                let _ = child.kill();
            }
            let output = child
                .wait_with_output()
                .map_err(|e| Error::Source(format!("waiting for pg_restore: {e}")))?;
            if copied.is_ok() && !output.status.success() {
                return Err(Error::Source(format!(
                    "pg_restore failed ({}): {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
            held.send("SET CONSTRAINTS ALL IMMEDIATE;\n")
        });
        match loaded.and_then(|()| held.confirm()) {
            Ok(()) => Ok(held),
            Err(e) => {
                held.rollback();
                Err(e)
            }
        }
    }

    /// Makes the new contents permanent.
    pub fn commit(mut self) -> Result<()> {
        self.send("COMMIT;\n")?;
        self.confirm()?;
        drop(self.stdin);
        let _ = self.child.wait();
        Ok(())
    }

    /// Leaves the tables as they were before (closing the session rolls back).
    pub fn rollback(mut self) {
        let _ = self.stdin.write_all(b"ROLLBACK;\n");
        drop(self.stdin);
        let _ = self.child.wait();
    }

    fn send(&mut self, text: &str) -> Result<()> {
        self.stdin
            .write_all(text.as_bytes())
            .map_err(|_| self.failure())
    }

    /// Waits until psql has run everything sent so far without error.
    fn confirm(&mut self) -> Result<()> {
        self.send(&format!("\\echo {MARK}\n"))?;
        let _ = self.stdin.flush();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(24 * 3600)) {
                Ok(line) if line == MARK => return Ok(()),
                Ok(_) => {}
                Err(_) => return Err(self.failure()),
            }
        }
    }

    /// psql stopped (ON_ERROR_STOP): its error output says why.
    fn failure(&mut self) -> Error {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let errors = std::mem::replace(&mut self.errors, std::thread::spawn(String::new));
        let text = errors.join().unwrap_or_default();
        let tail: String = text
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Error::Source(format!(
            "replacing the chosen tables failed, they are left as they were: {}",
            tail.trim()
        ))
    }
}

fn spawn_error(tool: &str, e: std::io::Error) -> Error {
    Error::Source(format!("cannot start {tool}: {e}"))
}
