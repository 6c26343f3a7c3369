//! The backup of a `mysql` source: one `mysqldump`/`mariadb-dump` per database, written as
//! `<db>.sql`. `--single-transaction` gives a consistent snapshot of InnoDB tables while
//! the application keeps writing; without `--databases` the dump carries no `CREATE
//! DATABASE`/`USE`, so it loads into any database name (a staging database, a new name);
//! the database's default character set and collation are recorded beside it instead
//! (`charset.rs`). The facts a drill proves the restore against are counted from each dump
//! file once written (`dumpfacts.rs`).

use super::admin::{literal, Client};
use super::charset::Charset;
use super::check::{tools_fit, Version};
use crate::error::{Error, Result};
use crate::sources::database::DumpRequest;
use crate::sources::tool::{spool_output, ToolRun};

pub fn dump(request: DumpRequest<'_>) -> Result<()> {
    let (client, server_text) = Client::connect(request.server)?;
    let server = Version::of_server(&server_text).ok_or_else(|| {
        Error::Source(format!(
            "cannot tell the server's version from `{server_text}`"
        ))
    })?;
    let (versions, warnings) = tools_fit(client.tools, &server)?;
    let mysql_tool = versions.last().is_some_and(|v| !v.mariadb);
    request.warnings.extend(warnings);
    let databases = request.source.databases();
    for db in databases {
        if !client.database_exists(db)? {
            return Err(Error::Source(format!(
                "database `{db}` does not exist on {}: check `databases` (or the url) of source `{}`",
                request.server.redacted(),
                request.source.name
            )));
        }
    }
    let mut unreadable_facts = None;
    for db in databases {
        request.warnings.extend(not_transactional(&client, db)?);
        let estimate = size_of(&client, db)?;
        let mut command = client.command(client.tools.dump);
        command.args([
            "--single-transaction",
            "--routines",
            "--triggers",
            "--events",
            "--hex-blob",
            "--default-character-set=utf8mb4",
            // Tablespace statements need the PROCESS privilege and mean nothing to a load.
            "--no-tablespaces",
        ]);
        if mysql_tool && !server.mariadb {
            // GTID bookkeeping would make the dump refuse to load on a server with GTIDs.
            command.arg("--set-gtid-purged=OFF");
        }
        // `--` ends the options: a database name can never be read as one.
        command.arg("--").arg(db);
        let run = ToolRun {
            tool: client.tools.dump,
            phase: format!("dumping {db}"),
            estimate,
            progress: request.progress,
        };
        let path = request.dir.join(format!("{db}.sql"));
        spool_output(&run, command, &path).map_err(|e| in_source(e, &request.source.name))?;
        // Counted from the dump itself: its snapshot is the dump tool's own (`dumpfacts.rs`).
        match super::dumpfacts::read(&path) {
            Ok(facts) => {
                request.facts.databases.insert(db.clone(), facts);
            }
            Err(e) => unreadable_facts = Some(format!("database `{db}`: {e}")),
        }
        if let Some(charset) = Charset::of(&client, db)? {
            charset.record(request.dir, db)?;
        }
    }
    if let Some(problem) = unreadable_facts {
        // Partial facts would fail a drill for a database they lack: none are recorded.
        request.facts.databases.clear();
        request.warnings.push(format!(
            "the row counts a restore drill proves this backup against were not recorded \
             (the backup itself is complete): {problem}"
        ));
    }
    Ok(())
}

/// The database's size on disk (data and indexes): the dump's size is near it.
fn size_of(client: &Client, db: &str) -> Result<u64> {
    let text = client.query_value(&format!(
        "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = {}",
        literal(db)
    ))?;
    Ok(text.trim().parse().unwrap_or(0))
}

/// `--single-transaction` only freezes transactional tables: others (MyISAM, Aria …) can
/// change during the dump, which the backup's warnings then say.
fn not_transactional(client: &Client, db: &str) -> Result<Option<String>> {
    let tables = client.query_column(&format!(
        "SELECT CONCAT(TABLE_NAME, ' (', ENGINE, ')') FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = {} AND TABLE_TYPE = 'BASE TABLE' \
         AND ENGINE NOT IN ('InnoDB', 'ROCKSDB', 'TokuDB') ORDER BY TABLE_NAME",
        literal(db)
    ))?;
    Ok((!tables.is_empty()).then(|| {
        format!(
            "database `{db}`: tables {} are not transactional, so their dump is consistent only \
             if nothing writes to them during the backup",
            tables.join(", ")
        )
    }))
}

fn in_source(error: Error, source: &str) -> Error {
    match error {
        Error::Source(message) => Error::Source(format!("source `{source}`: {message}")),
        other => other,
    }
}
