use chrono::NaiveDate;

use super::*;

struct Row {
    seq: i64,
    id: i64,
    user: String,
    message: String,
    prev: String,
    hash: String,
}

impl Row {
    fn content(&self) -> EntryContent<'_> {
        EntryContent {
            seq: self.seq,
            id: self.id,
            created_at: NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_micro_opt(10, 0, 0, 123_456)
                .unwrap(),
            level: "info",
            operation: "restore",
            username: Some(&self.user),
            backup_id: None,
            task_id: None,
            message: &self.message,
            details: Some("{\"a\":1}"),
        }
    }

    fn link(&self) -> StoredLink<'_> {
        StoredLink {
            content: self.content(),
            prev_hash: Some(&self.prev),
            hash: Some(&self.hash),
        }
    }
}

fn chain(n: i64) -> Vec<Row> {
    let mut prev = GENESIS.to_string();
    (1..=n)
        .map(|seq| {
            let mut row = Row {
                seq,
                id: seq + 100,
                user: "alice".into(),
                message: format!("entry {seq}"),
                prev: prev.clone(),
                hash: String::new(),
            };
            row.hash = entry_hash(&row.prev, &row.content()).unwrap();
            prev = row.hash.clone();
            row
        })
        .collect()
}

fn walk(rows: &[Row]) -> Result<ChainWalker, ChainBreak> {
    let mut walker = ChainWalker::new(&ChainStart::default());
    for row in rows {
        walker.push(&row.link())?;
    }
    Ok(walker)
}

#[test]
fn a_clean_chain_walks_to_its_head() {
    let rows = chain(5);
    let walker = walk(&rows).unwrap();
    assert_eq!(walker.walked(), 5);
    walker.finish(5, &rows[4].hash).unwrap();
}

#[test]
fn canonical_bytes_are_stable_and_versioned() {
    let rows = chain(1);
    let bytes = canonical_bytes(&rows[0].content());
    assert!(bytes.starts_with(b"coffer-audit-entry\0\x01"));
    // Pinned: the v1 form must never change under existing chains.
    assert_eq!(
        rows[0].hash,
        entry_hash(GENESIS, &rows[0].content()).unwrap()
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("2026-12-01T10:00:00.123456"), "{text}");
    // An absent field and an empty one differ.
    let mut empty = rows[0].content();
    empty.username = Some("");
    let mut absent = rows[0].content();
    absent.username = None;
    assert_ne!(canonical_bytes(&empty), canonical_bytes(&absent));
}

#[test]
fn an_edited_entry_is_the_first_break() {
    let mut rows = chain(4);
    rows[2].user = "mallory".into();
    let brk = walk(&rows).unwrap_err();
    assert_eq!(
        (brk.kind, brk.seq, brk.id),
        (BreakKind::Edited, Some(3), Some(103))
    );
}

#[test]
fn a_deleted_entry_is_a_missing_position() {
    let mut rows = chain(4);
    rows.remove(1);
    let brk = walk(&rows).unwrap_err();
    assert_eq!((brk.kind, brk.seq), (BreakKind::Missing, Some(3)));
}

#[test]
fn swapped_positions_break_the_link() {
    let mut rows = chain(4);
    rows.swap(1, 2);
    let brk = walk(&rows).unwrap_err();
    assert_eq!(brk.kind, BreakKind::Missing);
    assert_eq!(brk.seq, Some(3));
}

#[test]
fn an_inserted_entry_with_a_reused_position_breaks_the_link() {
    let mut rows = chain(3);
    let mut forged = Row {
        seq: 2,
        id: 999,
        user: "mallory".into(),
        message: "forged".into(),
        prev: rows[0].hash.clone(),
        hash: String::new(),
    };
    forged.hash = entry_hash(&forged.prev, &forged.content()).unwrap();
    rows.insert(2, forged);
    let brk = walk(&rows).unwrap_err();
    assert_eq!((brk.kind, brk.id), (BreakKind::Relinked, Some(999)));
}

#[test]
fn an_unchained_entry_is_reported() {
    let rows = chain(2);
    let mut walker = ChainWalker::new(&ChainStart::default());
    walker.push(&rows[0].link()).unwrap();
    let brk = walker
        .push(&StoredLink {
            prev_hash: None,
            hash: None,
            ..rows[1].link()
        })
        .unwrap_err();
    assert_eq!(brk.kind, BreakKind::Unchained);
}

#[test]
fn a_truncated_chain_does_not_reach_its_head() {
    let rows = chain(5);
    let walker = walk(&rows[..3]).unwrap();
    let brk = walker.finish(5, &rows[4].hash).unwrap_err();
    assert_eq!((brk.kind, brk.seq), (BreakKind::Truncated, Some(4)));
}

#[test]
fn a_pruned_chain_starts_after_its_anchor() {
    let rows = chain(5);
    let start = ChainStart {
        seq: 2,
        hash: rows[1].hash.clone(),
    };
    let mut walker = ChainWalker::new(&start);
    for row in &rows[2..] {
        walker.push(&row.link()).unwrap();
    }
    let mut walker = ChainWalker::new(&ChainStart::default());
    assert_eq!(
        walker.push(&rows[2].link()).unwrap_err().kind,
        BreakKind::Missing
    );
}

#[test]
fn a_malformed_previous_hash_is_an_edit() {
    let rows = chain(1);
    let mut walker = ChainWalker::new(&ChainStart::default());
    let brk = walker
        .push(&StoredLink {
            prev_hash: Some("zz"),
            ..rows[0].link()
        })
        .unwrap_err();
    assert_eq!(brk.kind, BreakKind::Edited);
}
