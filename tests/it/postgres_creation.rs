//! A restored PostgreSQL database keeps the encoding and locale it was created with, over
//! the original and under a new name: the restore takes them from the dump, not from the
//! target server's defaults (`template0`: UTF8, C.UTF-8 here).

use crate::helpers::*;
use crate::postgres_source::{psql, source, TempDb};

/// Encoding, collation, character classes and locale provider of `db`, as the server has
/// them (the provider's locale column is named differently from version 17).
fn created(db: &str) -> String {
    psql(
        "postgres",
        &format!(
            "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype \
             || ' ' || datlocprovider::text || ' ' \
             || coalesce(to_jsonb(d) ->> 'daticulocale', to_jsonb(d) ->> 'datlocale', '-') \
             FROM pg_database d WHERE datname = '{db}'"
        ),
    )
}

/// The names in the order the database's collation sorts them.
fn sorted(db: &str) -> String {
    psql(db, "SELECT string_agg(name, ',' ORDER BY name) FROM words")
}

#[test]
fn a_restored_database_keeps_its_encoding_and_locale() {
    for (options, expected) in [
        (
            "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
            "LATIN1 C C c -",
        ),
        // Not the server's default (C.UTF-8): byte-order collation (POSIX is C), UTF-8 classes.
        (
            "ENCODING 'UTF8' LC_COLLATE 'POSIX' LC_CTYPE 'C.UTF-8' TEMPLATE template0",
            "UTF8 C C.UTF-8 c -",
        ),
        // ICU's German collation (ICU locales need no operating-system locale).
        (
            "ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'de-DE' LOCALE 'C' TEMPLATE template0",
            "UTF8 C C i de-DE",
        ),
    ] {
        let db = TempDb::created_with(options);
        assert_eq!(created(&db.name), expected, "{options}");
        db.sql(
            "CREATE TABLE words (name text); \
             INSERT INTO words VALUES ('zebra'), ('Äpfel'), ('apple'), ('Zoë'), ('éclair')",
        );
        let order = sorted(&db.name);
        let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
        let backup = env.backup(&[]);
        let id = backup["id"].as_str().unwrap();

        let copy = format!("{}_copy", db.name);
        env.ok(&["restore", id, "--sources", "pg", "--target", &copy, "--yes"]);
        assert_eq!(created(&copy), expected, "into a new name: {options}");
        assert_eq!(sorted(&copy), order, "{options}");

        db.sql("INSERT INTO words VALUES ('later')");
        env.ok(&["restore", id, "--sources", "pg", "--yes"]);
        assert_eq!(created(&db.name), expected, "over the original: {options}");
        assert_eq!(sorted(&db.name), order, "{options}");
        assert_eq!(db.family(), vec![db.name.clone(), copy.clone()]);
    }
}
