//! Putting staged databases in place, and taking them back out.
//!
//! - **Replace** (the original, whole): in one transaction, the sessions on the original
//!   (and the staging database) are ended, the original is renamed
//!   `<db>_coffer_previous_<time>` and the staging database takes its name. Undo is the
//!   reverse, also in one transaction; finish drops the previous one unless `keep_replaced`.
//! - **Create** (a new name): the staging database is renamed to it.
//! - **Contents** (chosen tables over the original): see `held.rs`; the rest of the
//!   original is not touched.
//!
//! Each switch and each undo is one transaction, run by a `psql` session statement by
//! statement (`tool/session.rs`; kill points between them for the tests), so a Coffer killed at
//! any moment leaves the name `<db>` on either the whole original or the whole restored
//! database, and nothing else changed. Connection flags are not used: a rename takes the
//! database's lock, so sessions starting meanwhile wait and then find the name on the new
//! database, and a flag set outside the transaction is what a kill used to leave behind (an
//! original refusing every connection). A session that starts between ending the others and
//! the rename makes the rename wait (5 s) and fail; the whole transaction is then tried again.
//!
//! What a killed restore leaves beside `<db>` (for the restore journal to drop): the
//! staging database `<db>_coffer_staging_<tag>` until the switch commits (always, for a
//! Contents step, until finish), and the original as `<db>_coffer_previous_<time>` from the
//! commit until finish drops it. Both names are cut to 63 bytes (see `names.rs`).

use std::path::PathBuf;
use std::time::Duration;

use super::held::Held;
use super::sql::{ident, literal, Pg, MAINTENANCE_DB};
use crate::engine::manifest::SourceFacts;
use crate::error::{Error, Result};
use crate::faults;
use crate::sources::StagedRestore;

/// How long the switch waits for a database's lock (another session creating a database
/// from it, say) before it gives up.
const LOCK_TIMEOUT: &str = "30s";

pub enum Step {
    Replace {
        previous: String,
    },
    Create,
    Contents {
        dump: PathBuf,
        list: PathBuf,
        lines: String,
        tables: Vec<(String, String)>,
        held: Option<Held>,
    },
}

/// One database of a source, loaded into `staging` on its target server.
pub struct Staged {
    pub pg: Pg,
    pub name: String,
    pub staging: String,
    pub step: Step,
}

/// Every database of one source; they switch together or not at all.
pub struct StagedSource {
    items: Vec<Staged>,
    switched: usize,
    keep_replaced: bool,
    warnings: Vec<String>,
}

impl StagedSource {
    pub fn new(items: Vec<Staged>, keep_replaced: bool, warnings: Vec<String>) -> Self {
        StagedSource {
            items,
            switched: 0,
            keep_replaced,
            warnings,
        }
    }

    fn undo_switched(&mut self) -> Result<()> {
        let mut first_error = None;
        while self.switched > 0 {
            self.switched -= 1;
            if let Err(e) = self.items[self.switched].undo() {
                tracing::error!(
                    "undoing the switch of {}: {e}",
                    self.items[self.switched].name
                );
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl StagedRestore for StagedSource {
    /// Each database's facts, read from its staging copy under its own name.
    fn facts(&self) -> Result<SourceFacts> {
        let mut facts = SourceFacts::default();
        for item in &self.items {
            let found = super::facts::read(&item.pg, &item.staging)?;
            facts.databases.insert(item.name.clone(), found);
        }
        Ok(facts)
    }

    fn destination(&self) -> String {
        self.items
            .iter()
            .map(|s| s.pg.server.with_database(&s.name).redacted())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn recovery_record(&mut self) -> Result<serde_json::Value> {
        use super::recover::{ItemRecord, Record, StepRecord};
        let items = self
            .items
            .iter()
            .map(|item| ItemRecord {
                name: item.name.clone(),
                staging: item.staging.clone(),
                step: match &item.step {
                    Step::Replace { previous } => StepRecord::Replace {
                        previous: previous.clone(),
                    },
                    Step::Create => StepRecord::Create,
                    Step::Contents {
                        dump, list, tables, ..
                    } => StepRecord::Contents {
                        dump: dump.clone(),
                        list: list.clone(),
                        tables: tables.clone(),
                    },
                },
            })
            .collect();
        let server = self
            .items
            .first()
            .map(|item| item.pg.server.redacted())
            .unwrap_or_default();
        serde_json::to_value(Record {
            server,
            keep_replaced: self.keep_replaced,
            items,
        })
        .map_err(|e| Error::Archive(format!("recording the switch: {e}")))
    }

    fn switch(&mut self) -> Result<()> {
        while self.switched < self.items.len() {
            if let Err(e) = self.items[self.switched].switch() {
                // The caller undoes only sources that switched as a whole: put back ours.
                let _ = self.undo_switched();
                return Err(e);
            }
            self.switched += 1;
        }
        Ok(())
    }

    fn undo(&mut self) -> Result<()> {
        self.undo_switched()
    }

    fn finish(self: Box<Self>) -> Vec<String> {
        let mut warnings = self.warnings;
        for item in self.items {
            warnings.extend(item.finish(self.keep_replaced));
        }
        warnings
    }

    fn discard(self: Box<Self>) {
        for item in self.items {
            item.discard();
        }
    }
}

impl Staged {
    fn switch(&mut self) -> Result<()> {
        match &mut self.step {
            Step::Replace { previous } => {
                let previous = previous.clone();
                self.swap(
                    "postgres.replace",
                    &[(&self.name, &previous), (&self.staging, &self.name)],
                )
            }
            Step::Create => {
                if self.pg.exists(&self.name)? {
                    return Err(Error::Refused(format!(
                        "database {} was created on {} while the restore ran: nothing replaced",
                        self.name,
                        self.pg.server.redacted()
                    )));
                }
                self.swap("postgres.create", &[(&self.staging, &self.name)])
            }
            Step::Contents {
                dump,
                list,
                lines,
                tables,
                held,
            } => {
                std::fs::write(&*list, lines.as_bytes()).map_err(|e| Error::Io {
                    context: format!("writing {}", list.display()),
                    source: e,
                })?;
                *held = Some(Held::load(&self.pg, &self.name, tables, dump, list)?);
                Ok(())
            }
        }
    }

    fn undo(&mut self) -> Result<()> {
        match &mut self.step {
            Step::Replace { previous } => {
                let previous = previous.clone();
                self.swap(
                    "postgres.undo",
                    &[(&self.name, &self.staging), (&previous, &self.name)],
                )
            }
            Step::Create => self.swap("postgres.undo", &[(&self.name, &self.staging)]),
            Step::Contents { held, .. } => {
                if let Some(held) = held.take() {
                    held.rollback();
                }
                Ok(())
            }
        }
    }

    fn swap(&self, points: &str, renames: &[(&String, &String)]) -> Result<()> {
        renames_in_one_transaction(&self.pg, points, renames).map_err(|e| self.failed(e))
    }

    fn failed(&self, error: Error) -> Error {
        match error {
            Error::Source(message) => Error::Source(format!(
                "PostgreSQL {} (switching database {}): {message}",
                self.pg.server.redacted(),
                self.name
            )),
            other => other,
        }
    }

    fn finish(self, keep_replaced: bool) -> Vec<String> {
        let mut warnings = Vec::new();
        match self.step {
            Step::Replace { previous } if keep_replaced => {
                warnings.push(format!(
                    "the replaced database {} is kept as {previous} (keep_replaced)",
                    self.name
                ));
            }
            Step::Replace { previous } => {
                faults::point("postgres.finish.drop_previous");
                if let Err(e) = self.pg.drop_database(&previous) {
                    warnings.push(format!(
                        "the replaced database {} is left as {previous}: dropping it failed: {e}",
                        self.name
                    ));
                }
            }
            Step::Create => {}
            Step::Contents { held, .. } => {
                if let Some(held) = held {
                    if let Err(e) = held.commit() {
                        warnings.push(format!(
                            "the chosen tables of {} were NOT replaced: committing failed: {e}",
                            self.name
                        ));
                    }
                }
                let _ = self.pg.drop_database(&self.staging);
            }
        }
        warnings
    }

    pub fn discard(self) {
        if let Step::Contents {
            held: Some(held), ..
        } = self.step
        {
            held.rollback();
        }
        if let Err(e) = self.pg.drop_database(&self.staging) {
            tracing::error!("dropping staging database {}: {e}", self.staging);
        }
    }
}

/// The `renames` (in order) in one transaction, after ending every other session on the
/// databases they rename; tried again when a session came back in between. Kill points
/// `<points>.begin`, `.sessions_ended`, `.renamed<N>`, `.committed` are for the tests.
pub(super) fn renames_in_one_transaction(
    pg: &Pg,
    points: &str,
    renames: &[(&String, &String)],
) -> Result<()> {
    faults::point(&format!("{points}.begin"));
    let names: Vec<String> = renames.iter().map(|(from, _)| literal(from)).collect();
    let mut statements = vec![format!(
        "BEGIN;\nSET LOCAL lock_timeout = '{LOCK_TIMEOUT}';\n\
         SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname IN ({}) AND pid <> pg_backend_pid();",
        names.join(", ")
    )];
    statements.extend(renames.iter().map(|(from, to)| rename(from, to)));
    retry(|| {
        let mut session = pg.session(MAINTENANCE_DB)?;
        for (n, statement) in statements.iter().enumerate() {
            session.run(statement)?;
            faults::point(&match n {
                0 => format!("{points}.sessions_ended"),
                n => format!("{points}.renamed{n}"),
            });
        }
        session.run("COMMIT;")?;
        session.close();
        Ok(())
    })?;
    faults::point(&format!("{points}.committed"));
    Ok(())
}

fn rename(from: &str, to: &str) -> String {
    format!("ALTER DATABASE {} RENAME TO {};", ident(from), ident(to))
}

/// A session may connect between ending the others and the rename: try a few times.
fn retry(mut step: impl FnMut() -> Result<()>) -> Result<()> {
    let mut attempt = 0;
    loop {
        match step() {
            Err(e) if attempt < 3 && e.to_string().contains("being accessed by other users") => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
            other => return other,
        }
    }
}
