//! The parts of a database that `RENAME TABLE` does not carry: triggers (which the server
//! refuses to move to another database with their table), views, stored routines and
//! events. They are read as `SHOW CREATE …` statements (with the database current, so the
//! text names no database and can be run in another one), dropped, and created again.

use super::admin::{ident, literal, Client};
use super::charset::Charset;
use crate::error::{Error, Result};

/// A client-side statement delimiter that no definition contains (bodies hold `;`).
const DELIMITER: &str = "$$coffer$$";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    Trigger,
    View,
    Procedure,
    Function,
    Event,
}

impl Kind {
    fn keyword(self) -> &'static str {
        match self {
            Kind::Trigger => "TRIGGER",
            Kind::View => "VIEW",
            Kind::Procedure => "PROCEDURE",
            Kind::Function => "FUNCTION",
            Kind::Event => "EVENT",
        }
    }

    /// Which column of `SHOW CREATE <kind>` holds the statement, the `sql_mode`, the time
    /// zone (events) and the database collation it was created under.
    fn columns(self) -> (usize, Option<usize>, Option<usize>, Option<usize>) {
        match self {
            Kind::Trigger => (2, Some(1), None, Some(5)),
            Kind::View => (1, None, None, None),
            Kind::Procedure | Kind::Function => (2, Some(1), None, Some(5)),
            Kind::Event => (3, Some(1), Some(2), Some(6)),
        }
    }
}

/// One definition, ready to be created again in any database.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Object {
    pub kind: Kind,
    pub name: String,
    create: String,
    sql_mode: Option<String>,
    time_zone: Option<String>,
    /// The database's default collation when it was created, which the server stored with
    /// it (and which decides how its string variables compare): it is created again under it.
    #[serde(default)]
    database_collation: Option<String>,
}

/// Reads the definitions in `db`; with `tables`, only the triggers of those tables.
pub fn read(client: &Client, db: &str, tables: Option<&[String]>) -> Result<Vec<Object>> {
    let mut listed: Vec<(Kind, String, Option<String>)> = client
        .run(&format!(
            "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
             WHERE TRIGGER_SCHEMA = {} ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER",
            literal(db)
        ))?
        .into_iter()
        .filter_map(|row| {
            let mut row = row.into_iter();
            Some((Kind::Trigger, row.next()??, row.next().flatten()))
        })
        .filter(|(_, _, table)| match (tables, table) {
            (Some(chosen), Some(table)) => chosen.contains(table),
            _ => true,
        })
        .collect();
    if tables.is_none() {
        let schema = literal(db);
        let others = client.run(&format!(
            "SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {schema} \
             UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = {schema} AND ROUTINE_TYPE IN ('PROCEDURE', 'FUNCTION') \
             UNION ALL SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS \
             WHERE EVENT_SCHEMA = {schema}"
        ))?;
        for row in others {
            let mut row = row.into_iter();
            let (Some(Some(kind)), Some(Some(name))) = (row.next(), row.next()) else {
                continue;
            };
            let kind = match kind.as_str() {
                "VIEW" => Kind::View,
                "PROCEDURE" => Kind::Procedure,
                "FUNCTION" => Kind::Function,
                _ => Kind::Event,
            };
            listed.push((kind, name, None));
        }
    }
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    // One session: `USE` makes the view texts name no database; one answer row per SHOW.
    let mut script = format!("USE {};\n", ident(db));
    for (kind, name, _) in &listed {
        script.push_str(&format!(
            "SHOW CREATE {} {};\n",
            kind.keyword(),
            ident(name)
        ));
    }
    let rows = client.run(&script)?;
    if rows.len() != listed.len() {
        return Err(Error::Source(format!(
            "reading the definitions in `{db}`: expected {} answers, got {}",
            listed.len(),
            rows.len()
        )));
    }
    listed
        .into_iter()
        .zip(rows)
        .map(|((kind, name, _), row)| {
            let (create, mode, zone, collation) = kind.columns();
            let column = |i: usize| row.get(i).cloned().flatten();
            let create = column(create).ok_or_else(|| {
                Error::Source(format!(
                    "cannot read the definition of {} `{name}` in `{db}` (missing privilege?)",
                    kind.keyword().to_lowercase()
                ))
            })?;
            Ok(Object {
                kind,
                name,
                create,
                sql_mode: mode.and_then(column),
                time_zone: zone.and_then(column),
                database_collation: collation
                    .and_then(column)
                    .filter(|c| c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')),
            })
        })
        .collect()
}

/// `DROP` statements for `objects` in `db`.
pub fn drop_sql(db: &str, objects: &[Object]) -> String {
    objects
        .iter()
        .map(|o| {
            format!(
                "DROP {} IF EXISTS {}.{};\n",
                o.kind.keyword(),
                ident(db),
                ident(&o.name)
            )
        })
        .collect()
}

/// Drops every trigger, view, routine and event now in `db` (with `tables`: the triggers of
/// those tables only).
pub fn drop_all(client: &Client, db: &str, tables: Option<&[String]>) -> Result<()> {
    let objects = read(client, db, tables)?;
    if objects.is_empty() {
        return Ok(());
    }
    client.run(&drop_sql(db, &objects)).map(drop)
}

/// Creates `objects` in `db`: triggers, routines and events in one go, then views, whose
/// order matters (a view on a view) and is found by retrying those that failed while any
/// succeeds. `disabled` creates events disabled (a kept copy must not run them); `defaults`
/// are `db`'s (see [`install_script`]).
pub fn install(
    client: &Client,
    db: &str,
    objects: &[Object],
    disabled: bool,
    defaults: Option<&Charset>,
) -> Result<()> {
    if let Some(script) = install_script(db, objects, disabled, defaults) {
        client.run(&script)?;
    }
    install_views(client, db, objects)
}

/// The script creating the triggers, routines and events of `objects` in `db` (`None`:
/// there are none). It leaves `db` the current database. With `db`'s `defaults` known, one
/// created under another database collation is created under that one again (the server
/// takes it from the database's default at creation, as `mysqldump` scripts do), and the
/// defaults are put back after it.
pub fn install_script(
    db: &str,
    objects: &[Object],
    disabled: bool,
    defaults: Option<&Charset>,
) -> Option<String> {
    let others: Vec<&Object> = objects.iter().filter(|o| o.kind != Kind::View).collect();
    if others.is_empty() {
        return None;
    }
    let mut script = format!("USE {};\n", ident(db));
    for object in others {
        let under = match (defaults, &object.database_collation) {
            (Some(defaults), Some(collation)) if *collation != defaults.collation => {
                Some((defaults, collation))
            }
            _ => None,
        };
        if let Some((_, collation)) = under {
            script.push_str(&format!(
                "ALTER DATABASE {} COLLATE {};\n",
                ident(db),
                ident(collation)
            ));
        }
        script.push_str(&create_sql(object));
        if disabled && object.kind == Kind::Event {
            script.push_str(&format!("ALTER EVENT {} DISABLE;\n", ident(&object.name)));
        }
        if let Some((defaults, _)) = under {
            script.push_str(&format!(
                "ALTER DATABASE {}{};\n",
                ident(db),
                defaults.clause()
            ));
        }
    }
    Some(script)
}

/// Creates the views of `objects` in `db`, in an order that works (see [`install`]).
pub fn install_views(client: &Client, db: &str, objects: &[Object]) -> Result<()> {
    let mut pending: Vec<&Object> = objects.iter().filter(|o| o.kind == Kind::View).collect();
    while !pending.is_empty() {
        let mut failed = Vec::new();
        let mut last_error = None;
        for view in &pending {
            let script = format!("USE {};\n{}", ident(db), create_sql(view));
            if let Err(e) = client.run(&script) {
                failed.push(*view);
                last_error = Some(e);
            }
        }
        if failed.len() == pending.len() {
            let error = last_error.expect("a view failed");
            return Err(Error::Source(format!(
                "creating view `{}` in `{db}`: {error}",
                failed[0].name
            )));
        }
        pending = failed;
    }
    Ok(())
}

fn create_sql(object: &Object) -> String {
    let mut sql = String::new();
    if let Some(mode) = &object.sql_mode {
        sql.push_str(&format!("SET SESSION sql_mode = {};\n", literal(mode)));
    }
    if let Some(zone) = &object.time_zone {
        sql.push_str(&format!("SET SESSION time_zone = {};\n", literal(zone)));
    }
    sql.push_str(&format!(
        "DELIMITER {DELIMITER}\n{}\n{DELIMITER}\nDELIMITER ;\n",
        object.create
    ));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_recreated_with_their_mode_and_a_safe_delimiter() {
        let trigger = Object {
            kind: Kind::Trigger,
            name: "t`x".into(),
            create: "CREATE TRIGGER `t``x` BEFORE INSERT ON a FOR EACH ROW BEGIN SET @a = 1; END"
                .into(),
            sql_mode: Some("STRICT_TRANS_TABLES".into()),
            time_zone: None,
            database_collation: None,
        };
        let sql = create_sql(&trigger);
        assert!(sql.starts_with("SET SESSION sql_mode = 'STRICT_TRANS_TABLES';\n"));
        assert!(sql.contains("DELIMITER $$coffer$$\nCREATE TRIGGER"));
        assert!(sql.ends_with("$$coffer$$\nDELIMITER ;\n"));
        assert_eq!(
            drop_sql("db", &[trigger]),
            "DROP TRIGGER IF EXISTS `db`.`t``x`;\n"
        );
    }
}
