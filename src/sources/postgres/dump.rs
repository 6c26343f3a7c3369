//! Backing up a postgres source: one `pg_dump` per database into `<db>.pgdump`, and the
//! roles and other globals into `globals.sql` when asked.
//!
//! `pg_dump` takes one snapshot (a repeatable-read transaction) per database, so each dump is
//! consistent while the application keeps writing. The custom format (`-Fc`) is what
//! `pg_restore -j` loads in parallel and selectively; `-Z0` leaves it uncompressed because
//! Coffer's archive compresses it anyway (in parallel), and compressing twice costs time
//! for nothing.

use super::check::{client_major, require_fit};
use super::sql::{Pg, MAINTENANCE_DB};
use crate::error::Result;
use crate::sources::database::DumpRequest;
use crate::sources::tool::{spool_output, ToolRun};

/// The file a database's dump is written to, and read back from at restore.
pub const DUMP_SUFFIX: &str = ".pgdump";
pub const GLOBALS_FILE: &str = "globals.sql";

pub fn dump(pg: &Pg, databases: &[String], globals: bool, request: DumpRequest<'_>) -> Result<()> {
    let client = client_major("pg_dump")?;
    for database in databases {
        // Fails clearly (and fast) when the server is unreachable or the client too old,
        // before `pg_dump` gets the chance to fail less plainly.
        let server = pg.server_major(database)?;
        require_fit("pg_dump", client, server)?;
        let estimate = pg.size(database)?;
        let mut command = pg.command("pg_dump", database);
        command.args(["--format=custom", "--compress=0", "--no-password"]);
        let run = ToolRun {
            tool: "pg_dump",
            phase: format!("dumping {database}"),
            estimate,
            progress: request.progress,
        };
        let spool = request.dir.join(format!("{database}{DUMP_SUFFIX}"));
        spool_output(&run, command, &spool)?;
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
