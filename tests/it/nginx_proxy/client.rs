//! An HTTPS client for the console behind nginx (ureq, which Coffer already uses for
//! webhooks): trusts only the test CA, follows no redirect, keeps cookies like a browser and
//! knows its session's CSRF token.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ureq::http::Response;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::Body;

use crate::web::harness::hidden_field;

pub struct ProxyClient {
    agent: ureq::Agent,
    /// `https://127.0.0.1:<port>`.
    pub base: String,
    cookies: RefCell<BTreeMap<String, String>>,
    pub csrf: String,
}

impl ProxyClient {
    pub fn new(base: &str, ca_pem: &Path) -> ProxyClient {
        let pem = std::fs::read(ca_pem).unwrap();
        let ca = Certificate::from_pem(&pem).expect("the test CA reads");
        let agent = ureq::Agent::config_builder()
            .tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::new_with_certs(&[ca]))
                    .build(),
            )
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        ProxyClient {
            agent,
            base: base.to_string(),
            cookies: RefCell::new(BTreeMap::new()),
            csrf: String::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> Response<Body> {
        let response = self
            .agent
            .get(self.url(path))
            .header("cookie", self.cookie_header())
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        self.remember(&response);
        response
    }

    /// A page's body, asserting a 200.
    pub fn page(&self, path: &str) -> String {
        let mut response = self.get(path);
        let body = response.body_mut().read_to_string().unwrap();
        assert_eq!(response.status(), 200, "GET {path}: {body}");
        body
    }

    /// Posts a form with this session's CSRF token added.
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response<Body> {
        let mut all = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        let response = self
            .agent
            .post(self.url(path))
            .header("cookie", self.cookie_header())
            .send_form(all)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        self.remember(&response);
        response
    }

    /// Posts `body` as it is (no CSRF token, no cookie).
    pub fn post_bytes(&self, path: &str, body: Vec<u8>) -> Response<Body> {
        self.agent
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Signs in through the form (its double-submit cookie included) and reads the
    /// session's CSRF token; returns the sign-in answer's `Set-Cookie` headers.
    pub fn sign_in(&mut self, username: &str, password: &str) -> Vec<String> {
        let form = self.page("/login");
        let token = hidden_field(&form, "csrf_token").expect("sign-in form has a CSRF token");
        self.csrf = token;
        let response = self.post(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("next", "/"),
            ],
        );
        assert_eq!(response.status(), 303, "sign-in through nginx");
        let set_cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let page = self.page("/");
        self.csrf = hidden_field(&page, "csrf_token").expect("page has a CSRF token");
        set_cookies
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .borrow()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps what `Set-Cookie` sets; an empty value or `Max-Age=0` forgets the cookie.
    fn remember(&self, response: &Response<Body>) {
        for header in response.headers().get_all("set-cookie") {
            let text = header.to_str().unwrap();
            let pair = text.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let gone = value.is_empty() || text.to_ascii_lowercase().contains("max-age=0");
            let mut cookies = self.cookies.borrow_mut();
            if gone {
                cookies.remove(name.trim());
            } else {
                cookies.insert(name.trim().to_string(), value.trim().to_string());
            }
        }
    }
}

/// The value of a response header, or "" when it is missing.
pub fn header(response: &Response<Body>, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}
