//! Talking to a MySQL/MariaDB server through its own client tool (`mariadb` or `mysql`):
//! short administrative SQL (catalogue queries, `CREATE DATABASE`, `RENAME TABLE`) fed on
//! standard input, answers read in batch mode. The password goes to the child as
//! `MYSQL_PWD`, never on its command line; messages name the server by its redacted URL.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::sources::server::ServerAddress;
use crate::sources::tool::Session;

/// How long an administrative statement waits for a table lock (a long transaction on the
/// original) before failing, instead of hanging the restore.
const LOCK_WAIT_SECONDS: u32 = 120;

/// The client programs for one server: MariaDB's names where installed, MySQL's otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tools {
    pub client: &'static str,
    pub dump: &'static str,
}

impl Tools {
    /// The installed tools; `mariadb_server` says which names to prefer when both are there
    /// (MariaDB's `mysqldump` is a deprecated alias; MySQL's `mysqldump` fits MySQL best).
    pub fn find(mariadb_server: bool) -> Tools {
        let mariadb = Tools {
            client: "mariadb",
            dump: "mariadb-dump",
        };
        let mysql = Tools {
            client: "mysql",
            dump: "mysqldump",
        };
        let (first, second) = if mariadb_server {
            (mariadb, mysql)
        } else {
            (mysql, mariadb)
        };
        if on_path(first.client) && on_path(first.dump) {
            first
        } else if on_path(second.client) && on_path(second.dump) {
            second
        } else {
            // Neither pair is complete: the spawn error then names the missing tool.
            first
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let path = dir.join(program);
            path.metadata().is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}

/// A server plus the way to reach it.
pub struct Client {
    pub server: ServerAddress,
    pub tools: Tools,
    pub connect_timeout: u32,
}

impl Client {
    /// The client for `server`: the tools are chosen by asking the server what it is (with
    /// whichever client is installed).
    pub fn connect(server: &ServerAddress) -> Result<(Client, String)> {
        let mut client = Client {
            server: server.clone(),
            tools: Tools::find(true),
            connect_timeout: server.connect_timeout_seconds(),
        };
        let version = client.query_value("SELECT VERSION()")?;
        client.tools = Tools::find(version.contains("MariaDB"));
        Ok((client, version))
    }

    /// A command for `program` (the client or the dump tool) with the connection settings.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .arg(format!("--host={}", self.server.host()))
            .arg(format!("--port={}", self.server.port()));
        // Only the client has this option; the dump tool runs after the client has just
        // reached the server (`Client::connect`), so an unreachable server fails there.
        if program == self.tools.client {
            command.arg(format!("--connect-timeout={}", self.connect_timeout));
        }
        if let Some(user) = self.server.user() {
            command.arg(format!("--user={user}"));
        }
        command.env_remove("MYSQL_PWD");
        if let Some(password) = self.server.password() {
            command.env("MYSQL_PWD", password);
        }
        command
    }

    /// Runs `sql` (statements separated by `;`) and returns the rows it printed, each a list
    /// of column values (`None` for NULL). Stops at the first failing statement.
    pub fn run(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut command = self.command(self.tools.client);
        command
            .args([
                "--batch",
                "--skip-column-names",
                "--default-character-set=utf8mb4",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::sources::tool::die_with_coffer(&mut command);
        let mut child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Source(format!(
                    "{} is not installed (or not on PATH): Coffer needs the MySQL/MariaDB client tools for this source",
                    self.tools.client
                ))
            } else {
                Error::Source(format!("cannot start {}: {e}", self.tools.client))
            }
        })?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let script = format!("SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS};\n{sql}\n");
        // Written on a thread: a large answer must not block while the script is fed.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(script.as_bytes());
        });
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Source(format!("waiting for {}: {e}", self.tools.client)))?;
        let _ = writer.join();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Source(format!(
                "{}: {}",
                self.server.redacted(),
                explain(stderr.trim())
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| line.split('\t').map(unescape).collect())
            .collect())
    }

    /// The first column of the first row.
    pub fn query_value(&self, sql: &str) -> Result<String> {
        self.run(sql)?
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten())
            .ok_or_else(|| {
                Error::Source(format!("{}: no answer to `{sql}`", self.server.redacted()))
            })
    }

    /// The first column of every row.
    pub fn query_column(&self, sql: &str) -> Result<Vec<String>> {
        Ok(self
            .run(sql)?
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect())
    }

    /// A client session for statements run one at a time, each confirmed before the next
    /// is sent, on one connection (see `tool/session.rs`).
    pub fn session(&self) -> Result<Session> {
        let mut command = self.command(self.tools.client);
        command.args([
            "--batch",
            "--unbuffered",
            "--skip-column-names",
            "--default-character-set=utf8mb4",
        ]);
        let mut session = Session::open(self.tools.client, command, |mark| {
            format!("SELECT '{mark}';")
        })
        .map_err(|e| self.failed(e))?;
        session
            .run(&format!(
                "SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS};"
            ))
            .map_err(|e| self.failed(e))?;
        Ok(session)
    }

    /// A session's error, with the server named and what to check.
    pub fn failed(&self, error: Error) -> Error {
        match error {
            Error::Source(message) => {
                Error::Source(format!("{}: {}", self.server.redacted(), explain(&message)))
            }
            other => other,
        }
    }

    pub fn database_exists(&self, db: &str) -> Result<bool> {
        Ok(!self
            .query_column(&format!(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
                literal(db)
            ))?
            .is_empty())
    }

    /// The base tables of `db`, sorted.
    pub fn tables(&self, db: &str) -> Result<Vec<String>> {
        self.query_column(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} \
             AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            literal(db)
        ))
    }

    /// Drops `db` if it is there; failures are returned for a warning.
    pub fn drop_database(&self, db: &str) -> Result<()> {
        self.run(&format!("DROP DATABASE IF EXISTS {}", ident(db)))
            .map(drop)
    }
}

/// Adds what to do to the client's most common failures; the client's own words stay.
fn explain(stderr: &str) -> String {
    let hint = if stderr.contains("ERROR 2002") || stderr.contains("ERROR 2003") {
        " (is the server running and the host/port in the source's url right?)"
    } else if stderr.contains("ERROR 1045") {
        " (check the user in the url and the password from password_env/password_file)"
    } else if stderr.contains("ERROR 2013") || stderr.contains("ERROR 2006") {
        " (the connection was lost or timed out; connect_timeout_seconds sets the limit)"
    } else {
        ""
    };
    // In batch mode the client echoes the failing statement between dashed lines before
    // its `ERROR …` line: the error line is what says why.
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("ERROR")).collect();
    let text = if errors.is_empty() {
        stderr.lines().collect::<Vec<_>>().join("; ")
    } else {
        errors.join("; ")
    };
    format!("{text}{hint}")
}

/// A backquoted identifier (a backquote inside is doubled).
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal, safe whatever `sql_mode` says about backslashes.
pub fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Undoes the client's batch-mode escaping of one value; `NULL` is `None`.
fn unescape(value: &str) -> Option<String> {
    if value == "NULL" {
        return None;
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_texts_are_quoted_safely() {
        assert_eq!(ident("a`b"), "`a``b`");
        assert_eq!(literal("it's a \\ test"), "'it''s a \\\\ test'");
    }

    #[test]
    fn batch_values_are_unescaped() {
        assert_eq!(unescape("NULL"), None);
        assert_eq!(unescape("a\\nb\\tc\\\\d").as_deref(), Some("a\nb\tc\\d"));
    }

    #[test]
    fn client_errors_say_what_to_check() {
        let text = explain("ERROR 1045 (28000): Access denied for user 'x'@'localhost'");
        assert!(text.contains("password_env"), "{text}");
    }
}
