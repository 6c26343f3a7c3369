//! What a restore's target holds now (`sources/target_now.rs`): the database each dump of
//! the backup would land in, chosen as `stage.rs` chooses it, and its row counts.

use super::admin::Client;
use super::facts;
use crate::error::Result;
use crate::sources::database::{default_restored_name, DatabaseTarget};
use crate::sources::target_now::{selected, NowRequest, TargetNow};

pub fn now(request: &NowRequest) -> Result<Vec<TargetNow>> {
    let (server, named) = match request.target {
        DatabaseTarget::Named(text) if text.contains("://") => {
            let server = request.server.parse_target(text)?;
            let name = server.database();
            (server, name)
        }
        DatabaseTarget::Named(name) => (request.server.clone(), Some(name.clone())),
        _ => (request.server.clone(), None),
    };
    let (client, _) = Client::connect(&server)?;
    let mut found = Vec::new();
    for db in request.databases {
        let name = match (request.target, &named) {
            (DatabaseTarget::NewDefault, _) => default_restored_name(db, request.started),
            (DatabaseTarget::Named(_), Some(name)) => name.clone(),
            _ => db.clone(),
        };
        let place = server.with_database(&name).redacted();
        let mut now = TargetNow::new_database(db, place);
        if client.database_exists(&name)? {
            now.exists = true;
            now.tables = facts::read(&client, &name)?
                .tables
                .into_iter()
                .filter(|(table, _)| selected(request.selection, table))
                .collect();
            if *request.target != DatabaseTarget::Original {
                now.note = Some(format!(
                    "database `{name}` exists already: the restore refuses to replace it (only \
                     a restore to the original place replaces a database)"
                ));
            }
        }
        found.push(now);
    }
    Ok(found)
}
