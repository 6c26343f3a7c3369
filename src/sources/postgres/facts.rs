//! The facts of a PostgreSQL database (`engine/manifest/facts.rs`): exact row counts per
//! table, views, functions and sequences with their values. At backup time they are read in
//! the transaction whose snapshot `pg_dump` uses (`--snapshot`), so they describe exactly
//! what the dump holds even while the application writes; a drill reads the same query from
//! its scratch copy.

use super::sql::Pg;
use crate::engine::manifest::DatabaseFacts;
use crate::error::{Error, Result};
use crate::sources::tool::Session;

/// Schemas that belong to the server, not to the application.
const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'";

/// One statement returning the facts as one JSON object on one line (names of any kind
/// survive, unlike `psql`'s column separators). `count(*)` per table goes through
/// `query_to_xml`, so a single statement counts every table in the caller's snapshot.
fn query() -> String {
    format!(
        "SELECT json_build_object(\
           'tables', (SELECT coalesce(json_object_agg(name, rows), '{{}}') FROM (\
              SELECT n.nspname || '.' || c.relname AS name, \
                (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', \
                   n.nspname, c.relname), false, true, '')))[1]::text::bigint AS rows \
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMA}) t), \
           'views', (SELECT coalesce(json_agg(n.nspname || '.' || c.relname ORDER BY 1), '[]') \
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              WHERE c.relkind IN ('v', 'm') AND {USER_SCHEMA}), \
           'functions', (SELECT coalesce(json_agg(p.oid::regprocedure::text ORDER BY 1), '[]') \
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {USER_SCHEMA}), \
           'sequences', (SELECT coalesce(json_object_agg(n.nspname || '.' || c.relname, \
                 s.last_value), '{{}}') \
              FROM pg_sequences s \
              JOIN pg_namespace n ON n.nspname = s.schemaname \
              JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename \
              WHERE {USER_SCHEMA}))"
    )
}

/// The facts of `database` as it is now (a drill's scratch copy).
pub fn read(pg: &Pg, database: &str) -> Result<DatabaseFacts> {
    parse(&pg.query(database, &query())?)
}

/// A transaction whose snapshot `pg_dump --snapshot` shares, open until dropped.
pub struct ExportedSnapshot {
    session: Session,
    pub id: String,
}

impl ExportedSnapshot {
    pub fn begin(pg: &Pg, database: &str) -> Result<ExportedSnapshot> {
        let mut session = pg.session(database)?;
        session.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n")?;
        let rows = session.run("SELECT pg_export_snapshot();\n")?;
        let id = rows
            .first()
            .map(|r| r.trim().to_string())
            .unwrap_or_default();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::Source(format!(
                "PostgreSQL returned `{id}` as a snapshot id"
            )));
        }
        Ok(ExportedSnapshot { session, id })
    }

    /// The facts as the snapshot sees them.
    pub fn facts(&mut self) -> Result<DatabaseFacts> {
        let rows = self.session.run(&format!("{};\n", query()))?;
        parse(&rows.join("\n"))
    }

    /// Ends the read-only transaction (nothing to commit).
    pub fn end(mut self) {
        let _ = self.session.run("ROLLBACK;\n");
        self.session.close();
    }
}

fn parse(text: &str) -> Result<DatabaseFacts> {
    serde_json::from_str(text.trim()).map_err(|e| {
        Error::Source(format!(
            "PostgreSQL's answer to the facts query is not readable: {e}"
        ))
    })
}
