//! Where a point-in-time restore stops, as the operator writes it and as PostgreSQL's
//! recovery settings say it.

use chrono::{DateTime, FixedOffset, NaiveDateTime};

use crate::error::{Error, Result};
use crate::sources::postgres::lsn::{format_lsn, parse_lsn};

/// The point to recover to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryTarget {
    /// Every transaction committed at or before this time, none after.
    Time(DateTime<FixedOffset>),
    /// Up to this WAL position (`0/3000060`), normalised to upper case.
    Lsn(String),
    /// Through the newest WAL available.
    Latest,
    /// The end of the base backup: the first consistent point (no WAL beyond it).
    Backup,
}

impl RecoveryTarget {
    /// `2026-12-07 14:31:59+01` (a `T` instead of the space, fractions of a second and
    /// `+01:00` / `Z` also do); a time without its offset is refused: a restore to the
    /// wrong hour is the mistake this avoids.
    pub fn parse_time(text: &str) -> Result<RecoveryTarget> {
        let text = text.trim();
        let normal = text.replacen('T', " ", 1);
        let normal = match normal.strip_suffix('Z') {
            Some(rest) => format!("{rest}+00:00"),
            None => normal,
        };
        for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M%#z"] {
            if let Ok(time) = DateTime::parse_from_str(&normal, format) {
                return Ok(RecoveryTarget::Time(time));
            }
        }
        let hint = "write it as '2026-12-07 14:31:59+01' (date, time and UTC offset)";
        for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
            if NaiveDateTime::parse_from_str(&normal, format).is_ok() {
                return Err(Error::Invalid(format!(
                    "--to-time `{text}` has no UTC offset, so it could mean any of 26 hours: {hint}"
                )));
            }
        }
        Err(Error::Invalid(format!(
            "--to-time `{text}` is not a date and time: {hint}"
        )))
    }

    /// `X/Y`, each up to 8 hex digits (`pg_current_wal_lsn()` prints them so).
    pub fn parse_lsn(text: &str) -> Result<RecoveryTarget> {
        parse_lsn(text)
            .map(|lsn| RecoveryTarget::Lsn(format_lsn(lsn)))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "--to-lsn `{}` is not a WAL position: write it as PostgreSQL prints one, \
                     e.g. 0/3000060",
                    text.trim()
                ))
            })
    }

    /// Whether the target needs WAL beyond the base backup's own.
    pub fn needs_wal(&self) -> bool {
        !matches!(self, RecoveryTarget::Backup)
    }

    /// The `recovery_target*` settings that stop recovery here.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = vec![("recovery_target_timeline", "latest".to_string())];
        match self {
            RecoveryTarget::Time(time) => {
                settings.push((
                    "recovery_target_time",
                    time.format("%Y-%m-%d %H:%M:%S%.6f%:z").to_string(),
                ));
                settings.push(("recovery_target_inclusive", "on".into()));
            }
            RecoveryTarget::Lsn(lsn) => {
                settings.push(("recovery_target_lsn", lsn.clone()));
                settings.push(("recovery_target_inclusive", "on".into()));
            }
            RecoveryTarget::Latest => {}
            RecoveryTarget::Backup => settings.push(("recovery_target", "immediate".into())),
        }
        settings
    }

    /// For messages and the audit log.
    pub fn describe(&self) -> String {
        match self {
            RecoveryTarget::Time(time) => {
                format!("time {}", time.format("%Y-%m-%d %H:%M:%S%.f%:z"))
            }
            RecoveryTarget::Lsn(lsn) => format!("WAL position {lsn}"),
            RecoveryTarget::Latest => "the newest WAL available".into(),
            RecoveryTarget::Backup => "the end of the base backup".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_need_their_offset() {
        let RecoveryTarget::Time(t) = RecoveryTarget::parse_time("2026-12-07 14:31:59+01").unwrap()
        else {
            panic!()
        };
        assert_eq!(t.to_rfc3339(), "2026-12-07T14:31:59+01:00");
        for ok in [
            "2026-12-07T14:31:59Z",
            "2026-12-07 14:31:59.25+05:30",
            "2026-12-07 14:31+0100",
        ] {
            assert!(RecoveryTarget::parse_time(ok).is_ok(), "{ok}");
        }
        let err = RecoveryTarget::parse_time("2026-12-07 14:31:59").unwrap_err();
        assert!(err.to_string().contains("no UTC offset"), "{err}");
        let err = RecoveryTarget::parse_time("yesterday").unwrap_err();
        assert!(err.to_string().contains("not a date and time"), "{err}");
        assert!(RecoveryTarget::parse_time("2026-13-07 14:31:59+01").is_err());
    }

    #[test]
    fn positions_and_settings() {
        assert_eq!(
            RecoveryTarget::parse_lsn("0/3a").unwrap(),
            RecoveryTarget::Lsn("0/3A".into())
        );
        assert!(RecoveryTarget::parse_lsn("3a").is_err());
        let settings = RecoveryTarget::parse_time("2026-12-07 14:31:59+01")
            .unwrap()
            .settings();
        assert!(settings.contains(&(
            "recovery_target_time",
            "2026-12-07 14:31:59.000000+01:00".into()
        )));
        assert!(RecoveryTarget::Backup
            .settings()
            .contains(&("recovery_target", "immediate".into())));
        assert!(!RecoveryTarget::Latest
            .settings()
            .iter()
            .any(|(k, _)| k.starts_with("recovery_target_") && *k != "recovery_target_timeline"));
    }
}
