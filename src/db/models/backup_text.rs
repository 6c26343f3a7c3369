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
//!   holding the query as a phrase. Its tokenizer folds Unicode case, a coarser folding than
//!   LIKE's ASCII one, so it finds every row the LIKE finds (and the LIKE then drops the
//!   extra ones). A trigram index cannot answer queries under three characters (it finds
//!   nothing), so those are the plain LIKE scan.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::backup_search::Condition;
use crate::db::schema::backup_records::dsl;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<Text>) -> diesel::sql_types::Nullable<Text>);

/// Which backend the condition is for: their LIKE and their index differ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum TextBackend {
    Sqlite,
    Postgres,
}

/// The shortest query the trigram index can answer.
const TRIGRAM: usize = 3;

/// Rows whose name or description holds `text`, ignoring case.
pub(super) fn text_condition(text: &str, backend: TextBackend) -> Condition {
    let lowered = text.to_lowercase();
    let pattern = format!("%{}%", escape_like(&lowered));
    // A NULL description makes its LIKE NULL, which OR treats as false: no COALESCE needed
    // (and none wanted: the PostgreSQL index is on lower(description) itself).
    let like: Condition = match backend {
        TextBackend::Sqlite => Box::new(
            dsl::name
                .like(pattern.clone())
                .escape('\\')
                .or(dsl::description.like(pattern).escape('\\'))
                .assume_not_null(),
        ),
        TextBackend::Postgres => Box::new(
            lower(dsl::name.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(lower(dsl::description).like(pattern).escape('\\'))
                .assume_not_null(),
        ),
    };
    // FTS5 reads NUL as the end of the query text; such a query keeps the plain LIKE.
    let indexable = lowered.chars().count() >= TRIGRAM && !lowered.contains('\0');
    if backend == TextBackend::Sqlite && indexable {
        let candidates = sql::<Bool>(
            "backup_records.rowid IN \
             (SELECT rowid FROM backup_records_text WHERE backup_records_text MATCH ",
        )
        .bind::<Text, _>(fts_phrase(&lowered))
        .sql(")");
        Box::new(candidates.and(like))
    } else {
        like
    }
}

/// `text` as one FTS5 phrase: in double quotes, a quote written twice, nothing else special.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern with `ESCAPE '\'`.
pub(super) fn escape_like(text: &str) -> String {
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
    use super::{escape_like, fts_phrase};

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r#"a_b%c\d"#), r#"a\_b\%c\\d"#);
    }

    #[test]
    fn phrases_double_their_quotes() {
        assert_eq!(fts_phrase(r#"say "hi" AND"#), r#""say ""hi"" AND""#);
    }
}
