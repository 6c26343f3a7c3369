//! `GET /login`: the sign-in form, with a fresh double-submit CSRF token.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{cookie, LOGIN_CSRF_COOKIE};
use crate::auth::new_token;
use crate::web::error::WebResult;
use crate::web::layout::Layout;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub next: String,
    pub username: String,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn show(req: HttpRequest, query: web::Query<LoginQuery>) -> WebResult<HttpResponse> {
    // Shown even with a session: signing in again (as someone else) replaces it.
    let token = new_token();
    render_form(
        &req,
        token,
        super::safe_next(query.next.as_deref()),
        String::new(),
        None,
        actix_web::http::StatusCode::OK,
    )
}

/// The form, with `token` set in both the page and the cookie.
pub fn render_form(
    req: &HttpRequest,
    token: String,
    next: String,
    username: String,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> WebResult<HttpResponse> {
    let page = LoginPage {
        layout: Layout::anonymous(),
        csrf_token: token.clone(),
        next,
        username,
        error,
    };
    Ok(HttpResponse::build(status)
        .cookie(cookie(req, LOGIN_CSRF_COOKIE, token))
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}
