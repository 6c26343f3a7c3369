//! The `redis` source kind (see `sources/database.rs` for what a kind does).
//!
//! - dump (`sync.rs`): the server's RDB snapshot over the replication protocol, into
//!   `dump.rdb` — it holds every database of the server; a restore takes the source's (`/N`).
//! - stage (`stage.rs`): the snapshot loaded into a temporary `redis-server` on loopback.
//! - facts (`facts.rs`): key counts and sampled values, read from such a temporary server at
//!   backup time and again in a drill.
//! - switch (`staged.rs`, `copy.rs`): keys copied across with DUMP/RESTORE, undo journal kept.
//! - check (`check.rs`).
//!
//! The protocol is spoken natively (`conn.rs`): no `redis-cli` needed at run time.

mod check;
mod conn;
mod copy;
mod facts;
mod now;
mod stage;
mod staged;
mod sync;

use std::time::Duration;

use conn::open;
use copy::Scanner;
use stage::TempServer;
use staged::StagedRedis;

use crate::config::SourceConfig;
use crate::error::{Error, Result};
use crate::sources::database::{
    DatabaseKind, DatabaseTarget, DumpRequest, Recovery, StageRequest, StagedRestore,
};
use crate::sources::server::ServerAddress;
use crate::sources::target_now::{NowRequest, TargetNow};

pub struct Redis;

/// The RDB file in the dump folder (and the archive: `<source>/dump.rdb`).
const RDB_FILE: &str = "dump.rdb";
/// While the server forks and writes its snapshot it sends a keep-alive each second: a
/// read time-out shorter than a few seconds would cut a healthy snapshot.
const MIN_SNAPSHOT_WAIT: Duration = Duration::from_secs(5);
/// Database numbers a temporary server offers (the snapshot may hold any of the source
/// server's databases; 16 is Redis's default).
const TEMP_DATABASES: u32 = 1024;

impl DatabaseKind for Redis {
    fn dump(&self, dump: DumpRequest<'_>) -> Result<()> {
        let timeout = timeout(dump.server);
        let mut conn = open(dump.server, timeout)?;
        conn.set_read_timeout(timeout.max(MIN_SNAPSHOT_WAIT))?;
        sync::download_rdb(&mut conn, &dump.dir.join(RDB_FILE), dump.progress)?;
        // The facts a drill proves against, from the very snapshot just synced: loaded into
        // a temporary server (stopped and its files gone before the folder is archived).
        let db = dump.server.redis_db();
        let facts = TempServer::start(
            dump.dir,
            TEMP_DATABASES.max(db.saturating_add(1)),
            dump.progress,
        )
        .and_then(|server| facts::read(&server, db));
        match facts {
            Ok(facts) => *dump.facts = facts,
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(e) => dump.warnings.push(format!(
                "the key counts a restore drill proves this backup against were not recorded \
                 (the backup itself is complete): {e}"
            )),
        }
        Ok(())
    }

    fn stage(&self, request: &StageRequest) -> Result<Box<dyn StagedRestore>> {
        let target = target_address(request.source, request.server, request.target)?;
        let pattern = request.selection.keys.clone();
        let timeout = timeout(request.server);
        if let DatabaseTarget::Named(_) = request.target {
            if !request.merge && holds_keys(&target, pattern.as_deref(), timeout)? {
                return Err(Error::Refused(format!(
                    "the target {} already holds {}: restore into an empty database, or add \
                     --merge to add the keys to what it holds",
                    target.redacted(),
                    match &pattern {
                        Some(p) => format!("keys matching `{p}`"),
                        None => "keys".into(),
                    }
                )));
            }
        } else {
            // Fail before loading anything when the target cannot be reached.
            open(&target, timeout)?;
        }
        let source_db = request.server.redis_db();
        let server = TempServer::start(
            request.dir,
            TEMP_DATABASES.max(source_db.saturating_add(1)),
            request.progress,
        )?;
        crate::faults::point("redis.stage.loaded");
        let mut warnings = Vec::new();
        if request.source.keeps_replaced() {
            warnings.push(format!(
                "source `{}`: keep_replaced does not apply to redis sources; the safety backup \
                 holds what was replaced",
                request.source.name
            ));
        }
        Ok(Box::new(StagedRedis {
            server,
            source_db,
            target,
            pattern,
            merge: request.merge,
            journal: request.dir.join("coffer-undo.journal"),
            timeout,
            touched: false,
            warnings,
        }))
    }

    fn overwrites(
        &self,
        _source: &SourceConfig,
        server: &ServerAddress,
        target: &DatabaseTarget,
    ) -> Result<bool> {
        match target {
            DatabaseTarget::Original => holds_keys(server, None, timeout(server)),
            _ => Ok(false),
        }
    }

    fn now(&self, request: &NowRequest) -> Result<Vec<TargetNow>> {
        now::now(request)
    }

    fn check(&self, _source: &SourceConfig, server: &ServerAddress) -> Result<Vec<String>> {
        check::check(server, timeout(server))
    }

    /// The temporary server of a killed restore dies with it and its files are in the
    /// restore's staging folder, so only a switch needs settling: back replays the undo
    /// journal (the target as it was), forward only drops it.
    fn recover(&self, recovery: &Recovery) -> Result<Vec<String>> {
        let Some(record) = recovery.record else {
            return Ok(Vec::new());
        };
        let record: staged::Record = serde_json::from_value(record.clone()).map_err(|e| {
            Error::Archive(format!("the journal's Redis record is unreadable: {e}"))
        })?;
        if !record.undo_journal.exists() {
            return Ok(Vec::new()); // settled already (or the switch never began)
        }
        if !recovery.forward {
            let target = recovery.server.parse_target(&record.target)?;
            staged::put_back(&target, timeout(recovery.server), &record.undo_journal)?;
        }
        std::fs::remove_file(&record.undo_journal).map_err(|e| Error::Io {
            context: format!("removing {}", record.undo_journal.display()),
            source: e,
        })?;
        Ok(Vec::new())
    }
}

fn timeout(server: &ServerAddress) -> Duration {
    Duration::from_secs(u64::from(server.connect_timeout_seconds().max(1)))
}

/// The server and database (in the URL's path) a restore writes to.
fn target_address(
    source: &SourceConfig,
    server: &ServerAddress,
    target: &DatabaseTarget,
) -> Result<ServerAddress> {
    match target {
        // A drill loads into a temporary server only.
        DatabaseTarget::Original | DatabaseTarget::Scratch => Ok(server.clone()),
        DatabaseTarget::Named(text) if text.contains("://") => server.parse_target(text),
        DatabaseTarget::Named(text) => {
            let db: u32 = text.trim().parse().map_err(|_| {
                Error::Refused(format!(
                    "--target `{text}`: a redis source restores into a database number or a redis:// URL"
                ))
            })?;
            Ok(server.with_database(&db.to_string()))
        }
        DatabaseTarget::NewDefault => Err(Error::Refused(format!(
            "source `{}` is a redis database, which has no name to restore beside: restore it \
             on its own with --target <database number> or --target redis://host:port/N",
            source.name
        ))),
    }
}

/// Whether the server's database (in its URL) holds keys (matching `pattern`, when given).
fn holds_keys(server: &ServerAddress, pattern: Option<&str>, timeout: Duration) -> Result<bool> {
    let mut conn = open(server, timeout)?;
    conn.select(server.redis_db())?;
    if pattern.is_none() {
        return Ok(conn.ok(&[b"DBSIZE"])?.as_int().unwrap_or(0) > 0);
    }
    Ok(Scanner::new(pattern).next(&mut conn)?.is_some())
}
