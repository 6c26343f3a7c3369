//! Where a database source lives: its URL, with the password kept apart so it can be handed
//! to a client tool through the environment (never on a command line, which `ps` shows) and
//! never shown. `redacted()` is what logs, pages, task params and the manifest carry.

use std::fmt;
use std::path::Path;

use percent_encoding::percent_decode_str;

use crate::config::SourceConfig;
use crate::domain::SourceKind;
use crate::error::{Error, Result};

/// A database server address with its resolved password.
#[derive(Clone)]
pub struct ServerAddress {
    kind: SourceKind,
    /// The URL without its password.
    url: url::Url,
    password: Option<String>,
}

impl fmt::Debug for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl ServerAddress {
    /// The source's server, with the password from the URL, `password_env` or `password_file`.
    pub fn of(source: &SourceConfig) -> Result<Self> {
        Self::check_config(source).map_err(|(field, message)| {
            Error::Config(format!("source `{}`: {field}: {message}", source.name))
        })?;
        let text = source.url.as_deref().unwrap_or_default();
        let mut url = parse(source.kind, text).map_err(Error::Config)?;
        let mut password = url.password().map(decode);
        let _ = url.set_password(None);
        if let Some(var) = &source.password_env {
            password = Some(std::env::var(var).map_err(|_| {
                Error::Config(format!(
                    "source `{}`: password_env names `{var}`, which is not set in Coffer's environment",
                    source.name
                ))
            })?);
        }
        if let Some(file) = &source.password_file {
            password = Some(read_password_file(&source.name, file)?);
        }
        Ok(ServerAddress {
            kind: source.kind,
            url,
            password,
        })
    }

    /// Checks a source's server settings when the config is loaded: the URL parses and fits
    /// the kind, and the password comes from one place only. Errors name the field.
    pub fn check_config(source: &SourceConfig) -> Result<(), (&'static str, String)> {
        let Some(text) = source.url.as_deref() else {
            return Err(("url", format!("a {} source needs a url", source.kind)));
        };
        let url = parse(source.kind, text).map_err(|m| ("url", m))?;
        let places = [
            url.password().is_some(),
            source.password_env.is_some(),
            source.password_file.is_some(),
        ];
        if places.iter().filter(|set| **set).count() > 1 {
            return Err((
                "password_env",
                "give the password in one place only: the url, password_env or password_file"
                    .into(),
            ));
        }
        if let Some(var) = &source.password_env {
            if var.is_empty() || var.contains('=') || var.contains('\0') {
                return Err(("password_env", format!("`{var}` is not a variable name")));
            }
        }
        match source.kind {
            SourceKind::Postgres | SourceKind::Mysql => {
                if source.databases.is_empty() && database_of(&url).is_none() {
                    return Err((
                        "databases",
                        "name the databases to back up, in `databases` or the url's path".into(),
                    ));
                }
                for db in &source.databases {
                    check_database_name(db).map_err(|m| ("databases", m))?;
                }
            }
            SourceKind::Redis if !source.databases.is_empty() => {
                return Err((
                    "databases",
                    "a redis source names its database number in the url (redis://host:6379/2)"
                        .into(),
                ));
            }
            _ => {}
        }
        if source.globals && source.kind != SourceKind::Postgres {
            return Err(("globals", "applies to postgres sources only".into()));
        }
        Ok(())
    }

    /// A restore target given as a URL (`--target postgres://host/db`). It must be of the
    /// source's kind and carry no password: the task's parameters are stored, so the source's
    /// own password (from wherever it is configured) is used for the target server too.
    pub fn parse_target(&self, text: &str) -> Result<Self> {
        let url = parse(self.kind, text).map_err(|m| Error::Invalid(format!("target: {m}")))?;
        if url.password().is_some() {
            return Err(Error::Invalid(
                "a target URL must not contain a password (it would be stored with the task): \
                 the source's password is used for the target server too"
                    .into(),
            ));
        }
        Ok(ServerAddress {
            kind: self.kind,
            url,
            password: self.password.clone(),
        })
    }

    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("127.0.0.1")
    }

    pub fn port(&self) -> u16 {
        self.url.port().unwrap_or(match self.kind {
            SourceKind::Postgres => 5432,
            SourceKind::Mysql => 3306,
            _ => 6379,
        })
    }

    /// The user name, when the URL gives one.
    pub fn user(&self) -> Option<String> {
        Some(self.url.username())
            .filter(|u| !u.is_empty())
            .map(decode)
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The database named in the URL's path (postgres, mysql).
    pub fn database(&self) -> Option<String> {
        database_of(&self.url)
    }

    /// Redis: the database number in the URL's path (0 when absent).
    pub fn redis_db(&self) -> u32 {
        database_of(&self.url)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// The same server with another database in the path.
    pub fn with_database(&self, name: &str) -> Self {
        let mut other = self.clone();
        other.url.set_path(&format!("/{name}"));
        other
    }

    /// `scheme://user@host:port/db`, safe to show anywhere.
    pub fn redacted(&self) -> String {
        let mut url = self.url.clone();
        let _ = url.set_password(None);
        url.set_query(None);
        url.to_string()
    }

    /// The same server (host, port and user) as `other`: a target on another server gets a
    /// new database name by default instead of replacing anything.
    pub fn same_server(&self, other: &ServerAddress) -> bool {
        self.host() == other.host() && self.port() == other.port() && self.user() == other.user()
    }
}

/// Database names become SQL identifiers and dump file names: keep them plain.
pub fn check_database_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a database name Coffer handles: use 1–63 letters, digits, `_`, `-`, `.` or `$`"
        ))
    }
}

fn parse(kind: SourceKind, text: &str) -> std::result::Result<url::Url, String> {
    let schemes: &[&str] = match kind {
        SourceKind::Postgres => &["postgres", "postgresql"],
        SourceKind::Mysql => &["mysql", "mariadb"],
        SourceKind::Redis => &["redis"],
        other => return Err(format!("a {other} source has no url")),
    };
    let example = match kind {
        SourceKind::Postgres => "postgres://user@127.0.0.1:5432/app",
        SourceKind::Mysql => "mysql://root@127.0.0.1:3306/app",
        _ => "redis://127.0.0.1:6379/0",
    };
    // Never echo the text itself: it may hold a password.
    let url = url::Url::parse(text)
        .map_err(|e| format!("not a valid URL ({e}); expected one like {example}"))?;
    if !schemes.contains(&url.scheme()) {
        return Err(format!(
            "scheme `{}` does not fit a {kind} source; expected one like {example}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "the URL names no host; expected one like {example}"
        ));
    }
    if let Some(db) = database_of(&url) {
        if kind == SourceKind::Redis {
            if db.parse::<u32>().is_err() {
                return Err(format!(
                    "`{db}` is not a Redis database number; expected one like {example}"
                ));
            }
        } else {
            check_database_name(&db)?;
        }
    }
    Ok(url)
}

fn database_of(url: &url::Url) -> Option<String> {
    let path = url.path().trim_start_matches('/');
    Some(decode(path)).filter(|p| !p.is_empty())
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

fn read_password_file(source: &str, file: &Path) -> Result<String> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Error::Config(format!(
            "source `{source}`: cannot read password_file {}: {e}",
            file.display()
        ))
    })?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(kind: SourceKind, url: &str) -> SourceConfig {
        SourceConfig {
            name: "db".into(),
            service: "app".into(),
            kind,
            path: None,
            url: Some(url.into()),
            password_env: None,
            password_file: None,
            databases: vec![],
            globals: false,
            keep_replaced: false,
            connect_timeout_seconds: 10,
            include: vec![],
            exclude: vec![],
            rpo_hours: 26,
        }
    }

    #[test]
    fn the_password_is_kept_apart_and_never_shown() {
        let address = ServerAddress::of(&source(
            SourceKind::Postgres,
            "postgres://app:s%40cret@db.local/shop",
        ))
        .unwrap();
        assert_eq!(address.password(), Some("s@cret"));
        assert_eq!(address.user().as_deref(), Some("app"));
        assert_eq!(address.port(), 5432);
        assert_eq!(address.database().as_deref(), Some("shop"));
        assert!(
            !address.redacted().contains("cret"),
            "{}",
            address.redacted()
        );
        assert!(!format!("{address:?}").contains("cret"));
        assert_eq!(
            address.with_database("other").redacted(),
            "postgres://app@db.local/other"
        );
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        let err = ServerAddress::check_config(&source(SourceKind::Mysql, "postgres://x@h/db"))
            .unwrap_err();
        assert!(err.1.contains("does not fit a mysql source"), "{err:?}");
        let err =
            ServerAddress::check_config(&source(SourceKind::Redis, "redis://h/zero")).unwrap_err();
        assert!(err.1.contains("not a Redis database number"), "{err:?}");
        let err = ServerAddress::check_config(&source(SourceKind::Postgres, "postgres://u:pw@h"))
            .unwrap_err();
        assert_eq!(err.0, "databases");
        let err = ServerAddress::check_config(&source(SourceKind::Postgres, "not a url :pw"))
            .unwrap_err();
        assert!(!err.1.contains(":pw"), "{err:?}");
    }

    #[test]
    fn a_target_url_may_not_carry_a_password() {
        let address =
            ServerAddress::of(&source(SourceKind::Postgres, "postgres://app:pw@h/shop")).unwrap();
        assert!(address.parse_target("postgres://app:other@h2/x").is_err());
        let target = address.parse_target("postgres://app@h2/x").unwrap();
        assert_eq!(target.password(), Some("pw"));
        assert!(!target.same_server(&address));
    }
}
