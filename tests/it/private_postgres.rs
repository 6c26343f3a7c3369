//! A PostgreSQL server of the test's own (initdb + pg_ctl as the `postgres` user, in a
//! temporary folder, on a free loopback port), so a test can stop and start it without
//! touching the machine's shared server that other tests use. Stopped when dropped.

use std::os::unix::fs::chown;
use std::path::PathBuf;
use std::process::Command;

pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    pub port: u16,
    /// `name=value` server settings given with `-c` at every start.
    settings: Vec<String>,
}

impl PrivatePostgres {
    pub fn start() -> PrivatePostgres {
        Self::start_with(&[])
    }

    /// A server ready for WAL streaming: `wal_level=replica`, `max_wal_senders=4` (initdb's
    /// pg_hba.conf already trusts replication connections from 127.0.0.1).
    pub fn start_for_replication() -> PrivatePostgres {
        Self::start_with(&["wal_level=replica", "max_wal_senders=4"])
    }

    /// A server started with these `name=value` settings (`-c`), at every start.
    pub fn start_with(settings: &[&str]) -> PrivatePostgres {
        let server = PrivatePostgres::init(settings);
        server.start_again();
        server
    }

    /// A server that archives its WAL (`archive_mode = on`, `archive_command = 'cp %p
    /// <wal_archive>/%f'`), with `wal_level = replica` and WAL senders for `pg_basebackup`:
    /// a real WAL folder for point-in-time recovery without a streamer.
    pub fn start_archiving() -> PrivatePostgres {
        let server = PrivatePostgres::init(&[]);
        let archive = server.wal_archive();
        std::fs::create_dir(&archive).unwrap();
        let (uid, gid) = postgres_user();
        chown(&archive, Some(uid), Some(gid)).unwrap();
        let settings = format!(
            "\nwal_level = replica\nmax_wal_senders = 4\narchive_mode = on\n\
             archive_command = 'cp %p {}/%f'\n",
            archive.display()
        );
        let conf = server.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&settings);
        std::fs::write(&conf, text).unwrap();
        server.start_again();
        server
    }

    /// Where an archiving server copies its finished WAL files.
    pub fn wal_archive(&self) -> PathBuf {
        self.dir.path().join("wal-archive")
    }

    /// Ends the current WAL file (`pg_switch_wal`) and waits until it is archived.
    pub fn switch_wal(&self) {
        let name = self.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        let file = self.wal_archive().join(&name);
        let started = std::time::Instant::now();
        while !file.exists() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{name} was not archived"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn init(settings: &[&str]) -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        let (uid, gid) = postgres_user();
        chown(dir.path(), Some(uid), Some(gid)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = PrivatePostgres {
            dir,
            port,
            settings: settings.iter().map(|s| s.to_string()).collect(),
        };
        server.as_postgres(&[
            "initdb",
            "--pgdata",
            &server.data().display().to_string(),
            "--auth=trust",
            "--username=postgres",
            "--no-sync",
            "--encoding=UTF8",
        ]);
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs SQL in database `db` of this server; returns what it printed (unaligned, no
    /// headers).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// `pg_ctl stop -m fast`: clients are disconnected, the server is gone until started.
    pub fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "fast"]);
    }

    pub fn start_again(&self) {
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        for setting in &self.settings {
            options.push_str(&format!(" -c {setting}"));
        }
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.pg_ctl(&["start", "-o", &options, "-l", &log]);
    }

    /// The server's data folder (its `pg_wal` holds the segments it wrote).
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data().display().to_string();
        let mut all = vec!["pg_ctl", "--pgdata", &data, "--wait"];
        all.extend_from_slice(args);
        self.as_postgres(&all);
    }

    fn as_postgres(&self, args: &[&str]) {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("runuser runs");
        assert!(
            out.status.success(),
            "{args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", "pg_ctl", "--pgdata", &data])
            .args(["--wait", "stop", "-m", "immediate"])
            .output();
    }
}

pub fn postgres_user() -> (u32, u32) {
    let out = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .unwrap();
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let out = Command::new("id")
        .args(["-g", "postgres"])
        .output()
        .unwrap();
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (uid, gid)
}
