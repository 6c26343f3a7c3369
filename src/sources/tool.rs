//! Running a database client tool (`pg_dump`, `mysqldump`, `pg_restore`, `mysql` …) as a
//! child process: its output spooled to a file or its input fed from one, progress reported
//! against an estimate while it runs, stopped when the task is cancelled, and its error
//! output kept (the tail) for a message that says why it failed. Passwords go to the child
//! through its environment (`PGPASSWORD`, `MYSQL_PWD`), never its arguments.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::engine::progress::{Progress, ProgressSink};
use crate::error::{Error, IoContext, Result};

/// How much of a tool's error output a message keeps (the end says why it failed).
const STDERR_TAIL: usize = 4096;
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// A tool run as one phase of a task.
pub struct ToolRun<'a> {
    /// The program, for messages (`pg_dump`).
    pub tool: &'static str,
    /// The phase shown in progress (`dumping shop`).
    pub phase: String,
    /// Expected bytes (database size, dump size); 0 when unknown.
    pub estimate: u64,
    pub progress: &'a dyn ProgressSink,
}

impl ToolRun<'_> {
    pub fn report(&self, done: u64) {
        self.progress.report(&Progress {
            phase: self.phase.clone(),
            bytes_done: done,
            // A database's size on disk is only an estimate of its dump: never show >100%.
            bytes_total: self.estimate.max(done),
            files_done: 0,
            files_total: 1,
        });
    }
}

/// Runs `command` with its standard output written to `spool` (created); returns the bytes
/// written. A failing or cancelled tool is an error; the caller's scratch folder (which
/// holds the spool) removes what it wrote.
pub fn spool_output(run: &ToolRun, mut command: Command, spool: &Path) -> Result<u64> {
    let out = File::create(spool).ctx(|| format!("creating {}", spool.display()))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::piped());
    let mut child = spawn(run.tool, &mut command)?;
    let stderr = collect_stderr(&mut child);
    let status = watch(run, &mut child, || {
        std::fs::metadata(spool).map(|m| m.len()).unwrap_or(0)
    });
    finish(run.tool, status, stderr)?;
    let written = std::fs::metadata(spool)
        .ctx(|| format!("reading {}", spool.display()))?
        .len();
    run.report(written);
    Ok(written)
}

/// Runs `command` with `input` fed to its standard input; returns its standard output
/// (expected to be small: a load's notices).
pub fn feed_input(run: &ToolRun, mut command: Command, input: &Path) -> Result<String> {
    let mut file = File::open(input).ctx(|| format!("opening {}", input.display()))?;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(run.tool, &mut command)?;
    let stderr = collect_stderr(&mut child);
    let stdout = collect(child.stdout.take(), usize::MAX);
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut buffer = vec![0u8; 256 * 1024];
    let mut fed = 0u64;
    let mut last_report = Instant::now();
    let feeding = loop {
        if run.progress.should_stop() {
            break Err(Error::Cancelled);
        }
        let n = match file.read(&mut buffer) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => {
                break Err(Error::Io {
                    context: format!("reading {}", input.display()),
                    source: e,
                })
            }
        };
        // A broken pipe means the tool stopped early: its exit status and error say why.
        if stdin.write_all(&buffer[..n]).is_err() {
            break Ok(());
        }
        fed += n as u64;
        if last_report.elapsed() >= REPORT_EVERY {
            run.report(fed);
            last_report = Instant::now();
        }
    };
    drop(stdin);
    if let Err(e) = feeding {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let status = watch(run, &mut child, || fed);
    finish(run.tool, status, stderr)?;
    run.report(fed);
    Ok(String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned())
}

/// Runs `command` to its end (its output discarded, the tail of its error output kept for
/// the message), reporting `done()` against the estimate: a load whose progress is measured
/// elsewhere (`pg_restore -d`: the size of the database it fills).
pub fn run_watched(run: &ToolRun, mut command: Command, done: impl Fn() -> u64) -> Result<()> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = spawn(run.tool, &mut command)?;
    let stderr = collect_stderr(&mut child);
    let status = watch(run, &mut child, done);
    finish(run.tool, status, stderr)
}

/// Runs a short command (a version query, `pg_restore --list`) and returns its output.
pub fn output(tool: &'static str, mut command: Command) -> Result<String> {
    command.stdin(Stdio::null());
    let out = command.output().map_err(|e| spawn_error(tool, e))?;
    if !out.status.success() {
        return Err(Error::Source(format!(
            "{tool} failed ({}): {}",
            out.status,
            tail(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn spawn(tool: &'static str, command: &mut Command) -> Result<Child> {
    command.spawn().map_err(|e| spawn_error(tool, e))
}

fn spawn_error(tool: &str, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::Source(format!(
            "{tool} is not installed (or not on PATH): Coffer needs it for this source"
        ))
    } else {
        Error::Source(format!("cannot start {tool}: {e}"))
    }
}

/// Waits for the child, reporting `done()` as progress and killing it when the task is
/// cancelled.
fn watch(run: &ToolRun, child: &mut Child, done: impl Fn() -> u64) -> Result<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => {
                return Err(Error::Source(format!("waiting for {}: {e}", run.tool)));
            }
        }
        if run.progress.should_stop() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Cancelled);
        }
        run.report(done());
        std::thread::sleep(REPORT_EVERY);
    }
}

fn finish(
    tool: &'static str,
    status: Result<ExitStatus>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
) -> Result<()> {
    let status = status?;
    let stderr = stderr.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    Err(Error::Source(format!(
        "{tool} failed ({status}): {}",
        tail(&stderr).trim()
    )))
}

fn collect_stderr(child: &mut Child) -> std::thread::JoinHandle<Vec<u8>> {
    collect(child.stderr.take(), STDERR_TAIL)
}

/// Reads a pipe to its end on a thread (so the child never blocks on a full pipe), keeping
/// at most the last `keep` bytes.
fn collect<R: Read + Send + 'static>(
    pipe: Option<R>,
    keep: usize,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let Some(mut pipe) = pipe else {
            return kept;
        };
        let mut buffer = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buffer[..n]);
            if kept.len() > keep.saturating_mul(2) {
                kept.drain(..kept.len() - keep);
            }
        }
        if kept.len() > keep {
            kept.drain(..kept.len() - keep);
        }
        kept
    })
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::progress::SharedProgress;

    fn run(progress: &SharedProgress) -> ToolRun<'_> {
        ToolRun {
            tool: "sh",
            phase: "testing".into(),
            estimate: 10,
            progress,
        }
    }

    #[test]
    fn output_is_spooled_and_failures_keep_the_error_text() {
        let dir = tempfile::tempdir().unwrap();
        let progress = SharedProgress::default();
        let spool = dir.path().join("out");
        let mut ok = Command::new("sh");
        ok.args(["-c", "printf hello"]);
        assert_eq!(spool_output(&run(&progress), ok, &spool).unwrap(), 5);
        assert_eq!(std::fs::read(&spool).unwrap(), b"hello");
        assert_eq!(progress.snapshot().bytes_done, 5);

        let mut bad = Command::new("sh");
        bad.args(["-c", "echo 'server closed the connection' >&2; exit 3"]);
        let err = spool_output(&run(&progress), bad, &spool).unwrap_err();
        assert!(
            err.to_string().contains("server closed the connection"),
            "{err}"
        );
    }

    #[test]
    fn input_is_fed_and_a_missing_tool_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::write(&input, b"abc\n").unwrap();
        let progress = SharedProgress::default();
        let out = feed_input(&run(&progress), Command::new("cat"), &input).unwrap();
        assert_eq!(out, "abc\n");
        let err = feed_input(&run(&progress), Command::new("no-such-tool-x"), &input).unwrap_err();
        assert!(err.to_string().contains("not installed"), "{err}");
    }

    #[test]
    fn a_cancelled_task_stops_the_tool() {
        let dir = tempfile::tempdir().unwrap();
        let progress = SharedProgress::default();
        progress.request_stop();
        let mut slow = Command::new("sleep");
        slow.arg("30");
        let started = Instant::now();
        let err = spool_output(&run(&progress), slow, &dir.path().join("out")).unwrap_err();
        assert!(matches!(err, Error::Cancelled));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
