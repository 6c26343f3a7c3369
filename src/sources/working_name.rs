//! Names of the databases a restore creates beside a target (staging, replaced and restored
//! copies): `<db><suffix>`, within 63 bytes, which fits PostgreSQL's identifier limit (63
//! bytes, longer names are cut silently) and MySQL's (64 characters).

use sha2::{Digest, Sha256};

const LIMIT: usize = 63;

/// `<db><suffix>`. A name too long is cut at a character boundary and given 8 hex digits of
/// the SHA-256 of `db`, so two long database names that share their start never share a
/// working name (their restores would otherwise collide, or recovery act on the wrong one).
pub fn working_name(db: &str, suffix: &str) -> String {
    let whole = format!("{db}{suffix}");
    if whole.len() <= LIMIT {
        return whole;
    }
    let mark = format!("_{}", &hex::encode(Sha256::digest(db.as_bytes()))[..8]);
    let keep = LIMIT.saturating_sub(mark.len() + suffix.len());
    let mut stem = String::new();
    for c in db.chars() {
        if stem.len() + c.len_utf8() > keep {
            break;
        }
        stem.push(c);
    }
    format!("{stem}{mark}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_whole() {
        assert_eq!(
            working_name("shop", "_coffer_staging_0123456789ab"),
            "shop_coffer_staging_0123456789ab"
        );
    }

    #[test]
    fn long_names_fit_and_stay_apart() {
        let shared = "a_long_database_name_shared_by_two_of_them_".to_string();
        let (one, two) = (format!("{shared}one"), format!("{shared}two"));
        let suffix = "_coffer_previous_20261121_102030";
        let (a, b) = (working_name(&one, suffix), working_name(&two, suffix));
        assert_ne!(a, b);
        assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
        assert!(a.starts_with("a_long_") && a.ends_with(suffix), "{a}");
    }

    #[test]
    fn multibyte_names_are_cut_at_a_character_boundary_within_63_bytes() {
        let name = "é".repeat(40);
        let cut = working_name(&name, "_coffer_staging_0123456789ab");
        assert!(cut.len() <= 63, "{} bytes", cut.len());
        assert!(cut.ends_with("_coffer_staging_0123456789ab"));
    }
}
