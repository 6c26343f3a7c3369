//! Switching a staged database in over the original, MySQL having no `RENAME DATABASE`:
//! one `RENAME TABLE` statement (atomic) moves the original's tables into
//! `<db>_coffer_previous_<time>` and the staged tables into `<db>`. Triggers cannot move
//! with their table to another database, and views, routines and events stay where they
//! are, so those are dropped and created again from their definitions (the staged ones in
//! `<db>`, copies of the original's in the previous database, events disabled there).
//! With a selection only the chosen tables (and their triggers) are swapped.
//!
//! MySQL's DDL is not transactional, so the switch cannot be one transaction. What can be,
//! is done before anything live changes (reading every definition, creating the previous
//! database, taking the staged tables' triggers off in staging); the statements that change
//! `<db>` then run back to back in one client session (`tool/session.rs`), so the window in
//! which `<db>` is neither the old nor the new database lasts milliseconds. A Coffer killed
//! inside it leaves, at each kill point (the `mysql.switch.*` names):
//!
//! | after                | `<db>`                                                   | previous               |
//! |----------------------|----------------------------------------------------------|------------------------|
//! | `prepared`           | the original, whole                                      | empty                  |
//! | `triggers_dropped`   | original tables without their triggers; its views, …     | empty                  |
//! | `renamed`            | restored tables, no triggers; the original's views, routines, events (views now read the restored tables) | original tables, no triggers |
//! | `defaults`           | as `renamed`, with the backup's character set/collation  | as above               |
//! | `old_dropped`        | restored tables only                                     | as above               |
//! | `installed`          | restored tables, triggers, routines, events; no views    | as above               |
//! | `views`              | the restored database, whole                             | as above               |
//!
//! The staging database holds the staged views, routines and events throughout (not their
//! triggers, from `prepared`), and its tables until `renamed`. So recovery can tell the two
//! halves apart by where the original's tables are (in `<db>`: roll back by creating the
//! original's missing triggers; in previous: complete, or roll back as `rollback` does);
//! for that it needs, stored before the first live statement: the three names, the selection,
//! the original's and the staged tables, every definition of both sides (`Object`: kind, name,
//! `SHOW CREATE` text, sql_mode, time zone — the staged triggers exist nowhere else once
//! dropped) and both character sets. Dropping all definitions in `<db>` and creating one
//! side's is idempotent, so neither direction needs to know the exact step.
//!
//! Any failure part-way puts the original back (`rollback`), which reads where the tables
//! are now rather than trusting how far the switch got.
//!
//! A restore into a database that does not exist yet (`Swap::fresh`) is the same switch with
//! no original: the database is created (with the backup's defaults) when the switch begins
//! and the staged tables and definitions move in; undoing it drops that database, which
//! holds nothing but the restore's own tables.

use super::admin::{ident, literal, Client};
use super::charset::{create_database, Charset};
use super::objects::{self, Kind, Object};
use crate::error::{Error, Result};
use crate::faults;

pub struct Swap {
    /// The original database, replaced in place.
    pub db: String,
    /// Holds the loaded dump until the switch; dropped afterwards.
    pub staging: String,
    /// Receives the original's tables during the switch.
    pub previous: String,
    /// The chosen tables; `None` swaps the whole database.
    pub selection: Option<Vec<String>>,
    /// The defaults the backup recorded, given to the database when it is switched.
    charset: Option<Charset>,
    /// The original's defaults, put back by a rollback.
    original_charset: Option<Charset>,
    original: Vec<Object>,
    original_tables: Vec<String>,
    staged_tables: Vec<String>,
    previous_created: bool,
    /// There is no original: the switch creates `db` (see the module note).
    fresh: bool,
    /// `db` was created by this switch (of a fresh swap): undoing it drops it.
    created: bool,
    /// The original has been changed: a failure must put it back.
    changed: bool,
    pub notes: Vec<String>,
}

impl Swap {
    pub fn new(
        db: String,
        staging: String,
        previous: String,
        selection: Option<Vec<String>>,
        charset: Option<Charset>,
    ) -> Self {
        Swap {
            db,
            staging,
            previous,
            selection,
            charset,
            original_charset: None,
            original: Vec::new(),
            original_tables: Vec::new(),
            staged_tables: Vec::new(),
            previous_created: false,
            fresh: false,
            created: false,
            changed: false,
            notes: Vec::new(),
        }
    }

    /// A swap into `db`, which does not exist yet: the switch creates it with `charset`.
    pub fn fresh(db: String, staging: String, charset: Option<Charset>) -> Self {
        Swap {
            fresh: true,
            ..Swap::new(db, staging, String::new(), None, charset)
        }
    }

    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// A swap of a dead process, as its journal recorded it just before the switch (see
    /// `recover.rs`): assumed changed, so `rollback` looks where the tables are.
    pub fn recovered(record: super::recover::SwapRecord) -> Self {
        Swap {
            original: record.original,
            original_tables: record.original_tables,
            staged_tables: record.staged_tables,
            original_charset: record.original_charset,
            previous_created: !record.fresh,
            fresh: record.fresh,
            // Recovery checked that `db` holds nothing but the restore's tables.
            created: record.fresh,
            changed: true,
            ..Swap::new(
                record.db,
                record.staging,
                record.previous,
                record.selection,
                None,
            )
        }
    }

    fn in_scope(&self, tables: Vec<String>) -> Vec<String> {
        match &self.selection {
            Some(chosen) => tables.into_iter().filter(|t| chosen.contains(t)).collect(),
            None => tables,
        }
    }

    /// Refuses a swap that foreign keys would tie to the wrong tables: a swapped table
    /// referenced from a table that stays (it would follow the rename into the previous
    /// database), or a staged table referencing one that is not swapped in.
    pub fn check_foreign_keys(&self, client: &Client) -> Result<()> {
        let swapped = self.in_scope(client.tables(&self.db)?);
        let staged = self.in_scope(client.tables(&self.staging)?);
        let rows = client.run(&format!(
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME \
             FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE UNIQUE_CONSTRAINT_SCHEMA IN ({}, {})",
            literal(&self.db),
            literal(&self.staging)
        ))?;
        for row in rows {
            let [Some(schema), Some(table), Some(ref_schema), Some(referenced)] =
                <[Option<String>; 4]>::try_from(row).unwrap_or_default()
            else {
                continue;
            };
            let problem = if ref_schema == self.db && swapped.contains(&referenced) {
                let stays = schema != self.db || !swapped.contains(&table);
                stays.then(|| {
                    format!("`{schema}`.`{table}` references `{referenced}` with a foreign key")
                })
            } else if ref_schema == self.staging
                && schema == self.staging
                && staged.contains(&table)
                && !staged.contains(&referenced)
            {
                Some(format!(
                    "`{table}` references `{referenced}` with a foreign key"
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(Error::Refused(format!(
                    "cannot replace tables of `{}` on their own: {problem}; restore the tables \
                     tied by foreign keys together (--table), or the whole database",
                    self.db
                )));
            }
        }
        Ok(())
    }

    /// Switches the staged tables in; on failure the original is put back first.
    pub fn switch(&mut self, client: &Client) -> Result<()> {
        let switched = self.try_switch(client);
        let Err(error) = switched else {
            return Ok(());
        };
        match self.rollback(client) {
            Ok(()) => Err(error),
            Err(again) => Err(Error::Source(format!(
                "{error}; putting `{}` back also failed: {again} (its tables may be in `{}`)",
                self.db, self.previous
            ))),
        }
    }

    fn try_switch(&mut self, client: &Client) -> Result<()> {
        // Everything that changes nothing live comes first: what is where, the database for
        // the replaced tables, and the staged tables' triggers taken off (in staging: a table
        // with triggers cannot move to another database; they are created again in `<db>`).
        let scope = self.selection.clone();
        let scope = scope.as_deref();
        self.original = objects::read(client, &self.db, scope)?;
        let staged = objects::read(client, &self.staging, scope)?;
        self.original_tables = self.in_scope(client.tables(&self.db)?);
        self.staged_tables = self.in_scope(client.tables(&self.staging)?);
        self.original_charset = Charset::of(client, &self.db)?;
        if self.fresh {
            create_database(client, &self.db, self.charset.as_ref()).map_err(|e| {
                Error::Refused(format!(
                    "could not create `{}` for the restore (did another client create it while \
                     the dump loaded?): {e}",
                    self.db
                ))
            })?;
            self.created = true;
        } else {
            create_database(client, &self.previous, self.original_charset.as_ref())?;
            self.previous_created = true;
        }
        let staged_triggers = objects::drop_sql(&self.staging, &triggers(&staged));
        if !staged_triggers.is_empty() {
            client.run(&staged_triggers)?;
        }
        faults::point("mysql.switch.prepared");

        // The live part: one session, each statement sent as soon as the last has run.
        self.changed = true;
        let mut session = client.session()?;
        for (point, sql) in self.live_steps(&staged) {
            if !sql.is_empty() {
                session.run(&sql).map_err(|e| client.failed(e))?;
            }
            faults::point(point);
        }
        session.close();
        objects::install_views(client, &self.db, &staged)?;
        faults::point("mysql.switch.views");
        // The kept copy is for looking back: a failure here is only worth a warning.
        if self.fresh {
            return Ok(());
        }
        let kept = self.original_charset.as_ref();
        if let Err(e) = objects::install(client, &self.previous, &self.original, true, kept) {
            self.notes.push(format!(
                "`{}` holds the replaced tables, but not all of their triggers, views, routines \
                 or events: {e}",
                self.previous
            ));
        }
        Ok(())
    }

    /// The statements that change `<db>`, in order, each with the kill point after it (an
    /// empty statement: nothing to do at that step). What each kill point leaves is listed
    /// in the module note.
    fn live_steps(&self, staged: &[Object]) -> Vec<(&'static str, String)> {
        let moves: Vec<String> = self
            .original_tables
            .iter()
            .map(|t| move_table(&self.db, &self.previous, t))
            .chain(
                self.staged_tables
                    .iter()
                    .map(|t| move_table(&self.staging, &self.db, t)),
            )
            .collect();
        let rename = if moves.is_empty() {
            String::new()
        } else {
            format!("RENAME TABLE {};", moves.join(", "))
        };
        let defaults = match &self.charset {
            // A fresh database was created with them.
            Some(charset) if !self.fresh && Some(charset) != self.original_charset.as_ref() => {
                format!("ALTER DATABASE {}{};", ident(&self.db), charset.clause())
            }
            _ => String::new(),
        };
        let others: Vec<Object> = if self.selection.is_none() {
            self.original
                .iter()
                .filter(|o| o.kind != Kind::Trigger)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        vec![
            (
                "mysql.switch.triggers_dropped",
                objects::drop_sql(&self.db, &triggers(&self.original)),
            ),
            ("mysql.switch.renamed", rename),
            ("mysql.switch.defaults", defaults),
            (
                "mysql.switch.old_dropped",
                objects::drop_sql(&self.db, &others),
            ),
            (
                "mysql.switch.installed",
                objects::install_script(&self.db, staged, false, self.final_defaults())
                    .unwrap_or_default(),
            ),
        ]
    }

    /// `db`'s defaults once switched: the backup's (given by the switch, or to a fresh
    /// database when it is created), else the original's, which it keeps.
    fn final_defaults(&self) -> Option<&Charset> {
        self.charset.as_ref().or(self.original_charset.as_ref())
    }

    /// Puts the original back: its tables (wherever the switch left them) and definitions.
    pub fn rollback(&mut self, client: &Client) -> Result<()> {
        if self.fresh {
            // Every table and definition in `db` is the restore's own.
            if self.created {
                client.drop_database(&self.db)?;
                self.created = false;
            }
            self.changed = false;
            return Ok(());
        }
        if self.changed {
            let scope = self.selection.clone();
            objects::drop_all(client, &self.db, scope.as_deref())?;
            let aside = client.tables(&self.previous)?;
            let returning: Vec<&String> = self
                .original_tables
                .iter()
                .filter(|t| aside.contains(t))
                .collect();
            if !returning.is_empty() {
                // The copies made in the previous database would stop its tables moving.
                objects::drop_all(client, &self.previous, None)?;
                let in_place = client.tables(&self.db)?;
                let moves: Vec<String> = self
                    .staged_tables
                    .iter()
                    .filter(|t| in_place.contains(t))
                    .map(|t| move_table(&self.db, &self.staging, t))
                    .chain(
                        returning
                            .iter()
                            .map(|t| move_table(&self.previous, &self.db, t)),
                    )
                    .collect();
                client.run(&format!("RENAME TABLE {}", moves.join(", ")))?;
            }
            if let Some(charset) = &self.original_charset {
                charset.apply_to(client, &self.db)?;
            }
            let defaults = self.original_charset.as_ref();
            objects::install(client, &self.db, &self.original, false, defaults)?;
            self.changed = false;
        }
        self.drop_previous_if_empty(client)
    }

    fn drop_previous_if_empty(&mut self, client: &Client) -> Result<()> {
        if self.previous_created && client.tables(&self.previous)?.is_empty() {
            client.drop_database(&self.previous)?;
            self.previous_created = false;
        }
        Ok(())
    }

    /// After every switch succeeded: the staging database goes, the previous one too
    /// unless it is to be kept.
    pub fn finish(mut self, client: &Client, keep_replaced: bool) -> Vec<String> {
        let mut warnings = std::mem::take(&mut self.notes);
        if let Err(e) = client.drop_database(&self.staging) {
            warnings.push(format!("could not drop `{}`: {e}", self.staging));
        }
        if self.fresh {
            // Nothing was replaced.
        } else if keep_replaced {
            warnings.push(format!(
                "the replaced tables of `{}` are kept in `{}` (keep_replaced)",
                self.db, self.previous
            ));
        } else if let Err(e) = client.drop_database(&self.previous) {
            warnings.push(format!(
                "could not drop `{}`, which holds the replaced tables: {e}",
                self.previous
            ));
        }
        warnings
    }

    /// The restore failed: the staging database goes (the previous one only if empty).
    pub fn discard(mut self, client: &Client) {
        let _ = client.drop_database(&self.staging);
        let _ = self.drop_previous_if_empty(client);
    }
}

fn triggers(list: &[Object]) -> Vec<Object> {
    list.iter()
        .filter(|o| o.kind == Kind::Trigger)
        .cloned()
        .collect()
}

fn move_table(from: &str, to: &str, table: &str) -> String {
    format!(
        "{}.{} TO {}.{}",
        ident(from),
        ident(table),
        ident(to),
        ident(table)
    )
}
