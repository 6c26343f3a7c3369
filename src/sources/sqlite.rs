//! A SQLite database file, copied consistently with `VACUUM INTO` while the application
//! keeps writing: the copy is made inside one read transaction, so it holds exactly the
//! rows committed before it began. A raw copy of a live file could tear mid-write.

use std::path::{Path, PathBuf};

use diesel::{Connection, RunQueryDsl, SqliteConnection};

use super::{file::file_name_of, plan_entry, PlannedEntry};
use crate::engine::manifest::{DatabaseFacts, SourceFacts};
use crate::error::{Error, IoContext, Result};

pub fn snapshot(
    name: &str,
    path: &Path,
    scratch_root: &Path,
) -> Result<(PlannedEntry, PathBuf, tempfile::TempDir)> {
    let file_name = file_name_of(name, path)?;
    if !path.is_file() {
        return Err(Error::Refused(format!(
            "source `{name}`: {} is not a file",
            path.display()
        )));
    }
    std::fs::create_dir_all(scratch_root).ctx(|| format!("creating {}", scratch_root.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix("sqlite-snapshot-")
        .tempdir_in(scratch_root)
        .ctx(|| format!("creating a scratch folder in {}", scratch_root.display()))?;
    let copy = scratch.path().join(&file_name);
    vacuum_into(path, &copy).map_err(|e| {
        Error::Refused(format!(
            "source `{name}`: cannot snapshot SQLite database {}: {e}",
            path.display()
        ))
    })?;
    // The restored file should carry the live file's time, not the scratch copy's. It is
    // set on the copy itself rather than only on the planned entry: the copy is Coffer's own,
    // nothing writes it while it is archived, and the writer's check for a file changed
    // while being read compares the file with its entry — a different time there reported
    // every SQLite backup as "changed while being read".
    let live_mtime = std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ctx(|| format!("reading the time of {}", path.display()))?;
    std::fs::File::options()
        .write(true)
        .open(&copy)
        .and_then(|file| file.set_modified(live_mtime))
        .ctx(|| format!("setting the time of snapshot {}", copy.display()))?;
    let mut entry = plan_entry(format!("{name}/{file_name}"), &copy)
        .ctx(|| format!("reading snapshot {}", copy.display()))?;
    entry.always_archive = true;
    // And the live file's mode (set on the entry only: a copy without read permission
    // could not be archived).
    if let Ok(original) = plan_entry(String::new(), path) {
        entry.mode = original.mode;
    }
    Ok((entry, copy, scratch))
}

fn vacuum_into(source: &Path, copy: &Path) -> std::result::Result<(), String> {
    let url = source.to_str().ok_or("path is not valid UTF-8")?;
    let target = copy.to_str().ok_or("scratch path is not valid UTF-8")?;
    let mut conn = SqliteConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::sql_query("PRAGMA busy_timeout = 30000")
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    diesel::sql_query(format!("VACUUM INTO '{}'", target.replace('\'', "''")))
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Checks a restored database file with `PRAGMA integrity_check` before it replaces anything.
pub fn integrity_check(path: &Path) -> std::result::Result<(), String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let url = path.to_str().ok_or("path is not valid UTF-8")?;
    let mut conn = SqliteConnection::establish(url).map_err(|e| e.to_string())?;
    let rows: Vec<Row> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    match rows.first() {
        Some(row) if row.integrity_check == "ok" => Ok(()),
        Some(row) => Err(format!("integrity check failed: {}", row.integrity_check)),
        None => Err("integrity check returned nothing".into()),
    }
}

/// The facts of a SQLite file (`engine/manifest/facts.rs`), as database `main`: rows per
/// table and the views. Read from the backup's own snapshot copy, and from a drill's
/// restored file.
pub fn facts(path: &Path) -> std::result::Result<SourceFacts, String> {
    let url = path.to_str().ok_or("path is not valid UTF-8")?;
    facts_of(url)
}

/// The facts of a live SQLite file, opened read-only (a restore's preview): nothing is
/// written, not even a journal. A database in WAL mode whose `-shm` file is missing cannot
/// be read this way, and says so.
pub fn facts_now(path: &Path) -> std::result::Result<SourceFacts, String> {
    let text = path.to_str().ok_or("path is not valid UTF-8")?;
    // A URI filename: the characters a URI gives meaning to are escaped.
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | '?' | '#' => escaped.push_str(&format!("%{:02X}", c as u32)),
            c => escaped.push(c),
        }
    }
    facts_of(&format!("file:{escaped}?mode=ro"))
}

fn facts_of(url: &str) -> std::result::Result<SourceFacts, String> {
    #[derive(diesel::QueryableByName)]
    struct Object {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rows: i64,
    }
    let mut conn = SqliteConnection::establish(url).map_err(|e| e.to_string())?;
    let objects: Vec<Object> = diesel::sql_query(
        "SELECT name, type AS kind FROM sqlite_schema \
         WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY name",
    )
    .load(&mut conn)
    .map_err(|e| e.to_string())?;
    let mut database = DatabaseFacts::default();
    for object in objects {
        if object.kind == "view" {
            database.views.push(object.name);
            continue;
        }
        let quoted = format!("\"{}\"", object.name.replace('"', "\"\""));
        let count: Count = diesel::sql_query(format!("SELECT count(*) AS rows FROM {quoted}"))
            .get_result(&mut conn)
            .map_err(|e| format!("counting the rows of {quoted}: {e}"))?;
        database
            .tables
            .insert(object.name, u64::try_from(count.rows).unwrap_or(0));
    }
    Ok(SourceFacts {
        databases: [("main".to_string(), database)].into(),
    })
}
