//! Debian's nginx running the shipped `nginx/` files from a folder of the test's own.
//!
//! The files are copied with only the replacements their header comments list: where things
//! live (pid, logs, temporary folders, the site file, the certificate folder), the user, and —
//! for a running proxy — the upstream and the listen ports. Each replaced text must be found,
//! so a changed shipped file fails here instead of being tested half-replaced.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where the shipped files are.
fn shipped(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("nginx")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with every `from` replaced; `from` must occur.
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the shipped nginx config no longer holds `{from}`: update tests/it/nginx_proxy"
    );
    text.replace(from, to)
}

/// The listen ports and upstream of a proxy that really runs.
pub struct Ports {
    pub http: u16,
    pub https: u16,
    pub upstream: SocketAddr,
}

/// An installed copy of the shipped configuration.
pub struct Install {
    pub prefix: PathBuf,
    pub main_conf: PathBuf,
}

impl Install {
    /// Copies `nginx/nginx.conf` and `nginx/coffer.conf` into `prefix`, serving the
    /// certificate files of `tls_dir` (`fullchain.pem`, `privkey.pem`). Without `ports`, the
    /// listen lines stay as shipped (80, 443) and the upstream becomes 127.0.0.1:8080: enough
    /// for `nginx -t`, which binds nothing but resolves the upstream's name.
    pub fn new(prefix: &Path, tls_dir: &Path, ports: Option<&Ports>) -> Install {
        std::fs::create_dir_all(prefix).unwrap();
        // The worker processes (nobody, when the test runs as root) reach into this folder.
        std::fs::set_permissions(prefix, std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = prefix.display().to_string();

        let mut main = shipped("nginx.conf");
        main = replace(&main, "user nginx;\n", "");
        main = replace(&main, "/var/run/nginx.pid", &format!("{p}/nginx.pid"));
        main = replace(&main, "/var/log/nginx/", &format!("{p}/"));
        main = replace(&main, "/var/cache/nginx/", &format!("{p}/"));
        main = replace(&main, "/etc/nginx/conf.d/", &format!("{p}/"));

        let mut site = shipped("coffer.conf");
        site = replace(&site, "/etc/nginx/tls/", &format!("{}/", tls_dir.display()));
        let upstream = ports.map_or("127.0.0.1:8080".to_string(), |p| p.upstream.to_string());
        site = replace(&site, "server web:8080;", &format!("server {upstream};"));
        if let Some(ports) = ports {
            site = replace(
                &site,
                "listen 80;",
                &format!("listen 127.0.0.1:{};", ports.http),
            );
            site = replace(
                &site,
                "listen 443 ssl http2;",
                &format!("listen 127.0.0.1:{} ssl http2;", ports.https),
            );
            site = replace(
                &site,
                "https://$host$request_uri",
                &format!("https://$host:{}$request_uri", ports.https),
            );
        }
        let main_conf = prefix.join("nginx.conf");
        std::fs::write(&main_conf, main).unwrap();
        std::fs::write(prefix.join("coffer.conf"), site).unwrap();
        Install {
            prefix: prefix.to_path_buf(),
            main_conf,
        }
    }

    fn command(&self) -> Command {
        // Debian puts it in /usr/sbin, which is not on every user's PATH.
        let program = if Path::new("/usr/sbin/nginx").exists() {
            "/usr/sbin/nginx"
        } else {
            "nginx"
        };
        let mut command = Command::new(program);
        command
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(&self.main_conf);
        command
    }

    /// `nginx -t` on this copy.
    pub fn test(&self) -> Output {
        self.command()
            .arg("-t")
            .output()
            .expect("nginx is installed (Debian package `nginx`)")
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.prefix.join("error.log")).unwrap_or_default()
    }

    /// Starts nginx in the foreground; returns when it accepts connections on `https_port`.
    pub fn start(&self, https_port: u16) -> RunningNginx {
        let mut child = self
            .command()
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx is installed (Debian package `nginx`)");
        let started = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", https_port)).is_ok() {
                return RunningNginx { child };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("nginx stopped ({status}):\n{}", self.error_log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nginx does not listen on {https_port}:\n{}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// nginx's master process; stopped with SIGTERM (its workers stop with it), SIGKILL if need be.
pub struct RunningNginx {
    child: Child,
}

impl Drop for RunningNginx {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of a child this process started and has not reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free at the moment of asking.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
