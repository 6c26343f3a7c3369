//! A configured source: the keys every kind shares (`name`, `service`, the recovery targets) and a
//! [`SourceSpec`] holding exactly what its `kind` needs, already checked — a directory
//! source has a path, a database server source a URL that fits its kind. Each
//! `[[sources]]` table is parsed once, at load (`source/parse.rs`); users of a source match
//! on its kind instead of unwrapping optional fields.

use std::path::{Path, PathBuf};

use crate::domain::SourceKind;

use super::PasswordFrom;

mod parse;
mod server_url;
#[cfg(test)]
mod tests;

pub(super) use parse::{parse_sources, YEAR_MINUTES};
pub use server_url::{check_database_name, ServerUrl};

/// One named thing to back up.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub service: String,
    /// Recovery point objective in minutes (`rpo_minutes`, or the older `rpo_hours`): the
    /// newest successful backup of this source should be at most this old (default 26
    /// hours: a daily backup plus slack); a drill proves the age of the newest restorable one.
    pub rpo_minutes: u32,
    /// Recovery time objective in minutes (`rto_minutes`): a drill of this source should
    /// restore and prove it within this time. `None`: no target set.
    pub rto_minutes: Option<u32>,
    /// Commands run around the backup's snapshots (`before`, `after`).
    pub hooks: Hooks,
    pub spec: SourceSpec,
}

/// A source's hook commands, run by `sh -c` around a backup's snapshots so an operator can
/// pause the writers (and the sources of one backup describe one moment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hooks {
    pub before: Option<String>,
    pub after: Option<String>,
    /// Each hook is stopped (its whole process group) after this long, and fails.
    pub timeout_seconds: u32,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            before: None,
            after: None,
            timeout_seconds: DEFAULT_HOOK_TIMEOUT_SECONDS,
        }
    }
}

/// A hook that has not finished after five minutes is not pausing writers any more.
pub const DEFAULT_HOOK_TIMEOUT_SECONDS: u32 = 300;

/// What a source is, by kind, with the settings of that kind only.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// A folder tree, with the include/exclude globs applied to it.
    Directory {
        path: PathBuf,
        filters: FilterGlobs,
    },
    File {
        path: PathBuf,
    },
    /// A SQLite database file, copied consistently (`VACUUM INTO`).
    Sqlite {
        path: PathBuf,
    },
    Postgres {
        server: ServerConfig,
        /// The databases to back up: never empty (the URL's when none are listed).
        databases: Vec<String>,
        /// Also back up roles and other globals (`pg_dumpall --globals-only`).
        globals: bool,
        /// Point-in-time recovery (`pitr = true`): WAL is streamed continuously and a full
        /// backup is a base backup. `None`: logical dumps only.
        pitr: Option<PitrSettings>,
    },
    Mysql {
        server: ServerConfig,
        /// The databases to back up: never empty (the URL's when none are listed).
        databases: Vec<String>,
    },
    /// The database number is the URL's path (`redis://host:6379/2`).
    Redis {
        server: ServerConfig,
    },
}

/// How a PITR postgres source's WAL is captured (`pitr = true` and the `wal_*` keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PitrSettings {
    /// A partial WAL segment is stored at least this often (`wal_flush_seconds`, default 30),
    /// so the RPO does not wait for 16 MiB of traffic.
    pub flush_seconds: u32,
    /// `pg_receivewal --synchronous` (`wal_synchronous`): flush WAL as soon as it arrives.
    pub synchronous: bool,
    /// The physical replication slot that keeps the server's WAL while Coffer is down
    /// (`replication_slot`, default `coffer_<source name>`).
    pub slot: String,
}

/// The default `wal_flush_seconds`.
pub const DEFAULT_WAL_FLUSH_SECONDS: u32 = 30;

/// A directory source's `include` / `exclude` globs, each one known to compile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterGlobs {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// How a database server source is reached.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `postgres://user@host:port/db`, `mysql://user@host:port/db`, `redis://host:port/N`. A
    /// password in the URL works, but `password` keeps it out of the config file.
    pub url: ServerUrl,
    /// Where the password is read when the server is used (`password_env`, `password_file`),
    /// so a rotated one is picked up; `None` when the URL holds it or none is needed.
    pub password: Option<PasswordFrom>,
    /// Give up connecting after this many seconds (default 10), so an unreachable server
    /// fails the backup instead of hanging it.
    pub connect_timeout_seconds: u32,
    /// After a restore over the original, keep the replaced database under its dated name
    /// instead of dropping it (postgres, mysql; a redis restore only warns that it has none).
    pub keep_replaced: bool,
    /// Where drills load this source's scratch databases (`drill_url`, postgres and mysql:
    /// a server URL without password or database; the source's password is used), so a drill
    /// never adds load or disk use to the production server. `None`: the source's own server.
    pub drill_url: Option<ServerUrl>,
}

impl SourceConfig {
    /// One source from the keys of a `[[sources]]` table, checked as at load but with
    /// relative paths left as written (tests, tools); the message names the key.
    pub fn from_toml(text: &str) -> Result<SourceConfig, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        parse::parse_source(table).map_err(|(key, message)| format!("`{key}`: {message}"))
    }

    pub fn kind(&self) -> SourceKind {
        match &self.spec {
            SourceSpec::Directory { .. } => SourceKind::Directory,
            SourceSpec::File { .. } => SourceKind::File,
            SourceSpec::Sqlite { .. } => SourceKind::Sqlite,
            SourceSpec::Postgres { .. } => SourceKind::Postgres,
            SourceSpec::Mysql { .. } => SourceKind::Mysql,
            SourceSpec::Redis { .. } => SourceKind::Redis,
        }
    }

    /// Where a directory, file or SQLite source is read from.
    pub fn path(&self) -> Option<&Path> {
        match &self.spec {
            SourceSpec::Directory { path, .. }
            | SourceSpec::File { path }
            | SourceSpec::Sqlite { path } => Some(path),
            SourceSpec::Postgres { .. } | SourceSpec::Mysql { .. } | SourceSpec::Redis { .. } => {
                None
            }
        }
    }

    /// How a database server source is reached.
    pub fn server(&self) -> Option<&ServerConfig> {
        match &self.spec {
            SourceSpec::Postgres { server, .. }
            | SourceSpec::Mysql { server, .. }
            | SourceSpec::Redis { server } => Some(server),
            SourceSpec::Directory { .. } | SourceSpec::File { .. } | SourceSpec::Sqlite { .. } => {
                None
            }
        }
    }

    /// Whether a restore over the original keeps what it replaced (database servers only).
    pub fn keeps_replaced(&self) -> bool {
        self.server().is_some_and(|server| server.keep_replaced)
    }

    /// The WAL capture settings of a postgres source with `pitr = true`.
    pub fn pitr(&self) -> Option<&PitrSettings> {
        match &self.spec {
            SourceSpec::Postgres { pitr, .. } => pitr.as_ref(),
            _ => None,
        }
    }

    /// The databases a postgres or mysql source backs up (none for other kinds).
    pub fn databases(&self) -> &[String] {
        match &self.spec {
            SourceSpec::Postgres { databases, .. } | SourceSpec::Mysql { databases, .. } => {
                databases
            }
            _ => &[],
        }
    }
}
