//! Where a backup's objects live in storage: `<YYYY>/<MM>/<id>.tar.gz[.enc]` and the
//! manifest beside it, so a folder listing is ordered by time and the catalogue can be
//! rebuilt from storage alone.

use chrono::NaiveDateTime;

pub fn archive_key(id: &str, created_at: NaiveDateTime, encrypted: bool) -> String {
    let suffix = if encrypted { ".enc" } else { "" };
    format!("{}/{id}.tar.gz{suffix}", created_at.format("%Y/%m"))
}

pub fn manifest_key(archive_key: &str) -> String {
    let (stem, suffix) = match archive_key.strip_suffix(".enc") {
        Some(stem) => (stem, ".enc"),
        None => (archive_key, ""),
    };
    format!("{}.manifest.json{suffix}", stem.trim_end_matches(".tar.gz"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_month_and_sit_side_by_side() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 21)
            .unwrap()
            .and_hms_opt(6, 0, 0)
            .unwrap();
        let key = archive_key("abc", at, true);
        assert_eq!(key, "2026/11/abc.tar.gz.enc");
        assert_eq!(manifest_key(&key), "2026/11/abc.manifest.json.enc");
        assert_eq!(
            manifest_key(&archive_key("abc", at, false)),
            "2026/11/abc.manifest.json"
        );
    }
}
