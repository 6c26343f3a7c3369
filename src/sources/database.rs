//! What every database server kind (`postgres`, `mysql`, `redis`) does for Coffer, as one
//! trait with an implementation per kind:
//!
//! - **dump**: write a consistent dump of the source into an empty scratch folder, reporting
//!   progress against a size estimate. The folder becomes the source's entries in the archive
//!   and is removed afterwards (also on failure).
//! - **stage**: load a restored dump into a staging place (a staging database, a temporary
//!   server) and validate it, changing nothing live; the returned [`StagedRestore`] then
//!   switches it in, can undo that switch, and finally drops (or keeps) what it replaced.
//! - **check**: reachable, authenticated, client tools fit the server.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::server::ServerAddress;
use super::target_now::{NowRequest, TargetNow};
use crate::config::{SourceConfig, SourceSpec};
use crate::domain::SourceKind;
use crate::engine::manifest::SourceFacts;
use crate::engine::progress::ProgressSink;
use crate::error::{Error, Result};

pub trait DatabaseKind: Sync {
    /// Writes the dump files of `source` into `dir` (an empty folder). File names are plain
    /// names (`shop.pgdump`, `dump.rdb`); warnings go to `warnings`.
    fn dump(&self, dump: DumpRequest<'_>) -> Result<()>;

    /// Whether the dump file `name` (as `dump` wrote it) is compressed already, so the
    /// archive stores it as it is rather than deflating it again for nothing.
    fn compressed(&self, _name: &str) -> bool {
        false
    }

    /// Loads the dump files in `request.dir` into a staging place and validates them.
    fn stage(&self, request: &StageRequest) -> Result<Box<dyn StagedRestore>>;

    /// Whether restoring to `target` replaces data that exists now (so a safety backup of
    /// the source is taken first). Only `Original` ever replaces: a named target that exists
    /// is refused by `stage` instead.
    fn overwrites(
        &self,
        source: &SourceConfig,
        server: &ServerAddress,
        target: &DatabaseTarget,
    ) -> Result<bool>;

    /// What a restore to `request.target` would find there now, per database of the backup
    /// (the preview before a restore is confirmed); reads only.
    fn now(&self, request: &NowRequest) -> Result<Vec<TargetNow>>;

    /// Connects and reports what it found (server version, tool versions), or why it failed.
    fn check(&self, source: &SourceConfig, server: &ServerAddress) -> Result<Vec<String>>;

    /// Settles the restore of a process that died (`jobs/restore/switch_journal.rs`): drops what
    /// staging created and, with a record, rolls the switch back (all old) or forward (all
    /// new, what was replaced dropped unless kept). Idempotent: a recovery killed in turn
    /// runs again. Returns warnings; an error keeps the journal for another try.
    fn recover(&self, recovery: &Recovery) -> Result<Vec<String>>;
}

/// What recovery knows of one database source's interrupted restore.
pub struct Recovery<'a> {
    pub source: &'a SourceConfig,
    /// The server the restore went to (the source's, or the target URL's with the source's
    /// credentials): where staging databases are looked for.
    pub server: &'a ServerAddress,
    /// The restore's tag ([`StageRequest::tag`]): names what staging created.
    pub tag: &'a str,
    /// [`StagedRestore::recovery_record`], once staged; `None` when the process died while
    /// staging (nothing live changed).
    pub record: Option<&'a serde_json::Value>,
    /// Roll forward (every switch of the restore went through) or back.
    pub forward: bool,
}

/// One dump of a source.
pub struct DumpRequest<'a> {
    pub source: &'a SourceConfig,
    pub server: &'a ServerAddress,
    /// The empty scratch folder to write into.
    pub dir: &'a Path,
    pub progress: &'a dyn ProgressSink,
    pub warnings: &'a mut Vec<String>,
    /// Row counts, objects, key counts of each database, from the same snapshot as its dump
    /// (a kind that records none leaves it empty).
    pub facts: &'a mut SourceFacts,
}

/// One restore of a source's dump.
pub struct StageRequest<'a> {
    /// The source as configured now (for its password and settings).
    pub source: &'a SourceConfig,
    pub server: &'a ServerAddress,
    /// The folder holding the restored dump files (as the dump wrote them).
    pub dir: &'a Path,
    pub target: &'a DatabaseTarget,
    pub selection: &'a Selection,
    /// Redis: add to what the target holds instead of replacing it.
    pub merge: bool,
    /// Unique per restore (12 hex digits): names staging databases and the like.
    pub tag: &'a str,
    /// When the restore started: names dated databases (`<db>_restored_<time>`).
    pub started: DateTime<Utc>,
    pub progress: &'a dyn ProgressSink,
}

/// Where a database source is restored to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DatabaseTarget {
    /// Over the source's own databases, safely: staged, validated, switched.
    Original,
    /// A database name on the source's server, or a URL of the source's kind (another
    /// server; for Redis a database number in the URL's path).
    Named(String),
    /// New databases named `<db>_restored_<time>` beside the originals.
    NewDefault,
    /// A drill: loaded into staging on the source's server (Redis: a temporary server
    /// only), proven there with [`StagedRestore::facts`], and discarded; never switched in.
    Scratch,
}

impl DatabaseTarget {
    /// The server this target is on, as a URL without password, when it is not the source's
    /// own (`source`): a target given as a URL.
    pub fn other_server(&self, source: &ServerAddress) -> Result<Option<String>> {
        match self {
            DatabaseTarget::Named(text) if text.contains("://") => {
                Ok(Some(source.parse_target(text)?.redacted()))
            }
            _ => Ok(None),
        }
    }
}

/// Part of a dump to restore; empty means all of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    /// `postgres`, `mysql`: tables (`name` or `schema.name` for postgres).
    pub tables: Vec<String>,
    /// `postgres`: schemas.
    pub schemas: Vec<String>,
    /// `redis`: a key pattern (`user:*`, Redis glob syntax).
    pub keys: Option<String>,
}

impl Selection {
    pub fn is_everything(&self) -> bool {
        self.tables.is_empty() && self.schemas.is_empty() && self.keys.is_none()
    }

    /// Refuses choices that do not apply to `kind` before anything is touched.
    pub fn check_fits(&self, kind: SourceKind, source: &str) -> Result<()> {
        let refuse = |what: &str| {
            Err(Error::Refused(format!(
                "{what} does not apply to source `{source}` of kind {kind}"
            )))
        };
        if !self.tables.is_empty() && !matches!(kind, SourceKind::Postgres | SourceKind::Mysql) {
            return refuse("--table");
        }
        if !self.schemas.is_empty() && kind != SourceKind::Postgres {
            return refuse("--schema");
        }
        if self.keys.is_some() && kind != SourceKind::Redis {
            return refuse("--keys");
        }
        for name in self.tables.iter().chain(&self.schemas) {
            if name.is_empty() || name.chars().any(|c| c.is_control() || c == '"' || c == '`') {
                return Err(Error::Refused(format!(
                    "`{name}` is not a table or schema name Coffer accepts"
                )));
            }
        }
        Ok(())
    }
}

/// A restore loaded into its staging place and validated; nothing live changed yet.
pub trait StagedRestore: Send {
    /// Where the data lands, safe to show (`postgres://app@host/shop`).
    fn destination(&self) -> String;
    /// Reads what the switch will need and returns what another process needs to roll this
    /// restore back or forward if this one dies ([`DatabaseKind::recover`]); the restore
    /// writes it to its journal, then calls `switch`.
    fn recovery_record(&mut self) -> Result<serde_json::Value>;
    /// Puts the staged data in place, keeping what it replaces until `finish`. A switch that
    /// fails part-way must put back what it already changed before returning its error: the
    /// restore only calls `undo` on switches that succeeded.
    fn switch(&mut self) -> Result<()>;
    /// Puts back what `switch` replaced (a later step of the restore failed).
    fn undo(&mut self) -> Result<()>;
    /// After every switch of the restore succeeded: drops what was replaced (or keeps it,
    /// as configured) and returns warnings.
    fn finish(self: Box<Self>) -> Vec<String>;
    /// Removes the staging copy: the restore failed before this one was switched, or it was
    /// switched and `undo` has put the original back.
    fn discard(self: Box<Self>);
    /// What the staging copy holds, read as [`DatabaseKind::dump`] records it at backup
    /// time, for a drill to compare.
    fn facts(&self) -> Result<SourceFacts>;
}

/// The implementation for a server kind; `None` for path-based kinds.
pub fn kind_of(kind: SourceKind) -> Option<&'static dyn DatabaseKind> {
    match kind {
        SourceKind::Postgres => Some(&super::postgres::Postgres),
        SourceKind::Mysql => Some(&super::mysql::Mysql),
        SourceKind::Redis => Some(&super::redis::Redis),
        SourceKind::Directory | SourceKind::File | SourceKind::Sqlite => None,
    }
}

/// `coffer sources check` and the console's "test connection": what the check found.
pub fn check(source: &SourceConfig) -> Result<Vec<String>> {
    let kind: &dyn DatabaseKind = match &source.spec {
        SourceSpec::Directory { path, .. } => return super::check_path(path, true),
        SourceSpec::File { path } | SourceSpec::Sqlite { path } => {
            return super::check_path(path, false)
        }
        SourceSpec::Postgres { .. } => &super::postgres::Postgres,
        SourceSpec::Mysql { .. } => &super::mysql::Mysql,
        SourceSpec::Redis { .. } => &super::redis::Redis,
    };
    kind.check(source, &ServerAddress::of(source)?)
}

/// `<db>_restored_<YYYYmmdd_HHMMSS>`, the default name of a database restored beside the
/// original, cut to fit identifier limits (`working_name`).
pub fn default_restored_name(database: &str, started: DateTime<Utc>) -> String {
    let suffix = format!("_restored_{}", started.format("%Y%m%d_%H%M%S"));
    super::working_name::working_name(database, &suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_fit_identifier_limits() {
        let started = DateTime::parse_from_rfc3339("2026-11-21T10:20:30Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            default_restored_name("shop", started),
            "shop_restored_20261121_102030"
        );
        assert!(default_restored_name(&"x".repeat(80), started).len() <= 63);
    }

    #[test]
    fn selections_are_checked_against_the_kind() {
        let tables = Selection {
            tables: vec!["orders".into()],
            ..Default::default()
        };
        assert!(tables.check_fits(SourceKind::Postgres, "db").is_ok());
        assert!(tables.check_fits(SourceKind::Redis, "cache").is_err());
        let keys = Selection {
            keys: Some("user:*".into()),
            ..Default::default()
        };
        assert!(keys.check_fits(SourceKind::Redis, "cache").is_ok());
        assert!(keys.check_fits(SourceKind::Mysql, "db").is_err());
    }
}
