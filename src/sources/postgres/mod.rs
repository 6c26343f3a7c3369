//! The `postgres` source kind (see `sources/database.rs` for what a kind does): `pg_dump`
//! custom-format dumps per database, restored with `pg_restore -j` into a staging database
//! that is validated and then switched in by renames.

mod check;
mod copy_progress;
mod creation;
mod dump;
mod held;
mod names;
mod program;
mod properties;
mod recover;
mod sql;
mod stage;
mod switch;
mod toc;

use crate::config::SourceConfig;
use crate::error::Result;
use crate::sources::database::{
    DatabaseKind, DatabaseTarget, DumpRequest, Recovery, StageRequest, StagedRestore,
};
use crate::sources::server::ServerAddress;

use sql::Pg;

pub struct Postgres;

impl DatabaseKind for Postgres {
    fn dump(&self, dump: DumpRequest<'_>) -> Result<()> {
        let databases = databases(dump.source, dump.server);
        dump::dump(
            &connection(dump.source, dump.server),
            &databases,
            dump.source.globals,
            dump,
        )
    }

    /// `pg_dump` compresses its dumps itself (see `dump.rs`).
    fn compressed(&self, name: &str) -> bool {
        name.ends_with(dump::DUMP_SUFFIX)
    }

    fn stage(&self, request: &StageRequest) -> Result<Box<dyn StagedRestore>> {
        stage::stage(&connection(request.source, request.server), request)
    }

    fn overwrites(
        &self,
        source: &SourceConfig,
        server: &ServerAddress,
        target: &DatabaseTarget,
    ) -> Result<bool> {
        if *target != DatabaseTarget::Original {
            return Ok(false);
        }
        let pg = connection(source, server);
        for database in databases(source, server) {
            if pg.exists(&database)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn check(&self, source: &SourceConfig, server: &ServerAddress) -> Result<Vec<String>> {
        check::check(&connection(source, server), &databases(source, server))
    }

    fn recover(&self, recovery: &Recovery) -> Result<Vec<String>> {
        recover::recover(&connection(recovery.source, recovery.server), recovery)
    }
}

fn connection(source: &SourceConfig, server: &ServerAddress) -> Pg {
    Pg {
        server: server.clone(),
        timeout_seconds: source.connect_timeout_seconds,
    }
}

/// The configured databases, or the URL's (the config check makes sure there is one).
fn databases(source: &SourceConfig, server: &ServerAddress) -> Vec<String> {
    if source.databases.is_empty() {
        server.database().into_iter().collect()
    } else {
        source.databases.clone()
    }
}
