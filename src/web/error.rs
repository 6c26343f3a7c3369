//! The console's one error type. Each variant is a status code and a message the user may
//! read; unexpected failures are logged with their cause and shown as a generic message, so
//! nothing internal (paths, SQL, secrets) leaks into a page. Pages get an HTML error page,
//! the JSON API gets `{"error": …}` (see [`ApiError`]).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::db::DbError;
use crate::error::Error as CofferError;
use crate::full_disk;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Malformed form, query or JSON; the message says what is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// No session: pages send the browser to the sign-in page, then back to `next`.
    #[error("sign in first")]
    SignIn { next: String },
    /// No session or token on an API route.
    #[error("authentication required: sign in or send `Authorization: Bearer <token>`")]
    Unauthenticated,
    /// A bearer token that is known but cannot be used (expired): 401 with why.
    #[error("{0}")]
    TokenUnusable(String),
    /// A generated password must be replaced before anything else.
    #[error("choose a new password first")]
    PasswordChange,
    /// The session has the password but waits for the second factor (the code page).
    #[error("sign-in is not complete: enter the code of your authenticator app first")]
    SecondFactor,
    /// `[security] require_2fa`: two-factor sign-in must be set up before anything else.
    #[error("set up two-factor sign-in first")]
    SecondFactorEnrolment,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request is understood but refused in the current state (e.g. a parent in use).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// The server is too busy right now, or its database cannot be reached; trying again
    /// later may work.
    #[error("{0}")]
    Unavailable(String),
    /// A write failed because a filesystem Coffer writes to is full (507). The message
    /// names that filesystem, looked up when it is shown (see [`crate::full_disk`]).
    #[error("a filesystem Coffer writes to is full: {0}")]
    DiskFull(String),
    /// Anything unexpected; logged in full, shown as a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type WebResult<T> = Result<T, WebError>;

impl WebError {
    pub fn bad_request(message: impl Into<String>) -> WebError {
        WebError::BadRequest(message.into())
    }

    /// What the user is shown: the message, except for internal errors.
    pub fn public_message(&self) -> String {
        match self {
            WebError::Internal(_) => {
                "Something went wrong on the server; the details are in its log.".into()
            }
            WebError::DiskFull(detail) => crate::full_disk::describe(detail),
            other => other.to_string(),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            WebError::BadRequest(_) => "Bad request",
            WebError::SignIn { .. } | WebError::Unauthenticated => "Sign in required",
            WebError::TokenUnusable(_) => "Token not usable",
            WebError::PasswordChange => "New password required",
            WebError::SecondFactor => "Code required",
            WebError::SecondFactorEnrolment => "Two-factor sign-in required",
            WebError::Forbidden(_) => "Not allowed",
            WebError::NotFound(_) => "Not found",
            WebError::Conflict(_) => "Not possible now",
            WebError::TooManyRequests(_) => "Too many attempts",
            WebError::Unavailable(_) => "Busy",
            WebError::DiskFull(_) => "Disk full",
            WebError::Internal(_) => "Server error",
        }
    }
}

impl From<CofferError> for WebError {
    fn from(e: CofferError) -> WebError {
        match e {
            e @ CofferError::NotFound { .. } => WebError::NotFound(e.to_string()),
            CofferError::Invalid(message) => WebError::BadRequest(message),
            CofferError::Refused(message) => WebError::Conflict(message),
            CofferError::Source(message) => WebError::Conflict(message),
            CofferError::Db(db) => db.into(),
            CofferError::Io { ref source, .. } if full_disk::is_full_io(source) => {
                WebError::DiskFull(e.to_string())
            }
            CofferError::Queue(ref message) if full_disk::is_full_text(message) => {
                WebError::DiskFull(e.to_string())
            }
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<DbError> for WebError {
    fn from(e: DbError) -> WebError {
        match e {
            DbError::NotFound { what, id } => {
                WebError::NotFound(format!("{what} `{id}` not found"))
            }
            DbError::IllegalTransition { .. } => WebError::Conflict(e.to_string()),
            ref other if full_disk::is_full_text(&other.to_string()) => {
                WebError::DiskFull(e.to_string())
            }
            // The database server is down or restarting: nothing is wrong with the request.
            DbError::Pool(_) | DbError::Connect(_) => {
                tracing::warn!("the metadata database cannot be reached: {e}");
                WebError::Unavailable(
                    "The metadata database cannot be reached right now. Try again in a moment."
                        .into(),
                )
            }
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for WebError {
    fn from(e: actix_web::error::BlockingError) -> WebError {
        WebError::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> WebError {
        WebError::Internal(format!("rendering a page failed: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: crate::web::layout::Layout,
    title: &'a str,
    status: u16,
    message: &'a str,
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::SignIn { .. }
            | WebError::PasswordChange
            | WebError::SecondFactor
            | WebError::SecondFactorEnrolment => StatusCode::SEE_OTHER,
            WebError::Unauthenticated | WebError::TokenUnusable(_) => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::DiskFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::SignIn { next } => {
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return see_other(&target);
            }
            WebError::PasswordChange => return see_other("/account/password"),
            WebError::SecondFactor => return see_other("/login/2fa"),
            WebError::SecondFactorEnrolment => return see_other("/account/2fa"),
            WebError::Internal(detail) => tracing::error!("request failed: {detail}"),
            WebError::DiskFull(detail) => tracing::error!("request refused: {detail}"),
            _ => {}
        }
        let status = self.status_code();
        let message = self.public_message();
        let page = ErrorPage {
            layout: crate::web::layout::Layout::anonymous(),
            title: self.title(),
            status: status.as_u16(),
            message: &message,
        };
        match page.render() {
            Ok(html) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(html),
            Err(_) => HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(message),
        }
    }
}

/// The body of every error of the JSON API (and of its OpenAPI document).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
    /// A schedule that was not saved: the message of each bad field, by field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<std::collections::BTreeMap<String, String>>,
}

/// An error of the JSON API: the same statuses, as `{"error": "…"}`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            WebError::SignIn { .. } | WebError::SecondFactor => StatusCode::UNAUTHORIZED,
            WebError::PasswordChange | WebError::SecondFactorEnrolment => StatusCode::FORBIDDEN,
            other => other.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match &self.0 {
            WebError::Internal(detail) => tracing::error!("API request failed: {detail}"),
            WebError::DiskFull(detail) => tracing::error!("API request refused: {detail}"),
            _ => {}
        }
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.0.public_message(),
            fields: None,
        })
    }
}

/// A 303 redirect (the answer to a successful form post).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
