//! A dump's table of contents (`pg_restore --list`) and the part of it a selective restore
//! keeps (`--schema`, `--table`), written back as a `--use-list` file.
//!
//! A list file is used rather than `pg_restore -n/-t` because those cannot say "table x of
//! schema a and every object of schema b" (`-t` narrows `-n`), do not create a chosen
//! table's schema, and leave out its indexes. Here a chosen table brings its definition,
//! data, defaults, constraints, indexes, triggers, policies, comments, grants and the
//! sequences it owns; a chosen schema brings every object in it. Foreign keys of a chosen
//! table are left out (they may point at tables not restored). Which index and sequence
//! belongs to which table is not in the listing, so it is read from their definitions.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::sources::database::Selection;
use crate::sources::tool;

/// TOC entry types of more than one word, longest first so the longest wins.
const LONG_KINDS: &[&str] = &[
    "MATERIALIZED VIEW DATA",
    "SEQUENCE OWNED BY",
    "MATERIALIZED VIEW",
    "CHECK CONSTRAINT",
    "FK CONSTRAINT",
    "FOREIGN TABLE",
    "INDEX ATTACH",
    "ROW SECURITY",
    "SEQUENCE SET",
    "TABLE ATTACH",
    "DEFAULT ACL",
    "TABLE DATA",
];

/// Entry types that name their table first (`CONSTRAINT s1 t t_pkey owner`).
const OF_TABLE: &[&str] = &[
    "TABLE",
    "TABLE DATA",
    "CONSTRAINT",
    "CHECK CONSTRAINT",
    "TRIGGER",
    "POLICY",
    "ROW SECURITY",
    "DEFAULT",
];

pub struct Entry {
    line: String,
    kind: String,
    schema: String,
    /// The words after the schema, the owner last.
    words: Vec<String>,
}

impl Entry {
    /// The object's name: the words between schema and owner.
    fn name(&self) -> String {
        let n = self.words.len().saturating_sub(1).max(1);
        self.words[..n.min(self.words.len())].join(" ")
    }
}

pub struct Toc {
    entries: Vec<Entry>,
}

/// The entries a selection keeps (indexes into the TOC).
pub struct Chosen {
    keep: Vec<usize>,
}

impl Toc {
    pub fn read(dump: &Path) -> Result<Toc> {
        let mut command = super::program::command("pg_restore");
        command.arg("--list").arg(dump);
        let text = tool::output("pg_restore", command)?;
        Ok(Toc::parse(&text))
    }

    fn parse(text: &str) -> Toc {
        let entries = text
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .filter_map(|line| {
                let (_, rest) = line.split_once("; ")?;
                let mut words = rest.split(' ').skip(2); // table oid, object oid
                let rest: Vec<&str> = words.by_ref().collect();
                let joined = rest.join(" ");
                let kind = LONG_KINDS
                    .iter()
                    .find(|k| joined.starts_with(&format!("{k} ")))
                    .map(|k| k.to_string())
                    .unwrap_or_else(|| rest.first().copied().unwrap_or_default().to_string());
                let after: Vec<String> = rest
                    .iter()
                    .skip(kind.split(' ').count())
                    .map(|w| w.to_string())
                    .collect();
                let (schema, words) = after.split_first()?;
                Some(Entry {
                    line: line.to_string(),
                    kind,
                    schema: schema.clone(),
                    words: words.to_vec(),
                })
            })
            .collect();
        Toc { entries }
    }

    /// Every table (ordinary or partitioned) the dump defines, as `schema.name`.
    pub fn tables(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e.kind == "TABLE")
            .map(|e| format!("{}.{}", e.schema, e.name()))
            .collect()
    }

    /// The entries `selection` keeps; a chosen name the dump does not hold is refused.
    pub fn select(&self, selection: &Selection, dump: &Path) -> Result<Chosen> {
        let schemas: BTreeSet<&str> = selection.schemas.iter().map(String::as_str).collect();
        let tables: Vec<(Option<&str>, &str)> = selection
            .tables
            .iter()
            .map(|t| match t.split_once('.') {
                Some((s, n)) => (Some(s), n),
                None => (None, t.as_str()),
            })
            .collect();
        for schema in &schemas {
            if !self.entries.iter().any(|e| e.schema == *schema) {
                return Err(self.refuse("schema", schema));
            }
        }
        let chosen_table = |schema: &str, name: &str| {
            tables
                .iter()
                .any(|(s, n)| *n == name && s.is_none_or(|s| s == schema))
        };
        for (schema, name) in &tables {
            if !self.entries.iter().any(|e| {
                e.kind == "TABLE" && e.name() == *name && schema.is_none_or(|s| s == e.schema)
            }) {
                return Err(self.refuse("table", &selection_name(*schema, name)));
            }
        }
        let owners = if tables.is_empty() {
            HashMap::new()
        } else {
            self.owning_tables(dump)?
        };
        let table_schemas: BTreeSet<String> = self
            .entries
            .iter()
            .filter(|e| e.kind == "TABLE" && chosen_table(&e.schema, &e.name()))
            .map(|e| e.schema.clone())
            .collect();
        let keep = (0..self.entries.len())
            .filter(|&i| {
                let e = &self.entries[i];
                if schemas.contains(e.schema.as_str()) {
                    return true;
                }
                if e.kind == "SCHEMA" {
                    let name = e.name();
                    return schemas.contains(name.as_str())
                        || (table_schemas.contains(&name) && name != "public");
                }
                let first = e.words.first().map(String::as_str).unwrap_or_default();
                let table = if OF_TABLE.contains(&e.kind.as_str()) {
                    Some(first.to_string())
                } else if matches!(e.kind.as_str(), "COMMENT" | "ACL") && first == "TABLE" {
                    e.words.get(1).cloned()
                } else {
                    owners.get(&(e.schema.clone(), e.name())).cloned()
                };
                table.is_some_and(|t| chosen_table(&e.schema, &t))
            })
            .collect();
        Ok(Chosen { keep })
    }

    fn refuse(&self, what: &str, name: &str) -> Error {
        Error::Refused(format!(
            "the backup's dump holds no {what} `{name}` (it holds tables: {})",
            shorten(&self.tables().iter().collect::<Vec<_>>())
        ))
    }

    /// Which table each index and owned sequence belongs to, keyed by (schema, name), read
    /// from their definitions (`CREATE INDEX i ON s.t …`, `ALTER SEQUENCE s.q OWNED BY s.t.c`).
    fn owning_tables(&self, dump: &Path) -> Result<HashMap<(String, String), String>> {
        let lines: Vec<&str> = self
            .entries
            .iter()
            .filter(|e| matches!(e.kind.as_str(), "INDEX" | "SEQUENCE OWNED BY"))
            .map(|e| e.line.as_str())
            .collect();
        let mut owners = HashMap::new();
        if lines.is_empty() {
            return Ok(owners);
        }
        let mut list = tempfile::NamedTempFile::new().ctx(|| "creating a list file".into())?;
        list.write_all(lines.join("\n").as_bytes())
            .ctx(|| "writing a list file".into())?;
        let mut command = super::program::command("pg_restore");
        command
            .args(["--schema-only", "--file=-", "--use-list"])
            .arg(list.path())
            .arg(dump);
        let sql = tool::output("pg_restore", command)?;
        for line in sql.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(at) = words.iter().position(|w| *w == "INDEX") {
                if words.first() == Some(&"CREATE") {
                    let index = unquote(words.get(at + 1).copied().unwrap_or_default());
                    let on = words.iter().position(|w| *w == "ON").unwrap_or(0);
                    let mut target = words.get(on + 1).copied().unwrap_or_default();
                    if target == "ONLY" {
                        target = words.get(on + 2).copied().unwrap_or_default();
                    }
                    if let [schema, table] = &split_qualified(target)[..] {
                        owners.insert(
                            (schema.clone(), index.last().cloned().unwrap_or_default()),
                            table.clone(),
                        );
                    }
                }
            } else if words.starts_with(&["ALTER", "SEQUENCE"]) && words.get(3) == Some(&"OWNED") {
                let sequence = split_qualified(words[2]);
                let owner = split_qualified(
                    words
                        .get(5)
                        .copied()
                        .unwrap_or_default()
                        .trim_end_matches(';'),
                );
                if let ([schema, name], [_, table, _]) = (&sequence[..], &owner[..]) {
                    owners.insert((schema.clone(), name.clone()), table.clone());
                }
            }
        }
        Ok(owners)
    }
}

impl Chosen {
    /// The `--use-list` file for loading the chosen part into a new database.
    pub fn list(&self, toc: &Toc) -> String {
        self.lines(toc, |e| e.kind != "FK CONSTRAINT")
    }

    /// The `--use-list` file for the chosen tables' contents only.
    pub fn data_list(&self, toc: &Toc) -> String {
        self.lines(toc, |e| e.kind == "TABLE DATA")
    }

    /// The chosen tables, as `schema.name` (what validation looks for).
    pub fn tables(&self, toc: &Toc) -> Vec<String> {
        self.entries(toc)
            .filter(|e| e.kind == "TABLE")
            .map(|e| format!("{}.{}", e.schema, e.name()))
            .collect()
    }

    /// The chosen tables with contents, as (schema, name).
    pub fn table_names(&self, toc: &Toc) -> Vec<(String, String)> {
        self.entries(toc)
            .filter(|e| e.kind == "TABLE DATA")
            .map(|e| (e.schema.clone(), e.name()))
            .collect()
    }

    fn entries<'t>(&'t self, toc: &'t Toc) -> impl Iterator<Item = &'t Entry> {
        self.keep.iter().map(|&i| &toc.entries[i])
    }

    fn lines(&self, toc: &Toc, keep: impl Fn(&Entry) -> bool) -> String {
        let mut text = String::new();
        for entry in self.entries(toc).filter(|e| keep(e)) {
            text.push_str(&entry.line);
            text.push('\n');
        }
        text
    }
}

/// A few names, and how many more.
pub fn shorten(names: &[&String]) -> String {
    let mut text: Vec<&str> = names.iter().take(8).map(|s| s.as_str()).collect();
    let more = format!("… and {} more", names.len().saturating_sub(8));
    if names.len() > 8 {
        text.push(&more);
    }
    if text.is_empty() {
        return "none".into();
    }
    text.join(", ")
}

fn selection_name(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(schema) => format!("{schema}.{name}"),
        None => name.to_string(),
    }
}

/// `s."my table"` → [`s`, `my table`].
fn split_qualified(text: &str) -> Vec<String> {
    unquote(text)
}

fn unquote(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                parts.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(String::new()),
            c => parts.last_mut().unwrap().push(c),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "\
;
; Selected TOC Entries:
;
6; 2615 16390 SCHEMA - s1 postgres
219; 1255 16413 FUNCTION s1 f() postgres
218; 1259 16405 TABLE public u postgres
216; 1259 16392 TABLE s1 t postgres
3364; 0 0 COMMENT s1 TABLE t postgres
215; 1259 16391 SEQUENCE s1 t_id_seq postgres
3365; 0 0 SEQUENCE OWNED BY s1 t_id_seq postgres
3356; 0 16392 TABLE DATA s1 t postgres
3357; 0 16405 TABLE DATA public u postgres
3209; 2606 16399 CONSTRAINT s1 t t_pkey postgres
3211; 2606 16408 FK CONSTRAINT public u u_id_fkey postgres
";

    #[test]
    fn the_listing_is_parsed() {
        let toc = Toc::parse(LISTING);
        assert_eq!(toc.tables(), vec!["public.u", "s1.t"]);
        let data: Vec<_> = toc
            .entries
            .iter()
            .filter(|e| e.kind == "TABLE DATA")
            .map(|e| (e.schema.as_str(), e.name()))
            .collect();
        assert_eq!(
            data,
            vec![("s1", "t".to_string()), ("public", "u".to_string())]
        );
        let owned = toc
            .entries
            .iter()
            .find(|e| e.kind == "SEQUENCE OWNED BY")
            .unwrap();
        assert_eq!(
            (owned.schema.as_str(), owned.name()),
            ("s1", "t_id_seq".into())
        );
    }

    #[test]
    fn a_chosen_schema_keeps_its_objects_only() {
        let toc = Toc::parse(LISTING);
        let selection = Selection {
            schemas: vec!["s1".into()],
            ..Default::default()
        };
        let chosen = toc.select(&selection, Path::new("/nonexistent")).unwrap();
        assert_eq!(chosen.tables(&toc), vec!["s1.t"]);
        assert!(chosen.list(&toc).contains("SCHEMA - s1"));
        assert!(!chosen.list(&toc).contains("public u"));
        assert_eq!(chosen.data_list(&toc).lines().count(), 1);
        let missing = Selection {
            tables: vec!["nope".into()],
            ..Default::default()
        };
        let err = toc
            .select(&missing, Path::new("/x"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no table `nope`"), "{err}");
    }

    #[test]
    fn qualified_names_are_split() {
        assert_eq!(split_qualified("s1.t"), vec!["s1", "t"]);
        assert_eq!(split_qualified("\"a.b\".\"x\"\"y\""), vec!["a.b", "x\"y"]);
    }
}
