//! `coffer token create|list|revoke`: API tokens for automation and Prometheus, under the
//! same policy as the console's user page (`domain::token_policy`). The new token is printed
//! once, on stdout only (alone, or in the `--json` document): never in the log, the audit
//! log or anything's arguments.

use clap::{Args as ClapArgs, Subcommand};
use serde::Serialize;

use super::backup::cli_user;
use super::output::print_json;
use crate::app::App;
use crate::auth::{new_token, token_hash};
use crate::db::{now, ApiToken, User};
use crate::domain::token_policy::check_token_name;
use crate::domain::{TokenExpiry, TokenScopes};
use crate::error::{Error, Result};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Issue a token for a user; prints it once (alone on stdout, or in the JSON).
    Create(CreateArgs),
    /// List every token: scopes, expiry, last use and its address, state.
    List {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id, or by its name (with --user when names repeat).
    Revoke {
        token: String,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, ClapArgs)]
struct CreateArgs {
    /// The user the token acts for (it never exceeds their role).
    #[arg(long)]
    user: String,
    /// What uses the token, e.g. "prometheus".
    #[arg(long)]
    name: String,
    /// One or more of read, backup, restore, admin, comma separated.
    #[arg(long)]
    scope: String,
    /// Lifetime in days (default 90).
    #[arg(long, value_name = "N", conflicts_with = "expires")]
    expires_in_days: Option<i64>,
    /// Expiry date (YYYY-MM-DD, at 00:00 UTC), or `never` (read scope alone only).
    #[arg(long, value_name = "DATE")]
    expires: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    match args.action {
        Action::Create(args) => create(app, args),
        Action::List { user, json } => list(app, user.as_deref(), json),
        Action::Revoke { token, user, json } => revoke(app, &token, user.as_deref(), json),
    }
}

/// What `create --json` prints: the one place the token appears.
#[derive(Serialize)]
struct Created<'a> {
    id: &'a str,
    name: &'a str,
    user: &'a str,
    scopes: Vec<&'static str>,
    expires_at: Option<chrono::NaiveDateTime>,
    token: &'a str,
}

fn create(app: &App, args: CreateArgs) -> Result<()> {
    let refused =
        |flag: &str, m: String| Error::Invalid(format!("{flag}: {m}; no token was issued"));
    let name = check_token_name(&args.name).map_err(|m| refused("--name", m))?;
    let scopes: TokenScopes = args.scope.parse().map_err(|m| refused("--scope", m))?;
    let (flag, expiry) = match (&args.expires_in_days, &args.expires) {
        (Some(days), _) => ("--expires-in-days", TokenExpiry::InDays(*days)),
        (None, Some(text)) if text.trim().parse::<i64>().is_ok() => {
            return Err(refused(
                "--expires",
                format!("`{text}` is not a date: use --expires-in-days for a number of days"),
            ))
        }
        (None, Some(text)) => (
            "--expires",
            text.parse().map_err(|m| refused("--expires", m))?,
        ),
        (None, None) => ("--expires-in-days", TokenExpiry::Default),
    };
    let mut conn = app.conn()?;
    let user = User::find_by_username(&mut conn, &args.user)?
        .ok_or_else(|| refused("--user", format!("there is no user `{}`", args.user)))?;
    if user.disabled {
        return Err(refused(
            "--user",
            format!("`{}` is disabled", user.username),
        ));
    }
    scopes
        .check_role(&user.username, user.role())
        .map_err(|m| refused("--scope", m))?;
    let token = new_token();
    let mut row = ApiToken::new(&user.id, &name, token_hash(&token), &scopes, None);
    // From the row's own creation time, so "7 days" is exactly that.
    row.expires_at = expiry
        .resolve(&scopes, row.created_at)
        .map_err(|m| refused(flag, m))?;
    let expires_at = row.expires_at;
    ApiToken::issue(&mut conn, &row, &user, &cli_user())?;
    if args.json {
        print_json(&Created {
            id: &row.id,
            name: &row.name,
            user: &user.username,
            scopes: scopes.iter().map(|s| s.as_str()).collect(),
            expires_at,
            token: &token,
        });
    } else {
        let expiry = expires_at.map_or_else(
            || "never expires".into(),
            |at| format!("expires {}", at.format("%Y-%m-%d %H:%M UTC")),
        );
        // The description to stderr, the token alone to stdout: `T=$(coffer token create …)`.
        eprintln!(
            "issued API token `{name}` ({}) for `{}`: scopes {scopes}, {expiry}; it is shown \
             only now",
            row.id, user.username
        );
        println!("{token}");
    }
    Ok(())
}

/// One token as `list --json` shows it.
#[derive(Serialize)]
struct Listed {
    id: String,
    name: String,
    user: String,
    role: String,
    scopes: Vec<&'static str>,
    /// The scopes the user's current role lets the token use.
    usable_scopes: Vec<&'static str>,
    created_at: chrono::NaiveDateTime,
    expires_at: Option<chrono::NaiveDateTime>,
    last_used_at: Option<chrono::NaiveDateTime>,
    last_used_addr: Option<String>,
    revoked_at: Option<chrono::NaiveDateTime>,
    /// `active`, `expired` or `revoked`.
    state: &'static str,
}

impl Listed {
    fn new(token: ApiToken, user: &User, at: chrono::NaiveDateTime) -> Listed {
        let scopes = token.scopes();
        let state = if token.revoked_at.is_some() {
            "revoked"
        } else if token.is_expired(at) {
            "expired"
        } else {
            "active"
        };
        Listed {
            scopes: scopes
                .iter()
                .flat_map(|s| s.iter())
                .map(|s| s.as_str())
                .collect(),
            usable_scopes: scopes
                .map(|s| s.usable_with(user.role()))
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.as_str())
                .collect(),
            id: token.id,
            name: token.name,
            user: user.username.clone(),
            role: user.role.clone(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
            last_used_addr: token.last_used_addr,
            revoked_at: token.revoked_at,
            state,
        }
    }
}

fn list(app: &App, only_user: Option<&str>, json: bool) -> Result<()> {
    let at = now();
    let rows: Vec<Listed> = ApiToken::list_all(&mut *app.conn()?)?
        .into_iter()
        .filter(|(_, user)| only_user.is_none_or(|u| user.username == u))
        .map(|(token, user)| Listed::new(token, &user, at))
        .collect();
    if json {
        print_json(&rows);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no API tokens");
    }
    let when = |t: &Option<chrono::NaiveDateTime>, none: &str| {
        t.map_or_else(
            || none.to_string(),
            |t| t.format("%Y-%m-%d %H:%M").to_string(),
        )
    };
    for r in rows {
        println!(
            "{}  {:<20} {:<16} {:<8} scopes {:<26} expires {:<16} last used {} from {}",
            r.id,
            r.name,
            r.user,
            r.state,
            r.scopes.join(","),
            when(&r.expires_at, "never"),
            when(&r.last_used_at, "never"),
            r.last_used_addr.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

fn revoke(app: &App, key: &str, only_user: Option<&str>, json: bool) -> Result<()> {
    let mut conn = app.conn()?;
    let all = ApiToken::list_all(&mut conn)?;
    let by_user = |(_, user): &&(ApiToken, User)| only_user.is_none_or(|u| user.username == u);
    let by_id: Vec<_> = all
        .iter()
        .filter(by_user)
        .filter(|(t, _)| t.id == key)
        .collect();
    let found = if by_id.is_empty() {
        // A name is looked for among tokens still in force; revoked ones keep their names.
        all.iter()
            .filter(by_user)
            .filter(|(t, _)| t.name == key && t.revoked_at.is_none())
            .collect()
    } else {
        by_id
    };
    let (token, user) = match found.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::Invalid(format!(
                "no API token in force has the id or name `{key}`{} (see `coffer token list`)",
                only_user.map(|u| format!(" for `{u}`")).unwrap_or_default()
            )))
        }
        many => {
            let ids: Vec<String> = many
                .iter()
                .map(|(t, u)| format!("{} ({})", t.id, u.username))
                .collect();
            return Err(Error::Invalid(format!(
                "several API tokens are named `{key}`: {}; give the id, or --user",
                ids.join(", ")
            )));
        }
    };
    let was_revoked = token.revoked_at.is_some();
    ApiToken::revoke_noted(&mut conn, token, user, &cli_user())?;
    if json {
        print_json(&serde_json::json!({
            "id": token.id,
            "name": token.name,
            "user": user.username,
            "revoked": true,
            "already_revoked": was_revoked,
        }));
    } else if was_revoked {
        println!(
            "API token `{}` of `{}` was already revoked",
            token.name, user.username
        );
    } else {
        println!("revoked API token `{}` of `{}`", token.name, user.username);
    }
    Ok(())
}
