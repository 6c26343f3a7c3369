//! `[[sources]]` tables → [`SourceConfig`]s. Each table is read key by key by the kind it
//! names, so every message names the key (`sources[2].path`); a key left over belongs to
//! another kind, or to none, and is refused by name.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::de::DeserializeOwned;

use super::{
    check_database_name, FilterGlobs, Hooks, PasswordFrom, PitrSettings, ServerConfig, ServerUrl,
    SourceConfig, SourceSpec, DEFAULT_HOOK_TIMEOUT_SECONDS, DEFAULT_WAL_FLUSH_SECONDS,
};
use crate::domain::{check_plain_name, SourceKind};

/// A key (relative to where it is read) and what is wrong with it.
type Bad = (String, String);

const DEFAULT_SERVICE: &str = "main_service";
/// A daily backup plus slack.
const DEFAULT_RPO_MINUTES: u32 = 26 * 60;
/// The longest target a source takes: a year.
pub(in crate::config) const YEAR_MINUTES: u32 = 366 * 24 * 60;
const DEFAULT_CONNECT_TIMEOUT: u32 = 10;

/// The keys of the database server kinds, for the message when another kind is given one.
const SERVER_KEYS: [&str; 8] = [
    "url",
    "drill_url",
    "password_env",
    "password_file",
    "databases",
    "globals",
    "keep_replaced",
    "connect_timeout_seconds",
];

/// Parses every `[[sources]]` table; names are unique. Errors name `sources[N].<key>`.
pub fn parse_sources(tables: Vec<toml::Table>) -> Result<Vec<SourceConfig>, Bad> {
    let mut names = HashSet::new();
    let mut sources = Vec::with_capacity(tables.len());
    for (i, table) in tables.into_iter().enumerate() {
        let at = |(key, message): Bad| (format!("sources[{i}].{key}"), message);
        let source = parse_source(table).map_err(at)?;
        if !names.insert(source.name.clone()) {
            let message = format!("`{}` is used by two sources", source.name);
            return Err(at(("name".into(), message)));
        }
        sources.push(source);
    }
    Ok(sources)
}

pub(super) fn parse_source(table: toml::Table) -> Result<SourceConfig, Bad> {
    let mut keys = Keys {
        table,
        taken: Vec::new(),
    };
    let name: String = keys.required("name", || "a source needs a name".into())?;
    check_plain_name(&name).map_err(|m| bad("name", m))?;
    let service: String = keys
        .take("service")?
        .unwrap_or_else(|| DEFAULT_SERVICE.into());
    check_plain_name(&service).map_err(|m| bad("service", m))?;
    let kind: SourceKind = keys.required("kind", || {
        "a source needs a kind: directory, file, sqlite, postgres, mysql or redis".into()
    })?;
    let rpo_minutes = rpo_minutes(&mut keys)?;
    let rto_minutes: Option<u32> = keys.take("rto_minutes")?;
    if let Some(minutes) = rto_minutes {
        in_a_year("rto_minutes", minutes)?;
    }
    let hooks = hooks(&mut keys)?;
    let spec = match kind {
        SourceKind::Directory => SourceSpec::Directory {
            path: keys.path(kind)?,
            filters: FilterGlobs {
                include: keys.globs("include")?,
                exclude: keys.globs("exclude")?,
            },
        },
        SourceKind::File => SourceSpec::File {
            path: keys.path(kind)?,
        },
        SourceKind::Sqlite => SourceSpec::Sqlite {
            path: keys.path(kind)?,
        },
        SourceKind::Postgres => {
            let server = keys.server(kind)?;
            SourceSpec::Postgres {
                databases: keys.databases(&server.url)?,
                globals: keys.take("globals")?.unwrap_or(false),
                pitr: pitr(&mut keys, &name)?,
                server,
            }
        }
        SourceKind::Mysql => {
            let server = keys.server(kind)?;
            SourceSpec::Mysql {
                databases: keys.databases(&server.url)?,
                server,
            }
        }
        SourceKind::Redis => SourceSpec::Redis {
            server: keys.server(kind)?,
        },
    };
    keys.refuse_the_rest(kind)?;
    Ok(SourceConfig {
        name,
        service,
        rpo_minutes,
        rto_minutes,
        hooks,
        spec,
    })
}

/// `before`, `after` (shell commands) and `hook_timeout_seconds`.
fn hooks(keys: &mut Keys) -> Result<Hooks, Bad> {
    let mut command = |key: &'static str| -> Result<Option<String>, Bad> {
        match keys.take::<String>(key)? {
            Some(text) if text.trim().is_empty() => Err(bad(
                key,
                "is empty: give a shell command, or leave the key out".into(),
            )),
            other => Ok(other),
        }
    };
    let before = command("before")?;
    let after = command("after")?;
    let timeout_seconds = keys
        .take("hook_timeout_seconds")?
        .unwrap_or(DEFAULT_HOOK_TIMEOUT_SECONDS);
    if !(1..=86_400).contains(&timeout_seconds) {
        return Err(bad(
            "hook_timeout_seconds",
            format!("{timeout_seconds} is out of range 1..=86400 (a day)"),
        ));
    }
    Ok(Hooks {
        before,
        after,
        timeout_seconds,
    })
}

/// The PostgreSQL keys that only `pitr = true` reads.
const WAL_KEYS: [&str; 3] = ["wal_flush_seconds", "wal_synchronous", "replication_slot"];

/// `pitr` and, with it, `wal_flush_seconds`, `wal_synchronous` and `replication_slot`.
fn pitr(keys: &mut Keys, source: &str) -> Result<Option<PitrSettings>, Bad> {
    if !keys.take::<bool>("pitr")?.unwrap_or(false) {
        return Ok(None);
    }
    let flush_seconds = keys
        .take("wal_flush_seconds")?
        .unwrap_or(DEFAULT_WAL_FLUSH_SECONDS);
    if !(1..=3600).contains(&flush_seconds) {
        return Err(bad(
            "wal_flush_seconds",
            format!("{flush_seconds} is out of range 1..=3600"),
        ));
    }
    let synchronous = keys.take("wal_synchronous")?.unwrap_or(false);
    let slot: String = keys
        .take("replication_slot")?
        .unwrap_or_else(|| default_slot(source));
    let slot_ok = !slot.is_empty()
        && slot.len() <= 63
        && slot
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !slot_ok {
        return Err(bad(
            "replication_slot",
            format!(
                "`{slot}` is not a replication slot name: 1 to 63 lower-case letters, digits \
                 and underscores"
            ),
        ));
    }
    Ok(Some(PitrSettings {
        flush_seconds,
        synchronous,
        slot,
    }))
}

/// `coffer_<source>`, with what a slot name cannot hold made `_` (names may hold `-` or `.`).
fn default_slot(source: &str) -> String {
    let mut slot: String = format!("coffer_{source}")
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '_',
        })
        .collect();
    slot.truncate(63);
    slot
}

/// `rpo_minutes`, or the older `rpo_hours` (still read), or the default.
fn rpo_minutes(keys: &mut Keys) -> Result<u32, Bad> {
    let minutes: Option<u32> = keys.take("rpo_minutes")?;
    let hours: Option<u32> = keys.take("rpo_hours")?;
    match (minutes, hours) {
        (Some(_), Some(_)) => Err(bad(
            "rpo_hours",
            "give rpo_minutes or rpo_hours (its older spelling), not both".into(),
        )),
        (Some(minutes), None) => in_a_year("rpo_minutes", minutes),
        (None, Some(hours)) if (1..=YEAR_MINUTES / 60).contains(&hours) => Ok(hours * 60),
        (None, Some(hours)) => Err(bad(
            "rpo_hours",
            format!("{hours} is out of range 1..=8784 (a year)"),
        )),
        (None, None) => Ok(DEFAULT_RPO_MINUTES),
    }
}

fn in_a_year(key: &str, minutes: u32) -> Result<u32, Bad> {
    if (1..=YEAR_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(bad(
            key,
            format!("{minutes} is out of range 1..={YEAR_MINUTES} (a year)"),
        ))
    }
}

/// The keys of one table not read yet, and the ones its kind has read.
struct Keys {
    table: toml::Table,
    taken: Vec<&'static str>,
}

impl Keys {
    fn take<T: DeserializeOwned>(&mut self, key: &'static str) -> Result<Option<T>, Bad> {
        self.taken.push(key);
        let Some(value) = self.table.remove(key) else {
            return Ok(None);
        };
        value
            .try_into()
            .map(Some)
            .map_err(|e: toml::de::Error| bad(key, e.message().trim_end().to_string()))
    }

    fn required<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
        missing: impl FnOnce() -> String,
    ) -> Result<T, Bad> {
        self.take(key)?.ok_or_else(|| bad(key, missing()))
    }

    fn path(&mut self, kind: SourceKind) -> Result<PathBuf, Bad> {
        let path: PathBuf = self.required("path", || format!("a {kind} source needs a path"))?;
        if path.as_os_str().is_empty() {
            return Err(bad("path", "is empty".into()));
        }
        Ok(path)
    }

    fn globs(&mut self, key: &'static str) -> Result<Vec<String>, Bad> {
        let globs: Vec<String> = self.take(key)?.unwrap_or_default();
        for glob in &globs {
            globset::Glob::new(glob).map_err(|e| bad(key, format!("`{glob}`: {e}")))?;
        }
        Ok(globs)
    }

    /// The URL fits the kind, and the password comes from one place only.
    fn server(&mut self, kind: SourceKind) -> Result<ServerConfig, Bad> {
        let text: String = self.required("url", || format!("a {kind} source needs a url"))?;
        let url = ServerUrl::parse(kind, &text).map_err(|m| bad("url", m))?;
        let password_env: Option<String> = self.take("password_env")?;
        let password_file: Option<PathBuf> = self.take("password_file")?;
        let places = [
            url.as_url().password().is_some(),
            password_env.is_some(),
            password_file.is_some(),
        ];
        if places.iter().filter(|set| **set).count() > 1 {
            return Err(bad(
                "password_env",
                "give the password in one place only: the url, password_env or password_file"
                    .into(),
            ));
        }
        let password = match (password_env, password_file) {
            (Some(var), _) if var.is_empty() || var.contains('=') || var.contains('\0') => {
                return Err(bad(
                    "password_env",
                    format!("`{var}` is not a variable name"),
                ));
            }
            (Some(var), _) => Some(PasswordFrom::Env(var)),
            (None, Some(file)) => Some(PasswordFrom::File(file)),
            (None, None) => None,
        };
        let connect_timeout_seconds = self
            .take("connect_timeout_seconds")?
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        if !(1..=3600).contains(&connect_timeout_seconds) {
            return Err(bad(
                "connect_timeout_seconds",
                format!("{connect_timeout_seconds} is out of range 1..=3600"),
            ));
        }
        Ok(ServerConfig {
            url,
            password,
            connect_timeout_seconds,
            keep_replaced: self.take("keep_replaced")?.unwrap_or(false),
            drill_url: self.drill_url(kind)?,
        })
    }

    /// `drill_url`: another server of the kind for drills' scratch databases (postgres,
    /// mysql; a redis drill always runs a temporary `redis-server`).
    fn drill_url(&mut self, kind: SourceKind) -> Result<Option<ServerUrl>, Bad> {
        if kind == SourceKind::Redis {
            return Ok(None);
        }
        let Some(text) = self.take::<String>("drill_url")? else {
            return Ok(None);
        };
        let url = ServerUrl::parse(kind, &text).map_err(|m| bad("drill_url", m))?;
        if url.as_url().password().is_some() {
            return Err(bad(
                "drill_url",
                "must not hold a password: the source's password is used for the drill server"
                    .into(),
            ));
        }
        if url.database().is_some() {
            return Err(bad(
                "drill_url",
                "names a server, not a database: a drill creates its own scratch databases there"
                    .into(),
            ));
        }
        Ok(Some(url))
    }

    /// `databases`, or else the one in the URL's path (postgres, mysql).
    fn databases(&mut self, url: &ServerUrl) -> Result<Vec<String>, Bad> {
        let listed: Vec<String> = self.take("databases")?.unwrap_or_default();
        for db in &listed {
            check_database_name(db).map_err(|m| bad("databases", m))?;
        }
        if !listed.is_empty() {
            return Ok(listed);
        }
        url.database().map(|db| vec![db]).ok_or_else(|| {
            bad(
                "databases",
                "name the databases to back up, in `databases` or the url's path".into(),
            )
        })
    }

    /// Refuses what the kind did not read: a key of another kind, or a key of none.
    fn refuse_the_rest(self, kind: SourceKind) -> Result<(), Bad> {
        for (key, value) in &self.table {
            if written_as_default(key, value) {
                continue;
            }
            let message = match key.as_str() {
                "path" => format!("a {kind} source is reached by its url, not a path"),
                "include" | "exclude" => "include/exclude apply to directory sources only".into(),
                "globals" | "pitr" if !kind.is_path_based() => {
                    "applies to postgres sources only".into()
                }
                known if WAL_KEYS.contains(&known) && kind == SourceKind::Postgres => {
                    "applies only with `pitr = true`".into()
                }
                known if WAL_KEYS.contains(&known) => {
                    "applies to postgres sources with `pitr = true` only".into()
                }
                "drill_url" if kind == SourceKind::Redis => {
                    "a redis drill always loads into a temporary redis-server of its own".into()
                }
                "databases" if kind == SourceKind::Redis => {
                    "a redis source names its database number in the url (redis://host:6379/2)"
                        .into()
                }
                known if SERVER_KEYS.contains(&known) => {
                    format!("applies to database server sources, not to a {kind} source")
                }
                _ => format!(
                    "unknown key; a {kind} source takes {}",
                    self.taken.join(", ")
                ),
            };
            return Err(bad(key, message));
        }
        Ok(())
    }
}

/// A key of another kind written with its default value changes nothing, and such configs
/// (written from a template listing every key) have always loaded.
fn written_as_default(key: &str, value: &toml::Value) -> bool {
    match (key, value) {
        ("globals" | "keep_replaced" | "pitr", toml::Value::Boolean(set)) => !set,
        ("databases" | "include" | "exclude", toml::Value::Array(items)) => items.is_empty(),
        ("connect_timeout_seconds", toml::Value::Integer(seconds)) => {
            *seconds == i64::from(DEFAULT_CONNECT_TIMEOUT)
        }
        _ => false,
    }
}

fn bad(key: &str, message: String) -> Bad {
    (key.to_string(), message)
}
