//! One session of a client tool (`psql`, `mysql`) fed statements one at a time, each
//! confirmed before the next is sent: for a transaction Coffer keeps open across steps
//! (`postgres/held.rs`), or a switch whose steps a test kills Coffer between
//! (`postgres/switch.rs`, `mysql/switch.rs`) — one connection, so the steps follow each
//! other within milliseconds.
//!
//! Nothing is committed that Coffer did not commit: the session opens no transaction of its
//! own (not `psql -1`, which commits when its input ends), so a transaction left open by a
//! session that ends any other way — a failing statement (the tool stops at the first
//! error), Coffer killed (the tool dies with it, or sees its input end) — is rolled back by
//! the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// The line the tool prints once everything sent before has run.
const MARK: &str = "coffer-step-done";

pub struct Session {
    tool: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    errors: Option<JoinHandle<String>>,
    /// The statement that makes the tool print [`MARK`] (its own syntax).
    echo: String,
}

impl Session {
    /// Starts `command`, a client reading statements on its standard input and printing
    /// rows on its standard output as soon as they come (unbuffered). `echo` makes it print
    /// its argument on a line of its own (`\echo {}` for psql, `SELECT '{}';` for mysql).
    pub fn open(
        tool: &'static str,
        mut command: Command,
        echo: fn(&str) -> String,
    ) -> Result<Self> {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = super::spawn(tool, &mut command)?;
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
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(Session {
            tool,
            child,
            stdin: Some(stdin),
            lines,
            errors: Some(errors),
            echo: echo(MARK),
        })
    }

    /// Sends `sql` without waiting for it to run.
    pub fn send(&mut self, sql: &str) -> Result<()> {
        let sent = match &mut self.stdin {
            Some(stdin) => stdin.write_all(sql.as_bytes()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        sent.map_err(|_| self.failure())
    }

    /// The session's input, for a stream of statements (`pg_restore --file=-`).
    pub fn input(&mut self) -> Option<&mut ChildStdin> {
        self.stdin.as_mut()
    }

    /// Waits until the tool has run everything sent so far without error; the rows it
    /// printed.
    pub fn confirm(&mut self) -> Result<Vec<String>> {
        let echo = format!("\n{}\n", self.echo);
        self.send(&echo)?;
        if let Some(stdin) = &mut self.stdin {
            let _ = stdin.flush();
        }
        let mut rows = Vec::new();
        loop {
            match self.lines.recv() {
                Ok(line) if line == MARK => return Ok(rows),
                Ok(line) => rows.push(line),
                Err(_) => return Err(self.failure()),
            }
        }
    }

    /// Sends `sql` and waits until it has run; the rows it printed.
    pub fn run(&mut self, sql: &str) -> Result<Vec<String>> {
        self.send(sql)?;
        self.confirm()
    }

    /// Ends the session: what is not committed is rolled back.
    pub fn close(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }

    /// The tool stopped (at an error) or cannot be fed: its error output says why.
    pub fn failure(&mut self) -> Error {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = self
            .errors
            .take()
            .and_then(|errors| errors.join().ok())
            .unwrap_or_default();
        Error::Source(format!(
            "{}: {}",
            self.tool,
            super::tail(text.as_bytes()).trim()
        ))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
