//! What a restore's target holds now, for the preview before a restore is confirmed
//! (`jobs/restore/preview.rs`): per database of the backup, where it would land and the rows
//! per table (PostgreSQL, MySQL) or keys (Redis) there now. Only read, never changed; the
//! same target rules as the restore's staging (`DatabaseTarget`), so the preview names the
//! databases the restore would really write.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::database::{DatabaseTarget, Selection};
use super::server::ServerAddress;
use crate::config::SourceConfig;

/// What the preview asks of a database kind.
pub struct NowRequest<'a> {
    pub source: &'a SourceConfig,
    pub server: &'a ServerAddress,
    pub target: &'a DatabaseTarget,
    /// The databases the backup holds (their names at backup time).
    pub databases: &'a [String],
    pub selection: &'a Selection,
    /// Redis: the restore adds to the target instead of replacing it.
    pub merge: bool,
    /// Names the `<db>_restored_<time>` databases a restore beside the originals would make.
    pub started: DateTime<Utc>,
}

/// One database of the backup and what is at its target now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TargetNow {
    /// Its name in the backup (the key of the backup's facts: `shop`, `db3`).
    pub database: String,
    /// Where the restore writes it, safe to show (`postgres://app@host:5432/shop`).
    pub place: String,
    /// Whether that database exists now (`false`: the restore creates it).
    pub exists: bool,
    /// Rows per table now (PostgreSQL, MySQL), restricted to the selection's tables.
    pub tables: BTreeMap<String, u64>,
    /// Redis: the keys now (those matching the selection's pattern when one is given).
    pub keys: Option<KeysNow>,
    /// Something the restore would do that the numbers do not show (it would refuse, …).
    pub note: Option<String>,
}

/// Keys of a Redis database now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KeysNow {
    pub all: u64,
    /// Keys without a time to live (what the backup's facts count); `None` with a pattern.
    pub without_ttl: Option<u64>,
}

impl TargetNow {
    /// A database the restore would create.
    pub fn new_database(database: &str, place: String) -> TargetNow {
        TargetNow {
            database: database.to_string(),
            place,
            exists: false,
            tables: BTreeMap::new(),
            keys: None,
            note: None,
        }
    }
}

/// Whether table `name` (`schema.table` for PostgreSQL, `table` for MySQL) is restored under
/// `selection` (everything when it chooses nothing).
pub fn selected(selection: &Selection, name: &str) -> bool {
    if selection.tables.is_empty() && selection.schemas.is_empty() {
        return true;
    }
    // As `pg_restore`'s list does (`postgres/toc.rs`): a table named without a schema is
    // chosen in every schema.
    let (schema, table) = name.split_once('.').unwrap_or(("", name));
    selection.schemas.iter().any(|s| s == schema)
        || selection
            .tables
            .iter()
            .any(|t| t == name || (!t.contains('.') && t == table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_chosen_as_the_restore_chooses_them() {
        let everything = Selection::default();
        assert!(selected(&everything, "public.orders"));
        let chosen = Selection {
            tables: vec!["orders".into(), "billing.invoices".into()],
            schemas: vec!["audit".into()],
            keys: None,
        };
        assert!(selected(&chosen, "public.orders"));
        assert!(selected(&chosen, "orders"), "a MySQL table");
        assert!(selected(&chosen, "billing.invoices"));
        assert!(!selected(&chosen, "public.invoices"));
        assert!(selected(&chosen, "audit.events"));
        assert!(!selected(&chosen, "public.customers"));
    }
}
