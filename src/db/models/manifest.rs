//! The manifest of a backup (table `backup_manifests`), kept apart from `backup_records` so
//! that list queries stay light. Deleted with its backup (ON DELETE CASCADE).

use diesel::prelude::*;

use crate::db::schema::backup_manifests::{self, dsl};
use crate::db::{write_transaction, DbConnection, DbError};

/// A stored manifest: the JSON document also written as `coffer/manifest.json` in the archive.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = backup_manifests, primary_key(backup_id))]
pub struct Manifest {
    pub backup_id: String,
    pub manifest: String,
}

impl Manifest {
    /// Stores (or replaces) the manifest of `backup_id`. The backup record must exist.
    pub fn store(conn: &mut DbConnection, backup_id: &str, json: &str) -> Result<(), DbError> {
        // Update-then-insert rather than ON CONFLICT, which MultiConnection cannot express.
        write_transaction(conn, |conn| {
            let replaced = diesel::update(backup_manifests::table.find(backup_id))
                .set(dsl::manifest.eq(json))
                .execute(conn)?;
            if replaced == 0 {
                diesel::insert_into(backup_manifests::table)
                    .values((dsl::backup_id.eq(backup_id), dsl::manifest.eq(json)))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    /// The manifest JSON of `backup_id`, if one was stored.
    pub fn load(conn: &mut DbConnection, backup_id: &str) -> Result<Option<String>, DbError> {
        Ok(backup_manifests::table
            .find(backup_id)
            .select(dsl::manifest)
            .first(conn)
            .optional()?)
    }
}
