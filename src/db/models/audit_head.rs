//! The audit chain's head (table `audit_chain_head`, one row): the newest position and hash,
//! where the chain starts, and when the head was last published and the chain last checked.
//!
//! The lock: every append first runs `UPDATE audit_chain_head SET seq = seq + 1 … RETURNING`,
//! inside the append's transaction. On SQLite that takes the database's write lock (the
//! append runs in `BEGIN IMMEDIATE`); on PostgreSQL it locks the row until commit, and a
//! waiting writer's UPDATE then reads the committed head. So two writers — threads or
//! processes on one database — never get the same position or the same previous hash.
//! On PostgreSQL the row stays locked until the caller's transaction commits, so a
//! transaction writes its audit entry after its other changes: one that held the head and
//! then waited for a row another transaction holds while waiting for the head would
//! deadlock.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_chain_head::{self, dsl};
use crate::db::schema::backup_logs;
use crate::db::{write_transaction, DbConnection, DbError};
use crate::domain::audit_chain::ChainStart;

const ROW: i32 = 1;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_chain_head)]
pub struct AuditHead {
    #[serde(skip)]
    pub id: i32,
    /// Position of the newest entry (0: none yet).
    pub seq: i64,
    /// Hash of the newest entry (the genesis hash when none).
    pub hash: String,
    pub start_seq: i64,
    pub start_hash: String,
    /// The entries written before the chain existed were chained (once, after migrating).
    pub legacy_sealed: bool,
    pub published_seq: Option<i64>,
    pub published_at: Option<NaiveDateTime>,
    pub checked_at: Option<NaiveDateTime>,
}

impl AuditHead {
    pub fn get(conn: &mut DbConnection) -> Result<AuditHead, DbError> {
        Ok(audit_chain_head::table
            .find(ROW)
            .select(AuditHead::as_select())
            .first(conn)?)
    }

    pub fn start(&self) -> ChainStart {
        ChainStart {
            seq: self.start_seq,
            hash: self.start_hash.clone(),
        }
    }

    /// Takes the next position: returns it and the hash of the entry before it. Locks the
    /// head until the caller's transaction ends (module note); the caller must then
    /// [`AuditHead::set_hash`] in the same transaction.
    pub(crate) fn advance(conn: &mut DbConnection) -> Result<(i64, String), DbError> {
        Ok(diesel::update(audit_chain_head::table.find(ROW))
            .set(dsl::seq.eq(dsl::seq + 1))
            .returning((dsl::seq, dsl::hash))
            .get_result(conn)?)
    }

    pub(crate) fn set_hash(conn: &mut DbConnection, hash: &str) -> Result<(), DbError> {
        diesel::update(audit_chain_head::table.find(ROW))
            .set(dsl::hash.eq(hash))
            .execute(conn)?;
        Ok(())
    }

    /// Retention removed the entries up to `start`: the chain now begins after it.
    pub(crate) fn set_start(conn: &mut DbConnection, start: &ChainStart) -> Result<(), DbError> {
        diesel::update(audit_chain_head::table.find(ROW))
            .set((
                dsl::start_seq.eq(start.seq),
                dsl::start_hash.eq(&start.hash),
            ))
            .execute(conn)?;
        Ok(())
    }

    pub fn mark_published(
        conn: &mut DbConnection,
        seq: i64,
        at: NaiveDateTime,
    ) -> Result<(), DbError> {
        diesel::update(audit_chain_head::table.find(ROW))
            .set((dsl::published_seq.eq(seq), dsl::published_at.eq(at)))
            .execute(conn)?;
        Ok(())
    }

    pub fn mark_checked(conn: &mut DbConnection, at: NaiveDateTime) -> Result<(), DbError> {
        diesel::update(audit_chain_head::table.find(ROW))
            .set(dsl::checked_at.eq(at))
            .execute(conn)?;
        Ok(())
    }

    /// Chains the entries written before the chain existed, in id order, once: run after
    /// the migrations. Afterwards an unchained entry is a forgery, never chained (else an
    /// entry slipped into the table would be laundered at the next start).
    pub fn seal_legacy(conn: &mut DbConnection) -> Result<usize, DbError> {
        write_transaction(conn, |conn| {
            // A no-op update, to read the flag under the head's lock: two processes
            // starting together must not both chain the same entries.
            let sealed: bool = diesel::update(audit_chain_head::table.find(ROW))
                .set(dsl::legacy_sealed.eq(dsl::legacy_sealed))
                .returning(dsl::legacy_sealed)
                .get_result(conn)?;
            if sealed {
                return Ok(0);
            }
            let ids: Vec<i64> = backup_logs::table
                .filter(backup_logs::seq.is_null())
                .order(backup_logs::id.asc())
                .select(backup_logs::id)
                .load(conn)?;
            for id in &ids {
                crate::db::LogEntry::chain_existing(conn, *id)?;
            }
            diesel::update(audit_chain_head::table.find(ROW))
                .set(dsl::legacy_sealed.eq(true))
                .execute(conn)?;
            Ok(ids.len())
        })
    }
}
