//! Configuration: a TOML file (`--config FILE`, else `COFFER_CONFIG`, else `./coffer.toml`
//! when present, else built-in defaults) with environment overrides on top.
//! Everything is checked here, so the rest of the program can trust a `Settings`:
//! a bad file is reported with its path, the key and what is wrong.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

mod absolute;
#[cfg(test)]
mod example_tests;
mod notify;
mod security;
mod service;
mod source;
mod storage;
pub use notify::{
    EmailSettings, NotifySettings, PasswordFrom, SmtpSecurity, WebhookFormat, WebhookSettings,
    EVENT_KINDS,
};
pub use security::SecuritySettings;
pub use service::ServiceTargets;
pub use source::{
    check_database_name, FilterGlobs, Hooks, PitrSettings, ServerConfig, ServerUrl, SourceConfig,
    SourceSpec, DEFAULT_WAL_FLUSH_SECONDS,
};
pub use storage::{
    LockMode, ObjectLock, Protection, S3Settings, StorageLocation, StorageSettings, StorageTarget,
};

pub const DEFAULT_CONFIG_FILE: &str = "coffer.toml";

/// The validated settings the program runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the settings came from, for messages (`built-in defaults` or a file path).
    pub origin: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub keys_dir: PathBuf,
    pub storage: StorageSettings,
    pub archive: ArchiveSettings,
    pub web: WebSettings,
    pub workers: WorkerSettings,
    pub monitor: MonitorSettings,
    pub sources: Vec<SourceConfig>,
    /// Targets of whole services (`[services.NAME]`), for services that set any.
    pub services: Vec<ServiceTargets>,
    pub notify: NotifySettings,
    /// Sign-in rules (`[security]`).
    pub security: SecuritySettings,
}

/// What the monitor loop of `coffer serve` watches (`[monitor]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorSettings {
    /// A running task whose progress has not moved for this long is stalled.
    pub stall_minutes: u32,
    /// Storage use (percent of the file system holding the storage folder) that raises an alert.
    pub storage_full_percent: f64,
    /// Quick verification of every successful backup not verified for this long (0: off).
    pub verify_quick_hours: u32,
    /// Deep verification of every successful backup not deep-verified for this long (0: off).
    pub verify_deep_days: u32,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        MonitorSettings {
            stall_minutes: 30,
            storage_full_percent: 90.0,
            verify_quick_hours: 24,
            verify_deep_days: 7,
        }
    }
}

/// The console (`coffer serve`).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Address to listen on (`[web] bind`, `COFFER_BIND`, `--bind`).
    pub bind: std::net::SocketAddr,
    /// A session ends after this long without a request.
    pub session_idle: chrono::Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`[web] trusted_proxies`:
    /// addresses or ranges); the address of any other peer is taken from the connection itself.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebConfig {
    bind: Option<String>,
    session_idle_minutes: Option<u32>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// A trusted proxy: one address (a range of one) or a range in CIDR notation. A range is
/// taken as written only when it names its network (`10.0.0.0/8`, not `10.1.2.3/8`), so that
/// a typo does not trust more than meant.
fn parse_proxy(text: &str) -> Option<ipnet::IpNet> {
    if let Ok(addr) = text.parse::<std::net::IpAddr>() {
        return Some(ipnet::IpNet::from(addr.to_canonical()));
    }
    let net = text.parse::<ipnet::IpNet>().ok()?;
    (net == net.trunc()).then_some(net)
}

/// The worker pool that runs queued backups, verifications and restores.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Jobs one process runs at once (at least 1).
    pub concurrency: usize,
    /// A running task whose heartbeat is older than this is taken for dead (its worker was
    /// killed, or its host is gone) and failed by the reaper of any other process.
    pub heartbeat_timeout_seconds: u64,
}

/// The range `[workers] heartbeat_timeout_seconds` accepts: above the one-second heartbeat
/// with room for a busy machine, at most a day.
pub const HEARTBEAT_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 3..=86_400;

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            concurrency: 2,
            heartbeat_timeout_seconds: 60,
        }
    }
}

impl WorkerSettings {
    pub fn heartbeat_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.heartbeat_timeout_seconds)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveSettings {
    /// gzip level: 0 stores, 1–9 as gzip, 10–12 slower and smaller.
    pub compression_level: u32,
    /// Compression threads; 0 means one per core.
    pub threads: usize,
    /// Off writes plain `.tar.gz` archives. On, a missing key is an error, never a plain archive.
    pub encryption: bool,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        ArchiveSettings {
            compression_level: 6,
            threads: 0,
            encryption: true,
        }
    }
}

impl ArchiveSettings {
    pub fn thread_count(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    keys_dir: Option<PathBuf>,
    #[serde(default)]
    storage: storage::TargetConfig,
    #[serde(default)]
    archive: ArchiveSettings,
    #[serde(default)]
    web: WebConfig,
    #[serde(default)]
    workers: WorkerSettings,
    #[serde(default)]
    monitor: MonitorSettings,
    /// Read one by one (`config/source.rs`), so that errors name the source and the key.
    #[serde(default)]
    sources: Vec<toml::Table>,
    #[serde(default)]
    services: std::collections::BTreeMap<String, service::ServiceConfig>,
    #[serde(default)]
    notify: notify::NotifyConfig,
    #[serde(default)]
    security: security::SecurityConfig,
}

/// Reads an environment variable, treating an empty value as unset.
type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Settings {
    /// Loads settings the way the CLI does: explicit file, `COFFER_CONFIG`, `./coffer.toml`, defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Settings> {
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
        Self::load_with(explicit, &env)
    }

    pub fn load_with(explicit: Option<&Path>, env: EnvLookup) -> Result<Settings> {
        let file = match explicit {
            Some(path) => Some(path.to_path_buf()),
            None => env("COFFER_CONFIG").map(PathBuf::from).or_else(|| {
                let local = PathBuf::from(DEFAULT_CONFIG_FILE);
                local.exists().then_some(local)
            }),
        };
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::Config(format!("cannot read config file {}: {e}", path.display()))
                })?;
                Self::from_toml(&text, &path.display().to_string(), env)
            }
            None => Self::from_toml("", "built-in defaults", env),
        }
    }

    /// Parses and validates a config text; `origin` names it in error messages.
    pub fn from_toml(text: &str, origin: &str, env: EnvLookup) -> Result<Settings> {
        let parsed: FileConfig = toml::from_str(text)
            .map_err(|e| Error::Config(format!("config {origin}: {}", e.to_string().trim_end())))?;
        let bad =
            |key: &str, msg: String| Error::Config(format!("config {origin}: `{key}`: {msg}"));

        let data_dir = env("COFFER_DATA_DIR")
            .map(PathBuf::from)
            .or(parsed.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = env("COFFER_DATABASE_URL")
            .or(parsed.database_url)
            .unwrap_or_else(|| data_dir.join("coffer.db").display().to_string());
        let keys_dir = parsed.keys_dir.unwrap_or_else(|| data_dir.join("keys"));
        let storage = parsed
            .storage
            .validate(env)
            .map_err(|(key, m)| bad(&key, m))?;

        if parsed.archive.compression_level > 12 {
            return Err(bad(
                "archive.compression_level",
                format!(
                    "{} is out of range 0..=12",
                    parsed.archive.compression_level
                ),
            ));
        }
        let bind_text = env("COFFER_BIND")
            .map(|v| (v, "COFFER_BIND".to_string()))
            .or(parsed.web.bind.map(|v| (v, "web.bind".to_string())))
            .unwrap_or_else(|| (DEFAULT_BIND.to_string(), "web.bind".to_string()));
        let bind = parse_bind(&bind_text.0).map_err(|m| bad(&bind_text.1, m))?;
        let idle_minutes = parsed.web.session_idle_minutes.unwrap_or(12 * 60);
        if !(5..=30 * 24 * 60).contains(&idle_minutes) {
            return Err(bad(
                "web.session_idle_minutes",
                format!("{idle_minutes} is out of range 5..=43200 (30 days)"),
            ));
        }
        let trusted_proxies = parsed
            .web
            .trusted_proxies
            .iter()
            .map(|text| {
                parse_proxy(text.trim()).ok_or_else(|| {
                    bad(
                        "web.trusted_proxies",
                        format!("`{text}` is neither an IP address nor a range (like \"127.0.0.1\", \"::1\" or \"172.30.0.0/16\")"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let web = WebSettings {
            bind,
            session_idle: chrono::Duration::minutes(idle_minutes.into()),
            trusted_proxies,
        };

        if parsed.workers.concurrency == 0 || parsed.workers.concurrency > 64 {
            return Err(bad(
                "workers.concurrency",
                format!("{} is out of range 1..=64", parsed.workers.concurrency),
            ));
        }
        if !HEARTBEAT_TIMEOUT_RANGE.contains(&parsed.workers.heartbeat_timeout_seconds) {
            return Err(bad(
                "workers.heartbeat_timeout_seconds",
                format!(
                    "{} is out of range 3..=86400 (a day)",
                    parsed.workers.heartbeat_timeout_seconds
                ),
            ));
        }
        check_monitor(&parsed.monitor).map_err(|(key, m)| bad(key, m))?;
        let sources = source::parse_sources(parsed.sources).map_err(|(key, m)| bad(&key, m))?;
        let services =
            service::parse_services(parsed.services, &sources).map_err(|(key, m)| bad(&key, m))?;
        let notify = parsed.notify.validate().map_err(|(key, m)| bad(&key, m))?;
        let security = parsed
            .security
            .validate()
            .map_err(|(key, m)| bad(&key, m))?;
        let settings = Settings {
            origin: origin.to_string(),
            data_dir,
            database_url,
            keys_dir,
            storage,
            archive: parsed.archive,
            web,
            workers: parsed.workers,
            monitor: parsed.monitor,
            sources,
            services,
            notify,
            security,
        };
        // Relative paths mean "from where Coffer was started": fixed here, once, so that a
        // child process started in another folder (redis-server changes into its `dir`) or
        // a later change of working directory cannot read them differently.
        let here = std::env::current_dir().map_err(|e| {
            Error::Config(format!(
                "config {origin}: cannot resolve relative paths: the current directory is unreadable: {e}"
            ))
        })?;
        Ok(absolute::make_absolute(settings, &here))
    }

    /// The primary target's folder when it is a local one (for file-system checks).
    pub fn local_storage_path(&self) -> Option<&Path> {
        match &self.storage.primary.location {
            StorageLocation::Local(path) => Some(path),
            StorageLocation::S3(_) => None,
        }
    }

    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The targets set for service `name`, if any.
    pub fn service(&self, name: &str) -> Option<&ServiceTargets> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// The `[monitor]` values in range, or the key and what is wrong.
fn check_monitor(m: &MonitorSettings) -> std::result::Result<(), (&'static str, String)> {
    if !(1..=7 * 24 * 60).contains(&m.stall_minutes) {
        return Err((
            "monitor.stall_minutes",
            format!("{} is out of range 1..=10080 (a week)", m.stall_minutes),
        ));
    }
    if !(m.storage_full_percent > 0.0 && m.storage_full_percent <= 100.0) {
        return Err((
            "monitor.storage_full_percent",
            format!("{} is out of range (0, 100]", m.storage_full_percent),
        ));
    }
    if m.verify_quick_hours > 24 * 366 {
        return Err((
            "monitor.verify_quick_hours",
            format!(
                "{} is out of range 0..=8784 (0 turns it off)",
                m.verify_quick_hours
            ),
        ));
    }
    if m.verify_deep_days > 366 {
        return Err((
            "monitor.verify_deep_days",
            format!(
                "{} is out of range 0..=366 (0 turns it off)",
                m.verify_deep_days
            ),
        ));
    }
    Ok(())
}

/// `HOST:PORT` with an IP address, e.g. `127.0.0.1:8080` or `[::]:8080` (port 0 picks one).
pub fn parse_bind(text: &str) -> Result<std::net::SocketAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an address and port such as {DEFAULT_BIND}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_follow_the_embedded_layout() {
        let s = Settings::from_toml("", "built-in defaults", &no_env).unwrap();
        let here = std::env::current_dir().unwrap();
        assert_eq!(s.data_dir, here.join("data"));
        assert_eq!(
            s.database_url,
            here.join("data/coffer.db").display().to_string()
        );
        assert_eq!(s.keys_dir, here.join("data/keys"));
        assert_eq!(s.local_storage_path(), Some(here.join("backups").as_path()));
        assert_eq!(s.archive.compression_level, 6);
        assert!(s.archive.encryption);
        assert_eq!(s.workers.concurrency, 2);
        assert_eq!(s.workers.heartbeat_timeout_seconds, 60);
        assert!(s.web.trusted_proxies.is_empty());
        let with_proxies = Settings::from_toml(
            "[web]\ntrusted_proxies = [\"127.0.0.1\", \" ::1 \", \"172.30.0.0/16\", \"::ffff:10.0.0.1\"]",
            "t.toml",
            &no_env,
        )
        .unwrap();
        let shown: Vec<String> = with_proxies
            .web
            .trusted_proxies
            .iter()
            .map(|net| net.to_string())
            .collect();
        assert_eq!(
            shown,
            ["127.0.0.1/32", "::1/128", "172.30.0.0/16", "10.0.0.1/32"],
            "an address is a range of one; an IPv4-mapped one is taken as IPv4"
        );
        assert_eq!(s.monitor.stall_minutes, 30);
        assert_eq!(s.monitor.storage_full_percent, 90.0);
        assert_eq!(
            (s.monitor.verify_quick_hours, s.monitor.verify_deep_days),
            (24, 7)
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let env = |k: &str| match k {
            "COFFER_DATA_DIR" => Some("/var/lib/coffer".to_string()),
            "COFFER_STORAGE_PATH" => Some("/srv/backups".to_string()),
            _ => None,
        };
        let s = Settings::from_toml("data_dir = \"/elsewhere\"", "t.toml", &env).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/coffer"));
        assert_eq!(s.database_url, "/var/lib/coffer/coffer.db");
        assert_eq!(s.local_storage_path(), Some(Path::new("/srv/backups")));
    }

    #[test]
    fn sources_parse_with_globs() {
        let text = r#"
            [[sources]]
            name = "uploads"
            service = "web"
            kind = "directory"
            path = "/srv/uploads"
            exclude = ["cache/**"]
        "#;
        let s = Settings::from_toml(text, "t.toml", &no_env).unwrap();
        assert_eq!(s.sources[0].kind(), crate::domain::SourceKind::Directory);
        assert_eq!(s.source("uploads").unwrap().service, "web");
    }

    #[test]
    fn bad_configs_name_file_key_and_problem() {
        let cases = [
            ("[archive]\ncompression_level = 40", "archive.compression_level"),
            ("[workers]\nconcurrency = 0", "workers.concurrency"),
            ("[workers]\nconcurrency = \"two\"", "concurrency = \"two\""),
            ("[workers]\nconcurrency = -1", "concurrency = -1"),
            ("[workers]\nthreads = 2", "threads"),
            (
                "[workers]\nheartbeat_timeout_seconds = 1",
                "workers.heartbeat_timeout_seconds",
            ),
            (
                "[workers]\nheartbeat_timeout_seconds = 100000",
                "workers.heartbeat_timeout_seconds",
            ),
            ("[web]\ntrusted_proxies = [\"proxy.local\"]", "web.trusted_proxies"),
            ("[web]\ntrusted_proxies = [\"10.1.2.3/8\"]", "web.trusted_proxies"),
            ("[web]\ntrusted_proxies = [\"10.0.0.0/33\"]", "web.trusted_proxies"),
            ("[[sources]]\nname = \"a\"\nkind = \"directory\"", "sources[0].path"),
            ("[[sources]]\nname = \"a b\"\nkind = \"file\"\npath = \"/x\"", "sources[0].name"),
            ("[[sources]]\nname = \"a\"\nkind = \"tape\"\npath = \"/x\"", "tape"),
            ("[[sources]]\nname = \"a\"\nkind = \"file\"\npath = \"/x\"\npaht = 1", "paht"),
            (
                "[[sources]]\nname = \"a\"\nkind = \"directory\"\npath = \"/x\"\nexclude = [\"[\"]",
                "sources[0].exclude",
            ),
            (
                "[[sources]]\nname = \"d\"\nkind = \"postgres\"\nurl = \"postgres://u@h/db\"\npath = \"/x\"",
                "sources[0].path",
            ),
            (
                "[[sources]]\nname = \"d\"\nkind = \"mysql\"\nurl = \"mysql://u:pw@h/db\"\npassword_env = \"PW\"",
                "sources[0].password_env",
            ),
            (
                "[[sources]]\nname = \"d\"\nkind = \"postgres\"\nurl = \"postgres://u@h\"",
                "sources[0].databases",
            ),
            (
                "[[sources]]\nname = \"d\"\nkind = \"redis\"\nurl = \"redis://h/0\"\nconnect_timeout_seconds = 0",
                "sources[0].connect_timeout_seconds",
            ),
            (
                "[[sources]]\nname = \"d\"\nkind = \"file\"\npath = \"/x\"\nglobals = true",
                "sources[0].globals",
            ),
            (
                "[[sources]]\nname = \"a\"\nkind = \"file\"\npath = \"/x\"\n[[sources]]\nname = \"a\"\nkind = \"file\"\npath = \"/y\"",
                "used by two sources",
            ),
            ("[[sources]]\nname = \"a\"\nkind = \"file\"\npath = \"/x\"\nrpo_hours = 0", "sources[0].rpo_hours"),
            ("[monitor]\nstall_minutes = 0", "monitor.stall_minutes"),
            ("[monitor]\nstorage_full_percent = 120", "monitor.storage_full_percent"),
            ("[monitor]\nverify_deep_days = 1000", "monitor.verify_deep_days"),
            ("[monitor]\nstall = 3", "stall"),
        ];
        for (text, needle) in cases {
            let err = Settings::from_toml(text, "my.toml", &no_env)
                .unwrap_err()
                .to_string();
            assert!(err.contains("my.toml"), "{err}");
            assert!(err.contains(needle), "expected `{needle}` in: {err}");
        }
    }
}
