//! PostgreSQL's WAL file names: a segment is `TTTTTTTTLLLLLLLLSSSSSSSS` (timeline, then the
//! segment number split in a "log" part and a segment-within-log part, 8 hex digits each), a
//! timeline history file `TTTTTTTT.history`. Nothing else in a spool or a request is a WAL
//! file, which keeps storage keys and file names made from them plain.

/// PostgreSQL's default `wal_segment_size`, assumed when no stored segment tells otherwise.
pub const DEFAULT_SEGMENT_SIZE: u64 = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalName {
    Segment { timeline: u32, log: u32, seg: u32 },
    History { timeline: u32 },
}

impl WalName {
    /// `None` unless `name` is exactly a segment or history file name (upper-case hex).
    pub fn parse(name: &str) -> Option<WalName> {
        let hex = |s: &str| {
            s.len() == 8
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        };
        let number = |s: &str| u32::from_str_radix(s, 16).ok();
        if name.len() == 24 && name.is_ascii() {
            let (t, rest) = name.split_at(8);
            let (l, s) = rest.split_at(8);
            if hex(t) && hex(l) && hex(s) {
                return Some(WalName::Segment {
                    timeline: number(t)?,
                    log: number(l)?,
                    seg: number(s)?,
                });
            }
        }
        let t = name.strip_suffix(".history")?;
        hex(t).then(|| WalName::History {
            timeline: number(t).unwrap_or(0),
        })
    }

    pub fn timeline(&self) -> u32 {
        match self {
            WalName::Segment { timeline, .. } | WalName::History { timeline } => *timeline,
        }
    }

    /// The segment's number counted from the start of the WAL (`None` for history files).
    pub fn segment_no(&self, segment_size: u64) -> Option<u64> {
        match self {
            WalName::Segment { log, seg, .. } => {
                Some(u64::from(*log) * segments_per_log(segment_size) + u64::from(*seg))
            }
            WalName::History { .. } => None,
        }
    }

    /// The file name of segment `number` on `timeline`.
    pub fn segment(timeline: u32, number: u64, segment_size: u64) -> String {
        let per_log = segments_per_log(segment_size);
        format!(
            "{timeline:08X}{:08X}{:08X}",
            number / per_log,
            number % per_log
        )
    }
}

fn segments_per_log(segment_size: u64) -> u64 {
    (0x1_0000_0000 / segment_size.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_and_history_names_are_read_and_made() {
        let name = WalName::parse("00000002000000010000003F").unwrap();
        assert_eq!(
            name,
            WalName::Segment {
                timeline: 2,
                log: 1,
                seg: 0x3F
            }
        );
        assert_eq!(name.segment_no(DEFAULT_SEGMENT_SIZE), Some(256 + 63));
        assert_eq!(
            WalName::segment(2, 256 + 63, DEFAULT_SEGMENT_SIZE),
            "00000002000000010000003F"
        );
        assert_eq!(
            WalName::parse("0000000A.history"),
            Some(WalName::History { timeline: 10 })
        );
        for bad in [
            "00000002000000010000003f",
            "000000020000000100000003F.partial",
            "../0000001.history",
            "0000000G000000010000003F",
            "x.history",
            "",
        ] {
            assert_eq!(WalName::parse(bad), None, "{bad}");
        }
    }
}
