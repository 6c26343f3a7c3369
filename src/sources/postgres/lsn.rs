//! WAL positions (`0/2000028`) and WAL file names (`000000010000000000000002`: timeline,
//! then the segment number in two 32-bit halves), as PostgreSQL writes them.

/// `X/Y` (each up to 8 hex digits) as a 64-bit position.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.trim().split_once('/')?;
    let part = |p: &str| {
        (!p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(p, 16).ok())
            .flatten()
    };
    Some((u64::from(part(high)?) << 32) | u64::from(part(low)?))
}

pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Segments per 4 GiB "log id" of a WAL segment size (a power of two, 1 MiB to 1 GiB).
fn per_id(segment_size: u64) -> u64 {
    0x1_0000_0000 / segment_size.max(1)
}

/// The WAL file name holding `lsn` on `timeline`.
pub fn segment_name(timeline: u32, lsn: u64, segment_size: u64) -> String {
    segment_file(timeline, lsn / segment_size.max(1), segment_size)
}

/// The WAL file name of segment number `segment` on `timeline`.
pub fn segment_file(timeline: u32, segment: u64, segment_size: u64) -> String {
    let per = per_id(segment_size);
    format!("{timeline:08X}{:08X}{:08X}", segment / per, segment % per)
}

/// `(timeline, segment number)` of a WAL file name (24 upper-case hex digits, nothing else).
pub fn parse_segment(name: &str, segment_size: u64) -> Option<(u32, u64)> {
    if name.len() != 24 || !name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F')) {
        return None;
    }
    let timeline = u32::from_str_radix(&name[..8], 16).ok()?;
    let id = u64::from_str_radix(&name[8..16], 16).ok()?;
    let seg = u64::from_str_radix(&name[16..], 16).ok()?;
    let per = per_id(segment_size);
    (seg < per).then_some((timeline, id * per + seg))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB16: u64 = 16 * 1024 * 1024;

    #[test]
    fn positions_and_names_round_trip() {
        assert_eq!(parse_lsn("0/2000028"), Some(0x2000028));
        assert_eq!(parse_lsn("1A/FF"), Some((0x1A << 32) | 0xFF));
        assert_eq!(format_lsn(0x2000028), "0/2000028");
        for bad in ["", "0", "/1", "0/", "0/xyz", "123456789/0", "0/1/2"] {
            assert_eq!(parse_lsn(bad), None, "{bad}");
        }
        assert_eq!(
            segment_name(1, 0x2000028, MIB16),
            "000000010000000000000002"
        );
        assert_eq!(
            segment_name(2, (1 << 32) | 0x3000000, MIB16),
            "000000020000000100000003"
        );
        assert_eq!(
            parse_segment("000000020000000100000003", MIB16),
            Some((2, 256 + 3))
        );
        assert_eq!(parse_segment("000000010000000000000100", MIB16), None);
        assert_eq!(parse_segment("00000001000000000000000a", MIB16), None);
        assert_eq!(parse_segment("00000002.history", MIB16), None);
        assert_eq!(segment_file(1, 256 + 3, MIB16), "000000010000000100000003");
    }
}
