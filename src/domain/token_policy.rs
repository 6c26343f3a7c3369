//! What an API token may do and for how long. A token carries one or more scopes; every API
//! route and `/metrics` needs exactly one scope, and its handler still needs its role. So what
//! a token can do is its scopes ∩ its user's current role, checked on every request: when a
//! user is later given a lower role, their old tokens lose that power at once.
//!
//! | scope     | allows                                                        | least role |
//! |-----------|---------------------------------------------------------------|------------|
//! | `read`    | every GET of the API (lists, details, tasks, the document) and `/metrics` | viewer |
//! | `backup`  | create backups, verify them, start drills                     | operator   |
//! | `restore` | take data out: restore (admins) and download (operators)      | operator   |
//! | `admin`   | delete backups, add, change and delete schedules              | admin      |
//!
//! A download is `restore`, not `read`: a scraper's token must never be able to carry the
//! data away, even when it was issued to an admin.
//!
//! Expiry: a token expires [`DEFAULT_LIFETIME_DAYS`] after it is issued unless another date
//! is chosen, at most [`MAX_LIFETIME_DAYS`] ahead. Only a token whose one scope is `read`
//! may never expire (a Prometheus scraper that should not stop one night); anything that
//! changes or takes data must expire.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::{text_enum, Role};

text_enum!(
    /// One power a token may carry (see the module's table).
    TokenScope { Read => "read", Backup => "backup", Restore => "restore", Admin => "admin" }
);

impl TokenScope {
    /// The least role with which anything this scope covers can be done.
    pub fn least_role(self) -> Role {
        match self {
            TokenScope::Read => Role::Viewer,
            TokenScope::Backup | TokenScope::Restore => Role::Operator,
            TokenScope::Admin => Role::Admin,
        }
    }

    /// What the scope allows, in a few words (the console's checkboxes, `--help`).
    pub fn explained(self) -> &'static str {
        match self {
            TokenScope::Read => "read lists, details, tasks and /metrics",
            TokenScope::Backup => "create and verify backups, start drills",
            TokenScope::Restore => "restore (admins) and download (operators) backups",
            TokenScope::Admin => "delete backups, change schedules",
        }
    }
}

/// The scopes of one token: never empty, stored as `read,backup` (in the order of
/// [`TokenScope::ALL`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScopes(BTreeSet<TokenScope>);

impl TokenScopes {
    /// Every scope: what tokens issued before scopes existed carry.
    pub fn all() -> TokenScopes {
        TokenScopes(TokenScope::ALL.iter().copied().collect())
    }

    pub fn from_list(scopes: &[TokenScope]) -> Result<TokenScopes, String> {
        if scopes.is_empty() {
            return Err(format!(
                "choose at least one scope: {}",
                names(TokenScope::ALL.iter().copied())
            ));
        }
        Ok(TokenScopes(scopes.iter().copied().collect()))
    }

    pub fn contains(&self, scope: TokenScope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = TokenScope> + '_ {
        self.0.iter().copied()
    }

    /// Refuses scopes the user's role could never use: a token never claims more than its
    /// user may do (the role is checked again on every request anyway).
    pub fn check_role(&self, username: &str, role: Role) -> Result<(), String> {
        let beyond: Vec<TokenScope> = self
            .iter()
            .filter(|s| !role.allows(s.least_role()))
            .collect();
        if beyond.is_empty() {
            return Ok(());
        }
        Err(format!(
            "`{username}` is a {role}: a token of theirs cannot have the scope {} (needs the {} role)",
            names(beyond.iter().copied()),
            beyond.iter().map(|s| s.least_role()).max().unwrap_or(Role::Admin)
        ))
    }

    /// The scopes this token can use while its user has `role` (shown beside the stored ones).
    pub fn usable_with(&self, role: Role) -> Vec<TokenScope> {
        self.iter()
            .filter(|s| role.allows(s.least_role()))
            .collect()
    }

    pub fn is_read_only(&self) -> bool {
        self.0.len() == 1 && self.contains(TokenScope::Read)
    }
}

fn names(scopes: impl Iterator<Item = TokenScope>) -> String {
    scopes
        .map(TokenScope::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for TokenScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            &self
                .iter()
                .map(TokenScope::as_str)
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

/// `read,backup` (spaces allowed); an unknown name is named in the error.
impl FromStr for TokenScopes {
    type Err = String;
    fn from_str(s: &str) -> Result<TokenScopes, String> {
        let scopes = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<TokenScope>().map_err(|_| {
                    format!(
                        "`{p}` is not a scope: expected one or more of {}",
                        names(TokenScope::ALL.iter().copied())
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        TokenScopes::from_list(&scopes)
    }
}

/// A token's name: 1 to 100 characters, no control characters; says what uses the token.
pub fn check_token_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(
            "a token name has 1 to 100 characters and says what uses it (e.g. “nightly script”)"
                .into(),
        );
    }
    Ok(name.to_string())
}

/// Tokens expire this many days after they are issued unless told otherwise.
pub const DEFAULT_LIFETIME_DAYS: i64 = 90;
/// No token lives longer than this, except a read-only one that never expires.
pub const MAX_LIFETIME_DAYS: i64 = 3 * 365;

/// When a token should expire, as asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenExpiry {
    /// [`DEFAULT_LIFETIME_DAYS`] from now.
    Default,
    InDays(i64),
    /// At 00:00 UTC of that day.
    On(NaiveDate),
    Never,
}

impl FromStr for TokenExpiry {
    type Err = String;
    /// `never`, `YYYY-MM-DD`, or a number of days (`90`, `90d`).
    fn from_str(s: &str) -> Result<TokenExpiry, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(TokenExpiry::Default);
        }
        if s.eq_ignore_ascii_case("never") {
            return Ok(TokenExpiry::Never);
        }
        if let Ok(days) = s.trim_end_matches('d').parse::<i64>() {
            return Ok(TokenExpiry::InDays(days));
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(TokenExpiry::On)
            .map_err(|_| {
                format!(
                    "`{s}` is not an expiry: give a date (YYYY-MM-DD), a number of days or `never`"
                )
            })
    }
}

impl TokenExpiry {
    /// The moment the token stops working (`None`: never), checked against the policy.
    pub fn resolve(
        self,
        scopes: &TokenScopes,
        now: NaiveDateTime,
    ) -> Result<Option<NaiveDateTime>, String> {
        let at = match self {
            TokenExpiry::Default => now + Duration::days(DEFAULT_LIFETIME_DAYS),
            TokenExpiry::InDays(days) if !(1..=MAX_LIFETIME_DAYS).contains(&days) => {
                return Err(format!(
                    "a token lives 1 to {MAX_LIFETIME_DAYS} days, not {days}"
                ))
            }
            TokenExpiry::InDays(days) => now + Duration::days(days),
            TokenExpiry::On(date) => date.and_hms_opt(0, 0, 0).expect("midnight exists"),
            TokenExpiry::Never if scopes.is_read_only() => return Ok(None),
            TokenExpiry::Never => {
                return Err(
                    "only a token with the `read` scope alone may never expire (a scraper); \
                     one that can change or take data needs an expiry date"
                        .into(),
                )
            }
        };
        if at <= now {
            return Err(format!(
                "the expiry {} is not in the future",
                at.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        if at > now + Duration::days(MAX_LIFETIME_DAYS) {
            return Err(format!(
                "the expiry {} is more than {MAX_LIFETIME_DAYS} days away",
                at.format("%Y-%m-%d")
            ));
        }
        Ok(Some(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 7)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    #[test]
    fn scopes_parse_print_and_name_what_is_wrong() {
        let s: TokenScopes = " backup, read ".parse().unwrap();
        assert_eq!(s.to_string(), "read,backup");
        assert!(""
            .parse::<TokenScopes>()
            .unwrap_err()
            .contains("at least one"));
        assert!("read,root"
            .parse::<TokenScopes>()
            .unwrap_err()
            .contains("`root` is not a scope"));
        assert_eq!(TokenScopes::all().to_string(), "read,backup,restore,admin");
    }

    #[test]
    fn a_token_never_claims_more_than_its_users_role() {
        let all = TokenScopes::all();
        let err = all.check_role("vic", Role::Viewer).unwrap_err();
        assert!(err.contains("backup, restore, admin"), "{err}");
        assert!("read"
            .parse::<TokenScopes>()
            .unwrap()
            .check_role("vic", Role::Viewer)
            .is_ok());
        assert!(all.check_role("ann", Role::Admin).is_ok());
        assert_eq!(
            all.usable_with(Role::Operator),
            vec![TokenScope::Read, TokenScope::Backup, TokenScope::Restore]
        );
    }

    #[test]
    fn expiry_follows_the_policy() {
        let read: TokenScopes = "read".parse().unwrap();
        let write: TokenScopes = "read,backup".parse().unwrap();
        let t = now();
        assert_eq!(
            TokenExpiry::Default.resolve(&write, t).unwrap(),
            Some(t + Duration::days(90))
        );
        assert_eq!(TokenExpiry::Never.resolve(&read, t).unwrap(), None);
        assert!(TokenExpiry::Never.resolve(&write, t).is_err());
        assert!(TokenExpiry::InDays(0).resolve(&write, t).is_err());
        assert!(TokenExpiry::InDays(MAX_LIFETIME_DAYS + 1)
            .resolve(&write, t)
            .is_err());
        let past = "2026-12-01".parse::<TokenExpiry>().unwrap();
        assert!(past
            .resolve(&write, t)
            .unwrap_err()
            .contains("not in the future"));
        let date = "2027-01-31".parse::<TokenExpiry>().unwrap();
        assert_eq!(
            date.resolve(&write, t).unwrap().unwrap().to_string(),
            "2027-01-31 00:00:00"
        );
        assert_eq!(
            "30d".parse::<TokenExpiry>().unwrap(),
            TokenExpiry::InDays(30)
        );
        assert!("soon".parse::<TokenExpiry>().is_err());
    }
}
