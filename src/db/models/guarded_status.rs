//! The one way a life-cycle status changes, for backup records and tasks alike: the change
//! is checked against `Status::can_become` and made by an UPDATE whose WHERE names the
//! status just read, so a writer that lost a race gets [`DbError::IllegalTransition`]
//! (naming the status it lost to) instead of reopening a finished row.

use crate::db::{DbConnection, DbError};
use crate::domain::Status;

/// A row with a guarded status.
pub(super) trait StatusRow: Sized {
    /// What the row is, for messages (`backup`, `task`).
    const WHAT: &'static str;
    /// The columns a status change writes besides the status itself.
    type Change;

    fn find(conn: &mut DbConnection, id: &str) -> Result<Self, DbError>;
    fn status(&self) -> Status;
    /// The status as stored (compared as text, so an unreadable value never matches).
    fn stored_status(&self) -> &str;
    /// `UPDATE … SET status = to, change WHERE id = id AND status = from`, returning the row,
    /// or `None` when no row had that status any more.
    fn update_where_status(
        conn: &mut DbConnection,
        id: &str,
        from: &str,
        to: Status,
        change: Self::Change,
    ) -> Result<Option<Self>, DbError>;
}

/// Moves row `id` to `to`, writing `change` with it.
pub(super) fn change_status<R: StatusRow>(
    conn: &mut DbConnection,
    id: &str,
    to: Status,
    change: R::Change,
) -> Result<R, DbError> {
    let current = R::find(conn, id)?;
    let from = current.status();
    if !from.can_become(to) {
        return Err(illegal::<R>(id, from, to));
    }
    match R::update_where_status(conn, id, current.stored_status(), to, change)? {
        Some(row) => Ok(row),
        // Someone changed the status between our read and our write: report what it is now.
        None => Err(illegal::<R>(id, R::find(conn, id)?.status(), to)),
    }
}

pub(super) fn illegal<R: StatusRow>(id: &str, from: Status, to: Status) -> DbError {
    DbError::IllegalTransition {
        what: R::WHAT,
        id: id.to_string(),
        from,
        to,
    }
}

/// Implements [`StatusRow`] for `$row`, stored in `$table` with the change type `$change`
/// (every guarded table has `id` as its key and `status` as text), and defines
/// `transition(conn, id, to, change)` for that row's status changes.
macro_rules! guarded_status_row {
    ($row:ident, $table:ident, $change:ident) => {
        impl $crate::db::models::guarded_status::StatusRow for $row {
            const WHAT: &'static str = WHAT;
            type Change = $change;

            fn find(
                conn: &mut $crate::db::DbConnection,
                id: &str,
            ) -> Result<Self, $crate::db::DbError> {
                $row::find_by_id(conn, id)
            }

            fn status(&self) -> $crate::domain::Status {
                $row::status(self)
            }

            fn stored_status(&self) -> &str {
                &self.status
            }

            fn update_where_status(
                conn: &mut $crate::db::DbConnection,
                id: &str,
                from: &str,
                to: $crate::domain::Status,
                mut change: $change,
            ) -> Result<Option<Self>, $crate::db::DbError> {
                use diesel::prelude::*;
                use $crate::db::schema::$table;
                change.status = to.as_str().to_string();
                Ok(diesel::update($table::table.find(id))
                    .filter($table::status.eq(from))
                    .set(&change)
                    .returning($table::all_columns)
                    .get_result(conn)
                    .optional()?)
            }
        }

        fn transition(
            conn: &mut $crate::db::DbConnection,
            id: &str,
            to: $crate::domain::Status,
            change: $change,
        ) -> Result<$row, $crate::db::DbError> {
            $crate::db::models::guarded_status::change_status(conn, id, to, change)
        }
    };
}
pub(super) use guarded_status_row;
