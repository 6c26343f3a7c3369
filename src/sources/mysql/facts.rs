//! The facts of a loaded `mysql` database, read from the server the way `dumpfacts.rs`
//! reads them from the dump, so that a drill can compare the two: exact `COUNT(*)` per
//! table (base and system-versioned tables, which the dump tool writes as CREATE TABLE;
//! MariaDB's sequences are neither, in the dump or here), views, and functions and
//! procedures as `FUNCTION name` / `PROCEDURE name`.

use super::admin::{ident, literal, Client};
use crate::engine::manifest::DatabaseFacts;
use crate::error::{Error, Result};

/// The facts of database `db` as it is now (a drill's staging database: nothing writes to
/// it, so counting table by table is exact).
pub fn read(client: &Client, db: &str) -> Result<DatabaseFacts> {
    let schema = literal(db);
    let tables = client.query_column(&format!(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {schema} \
         AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME"
    ))?;
    let mut facts = DatabaseFacts::default();
    if !tables.is_empty() {
        // One client run: each statement answers one row, in order.
        let counts: Vec<String> = tables
            .iter()
            .map(|t| format!("SELECT COUNT(*) FROM {}.{};", ident(db), ident(t)))
            .collect();
        let rows = client.run(&counts.join("\n"))?;
        if rows.len() != tables.len() {
            return Err(Error::Source(format!(
                "counting the rows of the {} tables of `{db}` gave {} answers",
                tables.len(),
                rows.len()
            )));
        }
        for (table, row) in tables.into_iter().zip(rows) {
            let count = row
                .into_iter()
                .next()
                .flatten()
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| {
                    Error::Source(format!("counting the rows of `{db}`.`{table}` failed"))
                })?;
            facts.tables.insert(table, count);
        }
    }
    facts.views = client.query_column(&format!(
        "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {schema} \
         ORDER BY TABLE_NAME"
    ))?;
    facts.functions = client.query_column(&format!(
        "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES \
         WHERE ROUTINE_SCHEMA = {schema} AND ROUTINE_TYPE IN ('FUNCTION', 'PROCEDURE')"
    ))?;
    facts.views.sort();
    facts.functions.sort();
    Ok(facts)
}
