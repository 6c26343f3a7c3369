//! Figures as people write them: sizes, durations, and where a source is. Every page and
//! command formats through these, so a size reads the same in the console and the terminal.

use crate::config::SourceConfig;
use crate::sources::ServerAddress;

/// `1.5 GiB`, `812.0 KiB`, `17 B`: a byte count from a row (`i64`) or a stream (`u64`).
pub fn human_bytes(bytes: impl Into<i128>) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let bytes = bytes.into();
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `45 s`, `3 min 05 s`, `2 h 07 min`: how long something took or will take.
pub fn duration_text(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// The path, or the server URL without its password.
pub fn where_it_is(source: &SourceConfig) -> String {
    match source.path() {
        Some(path) => path.display().to_string(),
        None => ServerAddress::of(source)
            .map(|s| s.redacted())
            .unwrap_or_else(|e| format!("({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(17), "17 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3i64 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(human_bytes(-5), "-5 B");
        assert_eq!(human_bytes(u64::MAX), "16384.0 PiB");
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration_text(-3), "0 s");
        assert_eq!(duration_text(45), "45 s");
        assert_eq!(duration_text(65), "1 min 05 s");
        assert_eq!(duration_text(125), "2 min 05 s");
        assert_eq!(duration_text(7300), "2 h 01 min");
    }
}
