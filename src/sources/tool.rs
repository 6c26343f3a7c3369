//! Running a database client tool (`pg_dump`, `mysqldump`, `pg_restore`, `mysql` …) as a
//! child process: its output spooled to a file or its input fed from one, progress reported
//! against an estimate while it runs, stopped when the task is cancelled, and its error
//! output kept (the tail) for a message that says why it failed. Passwords go to the child
//! through its environment (`PGPASSWORD`, `MYSQL_PWD`), never its arguments.
//!
//! No child outlives Coffer. A SIGKILLed Coffer runs no clean-up, so every child is started
//! with the kernel's parent-death signal (`PR_SET_PDEATHSIG`, SIGKILL): it dies with the
//! thread that started it, and every caller waits for its child on the thread that
//! started it (a child kept across steps, like the temporary `redis-server`, lives on the
//! restore's thread). After setting it, the child checks that its parent is still the
//! process that started it: had Coffer died in between, no signal would ever come.
//!
//! The signal is not inherited by processes a tool forks itself, and `pg_restore -j`'s
//! workers, measured, carry on to the end of the table they are loading (or index they are
//! building) after their leader is killed, then exit. So a tool that forks runs under
//! [`run_watched_group`]: a small `sh` leads a process group of its own holding the tool
//! and everything it forks; its parent-death signal (SIGTERM, which it traps) makes it kill
//! the whole group, and cancelling kills the group too.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub mod session;
pub use session::Session;

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

/// Runs `command` with `input` fed to its standard input line by line, each line as
/// `rewrite` makes it (`None`: as it is); returns its standard output (expected to be
/// small: a load's notices).
pub fn feed_input(
    run: &ToolRun,
    mut command: Command,
    input: &Path,
    mut rewrite: impl FnMut(&[u8]) -> Option<Vec<u8>>,
) -> Result<String> {
    let file = File::open(input).ctx(|| format!("opening {}", input.display()))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(run.tool, &mut command)?;
    let stderr = collect_stderr(&mut child);
    let stdout = collect(child.stdout.take(), usize::MAX);
    let mut stdin =
        BufWriter::with_capacity(256 * 1024, child.stdin.take().expect("stdin is piped"));
    let mut line = Vec::new();
    let mut fed = 0u64;
    let mut last_report = Instant::now();
    let feeding = loop {
        if run.progress.should_stop() {
            break Err(Error::Cancelled);
        }
        line.clear();
        let n = match reader.read_until(b'\n', &mut line) {
            Ok(0) => {
                // A failed flush is a tool that stopped early: its exit status says why.
                let _ = stdin.flush();
                break Ok(());
            }
            Ok(n) => n,
            Err(e) => {
                break Err(Error::Io {
                    context: format!("reading {}", input.display()),
                    source: e,
                })
            }
        };
        let written = match rewrite(&line) {
            Some(other) => stdin.write_all(&other),
            None => stdin.write_all(&line),
        };
        // A broken pipe means the tool stopped early: its exit status and error say why.
        if written.is_err() {
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

/// Like [`run_watched`], for a tool that forks workers of its own (`pg_restore -j`): the
/// tool and its workers end with Coffer, or when the task is cancelled (see the module note).
pub fn run_watched_group(run: &ToolRun, command: Command, done: impl Fn() -> u64) -> Result<()> {
    let mut leader = group_leader(&command);
    leader
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = spawn_with(run.tool, &mut leader, libc::SIGTERM, true)?;
    let stderr = collect_stderr(&mut child);
    let status = watch(run, &mut child, done);
    finish(run.tool, status, stderr)
}

/// Runs `command` (an operator's hook) in a process group of its own, like
/// [`run_watched_group`], for at most `limit`: past it, or when the task is cancelled, the
/// whole group is killed. Returns the exit status and the tail of its output (standard
/// output, then error output).
pub fn run_group_for(
    run: &ToolRun,
    command: Command,
    limit: Duration,
) -> Result<(Option<ExitStatus>, String)> {
    let mut leader = group_leader(&command);
    leader
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn_with(run.tool, &mut leader, libc::SIGTERM, true)?;
    let stdout = collect(child.stdout.take(), STDERR_TAIL);
    let stderr = collect_stderr(&mut child);
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => return Err(Error::Source(format!("waiting for {}: {e}", run.tool))),
        }
        let cancelled = run.progress.should_stop();
        if cancelled || Instant::now() >= deadline {
            kill_group(&child);
            let _ = child.kill();
            let _ = child.wait();
            if cancelled {
                return Err(Error::Cancelled);
            }
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = tail(&stdout.join().unwrap_or_default());
    let errors = tail(&stderr.join().unwrap_or_default());
    if !errors.trim().is_empty() {
        if !output.is_empty() && !output.ends_with('\n') {
            output.push('\n');
        }
        output.push_str(&errors);
    }
    Ok((status, output.trim_end().to_string()))
}

/// `sh`, leading a process group of its own, runs `command` in it and, when the parent-death
/// signal (SIGTERM) comes, kills the whole group: the tool and every process it forked.
/// The trap is set before the tool starts; a signal before that ends `sh` alone, the tool
/// not started yet. The tool's exit status is `sh`'s.
fn group_leader(command: &Command) -> Command {
    let mut leader = Command::new("sh");
    leader
        .arg("-c")
        .arg("trap 'kill -9 0' TERM\n\"$@\" &\nwait $!")
        .arg("coffer-tool-group")
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => leader.env(name, value),
            None => leader.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        leader.current_dir(dir);
    }
    leader
}

/// Runs a short command (a version query, `pg_restore --list`) and returns its output.
pub fn output(tool: &'static str, mut command: Command) -> Result<String> {
    command.stdin(Stdio::null());
    die_with_coffer(&mut command);
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

/// Starts `command`, tied to Coffer's life (see the module note).
pub fn spawn(tool: &'static str, command: &mut Command) -> Result<Child> {
    spawn_with(tool, command, libc::SIGKILL, false)
}

fn spawn_with(
    tool: &'static str,
    command: &mut Command,
    signal: libc::c_int,
    own_group: bool,
) -> Result<Child> {
    tie(command, signal, own_group);
    command.spawn().map_err(|e| spawn_error(tool, e))
}

/// Makes `command`'s process die (SIGKILL) when the thread that starts it ends, which for
/// every child Coffer starts is when Coffer ends (see the module note). For children not
/// started through this module (`redis-server`, the MySQL admin client, a `psql` session).
pub fn die_with_coffer(command: &mut Command) {
    tie(command, libc::SIGKILL, false);
}

fn tie(command: &mut Command, signal: libc::c_int, own_group: bool) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (setpgid, prctl, getppid); it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if own_group && libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Coffer died before the signal was set: none will come, so do not start.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
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
            kill_group(child);
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Cancelled);
        }
        run.report(done());
        std::thread::sleep(REPORT_EVERY);
    }
}

/// Kills the process group `child` leads, if it leads one (a plain child does not, and
/// then `-pid` names no group: nothing happens). Only called before the child is reaped,
/// so its id cannot have been reused.
fn kill_group(child: &Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: sending a signal has no memory-safety preconditions.
    unsafe {
        if libc::getpgid(pid) == pid {
            libc::kill(-pid, libc::SIGKILL);
        }
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
        std::fs::write(&input, b"abc\nskip\ndef").unwrap();
        let rewrite = |line: &[u8]| (line == b"skip\n").then(|| b"SKIPPED\n".to_vec());
        let out = feed_input(&run(&progress), Command::new("cat"), &input, rewrite).unwrap();
        assert_eq!(out, "abc\nSKIPPED\ndef");
        let err = feed_input(
            &run(&progress),
            Command::new("no-such-tool-x"),
            &input,
            |_| None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("not installed"), "{err}");
    }

    /// Live processes whose command line holds `marker` (zombies have none).
    fn running(marker: &str) -> usize {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .filter(|line| String::from_utf8_lossy(line).contains(marker))
            .count()
    }

    fn wait_for(mut done: impl FnMut() -> bool) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// `sleep <unique seconds>`, so the test finds its own processes.
    fn unique_sleep() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        format!("300.{}{nanos:09}", std::process::id())
    }

    #[test]
    fn a_tool_and_what_it_forks_die_with_the_thread_that_started_them() {
        // A plain child: the parent-death signal. The handle comes back to be reaped.
        let alone = unique_sleep();
        let seconds = alone.clone();
        let mut child = std::thread::spawn(move || {
            let mut sleep = Command::new("sleep");
            sleep.arg(&seconds);
            let child = spawn("sleep", &mut sleep).unwrap();
            assert!(wait_for(|| running(&seconds) == 1));
            child
        })
        .join()
        .unwrap();
        assert!(
            wait_for(|| running(&alone) == 0),
            "the child outlived its thread"
        );
        let _ = child.wait();

        // A tool that forks (two workers): its group goes with the thread that started it.
        let forked = unique_sleep();
        let seconds = forked.clone();
        let mut leader = std::thread::spawn(move || {
            let mut tool = Command::new("sh");
            tool.args(["-c", &format!("sleep {seconds} & sleep {seconds} & wait")]);
            let leader = spawn_with("sh", &mut group_leader(&tool), libc::SIGTERM, true).unwrap();
            assert!(wait_for(|| running(&seconds) >= 2), "the workers started");
            leader
        })
        .join()
        .unwrap();
        assert!(
            wait_for(|| running(&forked) == 0),
            "the tool's workers outlived the thread that started the tool"
        );
        let _ = leader.wait();
    }

    #[test]
    fn cancelling_a_tool_that_forks_stops_its_workers_too() {
        let seconds = unique_sleep();
        let progress = std::sync::Arc::new(SharedProgress::default());
        let stopper = {
            let (progress, seconds) = (progress.clone(), seconds.clone());
            std::thread::spawn(move || {
                assert!(wait_for(|| running(&seconds) >= 2), "the workers started");
                progress.request_stop();
            })
        };
        let mut tool = Command::new("sh");
        tool.args(["-c", &format!("sleep {seconds} & sleep {seconds} & wait")]);
        let err = run_watched_group(&run(&progress), tool, || 0).unwrap_err();
        stopper.join().unwrap();
        assert!(matches!(err, Error::Cancelled), "{err}");
        assert!(wait_for(|| running(&seconds) == 0), "workers left running");

        // A tool that ends by itself reports its exit status through the leader.
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo 'no such table' >&2; exit 3"]);
        let err = run_watched_group(&run(&SharedProgress::default()), failing, || 0).unwrap_err();
        assert!(err.to_string().contains("no such table"), "{err}");
        assert!(err.to_string().contains("exit status: 3"), "{err}");
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
