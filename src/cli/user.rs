use std::io::BufRead;

use clap::{Args as ClapArgs, Subcommand};

use super::backup::cli_user;
use crate::app::App;
use crate::auth::hash_password;
use crate::db::{write_transaction, LogEntry, NewLogEntry, NewUser, Session, TotpRow, User};
use crate::domain::{LogLevel, Role};
use crate::error::{Error, IoContext, Result};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Add a console user; the password is read from standard input (one line).
    Add {
        name: String,
        #[arg(long)]
        role: Role,
    },
    /// List console users.
    List,
    /// Turn off a user's two-factor sign-in (a lost phone, no recovery code left) and end
    /// their sessions: the break-glass way when no admin can sign in to the console.
    #[command(name = "2fa-reset")]
    TwoFactorReset { name: String },
}

pub fn run(app: &App, args: Args) -> Result<()> {
    match args.action {
        Action::Add { name, role } => add(app, &name, role),
        Action::TwoFactorReset { name } => two_factor_reset(app, &name),
        Action::List => {
            for user in User::list(&mut *app.conn()?)? {
                let state = if user.disabled { "disabled" } else { "enabled" };
                println!("{:<24} {:<8} {state}", user.username, user.role);
            }
            Ok(())
        }
    }
}

fn two_factor_reset(app: &App, name: &str) -> Result<()> {
    let mut conn = app.conn()?;
    let Some(user) = User::find_by_username(&mut conn, name)? else {
        return Err(Error::Refused(format!("there is no user `{name}`")));
    };
    let by = cli_user();
    let removed = write_transaction(&mut conn, |conn| {
        if !TotpRow::remove(conn, &user.id)? {
            return Ok::<_, crate::db::DbError>(false);
        }
        Session::delete_for_user(conn, &user.id)?;
        let message = format!(
            "`{by}` reset the two-factor sign-in of `{name}` from the command line (their sessions ended)"
        );
        LogEntry::insert(
            conn,
            &NewLogEntry::new(LogLevel::Warning, "user", message).by(&by),
        )?;
        Ok(true)
    })?;
    if !removed {
        return Err(Error::Refused(format!(
            "user `{name}` has no two-factor sign-in to reset"
        )));
    }
    println!("two-factor sign-in of {name} reset; their sessions ended");
    Ok(())
}

fn add(app: &App, name: &str, role: Role) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if !valid {
        return Err(Error::Refused(format!(
            "`{name}` is not a valid user name: use 1–64 letters, digits, `_`, `-`, `.` or `@`"
        )));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .ctx(|| "reading the password from standard input".into())?;
    let password = line.trim_end_matches(['\n', '\r']);
    let hash = hash_password(password).map_err(|e| Error::Refused(e.to_string()))?;
    let mut conn = app.conn()?;
    if User::find_by_username(&mut conn, name)?.is_some() {
        return Err(Error::Refused(format!("user `{name}` already exists")));
    }
    User::insert(&mut conn, &NewUser::new(name, &hash, role))?;
    app.audit(
        NewLogEntry::new(
            LogLevel::Info,
            "settings",
            format!("added user `{name}` with role {role}"),
        )
        .by(&cli_user()),
    );
    println!("added user {name} ({role})");
    Ok(())
}
