//! The facts of a Redis database (`engine/manifest/facts.rs`), read from a temporary
//! `redis-server` holding a snapshot (`stage.rs`): at backup time the RDB just synced, in a
//! drill the restored one, so both sides read the same bytes the same way. Keyed `db<N>`.
//!
//! - Keys per type, of keys without a time to live only: a key that expires may be gone
//!   when a drill loads the snapshot later (a server drops expired keys while loading), so
//!   counting it would fail a good backup.
//! - A sample of the first `SAMPLE` such keys in byte order, each with a SHA-256 of its
//!   value: of its `DUMP` payload (both sides use the same local redis-server, so the
//!   version and checksum in it agree), except for sets and hashes held as hash tables, whose
//!   `DUMP` lists members in an order that depends on a per-process hash seed — for those,
//!   of their sorted members.
//! - SCAN may return a key twice when the server resizes a table meanwhile: the count is
//!   checked against `INFO keyspace` (`keys - expires`) and read again when it differs.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::conn::{info, info_field, Conn, Reply};
use super::copy::Scanner;
use super::stage::TempServer;
use crate::engine::manifest::{DatabaseFacts, SourceFacts};
use crate::error::{Error, Result};

/// Keys whose values are compared.
const SAMPLE: usize = 100;
/// Scans of a database before giving up on a stable count.
const TRIES: usize = 3;
/// A large key takes a while to serialise.
const READ_WAIT: Duration = Duration::from_secs(120);

/// The facts of database `db` of `server`.
pub fn read(server: &TempServer, db: u32) -> Result<SourceFacts> {
    let mut conn = server.connect()?;
    conn.set_read_timeout(READ_WAIT)?;
    conn.select(db)?;
    let facts = read_database(&mut conn, db)?;
    Ok(SourceFacts {
        databases: BTreeMap::from([(format!("db{db}"), facts)]),
    })
}

fn read_database(conn: &mut Conn, db: u32) -> Result<DatabaseFacts> {
    for _ in 0..TRIES {
        let (keys_by_type, sample) = scan(conn)?;
        let counted: u64 = keys_by_type.values().sum();
        if counted == persistent_keys(conn, db)? {
            let mut sampled_keys = BTreeMap::new();
            for (key, kind) in sample {
                sampled_keys.insert(key.escape_ascii().to_string(), digest(conn, &key, &kind)?);
            }
            return Ok(DatabaseFacts {
                keys_by_type,
                sampled_keys,
                ..DatabaseFacts::default()
            });
        }
    }
    Err(Error::Source(format!(
        "{}: the keys of database {db} could not be counted (SCAN returned some twice, \
         {TRIES} times)",
        conn.label
    )))
}

/// Keys without expiry per type, and the first `SAMPLE` of them with their types.
type Scan = (BTreeMap<String, u64>, BTreeMap<Vec<u8>, String>);

fn scan(conn: &mut Conn) -> Result<Scan> {
    let mut by_type = BTreeMap::new();
    let mut sample = BTreeMap::new();
    let mut keys = Scanner::new(None);
    while let Some(batch) = keys.next(conn)? {
        let commands: Vec<Vec<&[u8]>> = batch
            .iter()
            .flat_map(|k| [vec![b"TYPE".as_slice(), k], vec![b"PTTL".as_slice(), k]])
            .collect();
        let mut replies = conn.pipeline(&commands)?.into_iter();
        for key in batch {
            let (Some(Reply::Status(kind)), Some(Reply::Int(ttl))) =
                (replies.next(), replies.next())
            else {
                return Err(unexpected(conn, "TYPE/PTTL"));
            };
            if ttl != -1 {
                continue; // expires (or is gone)
            }
            *by_type.entry(kind.clone()).or_insert(0) += 1;
            sample.insert(key, kind);
            if sample.len() > SAMPLE {
                sample.pop_last();
            }
        }
    }
    Ok((by_type, sample))
}

/// Keys without expiry in database `db`, as the server counts them.
fn persistent_keys(conn: &mut Conn, db: u32) -> Result<u64> {
    let fields = info(conn, "keyspace")?;
    let Some(line) = info_field(&fields, &format!("db{db}")) else {
        return Ok(0); // an empty database is not listed
    };
    let number = |name: &str| {
        line.split(',')
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
            .and_then(|n| n.parse::<u64>().ok())
    };
    match (number("keys"), number("expires")) {
        (Some(keys), Some(expires)) => Ok(keys.saturating_sub(expires)),
        _ => Err(unexpected(conn, "INFO keyspace")),
    }
}

/// The SHA-256 (hex) of the value of `key`, of type `kind`.
fn digest(conn: &mut Conn, key: &[u8], kind: &str) -> Result<String> {
    let unordered = matches!(kind, "set" | "hash")
        && conn
            .ok(&[b"OBJECT", b"ENCODING", key])?
            .into_bytes()
            .as_deref()
            == Some(b"hashtable".as_slice());
    let mut hasher = Sha256::new();
    if unordered {
        let command: &[u8] = if kind == "set" {
            b"SMEMBERS"
        } else {
            b"HGETALL"
        };
        let Reply::Array(Some(items)) = conn.ok(&[command, key])? else {
            return Err(unexpected(conn, "SMEMBERS/HGETALL"));
        };
        let items: Vec<Vec<u8>> = items.into_iter().filter_map(Reply::into_bytes).collect();
        // A hash's fields with their values, a set's members: sorted, each length-prefixed.
        let mut members: Vec<Vec<u8>> = if kind == "hash" {
            items.chunks(2).map(prefixed).collect()
        } else {
            items.chunks(1).map(prefixed).collect()
        };
        members.sort();
        hasher.update(kind.as_bytes());
        for member in members {
            hasher.update(&member);
        }
    } else {
        let Reply::Bulk(Some(payload)) = conn.ok(&[b"DUMP", key])? else {
            return Err(unexpected(conn, "DUMP"));
        };
        hasher.update(&payload);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Parts joined so that different parts never join the same: each after its length.
fn prefixed(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn unexpected(conn: &Conn, command: &str) -> Error {
    Error::Source(format!(
        "{}: {command} gave an answer Coffer does not understand",
        conn.label
    ))
}
