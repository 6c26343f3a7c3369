//! The `mysql` source kind, for MySQL and MariaDB (see `sources/database.rs` for what a
//! kind does). Dumps with `mysqldump`/`mariadb-dump`, loads and administers with the
//! `mysql`/`mariadb` client; no client library is linked.

mod admin;
mod charset;
mod check;
mod dump;
mod dumpfacts;
mod dumpfile;
mod facts;
mod now;
mod objects;
mod recover;
mod restore;
mod stage;
mod switch;

use admin::Client;

use crate::config::SourceConfig;
use crate::error::Result;
use crate::sources::database::{
    DatabaseKind, DatabaseTarget, DumpRequest, Recovery, StageRequest, StagedRestore,
};
use crate::sources::server::ServerAddress;
use crate::sources::target_now::{NowRequest, TargetNow};

pub struct Mysql;

impl DatabaseKind for Mysql {
    fn dump(&self, dump: DumpRequest<'_>) -> Result<()> {
        dump::dump(dump)
    }

    fn stage(&self, request: &StageRequest) -> Result<Box<dyn StagedRestore>> {
        Ok(Box::new(stage::stage(request)?))
    }

    /// Only a restore over the original replaces anything, and only the databases there now.
    fn overwrites(
        &self,
        source: &SourceConfig,
        server: &ServerAddress,
        target: &DatabaseTarget,
    ) -> Result<bool> {
        if *target != DatabaseTarget::Original {
            return Ok(false);
        }
        let (client, _) = Client::connect(server)?;
        for db in source.databases() {
            if client.database_exists(db)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn now(&self, request: &NowRequest) -> Result<Vec<TargetNow>> {
        now::now(request)
    }

    fn check(&self, source: &SourceConfig, server: &ServerAddress) -> Result<Vec<String>> {
        let (client, version) = Client::connect(server)?;
        check::check(&client, &version, source.databases())
    }

    fn recover(&self, recovery: &Recovery) -> Result<Vec<String>> {
        recover::recover(recovery)
    }
}
