//! Full page or fragment from one handler. htmx marks its requests with `HX-Request` and
//! swaps the answer into part of the page it came from; the same URL without it (scripts
//! off, a reload, a bookmark) must answer the whole page. A handler takes [`HtmxRequest`]
//! and builds its fragment; [`HtmxRequest::answer`] sends it alone to htmx, or the page
//! built around it to everyone else.

use std::convert::Infallible;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderValue, VARY};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use askama::Template;

use crate::web::error::WebResult;
use crate::web::layout::html_response;

/// Whether the request came from htmx (it carries `HX-Request`).
#[derive(Debug, Clone, Copy)]
pub struct HtmxRequest {
    pub is_htmx: bool,
}

impl FromRequest for HtmxRequest {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(HtmxRequest {
            is_htmx: req.headers().contains_key("HX-Request"),
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
            .insert(VARY, HeaderValue::from_static("HX-Request"));
        Ok(response)
    }
}
