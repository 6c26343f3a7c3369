//! `coffer sources check` of a PITR source: what the server must allow before WAL can be
//! streamed (`wal_level`, `max_wal_senders`, a role with REPLICATION, a `pg_hba.conf` line
//! for replication connections), each missing piece named with the exact line that adds it.
//! The last is tested the only sure way: a replication connection (`IDENTIFY_SYSTEM`).

use super::check::{client_major, require_fit};
use super::sql::{ident, literal, Pg, MAINTENANCE_DB};
use crate::config::PitrSettings;
use crate::error::{Error, Result};
use crate::sources::tool;

/// What was found, or every missing piece with the line that adds it.
pub fn check(
    pg: &Pg,
    database: &str,
    pitr: &PitrSettings,
    server_major: u32,
) -> Result<Vec<String>> {
    let row = pg.query(
        database,
        &format!(
            "SELECT current_setting('wal_level') || '|' || current_setting('max_wal_senders') \
             || '|' || (SELECT (rolreplication OR rolsuper)::text FROM pg_roles \
             WHERE rolname = current_user) || '|' || current_user || '|' || \
             (SELECT count(*) FROM pg_replication_slots WHERE slot_name = {})",
            literal(&pitr.slot)
        ),
    )?;
    let parts: Vec<&str> = row.trim().splitn(5, '|').collect();
    let [wal_level, senders, replication, user, slots] = parts[..] else {
        return Err(Error::Source(format!(
            "unexpected answer from the server: `{}`",
            row.trim()
        )));
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut restart = false;
    if matches!(wal_level, "replica" | "logical") {
        found.push(format!("wal_level is {wal_level}"));
    } else {
        restart = true;
        missing.push(format!(
            "wal_level is {wal_level}, WAL streaming needs replica: run `ALTER SYSTEM SET wal_level = replica;`"
        ));
    }
    let senders: u32 = senders.parse().unwrap_or(0);
    if senders > 0 {
        found.push(format!("max_wal_senders is {senders}"));
    } else {
        restart = true;
        missing.push(
            "max_wal_senders is 0, WAL streaming needs a sender: run `ALTER SYSTEM SET max_wal_senders = 10;`"
                .to_string(),
        );
    }
    if replication == "true" {
        found.push(format!("role {user} may replicate"));
    } else {
        missing.push(format!(
            "role {user} lacks REPLICATION: run `ALTER ROLE {} REPLICATION;`",
            ident(user)
        ));
    }
    if restart {
        missing.push(
            "then restart the server (wal_level and max_wal_senders take effect at start)".into(),
        );
    }
    // With the settings missing the connection fails for their sake; say only those.
    if missing.is_empty() {
        match identify_system(pg) {
            Ok(()) => found.push("a replication connection is accepted".into()),
            Err(message) if message.contains("pg_hba.conf") => {
                let host = quoted_after(&message, "host \"").unwrap_or("<Coffer's address>");
                let mask = if host.contains(':') { 128 } else { 32 };
                missing.push(format!(
                    "pg_hba.conf has no line for replication connections from {host}: add \
                     `host replication {user} {host}/{mask} scram-sha-256` to pg_hba.conf, then \
                     run `SELECT pg_reload_conf();`"
                ));
            }
            Err(message) => missing.push(format!("a replication connection fails: {message}")),
        }
    }
    if !missing.is_empty() {
        return Err(Error::Source(format!(
            "WAL streaming (pitr = true) is not possible yet:\n    - {}",
            missing.join("\n    - ")
        )));
    }
    found.push(if slots.trim() == "1" {
        format!("replication slot {} exists", pitr.slot)
    } else {
        format!(
            "replication slot {} will be created when streaming starts",
            pitr.slot
        )
    });
    let major = client_major("pg_receivewal")?;
    require_fit("pg_receivewal", major, server_major)?;
    found.push(format!("pg_receivewal {major} fits server {server_major}"));
    Ok(found)
}

/// A physical replication connection asked `IDENTIFY_SYSTEM`; `Err` holds the server's answer.
fn identify_system(pg: &Pg) -> std::result::Result<(), String> {
    let mut psql = pg.command("psql", MAINTENANCE_DB);
    // Host, port, user and password come from the environment; this names no secret.
    psql.args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-c",
        "IDENTIFY_SYSTEM",
        "dbname=replication replication=true",
    ]);
    tool::output("psql", psql)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The text between `"` after `marker` in `text`.
fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let start = text.find(marker)? + marker.len();
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}
