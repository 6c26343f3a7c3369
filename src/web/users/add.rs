//! `POST /users` (admins): adds a user with an initial password. Every field is checked
//! before anything is stored; a refused form comes back as the users page with the message
//! next to each wrong field (400, or 409 for a name already taken) and what was typed (never
//! the password).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::{hash_password, PasswordError};
use crate::db::{NewLogEntry, NewUser, User};
use crate::domain::{LogLevel, Role};
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::layout::html_response;
use crate::web::state::WebState;
use crate::web::users::list::render;

/// No `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct NewUserForm {
    username: String,
    role: String,
    password: String,
    /// A checkbox: present when the user must choose their own password at first sign-in.
    #[serde(default)]
    must_change_password: Option<String>,
}

/// What the add form shows: the values typed (no password).
pub struct AddForm {
    pub username: String,
    pub role: String,
    pub must_change_password: bool,
}

impl Default for AddForm {
    fn default() -> Self {
        AddForm {
            username: String::new(),
            role: Role::Viewer.as_str().to_string(),
            must_change_password: true,
        }
    }
}

/// A message per field of the add form; empty where the field is right.
#[derive(Debug, Default)]
pub struct AddErrors {
    pub username: String,
    pub role: String,
    pub password: String,
}

impl AddErrors {
    pub fn is_empty(&self) -> bool {
        self.username.is_empty() && self.role.is_empty() && self.password.is_empty()
    }
}

/// The longest user name an account can have.
pub const MAX_USERNAME_CHARS: usize = 64;

/// User names appear in logs and URLs: keep them plain.
pub fn parse_username(s: &str) -> Result<String, String> {
    let name = s.trim();
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if name.is_empty() || name.len() > MAX_USERNAME_CHARS || !plain {
        return Err(
            "a user name has 1 to 64 characters: letters, digits, “.”, “_”, “-” or “@”".into(),
        );
    }
    Ok(name.to_string())
}

pub fn parse_role(s: &str) -> Result<Role, WebError> {
    s.parse::<Role>()
        .map_err(|e| WebError::bad_request(format!("role: {e}")))
}

/// A refused password is the field's message; a failure to hash it is the server's.
pub fn password_field(
    hashed: Result<String, PasswordError>,
    message: &mut String,
) -> WebResult<Option<String>> {
    match hashed {
        Ok(hash) => Ok(Some(hash)),
        Err(PasswordError::Hashing(e)) => Err(WebError::Internal(format!("password: {e}"))),
        Err(e) => {
            *message = e.to_string();
            Ok(None)
        }
    }
}

pub async fn create(
    state: web::Data<WebState>,
    user: Admin,
    form: web::Form<NewUserForm>,
) -> WebResult<HttpResponse> {
    let form = form.into_inner();
    let shown = AddForm {
        username: form.username.clone(),
        role: form.role.clone(),
        must_change_password: form.must_change_password.is_some(),
    };
    let mut errors = AddErrors::default();
    let username = parse_username(&form.username)
        .map_err(|m| errors.username = m)
        .ok();
    let role = form
        .role
        .parse::<Role>()
        .map_err(|e| errors.role = e.to_string())
        .ok();
    let password = form.password;
    let hashed = state
        .passwords
        .run(move || hash_password(&password))
        .await?;
    let hash = password_field(hashed, &mut errors.password)?;
    let admin = user.username().to_string();
    let identity = user.identity;
    let answer = state
        .db(move |conn| {
            let (Some(username), Some(role), Some(hash)) = (username, role, hash) else {
                let html = render(conn, &identity, shown, errors, None)?;
                return Ok::<_, WebError>(Err((StatusCode::BAD_REQUEST, html)));
            };
            let mut new = NewUser::new(&username, &hash, role);
            if shown.must_change_password {
                new = new.must_change_password();
            }
            match User::insert(conn, &new) {
                Ok(created) => Ok(Ok((created, role))),
                Err(e) if e.is_unique_violation() => {
                    errors.username = format!("a user named “{username}” already exists");
                    let html = render(conn, &identity, shown, errors, None)?;
                    Ok(Err((StatusCode::CONFLICT, html)))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    let (created, role) = match answer {
        Ok(created) => created,
        Err((status, html)) => return Ok(html_response(status, html)),
    };
    let message = format!("`{admin}` added user `{}` as {role}", created.username);
    state
        .audit(NewLogEntry::new(LogLevel::Info, "user", message).by(&admin))
        .await;
    Ok(see_other(&format!("/users/{}", created.id)))
}
