//! API tokens for scripts: `POST /users/{id}/tokens` issues one (shown once, only its hash
//! is kept) with its scopes and expiry, and `POST /users/{id}/tokens/{token_id}/revoke` ends
//! it. A token does what its scopes and its user's current role both allow, stops at its
//! expiry, and stops when the user is disabled. The policy is `domain::token_policy`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::{new_token, token_hash};
use crate::db::{ApiToken, User};
use crate::domain::token_policy::check_token_name;
use crate::domain::{TokenExpiry, TokenScope, TokenScopes};
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::state::WebState;
use crate::web::users::detail::{refused, render, DetailErrors};

/// The issue form: `scope` repeats (one checkbox each); `expires_on` (a date), when filled,
/// wins over the `expires` choice (days or `never`).
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: Vec<String>,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    expires_on: String,
}

/// A valid request to issue a token, or the field that is wrong and why.
struct TokenRequest {
    name: String,
    scopes: TokenScopes,
    expiry: TokenExpiry,
}

/// Which of the page's messages a refusal goes to.
type FieldFn = fn(&mut DetailErrors) -> &mut String;
type FieldError = (FieldFn, String);

impl TryFrom<TokenForm> for TokenRequest {
    type Error = FieldError;
    fn try_from(form: TokenForm) -> Result<TokenRequest, FieldError> {
        let name = check_token_name(&form.name).map_err(|m| (token_field as FieldFn, m))?;
        let scopes = form
            .scope
            .iter()
            .map(|s| s.parse::<TokenScope>())
            .collect::<Result<Vec<_>, _>>()
            .and_then(|list| TokenScopes::from_list(&list))
            .map_err(|m| (scope_field as FieldFn, m))?;
        let chosen = if form.expires_on.trim().is_empty() {
            &form.expires
        } else {
            &form.expires_on
        };
        let expiry = chosen
            .parse::<TokenExpiry>()
            .map_err(|m| (expiry_field as FieldFn, m))?;
        Ok(TokenRequest {
            name,
            scopes,
            expiry,
        })
    }
}

pub async fn issue(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
    body: web::Bytes,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let form: TokenForm = serde_html_form::from_bytes(&body)
        .map_err(|e| WebError::bad_request(format!("bad form: {e}")))?;
    let request = match TokenRequest::try_from(form) {
        Ok(request) => request,
        Err((field, message)) => {
            let status = StatusCode::BAD_REQUEST;
            return refused(&state, admin.identity, id, status, field, message).await;
        }
    };
    let by = admin.username().to_string();
    let identity = admin.identity.clone();
    let user_id = id.clone();
    let outcome = state
        .db(move |conn| {
            let user = User::find_by_id(conn, &id)?;
            // The policy first: a refused token writes nothing.
            if let Err(m) = request.scopes.check_role(&user.username, user.role()) {
                return Ok::<_, WebError>(Err((scope_field as FieldFn, m)));
            }
            let token = new_token();
            let mut row = ApiToken::new(
                &user.id,
                &request.name,
                token_hash(&token),
                &request.scopes,
                None,
            );
            // From the row's own creation time, so "30 days" is exactly that.
            row.expires_at = match request.expiry.resolve(&request.scopes, row.created_at) {
                Ok(at) => at,
                Err(m) => return Ok(Err((expiry_field as FieldFn, m))),
            };
            ApiToken::issue(conn, &row, &user, &by)?;
            render(
                conn,
                &identity,
                &id,
                Some((request.name, token)),
                DetailErrors::default(),
            )
            .map(Ok)
        })
        .await?;
    match outcome {
        // The token is in this page only: keep it out of every cache.
        Ok(html) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(html)),
        Err((field, message)) => {
            let status = StatusCode::BAD_REQUEST;
            refused(&state, admin.identity, user_id, status, field, message).await
        }
    }
}

fn token_field(errors: &mut DetailErrors) -> &mut String {
    &mut errors.token
}

fn scope_field(errors: &mut DetailErrors) -> &mut String {
    &mut errors.token_scopes
}

fn expiry_field(errors: &mut DetailErrors) -> &mut String {
    &mut errors.token_expiry
}

pub async fn revoke(
    state: web::Data<WebState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> WebResult<HttpResponse> {
    let (id, token_id) = path.into_inner();
    let by = admin.username().to_string();
    let target = format!("/users/{id}");
    state
        .db(move |conn| {
            let user = User::find_by_id(conn, &id)?;
            let token = ApiToken::list_for_user(conn, &id)?
                .into_iter()
                .find(|t| t.id == token_id)
                .ok_or_else(|| WebError::NotFound(format!("API token `{token_id}` not found")))?;
            ApiToken::revoke_noted(conn, &token, &user, &by)?;
            Ok::<_, WebError>(())
        })
        .await?;
    Ok(see_other(&target))
}
