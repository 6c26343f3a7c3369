//! Where the passphrase of a key export comes from — never the command line, where other
//! users (`ps`) and shell histories would see it: a file named by `--passphrase-file`, the
//! variable `COFFER_KEY_PASSPHRASE` (for automation), or a prompt on the terminal with
//! echo off.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::OnceLock;

use crate::error::{Error, Result};

pub const PASSPHRASE_ENV: &str = "COFFER_KEY_PASSPHRASE";

/// The variable's value, once [`take_from_environment`] has moved it out of the environment.
static TAKEN: OnceLock<Option<String>> = OnceLock::new();

/// Moves the passphrase variable out of the process environment. Call it first thing in
/// `main`, before any thread starts: every child process Coffer runs (`pg_dump`,
/// `mariadb`, `redis-server`, …) inherits the environment, and none of them has any
/// business with the key export's passphrase.
pub fn take_from_environment() {
    let value = std::env::var(PASSPHRASE_ENV).ok();
    std::env::remove_var(PASSPHRASE_ENV);
    let _ = TAKEN.set(value);
}

/// The variable's value: the one taken at start, else (Coffer used as a library) the
/// environment's.
fn from_environment() -> Option<String> {
    match TAKEN.get() {
        Some(taken) => taken.clone(),
        None => std::env::var(PASSPHRASE_ENV).ok(),
    }
    .filter(|value| !value.is_empty())
}

/// The passphrase, from `file`, else the variable, else the terminal (asked twice when
/// `confirm`, for a new export).
pub fn read_passphrase(file: Option<&Path>, confirm: bool) -> Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Invalid(format!(
                "cannot read the passphrase file {}: {e}",
                path.display()
            ))
        })?;
        let line = text.lines().next().unwrap_or_default().to_string();
        return non_empty(line, &format!("the passphrase file {}", path.display()));
    }
    if let Some(value) = from_environment() {
        return Ok(value);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Invalid(format!(
            "no passphrase: give --passphrase-file FILE or set {PASSPHRASE_ENV}, or run this on a terminal"
        )));
    }
    let first = non_empty(prompt("Passphrase: ")?, "the passphrase")?;
    if confirm && prompt("Passphrase again: ")? != first {
        return Err(Error::Invalid("the two passphrases differ".into()));
    }
    Ok(first)
}

fn non_empty(value: String, what: &str) -> Result<String> {
    if value.is_empty() {
        return Err(Error::Invalid(format!("{what} is empty")));
    }
    Ok(value)
}

/// One line read from the controlling terminal with echo turned off (and back on).
fn prompt(question: &str) -> Result<String> {
    let failed = |e: std::io::Error| Error::Io {
        context: "asking for the passphrase on the terminal".into(),
        source: e,
    };
    let tty: File = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(failed)?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for an open terminal descriptor.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err(failed(std::io::Error::last_os_error()));
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    // SAFETY: sets the attributes of the same open descriptor from a valid termios value.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    let mut line = String::new();
    let result = (&tty)
        .write_all(question.as_bytes())
        .and_then(|()| BufReader::new(&tty).read_line(&mut line));
    // SAFETY: as above, putting back what was there.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    result.map_err(failed)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
