//! `GET /users/{id}`: one user with the forms that change them and their API tokens. The
//! page that issues a token shows it once (see [`super::tokens`]).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::MIN_PASSWORD_LEN;
use chrono::NaiveDateTime;

use crate::db::{now, ApiToken, DbConnection, RecoveryCode, TotpRow, User};
use crate::domain::token_policy::{DEFAULT_LIFETIME_DAYS, MAX_LIFETIME_DAYS};
use crate::domain::{Role, TokenScope};
use crate::web::auth::Admin;
use crate::web::error::{WebError, WebResult};
use crate::web::identity::Identity;
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::users::list::UserRow;
use crate::web::view::timestamp;

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created_at: String,
    /// Each stored scope and whether the user's current role lets the token use it.
    pub scopes: Vec<(TokenScope, bool)>,
    pub expires: String,
    pub expired: bool,
    pub last_used: String,
    pub last_used_addr: String,
    pub revoked: String,
}

impl TokenRow {
    pub fn new(t: &ApiToken, role: Role, at: NaiveDateTime) -> TokenRow {
        let scopes = t.scopes().map_or_else(Vec::new, |s| {
            s.iter().map(|s| (s, role.allows(s.least_role()))).collect()
        });
        TokenRow {
            id: t.id.clone(),
            name: t.name.clone(),
            created_at: timestamp(&t.created_at),
            scopes,
            expires: t
                .expires_at
                .as_ref()
                .map_or_else(|| "never".to_string(), timestamp),
            expired: t.is_expired(at),
            last_used: t.last_used_at.as_ref().map(timestamp).unwrap_or_default(),
            last_used_addr: t.last_used_addr.clone().unwrap_or_default(),
            revoked: t.revoked_at.as_ref().map(timestamp).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "users/detail.html")]
struct UserPage {
    layout: Layout,
    user: UserRow,
    tokens: Vec<TokenRow>,
    /// The issue form's checkboxes: each scope, what it allows, and whether this user's
    /// role can use it at all (the others are not offered).
    scope_choices: Vec<(TokenScope, &'static str, bool)>,
    default_days: i64,
    max_days: i64,
    roles: &'static [Role],
    min_length: usize,
    /// A token just issued, shown this once.
    new_token: Option<(String, String)>,
    errors: DetailErrors,
    /// The page of the signed-in admin: no Delete (nobody deletes their own account).
    is_self: bool,
    /// Two-factor sign-in: `on`, `pending` (set up, not confirmed) or `off`.
    two_factor: &'static str,
    two_factor_since: String,
    recovery_codes_left: i64,
}

/// A message per form of the page (role, access, password, token); empty where none.
#[derive(Debug, Default)]
pub struct DetailErrors {
    pub role: String,
    pub access: String,
    pub password: String,
    pub token: String,
    pub token_scopes: String,
    pub token_expiry: String,
    pub two_factor: String,
}

impl DetailErrors {
    pub fn is_empty(&self) -> bool {
        self.role.is_empty()
            && self.access.is_empty()
            && self.password.is_empty()
            && self.token.is_empty()
            && self.token_scopes.is_empty()
            && self.token_expiry.is_empty()
            && self.two_factor.is_empty()
    }
}

pub async fn show(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let identity = admin.identity;
    let html = state
        .db(move |conn| render(conn, &identity, &id, None, DetailErrors::default()))
        .await?;
    Ok(html_response(StatusCode::OK, html))
}

/// The page of user `id`; `new_token` is `(name, token)` right after issuing one, `errors`
/// what a refused form says next to its field.
pub fn render(
    conn: &mut DbConnection,
    identity: &Identity,
    id: &str,
    new_token: Option<(String, String)>,
    errors: DetailErrors,
) -> WebResult<String> {
    let user = User::find_by_id(conn, id)?;
    let tokens = ApiToken::list_for_user(conn, id)?;
    let (role, at) = (user.role(), now());
    let totp = TotpRow::find(conn, id)?;
    let (two_factor, two_factor_since) = match &totp {
        Some(TotpRow {
            confirmed_at: Some(at),
            ..
        }) => ("on", timestamp(at)),
        Some(_) => ("pending", String::new()),
        None => ("off", String::new()),
    };
    let page = UserPage {
        layout: Layout::new(identity, "users"),
        user: UserRow::from(&user),
        tokens: tokens.iter().map(|t| TokenRow::new(t, role, at)).collect(),
        scope_choices: TokenScope::ALL
            .iter()
            .map(|s| (*s, s.explained(), role.allows(s.least_role())))
            .collect(),
        default_days: DEFAULT_LIFETIME_DAYS,
        max_days: MAX_LIFETIME_DAYS,
        roles: Role::ALL,
        min_length: MIN_PASSWORD_LEN,
        new_token,
        errors,
        is_self: identity.user.id == id,
        two_factor,
        two_factor_since,
        recovery_codes_left: RecoveryCode::unused(conn, id)?,
    };
    page.render().map_err(WebError::from)
}

/// The page of user `id` again with `status` and `message` next to the form `field` says
/// (`role`, `access`, `password`, `token`, `token_scopes`, `token_expiry` or `two_factor`),
/// after that form was refused.
pub async fn refused(
    state: &WebState,
    identity: Identity,
    id: String,
    status: StatusCode,
    field: fn(&mut DetailErrors) -> &mut String,
    message: String,
) -> WebResult<HttpResponse> {
    let mut errors = DetailErrors::default();
    *field(&mut errors) = message;
    let html = state
        .db(move |conn| render(conn, &identity, &id, None, errors))
        .await?;
    Ok(html_response(status, html))
}
