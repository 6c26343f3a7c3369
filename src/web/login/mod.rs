//! Signing in and out. The sign-in form is protected against CSRF before any session exists
//! by a double-submit token: a random value in a short-lived cookie and in the form, which
//! must match. Each sign-in creates a new session (a fresh id, never the one the browser
//! came with), and every attempt, failed ones included, goes to the audit log.

pub(crate) mod code_check;
mod page;
pub mod second_factor;
mod submit;
pub(crate) mod throttle;

pub use page::show;
pub use submit::{logout, submit};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

/// The pre-session CSRF cookie of the sign-in form.
pub const LOGIN_CSRF_COOKIE: &str = "coffer_login";

/// Cookies are `Secure` when the browser reached us over TLS (directly or via a proxy that
/// says so in `X-Forwarded-Proto`/`Forwarded`).
pub fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

pub fn cookie<'a>(req: &HttpRequest, name: &'a str, value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(over_tls(req))
        .finish()
}

/// A cookie that tells the browser to forget `name`.
pub fn removal(req: &HttpRequest, name: &str) -> Cookie<'static> {
    let mut gone = cookie(req, name, String::new()).into_owned();
    gone.make_removal();
    gone
}

/// Where to go after signing in: only a local path, so `next` cannot send anyone away.
/// Browsers drop tabs and newlines inside URLs and read `\` as `/`, so `/<TAB>/evil.example`
/// or `/\evil.example` would become `//evil.example`: any control character or backslash
/// is refused, and the path may not start with two slashes.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path[1..].starts_with('/')
                && !path.contains(|c: char| c == '\\' || c.is_control())
                && !path.starts_with("/login") =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/backups?page=2")), "/backups?page=2");
        assert_eq!(safe_next(Some("/backups/a%2Fb")), "/backups/a%2Fb");
        assert_eq!(safe_next(Some("/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("evil.example")), "/");
        assert_eq!(safe_next(Some("/login")), "/");
        assert_eq!(safe_next(Some("")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn next_cannot_become_a_protocol_relative_url() {
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\t\\evil.example",
            "/a\\b",
            "/\u{0}/evil.example",
            "/\u{7f}/evil.example",
            "/\u{85}/evil.example",
            "/backups\r\nSet-Cookie: x=1",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
    }
}
