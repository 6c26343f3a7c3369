//! The test harness: a scratch folder with its own config, data, storage and a fresh
//! database (SQLite file or PostgreSQL database), and the real `coffer` binary.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use coffer::config::{FilterGlobs, SourceConfig, SourceSpec};
use coffer::db::testing::TestDatabase;
use serde_json::Value;

#[derive(Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BOTH: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// Who the tests ask for work as: a console user named `tester`.
pub fn tester() -> coffer::jobs::requester::Requester {
    coffer::jobs::requester::Requester::Console("tester".into())
}

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    /// Kept so the database lives (and is dropped) with the environment.
    #[allow(dead_code)]
    pub db: TestDatabase,
    pub config: PathBuf,
}

impl TestEnv {
    /// A scratch install whose config lists `sources` (TOML `[[sources]]` tables, with
    /// `{root}` standing for the scratch folder).
    pub fn new(backend: &Backend, sources: &str) -> TestEnv {
        let db = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres(),
        }
        .expect("a fresh test database");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let config = dir.path().join("coffer.toml");
        let text = format!(
            "data_dir = \"{root}/data\"\ndatabase_url = \"{}\"\n[storage]\npath = \"{root}/backups\"\n[archive]\nthreads = 2\n\n{}",
            db.url(),
            sources.replace("{root}", &root)
        );
        fs::write(&config, text).unwrap();
        TestEnv { dir, db, config }
    }

    /// One directory source `files` of service `app` at `<root>/files`.
    pub fn with_directory(backend: &Backend) -> TestEnv {
        let env = TestEnv::new(
            backend,
            "[[sources]]\nname = \"files\"\nservice = \"app\"\nkind = \"directory\"\npath = \"{root}/files\"\n",
        );
        fs::create_dir_all(env.path("files")).unwrap();
        env
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
        cmd.arg("--config").arg(&self.config).args(args);
        cmd.env_remove("COFFER_DATA_DIR")
            .env_remove("COFFER_DATABASE_URL")
            .env_remove("COFFER_STORAGE_PATH");
        cmd.env("COFFER_LOG", "warn");
        cmd.stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("coffer runs")
    }

    /// Runs coffer and returns stdout; panics with stderr when it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "coffer {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs coffer expecting failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "coffer {args:?} should fail but succeeded:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("JSON output")
    }

    /// Runs a backup and returns its JSON.
    pub fn backup(&self, extra: &[&str]) -> Value {
        let mut args = vec!["backup"];
        args.extend_from_slice(extra);
        let value = self.json(&args);
        assert_eq!(value["status"], "success", "{value}");
        value
    }

    pub fn archive_path(&self, backup: &Value) -> PathBuf {
        self.path("backups")
            .join(backup["storage_key"].as_str().unwrap())
    }

    /// Opens the app the way the CLI does (for tests that inspect or edit the catalogue).
    pub fn app(&self) -> coffer::app::App {
        let settings = coffer::config::Settings::load(Some(&self.config)).unwrap();
        let started = coffer::jobs::startup::start(settings, coffer::app::KeyPolicy::FirstRunOnly);
        started.unwrap().app
    }
}

/// What a tree holds: per relative path, its type, content digest or link, mode and mtime.
pub fn snapshot_tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        let what = if meta.file_type().is_symlink() {
            format!("link:{}", fs::read_link(entry.path()).unwrap().display())
        } else if meta.is_dir() {
            format!(
                "dir mode={:o} mtime={}.{}",
                meta.permissions().mode() & 0o7777,
                meta.mtime(),
                meta.mtime_nsec()
            )
        } else {
            let digest = sha256_hex(&fs::read(entry.path()).unwrap());
            format!(
                "file {digest} mode={:o} mtime={}.{}",
                meta.permissions().mode() & 0o7777,
                meta.mtime(),
                meta.mtime_nsec()
            )
        };
        out.insert(rel, what);
    }
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Deterministic pseudo-random bytes (xorshift), incompressible like real binaries.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Text-like, compressible content.
pub fn text_bytes(len: usize, seed: u64) -> Vec<u8> {
    let words = [
        "backup", "restore", "coffer", "archive", "verify", "the", "of", "data", "and", "safe",
    ];
    let mut out = Vec::with_capacity(len + 16);
    let mut i = seed as usize;
    while out.len() < len {
        out.extend_from_slice(words[i % words.len()].as_bytes());
        out.push(if i.is_multiple_of(13) { b'\n' } else { b' ' });
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    out.truncate(len);
    out
}

pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

pub fn tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed for this test: {e}"))
}

/// An HTTP client builder for tests. reqwest is built without a TLS crypto provider of its
/// own (Coffer installs ring for the whole process), so one must be installed first.
pub fn http_client() -> reqwest::blocking::ClientBuilder {
    coffer::storage::install_tls_provider();
    reqwest::blocking::Client::builder()
}

/// Runs `command` with `COFFER_KILL_AT=<point>` and checks it was killed there (SIGKILL):
/// a run that ends any other way never reached the point, and the test would prove nothing.
pub fn run_killed_at(mut command: Command, point: &str) -> Output {
    use std::os::unix::process::ExitStatusExt;
    let out = command
        .env("COFFER_KILL_AT", point)
        .output()
        .expect("coffer runs");
    assert_eq!(
        out.status.signal(),
        Some(9),
        "coffer was not killed at `{point}` ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A directory source `src` of service `app` at `path`, for tests that call the engine
/// without a configuration file.
pub fn directory_source(path: PathBuf) -> SourceConfig {
    SourceConfig {
        name: "src".into(),
        service: "app".into(),
        rpo_minutes: 26 * 60,
        rto_minutes: None,
        hooks: Default::default(),
        spec: SourceSpec::Directory {
            path,
            filters: FilterGlobs::default(),
        },
    }
}

/// Running processes whose command line contains `text`: (pid, command line).
pub fn processes_with(text: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.contains(text) && pid != std::process::id() {
            found.push((pid, line.trim().to_string()));
        }
    }
    found
}

/// `redis-server` processes working under `root`: started with a config file there, or (once
/// it has read that file, which makes it change into its folder before it rewrites its
/// command line to its address) working there.
pub fn temporary_redis_servers(root: &std::path::Path) -> Vec<u32> {
    let text = root.display().to_string();
    processes_with("redis-server")
        .into_iter()
        .filter(|(pid, line)| {
            line.contains(&text)
                || std::fs::read_link(format!("/proc/{pid}/cwd"))
                    .is_ok_and(|cwd| cwd.starts_with(root))
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Waits up to `limit` for `done` to hold; whether it did.
pub fn within(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    loop {
        if done() {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A child process (a `coffer worker`, say) killed when the test ends, also when it fails,
/// unless the test stopped it first.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}
