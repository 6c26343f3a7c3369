//! `GET /users`: every user, and the form that adds one (`POST /users`, see [`super::add`]).
//! A refused form comes back on this page with the message next to its field; after a
//! deletion the page says which user was deleted.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::MIN_PASSWORD_LEN;
use crate::db::{DbConnection, User};
use crate::domain::Role;
use crate::web::auth::Admin;
use crate::web::error::{WebError, WebResult};
use crate::web::identity::Identity;
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::users::add::{AddErrors, AddForm};
use crate::web::view::timestamp;

pub struct UserRow {
    pub id: String,
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub last_login: String,
}

impl From<&User> for UserRow {
    fn from(u: &User) -> UserRow {
        UserRow {
            id: u.id.clone(),
            username: u.username.clone(),
            role: u.role.clone(),
            disabled: u.disabled,
            must_change_password: u.must_change_password,
            last_login: u.last_login_at.as_ref().map(timestamp).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    roles: &'static [Role],
    min_length: usize,
    form: AddForm,
    errors: AddErrors,
    /// The user just deleted (see [`ListQuery::deleted`]).
    deleted: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Set by the redirect after a deletion. Believed only while no user has that name, so a
    /// link cannot make the page claim a deletion that did not happen.
    #[serde(default)]
    deleted: Option<String>,
}

pub async fn show(
    state: web::Data<WebState>,
    user: Admin,
    query: web::Query<ListQuery>,
) -> WebResult<HttpResponse> {
    let identity = user.identity;
    let deleted = query.into_inner().deleted.filter(|name| !name.is_empty());
    let html = state
        .db(move |conn| {
            let deleted = match deleted {
                Some(name) if User::find_by_username(conn, &name)?.is_none() => Some(name),
                _ => None,
            };
            render(
                conn,
                &identity,
                AddForm::default(),
                AddErrors::default(),
                deleted,
            )
        })
        .await?;
    Ok(html_response(StatusCode::OK, html))
}

/// The page with every user; `form` and `errors` fill the add form again after a refusal.
pub fn render(
    conn: &mut DbConnection,
    identity: &Identity,
    form: AddForm,
    errors: AddErrors,
    deleted: Option<String>,
) -> WebResult<String> {
    let users = User::list(conn)?;
    let page = UsersPage {
        layout: Layout::new(identity, "users"),
        users: users.iter().map(UserRow::from).collect(),
        roles: Role::ALL,
        min_length: MIN_PASSWORD_LEN,
        form,
        errors,
        deleted,
    };
    page.render().map_err(WebError::from)
}
