//! Names of the databases a restore creates beside the target: staging and replaced copies
//! (cut to PostgreSQL's 63 bytes by `working_name`).

use chrono::{DateTime, Utc};

use crate::sources::working_name::working_name;

/// `<db>_coffer_staging_<tag>`: where a dump is loaded and validated.
pub fn staging(database: &str, tag: &str) -> String {
    working_name(database, &format!("_coffer_staging_{tag}"))
}

/// `<db>_coffer_previous_<time>`: the original, kept until the switch has succeeded.
pub fn previous(database: &str, started: DateTime<Utc>) -> String {
    working_name(
        database,
        &format!("_coffer_previous_{}", started.format("%Y%m%d_%H%M%S")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_in_63_bytes() {
        let started = DateTime::parse_from_rfc3339("2026-11-21T10:20:30Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            staging("shop", "0123456789ab"),
            "shop_coffer_staging_0123456789ab"
        );
        assert_eq!(
            previous("shop", started),
            "shop_coffer_previous_20261121_102030"
        );
        assert_eq!(staging(&"x".repeat(63), "0123456789ab").len(), 63);
        assert_eq!(previous(&"y".repeat(63), started).len(), 63);
    }
}
