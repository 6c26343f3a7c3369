//! `coffer audit verify`, the audit page and the monitor's daily check: walks the whole chain
//! in the database (the first broken link and its position), then compares the database's
//! head and start with the newest signed head found on any storage target — which catches
//! what the chain alone cannot: the newest entries cut off with the head row set back, or a
//! chain rewritten from the start with recomputed hashes.

use std::io::Read;

use serde::Serialize;

use crate::app::App;
use crate::db::{AuditHead, DbConnection, LogEntry};
use crate::domain::audit_chain::{ChainBreak, ChainStart, ChainWalker};
use crate::engine::audit_seal::{is_head_key, SignedHead, HEAD_PREFIX};
use crate::error::Result;

/// Entries read per query while walking.
const PAGE: i64 = 1000;
/// A head object larger than this is not one of ours.
const MAX_HEAD_BYTES: u64 = 64 * 1024;

/// What a verification found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// Chain intact and consistent with the newest signed head in storage.
    pub ok: bool,
    /// Entries whose links were checked before the first break (or all of them).
    pub entries_checked: u64,
    /// The database's recorded head: newest position and hash.
    pub head_seq: i64,
    pub head_hash: String,
    /// Where the chain starts (after entries removed by retention).
    pub start: ChainStart,
    /// The first broken link in the database, if any.
    pub first_break: Option<ChainBreak>,
    pub storage: StorageCheck,
}

/// The database's head against the signed heads in storage.
#[derive(Debug, Clone, Serialize)]
pub struct StorageCheck {
    /// The database agrees with the newest valid signed head (or none was published yet).
    pub matches: bool,
    /// One sentence for a person.
    pub message: String,
    /// The newest signed head with a valid signature, across all targets.
    pub newest: Option<FoundHead>,
    pub targets: Vec<TargetHeads>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FoundHead {
    pub target: String,
    pub key: String,
    pub seq: i64,
    pub hash: String,
    pub signed_at: String,
}

/// What one target holds.
#[derive(Debug, Clone, Serialize)]
pub struct TargetHeads {
    pub target: String,
    pub heads: usize,
    /// The target could not be listed or its newest head read or trusted.
    pub problem: Option<String>,
    /// The problem is a head that cannot be trusted (a wrong signature, not a head), not
    /// a target out of reach: it counts as tampering.
    pub untrusted: bool,
}

impl AuditReport {
    /// One line for a person: what is wrong, or that all is well.
    pub fn summary(&self) -> String {
        let mut problems = Vec::new();
        if let Some(brk) = &self.first_break {
            problems.push(brk.message.clone());
        }
        if !self.storage.matches {
            problems.push(self.storage.message.clone());
        }
        if problems.is_empty() {
            format!(
                "the audit chain is intact: {} entries up to #{}; {}",
                self.entries_checked, self.head_seq, self.storage.message
            )
        } else {
            format!("the audit chain is broken: {}", problems.join("; "))
        }
    }
}

/// Verifies the chain in the database and against every storage target.
pub fn verify_chain(app: &App) -> Result<AuditReport> {
    let mut conn = app.conn()?;
    let head = AuditHead::get(&mut conn)?;
    let (entries_checked, first_break) = walk(&mut conn, &head)?;
    drop(conn);
    let storage = check_storage(app, &head)?;
    Ok(AuditReport {
        ok: first_break.is_none() && storage.matches,
        entries_checked,
        head_seq: head.seq,
        head_hash: head.hash.clone(),
        start: head.start(),
        first_break,
        storage,
    })
}

/// Walks the chain from its start to its head; an entry outside the chain is a break too.
fn walk(conn: &mut DbConnection, head: &AuditHead) -> Result<(u64, Option<ChainBreak>)> {
    let mut walker = ChainWalker::new(&head.start());
    let mut after = head.start_seq;
    loop {
        let page = LogEntry::list_chain(conn, after, PAGE)?;
        for entry in &page {
            if let Err(brk) = walker.push(&entry.link()) {
                return Ok((walker.walked(), Some(brk)));
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = last.seq.unwrap_or(after),
            _ => break,
        }
    }
    if let Err(brk) = walker.finish(head.seq, &head.hash) {
        return Ok((walker.walked(), Some(brk)));
    }
    if let Some(stray) = LogEntry::list_unchained(conn, 1)?.first() {
        return Ok((walker.walked(), walker.push(&stray.link()).err()));
    }
    Ok((walker.walked(), None))
}

fn check_storage(app: &App, head: &AuditHead) -> Result<StorageCheck> {
    let mut targets = Vec::new();
    let mut newest: Option<(SignedHead, FoundHead)> = None;
    for target in app.storage_targets() {
        let (found, heads, problem, untrusted) = match newest_head(app, &target) {
            Ok((found, heads)) => (found, heads, None, false),
            Err(Unreadable::OutOfReach(e)) => (None, 0, Some(e), false),
            Err(Unreadable::Untrusted(e)) => (None, 0, Some(e), true),
        };
        targets.push(TargetHeads {
            target: target.name.clone(),
            heads,
            problem,
            untrusted,
        });
        if let Some((signed, key)) = found {
            let better = newest.as_ref().is_none_or(|(best, _)| {
                (signed.seq, &signed.signed_at) > (best.seq, &best.signed_at)
            });
            if better {
                let view = FoundHead {
                    target: target.name.clone(),
                    key,
                    seq: signed.seq,
                    hash: signed.hash.clone(),
                    signed_at: signed.signed_at.clone(),
                };
                newest = Some((signed, view));
            }
        }
    }
    let forged: Vec<String> = targets
        .iter()
        .filter(|t| t.untrusted)
        .filter_map(|t| t.problem.as_ref().map(|p| format!("{}: {p}", t.target)))
        .collect();
    for t in targets.iter().filter(|t| !t.untrusted) {
        if let Some(problem) = &t.problem {
            tracing::warn!("audit heads on storage target {}: {problem}", t.target);
        }
    }
    let (matches, message) = match &newest {
        None if head.published_seq.is_none() => (
            forged.is_empty(),
            "no signed head was published to storage yet".to_string(),
        ),
        // Conservative: a head that cannot be read is not a head that matches.
        None => {
            let out_of_reach: Vec<&str> = targets
                .iter()
                .filter(|t| t.problem.is_some() && !t.untrusted)
                .map(|t| t.target.as_str())
                .collect();
            let found = if out_of_reach.is_empty() {
                "no signed head is in storage".to_string()
            } else {
                format!(
                    "no signed head could be read (out of reach: {})",
                    out_of_reach.join(", ")
                )
            };
            (
                false,
                format!(
                    "the database says head #{} was published, but {found}",
                    head.published_seq.unwrap_or_default()
                ),
            )
        }
        Some((signed, view)) => {
            let mut conn = app.conn()?;
            compare(&mut conn, head, signed, view)?
        }
    };
    let message = if forged.is_empty() {
        message
    } else {
        format!("{message}; {}", forged.join("; "))
    };
    Ok(StorageCheck {
        matches: matches && forged.is_empty(),
        message,
        newest: newest.map(|(_, view)| view),
        targets,
    })
}

/// Whether the database holds what the signed head `signed` says it held.
fn compare(
    conn: &mut DbConnection,
    head: &AuditHead,
    signed: &SignedHead,
    view: &FoundHead,
) -> Result<(bool, String)> {
    let at = format!(
        "the newest signed head in storage (#{} of {}, {})",
        signed.seq, signed.signed_at, view.target
    );
    if signed.seq > head.seq {
        return Ok((
            false,
            format!(
                "{at} is beyond the database's head #{}: the newest entries were removed or the chain rewritten",
                head.seq
            ),
        ));
    }
    if signed.start_seq != head.start_seq || signed.start_hash != head.start_hash {
        return Ok((
            false,
            format!(
                "{at} starts the chain after #{}, the database after #{}: entries were removed from the start or the chain rewritten",
                signed.start_seq, head.start_seq
            ),
        ));
    }
    let stored = if signed.seq == head.start_seq {
        Some(head.start_hash.clone())
    } else {
        LogEntry::hash_at(conn, signed.seq)?
    };
    if stored.as_deref() != Some(signed.hash.as_str()) {
        return Ok((
            false,
            format!(
                "{at} does not match the database's entry #{}: the chain was rewritten",
                signed.seq
            ),
        ));
    }
    Ok((true, format!("the database matches {at}")))
}

type Newest = (Option<(SignedHead, String)>, usize);

/// Why a target's newest head could not be used.
enum Unreadable {
    /// The target did not answer (listing or reading failed): said, not held against it.
    OutOfReach(String),
    /// The newest head is not one Coffer signed.
    Untrusted(String),
}

/// The newest head on `target` (with a right signature) and how many heads it holds.
fn newest_head(
    app: &App,
    target: &crate::app::NamedStorage,
) -> std::result::Result<Newest, Unreadable> {
    let mut keys: Vec<String> = target
        .storage
        .list(HEAD_PREFIX)
        .map_err(|e| Unreadable::OutOfReach(format!("cannot list {HEAD_PREFIX}: {e}")))?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| is_head_key(k))
        .collect();
    keys.sort();
    let count = keys.len();
    let Some(key) = keys.pop() else {
        return Ok((None, 0));
    };
    let signed = read_head(target, &key)?;
    let keyring = app.keyring();
    let Some(secret) = keyring.get(&signed.key_id) else {
        return Err(Unreadable::Untrusted(format!(
            "{key} is signed with key {} which the keyring lacks (import it to check the head)",
            signed.key_id
        )));
    };
    if !signed.verify(secret) || key != signed.storage_key() {
        return Err(Unreadable::Untrusted(format!(
            "{key} has a wrong signature: a forged head"
        )));
    }
    Ok((Some((signed, key)), count))
}

fn read_head(
    target: &crate::app::NamedStorage,
    key: &str,
) -> std::result::Result<SignedHead, Unreadable> {
    let mut text = String::new();
    target
        .storage
        .open(key)
        .and_then(|r| r.take(MAX_HEAD_BYTES).read_to_string(&mut text))
        .map_err(|e| Unreadable::OutOfReach(format!("cannot read {key}: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| Unreadable::Untrusted(format!("{key} is not a signed head: {e}")))
}
