//! The text filter of the backup list: a case-insensitive substring of the name or the
//! description, answered from a trigram index (migration 8) instead of a full scan.
//!
//! The meaning is the LIKE it always was: `lower(query)` as a substring, with `%`, `_` and
//! `\` matching themselves; SQLite's LIKE folds ASCII case only, PostgreSQL compares
//! `lower()` of both sides. The LIKE stays in every query, so the index only narrows the
//! rows it is checked on and can never change a result.
//!
//! - PostgreSQL: the GIN `gin_trgm_ops` indexes are on `lower(name)` and
//!   `lower(description)`, exactly the expressions compared, so the planner uses them for the
//!   LIKE itself (and falls back to a scan where a pattern has no trigram).
//! - SQLite: the FTS5 table `backup_records_text` (tokenizer `trigram`) is asked for the rowids
//!   holding the query's rarest trigrams (or, when none is rare, the query as a phrase:
//!   `text_trigrams.rs`). Its tokenizer folds Unicode case, a coarser folding than
//!   LIKE's ASCII one, so it finds every row the LIKE finds (and the LIKE then drops the
//!   extra ones). A trigram index cannot answer queries under three characters (it finds
//!   nothing), so those are the plain LIKE scan.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::search::Condition;
use super::text_trigrams::fts_query;
use crate::db::schema::backup_records::dsl;
use crate::db::DbConnection;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<Text>) -> diesel::sql_types::Nullable<Text>);

/// How the text filter of one query reaches its backend's index.
pub(super) enum TextIndex {
    /// SQLite: the FTS5 query naming the candidate rows (`text_trigrams.rs`), or
    /// `None` where the index cannot answer (no text, or too short, or a NUL in it).
    Fts5(Option<String>),
    /// PostgreSQL: the `pg_trgm` indexes are on the compared expressions themselves.
    PgTrgm,
}

/// The index plan for `text` on this connection (SQLite picks the trigrams to ask for here).
pub(super) fn text_index(conn: &mut DbConnection, text: Option<&str>) -> QueryResult<TextIndex> {
    match conn {
        DbConnection::Pg(_) => Ok(TextIndex::PgTrgm),
        DbConnection::Sqlite(sqlite) => {
            let Some(lowered) = text.map(str::to_lowercase) else {
                return Ok(TextIndex::Fts5(None));
            };
            // FTS5 reads NUL as the end of the query text; such a query keeps the plain LIKE.
            let indexable = lowered.chars().count() >= TRIGRAM && !lowered.contains('\0');
            Ok(TextIndex::Fts5(if indexable {
                Some(fts_query(sqlite, &lowered)?)
            } else {
                None
            }))
        }
    }
}

/// The shortest query the trigram index can answer.
const TRIGRAM: usize = 3;

/// Rows whose name or description holds `text`, ignoring case.
pub(super) fn text_condition(text: &str, index: &TextIndex) -> Condition {
    let lowered = text.to_lowercase();
    let pattern = format!("%{}%", escape_like(&lowered));
    // A NULL description makes its LIKE NULL, which OR treats as false: no COALESCE needed
    // (and none wanted: the PostgreSQL index is on lower(description) itself).
    let like: Condition = match index {
        TextIndex::Fts5(_) => Box::new(
            dsl::name
                .like(pattern.clone())
                .escape('\\')
                .or(dsl::description.like(pattern).escape('\\'))
                .assume_not_null(),
        ),
        TextIndex::PgTrgm => Box::new(
            lower(dsl::name.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(lower(dsl::description).like(pattern).escape('\\'))
                .assume_not_null(),
        ),
    };
    match index {
        TextIndex::Fts5(Some(fts_query)) => {
            let candidates = sql::<Bool>(
                "backup_records.rowid IN \
                 (SELECT rowid FROM backup_records_text WHERE backup_records_text MATCH ",
            )
            .bind::<Text, _>(fts_query.clone())
            .sql(")");
            Box::new(candidates.and(like))
        }
        _ => like,
    }
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern with `ESCAPE '\'`.
pub(in crate::db::models) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r#"a_b%c\d"#), r#"a\_b\%c\\d"#);
    }
}
