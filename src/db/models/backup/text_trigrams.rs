//! Which trigrams of a text query SQLite's index is asked for.
//!
//! A query's trigrams are not equally useful: "number 4242" holds "num", "umb", … that are in
//! every seeded row, and FTS5 answers the phrase by walking all of their doclists (100,000
//! entries each at 100k records) — 0.13–0.37 ms per query in the sqlite3 shell on the
//! benchmark's 100,000 records, paid by the page and the totals of every search. Any of the query's trigrams is found in every row the LIKE finds (the LIKE
//! re-checks each candidate, see `text.rs`), so asking for the AND of the rarest few
//! gives the same result from a few hundred index entries: ~0.03 ms.
//!
//! How common a trigram is comes from the index itself, counted only up to [`COMMON`] (so a
//! count costs at most that many index entries, never a whole doclist) and remembered for
//! [`REMEMBER_FOR`]: a search for the same words, or words sharing trigrams, costs no count at
//! all. Counting every term through an `fts5vocab` table instead scans the whole vocabulary
//! (an earlier attempt measured 318 ms per search). A remembered count is a hint about speed only — a stale or
//! wrong one picks slower trigrams, never other rows — so one table serves the process (every
//! database it opens, tests included).
//!
//! When no trigram is rare (each in [`COMMON`] rows or more), the AND of trigrams would hand
//! the LIKE a large part of the table; the whole phrase is asked for then, as before, because
//! its position check is what keeps the candidates few ("ber nightly": 0 rows, 0.015 ms).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;

/// A trigram in this many rows or more is common; counting stops there.
pub(super) const COMMON: i64 = 1000;
/// At most this many trigrams are ANDed: three rare ones leave few candidates, and each more
/// costs a doclist walk of its own.
const MOST_TRIGRAMS: usize = 3;
/// How long a count is reused.
const REMEMBER_FOR: Duration = Duration::from_secs(60);
/// More distinct trigrams than this and the remembered counts start afresh.
const MOST_REMEMBERED: usize = 8192;

/// The FTS5 query for `lowered` (the lowercased search text, at least three characters, no
/// NUL): the AND of its rarest trigrams, or the whole text as one phrase when none is rare.
pub(super) fn fts_query(conn: &mut SqliteConnection, lowered: &str) -> QueryResult<String> {
    let trigrams = trigrams_of(lowered);
    if trigrams.len() <= 1 {
        return Ok(fts_phrase(lowered));
    }
    let counts = counts_of(conn, &trigrams)?;
    Ok(choose(lowered, &trigrams, &counts))
}

/// The distinct three-character windows of `text`, in order of first appearance.
pub(super) fn trigrams_of(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<String> = Vec::new();
    for window in chars.windows(3) {
        let trigram: String = window.iter().collect();
        if !out.contains(&trigram) {
            out.push(trigram);
        }
    }
    out
}

/// The query from the trigrams and their counts (same order): the rarest [`MOST_TRIGRAMS`]
/// below [`COMMON`], ANDed; the phrase of `lowered` if there is none.
pub(super) fn choose(lowered: &str, trigrams: &[String], counts: &[i64]) -> String {
    let mut rare: Vec<(i64, &String)> = counts
        .iter()
        .copied()
        .zip(trigrams)
        .filter(|(count, _)| *count < COMMON)
        .collect();
    if rare.is_empty() {
        return fts_phrase(lowered);
    }
    // Stable: among equally rare trigrams the earlier one wins, so a query is always asked
    // the same way.
    rare.sort_by_key(|(count, _)| *count);
    rare.iter()
        .take(MOST_TRIGRAMS)
        .map(|(_, trigram)| fts_phrase(trigram))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `text` as one FTS5 phrase: in double quotes, a quote written twice, nothing else special.
pub(super) fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

struct Remembered {
    count: i64,
    until: Instant,
}

fn remembered() -> &'static Mutex<HashMap<String, Remembered>> {
    static COUNTS: OnceLock<Mutex<HashMap<String, Remembered>>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The (capped) row count of each trigram: remembered ones from memory, the others counted
/// in the index (outside the lock, so one slow count holds no other search up).
fn counts_of(conn: &mut SqliteConnection, trigrams: &[String]) -> QueryResult<Vec<i64>> {
    let now = Instant::now();
    let mut counts: Vec<Option<i64>> = {
        let memory = lock(remembered());
        trigrams
            .iter()
            .map(|t| memory.get(t).filter(|r| now < r.until).map(|r| r.count))
            .collect()
    };
    let mut counted = Vec::new();
    for (trigram, count) in trigrams.iter().zip(counts.iter_mut()) {
        if count.is_none() {
            let n = count_rows(conn, trigram)?;
            *count = Some(n);
            counted.push((trigram.clone(), n));
        }
    }
    if !counted.is_empty() {
        let mut memory = lock(remembered());
        if memory.len() + counted.len() > MOST_REMEMBERED {
            memory.clear();
        }
        let until = Instant::now() + REMEMBER_FOR;
        for (trigram, count) in counted {
            memory.insert(trigram, Remembered { count, until });
        }
    }
    Ok(counts.into_iter().map(|c| c.unwrap_or(COMMON)).collect())
}

/// How many rows hold `trigram`, counted up to [`COMMON`].
fn count_rows(conn: &mut SqliteConnection, trigram: &str) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let found: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM backup_records_text \
         WHERE backup_records_text MATCH ? LIMIT ?)",
    )
    .bind::<Text, _>(fts_phrase(trigram))
    .bind::<BigInt, _>(COMMON)
    .get_result(conn)?;
    Ok(found.n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn trigrams_are_character_windows_without_repeats() {
        assert_eq!(trigrams_of("abcabc"), strings(&["abc", "bca", "cab"]));
        assert_eq!(
            trigrams_of("é d'été"),
            strings(&["é d", " d'", "d'é", "'ét", "été"])
        );
        assert_eq!(trigrams_of("ab"), Vec::<String>::new());
        assert_eq!(trigrams_of("aaaa"), strings(&["aaa"]));
    }

    #[test]
    fn the_rarest_trigrams_are_anded() {
        let trigrams = strings(&["num", "r 4", " 42", "424", "242"]);
        assert_eq!(
            choose("number 4242", &trigrams, &[COMMON, COMMON, 500, 299, 299]),
            r#""424" AND "242" AND " 42""#
        );
        assert_eq!(
            choose(
                "number 4242",
                &trigrams,
                &[COMMON, 7, COMMON, COMMON, COMMON]
            ),
            r#""r 4""#
        );
    }

    #[test]
    fn without_a_rare_trigram_the_whole_phrase_is_asked() {
        let trigrams = strings(&["ber", "er ", "r n"]);
        assert_eq!(
            choose("ber n", &trigrams, &[COMMON, COMMON, COMMON]),
            r#""ber n""#
        );
    }

    #[test]
    fn quotes_are_doubled_in_phrases_and_trigrams() {
        assert_eq!(fts_phrase(r#"say "hi" AND"#), r#""say ""hi"" AND""#);
        let trigrams = strings(&[r#"a"b"#]);
        assert_eq!(choose(r#"a"b"#, &trigrams, &[1]), r#""a""b""#);
    }

    /// Against a real index: rows of their own words, so no other test's remembered counts
    /// apply.
    #[test]
    fn the_index_says_which_trigrams_are_rare() {
        let db = crate::db::testing::TestDatabase::sqlite().expect("test database");
        let pool = db.open().expect("open");
        let mut conn = crate::db::get(&pool).expect("connection");
        let crate::db::DbConnection::Sqlite(sqlite) = &mut *conn else {
            panic!("a SQLite connection");
        };
        diesel::sql_query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) \
             INSERT INTO backup_records (id, name, kind, status, scope, sources, size_bytes, \
             file_count, automatic, verify_state, restore_count, created_at) \
             SELECT 'qv-' || i, 'Quill vessel ' || i, 'full', 'success', 'all', '[]', 0, 0, \
             0, 'unverified', 0, '2025-01-01 00:00:00' FROM n",
        )
        .execute(sqlite)
        .expect("seed rows");
        // "567" and "678" are in one row each, " 56" in 11: the rarest three.
        assert_eq!(
            fts_query(sqlite, "vessel 5678").expect("query"),
            r#""567" AND "678" AND " 56""#
        );
        // Every trigram of "quill vessel" is in all 1,500 rows.
        assert_eq!(
            fts_query(sqlite, "quill vessel").expect("query"),
            r#""quill vessel""#
        );
        assert_eq!(count_rows(sqlite, "ves").expect("count"), COMMON);
        assert_eq!(count_rows(sqlite, "567").expect("count"), 1);
    }
}
