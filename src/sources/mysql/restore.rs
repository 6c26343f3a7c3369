//! A `mysql` restore once staged: the databases it loaded, switched in together and undone
//! together (see `database.rs` for the order the restore job calls these in).

use super::admin::Client;
use super::switch::Swap;
use crate::engine::manifest::SourceFacts;
use crate::error::{Error, Result};
use crate::sources::database::StagedRestore;

pub struct MysqlRestore {
    pub client: Client,
    /// One per database, each loaded into its staging database: swapped in over the
    /// original, or into a database the switch creates (`Swap::fresh`).
    pub parts: Vec<Swap>,
    keep_replaced: bool,
    /// How many parts are switched in (a failure part-way undoes those).
    switched: usize,
}

impl MysqlRestore {
    pub fn new(client: Client, keep_replaced: bool) -> Self {
        MysqlRestore {
            client,
            parts: Vec::new(),
            keep_replaced,
            switched: 0,
        }
    }

    /// Drops everything staged so far (a later database failed to stage).
    pub fn discard_all(&mut self) {
        for swap in self.parts.drain(..) {
            swap.discard(&self.client);
        }
    }

    fn undo_switched(&mut self) -> Result<()> {
        let mut first_error = None;
        while self.switched > 0 {
            self.switched -= 1;
            if let Err(e) = self.parts[self.switched].rollback(&self.client) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl StagedRestore for MysqlRestore {
    /// Each staging database's facts, under the name of the database it was dumped from.
    fn facts(&self) -> Result<SourceFacts> {
        let mut facts = SourceFacts::default();
        for swap in &self.parts {
            let found = super::facts::read(&self.client, &swap.staging)?;
            facts.databases.insert(swap.db.clone(), found);
        }
        Ok(facts)
    }

    fn destination(&self) -> String {
        let names: Vec<&str> = self.parts.iter().map(|swap| swap.db.as_str()).collect();
        self.client
            .server
            .with_database(&names.join(","))
            .redacted()
    }

    fn recovery_record(&mut self) -> Result<serde_json::Value> {
        super::recover::record(self, self.keep_replaced)
    }

    fn switch(&mut self) -> Result<()> {
        while self.switched < self.parts.len() {
            if let Err(e) = self.parts[self.switched].switch(&self.client) {
                // This one put its original back itself; the earlier ones go back too.
                return match self.undo_switched() {
                    Ok(()) => Err(e),
                    Err(again) => Err(Error::Source(format!(
                        "{e}; putting back the databases switched before it failed: {again}"
                    ))),
                };
            }
            self.switched += 1;
        }
        Ok(())
    }

    fn undo(&mut self) -> Result<()> {
        self.undo_switched()
    }

    fn finish(self: Box<Self>) -> Vec<String> {
        let MysqlRestore {
            client,
            parts,
            keep_replaced,
            ..
        } = *self;
        parts
            .into_iter()
            .flat_map(|swap| swap.finish(&client, keep_replaced))
            .collect()
    }

    fn discard(mut self: Box<Self>) {
        self.discard_all();
    }
}
