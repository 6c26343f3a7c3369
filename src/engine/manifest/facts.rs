//! What a source held when it was backed up, beyond its files' checksums: row counts, the
//! list of objects, key counts. Recorded at backup time from the same snapshot as the dump,
//! and read the same way from a drill's scratch copy; `compare` says what matched. A backup
//! made before facts were recorded has none, and a drill says what it could not prove.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Facts of one source: one entry per database it holds (a PostgreSQL or MySQL database by
/// name, `main` for a SQLite file, `db<N>` for a Redis database).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SourceFacts {
    pub databases: BTreeMap<String, DatabaseFacts>,
}

/// Facts of one database. Every part is optional: a kind records what it has.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DatabaseFacts {
    /// Rows per table (`schema.table` for PostgreSQL).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<String>,
    /// Functions and procedures with their argument types (`public.total(integer)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
    /// Sequences and their last value (`None`: never used).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sequences: BTreeMap<String, Option<i64>>,
    /// Redis: keys per type (`string`, `hash`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys_by_type: BTreeMap<String, u64>,
    /// Redis: a sample of keys and the SHA-256 of their `DUMP` payload.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sampled_keys: BTreeMap<String, String>,
}

/// What comparing a restored copy with the recorded facts found, one line per check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    /// Checks that passed: "shop: 12 tables, 48,210 rows".
    pub proven: Vec<String>,
    /// Differences: "shop: table public.orders has 90 rows, 100 at backup".
    pub failed: Vec<String>,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Compares what a restored copy holds (`found`) with what was recorded (`recorded`).
/// Listed differences are capped so a wholly different database gives a readable report.
pub fn compare(recorded: &SourceFacts, found: &SourceFacts) -> Comparison {
    let mut result = Comparison::default();
    for (name, expected) in &recorded.databases {
        match found.databases.get(name) {
            Some(actual) => compare_database(name, expected, actual, &mut result),
            None => result
                .failed
                .push(format!("{name}: not found in the restored copy")),
        }
    }
    for name in found.databases.keys() {
        if !recorded.databases.contains_key(name) {
            result.failed.push(format!(
                "{name}: in the restored copy but not at backup time"
            ));
        }
    }
    result
}

const MAX_LISTED: usize = 10;

fn compare_database(
    name: &str,
    expected: &DatabaseFacts,
    actual: &DatabaseFacts,
    result: &mut Comparison,
) {
    let before = result.failed.len();
    let mut failures = Vec::new();
    differ_map(
        "table",
        &expected.tables,
        &actual.tables,
        |t, e, a| format!("table {t} has {a} rows, {e} at backup"),
        &mut failures,
    );
    differ_list("view", &expected.views, &actual.views, &mut failures);
    differ_list(
        "function",
        &expected.functions,
        &actual.functions,
        &mut failures,
    );
    differ_map(
        "sequence",
        &expected.sequences,
        &actual.sequences,
        |s, e, a| format!("sequence {s} is at {}, {} at backup", show(a), show(e)),
        &mut failures,
    );
    differ_map(
        "key type",
        &expected.keys_by_type,
        &actual.keys_by_type,
        |t, e, a| format!("{a} keys of type {t}, {e} at backup"),
        &mut failures,
    );
    differ_map(
        "sampled key",
        &expected.sampled_keys,
        &actual.sampled_keys,
        |k, _, _| format!("key {k} holds another value than at backup"),
        &mut failures,
    );
    let extra = failures.len().saturating_sub(MAX_LISTED);
    result.failed.extend(
        failures
            .into_iter()
            .take(MAX_LISTED)
            .map(|f| format!("{name}: {f}")),
    );
    if extra > 0 {
        result
            .failed
            .push(format!("{name}: and {extra} more differences"));
    }
    if result.failed.len() == before {
        result
            .proven
            .push(format!("{name}: {}", expected.describe()));
    }
}

fn show(value: &Option<i64>) -> String {
    value.map_or_else(|| "unused".to_string(), |v| v.to_string())
}

fn differ_map<V: PartialEq>(
    what: &str,
    expected: &BTreeMap<String, V>,
    actual: &BTreeMap<String, V>,
    differs: impl Fn(&str, &V, &V) -> String,
    failures: &mut Vec<String>,
) {
    for (key, e) in expected {
        match actual.get(key) {
            Some(a) if a == e => {}
            Some(a) => failures.push(differs(key, e, a)),
            None => failures.push(format!("{what} {key} is missing")),
        }
    }
    for key in actual.keys().filter(|k| !expected.contains_key(*k)) {
        failures.push(format!("{what} {key} was not there at backup"));
    }
}

fn differ_list(what: &str, expected: &[String], actual: &[String], failures: &mut Vec<String>) {
    for missing in expected.iter().filter(|e| !actual.contains(e)) {
        failures.push(format!("{what} {missing} is missing"));
    }
    for extra in actual.iter().filter(|a| !expected.contains(a)) {
        failures.push(format!("{what} {extra} was not there at backup"));
    }
}

impl DatabaseFacts {
    /// What these facts cover, for a report: "3 tables (1,204 rows), 1 view, 2 sequences".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        if !self.tables.is_empty() {
            let rows: u64 = self.tables.values().sum();
            parts.push(format!(
                "{} ({rows} rows)",
                count(self.tables.len(), "table", "tables")
            ));
        }
        if !self.views.is_empty() {
            parts.push(count(self.views.len(), "view", "views"));
        }
        if !self.functions.is_empty() {
            parts.push(count(self.functions.len(), "function", "functions"));
        }
        if !self.sequences.is_empty() {
            parts.push(count(self.sequences.len(), "sequence", "sequences"));
        }
        if !self.keys_by_type.is_empty() {
            let keys: u64 = self.keys_by_type.values().sum();
            parts.push(format!("{keys} keys by type"));
        }
        if !self.sampled_keys.is_empty() {
            parts.push(format!(
                "{} compared by value",
                count(self.sampled_keys.len(), "sampled key", "sampled keys")
            ));
        }
        if parts.is_empty() {
            "empty, as at backup".to_string()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(rows: u64) -> SourceFacts {
        let mut db = DatabaseFacts::default();
        db.tables.insert("public.orders".into(), rows);
        db.views.push("public.open_orders".into());
        db.sequences.insert("public.orders_id_seq".into(), Some(7));
        SourceFacts {
            databases: BTreeMap::from([("shop".to_string(), db)]),
        }
    }

    #[test]
    fn the_same_facts_are_proven() {
        let result = compare(&facts(3), &facts(3));
        assert!(result.passed(), "{result:?}");
        assert_eq!(
            result.proven,
            vec!["shop: 1 table (3 rows), 1 view, 1 sequence"]
        );
    }

    #[test]
    fn every_difference_is_named() {
        let mut found = facts(2);
        let db = found.databases.get_mut("shop").unwrap();
        db.views.clear();
        db.sequences.insert("public.orders_id_seq".into(), None);
        db.tables.insert("public.extra".into(), 0);
        let result = compare(&facts(3), &found);
        assert_eq!(
            result.failed,
            vec![
                "shop: table public.orders has 2 rows, 3 at backup",
                "shop: table public.extra was not there at backup",
                "shop: view public.open_orders is missing",
                "shop: sequence public.orders_id_seq is at unused, 7 at backup",
            ]
        );
        assert!(result.proven.is_empty());
    }

    #[test]
    fn a_missing_database_fails_and_long_lists_are_capped() {
        let result = compare(&facts(1), &SourceFacts::default());
        assert_eq!(result.failed, vec!["shop: not found in the restored copy"]);
        let mut many = facts(1);
        let db = many.databases.get_mut("shop").unwrap();
        for i in 0..30 {
            db.tables.insert(format!("t{i}"), i);
        }
        let result = compare(&many, &facts(1));
        assert_eq!(result.failed.len(), MAX_LISTED + 1);
        assert_eq!(
            result.failed.last().unwrap(),
            "shop: and 20 more differences"
        );
    }
}
