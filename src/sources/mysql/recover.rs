//! Settling a MySQL/MariaDB restore whose process died (`jobs/restore/switch_journal.rs`). The
//! journal holds, per database, the original's definitions (triggers, views, routines,
//! events) and which tables were where, read just before the switch; `Swap::rollback`
//! then puts the original back from wherever the switch left its tables. Forward (every
//! switch went through) drops the staging database and the replaced one (kept with
//! `keep_replaced`). Back, a restore into a new database (`Swap::fresh`) drops that
//! database, but only while it holds nothing but the restore's own tables. Staging databases
//! of the restore (`<db>_coffer_staging_<tag>`) are dropped in every case.

use serde::{Deserialize, Serialize};

use super::admin::{literal, Client};
use super::charset::Charset;
use super::objects::{self, Object};
use super::restore::MysqlRestore;
use super::switch::Swap;
use crate::error::{Error, Result};
use crate::sources::database::Recovery;

#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// The target server as a URL without password (the source's is used).
    pub server: String,
    pub keep_replaced: bool,
    pub parts: Vec<SwapRecord>,
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
    /// There was no original: the switch creates `db`.
    #[serde(default)]
    pub fresh: bool,
}

/// Reads what recovery needs of `restore` (before its switch).
pub fn record(restore: &MysqlRestore, keep_replaced: bool) -> Result<serde_json::Value> {
    let client = &restore.client;
    let parts = restore
        .parts
        .iter()
        .map(|swap| {
            let scope = swap.selection.as_deref();
            let in_scope = |tables: Vec<String>| match scope {
                Some(chosen) => tables.into_iter().filter(|t| chosen.contains(t)).collect(),
                None => tables,
            };
            Ok(SwapRecord {
                db: swap.db.clone(),
                staging: swap.staging.clone(),
                previous: swap.previous.clone(),
                selection: swap.selection.clone(),
                original: objects::read(client, &swap.db, scope)?,
                original_tables: in_scope(client.tables(&swap.db)?),
                staged_tables: in_scope(client.tables(&swap.staging)?),
                original_charset: Charset::of(client, &swap.db)?,
                fresh: swap.is_fresh(),
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
    let (source_client, _) = Client::connect(recovery.server)?;
    if let Some(record) = recovery.record {
        let record: Record = serde_json::from_value(record.clone()).map_err(|e| {
            Error::Archive(format!("the journal's MySQL record is unreadable: {e}"))
        })?;
        let target = recovery.server.parse_target(&record.server)?;
        let (client, _) = Client::connect(&target)?;
        let keep_replaced = record.keep_replaced;
        let mut parts = record.parts;
        if !recovery.forward {
            parts.reverse();
        }
        for record in parts {
            let staging = record.staging.clone();
            if recovery.forward {
                client.drop_database(&staging)?;
                if record.fresh {
                    // Nothing was replaced.
                } else if keep_replaced {
                    warnings.push(format!(
                        "the replaced tables of `{}` are kept in `{}` (keep_replaced)",
                        record.db, record.previous
                    ));
                } else {
                    client.drop_database(&record.previous)?;
                }
                continue;
            }
            let begun = if record.fresh {
                fresh_database_is_ours(&client, &record, &mut warnings)?
            } else {
                // The switch had not begun while the previous database did not exist: the
                // original is untouched.
                client.database_exists(&record.previous)?
            };
            if begun {
                Swap::recovered(record).rollback(&client)?;
            }
            client.drop_database(&staging)?;
        }
    }
    drop_staging(&source_client, recovery.tag)?;
    Ok(warnings)
}

/// Whether the new database of a fresh swap exists and holds only the restore's tables (it
/// is then the switch's own, to drop). Someone else's database under that name, created
/// between the journal and the switch, is left alone with a warning.
fn fresh_database_is_ours(
    client: &Client,
    record: &SwapRecord,
    warnings: &mut Vec<String>,
) -> Result<bool> {
    if !client.database_exists(&record.db)? {
        return Ok(false);
    }
    let strangers: Vec<String> = client
        .tables(&record.db)?
        .into_iter()
        .filter(|t| !record.staged_tables.contains(t))
        .collect();
    if strangers.is_empty() {
        return Ok(true);
    }
    warnings.push(format!(
        "`{}` holds tables this restore did not create ({}): left as it is",
        record.db,
        strangers.join(", ")
    ));
    Ok(false)
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
