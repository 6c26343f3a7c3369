//! Loading a `mysql` source's dumps for a restore, changing nothing that exists: each
//! `<db>.sql` is checked (complete, holds the chosen tables), loaded with the client into a
//! staging database `<db>_coffer_staging_<tag>` and validated (the load's exit status, the
//! table list). The switch (`switch.rs`) later moves its tables by `RENAME TABLE` in over the
//! existing original, or into the new database it creates then: a restore killed while
//! loading leaves only a database recovery recognises by name, never a half-loaded one under
//! the real name. The staging database is created with the default character set and
//! collation the backup recorded (`charset.rs`).

use std::path::{Path, PathBuf};

use super::admin::{ident, literal, Client};
use super::charset::{create_database, Charset};
use super::dumpfile::{retarget_alter_database, tables_in};
use super::restore::MysqlRestore;
use super::switch::Swap;
use crate::error::{Error, IoContext, Result};
use crate::sources::database::{default_restored_name, DatabaseTarget, StageRequest};
use crate::sources::tool::{feed_input, ToolRun};
use crate::sources::working_name::working_name;

pub fn stage(request: &StageRequest) -> Result<MysqlRestore> {
    let dumps = dumps_in(request.dir)?;
    let (server, named) = match request.target {
        DatabaseTarget::Named(text) if text.contains("://") => {
            let server = request.server.parse_target(text)?;
            let name = server.database();
            (server, name)
        }
        DatabaseTarget::Named(name) => (request.server.clone(), Some(name.clone())),
        _ => (request.server.clone(), None),
    };
    if named.is_some() && dumps.len() > 1 {
        return Err(Error::Refused(format!(
            "source `{}` holds {} databases ({}): a target database name fits one only; give a \
             server URL without a database (each keeps its name) or no --target",
            request.source.name,
            dumps.len(),
            dumps
                .iter()
                .map(|(db, _)| db.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let (client, _) = Client::connect(&server)?;
    let mut restore = MysqlRestore::new(client, request.source.keeps_replaced());
    for (db, dump) in &dumps {
        match stage_one(&restore.client, request, db, dump, named.as_deref()) {
            Ok(swap) => restore.parts.push(swap),
            Err(e) => {
                restore.discard_all();
                return Err(e);
            }
        }
    }
    Ok(restore)
}

/// The dump files (`<db>.sql`) restored from the archive, by database name.
fn dumps_in(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut dumps = Vec::new();
    for entry in std::fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
        let path = entry.ctx(|| format!("listing {}", dir.display()))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if let Some(db) = name.strip_suffix(".sql") {
            dumps.push((db.to_string(), path.clone()));
        }
    }
    dumps.sort();
    if dumps.is_empty() {
        return Err(Error::Archive(
            "the backup holds no MySQL dump (`<db>.sql`) for this source".into(),
        ));
    }
    Ok(dumps)
}

fn stage_one(
    client: &Client,
    request: &StageRequest,
    db: &str,
    dump: &Path,
    named: Option<&str>,
) -> Result<Swap> {
    let tables = tables_in(dump)?;
    let chosen = &request.selection.tables;
    if let Some(missing) = chosen.iter().find(|t| !tables.contains(t)) {
        return Err(Error::Refused(format!(
            "table `{missing}` is not in the backup of database `{db}` (it has: {})",
            tables.join(", ")
        )));
    }
    let selection = (!chosen.is_empty()).then(|| chosen.clone());
    let target = match (request.target, named) {
        (DatabaseTarget::Original, _) => db.to_string(),
        // A drill: loaded into the staging database only, never switched in.
        (DatabaseTarget::Scratch, _) => db.to_string(),
        (DatabaseTarget::NewDefault, _) => default_restored_name(db, request.started),
        (DatabaseTarget::Named(_), Some(name)) => name.to_string(),
        // A server URL without a database: each database keeps its name there.
        (DatabaseTarget::Named(_), None) => db.to_string(),
    };
    let recorded = Charset::recorded(request.dir, db)?;
    let replacing = matches!(request.target, DatabaseTarget::Original);
    let exists = client.database_exists(&target)?;
    if !replacing && exists && *request.target != DatabaseTarget::Scratch {
        return Err(Error::Refused(format!(
            "database `{target}` already exists on {}: choose another --target name (a restore \
             only replaces the source's own database, without --target)",
            client.server.redacted()
        )));
    }
    let staging = working_name(&target, &format!("_coffer_staging_{}", request.tag));
    let live = if exists {
        Charset::of(client, &target)?
    } else {
        None
    };
    create_database(client, &staging, recorded.as_ref().or(live.as_ref()))?;
    let loaded = load_checked(client, request, (db, dump), &staging, &tables).and_then(|()| {
        if exists {
            Ok(())
        } else {
            keep_only(client, &staging, &tables, selection.as_deref())
        }
    });
    if let Err(e) = loaded {
        let _ = client.drop_database(&staging);
        return Err(e);
    }
    if !exists {
        return Ok(Swap::fresh(target, staging, recorded));
    }
    let previous = working_name(
        &target,
        &format!(
            "_coffer_previous_{}",
            request.started.format("%Y%m%d_%H%M%S")
        ),
    );
    // A selection replaces tables only: the database's defaults stay as they are.
    let charset = recorded.filter(|_| selection.is_none());
    let swap = Swap::new(target, staging, previous, selection, charset);
    if let Err(e) = swap.check_foreign_keys(client) {
        let _ = client.drop_database(&swap.staging);
        return Err(e);
    }
    Ok(swap)
}

/// Loads `dump` (of the database `dumped`) into `into` and checks it created exactly the
/// dump's tables.
fn load_checked(
    client: &Client,
    request: &StageRequest,
    (dumped, dump): (&str, &Path),
    into: &str,
    tables: &[String],
) -> Result<()> {
    let mut command = client.command(client.tools.client);
    command.args([
        "--batch",
        "--default-character-set=utf8mb4",
        "--max-allowed-packet=1G",
        &format!("--database={into}"),
    ]);
    let run = ToolRun {
        tool: client.tools.client,
        phase: format!("loading into {into}"),
        estimate: std::fs::metadata(dump).map(|m| m.len()).unwrap_or(0),
        progress: request.progress,
    };
    feed_input(&run, command, dump, |line| {
        crate::faults::point("mysql.load.line");
        retarget_alter_database(line, dumped, into)
    })
    .map_err(|e| match e {
        Error::Source(message) => Error::Source(format!(
            "loading the dump into `{into}` failed, nothing live was changed: {message}"
        )),
        other => other,
    })?;
    let mut loaded = client.tables(into)?;
    let mut expected = tables.to_vec();
    loaded.sort();
    expected.sort();
    if loaded != expected {
        return Err(Error::Source(format!(
            "the load into `{into}` created tables [{}] but the dump has [{}]: nothing live was changed",
            loaded.join(", "),
            expected.join(", ")
        )));
    }
    Ok(())
}

/// A selective restore into a new database keeps only the chosen tables (and no views,
/// which would point at tables that are gone).
fn keep_only(
    client: &Client,
    db: &str,
    tables: &[String],
    chosen: Option<&[String]>,
) -> Result<()> {
    let Some(chosen) = chosen else {
        return Ok(());
    };
    let views = client.query_column(&format!(
        "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {}",
        literal(db)
    ))?;
    let mut sql = String::from("SET FOREIGN_KEY_CHECKS = 0;\n");
    for view in views {
        sql.push_str(&format!("DROP VIEW {}.{};\n", ident(db), ident(&view)));
    }
    for table in tables.iter().filter(|t| !chosen.contains(t)) {
        sql.push_str(&format!("DROP TABLE {}.{};\n", ident(db), ident(table)));
    }
    client.run(&sql).map(drop)
}
