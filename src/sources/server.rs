//! Where a database source lives: its URL, with the password kept apart so it can be handed
//! to a client tool through the environment (never on a command line, which `ps` shows) and
//! never shown. `redacted()` is what logs, pages, task params and the manifest carry.

use std::fmt;
use std::path::Path;

use crate::config::{PasswordFrom, ServerUrl, SourceConfig};
use crate::domain::SourceKind;
use crate::error::{Error, Result};

/// A database server address with its resolved password.
#[derive(Clone)]
pub struct ServerAddress {
    kind: SourceKind,
    /// The URL without its password.
    url: ServerUrl,
    password: Option<String>,
    /// How long to wait for the server (the source's `connect_timeout_seconds`).
    connect_timeout_seconds: u32,
}

impl fmt::Debug for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl ServerAddress {
    /// The source's server, with the password from the URL, `password_env` or `password_file`.
    pub fn of(source: &SourceConfig) -> Result<Self> {
        let Some(server) = source.server() else {
            return Err(Error::Config(format!(
                "source `{}` is a {} source, not a database server",
                source.name,
                source.kind()
            )));
        };
        let (url, mut password) = server.url.without_password();
        match &server.password {
            Some(PasswordFrom::Env(var)) => {
                password = Some(std::env::var(var).map_err(|_| {
                    Error::Config(format!(
                        "source `{}`: password_env names `{var}`, which is not set in Coffer's environment",
                        source.name
                    ))
                })?);
            }
            Some(PasswordFrom::File(file)) => {
                password = Some(read_password_file(&source.name, file)?);
            }
            None => {}
        }
        Ok(ServerAddress {
            kind: source.kind(),
            url,
            password,
            connect_timeout_seconds: server.connect_timeout_seconds,
        })
    }

    /// A restore target given as a URL (`--target postgres://host/db`). It must be of the
    /// source's kind and carry no password: the task's parameters are stored, so the source's
    /// own password (from wherever it is configured) is used for the target server too.
    pub fn parse_target(&self, text: &str) -> Result<Self> {
        let url = ServerUrl::parse(self.kind, text)
            .map_err(|m| Error::Invalid(format!("target: {m}")))?;
        if url.as_url().password().is_some() {
            return Err(Error::Invalid(
                "a target URL must not contain a password (it would be stored with the task): \
                 the source's password is used for the target server too"
                    .into(),
            ));
        }
        Ok(ServerAddress {
            url,
            ..self.clone()
        })
    }

    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    /// Seconds to wait for the server before giving up.
    pub fn connect_timeout_seconds(&self) -> u32 {
        self.connect_timeout_seconds
    }

    pub fn host(&self) -> &str {
        self.url.as_url().host_str().unwrap_or("127.0.0.1")
    }

    pub fn port(&self) -> u16 {
        self.url.as_url().port().unwrap_or(match self.kind {
            SourceKind::Postgres => 5432,
            SourceKind::Mysql => 3306,
            _ => 6379,
        })
    }

    /// The user name, when the URL gives one.
    pub fn user(&self) -> Option<String> {
        self.url.user()
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The database named in the URL's path (postgres, mysql).
    pub fn database(&self) -> Option<String> {
        self.url.database()
    }

    /// Redis: the database number in the URL's path (0 when absent).
    pub fn redis_db(&self) -> u32 {
        self.url
            .database()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// The same server with another database in the path.
    pub fn with_database(&self, name: &str) -> Self {
        ServerAddress {
            url: self.url.with_database(name),
            ..self.clone()
        }
    }

    /// `scheme://user@host:port/db`, safe to show anywhere.
    pub fn redacted(&self) -> String {
        let mut url = self.url.as_url().clone();
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
        SourceConfig::from_toml(&format!("name = 'db'\nkind = '{kind}'\nurl = '{url}'")).unwrap()
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
    fn a_target_url_may_not_carry_a_password() {
        let address =
            ServerAddress::of(&source(SourceKind::Postgres, "postgres://app:pw@h/shop")).unwrap();
        assert!(address.parse_target("postgres://app:other@h2/x").is_err());
        let target = address.parse_target("postgres://app@h2/x").unwrap();
        assert_eq!(target.password(), Some("pw"));
        assert!(!target.same_server(&address));
    }

    #[test]
    fn a_path_source_has_no_server() {
        let file = SourceConfig::from_toml("name = 'f'\nkind = 'file'\npath = '/x'").unwrap();
        let err = ServerAddress::of(&file).unwrap_err().to_string();
        assert!(err.contains("not a database server"), "{err}");
    }
}
