//! A database's default character set and collation, kept by a restore. A dump made
//! without `--databases` has no `CREATE DATABASE`, so the backup records them beside the
//! dump (`<db>.charset`: `<character set> <collation>`); a restore creates its databases
//! with them (and gives them to the original it replaces in place), on any server and under
//! any name. Backups made before that file existed restore as before: a staging database
//! takes the live database's, a new one the server's defaults.

use std::path::Path;

use super::admin::{ident, literal, Client};
use crate::error::{Error, IoContext, Result};

/// Beside `<db>.sql` in the dump folder (and the archive).
pub const SUFFIX: &str = ".charset";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Charset {
    pub character_set: String,
    pub collation: String,
}

impl Charset {
    /// The defaults of `db` as the server has them now (`None`: no such database).
    pub fn of(client: &Client, db: &str) -> Result<Option<Charset>> {
        let row = client
            .run(&format!(
                "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME \
                 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
                literal(db)
            ))?
            .into_iter()
            .next()
            .unwrap_or_default();
        Ok(
            match (
                row.first().cloned().flatten(),
                row.get(1).cloned().flatten(),
            ) {
                (Some(character_set), Some(collation)) => Some(Charset {
                    character_set,
                    collation,
                }),
                _ => None,
            },
        )
    }

    /// Records the defaults of `db` beside its dump in `dir`.
    pub fn record(&self, dir: &Path, db: &str) -> Result<()> {
        let path = dir.join(format!("{db}{SUFFIX}"));
        std::fs::write(
            &path,
            format!("{} {}\n", self.character_set, self.collation),
        )
        .ctx(|| format!("writing {}", path.display()))
    }

    /// What the backup recorded for `db`; `None` for backups made before it did.
    pub fn recorded(dir: &Path, db: &str) -> Result<Option<Charset>> {
        let path = dir.join(format!("{db}{SUFFIX}"));
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).ctx(|| format!("reading {}", path.display()))?;
        Self::parse(&text).map(Some).ok_or_else(|| {
            Error::Archive(format!(
                "{db}{SUFFIX} in the backup does not hold a character set and a collation: `{}`",
                text.trim()
            ))
        })
    }

    fn parse(text: &str) -> Option<Charset> {
        let plain =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let mut words = text.split_whitespace();
        let (character_set, collation) = (words.next()?, words.next()?);
        (words.next().is_none() && plain(character_set) && plain(collation)).then(|| Charset {
            character_set: character_set.to_string(),
            collation: collation.to_string(),
        })
    }

    /// ` CHARACTER SET … COLLATE …`, to follow `CREATE DATABASE <name>`.
    pub fn clause(&self) -> String {
        format!(
            " CHARACTER SET {} COLLATE {}",
            ident(&self.character_set),
            ident(&self.collation)
        )
    }

    /// Makes these the defaults of an existing `db`.
    pub fn apply_to(&self, client: &Client, db: &str) -> Result<()> {
        client
            .run(&format!("ALTER DATABASE {}{}", ident(db), self.clause()))
            .map(drop)
    }
}

/// Creates `db` with `charset` (the server's defaults when `None`).
pub fn create_database(client: &Client, db: &str, charset: Option<&Charset>) -> Result<()> {
    let clause = charset.map(Charset::clause).unwrap_or_default();
    client
        .run(&format!("CREATE DATABASE {}{clause}", ident(db)))
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_read_back_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Charset::recorded(dir.path(), "shop").unwrap(), None);
        let latin1 = Charset {
            character_set: "latin1".into(),
            collation: "latin1_swedish_ci".into(),
        };
        latin1.record(dir.path(), "shop").unwrap();
        assert_eq!(
            Charset::recorded(dir.path(), "shop").unwrap(),
            Some(latin1.clone())
        );
        assert_eq!(
            latin1.clause(),
            " CHARACTER SET `latin1` COLLATE `latin1_swedish_ci`"
        );
        std::fs::write(dir.path().join("shop.charset"), "latin1 x`; DROP\n").unwrap();
        assert!(Charset::recorded(dir.path(), "shop").is_err());
    }
}
