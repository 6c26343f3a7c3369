//! A database's own settings, carried over to the database a restore creates: how it was
//! created (encoding and locale, `creation.rs`), `ALTER DATABASE … SET`, per-role settings in
//! it (`ALTER ROLE … IN DATABASE … SET`), its connection limit, comment, security labels and
//! grants (`CONNECT`, `TEMPORARY`, `CREATE`).
//!
//! `pg_dump -Fc` keeps them in the dump's table of contents (the DATABASE entry with its
//! `CREATE DATABASE`, "DATABASE PROPERTIES" and the COMMENT / ACL / SECURITY LABEL entries on
//! the DATABASE), but `pg_restore` applies them only when it creates the database itself
//! (`--create`), which a restore into a staging database cannot use. So `pg_restore --create`
//! writes just those entries out as SQL, read before the staging database is created: its
//! encoding and locale are taken from the `CREATE DATABASE`, and the other statements are
//! pointed at the staging database (they name the database as it was dumped) and run in one
//! transaction once the data is loaded, before anything is switched. Backups made by earlier
//! versions hold the same entries, so they get their settings back too.
//!
//! The owner is not taken from the dump: a replacement keeps the live database's owner, a new
//! database belongs to the user restoring it (as before).

use std::path::Path;

use super::creation::Creation;
use super::program;
use super::sql::{ident, Pg, MAINTENANCE_DB};
use crate::error::{Error, IoContext, Result};
use crate::sources::tool;

/// The TOC entry of the database itself (its `CREATE DATABASE`), after the two oids.
const DATABASE_ENTRY: &str = "DATABASE - ";
/// TOC entry types that are database-level properties (after the two oids).
const ENTRY_PREFIXES: &[&str] = &[
    "DATABASE PROPERTIES - ",
    "COMMENT - DATABASE ",
    "ACL - DATABASE ",
    "SECURITY LABEL - DATABASE ",
];
/// The `Type:` of the SQL sections kept (the DATABASE section, CREATE DATABASE, is not).
const SECTION_TYPES: &[&str] = &["DATABASE PROPERTIES", "COMMENT", "ACL", "SECURITY LABEL"];
/// How each statement of those sections starts; each names the database once.
const STATEMENT_STARTS: &[&str] = &["ALTER ", "COMMENT ", "GRANT ", "REVOKE ", "SECURITY "];

/// What a dump says about its database itself.
pub struct Definition {
    /// How it was created; `None` when the dump's statement could not be read.
    pub creation: Option<Creation>,
    /// What is not carried over, for warnings.
    pub notes: Vec<String>,
    /// The property statements pointed at the staging database (empty: none), or why
    /// they cannot be.
    script: std::result::Result<String, String>,
}

impl Default for Definition {
    fn default() -> Self {
        Definition {
            creation: None,
            notes: Vec::new(),
            script: Ok(String::new()),
        }
    }
}

/// Reads how `database` was created and its properties from `dump`, the statements
/// pointed at `staging`. `scratch` is a folder for a list file.
pub fn read(dump: &Path, database: &str, staging: &str, scratch: &Path) -> Result<Definition> {
    let mut listing = program::command("pg_restore");
    listing.args(["--list", "--create"]).arg(dump);
    let entries = database_entries(&tool::output("pg_restore", listing)?);
    if entries.is_empty() {
        return Ok(Definition::default());
    }
    let list = scratch.join(format!("{database}.properties.list"));
    std::fs::write(&list, entries).ctx(|| format!("writing {}", list.display()))?;
    let mut render = program::command("pg_restore");
    render
        .args(["--create", "--file=-", "--use-list"])
        .arg(&list)
        .arg(dump);
    let sql = tool::output("pg_restore", render)?;
    let mut definition = Definition {
        script: for_database(&sql, database, staging).map_err(|e| e.to_string()),
        ..Definition::default()
    };
    match create_statement(&sql).map(Creation::parse) {
        Some(Ok((creation, unknown))) => {
            definition.creation = Some(creation);
            if !unknown.is_empty() {
                definition.notes.push(format!(
                    "database {database} was created with {}, which Coffer does not know                      and did not carry over",
                    unknown.join(", ")
                ));
            }
        }
        Some(Err(e)) => definition.notes.push(format!(
            "how database {database} was created (encoding, locale) cannot be read from the              backup, so the restored one has the server's defaults: {e}"
        )),
        None => {}
    }
    Ok(definition)
}

/// Applies the properties read by [`read`] (to the staging database it named). Nothing to
/// apply is fine.
pub fn apply(pg: &Pg, definition: &Definition, database: &str, scratch: &Path) -> Result<()> {
    let sql = definition
        .script
        .as_ref()
        .map_err(|e| Error::Source(e.clone()))?;
    if !sql
        .lines()
        .any(|l| STATEMENT_STARTS.iter().any(|s| l.starts_with(s)))
    {
        return Ok(());
    }
    let script = scratch.join(format!("{database}.properties.sql"));
    std::fs::write(&script, sql).ctx(|| format!("writing {}", script.display()))?;
    let mut psql = pg.command("psql", MAINTENANCE_DB);
    psql.args(["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&script);
    tool::output("psql", psql).map(drop)
}

/// The `CREATE DATABASE` line of the DATABASE section of `pg_restore --create` output.
fn create_statement(sql: &str) -> Option<&str> {
    let mut in_database = false;
    for line in sql.lines() {
        if let Some(header) = line.strip_prefix("-- Name: ") {
            in_database = section_type(header) == Some("DATABASE");
        } else if in_database && line.starts_with("CREATE DATABASE ") {
            return Some(line);
        }
    }
    None
}

/// The `--use-list` lines of the database's own entry and its property entries, of a
/// `pg_restore --list --create`.
fn database_entries(listing: &str) -> String {
    listing
        .lines()
        .filter(|line| {
            let Some((_, rest)) = line.split_once("; ") else {
                return false;
            };
            let after_oids = rest.splitn(3, ' ').nth(2).unwrap_or_default();
            after_oids.starts_with(DATABASE_ENTRY)
                || ENTRY_PREFIXES.iter().any(|p| after_oids.starts_with(p))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The statements of the kept sections of `pg_restore --create --file=-` output, each
/// pointed at `staging` instead of `database`. `\connect` lines go (everything runs from
/// the maintenance database); psql's `\restrict` guard is kept around the whole script.
/// A statement that does not name `database` where expected is refused rather than run:
/// it might change some other database.
fn for_database(sql: &str, database: &str, staging: &str) -> Result<String> {
    let mut restrict: Option<&str> = None;
    let mut keep = false;
    let mut body = String::new();
    for line in sql.lines() {
        if let Some(header) = line.strip_prefix("-- Name: ") {
            keep = section_type(header).is_some_and(|t| SECTION_TYPES.contains(&t));
            continue;
        }
        if let Some(key) = line.strip_prefix("\\restrict ") {
            restrict.get_or_insert(key);
            continue;
        }
        if line.starts_with("\\unrestrict ") || line.starts_with("\\connect ") {
            continue;
        }
        if !keep {
            continue;
        }
        if STATEMENT_STARTS.iter().any(|s| line.starts_with(s)) {
            let renamed = rename_once(line, database, staging).ok_or_else(|| {
                Error::Source(format!(
                    "cannot tell which database this statement of the dump applies to: {line}"
                ))
            })?;
            body.push_str(&renamed);
        } else {
            body.push_str(line);
        }
        body.push('\n');
    }
    Ok(match restrict {
        Some(key) => format!("\\restrict {key}\n{body}\\unrestrict {key}\n"),
        None => body,
    })
}

/// `Type` of a section header `<name>; Type: <type>; Schema: -; Owner: <owner>`.
fn section_type(header: &str) -> Option<&str> {
    let (_, after) = header.rsplit_once("; Type: ")?;
    Some(after.split_once("; Schema: ")?.0)
}

/// `line` with its first `DATABASE <database>` (as `pg_dump` quotes it: bare when it can,
/// in double quotes otherwise) made `DATABASE "<staging>"`.
fn rename_once(line: &str, database: &str, staging: &str) -> Option<String> {
    for written in [
        format!("DATABASE {database}"),
        format!("DATABASE {}", ident(database)),
    ] {
        let mut from = 0;
        while let Some(at) = line[from..].find(&written).map(|i| i + from) {
            let end = at + written.len();
            if matches!(line[end..].chars().next(), None | Some(' ' | ';')) {
                return Some(format!(
                    "{}DATABASE {}{}",
                    &line[..at],
                    ident(staging),
                    &line[end..]
                ));
            }
            from = end;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_database_level_entries_are_listed() {
        let listing = "; Archive created at 2026-11-21\n\
            3344; 1262 16420 DATABASE - shop postgres\n\
            3345; 0 0 COMMENT - DATABASE shop postgres\n\
            3346; 0 0 ACL - DATABASE shop postgres\n\
            3347; 0 0 DATABASE PROPERTIES - shop postgres\n\
            214; 1259 16421 TABLE public t postgres\n\
            3350; 0 0 COMMENT public TABLE t postgres\n";
        assert_eq!(
            database_entries(listing),
            "3344; 1262 16420 DATABASE - shop postgres\n\
             3345; 0 0 COMMENT - DATABASE shop postgres\n\
             3346; 0 0 ACL - DATABASE shop postgres\n\
             3347; 0 0 DATABASE PROPERTIES - shop postgres\n"
        );
    }

    #[test]
    fn statements_are_pointed_at_the_staging_database() {
        let sql = "\\restrict KEY1\nSET lock_timeout = 0;\n\
            --\n-- Name: shop; Type: DATABASE; Schema: -; Owner: postgres\n--\n\n\
            CREATE DATABASE shop WITH TEMPLATE = template0;\n\
            ALTER DATABASE shop OWNER TO postgres;\n\
            \\unrestrict KEY1\n\\connect shop\n\\restrict KEY1\n\
            --\n-- Name: DATABASE shop; Type: COMMENT; Schema: -; Owner: postgres\n--\n\n\
            COMMENT ON DATABASE shop IS 'the DATABASE shop; it''s ours';\n\
            --\n-- Name: shop; Type: DATABASE PROPERTIES; Schema: -; Owner: postgres\n--\n\n\
            ALTER DATABASE shop SET search_path TO 'app';\n\
            ALTER ROLE reader IN DATABASE shop SET work_mem TO '7MB';\n\
            --\n-- Name: DATABASE shop; Type: ACL; Schema: -; Owner: postgres\n--\n\n\
            REVOKE CONNECT,TEMPORARY ON DATABASE shop FROM PUBLIC;\n\
            GRANT CONNECT ON DATABASE shop TO reader;\n\
            \\unrestrict KEY1\n";
        assert_eq!(
            create_statement(sql),
            Some("CREATE DATABASE shop WITH TEMPLATE = template0;")
        );
        let out = for_database(sql, "shop", "shop_coffer_staging_1").unwrap();
        assert!(!out.contains("CREATE DATABASE"), "{out}");
        assert!(!out.contains("OWNER TO"), "{out}");
        assert!(!out.contains("\\connect"), "{out}");
        assert!(out.starts_with("\\restrict KEY1\n"), "{out}");
        assert!(out.ends_with("\\unrestrict KEY1\n"), "{out}");
        let staging = "\"shop_coffer_staging_1\"";
        for statement in [
            // the first `DATABASE shop` is the statement's; the comment's text stays
            format!("COMMENT ON DATABASE {staging} IS 'the DATABASE shop; it''s ours';"),
            format!("ALTER DATABASE {staging} SET search_path TO 'app';"),
            format!("ALTER ROLE reader IN DATABASE {staging} SET work_mem TO '7MB';"),
            format!("REVOKE CONNECT,TEMPORARY ON DATABASE {staging} FROM PUBLIC;"),
            format!("GRANT CONNECT ON DATABASE {staging} TO reader;"),
        ] {
            assert!(out.contains(&statement), "{statement} in {out}");
        }
        assert!(!out.contains("DATABASE shop "), "{out}");
    }

    #[test]
    fn quoted_names_match_and_other_databases_are_refused() {
        assert_eq!(
            rename_once("ALTER DATABASE \"Shop\" SET x TO 1;", "Shop", "s").unwrap(),
            "ALTER DATABASE \"s\" SET x TO 1;"
        );
        // a longer name that starts with the same letters is another database
        assert!(rename_once("ALTER DATABASE shop_audit SET x TO 1;", "shop", "s").is_none());
        let sql = "--\n-- Name: shop; Type: DATABASE PROPERTIES; Schema: -; Owner: p\n--\n\
            ALTER DATABASE shop_audit SET x TO 1;\n";
        assert!(for_database(sql, "shop", "s").is_err());
    }
}
