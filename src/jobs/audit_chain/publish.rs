//! Publishing the chain's head: signed (`engine/audit_seal.rs`) and written as a new object
//! `audit/head-<seq>-<time>.json` to every storage target, never replacing an older one, so
//! the history of heads stays. A head is only signed after the chain verified against the
//! newest head already published: a chain edited or rewritten in the database is never
//! blessed by a later signature. The monitor publishes hourly while the chain moves; jobs
//! publish after every restore and delete.

use std::io::Write;

use crate::app::App;
use crate::db::AuditHead;
use crate::engine::audit_seal::{HeadClaim, SignedHead};
use crate::error::{Error, Result};

/// Verifies the chain, signs its head with the active archive key and writes it to every
/// target. Succeeds when at least one target took it (the others are named in the log).
pub fn publish_head(app: &App) -> Result<SignedHead> {
    let report = super::verify_chain(app)?;
    if !report.ok {
        return Err(Error::Refused(format!(
            "not signing the audit chain's head: {}",
            report.summary()
        )));
    }
    let claim = HeadClaim {
        seq: report.head_seq,
        hash: report.head_hash.clone(),
        start_seq: report.start.seq,
        start_hash: report.start.hash.clone(),
        signed_at: chrono::Utc::now(),
    };
    let signed = {
        let keyring = app.keyring();
        let (key_id, key) = keyring.active().ok_or_else(|| {
            Error::Refused(format!(
                "the key directory {} has no active key to sign the audit chain's head with",
                app.settings.keys_dir.display()
            ))
        })?;
        SignedHead::sign(&claim, key_id, key)
    };
    let body = serde_json::to_vec_pretty(&signed).expect("a signed head always serialises");
    let key = signed.storage_key();
    let mut written = 0;
    let mut failures = Vec::new();
    for target in app.storage_targets() {
        let put = || -> std::io::Result<()> {
            let mut object = target.storage.create(&key)?;
            object.write_all(&body)?;
            object.commit()
        };
        match put() {
            Ok(()) => written += 1,
            Err(e) => failures.push(format!("{}: {e}", target.name)),
        }
    }
    if !failures.is_empty() {
        tracing::error!(
            "audit chain head #{} not written to {}",
            signed.seq,
            failures.join("; ")
        );
    }
    if written == 0 {
        return Err(Error::Refused(format!(
            "the audit chain's head could not be written to any storage target: {}",
            failures.join("; ")
        )));
    }
    AuditHead::mark_published(&mut *app.conn()?, signed.seq, crate::db::now())?;
    Ok(signed)
}

/// Publishes after work that must be on record at once (a restore, a delete); a failure is
/// logged and never fails that work (the monitor retries within the hour).
pub fn publish_after(app: &App, what: &str) {
    match publish_head(app) {
        Ok(head) => tracing::info!("audit chain head #{} published after {what}", head.seq),
        Err(e) => tracing::error!("audit chain head not published after {what}: {e}"),
    }
}
