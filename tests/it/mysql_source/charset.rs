//! A restored database keeps the default character set and collation it had when it was
//! backed up (recorded beside the dump), over the original and under a new name; and
//! loading a dump never changes the defaults of the database it was dumped from.

use super::fixture::*;

/// `<character set> <collation>` of `db`, from information_schema.SCHEMATA.
fn defaults(db: &str) -> String {
    root_sql(&format!(
        "SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME) \
         FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db}'"
    ))
}

/// The database collation each routine of `db` was created under.
fn routine_collations(db: &str) -> String {
    root_sql(&format!(
        "SELECT GROUP_CONCAT(ROUTINE_NAME, ':', DATABASE_COLLATION ORDER BY ROUTINE_NAME) \
         FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{db}'"
    ))
}

#[test]
fn a_restored_database_keeps_its_character_set_and_collation() {
    let db = MysqlDb::new();
    assert_ne!(
        root_sql("SELECT @@character_set_server"),
        "latin1",
        "the server's default must differ for this test to mean anything"
    );
    // The shop (and its function) made under utf8mb4, then the defaults changed: the dump
    // then carries `ALTER DATABASE` lines around the function.
    create_shop(&db);
    db.sql(&format!(
        "ALTER DATABASE {} DEFAULT CHARACTER SET latin1 COLLATE latin1_swedish_ci;
         CREATE TABLE notes (body VARCHAR(20)); INSERT INTO notes VALUES ('Zoë');",
        db.name
    ));
    let at_backup = defaults(&db.name);
    assert_eq!(at_backup, "latin1 latin1_swedish_ci");
    let routines = routine_collations(&db.name);
    assert!(routines.contains("utf8mb4"), "{routines}");
    let env = env_for(&db);
    let backup = coffer_ok(&env, &db, &["backup"]);
    let id = backup["id"].as_str().unwrap();
    let fingerprint = db.fingerprint(&db.name);

    // The original's defaults change after the backup; restoring into a new name leaves
    // them alone.
    let changed = "utf8mb4 utf8mb4_unicode_ci";
    db.sql(&format!(
        "ALTER DATABASE {} DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        db.name
    ));
    let copy = format!("{}_copy", db.name);
    coffer_ok(&env, &db, &["restore", id, "--target", &copy, "--yes"]);
    assert_eq!(defaults(&copy), at_backup, "into a new name");
    assert_eq!(routine_collations(&copy), routines);
    assert_eq!(db.fingerprint(&copy), fingerprint);
    assert_eq!(defaults(&db.name), changed, "the original is not touched");

    // Over the original: back as they were at the backup.
    coffer_ok(&env, &db, &["restore", id, "--yes"]);
    assert_eq!(defaults(&db.name), at_backup, "over the original");
    assert_eq!(db.fingerprint(&db.name), fingerprint);
    assert_eq!(db.databases(), vec![db.name.clone(), copy.clone()]);
}
