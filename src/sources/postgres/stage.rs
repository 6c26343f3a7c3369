//! Restoring a postgres source, the part that changes nothing live: every `<db>.pgdump` of
//! the restored backup is loaded with `pg_restore -j N` into a new staging database on the
//! target server and validated (exit status; every table of the dump is there), then given
//! the database-level settings and grants the dump holds (`properties.rs`). The staging
//! database is created with the encoding and locale the backed-up database was created with
//! (`creation.rs`), so whatever it becomes keeps them. What the switch then does depends on
//! the target (see `switch.rs`).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::dump::{DUMP_SUFFIX, GLOBALS_FILE, SIZE_SUFFIX};
use super::names;
use super::properties;
use super::sql::{Pg, MAINTENANCE_DB};
use super::switch::{Staged, StagedSource, Step};
use super::toc::{self, Toc};
use crate::error::{Error, IoContext, Result};
use crate::sources::database::{default_restored_name, DatabaseTarget, StageRequest};
use crate::sources::tool::{run_watched_group, ToolRun};
use crate::sources::StagedRestore;

/// The first server version with `client_connection_check_interval`.
const CHECKS_CONNECTION_FROM: u32 = 14;

/// One database of the backup and where it goes.
struct Plan {
    database: String,
    dump: PathBuf,
    target: Pg,
    name: String,
    /// Over the original: replace the whole database, or only the chosen tables' contents.
    replace: bool,
}

pub fn stage(pg: &Pg, request: &StageRequest) -> Result<Box<dyn StagedRestore>> {
    let plans = plan(pg, request)?;
    let mut staged: Vec<Staged> = Vec::new();
    let mut warnings = Vec::new();
    for plan in plans {
        match load(&plan, request, &mut warnings) {
            Ok(one) => staged.push(one),
            Err(e) => {
                for one in staged {
                    one.discard();
                }
                return Err(e);
            }
        }
    }
    if request.dir.join(GLOBALS_FILE).exists() {
        warnings.push(format!(
            "source `{}`: roles and other globals ({GLOBALS_FILE}) are in the backup but were not \
             applied: existing roles would clash; apply what you need with psql",
            request.source.name
        ));
    }
    Ok(Box::new(StagedSource::new(
        staged,
        request.source.keeps_replaced(),
        warnings,
    )))
}

/// Which database goes where; refuses existing named targets before anything is created.
fn plan(pg: &Pg, request: &StageRequest) -> Result<Vec<Plan>> {
    let dumps = dumps_in(request.dir)?;
    let single = |what: &str| -> Result<()> {
        if dumps.len() > 1 {
            return Err(Error::Refused(format!(
                "source `{}` holds {} databases: {what} names one; restore them beside the \
                 originals instead (several sources with a folder --target), or one by one",
                request.source.name,
                dumps.len()
            )));
        }
        Ok(())
    };
    let mut plans = Vec::new();
    for (database, dump) in dumps.iter().cloned() {
        let (target, name) = match request.target {
            DatabaseTarget::Original => (pg.clone(), database.clone()),
            DatabaseTarget::NewDefault => (
                pg.clone(),
                default_restored_name(&database, request.started),
            ),
            DatabaseTarget::Named(text) if text.contains("://") => {
                let server = pg.server.parse_target(text)?;
                let name = match server.database() {
                    Some(name) => {
                        single("a target URL with a database")?;
                        name
                    }
                    None => database.clone(),
                };
                let target = Pg { server };
                (target, name)
            }
            DatabaseTarget::Named(name) => {
                single("--target")?;
                (pg.clone(), name.clone())
            }
            // Staged beside the original under a staging name, and never switched in.
            DatabaseTarget::Scratch => {
                plans.push(Plan {
                    database: database.clone(),
                    dump,
                    target: pg.clone(),
                    name: database,
                    replace: false,
                });
                continue;
            }
        };
        let exists = target.exists(&name)?;
        let original = *request.target == DatabaseTarget::Original;
        if exists && !original {
            return Err(Error::Refused(format!(
                "database {name} already exists on {}: choose another --target, or restore over \
                 the original without --target",
                target.server.redacted()
            )));
        }
        if original && !exists && !request.selection.is_everything() {
            return Err(Error::Refused(format!(
                "database {name} does not exist on {}: restore the chosen tables into a new \
                 database with --target",
                target.server.redacted()
            )));
        }
        plans.push(Plan {
            database,
            dump,
            target,
            name,
            replace: original && exists,
        });
    }
    Ok(plans)
}

/// The `<db>.pgdump` files of the restored backup, by database name.
fn dumps_in(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut dumps = Vec::new();
    for entry in std::fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
        let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(database) = file.strip_suffix(DUMP_SUFFIX) {
            dumps.push((database.to_string(), entry.path()));
        }
    }
    dumps.sort();
    if dumps.is_empty() {
        return Err(Error::Archive(format!(
            "the backup holds no {DUMP_SUFFIX} dump for this source"
        )));
    }
    Ok(dumps)
}

/// Creates the staging database, loads the dump (or the chosen part), validates it and gives
/// it the database's own settings and grants; on failure the staging database is dropped
/// and the target is as it was.
fn load(plan: &Plan, request: &StageRequest, warnings: &mut Vec<String>) -> Result<Staged> {
    let toc = Toc::read(&plan.dump)?;
    let selected = if request.selection.is_everything() {
        None
    } else {
        let chosen = toc.select(request.selection, &plan.dump)?;
        if plan.replace && chosen.table_names(&toc).is_empty() {
            return Err(Error::Refused(format!(
                "the chosen part of database {} holds no table contents to restore over the \
                 original: restore it into a new database with --target",
                plan.database
            )));
        }
        Some(chosen)
    };
    let staging = names::staging(&plan.name, request.tag);
    let owner = if plan.replace {
        plan.target.owner(&plan.name)?
    } else {
        None
    };
    let definition = properties::read(&plan.dump, &plan.database, &staging, request.dir)?;
    warnings.extend(definition.notes.iter().cloned());
    let creation = definition.creation.as_ref();
    plan.target
        .create(&staging, owner.as_deref(), creation)
        .map_err(|e| match creation {
            Some(creation) => Error::Source(format!(
                "database {} cannot be created as the backed-up one was ({}) on {}, so \
                 nothing was restored and nothing live was changed: {e}",
                plan.name,
                creation.describe(),
                plan.target.server.redacted()
            )),
            None => e,
        })?;
    crate::faults::point("postgres.stage.created");
    let loaded = (|| {
        let list = match &selected {
            Some(chosen) => {
                let path = request.dir.join(format!("{}.list", plan.database));
                std::fs::write(&path, chosen.list(&toc))
                    .ctx(|| format!("writing {}", path.display()))?;
                Some(path)
            }
            None => None,
        };
        restore(plan, &staging, list.as_deref(), request)?;
        let expected = match &selected {
            Some(chosen) => chosen.tables(&toc),
            None => toc.tables(),
        };
        validate(&plan.target, &staging, &expected)
    })();
    if let Err(e) = loaded {
        let _ = plan.target.drop_database(&staging);
        return Err(Error::Source(format!(
            "restoring database {} into staging failed, nothing live was changed: {e}",
            plan.database
        )));
    }
    let contents_only = plan.replace && selected.is_some();
    if !contents_only {
        // The data is complete and checked: settings that cannot be applied here (a role
        // missing on another server, no right to set them) are worth a warning, not the
        // restore.
        let applied = properties::apply(&plan.target, &definition, &plan.database, request.dir);
        if let Err(e) = applied {
            warnings.push(format!(
                "database {}: its settings, grants and comment from the backup were not \
                 applied to the restored database (its data is complete): {e}",
                plan.name
            ));
        }
    }
    let step = match (plan.replace, selected) {
        (true, Some(chosen)) => Step::Contents {
            dump: plan.dump.clone(),
            list: request.dir.join(format!("{}.data.list", plan.database)),
            lines: chosen.data_list(&toc),
            tables: chosen.table_names(&toc),
            held: None,
        },
        (true, None) => Step::Replace {
            previous: names::previous(&plan.name, request.started),
        },
        (false, _) => Step::Create,
    };
    Ok(Staged {
        pg: plan.target.clone(),
        name: plan.name.clone(),
        staging,
        step,
    })
}

/// `pg_restore -j N` into the staging database (N: this machine's cores), progress measured
/// by the staging database's size against the original's when it was dumped (or, in backups
/// made before that was recorded, the dump's size: they were uncompressed).
///
/// `pg_restore` and its workers end with Coffer (`run_watched_group`). Their sessions are
/// asked to notice a vanished client within a second even while busy (an index build,
/// which reads nothing from the client): `client_connection_check_interval`, PostgreSQL 14+.
fn restore(plan: &Plan, staging: &str, list: Option<&Path>, request: &StageRequest) -> Result<()> {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut command = plan.target.command("pg_restore", staging);
    if plan.target.server_major(MAINTENANCE_DB)? >= CHECKS_CONNECTION_FROM {
        command.env("PGOPTIONS", "-c client_connection_check_interval=1000");
    }
    command.arg(format!("--jobs={jobs}")).args([
        "--exit-on-error",
        "--no-password",
        "--dbname",
        staging,
    ]);
    if let Some(list) = list {
        command.arg("--use-list").arg(list);
    }
    command.arg(&plan.dump);
    let estimate = recorded_size(request.dir, &plan.database)
        .unwrap_or_else(|| std::fs::metadata(&plan.dump).map_or(0, |m| m.len()));
    let run = ToolRun {
        tool: "pg_restore",
        phase: format!("restoring {}", plan.database),
        estimate,
        progress: request.progress,
    };
    // Asking the server every 200 ms would cost more than it tells: every 2 s is enough.
    let last = Cell::new((Instant::now(), 0u64));
    run_watched_group(&run, command, || {
        let (at, size) = last.get();
        if at.elapsed() < Duration::from_secs(2) {
            return size;
        }
        let size = plan.target.size(staging).unwrap_or(size);
        last.set((Instant::now(), size));
        size
    })
}

/// `<db>.size` beside the dump: the database's size when it was dumped.
fn recorded_size(dir: &Path, database: &str) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join(format!("{database}{SIZE_SUFFIX}"))).ok()?;
    text.trim().parse().ok()
}

/// Every table the dump (or the chosen part) defines is in the staging database.
fn validate(pg: &Pg, staging: &str, expected: &[String]) -> Result<()> {
    let present = pg.tables(staging)?;
    let missing: Vec<&String> = expected.iter().filter(|t| !present.contains(t)).collect();
    if !missing.is_empty() {
        return Err(Error::Source(format!(
            "pg_restore finished but {} table(s) of the dump are missing: {}",
            missing.len(),
            toc::shorten(&missing)
        )));
    }
    Ok(())
}
