//! `coffer sources check` for a `mysql` source, and the rule every dump applies first:
//! the client tools must not be older than the server (an older `mysqldump` can miss what a
//! newer server has, without saying so).

use std::process::Command;

use super::admin::{Client, Tools};
use crate::error::{Error, Result};
use crate::sources::tool;

/// A server or tool version as far as compatibility goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub mariadb: bool,
    pub major: u32,
    pub minor: u32,
    /// As the program or server printed it (`10.11.19-MariaDB`).
    pub text: String,
}

impl Version {
    /// `10.11.19-MariaDB-0+deb12u1`, `8.0.36`: what `SELECT VERSION()` says.
    pub fn of_server(text: &str) -> Option<Version> {
        parse_number(text, text.contains("MariaDB"))
    }

    /// What a tool's `--version` prints: `mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB,
    /// for …`, `mariadb-dump from 11.4.2-MariaDB, client 10.19 …`, `mysqldump  Ver 8.0.36 for
    /// Linux …` (the server release it belongs to, not the tool's own number).
    pub fn of_tool(text: &str) -> Option<Version> {
        let mariadb = text.contains("MariaDB");
        let release = ["Distrib ", " from ", " Ver "]
            .iter()
            .find_map(|marker| text.split_once(marker).map(|(_, rest)| rest))?;
        let token = release
            .split(|c: char| c == ',' || c.is_whitespace())
            .next()?;
        parse_number(token, mariadb)
    }

    fn flavour(&self) -> &'static str {
        if self.mariadb {
            "MariaDB"
        } else {
            "MySQL"
        }
    }
}

fn parse_number(text: &str, mariadb: bool) -> Option<Version> {
    let text = text.trim();
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some(Version {
        mariadb,
        major,
        minor,
        text: text.to_string(),
    })
}

/// Refuses a tool older than the server of the same flavour; a tool of the other flavour
/// is a warning (it mostly works, but each side has dump options the other lacks).
pub fn fit(tool: &str, tool_version: &Version, server: &Version) -> Result<Option<String>> {
    if tool_version.mariadb != server.mariadb {
        return Ok(Some(format!(
            "{tool} is {} {} but the server is {} {}: install the {} client tools for a faithful dump",
            tool_version.flavour(),
            tool_version.text,
            server.flavour(),
            server.text,
            server.flavour()
        )));
    }
    if (tool_version.major, tool_version.minor) < (server.major, server.minor) {
        return Err(Error::Source(format!(
            "{tool} {} is older than the server ({} {}): install client tools of version {}.{} or newer",
            tool_version.text,
            server.flavour(),
            server.text,
            server.major,
            server.minor
        )));
    }
    Ok(None)
}

/// The version of `program`, from its `--version`.
pub fn tool_version(program: &'static str) -> Result<Version> {
    let mut command = Command::new(program);
    command.arg("--version");
    let text = tool::output(program, command)?;
    Version::of_tool(&text).ok_or_else(|| {
        Error::Source(format!(
            "cannot tell which version {program} is from `{}`",
            text.trim()
        ))
    })
}

/// Both tools fit `server`; returns their versions and warnings.
pub fn tools_fit(tools: Tools, server: &Version) -> Result<(Vec<Version>, Vec<String>)> {
    let mut versions = Vec::new();
    let mut warnings = Vec::new();
    for program in [tools.client, tools.dump] {
        let version = tool_version(program)?;
        warnings.extend(fit(program, &version, server)?);
        versions.push(version);
    }
    Ok((versions, warnings))
}

/// Connects, reports the server version and the client tools, and fails when the tools do
/// not fit the server or a configured database is missing.
pub fn check(client: &Client, server_text: &str, databases: &[String]) -> Result<Vec<String>> {
    let server = Version::of_server(server_text).ok_or_else(|| {
        Error::Source(format!(
            "cannot tell the server's version from `{server_text}`"
        ))
    })?;
    let mut found = vec![
        format!(
            "reachable and authenticated at {}",
            client.server.redacted()
        ),
        format!("server {} {}", server.flavour(), server.text),
    ];
    let (versions, warnings) = tools_fit(client.tools, &server)?;
    for (program, version) in [client.tools.client, client.tools.dump]
        .iter()
        .zip(&versions)
    {
        found.push(format!(
            "{program} from {} {}",
            version.flavour(),
            version.text
        ));
    }
    found.extend(warnings.into_iter().map(|w| format!("warning: {w}")));
    for db in databases {
        if !client.database_exists(db)? {
            return Err(Error::Source(format!(
                "database `{db}` does not exist on {}",
                client.server.redacted()
            )));
        }
        found.push(format!("database `{db}` is there"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_every_known_shape() {
        let tool = Version::of_tool(
            "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)",
        )
        .unwrap();
        assert!(tool.mariadb);
        assert_eq!((tool.major, tool.minor), (10, 11));
        let tool =
            Version::of_tool("mariadb-dump from 11.4.2-MariaDB, client 10.19 for debian-linux-gnu")
                .unwrap();
        assert_eq!((tool.major, tool.minor), (11, 4));
        let tool =
            Version::of_tool("mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server)")
                .unwrap();
        assert!(!tool.mariadb);
        assert_eq!((tool.major, tool.minor), (8, 0));
        let server = Version::of_server("10.11.19-MariaDB-0+deb12u1").unwrap();
        assert_eq!((server.major, server.minor), (10, 11));
    }

    #[test]
    fn an_older_tool_is_refused_and_another_flavour_warned_about() {
        let server = Version::of_server("10.11.19-MariaDB").unwrap();
        let old = Version::of_server("10.6.1-MariaDB").unwrap();
        let err = fit("mariadb-dump", &old, &server).unwrap_err();
        assert!(err.to_string().contains("older than the server"), "{err}");
        let newer = Version::of_server("11.4.2-MariaDB").unwrap();
        assert_eq!(fit("mariadb-dump", &newer, &server).unwrap(), None);
        let mysql = Version::of_server("8.0.36").unwrap();
        assert!(fit("mysqldump", &mysql, &server).unwrap().is_some());
    }
}
