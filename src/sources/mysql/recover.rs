//! Settling a MySQL/MariaDB restore whose process died (`jobs/switch_journal.rs`). The
//! journal holds, per database, the original's definitions (triggers, views, routines,
//! events) and which tables were where, read just before the switch; `Swap::rollback`
//! then puts the original back from wherever the switch left its tables. Forward (every
//! switch went through) drops the staging database and the replaced one (kept with
//! `keep_replaced`). Staging databases of the restore (`<db>_coffer_staging_<tag>`) are
//! dropped in every case.

use serde::{Deserialize, Serialize};

use super::admin::{literal, Client};
use super::charset::Charset;
use super::objects::{self, Object};
use super::restore::{MysqlRestore, Part};
use super::switch::Swap;
use crate::error::{Error, Result};
use crate::sources::database::Recovery;

#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// The target server as a URL without password (the source's is used).
    pub server: String,
    pub keep_replaced: bool,
    pub parts: Vec<PartRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "part", rename_all = "snake_case")]
pub enum PartRecord {
    /// Loaded straight into a new database.
    Direct {
        db: String,
    },
    Swap(SwapRecord),
}

/// A swap as it stood just before its switch.
#[derive(Debug, Serialize, Deserialize)]
pub struct SwapRecord {
    pub db: String,
    pub staging: String,
    pub previous: String,
    pub selection: Option<Vec<String>>,
    pub original: Vec<Object>,
    pub original_tables: Vec<String>,
    pub staged_tables: Vec<String>,
    /// The original's default character set and collation (put back by a rollback).
    #[serde(default)]
    pub original_charset: Option<Charset>,
}

/// Reads what recovery needs of `restore` (before its switch).
pub fn record(restore: &MysqlRestore, keep_replaced: bool) -> Result<serde_json::Value> {
    let client = &restore.client;
    let parts = restore
        .parts
        .iter()
        .map(|part| {
            Ok(match part {
                Part::Direct { db } => PartRecord::Direct { db: db.clone() },
                Part::Swap(swap) => {
                    let scope = swap.selection.as_deref();
                    let in_scope = |tables: Vec<String>| match scope {
                        Some(chosen) => tables.into_iter().filter(|t| chosen.contains(t)).collect(),
                        None => tables,
                    };
                    PartRecord::Swap(SwapRecord {
                        db: swap.db.clone(),
                        staging: swap.staging.clone(),
                        previous: swap.previous.clone(),
                        selection: swap.selection.clone(),
                        original: objects::read(client, &swap.db, scope)?,
                        original_tables: in_scope(client.tables(&swap.db)?),
                        staged_tables: in_scope(client.tables(&swap.staging)?),
                        original_charset: Charset::of(client, &swap.db)?,
                    })
                }
            })
        })
        .collect::<Result<Vec<_>>>()?;
    serde_json::to_value(Record {
        server: client.server.redacted(),
        keep_replaced,
        parts,
    })
    .map_err(|e| Error::Archive(format!("recording the switch: {e}")))
}

pub fn recover(recovery: &Recovery) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let timeout = recovery.source.connect_timeout_seconds;
    let (source_client, _) = Client::connect(recovery.server, timeout)?;
    if let Some(record) = recovery.record {
        let record: Record = serde_json::from_value(record.clone()).map_err(|e| {
            Error::Archive(format!("the journal's MySQL record is unreadable: {e}"))
        })?;
        let target = recovery.server.parse_target(&record.server)?;
        let (client, _) = Client::connect(&target, timeout)?;
        let keep_replaced = record.keep_replaced;
        let mut parts: Vec<PartRecord> = record.parts;
        if !recovery.forward {
            parts.reverse();
        }
        for part in parts {
            match (part, recovery.forward) {
                (PartRecord::Direct { .. }, true) => {}
                (PartRecord::Direct { db }, false) => client.drop_database(&db)?,
                (PartRecord::Swap(record), forward) => {
                    let previous_exists = client.database_exists(&record.previous)?;
                    if forward {
                        client.drop_database(&record.staging)?;
                        if keep_replaced {
                            warnings.push(format!(
                                "the replaced tables of `{}` are kept in `{}` (keep_replaced)",
                                record.db, record.previous
                            ));
                        } else {
                            client.drop_database(&record.previous)?;
                        }
                        continue;
                    }
                    let staging = record.staging.clone();
                    if !previous_exists {
                        // The switch had not begun: the original is untouched.
                        client.drop_database(&staging)?;
                        continue;
                    }
                    let mut swap = Swap::recovered(record);
                    swap.rollback(&client)?;
                    client.drop_database(&staging)?;
                }
            }
        }
    }
    drop_staging(&source_client, recovery.tag)?;
    Ok(warnings)
}

/// Drops the staging databases of the restore tagged `tag`.
fn drop_staging(client: &Client, tag: &str) -> Result<()> {
    if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Archive(format!(
            "the journal's restore tag `{tag}` is not one Coffer makes"
        )));
    }
    let names = client.query_column(&format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE {} ESCAPE '|'",
        literal(&format!("%|_coffer|_staging|_{tag}"))
    ))?;
    for name in names {
        client.drop_database(&name)?;
    }
    Ok(())
}
