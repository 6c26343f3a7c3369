//! Full page or fragment from one handler. htmx marks its requests with `HX-Request` and
//! swaps the answer into part of the page it came from; the same URL without it (scripts
//! off, a reload, a bookmark) must answer the whole page. A handler takes [`HtmxRequest`]
//! and builds its fragment; [`HtmxRequest::answer`] sends it alone to htmx, or the page
//! built around it to everyone else. An htmx request that replaces the page's whole content
//! (`HX-Target: content`, the `<main>` of base.html: a live page fetching itself again when
//! its task ends) is answered with the page too.

use std::convert::Infallible;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderValue, VARY};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use askama::Template;

use crate::web::error::WebResult;
use crate::web::layout::html_response;

/// Whether the request came from htmx (it carries `HX-Request`) for a part of a page.
#[derive(Debug, Clone, Copy)]
pub struct HtmxRequest {
    pub is_htmx: bool,
}

/// The id of base.html's `<main>`: htmx names it in `HX-Target` when it wants the page.
pub const CONTENT_ID: &str = "content";

impl FromRequest for HtmxRequest {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let wants_page = headers
            .get("HX-Target")
            .is_some_and(|target| target.as_bytes() == CONTENT_ID.as_bytes());
        ready(Ok(HtmxRequest {
            is_htmx: headers.contains_key("HX-Request") && !wants_page,
        }))
    }
}

impl HtmxRequest {
    /// `fragment` alone for htmx; for anyone else the page that `page` builds around it
    /// (only then is `page` called, so work the page alone needs is not done for htmx).
    pub async fn answer<F, P>(
        self,
        fragment: F,
        page: impl AsyncFnOnce(F) -> WebResult<P>,
    ) -> WebResult<HttpResponse>
    where
        F: Template,
        P: Template,
    {
        let html = if self.is_htmx {
            fragment.render()?
        } else {
            page(fragment).await?.render()?
        };
        let mut response = html_response(StatusCode::OK, html);
        // One URL, two answers: caches (the browser's back button) must keep them apart.
        response
            .headers_mut()
            .insert(VARY, HeaderValue::from_static("HX-Request, HX-Target"));
        Ok(response)
    }
}
