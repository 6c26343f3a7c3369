//! Settling a PostgreSQL restore whose process died (`jobs/restore/switch_journal.rs`), from the
//! names its journal record holds. Every step looks at which databases exist now rather than
//! trusting how far the switch got, so running it twice is harmless:
//!
//! - **Replace**: the original sits at `previous` once the rename transaction committed.
//!   Back: `<db>` → staging and `previous` → `<db>` in one transaction. Forward: `previous`
//!   dropped (kept with `keep_replaced`). Either way `<db>` accepts connections.
//! - **Create**: back drops the new database if it is the renamed staging one.
//! - **Contents**: the transaction that replaced the chosen tables died with its `psql`
//!   (rolled back by the server). Back: nothing to do. Forward: the staging database still
//!   existing means the commit may not have happened, so the tables are replaced again from
//!   the dump, committed at once.
//!
//! Staging databases (`<db>_coffer_staging_<tag>`) are dropped in every case.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::held::Held;
use super::sql::{ident, literal, Pg, MAINTENANCE_DB};
use super::switch::renames_in_one_transaction;
use crate::error::{Error, Result};
use crate::sources::database::Recovery;

/// What the journal holds for one source.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// The target server as a URL without password (the source's is used, as for any
    /// target): a restore may go to another server than the source's.
    pub server: String,
    pub keep_replaced: bool,
    pub items: Vec<ItemRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ItemRecord {
    pub name: String,
    pub staging: String,
    pub step: StepRecord,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StepRecord {
    Replace {
        previous: String,
    },
    Create,
    Contents {
        dump: PathBuf,
        list: PathBuf,
        tables: Vec<(String, String)>,
    },
}

pub fn recover(source: &Pg, recovery: &Recovery) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let mut pg = source.clone();
    if let Some(record) = recovery.record {
        let record: Record = serde_json::from_value(record.clone()).map_err(|e| {
            Error::Archive(format!(
                "the journal's PostgreSQL record is unreadable: {e}"
            ))
        })?;
        pg.server = recovery.server.parse_target(&record.server)?;
        let pg = &pg;
        let mut items: Vec<&ItemRecord> = record.items.iter().collect();
        if !recovery.forward {
            items.reverse();
        }
        for item in items {
            if recovery.forward {
                forward(pg, item, record.keep_replaced, &mut warnings)?;
            } else {
                back(pg, item)?;
            }
        }
    }
    drop_staging(&pg, recovery.tag)?;
    Ok(warnings)
}

fn back(pg: &Pg, item: &ItemRecord) -> Result<()> {
    match &item.step {
        StepRecord::Replace { previous } => {
            if pg.exists(previous)? {
                let mut renames = Vec::new();
                if pg.exists(&item.name)? {
                    renames.push((&item.name, &item.staging));
                }
                renames.push((previous, &item.name));
                renames_in_one_transaction(pg, "postgres.recover", &renames)?;
            }
            allow_connections(pg, &item.name)
        }
        StepRecord::Create => {
            if pg.exists(&item.name)? && !pg.exists(&item.staging)? {
                // Staging refuses a name that exists: this one is the restore's.
                pg.drop_database(&item.name)?;
            }
            Ok(())
        }
        StepRecord::Contents { .. } => Ok(()),
    }
}

fn forward(
    pg: &Pg,
    item: &ItemRecord,
    keep_replaced: bool,
    warnings: &mut Vec<String>,
) -> Result<()> {
    match &item.step {
        StepRecord::Replace { previous } => {
            if pg.exists(previous)? {
                if keep_replaced {
                    allow_connections(pg, previous)?;
                    warnings.push(format!(
                        "the replaced database {} is kept as {previous} (keep_replaced)",
                        item.name
                    ));
                } else {
                    pg.drop_database(previous)?;
                }
            }
            allow_connections(pg, &item.name)
        }
        StepRecord::Create => Ok(()),
        StepRecord::Contents { dump, list, tables } => {
            if !pg.exists(&item.staging)? {
                return Ok(()); // dropped after the commit: done
            }
            Held::load(pg, &item.name, tables, dump, list)?.commit()?;
            warnings.push(format!(
                "the chosen tables of {} were replaced again at recovery (the restore was \
                 interrupted while committing them)",
                item.name
            ));
            Ok(())
        }
    }
}

/// Drops the staging databases of the restore tagged `tag`, ending their sessions.
fn drop_staging(pg: &Pg, tag: &str) -> Result<()> {
    if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Archive(format!(
            "the journal's restore tag `{tag}` is not one Coffer makes"
        )));
    }
    let rows = pg.query(
        MAINTENANCE_DB,
        &format!(
            "SELECT datname FROM pg_database WHERE datname LIKE {} ESCAPE '|'",
            literal(&format!("%|_coffer|_staging|_{tag}"))
        ),
    )?;
    for name in rows.lines().map(str::trim).filter(|n| !n.is_empty()) {
        pg.drop_database(name)?;
    }
    Ok(())
}

fn allow_connections(pg: &Pg, database: &str) -> Result<()> {
    if !pg.exists(database)? {
        return Ok(());
    }
    pg.query(
        MAINTENANCE_DB,
        &format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
            ident(database)
        ),
    )
    .map(drop)
}
