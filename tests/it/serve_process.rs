//! The real `coffer serve` as a child process on a free loopback port, stopped with SIGTERM
//! (as a container runtime does) when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::TestEnv;

pub struct ServeProcess {
    child: Child,
    /// Where the console listens (`127.0.0.1:<free port>`).
    pub address: SocketAddr,
}

impl ServeProcess {
    /// Starts `coffer serve --bind 127.0.0.1:0` for `env`, the first user `admin` getting
    /// `admin_password`; returns once the console listens. Its log goes to `<env>/serve.log`.
    pub fn start(env: &TestEnv, admin_password: &str) -> ServeProcess {
        let mut command = env.command(&["serve", "--bind", "127.0.0.1:0"]);
        command
            .env("COFFER_ADMIN_PASSWORD", admin_password)
            .env("COFFER_LOG", "warn,coffer=info");
        ServeProcess::start_command(command, &env.path("serve.log"))
    }

    /// Starts `command` (a `coffer serve --bind 127.0.0.1:0`, set up by the caller: its
    /// folder, environment, first admin), its log going to `log`; returns once it listens.
    pub fn start_command(mut command: Command, log_path: &Path) -> ServeProcess {
        let log = std::fs::File::create(log_path).unwrap();
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("coffer serve starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(address) = line
            .trim()
            .strip_prefix("Coffer console on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|address| address.parse::<SocketAddr>().ok())
        else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            panic!("coffer serve did not start: {line:?}\n{log}");
        };
        ServeProcess { child, address }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of a child this process started and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
