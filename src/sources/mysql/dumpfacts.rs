//! The facts of a `mysql` dump (`engine/manifest/facts.rs`) read from the dump file itself
//! once it is written: rows per table, views, functions and procedures.
//!
//! Why from the file: `--single-transaction` gives the dump tool a snapshot of its own that
//! no other connection can share (MySQL and MariaDB export no snapshot as PostgreSQL does),
//! so a `COUNT(*)` on the server, before or after, may see other rows than the dump holds.
//! The dump's own INSERT statements are what a restore loads: counting their rows is exact
//! by construction, also for non-transactional tables written to meanwhile. Views and
//! routines come from their CREATE statements in the dump for the same reason. A drill
//! reads the same facts from the loaded copy (`facts.rs`).
//!
//! The dump tool writes each row of an extended INSERT as `(…)` after `VALUES` (MariaDB
//! one row per line, MySQL a whole statement on one line). Values are numbers, `NULL`, hex
//! literals (`--hex-blob`) and quoted strings with backslash escapes (the tool sets an empty
//! `sql_mode` for itself), in which `(`, `)`, `,`, `;` and escaped quotes are data; a
//! doubled quote is read as data too. Routine and trigger bodies (between `DELIMITER ;;` and
//! `DELIMITER ;`) may hold INSERT text that is no data and are not counted. Sequences
//! (MariaDB) are `CREATE SEQUENCE`, not tables: the server does not list them as tables
//! either.

use std::fs::File;
use std::path::Path;

use super::dumpfile::{backquoted, each_line};
use crate::engine::manifest::DatabaseFacts;
use crate::error::{Error, IoContext, Result};

/// Reads the facts of the dump at `path`.
pub fn read(path: &Path) -> Result<DatabaseFacts> {
    let file = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    let mut counter = Counter::default();
    each_line(file, path, |line| counter.line(line))?;
    counter.finish()
}

#[derive(Default)]
struct Counter {
    facts: DatabaseFacts,
    /// The INSERT statement being read (it may go on over several lines).
    insert: Option<Insert>,
    /// Between `DELIMITER ;;` and `DELIMITER ;`: a routine, trigger or event.
    in_body: bool,
}

impl Counter {
    fn line(&mut self, line: &[u8]) -> Result<()> {
        if let Some(insert) = &mut self.insert {
            if insert.scan(line) {
                self.end_insert();
            }
            return Ok(());
        }
        let trimmed = line.trim_ascii_end();
        if self.in_body {
            if trimmed == b"DELIMITER ;" {
                self.in_body = false;
            } else if let Some(routine) = routine(line) {
                self.facts.functions.push(routine);
            }
        } else if trimmed == b"DELIMITER ;;" {
            self.in_body = true;
        } else if let Some(rest) = line.strip_prefix(b"CREATE TABLE ") {
            if let Some((table, _)) = backquoted(rest) {
                self.facts.tables.entry(table).or_insert(0);
            }
        } else if let Some(rest) = line.strip_prefix(b"INSERT INTO ") {
            let (table, values) = insert_header(rest).ok_or_else(|| {
                Error::Source(format!(
                    "an INSERT statement of the dump is not understood: {}",
                    String::from_utf8_lossy(&line[..line.len().min(120)])
                ))
            })?;
            let mut insert = Insert::new(table);
            if insert.scan(values) {
                self.finish_insert(insert);
            } else {
                self.insert = Some(insert);
            }
        } else if let Some(rest) = line.strip_prefix(b"/*!50001 VIEW ") {
            if let Some((view, _)) = backquoted(rest) {
                self.facts.views.push(view);
            }
        }
        Ok(())
    }

    fn end_insert(&mut self) {
        if let Some(insert) = self.insert.take() {
            self.finish_insert(insert);
        }
    }

    fn finish_insert(&mut self, insert: Insert) {
        *self.facts.tables.entry(insert.table).or_insert(0) += insert.rows;
    }

    fn finish(mut self) -> Result<DatabaseFacts> {
        if let Some(insert) = &self.insert {
            return Err(Error::Source(format!(
                "the INSERT statement of table `{}` in the dump never ends",
                insert.table
            )));
        }
        self.facts.views.sort();
        self.facts.functions.sort();
        Ok(self.facts)
    }
}

/// Where the reading of one INSERT statement is.
struct Insert {
    table: String,
    rows: u64,
    /// Parentheses open outside strings: 0 between rows.
    depth: u32,
    in_string: bool,
    /// The previous byte in a string was a backslash.
    escaped: bool,
}

impl Insert {
    fn new(table: String) -> Insert {
        Insert {
            table,
            rows: 0,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }

    /// Reads on through `bytes`; true at the `;` that ends the statement.
    fn scan(&mut self, bytes: &[u8]) -> bool {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 1;
                    } else {
                        self.in_string = false;
                    }
                }
            } else {
                match b {
                    b'\'' => self.in_string = true,
                    b'(' => {
                        if self.depth == 0 {
                            self.rows += 1;
                        }
                        self.depth += 1;
                    }
                    b')' => self.depth = self.depth.saturating_sub(1),
                    b';' if self.depth == 0 => return true,
                    _ => {}
                }
            }
            i += 1;
        }
        false
    }
}

/// The table of ``INSERT INTO `t` [(`a`, …)] VALUES …`` and what follows `VALUES`.
fn insert_header(rest: &[u8]) -> Option<(String, &[u8])> {
    let (table, mut rest) = backquoted(rest)?;
    rest = rest.trim_ascii_start();
    if let Some(mut columns) = rest.strip_prefix(b"(") {
        // A column list (`--complete-insert`): backquoted names separated by commas.
        loop {
            let (_, after) = backquoted(columns.trim_ascii_start())?;
            let after = after.trim_ascii_start();
            if let Some(next) = after.strip_prefix(b",") {
                columns = next;
            } else {
                rest = after.strip_prefix(b")")?.trim_ascii_start();
                break;
            }
        }
    }
    Some((table, rest.strip_prefix(b"VALUES")?))
}

/// `FUNCTION name` or `PROCEDURE name` from the first line of a routine's CREATE statement
/// (``CREATE DEFINER=`u`@`h` PROCEDURE `p`(…``).
fn routine(line: &[u8]) -> Option<String> {
    let mut rest = line.strip_prefix(b"CREATE ")?;
    if let Some(definer) = rest.strip_prefix(b"DEFINER=") {
        let (_, after) = backquoted(definer)?;
        rest = match after.strip_prefix(b"@") {
            Some(host) => backquoted(host)?.1,
            None => after, // a role has no host
        };
        rest = rest.trim_ascii_start();
    }
    rest = rest.strip_prefix(b"AGGREGATE ").unwrap_or(rest);
    let (kind, rest) = if let Some(rest) = rest.strip_prefix(b"FUNCTION ") {
        ("FUNCTION", rest)
    } else {
        ("PROCEDURE", rest.strip_prefix(b"PROCEDURE ")?)
    };
    let (name, _) = backquoted(rest)?;
    Some(format!("{kind} {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts_of(dump: &str) -> Result<DatabaseFacts> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sql");
        std::fs::write(&path, dump).unwrap();
        read(&path)
    }

    #[test]
    fn rows_are_counted_whatever_their_strings_hold() {
        // MariaDB's layout (a row per line) with strings holding what would end a row or
        // the statement, escaped and doubled quotes, a backslash before the closing quote,
        // hex and bit literals, NULL.
        let dump = "CREATE TABLE `t` (\n  `id` int\n);\n\
            INSERT INTO `t` VALUES\n\
            (1,'it\\'s (a, b), \\\\ \\\"q\\\"',0x00FF,0x05),\n\
            (2,NULL,NULL,NULL),\n\
            (3,'x\\'),(9,',0x610A62,b'01'),\n\
            (4,'ends in a backslash\\\\','two''quotes'';(',_binary 'z');\n\
            CREATE TABLE `we``ird (x)` (\n`a` int);\n\
            INSERT INTO `we``ird (x)` VALUES (1),(2),('(;)');\n\
            INSERT INTO `we``ird (x)` (`a`, `b``)`) VALUES (7,')');\n\
            CREATE TABLE `empty` (\n`a` int);\n\
            -- Dump completed\n";
        let facts = facts_of(dump).unwrap();
        let tables: Vec<(&str, u64)> = facts.tables.iter().map(|(t, n)| (t.as_str(), *n)).collect();
        assert_eq!(tables, vec![("empty", 0), ("t", 4), ("we`ird (x)", 4)]);
    }

    #[test]
    fn views_and_routines_are_listed_and_bodies_not_counted() {
        let dump = "CREATE TABLE `t` (\n`a` int);\n\
            CREATE SEQUENCE `sq` start with 1 minvalue 1 maxvalue 9 increment by 1;\n\
            /*!50001 CREATE VIEW `v` AS SELECT\n 1 AS `a` */;\n\
            DELIMITER ;;\n\
            CREATE DEFINER=`root`@`127.0.0.1` PROCEDURE `add``one`()\n\
            INSERT INTO `t` VALUES (5),(6)\n;;\n\
            DELIMITER ;\n\
            DELIMITER ;;\n\
            CREATE DEFINER=`root`@`localhost` FUNCTION `f`(x INT) RETURNS int(11)\nRETURN x+1\n;;\n\
            DELIMITER ;\n\
            DELIMITER ;;\n\
            /*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW\n\
            INSERT INTO `t` VALUES (1) */;;\n\
            DELIMITER ;\n\
            /*!50001 CREATE ALGORITHM=UNDEFINED */\n\
            /*!50013 DEFINER=`root`@`127.0.0.1` SQL SECURITY DEFINER */\n\
            /*!50001 VIEW `v` AS select 1 AS `a` */;\n";
        let facts = facts_of(dump).unwrap();
        assert_eq!(facts.tables.get("t"), Some(&0));
        assert_eq!(facts.tables.len(), 1, "a sequence is no table: {facts:?}");
        assert_eq!(facts.views, vec!["v"]);
        assert_eq!(facts.functions, vec!["FUNCTION f", "PROCEDURE add`one"]);
    }

    #[test]
    fn a_statement_that_never_ends_or_cannot_be_read_is_an_error() {
        let err = facts_of("INSERT INTO `t` VALUES (1,'open);\n").unwrap_err();
        assert!(err.to_string().contains("never ends"), "{err}");
        let err = facts_of("INSERT INTO t VALUES (1);\n").unwrap_err();
        assert!(err.to_string().contains("not understood"), "{err}");
    }
}
