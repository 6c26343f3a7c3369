//! The `page` query parameter of paged lists (tasks, audit log): empty is the first page.

use crate::web::error::WebError;

/// The page asked for, from 1; anything else is a 400 naming the parameter.
pub fn page_number(text: &str) -> Result<i64, WebError> {
    let page = text.trim();
    if page.is_empty() {
        return Ok(1);
    }
    match page.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(i64::from(n)),
        _ => Err(WebError::bad_request(format!(
            "page: `{page}` is not a page number (1, 2, …)"
        ))),
    }
}
