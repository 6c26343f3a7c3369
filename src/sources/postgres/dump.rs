//! Backing up a postgres source: one `pg_dump` per database into `<db>.pgdump`, and the
//! roles and other globals into `globals.sql` when asked.
//!
//! `pg_dump` takes one snapshot (a repeatable-read transaction) per database, so each dump is
//! consistent while the application keeps writing. The custom format (`-Fc`) is what
//! `pg_restore -j` loads in parallel and selectively. `pg_dump` compresses it itself, at
//! level 1: on the dump's own core, while the server produces the rows, and the small result
//! goes into the archive stored as it is (see `DatabaseKind::compressed`). Dumping
//! uncompressed for Coffer's parallel gzip instead wrote the whole dump to disk and read it
//! back (about 20 times the bytes); level 1 is about a third faster than `pg_dump`'s default
//! (6) for a dump a few percent bigger. Archives made with `-Z0` dumps restore all the same:
//! `pg_restore` reads either.
//!
//! Progress comes from the server (`copy_progress.rs`), and `<db>.size` keeps the database's
//! size for the restore's progress.

use super::check::{client_major, require_fit};
use super::copy_progress::CopyProgress;
use super::facts::ExportedSnapshot;
use super::sql::{Pg, MAINTENANCE_DB};
use crate::error::{IoContext, Result};
use crate::sources::database::DumpRequest;
use crate::sources::tool::{run_watched, spool_output, ToolRun};

/// The file a database's dump is written to, and read back from at restore.
pub const DUMP_SUFFIX: &str = ".pgdump";
/// Beside each dump: `pg_database_size` when it was dumped (decimal), what a restore's
/// progress is measured against. Backups made before it existed have none.
pub const SIZE_SUFFIX: &str = ".size";
pub const GLOBALS_FILE: &str = "globals.sql";
/// `pg_dump --compress`: see the module comment.
const COMPRESS_LEVEL: &str = "--compress=1";

pub fn dump(pg: &Pg, databases: &[String], globals: bool, request: DumpRequest<'_>) -> Result<()> {
    let client = client_major("pg_dump")?;
    for database in databases {
        // Fails clearly (and fast) when the server is unreachable or the client too old,
        // before `pg_dump` gets the chance to fail less plainly.
        let server = pg.server_major(database)?;
        require_fit("pg_dump", client, server)?;
        let size = pg.size(database)?;
        // Names the dump's session so its COPY progress can be found among the server's.
        let application = format!("coffer-dump-{}", uuid::Uuid::new_v4().simple());
        let copies = CopyProgress::start(pg, database, server, &application);
        let mut command = pg.command("pg_dump", database);
        command.env("PGAPPNAME", &application);
        // One snapshot for the dump and the facts a drill proves it against: the facts are
        // read in the exporting transaction, which stays open until pg_dump has taken it.
        let mut snapshot = ExportedSnapshot::begin(pg, database)?;
        request
            .facts
            .databases
            .insert(database.clone(), snapshot.facts()?);
        let spool = request.dir.join(format!("{database}{DUMP_SUFFIX}"));
        command
            .arg(format!("--snapshot={}", snapshot.id))
            .args(["--format=custom", COMPRESS_LEVEL, "--no-password", "--file"])
            .arg(&spool);
        let run = ToolRun {
            tool: "pg_dump",
            phase: format!("dumping {database}"),
            estimate: copies.as_ref().map_or(size, CopyProgress::total),
            progress: request.progress,
        };
        run_watched(&run, command, || {
            copies.as_ref().map_or(0, CopyProgress::done)
        })?;
        snapshot.end();
        run.report(run.estimate);
        let size_file = request.dir.join(format!("{database}{SIZE_SUFFIX}"));
        std::fs::write(&size_file, format!("{size}\n"))
            .ctx(|| format!("writing {}", size_file.display()))?;
    }
    if globals {
        let mut command = pg.command("pg_dumpall", MAINTENANCE_DB);
        command.args(["--globals-only", "--no-password"]);
        let run = ToolRun {
            tool: "pg_dumpall",
            phase: "dumping roles and globals".into(),
            estimate: 0,
            progress: request.progress,
        };
        spool_output(&run, command, &request.dir.join(GLOBALS_FILE))?;
    }
    Ok(())
}
