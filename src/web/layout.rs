//! What the page frame (`templates/base.html`) needs: who is signed in, their CSRF token for
//! the forms on the page, and which navigation entry is current.

use crate::domain::Role;
use crate::web::identity::Identity;

pub struct Layout {
    pub user: Option<SignedIn>,
    /// The navigation entry to highlight (`dashboard`, `backups`, …).
    pub active: &'static str,
}

pub struct SignedIn {
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
}

impl Layout {
    pub fn new(identity: &Identity, active: &'static str) -> Layout {
        Layout {
            user: Some(SignedIn {
                username: identity.user.username.clone(),
                role: identity.user.role(),
                csrf_token: identity.csrf_token().to_string(),
            }),
            active,
        }
    }

    /// The frame for pages shown before signing in.
    pub fn anonymous() -> Layout {
        Layout {
            user: None,
            active: "",
        }
    }

    pub fn csrf_token(&self) -> &str {
        self.user.as_ref().map_or("", |u| &u.csrf_token)
    }

    /// Operators and admins create, verify and download backups.
    pub fn can_operate(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.role.allows(Role::Operator))
    }

    /// Admins restore, delete, and edit settings and users.
    pub fn is_admin(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.role.allows(Role::Admin))
    }
}

/// A rendered page as the answer, with `status` (every HTML response goes through here).
pub fn html_response(status: actix_web::http::StatusCode, html: String) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html)
}
