//! The `postgres` source kind (see `sources/database.rs` for what a kind does): `pg_dump`
//! custom-format dumps per database, restored with `pg_restore -j` into a staging database
//! that is validated and then switched in by renames.

pub mod basebackup;
mod check;
mod copy_progress;
mod creation;
mod dump;
mod facts;
mod held;
pub mod lsn;
mod names;
mod now;
mod program;
mod properties;
mod recover;
pub mod recovery_server;
mod replication_check;
mod sql;
mod stage;
mod switch;
mod toc;
pub mod wal_receiver;

use crate::config::{SourceConfig, SourceSpec};
use crate::error::Result;
use crate::sources::database::{
    DatabaseKind, DatabaseTarget, DumpRequest, Recovery, StageRequest, StagedRestore,
};
use crate::sources::server::ServerAddress;
use crate::sources::target_now::{NowRequest, TargetNow};

use sql::Pg;

pub struct Postgres;

impl DatabaseKind for Postgres {
    fn dump(&self, dump: DumpRequest<'_>) -> Result<()> {
        let globals = matches!(dump.source.spec, SourceSpec::Postgres { globals: true, .. });
        dump::dump(
            &connection(dump.server),
            dump.source.databases(),
            globals,
            dump,
        )
    }

    /// `pg_dump` compresses its dumps itself (see `dump.rs`).
    fn compressed(&self, name: &str) -> bool {
        name.ends_with(dump::DUMP_SUFFIX)
    }

    fn stage(&self, request: &StageRequest) -> Result<Box<dyn StagedRestore>> {
        stage::stage(&connection(request.server), request)
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
        let pg = connection(server);
        for database in source.databases() {
            if pg.exists(database)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn now(&self, request: &NowRequest) -> Result<Vec<TargetNow>> {
        now::now(&connection(request.server), request)
    }

    fn check(&self, source: &SourceConfig, server: &ServerAddress) -> Result<Vec<String>> {
        check::check(&connection(server), source.databases(), source.pitr())
    }

    fn recover(&self, recovery: &Recovery) -> Result<Vec<String>> {
        recover::recover(&connection(recovery.server), recovery)
    }
}

fn connection(server: &ServerAddress) -> Pg {
    Pg {
        server: server.clone(),
    }
}
