//! What a restore's target holds now (`sources/target_now.rs`): the database each dump of
//! the backup would land in, chosen as `stage.rs` chooses it, and its row counts.

use super::facts;
use super::sql::Pg;
use crate::error::Result;
use crate::sources::database::{default_restored_name, DatabaseTarget};
use crate::sources::target_now::{selected, NowRequest, TargetNow};

pub fn now(pg: &Pg, request: &NowRequest) -> Result<Vec<TargetNow>> {
    let mut found = Vec::new();
    for database in request.databases {
        let (target, name) = match request.target {
            DatabaseTarget::Original | DatabaseTarget::Scratch => (pg.clone(), database.clone()),
            DatabaseTarget::NewDefault => {
                (pg.clone(), default_restored_name(database, request.started))
            }
            DatabaseTarget::Named(text) if text.contains("://") => {
                let server = pg.server.parse_target(text)?;
                let name = server.database().unwrap_or_else(|| database.clone());
                (Pg { server }, name)
            }
            DatabaseTarget::Named(name) => (pg.clone(), name.clone()),
        };
        let place = target.server.with_database(&name).redacted();
        if !target.exists(&name)? {
            found.push(TargetNow::new_database(database, place));
            continue;
        }
        let mut now = TargetNow::new_database(database, place);
        now.exists = true;
        now.tables = facts::read(&target, &name)?
            .tables
            .into_iter()
            .filter(|(table, _)| selected(request.selection, table))
            .collect();
        if *request.target != DatabaseTarget::Original {
            now.note = Some(format!(
                "database {name} exists already: the restore refuses to replace it (only a \
                 restore to the original place replaces a database)"
            ));
        }
        found.push(now);
    }
    Ok(found)
}
