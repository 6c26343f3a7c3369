//! Who is asking. A middleware resolves every request's session cookie or bearer token to
//! an [`Identity`] (or none) once, and checks the CSRF token of every state-changing request
//! made with a session cookie — before any handler runs, so no handler can forget it.
//! Requests with a bearer token carry no ambient credential and need no CSRF token; a token
//! is taken only by the API and `/metrics`, and only for the routes its scopes cover
//! (`api::token_use`). Role checks happen in the extractors of [`super::auth`], so a token
//! does what both its scopes and its user's current role allow.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::auth::{same_secret, token_hash};
use crate::db::{ApiToken, Session, TokenCheck, TotpRow, User};
use crate::domain::TokenScopes;
use crate::web::api::{token_use, TokenUse};
use crate::web::client_addr::client_addr;
use crate::web::error::{ApiError, WebError};
use crate::web::state::WebState;

pub const SESSION_COOKIE: &str = "coffer_session";
pub const CSRF_HEADER: &str = "X-CSRF-Token";
pub const CSRF_FIELD: &str = "csrf_token";
/// Forms are small; a larger body is not a form this console sent.
pub const MAX_FORM_BYTES: usize = 256 * 1024;
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// The signed-in user of a request and how they proved it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    pub via: Credential,
    /// `[security] require_2fa` names this user's role and they have no second factor yet:
    /// they must set one up before anything else.
    pub must_enrol_2fa: bool,
}

/// `Debug` shows which kind, never the session token hash or the CSRF token.
#[derive(Clone)]
pub enum Credential {
    Session {
        token_hash: String,
        csrf_token: String,
        /// Signed in with the password only: waits for the second factor.
        awaiting_code: bool,
    },
    ApiToken {
        token_id: String,
        scopes: TokenScopes,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Session { .. } => f.write_str("Session { <redacted> }"),
            Credential::ApiToken { token_id, .. } => f
                .debug_struct("ApiToken")
                .field("token_id", token_id)
                .finish(),
        }
    }
}

impl Identity {
    /// A session that has the password but still waits for the second factor.
    pub fn awaits_code(&self) -> bool {
        matches!(
            self.via,
            Credential::Session {
                awaiting_code: true,
                ..
            }
        )
    }

    /// The CSRF token pages must embed in their forms (empty for API tokens).
    pub fn csrf_token(&self) -> &str {
        match &self.via {
            Credential::Session { csrf_token, .. } => csrf_token,
            Credential::ApiToken { .. } => "",
        }
    }
}

/// The identity the middleware found, if any.
pub fn identity_of(req: &actix_web::HttpRequest) -> Option<Identity> {
    req.extensions()
        .get::<Option<Identity>>()
        .cloned()
        .flatten()
}

pub async fn identify(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if is_public(req.path()) {
        req.extensions_mut().insert(None::<Identity>);
        return next.call(req).await;
    }
    let api = crate::web::auth::is_api(req.request());
    // Errors here are answered in the form the route speaks: JSON under /api/.
    let answer = |e: WebError| -> actix_web::Error {
        if api {
            ApiError(e).into()
        } else {
            e.into()
        }
    };
    let state = req
        .app_data::<web::Data<WebState>>()
        .cloned()
        .ok_or_else(|| answer(WebError::Internal("console state missing".into())))?;
    let identity = resolve(&state, &req).await.map_err(answer)?;
    if let Some(Identity {
        via: Credential::Session { csrf_token, .. },
        ..
    }) = &identity
    {
        // The sign-in form carries its own double-submit token (see `login`).
        if changes_state(req.method()) && req.path() != "/login" {
            check_csrf(&mut req, csrf_token).await.map_err(answer)?;
        }
    }
    req.extensions_mut().insert(identity);
    next.call(req).await
}

/// Routes that never need to know who asks (no session lookup for every stylesheet).
fn is_public(path: &str) -> bool {
    path.starts_with("/static/") || path == "/health" || path == "/ready"
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn resolve(state: &WebState, req: &ServiceRequest) -> Result<Option<Identity>, WebError> {
    if let Some(token) = bearer_token(req) {
        return resolve_token(state, req, token).await.map(Some);
    }
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = token_hash(cookie.value());
    let idle = state.app.settings.web.session_idle;
    let security = state.app.settings.security.clone();
    state
        .db(move |conn| {
            let Some((session, user)) = Session::find_live(conn, &hash)? else {
                return Ok::<_, WebError>(None);
            };
            let must_enrol_2fa = security.requires_2fa(user.role())
                && TotpRow::find_confirmed(conn, &user.id)?.is_none();
            let since = crate::db::now() - session.last_seen_at;
            // A session waiting for the code ends at its fixed time, however busy.
            if since.num_seconds() >= TOUCH_EVERY_SECONDS && !session.awaiting_second_factor {
                // Keeping the session alive is worth a write, not a refused page: on a full
                // disk (or a read-only database) reading must keep working.
                if let Err(e) = Session::touch(conn, &hash, idle) {
                    tracing::warn!("could not record the session's activity: {e}");
                }
            }
            Ok(Some(Identity {
                user,
                via: Credential::Session {
                    token_hash: session.token_hash,
                    csrf_token: session.csrf_token,
                    awaiting_code: session.awaiting_second_factor,
                },
                must_enrol_2fa,
            }))
        })
        .await
}

/// A bearer token: known, unexpired, for an API route (or `/metrics`) its scopes cover. A
/// wrong token is an error, not an anonymous request.
async fn resolve_token(
    state: &WebState,
    req: &ServiceRequest,
    token: String,
) -> Result<Identity, WebError> {
    let hash = token_hash(&token);
    let addr =
        client_addr(req.request(), &state.app.settings.web.trusted_proxies).map(|a| a.to_string());
    let check = state
        .db(move |conn| ApiToken::authenticate(conn, &hash, addr.as_deref()))
        .await?;
    let (token, user) = match check {
        TokenCheck::Refused => return Err(WebError::Unauthenticated),
        TokenCheck::Expired { token, .. } => {
            let at = token.expires_at.unwrap_or_default();
            return Err(WebError::TokenUnusable(format!(
                "API token `{}` expired on {}; ask an admin for a new one",
                token.name,
                at.format("%Y-%m-%d %H:%M UTC")
            )));
        }
        TokenCheck::Usable { token, user } => (token, user),
    };
    // A stored value this version cannot read allows nothing.
    let Some(scopes) = token.scopes() else {
        tracing::warn!(
            "API token {} has unreadable scopes `{}`",
            token.id,
            token.scopes
        );
        return Err(WebError::Forbidden(format!(
            "API token `{}` has scopes this version cannot read; issue a new one",
            token.name
        )));
    };
    // Checked after the lookup, so a wrong token is a 401 wherever it is sent.
    let needed = match token_use(req.method(), req.path()) {
        TokenUse::Page => {
            return Err(WebError::Forbidden(
                "API tokens are accepted only by /api/v1 and /metrics; the console's pages \
                 need a signed-in session."
                    .into(),
            ))
        }
        TokenUse::Needs(scope) => Some(scope),
        TokenUse::NoSuchRoute => None,
    };
    if let Some(needed) = needed.filter(|s| !scopes.contains(*s)) {
        return Err(WebError::Forbidden(format!(
            "This needs the `{needed}` scope; API token `{}` has {}.",
            token.name, scopes
        )));
    }
    Ok(Identity {
        user,
        via: Credential::ApiToken {
            token_id: token.id,
            scopes,
        },
        // Scripts have no way to enrol; an admin issues their tokens.
        must_enrol_2fa: false,
    })
}

fn bearer_token(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// The token comes in the `X-CSRF-Token` header (htmx, scripts) or the `csrf_token` field
/// of a urlencoded form; the body is read and put back for the handler.
async fn check_csrf(req: &mut ServiceRequest, expected: &str) -> Result<(), WebError> {
    let refused = || {
        WebError::Forbidden(
            "This form has expired or did not come from this console (CSRF token missing or \
             wrong). Reload the page and try again."
                .into(),
        )
    };
    if let Some(sent) = req.headers().get(CSRF_HEADER) {
        let sent = sent.to_str().unwrap_or_default();
        return if same_secret(sent, expected) {
            Ok(())
        } else {
            Err(refused())
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let body = read_body(req).await?;
    let sent = form_urlencoded::parse(&body)
        .find(|(key, _)| key == CSRF_FIELD)
        .map(|(_, value)| value.into_owned());
    req.set_payload(payload_of(body));
    match sent {
        Some(sent) if same_secret(&sent, expected) => Ok(()),
        _ => Err(refused()),
    }
}

async fn read_body(req: &mut ServiceRequest) -> Result<web::Bytes, WebError> {
    use futures_util::StreamExt;
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| WebError::bad_request(format!("cannot read the form: {e}")))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(WebError::bad_request(format!(
                "the form is larger than {MAX_FORM_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn payload_of(body: web::Bytes) -> Payload {
    let (_, mut stream) = actix_http::h1::Payload::create(true);
    stream.unread_data(body);
    Payload::from(stream)
}

#[cfg(test)]
mod tests {
    use super::Credential;

    #[test]
    fn debug_output_redacts_session_secrets() {
        let session = Credential::Session {
            token_hash: "hash-secret".into(),
            csrf_token: "csrf-secret".into(),
            awaiting_code: false,
        };
        let printed = format!("{session:?}");
        assert!(!printed.contains("secret"), "{printed}");
        let token = Credential::ApiToken {
            token_id: "t1".into(),
            scopes: crate::domain::TokenScopes::all(),
        };
        assert!(format!("{token:?}").contains("t1"));
    }
}
