//! A temporary `redis-server` that loads a restored `dump.rdb`: on a free loopback port,
//! `--protected-mode yes`, a random password (in a 0600 config file, not on the command
//! line), no persistence, and `sanitize-dump-payload yes` so a damaged snapshot is refused
//! while loading rather than copied. Loading it is the validation of the dump; the keys are
//! then copied across from it (`copy.rs`). Dropping it stops the server; a killed Coffer
//! takes it along (the parent-death signal, `tool.rs`).

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::conn::{info, info_field, open_at, Conn, Endpoint, Reply};
use crate::engine::progress::{Progress, ProgressSink};
use crate::error::{Error, IoContext, Result};

const CONFIG_FILE: &str = "coffer-redis.conf";
const LOG_FILE: &str = "coffer-redis.log";
const RDB_FILE: &str = "dump.rdb";
/// Connecting to a local server that is starting: short waits, many tries.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(10);

pub struct TempServer {
    child: Child,
    port: u16,
    password: String,
    dir: PathBuf,
}

impl TempServer {
    /// Starts `redis-server` in `dir` (which holds `dump.rdb`) and waits until the snapshot
    /// is loaded. `databases` must cover every database number the snapshot holds.
    pub fn start(dir: &Path, databases: u32, progress: &dyn ProgressSink) -> Result<TempServer> {
        let rdb = dir.join(RDB_FILE);
        if !rdb.is_file() {
            return Err(Error::Archive(format!(
                "the backup holds no {RDB_FILE} for this source (looked in {})",
                dir.display()
            )));
        }
        super::sync::check_magic(&rdb).map_err(|e| Error::Archive(e.to_string()))?;
        // Port 0 is not allowed by redis: take a free port from the kernel and hand it over.
        // Another program may grab it in between; the server then fails to bind and we retry.
        let mut last = None;
        for _ in 0..3 {
            let port = free_port()?;
            let server = TempServer::spawn(dir, port, databases)?;
            crate::faults::point("redis.stage.started");
            match server.wait_loaded(progress) {
                Ok(server) => return Ok(server),
                Err(Retry::Port(e)) => last = Some(e),
                Err(Retry::No(e)) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Source("redis-server did not start".into())))
    }

    fn spawn(dir: &Path, port: u16, databases: u32) -> Result<TempServer> {
        let password = uuid::Uuid::new_v4().simple().to_string();
        let config = format!(
            "port {port}\nbind 127.0.0.1\nprotected-mode yes\ndaemonize no\n\
             dir {}\ndbfilename {RDB_FILE}\nsave \"\"\nappendonly no\n\
             databases {databases}\nrequirepass {password}\nlogfile {}\nloglevel notice\n\
             sanitize-dump-payload yes\n",
            quote(dir),
            quote(&dir.join(LOG_FILE)),
        );
        let config_path = dir.join(CONFIG_FILE);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&config_path)
            .ctx(|| format!("writing {}", config_path.display()))?;
        std::io::Write::write_all(&mut file, config.as_bytes())
            .ctx(|| format!("writing {}", config_path.display()))?;
        let _ = fs::remove_file(dir.join(LOG_FILE));
        let mut command = Command::new("redis-server");
        command
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // It holds the whole snapshot in memory: it must not outlive a killed Coffer. It is
        // started, used and stopped on the restore's thread, which is what the signal follows.
        crate::sources::tool::die_with_coffer(&mut command);
        let child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Source(
                    "redis-server is not installed (or not on PATH): Coffer loads a Redis \
                         snapshot into a temporary redis-server to restore it"
                        .into(),
                )
            } else {
                Error::Source(format!("cannot start redis-server: {e}"))
            }
        })?;
        Ok(TempServer {
            child,
            port,
            password,
            dir: dir.to_path_buf(),
        })
    }

    /// Waits for the server to answer PING (it answers `-LOADING` while it loads).
    fn wait_loaded(mut self, progress: &dyn ProgressSink) -> Result<TempServer, Retry> {
        let started = Instant::now();
        loop {
            if progress.should_stop() {
                return Err(Retry::No(Error::Cancelled));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log_tail();
                if log.contains("Address already in use") {
                    return Err(Retry::Port(Error::Source(format!(
                        "redis-server could not listen on 127.0.0.1:{}: {log}",
                        self.port
                    ))));
                }
                return Err(Retry::No(Error::Source(format!(
                    "the Redis snapshot could not be loaded into a temporary redis-server \
                     ({status}); the target was not touched: {log}"
                ))));
            }
            if let Ok(mut conn) = self.connect() {
                match conn.call(&[b"PING"]) {
                    Ok(Reply::Status(_)) => {
                        // Make sure it is our server on that port, not one that took it.
                        let ours = info(&mut conn, "server")
                            .ok()
                            .and_then(|f| info_field(&f, "process_id"))
                            .is_some_and(|pid| pid == self.child.id().to_string());
                        if ours {
                            return Ok(self);
                        }
                        return Err(Retry::Port(Error::Source(format!(
                            "another program answered on 127.0.0.1:{}",
                            self.port
                        ))));
                    }
                    Ok(Reply::Error(e)) if e.starts_with("LOADING") => {
                        report_loading(&mut conn, progress);
                    }
                    _ if started.elapsed() > LOCAL_TIMEOUT * 3 => {
                        return Err(Retry::Port(Error::Source(format!(
                            "the temporary redis-server on 127.0.0.1:{} does not answer",
                            self.port
                        ))))
                    }
                    _ => {}
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A new authenticated connection.
    pub fn connect(&self) -> Result<Conn> {
        open_at(
            Endpoint {
                label: format!("temporary redis-server 127.0.0.1:{}", self.port),
                host: "127.0.0.1",
                port: self.port,
                user: None,
                password: Some(&self.password),
            },
            LOCAL_TIMEOUT,
        )
    }

    /// The end of the server's log: why it refused the snapshot.
    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = fs::File::open(self.dir.join(LOG_FILE)) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains('#') || l.contains("FATAL") || l.contains("rror"))
            .collect();
        let start = lines.len().saturating_sub(4);
        let tail = lines[start..].join(" | ");
        if tail.is_empty() {
            "no reason in its log".into()
        } else {
            tail
        }
    }
}

impl Drop for TempServer {
    /// Stops the server (it saves nothing) and removes its config and log.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(self.dir.join(CONFIG_FILE));
        let _ = fs::remove_file(self.dir.join(LOG_FILE));
    }
}

enum Retry {
    /// The port was taken: try another.
    Port(Error),
    No(Error),
}

fn report_loading(conn: &mut Conn, progress: &dyn ProgressSink) {
    let Ok(fields) = info(conn, "persistence") else {
        return;
    };
    let number = |name| {
        info_field(&fields, name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    progress.report(&Progress {
        phase: "loading the Redis snapshot".into(),
        bytes_done: number("loading_loaded_bytes"),
        bytes_total: number("loading_total_bytes"),
        files_done: 0,
        files_total: 1,
    });
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").ctx(|| "finding a free port".into())?;
    let port = listener
        .local_addr()
        .ctx(|| "finding a free port".into())?
        .port();
    Ok(port)
}

/// A path as a quoted redis config argument.
fn quote(path: &Path) -> String {
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The version of the local `redis-server` (`7.0.15`), which restores need.
pub fn local_version() -> Result<String> {
    let mut command = Command::new("redis-server");
    command.arg("--version");
    let out = crate::sources::tool::output("redis-server", command)?;
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .map(str::to_string)
        .ok_or_else(|| Error::Source(format!("redis-server --version said: {}", out.trim())))
}
