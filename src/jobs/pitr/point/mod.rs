//! Restoring a base backup to a point: the base backup's data directory is extracted (every
//! checksum checked) into a scratch folder, a temporary PostgreSQL of its major version
//! recovers it with WAL copied from a folder (`restore_command`) up to the target, and is
//! promoted there (`sources/postgres/recovery_server.rs`). Then:
//!
//! - [`Destination::DataDir`]: the server is shut down cleanly, Coffer's recovery settings
//!   are taken out again and the data directory is moved to the operator's folder, ready
//!   for a server of that major version to start on (it comes up on a new timeline);
//! - [`Destination::Databases`]: each of the source's databases is dumped from the
//!   temporary server (`pg_dump -Fc`, as a backup dumps it), the server is stopped, and
//!   the dumps go through the ordinary restore (`jobs/restore`: task, audit entry, safety
//!   backup when overwriting, staging databases, all-or-nothing switch with rollback) into
//!   a new database or over the original.
//!
//! The window is checked first (`window.rs`): a target before the base backup's end or
//! past the newest WAL, or WAL with a gap, is refused with the window in the message,
//! before anything is extracted. The temporary server is stopped and the scratch folders
//! removed on every way out, errors included (and a killed Coffer takes the server along:
//! it is started with the parent-death signal).

mod archived_wal;
pub mod target;
mod window;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use target::RecoveryTarget;
pub use window::Window;

use crate::app::App;
use crate::config::SourceSpec;
use crate::db::{LogEntry, NewLogEntry};
use crate::domain::LogLevel;
use crate::engine::archive_reader::Plain;
use crate::engine::extract::{extract, remove_tree, ExtractPlan, Trust};
use crate::engine::progress::Silent;
use crate::error::{Error, IoContext, Result};
use crate::jobs::archives::StoredArchives;
use crate::jobs::pitr::base::{base_backup, BaseBackup};
use crate::jobs::requester::Requester;
use crate::jobs::restore::{run_restore, RestoreOutcome, RestoreRequest};
use crate::jobs::run::task_run::Display;
use crate::sources::postgres::basebackup::PGDATA;
use crate::sources::postgres::lsn::format_lsn;
use crate::sources::postgres::recovery_server::{
    can_read_folder, copy_from, give_to, server_programs, server_user, RecoveryPlan, RecoveryServer,
};
use crate::sources::tool::ToolRun;
use archived_wal::ArchivedWal;

/// How long the temporary server may show no progress (no log line, no replayed WAL)
/// before the restore gives up on it.
const STALL: Duration = Duration::from_secs(300);

/// Where the recovered state goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A ready data directory in this folder (absent or empty).
    DataDir(PathBuf),
    /// The source's databases, through the staged switch: into `target` (a new database
    /// name on the source's server, a single-database source only) or, `None`, over the
    /// originals (`confirmed` required; a safety backup is taken first).
    Databases {
        target: Option<String>,
        confirmed: bool,
    },
}

/// One point-in-time restore.
#[derive(Debug, Clone)]
pub struct PointRequest<'a> {
    /// The PITR source (a postgres source the base backup holds).
    pub source: &'a str,
    /// The base backup to start from.
    pub backup_id: &'a str,
    /// WAL files (`000000010000000000000003` …) to replay after the base backup; `None`:
    /// fetched from Coffer's WAL archive of the source (none for
    /// [`RecoveryTarget::Backup`]).
    pub wal_dir: Option<&'a Path>,
    pub target: RecoveryTarget,
    pub destination: Destination,
    /// Read an unencrypted archive although encryption is on.
    pub allow_plain: bool,
}

/// What a point-in-time restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PointOutcome {
    pub backup_id: String,
    pub source: String,
    /// The target in words.
    pub target: String,
    /// The recoverable window the target was checked against.
    pub window: String,
    /// The ready data directory ([`Destination::DataDir`]).
    pub data_dir: Option<PathBuf>,
    /// The restore of the databases ([`Destination::Databases`]).
    pub restore: Option<RestoreOutcome>,
}

/// Restores `request.source` from base backup `request.backup_id` to `request.target` (see
/// the module note). Nothing is left behind on failure: no scratch folder, no server.
pub fn restore_to_point(
    app: &App,
    request: &PointRequest,
    by: &Requester,
    display: Option<Display>,
) -> Result<PointOutcome> {
    let base = base_backup(app, request.backup_id, request.source)?;
    let facts = &base.facts;
    if let Some(dir) = request.wal_dir {
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "the WAL folder {} is not a folder",
                dir.display()
            )));
        }
    }
    if let Destination::Databases { target, confirmed } = &request.destination {
        let configured = app.settings.source(request.source);
        if !configured.is_some_and(|c| matches!(c.spec, SourceSpec::Postgres { .. })) {
            return Err(Error::Refused(format!(
                "source `{}` is not configured as a postgres source now: Coffer needs its \
                 server to load the recovered databases (or restore with --data-dir)",
                request.source
            )));
        }
        if target.is_none() && !confirmed {
            return Err(Error::Refused(
                "a restore over the original databases replaces them: confirm it (--yes on the \
                 command line), or name a new database with --target"
                    .into(),
            ));
        }
    }
    let programs = server_programs(facts.server_major)?;
    let user = server_user()?;
    // The WAL after the base backup comes from Coffer's own archive, unless a folder of WAL
    // files was given (`--wal-dir`); recovering to the backup's end needs none.
    let archived = match (request.wal_dir, request.target.needs_wal()) {
        (None, true) => Some(ArchivedWal::fetch(app, request.source, facts, user)?),
        _ => None,
    };
    let wal_dir = request.wal_dir.or(archived.as_ref().map(ArchivedWal::path));
    let request = &PointRequest {
        wal_dir,
        target: request.target.clone(),
        destination: request.destination.clone(),
        ..*request
    };
    let window = window::window(facts, request.wal_dir, &programs)?;
    window.check(&request.target)?;
    if let Some(dir) = request.wal_dir {
        if !can_read_folder(user, dir) {
            return Err(Error::Refused(format!(
                "the temporary server runs as the postgres user, who cannot read the WAL \
                 folder {}: make it readable to postgres",
                dir.display()
            )));
        }
    }
    let mut outcome = PointOutcome {
        backup_id: base.backup.id.clone(),
        source: request.source.to_string(),
        target: request.target.describe(),
        window: window.describe(),
        data_dir: None,
        restore: None,
    };
    match &request.destination {
        Destination::DataDir(dir) => {
            into_data_dir(app, &base, request, (user, &window), dir)?;
            outcome.data_dir = Some(dir.clone());
            let text = format!(
                "recovered source `{}` of base backup `{}` to {} into the data directory {}",
                request.source,
                base.backup.name,
                request.target.describe(),
                dir.display()
            );
            audit(app, &base, by, &text);
        }
        Destination::Databases { target, confirmed } => {
            outcome.restore = Some(into_databases(
                app,
                &base,
                request,
                (user, &window),
                (target.clone(), *confirmed),
                (by, display),
            )?);
        }
    }
    Ok(outcome)
}

/// Scratch folders of one recovery, removed when dropped (after the server, declared later).
struct Scratch {
    root: PathBuf,
    socket: tempfile::TempDir,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A server killed from outside leaves its child processes (startup, checkpointer)
        // writing into the data directory until they notice the postmaster is gone: a
        // removal racing them finds a folder that is not empty yet, so try for a while.
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            match remove_tree(&self.root) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) if std::time::Instant::now() < deadline => {
                    tracing::debug!("removing {} again: {e}", self.root.display());
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => {
                    tracing::error!("cannot remove {}: {e}", self.root.display());
                    return;
                }
            }
        }
    }
}

impl Scratch {
    fn new(root: PathBuf) -> Result<Scratch> {
        if let Some(parent) = root.parent() {
            fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
        }
        fs::create_dir(&root).ctx(|| format!("creating {}", root.display()))?;
        // The socket's path must stay short (about 100 bytes): a folder of its own in /tmp.
        let socket = tempfile::Builder::new()
            .prefix("coffer-pg-")
            .tempdir()
            .ctx(|| "creating a folder for the temporary server's socket".into());
        match socket {
            Ok(socket) => Ok(Scratch { root, socket }),
            Err(e) => {
                let _ = fs::remove_dir(&root);
                Err(e)
            }
        }
    }

    fn data(&self) -> PathBuf {
        self.root.join(PGDATA)
    }
}

/// Extracts the base backup into `scratch` and recovers it to the request's target: the
/// server returned has been promoted there.
fn recover(
    app: &App,
    base: &BaseBackup,
    request: &PointRequest,
    scratch: &Scratch,
    (user, window): (Option<(u32, u32)>, &Window),
) -> Result<RecoveryServer> {
    let names = [request.source.to_string()];
    let staging = [(request.source.to_string(), scratch.root.clone())].into();
    let plan = ExtractPlan::select(&base.manifest, &names, None, staging)?;
    let trust = Trust {
        manifest_sha256: &base.manifest_sha256,
        plain: Plain::policy(app.settings.archive.encryption, request.allow_plain),
        may_grant_special_bits: false,
    };
    extract(
        &plan,
        &StoredArchives::new(app),
        &app.keyring(),
        &trust,
        &Silent,
    )?;
    let data = scratch.data();
    if !data.join("PG_VERSION").is_file() {
        return Err(Error::Archive(format!(
            "backup {} holds no data directory of source `{}`",
            base.backup.id, request.source
        )));
    }
    give_to(user, &scratch.root)?;
    let restore_command = match request.wal_dir {
        Some(dir) => {
            copy_from(&fs::canonicalize(dir).ctx(|| format!("reading {}", dir.display()))?)?
        }
        // The base backup's own pg_wal holds what it needs (`-X fetch`).
        None => "false".to_string(),
    };
    let config = app.settings.source(request.source);
    let role = config
        .and_then(|c| crate::sources::ServerAddress::of(c).ok())
        .and_then(|s| s.user())
        .unwrap_or_else(|| "postgres".into());
    let work = scratch.root.join("work");
    fs::create_dir(&work).ctx(|| format!("creating {}", work.display()))?;
    let plan = RecoveryPlan {
        data: &data,
        work: &work,
        socket_dir: scratch.socket.path(),
        major: base.facts.server_major,
        restore_command,
        target: request.target.settings(),
        role,
    };
    let mut server = RecoveryServer::start(&plan, user)?;
    crate::faults::point("pitr:server-started");
    let replayed = server.wait_promoted(STALL)?;
    // Without a target, recovery ends wherever the WAL stops being readable: it must have
    // got into the newest file of the folder, or a file on the way was not usable.
    let size = base.facts.wal_segment_size;
    if request.target == RecoveryTarget::Latest && replayed < window.to_lsn.saturating_sub(size) {
        return Err(Error::Source(format!(
            "recovery stopped at WAL {} although the folder holds WAL up to {}: a WAL file on \
             the way could not be used (damaged, or of another server); the window was {}",
            format_lsn(replayed),
            format_lsn(window.to_lsn),
            window.describe()
        )));
    }
    Ok(server)
}

fn into_data_dir(
    app: &App,
    base: &BaseBackup,
    request: &PointRequest,
    (user, window): (Option<(u32, u32)>, &Window),
    dir: &Path,
) -> Result<()> {
    let dir = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .ctx(|| "reading the current folder".into())?
            .join(dir)
    };
    match fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => {
            if fs::read_dir(&dir)
                .ctx(|| format!("reading {}", dir.display()))?
                .next()
                .is_some()
            {
                return Err(Error::Refused(format!(
                    "{} is not empty: a data directory is restored into an empty or new folder",
                    dir.display()
                )));
            }
        }
        Ok(_) => {
            return Err(Error::Refused(format!(
                "{} exists and is not a folder",
                dir.display()
            )))
        }
        Err(_) => {}
    }
    let parent = dir
        .parent()
        .ok_or_else(|| Error::Invalid(format!("{} has no parent folder", dir.display())))?;
    fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
    if !can_read_folder(user, parent) {
        return Err(Error::Refused(format!(
            "the temporary server runs as the postgres user, who cannot enter {}: choose a \
             folder it can reach",
            parent.display()
        )));
    }
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let scratch = Scratch::new(parent.join(format!(".coffer-pitr-{tag}")))?;
    let mut server = recover(app, base, request, &scratch, (user, window))?;
    server.stop()?;
    server.forget_recovery_settings()?;
    drop(server);
    if dir.exists() {
        fs::remove_dir(&dir).ctx(|| format!("replacing the empty folder {}", dir.display()))?;
    }
    fs::rename(scratch.data(), &dir)
        .ctx(|| format!("moving the recovered data directory to {}", dir.display()))?;
    Ok(())
}

/// Coffer's own scratch folder (`<data_dir>/tmp`, created) when the temporary server's user
/// can reach it, else `None`: the caller uses the system's temporary folder instead.
fn server_reachable_tmp(app: &App, user: Option<(u32, u32)>) -> Result<Option<PathBuf>> {
    let tmp = app.settings.data_dir.join("tmp");
    fs::create_dir_all(&tmp).ctx(|| format!("creating {}", tmp.display()))?;
    Ok(can_read_folder(user, &tmp).then_some(tmp))
}

fn into_databases(
    app: &App,
    base: &BaseBackup,
    request: &PointRequest,
    (user, window): (Option<(u32, u32)>, &Window),
    (target, confirmed): (Option<String>, bool),
    (by, display): (&Requester, Option<Display>),
) -> Result<RestoreOutcome> {
    let tmp = app.settings.data_dir.join("tmp");
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let root = match server_reachable_tmp(app, user)? {
        Some(tmp) => tmp.join(format!(".coffer-pitr-{tag}")),
        None => std::env::temp_dir().join(format!("coffer-pitr-{tag}")),
    };
    let dumps = tmp.join(format!(".coffer-pitr-dumps-{tag}"));
    let result = (|| {
        {
            let scratch = Scratch::new(root)?;
            let mut server = recover(app, base, request, &scratch, (user, window))?;
            dump_databases(app, request.source, &server, &dumps.join(request.source))?;
            server.stop()?;
        }
        let restore = RestoreRequest {
            backup_id: base.backup.id.clone(),
            sources: vec![request.source.to_string()],
            target: target.map(PathBuf::from),
            confirmed,
            allow_plain: request.allow_plain,
            prepared_dumps: Some(dumps.clone()),
            ..RestoreRequest::default()
        };
        run_restore(app, &restore, by, display)
    })();
    if let Err(e) = remove_tree(&dumps) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::error!("cannot remove {}: {e}", dumps.display());
        }
    }
    result
}

/// `<folder>/<db>.pgdump` (and its `.size`) of every database of the source, from the
/// recovered copy.
fn dump_databases(app: &App, source: &str, server: &RecoveryServer, folder: &Path) -> Result<()> {
    let config = app
        .settings
        .source(source)
        .ok_or_else(|| Error::Refused(format!("source `{source}` is no longer configured")))?;
    fs::create_dir_all(folder).ctx(|| format!("creating {}", folder.display()))?;
    let present = server.query("postgres", "SELECT datname FROM pg_database")?;
    let present: Vec<&str> = present.lines().map(str::trim).collect();
    for database in config.databases() {
        if !present.contains(&database.as_str()) {
            return Err(Error::Refused(format!(
                "database {database} of source `{source}` did not exist at the recovered point"
            )));
        }
        let size = server
            .query(
                "postgres",
                &format!(
                    "SELECT pg_database_size(oid) FROM pg_database WHERE datname = '{}'",
                    database.replace('\'', "''")
                ),
            )
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let file = folder.join(format!("{database}.pgdump"));
        let run = ToolRun {
            tool: "pg_dump",
            phase: format!("dumping {database} from the recovered copy"),
            estimate: size,
            progress: &Silent,
        };
        server.dump(database, &file, &run)?;
        let size_file = folder.join(format!("{database}.size"));
        fs::write(&size_file, format!("{size}\n"))
            .ctx(|| format!("writing {}", size_file.display()))?;
    }
    Ok(())
}

fn audit(app: &App, base: &BaseBackup, by: &Requester, text: &str) {
    let mut entry = NewLogEntry::new(LogLevel::Info, "restore", text).for_backup(&base.backup.id);
    if let Some(user) = by.username() {
        entry = entry.by(user);
    }
    let written = app
        .conn()
        .and_then(|mut conn| Ok(LogEntry::insert(&mut conn, &entry)?));
    if let Err(e) = written {
        tracing::error!("cannot write the audit entry of a point-in-time restore: {e}");
    }
}
