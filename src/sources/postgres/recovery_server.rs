//! A temporary PostgreSQL server on a restored base backup, for point-in-time recovery:
//! the local `postgres` of the backup's major version, run on the scratch data directory
//! with recovery settings appended to its `postgresql.auto.conf` (read last, so they win
//! over the backed-up configuration), reachable only through a Unix socket in a private
//! folder (`listen_addresses = ''`), with its own trust-only `pg_hba.conf` outside the data
//! directory. As root it runs as the `postgres` user (the server refuses root).
//!
//! The server is Coffer's own child process (not daemonised by `pg_ctl`), started with the
//! parent-death signal: a killed Coffer takes it along, and its backends follow their
//! postmaster. `stop` is a fast shutdown (SIGINT, what `pg_ctl stop -m fast` sends); drop
//! without `stop` is an immediate one.
//!
//! Settings that would make the copy act on the world are switched off: `archive_mode`
//! (its WAL must not land in the source's archive), `primary_conninfo`,
//! `synchronous_standby_names` (a promoted copy would wait for standbys forever), `ssl`
//! (its certificate files may not be here).

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};
use crate::sources::tool::{self, run_watched, ToolRun};

/// Where Debian's packages put each major version's programs.
const VERSIONS_DIR: &str = "/usr/lib/postgresql";
/// The marker line of the settings Coffer appends (and removes again for a data directory).
const MARK: &str = "# Added by Coffer for a point-in-time recovery";

/// How to start recovery.
pub struct RecoveryPlan<'a> {
    /// The restored data directory.
    pub data: &'a Path,
    /// A private folder outside the data directory: `pg_hba.conf`, the server's log.
    pub work: &'a Path,
    /// A private folder with a short path for the server's socket.
    pub socket_dir: &'a Path,
    /// The backup's major version: the programs run are of this version.
    pub major: u32,
    /// `restore_command`, a shell command line with `%f` and `%p`.
    pub restore_command: String,
    /// `recovery_target*` settings: name and (unquoted) value.
    pub target: Vec<(&'static str, String)>,
    /// The role the copy is queried and dumped as.
    pub role: String,
}

/// The directory holding `postgres` of major version `major`.
pub fn server_programs(major: u32) -> Result<PathBuf> {
    let bin = Path::new(VERSIONS_DIR).join(major.to_string()).join("bin");
    if bin.join("postgres").is_file() {
        return Ok(bin);
    }
    // Another packaging: a `postgres` on PATH of the right version.
    if let Ok(text) = tool::output("postgres", {
        let mut c = Command::new("postgres");
        c.arg("--version");
        c
    }) {
        let found = text
            .split_whitespace()
            .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            .and_then(|v| v.split('.').next()?.parse::<u32>().ok());
        if found == Some(major) {
            if let Some(dir) = which("postgres").and_then(|p| p.parent().map(Path::to_path_buf)) {
                return Ok(dir);
            }
        }
    }
    Err(Error::Refused(format!(
        "the PostgreSQL {major} server programs (postgres, pg_ctl) are not installed here: a \
         base backup of a PostgreSQL {major} server is recovered with the same major \
         version's programs (Debian: apt-get install postgresql-{major})"
    )))
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Who the server runs as: `postgres` when Coffer runs as root, else Coffer's own user.
pub fn server_user() -> Result<Option<(u32, u32)>> {
    if !rustix::process::geteuid().is_root() {
        return Ok(None);
    }
    let name = std::ffi::CString::new("postgres").expect("no NUL");
    // SAFETY: getpwnam returns a pointer into static storage or null; it is read at once,
    // on this thread, before any other call that could overwrite it.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return Err(Error::Refused(
            "Coffer runs as root and the server refuses root: a `postgres` user must exist to \
             run the temporary server as"
                .into(),
        ));
    }
    // SAFETY: checked non-null above.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some((uid, gid)))
}

/// Whether `user` can enter `folder` and read what is in it (run as that user: groups and
/// ACLs count).
pub fn can_read_folder(user: Option<(u32, u32)>, folder: &Path) -> bool {
    let Some((uid, gid)) = user else {
        return fs::read_dir(folder).is_ok();
    };
    use std::os::unix::process::CommandExt;
    Command::new("test")
        .arg("-r")
        .arg(folder)
        .arg("-a")
        .arg("-x")
        .arg(folder)
        .uid(uid)
        .gid(gid)
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Gives every entry under `root` (and `root`) to `user` (no link followed).
pub fn give_to(user: Option<(u32, u32)>, root: &Path) -> Result<()> {
    let Some((uid, gid)) = user else {
        return Ok(());
    };
    let own = |p: &Path| {
        std::os::unix::fs::lchown(p, Some(uid), Some(gid))
            .ctx(|| format!("giving {} to the postgres user", p.display()))
    };
    own(root)?;
    if fs::symlink_metadata(root).is_ok_and(|m| m.is_dir()) {
        for entry in fs::read_dir(root).ctx(|| format!("listing {}", root.display()))? {
            let entry = entry.ctx(|| format!("listing {}", root.display()))?;
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                give_to(user, &path)?;
            } else {
                own(&path)?;
            }
        }
    }
    Ok(())
}

/// A string value for a PostgreSQL configuration file: quoted, `'` doubled, `\` escaped.
pub fn conf_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// A word for `sh`: single-quoted, with `'` as `'\''`.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// `restore_command` copying WAL files from `wal_dir` (quoted for the shell; `%` doubled so
/// PostgreSQL leaves the folder's name alone). Refuses a name PostgreSQL could not carry.
pub fn copy_from(wal_dir: &Path) -> Result<String> {
    let text = wal_dir.to_str().filter(|t| !t.contains(['\n', '\r', '\0']));
    let text = text.ok_or_else(|| {
        Error::Invalid(format!(
            "the WAL folder {} has a name a restore_command cannot carry (not UTF-8, or a \
             line break)",
            wal_dir.display()
        ))
    })?;
    let from = format!("{}/%f", text.replace('%', "%%"));
    Ok(format!("cp {} \"%p\"", shell_quote(&from)))
}

/// The running temporary server.
pub struct RecoveryServer {
    child: Option<Child>,
    data: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    role: String,
    log: PathBuf,
    bin: PathBuf,
    /// `postgresql.auto.conf` as restored, put back by `forget_recovery_settings`.
    auto_conf: Option<Vec<u8>>,
    /// An empty `postgresql.conf` made because the backup had none (Debian keeps it in /etc).
    made_conf: bool,
}

impl RecoveryServer {
    /// Writes the settings and starts the server (not waiting for anything).
    pub fn start(plan: &RecoveryPlan, user: Option<(u32, u32)>) -> Result<RecoveryServer> {
        let bin = server_programs(plan.major)?;
        let data = plan.data;
        let conf = data.join("postgresql.conf");
        let made_conf = !conf.exists();
        if made_conf {
            fs::write(
                &conf,
                "# Made by Coffer: the backed-up server kept its configuration elsewhere.\n",
            )
            .ctx(|| format!("writing {}", conf.display()))?;
        }
        let auto = data.join("postgresql.auto.conf");
        let auto_conf = fs::read(&auto).ok();
        let hba = plan.work.join("pg_hba.conf");
        fs::write(&hba, "local all all trust\n").ctx(|| format!("writing {}", hba.display()))?;
        let ident = plan.work.join("pg_ident.conf");
        fs::write(&ident, "").ctx(|| format!("writing {}", ident.display()))?;
        let port = free_port()?;
        let mut settings: Vec<(&str, String)> = vec![
            ("listen_addresses", String::new()),
            ("port", port.to_string()),
            ("unix_socket_directories", path_text(plan.socket_dir)?),
            ("hba_file", path_text(&hba)?),
            ("ident_file", path_text(&ident)?),
            ("archive_mode", "off".into()),
            ("ssl", "off".into()),
            ("hot_standby", "on".into()),
            ("logging_collector", "off".into()),
            ("log_destination", "stderr".into()),
            ("primary_conninfo", String::new()),
            ("primary_slot_name", String::new()),
            ("synchronous_standby_names", String::new()),
            ("restore_command", plan.restore_command.clone()),
            ("recovery_target_action", "promote".into()),
        ];
        settings.extend(plan.target.iter().map(|(k, v)| (*k, v.clone())));
        let mut text = auto_conf
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(MARK);
        text.push('\n');
        for (name, value) in &settings {
            let value = match *name {
                "port" => value.clone(),
                _ => conf_quote(value),
            };
            text.push_str(&format!("{name} = {value}\n"));
        }
        fs::write(&auto, text).ctx(|| format!("writing {}", auto.display()))?;
        let signal = data.join("recovery.signal");
        fs::write(&signal, "").ctx(|| format!("writing {}", signal.display()))?;
        for path in [&conf, &auto, &signal, &hba, &ident] {
            give_to(user, path)?;
        }
        give_to(user, plan.socket_dir)?;
        give_to(user, plan.work)?;

        let log = plan.work.join("recovery.log");
        let log_file = fs::File::create(&log).ctx(|| format!("creating {}", log.display()))?;
        let mut command = Command::new(bin.join("postgres"));
        command
            .arg("-D")
            .arg(data)
            .current_dir(plan.work)
            .env_remove("PGDATA")
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                log_file
                    .try_clone()
                    .ctx(|| format!("opening {}", log.display()))?,
            ))
            .stderr(Stdio::from(log_file));
        if let Some((uid, gid)) = user {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        let child = tool::spawn("postgres", &mut command)?;
        Ok(RecoveryServer {
            child: Some(child),
            data: data.to_path_buf(),
            socket_dir: plan.socket_dir.to_path_buf(),
            port,
            role: plan.role.clone(),
            log,
            bin,
            auto_conf,
            made_conf,
        })
    }

    /// Waits until recovery has ended and the copy was promoted (it reached its target, or
    /// the end of the WAL when it has none). A server that stops, or makes no progress (no
    /// log line, no replayed WAL) for `stall`, is an error saying why. Returns the last WAL
    /// position replayed.
    pub fn wait_promoted(&mut self, stall: Duration) -> Result<u64> {
        let mut last = (0u64, String::new());
        let mut changed = Instant::now();
        loop {
            if let Some(status) = self.exited()? {
                return Err(self.failed(Some(status)));
            }
            let asked = self.query(
                "postgres",
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()",
            );
            if let Ok(row) = &asked {
                if let Some(replayed) = row.trim().strip_prefix("f|") {
                    return Ok(super::lsn::parse_lsn(replayed).unwrap_or(0));
                }
            }
            let now = (
                fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0),
                asked.unwrap_or_default(),
            );
            if now != last {
                last = now;
                changed = Instant::now();
            } else if changed.elapsed() > stall {
                return Err(Error::Source(format!(
                    "the temporary server made no progress for {} s while recovering: {}",
                    stall.as_secs(),
                    self.log_problems()
                        .unwrap_or_else(|| "nothing in its log says why".into())
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn exited(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => child
                .try_wait()
                .map_err(|e| Error::Source(format!("waiting for the temporary server: {e}"))),
            None => Ok(None),
        }
    }

    /// The error of a server that stopped: what recovery said, in words.
    fn failed(&mut self, status: Option<ExitStatus>) -> Error {
        self.child = None;
        let said = self.log_problems().unwrap_or_default();
        let why = if said.contains("recovery ended before configured recovery target was reached") {
            "the WAL ended before the target was reached (the target lies after the newest WAL \
             available, or a WAL file is missing)"
                .to_string()
        } else if said.contains("before consistent recovery point") {
            "the target lies before the base backup's end, where the copy becomes consistent"
                .to_string()
        } else {
            "the temporary server stopped".to_string()
        };
        let status = status.map(|s| format!(" ({s})")).unwrap_or_default();
        Error::Source(format!("recovery failed{status}: {why}: {said}"))
    }

    /// The FATAL / PANIC lines of the server's log (the last five), if any.
    fn log_problems(&self) -> Option<String> {
        let mut file = fs::File::open(&self.log).ok()?;
        let len = file.metadata().ok()?.len();
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(256 * 1024)));
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("FATAL:") || l.contains("PANIC:"))
            .collect();
        (!lines.is_empty()).then(|| lines[lines.len().saturating_sub(5)..].join("; "))
    }

    /// A client program connected to `database` of the copy through its socket.
    fn client(&self, program: &str, database: &str) -> Command {
        let mut command = super::program::command(program);
        for var in [
            "PGSERVICE",
            "PGSERVICEFILE",
            "PGPASSFILE",
            "PGOPTIONS",
            "PGPASSWORD",
        ] {
            command.env_remove(var);
        }
        command
            .env("PGHOST", &self.socket_dir)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", &self.role)
            .env("PGDATABASE", database)
            .env("PGCONNECT_TIMEOUT", "5")
            .env("PGAPPNAME", "coffer-recovery");
        command
    }

    /// Rows of `sql` in `database` of the copy (`psql -At`).
    pub fn query(&self, database: &str, sql: &str) -> Result<String> {
        let mut psql = self.client("psql", database);
        psql.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        tool::output("psql", psql)
    }

    /// `pg_dump -Fc` of `database` of the copy into `file` (as a backup's dump is made).
    pub fn dump(&self, database: &str, file: &Path, run: &ToolRun) -> Result<()> {
        let mut command = self.client("pg_dump", database);
        command
            .args(["--format=custom", "--compress=1", "--no-password", "--file"])
            .arg(file);
        run_watched(run, command, || {
            fs::metadata(file).map(|m| m.len()).unwrap_or(0)
        })
    }

    /// Fast shutdown (SIGINT), waiting for the server to be gone; then the copy is a
    /// cleanly shut down data directory.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        signal(&child, libc::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(Error::Source(format!(
                        "the temporary server did not shut down cleanly ({status}): {}",
                        self.log_problems().unwrap_or_default()
                    )))
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => {
                    self.child = Some(child);
                    return Err(Error::Source(
                        "the temporary server did not shut down within 120 s".into(),
                    ));
                }
            }
        }
    }

    /// After `stop`: the data directory's own settings again (what Coffer appended and the
    /// `postgresql.conf` it made are removed), ready for the operator's server.
    pub fn forget_recovery_settings(&self) -> Result<()> {
        let auto = self.data.join("postgresql.auto.conf");
        match &self.auto_conf {
            Some(bytes) => fs::write(&auto, bytes),
            None => fs::remove_file(&auto),
        }
        .ctx(|| format!("restoring {}", auto.display()))?;
        for (made, name) in [
            (self.made_conf, "postgresql.conf"),
            (true, "recovery.signal"),
        ] {
            let path = self.data.join(name);
            if made && path.exists() {
                fs::remove_file(&path).ctx(|| format!("removing {}", path.display()))?;
            }
        }
        Ok(())
    }

    /// The programs' folder (for `pg_controldata`, `pg_waldump` of the same version).
    pub fn programs(&self) -> &Path {
        &self.bin
    }
}

impl Drop for RecoveryServer {
    /// Not stopped: an immediate shutdown (SIGQUIT), then SIGKILL if it lingers.
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal(&child, libc::SIGQUIT);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid, which we have not yet waited for.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .ctx(|| "finding a free port for the temporary server".into())?;
    let port = listener
        .local_addr()
        .ctx(|| "finding a free port for the temporary server".into())?
        .port();
    Ok(port)
}

fn path_text(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::Invalid(format!("{} is not a UTF-8 path", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_odd_names_whole() {
        assert_eq!(conf_quote("a'b\\c"), "'a''b\\\\c'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(
            copy_from(Path::new("/srv/wal 100%/x'y")).unwrap(),
            "cp '/srv/wal 100%%/x'\\''y/%f' \"%p\""
        );
        assert!(copy_from(Path::new("/srv/a\nb")).is_err());
    }
}
