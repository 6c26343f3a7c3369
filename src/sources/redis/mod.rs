//! The `redis` source kind (see `sources/database.rs` for what a kind does).

use crate::config::SourceConfig;
use crate::error::{Error, Result};
use crate::sources::database::{
    DatabaseKind, DatabaseTarget, DumpRequest, StageRequest, StagedRestore,
};
use crate::sources::server::ServerAddress;

pub struct Redis;

// Being built: each part refuses plainly until it lands.
impl DatabaseKind for Redis {
    fn dump(&self, dump: DumpRequest<'_>) -> Result<()> {
        Err(not_yet(dump.source))
    }

    fn stage(&self, request: &StageRequest) -> Result<Box<dyn StagedRestore>> {
        Err(not_yet(request.source))
    }

    fn overwrites(
        &self,
        source: &SourceConfig,
        _server: &ServerAddress,
        _target: &DatabaseTarget,
    ) -> Result<bool> {
        Err(not_yet(source))
    }

    fn check(&self, source: &SourceConfig, _server: &ServerAddress) -> Result<Vec<String>> {
        Err(not_yet(source))
    }
}

fn not_yet(source: &SourceConfig) -> Error {
    Error::Refused(format!(
        "source `{}`: kind {} is not supported by this version",
        source.name, source.kind
    ))
}
