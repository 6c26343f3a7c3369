//! Pure types of the product: kinds, states and their legal transitions, roles, scopes.
//! No I/O lives here; the db stores these as their `as_str()` text and the web and CLI
//! parse user input into them, so a bad value never gets past the edge.

pub mod audit_chain;
pub mod cron;
mod hold;
mod name;
pub mod retention;
pub mod schedule;
mod scope;
mod status;
pub mod token_policy;

pub use cron::CronExpr;
pub use hold::Hold;
pub use name::check_plain_name;
pub use schedule::{Frequency, ScheduleAction, ScheduleSpec, SpecAction};
pub use scope::Scope;
pub use status::Status;
pub use token_policy::{TokenExpiry, TokenScope, TokenScopes};

/// Declares a closed set of names stored as lowercase text, with `as_str`, `FromStr`
/// (error names the accepted values) and `Display`. Each is also a schema of the API's
/// OpenAPI document (an enum of its texts): the texts are `tt`, not `literal`, fragments
/// because utoipa's derive does not see through the invisible group a `literal` becomes.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "`{other}` is not a valid {}: expected one of {}",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// A full backup holds every file; an incremental holds only what changed since its parent.
    BackupKind { Full => "full", Incremental => "incremental" }
);

text_enum!(
    /// What a task does.
    TaskKind { Backup => "backup", Restore => "restore", Verify => "verify", Cleanup => "cleanup", Drill => "drill" }
);

text_enum!(
    /// Who may do what: viewer reads; operator also backs up, verifies, downloads;
    /// admin also restores, deletes, changes settings and users. Ordered by power.
    Role { Viewer => "viewer", Operator => "operator", Admin => "admin" }
);

text_enum!(
    /// Severity of an audit log entry.
    LogLevel { Info => "info", Warning => "warning", Error => "error" }
);

text_enum!(
    /// The kinds of things Coffer backs up.
    SourceKind {
        Directory => "directory",
        File => "file",
        Sqlite => "sqlite",
        Postgres => "postgres",
        Mysql => "mysql",
        Redis => "redis",
    }
);

text_enum!(
    /// Outcome of the latest verification of a backup.
    VerifyState { Unverified => "unverified", Passed => "passed", Failed => "failed" }
);

text_enum!(
    /// How thorough a verification is: `quick` checks the stored bytes, `deep` reads every entry.
    VerifyDepth { Quick => "quick", Deep => "deep" }
);

impl Role {
    /// True when this role has at least the power of `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl SourceKind {
    /// Kinds whose data is read from the local filesystem (as opposed to a server URL).
    pub fn is_path_based(self) -> bool {
        matches!(
            self,
            SourceKind::Directory | SourceKind::File | SourceKind::Sqlite
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_enums_round_trip_and_reject_unknowns() {
        for kind in SourceKind::ALL {
            assert_eq!(kind.as_str().parse::<SourceKind>().unwrap(), *kind);
        }
        let err = "tape".parse::<BackupKind>().unwrap_err();
        assert!(err.contains("full, incremental"), "{err}");
    }

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
    }
}
