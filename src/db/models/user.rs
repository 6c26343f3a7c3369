//! A user of the console (table `users`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{new_id, now, parse_or};
use crate::db::schema::users::{self, dsl};
use crate::db::{write_transaction, DbConnection, DbError};
use crate::domain::Role;

const WHAT: &str = "user";

/// One user as stored. The password hash is argon2id (PHC string) and never serialized
/// nor printed (`Debug` leaves it out).
#[derive(Clone, PartialEq, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub username: String,
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("must_change_password", &self.must_change_password)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("last_login_at", &self.last_login_at)
            .finish()
    }
}

impl User {
    /// What the user may do; an unknown stored value reads as `Viewer` (least power).
    pub fn role(&self) -> Role {
        parse_or(WHAT, &self.id, "role", &self.role, Role::Viewer)
    }
}

/// A user about to be recorded, enabled.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewUser {
    pub fn new(username: &str, password_hash: &str, role: Role) -> NewUser {
        let at = now();
        NewUser {
            id: new_id(),
            username: username.to_string(),
            password_hash: password_hash.to_string(),
            role: role.as_str().to_string(),
            disabled: false,
            must_change_password: false,
            created_at: at,
            updated_at: at,
        }
    }

    /// Forces a password change at first sign-in (e.g. for a generated first password).
    pub fn must_change_password(mut self) -> NewUser {
        self.must_change_password = true;
        self
    }
}

/// Edits of a user. `None` leaves a column as it is.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub username: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
    pub must_change_password: Option<bool>,
    pub last_login_at: Option<NaiveDateTime>,
}

impl UserChanges {
    pub fn with_role(mut self, role: Role) -> UserChanges {
        self.role = Some(role.as_str().to_string());
        self
    }

    /// What a successful sign-in writes.
    pub fn logged_in(at: NaiveDateTime) -> UserChanges {
        UserChanges {
            last_login_at: Some(at),
            ..UserChanges::default()
        }
    }
}

impl User {
    /// Inserts the user; a taken name fails with [`DbError::is_unique_violation`].
    pub fn insert(conn: &mut DbConnection, new: &NewUser) -> Result<User, DbError> {
        Ok(diesel::insert_into(users::table)
            .values(new)
            .returning(users::all_columns)
            .get_result(conn)?)
    }

    /// The user `id`, or [`DbError::NotFound`].
    pub fn find_by_id(conn: &mut DbConnection, id: &str) -> Result<User, DbError> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// The user named `username`, if any (an unknown name is a normal sign-in outcome).
    pub fn find_by_username(
        conn: &mut DbConnection,
        username: &str,
    ) -> Result<Option<User>, DbError> {
        Ok(users::table
            .filter(dsl::username.eq(username))
            .select(User::as_select())
            .first(conn)
            .optional()?)
    }

    /// Every user, by name.
    pub fn list(conn: &mut DbConnection) -> Result<Vec<User>, DbError> {
        Ok(users::table
            .order(dsl::username.asc())
            .select(User::as_select())
            .load(conn)?)
    }

    /// Applies `changes` and stamps `updated_at`.
    pub fn update(
        conn: &mut DbConnection,
        id: &str,
        changes: &UserChanges,
    ) -> Result<User, DbError> {
        diesel::update(users::table.find(id))
            .set((changes, dsl::updated_at.eq(now())))
            .returning(users::all_columns)
            .get_result(conn)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// How many users exist (zero means first run: create the first admin).
    pub fn count(conn: &mut DbConnection) -> Result<i64, DbError> {
        Ok(users::table.count().get_result(conn)?)
    }

    /// How many enabled admins exist, so the last one is not disabled or demoted.
    pub fn count_enabled_admins(conn: &mut DbConnection) -> Result<i64, DbError> {
        Ok(users::table
            .filter(dsl::role.eq(Role::Admin.as_str()))
            .filter(dsl::disabled.eq(false))
            .count()
            .get_result(conn)?)
    }

    /// Applies `changes` unless they would leave no enabled admin; `Ok(None)` when refused
    /// (nothing changed). The enabled admins are locked first on PostgreSQL, so two admins
    /// demoting each other at once cannot both succeed (SQLite's write lock does the same).
    pub fn update_keeping_an_admin(
        conn: &mut DbConnection,
        id: &str,
        changes: &UserChanges,
    ) -> Result<Option<User>, DbError> {
        write_transaction(conn, |conn| {
            User::lock_enabled_admins(conn)?;
            let user = User::find_by_id(conn, id)?;
            let is_enabled_admin = user.role() == Role::Admin && !user.disabled;
            let stays_enabled_admin = changes
                .role
                .as_deref()
                .map_or(user.role() == Role::Admin, |r| r == Role::Admin.as_str())
                && !changes.disabled.unwrap_or(user.disabled);
            if is_enabled_admin && !stays_enabled_admin && User::count_enabled_admins(conn)? <= 1 {
                return Ok(None);
            }
            User::update(conn, id, changes).map(Some)
        })
    }

    /// Locks the rows of the enabled admins on PostgreSQL, so that two changes that would
    /// each leave one admin cannot both go through (SQLite's write lock does the same).
    fn lock_enabled_admins(conn: &mut DbConnection) -> Result<(), DbError> {
        if let DbConnection::Pg(pg) = conn {
            users::table
                .filter(dsl::role.eq(Role::Admin.as_str()))
                .filter(dsl::disabled.eq(false))
                .select(dsl::id)
                .for_update()
                .load::<String>(pg)?;
        }
        Ok(())
    }

    /// Deletes user `id` (their sessions and API tokens go with them: `ON DELETE CASCADE`)
    /// unless they are the last enabled admin; `Ok(None)` when refused, else the user as
    /// they were. The enabled admins are locked first, as in [`User::update_keeping_an_admin`].
    pub fn delete_keeping_an_admin(
        conn: &mut DbConnection,
        id: &str,
    ) -> Result<Option<User>, DbError> {
        write_transaction(conn, |conn| {
            User::lock_enabled_admins(conn)?;
            let user = User::find_by_id(conn, id)?;
            let is_enabled_admin = user.role() == Role::Admin && !user.disabled;
            if is_enabled_admin && User::count_enabled_admins(conn)? <= 1 {
                return Ok(None);
            }
            User::delete(conn, id)?;
            Ok(Some(user))
        })
    }

    pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
        match diesel::delete(users::table.find(id)).execute(conn)? {
            0 => Err(not_found(id)),
            _ => Ok(()),
        }
    }
}

fn not_found(id: &str) -> DbError {
    DbError::NotFound {
        what: WHAT,
        id: id.to_string(),
    }
}
