//! Role checks as extractors: a handler that takes `Viewer`, `Operator` or `Admin` cannot run
//! for anyone with less power. Without an identity, pages redirect to `/login` and API
//! routes answer 401; with too little power, 403. A user who must replace a generated
//! password is sent to do that first; so is a user who must set up two-factor sign-in, and a
//! session still waiting for its second factor can do nothing but enter it or sign out.

use std::future::{ready, Ready};
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::domain::Role;
use crate::web::error::{ApiError, WebError};
use crate::web::identity::{identity_of, Identity};

pub trait MinimumRole {
    const ROLE: Role;
}

pub struct ViewerRole;
pub struct OperatorRole;
pub struct AdminRole;

impl MinimumRole for ViewerRole {
    const ROLE: Role = Role::Viewer;
}
impl MinimumRole for OperatorRole {
    const ROLE: Role = Role::Operator;
}
impl MinimumRole for AdminRole {
    const ROLE: Role = Role::Admin;
}

/// A signed-in user with at least the role `R`.
pub struct Authed<R> {
    pub identity: Identity,
    role: PhantomData<R>,
}

/// Anyone signed in (viewers read).
pub type Viewer = Authed<ViewerRole>;
/// Operators and admins (create, verify, download).
pub type Operator = Authed<OperatorRole>;
/// Admins only (restore, delete, settings, users).
pub type Admin = Authed<AdminRole>;

impl<R> Authed<R> {
    pub fn username(&self) -> &str {
        &self.identity.user.username
    }

    pub fn role(&self) -> Role {
        self.identity.user.role()
    }
}

/// Paths a user with a generated password may still use.
const PASSWORD_CHANGE_PATHS: &[&str] = &["/account/password", "/logout"];
/// Paths a user who must set up two-factor sign-in (`[security] require_2fa`) may still use.
pub const ENROLMENT_PATHS: &[&str] = &[
    "/account/2fa",
    "/account/2fa/setup",
    "/account/2fa/confirm",
    "/logout",
];
/// The one path with an extractor that a session waiting for its code may use (the code
/// page itself reads the session without one, see `login::second_factor`).
const AWAITING_CODE_PATHS: &[&str] = &["/logout"];

impl<R: MinimumRole> FromRequest for Authed<R> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(check::<R>(req).map_err(|e| {
            if is_api(req) {
                ApiError(e).into()
            } else {
                e.into()
            }
        }))
    }
}

fn check<R: MinimumRole>(req: &HttpRequest) -> Result<Authed<R>, WebError> {
    let Some(identity) = identity_of(req) else {
        return Err(if is_api(req) {
            WebError::Unauthenticated
        } else {
            WebError::SignIn {
                next: req
                    .uri()
                    .path_and_query()
                    .map_or("/".into(), |p| p.as_str().to_string()),
            }
        });
    };
    if identity.awaits_code() && !AWAITING_CODE_PATHS.contains(&req.path()) {
        return Err(WebError::SecondFactor);
    }
    if identity.user.must_change_password && !PASSWORD_CHANGE_PATHS.contains(&req.path()) {
        return Err(WebError::PasswordChange);
    }
    if identity.must_enrol_2fa && !ENROLMENT_PATHS.contains(&req.path()) {
        return Err(WebError::SecondFactorEnrolment);
    }
    let role = identity.user.role();
    if !role.allows(R::ROLE) {
        return Err(WebError::Forbidden(format!(
            "This needs the {} role; you are signed in as {} ({}).",
            R::ROLE,
            identity.user.username,
            role
        )));
    }
    Ok(Authed {
        identity,
        role: PhantomData,
    })
}

/// JSON errors and 401 (not a sign-in redirect): the API and the metrics a scraper reads.
pub fn is_api(req: &HttpRequest) -> bool {
    req.path().starts_with("/api/") || req.path() == "/metrics"
}
