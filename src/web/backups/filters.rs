//! The query string of `GET /backups`: filters and the page cursor, parsed into a
//! [`BackupSearch`] (a bad value is a 400 naming it), and written back into links so the
//! filters survive paging.

use chrono::DateTime;
use serde::Deserialize;

use crate::config::Settings;
use crate::db::{BackupSearch, PageCursor, RowPosition, ServiceMatch};
use crate::domain::{BackupKind, Status};
use crate::web::error::{WebError, WebResult};

pub const DEFAULT_PER_PAGE: i64 = 25;
const MAX_PER_PAGE: i64 = 200;
const MAX_TEXT: usize = 200;

/// The raw query: every field is text, so a wrong value gets our message, not serde's.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    /// `automatic`, `manual` or `safety`.
    pub trigger: Option<String>,
    pub source: Option<String>,
    pub service: Option<String>,
    pub q: Option<String>,
    pub per_page: Option<String>,
    /// Show rows older than this cursor.
    pub before: Option<String>,
    /// Show rows newer than this cursor.
    pub after: Option<String>,
}

/// The filters as the form shows them again (empty = any).
#[derive(Debug, Default, Clone)]
pub struct FilterValues {
    pub status: String,
    pub kind: String,
    pub trigger: String,
    pub source: String,
    pub service: String,
    pub q: String,
    pub per_page: i64,
}

pub struct ListRequest {
    pub search: BackupSearch,
    pub cursor: PageCursor,
    pub per_page: i64,
    pub values: FilterValues,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ListQuery {
    /// Checks every field against the domain and the configured sources and services.
    pub fn parse(&self, settings: &Settings) -> WebResult<ListRequest> {
        let bad = |m: String| WebError::BadRequest(m);
        let mut search = BackupSearch::default();
        let mut values = FilterValues::default();
        if let Some(s) = given(&self.status) {
            search.status = Some(s.parse::<Status>().map_err(bad)?);
            values.status = s.to_string();
        }
        if let Some(k) = given(&self.kind) {
            search.kind = Some(k.parse::<BackupKind>().map_err(bad)?);
            values.kind = k.to_string();
        }
        if let Some(t) = given(&self.trigger) {
            // Safety backups are made by Coffer too, but are neither scheduled nor asked for:
            // a filter of their own, and out of "automatic".
            let (automatic, safety) = match t {
                "automatic" => (Some(true), Some(false)),
                "manual" => (Some(false), None),
                "safety" => (None, Some(true)),
                other => {
                    return Err(bad(format!(
                        "`{other}` is not a trigger: expected automatic, manual or safety"
                    )))
                }
            };
            search.automatic = automatic;
            search.safety = safety;
            values.trigger = t.to_string();
        }
        if let Some(source) = given(&self.source) {
            check_name("source", source)?;
            search.source = Some(source.to_string());
            values.source = source.to_string();
        }
        if let Some(service) = given(&self.service) {
            check_name("service", service)?;
            let sources = settings
                .sources
                .iter()
                .filter(|s| s.service == service)
                .map(|s| s.name.clone())
                .collect();
            search.service = Some(ServiceMatch {
                name: service.to_string(),
                sources,
            });
            values.service = service.to_string();
        }
        if let Some(q) = given(&self.q) {
            if q.chars().count() > MAX_TEXT {
                return Err(bad(format!(
                    "the search text is too long (at most {MAX_TEXT} characters)"
                )));
            }
            // PostgreSQL refuses NUL in text and nobody types control characters.
            if q.chars().any(char::is_control) {
                return Err(bad(
                    "the search text must not contain control characters".to_string()
                ));
            }
            search.text = Some(q.to_string());
            values.q = q.to_string();
        }
        let per_page = match given(&self.per_page) {
            None => DEFAULT_PER_PAGE,
            Some(n) => n
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                .ok_or_else(|| {
                    bad(format!(
                        "`{n}` is not a page size: expected a number from 1 to {MAX_PER_PAGE}"
                    ))
                })?,
        };
        values.per_page = per_page;
        let cursor = match (given(&self.before), given(&self.after)) {
            (Some(_), Some(_)) => {
                return Err(bad("give `before` or `after`, not both".into()));
            }
            (Some(c), None) => PageCursor::OlderThan(decode_cursor(c)?),
            (None, Some(c)) => PageCursor::NewerThan(decode_cursor(c)?),
            (None, None) => PageCursor::Newest,
        };
        Ok(ListRequest {
            search,
            cursor,
            per_page,
            values,
        })
    }
}

/// Source and service names are plain (as the config requires); anything else is a typo
/// or an attempt, and matches nothing anyway.
pub(crate) fn check_name(what: &str, name: &str) -> WebResult<()> {
    let plain = name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain {
        Ok(())
    } else {
        Err(WebError::BadRequest(format!(
            "`{name}` is not a {what} name: use letters, digits, `_`, `-` and `.`"
        )))
    }
}

/// A cursor is `<created_at in µs since the epoch>.<id>`: it stays valid even if the row it
/// names is deleted meanwhile.
pub fn encode_cursor(at: &RowPosition) -> String {
    format!("{}.{}", at.created_at.and_utc().timestamp_micros(), at.id)
}

fn decode_cursor(text: &str) -> WebResult<RowPosition> {
    let bad = || WebError::BadRequest(format!("`{text}` is not a page cursor"));
    let (micros, id) = text.split_once('.').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let created_at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(bad)?
        .naive_utc();
    if id.is_empty() || id.len() > 64 {
        return Err(bad());
    }
    Ok(RowPosition {
        created_at,
        id: id.to_string(),
    })
}

impl FilterValues {
    /// `/backups?…` with these filters and `extra` (a cursor), empty ones left out.
    pub fn link(&self, extra: Option<(&str, &str)>) -> String {
        let per_page = self.per_page.to_string();
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("status", self.status.as_str()),
            ("kind", &self.kind),
            ("trigger", &self.trigger),
            ("source", &self.source),
            ("service", &self.service),
            ("q", &self.q),
        ] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        if self.per_page != DEFAULT_PER_PAGE {
            query.append_pair("per_page", &per_page);
        }
        if let Some((key, value)) = extra {
            query.append_pair(key, value);
        }
        let query = query.finish();
        if query.is_empty() {
            "/backups".into()
        } else {
            format!("/backups?{query}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let at = RowPosition {
            created_at: crate::db::now(),
            id: "0190-abc".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&at)).unwrap(), at);
        assert!(decode_cursor("yesterday").is_err());
        assert!(decode_cursor("12.").is_err());
    }

    #[test]
    fn links_keep_filters_and_escape_them() {
        let values = FilterValues {
            status: "failed".into(),
            q: "a&b c".into(),
            per_page: DEFAULT_PER_PAGE,
            ..FilterValues::default()
        };
        assert_eq!(
            values.link(Some(("before", "1.x"))),
            "/backups?status=failed&q=a%26b+c&before=1.x"
        );
    }
}
