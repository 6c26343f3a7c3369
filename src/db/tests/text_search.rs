//! The list's text search through the trigram index gives exactly what the plain LIKE gave,
//! on both backends: wildcards and quotes taken literally, case folded as before, short
//! queries, other filters and keyset pages combined, and the index kept in step with
//! inserts, renames and deletes (and built for rows that predate it).

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{each_backend, succeeded};
use crate::db::{
    revert_last_migration, run_migrations, Backend, Backup, BackupSearch, DbConnection, NewBackup,
    PageCursor, RowPosition,
};
use crate::domain::{Scope, Status};

/// Names and descriptions that a careless query would get wrong.
const ROWS: &[(&str, Option<&str>)] = &[
    ("nightly 50% done", Some("half of it")),
    ("under_score", None),
    ("underXscore", Some("an X where the underscore was")),
    (r"back\slash", Some(r"c:\temp\x")),
    (
        r#"say "hi" twice"#,
        Some(r#""quoted" AND NEAR(a b) OR * ^col:"#),
    ),
    ("École d'été", Some("ÉCOLE in capitals, école in small")),
    ("STRASSE", Some("straße with ß")),
    ("日本語のバックアップ", Some("ナイトリー")),
    ("Mixed CaSe AbC", Some("abcabc")),
    ("plain", Some("nightly run number 4242")),
    ("plain too", Some("nightly run number 42420")),
    ("it's 100%", None),
];

const QUERIES: &[&str] = &[
    "%",
    "_",
    "__",
    "%%%",
    r"\",
    r"\s",
    r"c:\t",
    "\"",
    r#""hi""#,
    r#"say "hi"#,
    "'",
    "it's",
    "50%",
    "0% d",
    "under_",
    "r_s",
    "ÉCOLE",
    "école",
    "ecole",
    "COLE",
    "ß",
    "straße",
    "STRASSE",
    "日本",
    "日本語の",
    "abc",
    "ABC",
    "AbCa",
    "nightly",
    "NIGHTLY run",
    "4242",
    "number 4242",
    "ab",
    "a",
    "x",
    "NEAR(a",
    "AND",
    "OR *",
    "^col",
    "col:",
    "zzz-none",
    "  ",
    " d",
];

/// The text filter as it was before the index: LIKE on the lowered query, SQLite's LIKE
/// folding ASCII case, PostgreSQL comparing lower() of both sides.
fn like_reference(conn: &mut DbConnection, backend: Backend, text: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let escaped: String = text
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            _ => vec![c],
        })
        .collect();
    let pattern = format!("%{escaped}%");
    let query = match backend {
        Backend::Sqlite => {
            "SELECT id FROM backup_records WHERE name LIKE ?1 ESCAPE '\\' \
             OR COALESCE(description, '') LIKE ?1 ESCAPE '\\' ORDER BY created_at DESC, id DESC"
        }
        Backend::Postgres => {
            "SELECT id FROM backup_records WHERE lower(name) LIKE $1 ESCAPE '\\' \
             OR lower(COALESCE(description, '')) LIKE $1 ESCAPE '\\' \
             ORDER BY created_at DESC, id DESC"
        }
    };
    diesel::sql_query(query)
        .bind::<Text, _>(pattern)
        .load::<Id>(conn)
        .expect("reference LIKE")
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn search(text: &str) -> BackupSearch {
    BackupSearch {
        text: Some(text.to_string()),
        ..BackupSearch::default()
    }
}

/// Every matching id, newest first, read in keyset pages of `per_page`.
fn all_pages(conn: &mut DbConnection, search: &BackupSearch, per_page: i64) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = PageCursor::Newest;
    loop {
        let page = Backup::search_page(conn, search, &cursor, per_page).expect("page");
        ids.extend(page.rows.iter().map(|b| b.id.clone()));
        match page.rows.last() {
            Some(last) if page.has_older => cursor = PageCursor::OlderThan(RowPosition::of(last)),
            _ => return ids,
        }
    }
}

fn insert_rows(conn: &mut DbConnection) -> Vec<Backup> {
    ROWS.iter()
        .enumerate()
        .map(|(i, (name, description))| {
            let mut new = NewBackup::full(name, &Scope::All, &["files"]);
            if let Some(text) = description {
                new = new.with_description(text);
            }
            new.created_at -= chrono::Duration::minutes(i as i64 % 3);
            // Every other row succeeds, so the status filter has something to combine with.
            if i % 2 == 0 {
                succeeded(conn, &new)
            } else {
                Backup::insert(conn, &new).expect("insert")
            }
        })
        .collect()
}

/// The test rows, written with SQL that only names columns the first migrations made.
fn insert_rows_without_models(conn: &mut DbConnection) {
    for (i, (name, description)) in ROWS.iter().enumerate() {
        let status = if i % 2 == 0 { "success" } else { "pending" };
        let created = (chrono::Utc::now() - chrono::Duration::minutes(i as i64 % 3)).naive_utc();
        diesel::sql_query(
            "INSERT INTO backup_records (id, name, kind, status, scope, sources, size_bytes, \
             file_count, automatic, description, verify_state, restore_count, created_at) \
             VALUES ($1, $2, 'full', $3, 'all', '[\"files\"]', 0, 0, false, $4, 'unverified', 0, $5)",
        )
        .bind::<Text, _>(uuid::Uuid::now_v7().to_string())
        .bind::<Text, _>(*name)
        .bind::<Text, _>(status)
        .bind::<diesel::sql_types::Nullable<Text>, _>(*description)
        .bind::<diesel::sql_types::Timestamp, _>(created)
        .execute(conn)
        .expect("insert with SQL");
    }
}

fn assert_same_as_like(conn: &mut DbConnection, backend: Backend, context: &str) {
    for query in QUERIES {
        let expected = like_reference(conn, backend, query);
        assert_eq!(
            all_pages(conn, &search(query), 2),
            expected,
            "{backend:?} ({context}): query {query:?}"
        );
        let groups = Backup::search_groups(conn, &search(query)).expect("groups");
        let counted: i64 = groups.iter().map(|g| g.count).sum();
        assert_eq!(
            counted,
            expected.len() as i64,
            "{backend:?}: totals of {query:?}"
        );
    }
}

#[test]
fn indexed_search_matches_the_like_semantics() {
    each_backend(|conn, backend| {
        insert_rows(conn);
        assert_same_as_like(conn, backend, "inserted");
        // Sanity: the reference is not trivially empty or total.
        assert_eq!(like_reference(conn, backend, "nightly").len(), 3);
        assert_eq!(like_reference(conn, backend, "%").len(), 2);
        assert_eq!(like_reference(conn, backend, "_").len(), 1);
    });
}

#[test]
fn text_combines_with_filters_and_follows_changes() {
    each_backend(|conn, backend| {
        let rows = insert_rows(conn);
        let failed_nightly = BackupSearch {
            status: Some(Status::Succeeded),
            ..search("NIGHTLY")
        };
        let found = all_pages(conn, &failed_nightly, 1);
        assert_eq!(found.len(), 2, "{backend:?}: {found:?}");
        assert!(found.iter().all(|id| {
            Backup::find_by_id(conn, id).expect("row").status() == Status::Succeeded
        }));

        // A rename and a new description are found by their new text only; a delete is gone.
        let renamed = &rows[1];
        diesel::sql_query(
            "UPDATE backup_records SET name = 'renamed quokka', description = 'wombat' \
             WHERE id = ",
        )
        .sql(format!("'{}'", renamed.id))
        .execute(conn)
        .expect("rename");
        assert_eq!(
            all_pages(conn, &search("QUOKKA"), 5),
            vec![renamed.id.clone()]
        );
        assert_eq!(
            all_pages(conn, &search("wombat"), 5),
            vec![renamed.id.clone()]
        );
        assert!(all_pages(conn, &search("under_score"), 5).is_empty());
        Backup::delete(conn, &rows[9].id).expect("delete");
        assert!(all_pages(conn, &search("4242"), 5)
            .iter()
            .all(|id| id != &rows[9].id));
        assert_same_as_like(conn, backend, "after changes");
        if backend == Backend::Sqlite {
            diesel::sql_query(
                "INSERT INTO backup_records_text (backup_records_text) VALUES ('integrity-check')",
            )
            .execute(conn)
            .expect("the FTS index agrees with backup_records");
        }
    });
}

#[test]
fn the_migration_indexes_rows_already_there() {
    each_backend(|conn, backend| {
        // Back to the schema before the text index (later migrations go too), rows written
        // there with plain SQL, then every migration applied again.
        loop {
            let version = revert_last_migration(conn).expect("revert a migration");
            if version.ends_with("000008") {
                break;
            }
        }
        insert_rows_without_models(conn);
        run_migrations(conn).expect("apply them again");
        assert_eq!(
            all_pages(conn, &search("number 4242"), 5).len(),
            2,
            "{backend:?}"
        );
        assert_same_as_like(conn, backend, "indexed by the migration");
    });
}

/// Enough rows that the SQLite index sees common trigrams (in 1,000 rows or more, answered
/// by the whole phrase) beside rare ones (answered by the AND of the rarest few), and the
/// LIKE result either way. Texts of their own, so no other test's remembered trigram counts
/// apply to them.
#[test]
fn common_and_rare_trigrams_give_the_like_result() {
    const ROWS: i64 = 2_500;
    each_backend(|conn, backend| {
        let series = match backend {
            Backend::Sqlite => format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) \
                 SELECT i FROM n"
            ),
            Backend::Postgres => format!("SELECT i FROM generate_series(1, {ROWS}) AS n(i)"),
        };
        diesel::sql_query(format!(
            "INSERT INTO backup_records (id, name, kind, status, scope, sources, size_bytes, \
             file_count, automatic, description, verify_state, restore_count, created_at) \
             SELECT 'zk-' || i, 'Zephyr kiln ' || i, 'full', \
             CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'success' END, 'all', '[\"files\"]', i, 0, \
             false, CASE WHEN i % 2 = 0 THEN 'glaze pass ' || (i * 7) END, 'unverified', 0, \
             $1 FROM ({series}) AS s"
        ))
        .bind::<diesel::sql_types::Timestamp, _>(chrono::Utc::now().naive_utc())
        .execute(conn)
        .expect("seed rows");
        for query in [
            "zephyr kiln 1234",
            "kiln 12",
            "ZEPHYR KILN",
            "ephyr k",
            "phyr kiln 24",
            "glaze pass 7",
            "ss 1",
            "kiln 1234 glaze",
            "kiln kiln",
            "zephyr kiln 99999",
        ] {
            let expected = like_reference(conn, backend, query);
            assert_eq!(
                all_pages(conn, &search(query), 500),
                expected,
                "{backend:?}: query {query:?}"
            );
            let groups = Backup::search_groups(conn, &search(query)).expect("groups");
            let counted: i64 = groups.iter().map(|g| g.count).sum();
            assert_eq!(
                counted,
                expected.len() as i64,
                "{backend:?}: totals of {query:?}"
            );
        }
        // Sanity: both kinds of query are there.
        assert_eq!(like_reference(conn, backend, "zephyr kiln 1234").len(), 1);
        assert_eq!(
            like_reference(conn, backend, "ZEPHYR KILN").len(),
            ROWS as usize
        );
        assert_eq!(like_reference(conn, backend, "kiln 1234 glaze").len(), 0);
    });
}
