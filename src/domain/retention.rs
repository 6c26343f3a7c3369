//! Retention policies: which backups of one scope a policy keeps, and why each one is kept.
//!
//! The rules are the grandfather–father–son buckets restic and Proxmox Backup Server users
//! know, plus age and safety rules. Each successful backup can be kept by several rules at
//! once, and every reason is reported, so a preview says exactly why something stays:
//!
//! - `keep_within_days`: everything younger than N days;
//! - `keep_last`: the N newest;
//! - `keep_daily/weekly/monthly/yearly`: the newest backup of each of the N newest days
//!   (ISO weeks, months, years) that have one, in the policy's time zone;
//! - `min_verified`: the N newest backups whose verification passed, always;
//! - pinned backups, forever;
//! - every parent a kept incremental needs;
//! - a backup its storage holds (an S3 Object Lock date not reached, a write-once folder):
//!   deleting it would be refused, so it is kept and the preview says "locked until …".
//!
//! Guard rails: while the newest finished backup of the scope failed, nothing is pruned
//! (a broken job must not eat the last good copies). Backups still running or pending are
//! never touched. A backup whose verification failed is not a restorable copy: it fills no
//! bucket and is removed unless something needs it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::{Hold, Status, VerifyState};

/// A policy; a rule left at `None` (or 0) keeps nothing by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetentionPolicy {
    pub keep_within_days: Option<u32>,
    pub keep_last: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
    /// Successful, verified backups always kept, whatever the other rules say.
    pub min_verified: u32,
}

impl RetentionPolicy {
    /// The default when nothing is configured: keep 30 days, as the original system did.
    pub fn thirty_days() -> Self {
        RetentionPolicy {
            keep_within_days: Some(30),
            ..RetentionPolicy::default()
        }
    }

    /// One line for a person: `30 days, last 7, 4 weekly, 2 verified`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(days) = self.keep_within_days.filter(|d| *d > 0) {
            parts.push(format!("{days} days"));
        }
        if let Some(n) = self.keep_last.filter(|n| *n > 0) {
            parts.push(format!("last {n}"));
        }
        for (count, what) in [
            (self.keep_daily, "daily"),
            (self.keep_weekly, "weekly"),
            (self.keep_monthly, "monthly"),
            (self.keep_yearly, "yearly"),
        ] {
            if let Some(n) = count.filter(|n| *n > 0) {
                parts.push(format!("{n} {what}"));
            }
        }
        if self.min_verified > 0 {
            parts.push(format!("{} verified", self.min_verified));
        }
        if parts.is_empty() {
            "keeps nothing".into()
        } else {
            parts.join(", ")
        }
    }

    /// A policy that keeps nothing by any rule would delete everything: refuse it.
    pub fn check(&self) -> Result<(), String> {
        let keeps = [
            self.keep_within_days,
            self.keep_last,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ]
        .iter()
        .any(|rule| rule.is_some_and(|n| n > 0));
        if keeps || self.min_verified > 0 {
            Ok(())
        } else {
            Err("this policy keeps nothing: set keep-within days or at least one keep count".into())
        }
    }
}

/// What retention needs to know of one backup of the scope.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub status: Status,
    pub verify_state: VerifyState,
    pub pinned: bool,
    pub parent_id: Option<String>,
    /// Its storage refuses to delete it now (see [`Hold::of`]).
    pub hold: Option<Hold>,
}

/// Why a backup is kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "rule", content = "detail", rename_all = "snake_case")]
pub enum Reason {
    Within(u32),
    Last(u32),
    Daily(String),
    Weekly(String),
    Monthly(String),
    Yearly(String),
    MinVerified(u32),
    Pinned,
    /// A kept incremental (this id) needs it as its parent or further up its chain.
    NeededBy(String),
    /// Still pending or running.
    Unfinished,
    /// Its storage refuses to delete it (Object Lock, write-once folder).
    Held(Hold),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Within(days) => write!(f, "younger than {days} days"),
            Reason::Last(n) => write!(f, "one of the last {n}"),
            Reason::Daily(day) => write!(f, "daily {day}"),
            Reason::Weekly(week) => write!(f, "weekly {week}"),
            Reason::Monthly(month) => write!(f, "monthly {month}"),
            Reason::Yearly(year) => write!(f, "yearly {year}"),
            Reason::MinVerified(n) => write!(f, "one of the {n} newest verified"),
            Reason::Pinned => f.write_str("pinned"),
            Reason::NeededBy(id) => write!(f, "needed by incremental {id}"),
            Reason::Unfinished => f.write_str("not finished yet"),
            Reason::Held(hold) => hold.fmt(f),
        }
    }
}

/// The verdict on one backup.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Decision {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// Empty: the backup is removed.
    pub reasons: Vec<Reason>,
}

impl Decision {
    pub fn keep(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// The verdict on every backup of the scope, newest first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RetentionPlan {
    pub decisions: Vec<Decision>,
    /// Set when a guard rail stops all pruning; then nothing is removed.
    pub blocked: Option<String>,
}

impl RetentionPlan {
    pub fn removals(&self) -> impl Iterator<Item = &Decision> {
        self.decisions
            .iter()
            .filter(|d| self.blocked.is_none() && !d.keep())
    }
}

/// A calendar rule: its count, the bucket a day falls in, and the reason it gives.
type Bucket = (Option<u32>, fn(&NaiveDate) -> String, fn(String) -> Reason);

/// Applies `policy` to `backups` (all backups of one scope, any order) as of `now`, with
/// calendar buckets in `zone`.
pub fn plan<'a, Z: TimeZone>(
    policy: &RetentionPolicy,
    backups: &'a [Candidate],
    now: DateTime<Utc>,
    zone: &Z,
) -> RetentionPlan {
    let mut sorted: Vec<&'a Candidate> = backups.iter().collect();
    sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let mut reasons: HashMap<&'a str, Vec<Reason>> = HashMap::new();
    fn add<'k>(reasons: &mut HashMap<&'k str, Vec<Reason>>, id: &'k str, reason: Reason) {
        reasons.entry(id).or_default().push(reason);
    }

    // Restorable copies, newest first: they fill the rules.
    let restorable: Vec<&Candidate> = sorted
        .iter()
        .copied()
        .filter(|b| b.status == Status::Succeeded && b.verify_state != VerifyState::Failed)
        .collect();
    for b in &sorted {
        if !b.status.is_finished() {
            add(&mut reasons, &b.id, Reason::Unfinished);
        }
        if b.pinned {
            add(&mut reasons, &b.id, Reason::Pinned);
        }
        if let Some(hold) = &b.hold {
            add(&mut reasons, &b.id, Reason::Held(hold.clone()));
        }
    }
    if let Some(days) = policy.keep_within_days.filter(|d| *d > 0) {
        let cutoff = now - Duration::days(i64::from(days));
        for b in restorable.iter().filter(|b| b.created_at > cutoff) {
            add(&mut reasons, &b.id, Reason::Within(days));
        }
    }
    if let Some(n) = policy.keep_last.filter(|n| *n > 0) {
        for b in restorable.iter().take(n as usize) {
            add(&mut reasons, &b.id, Reason::Last(n));
        }
    }
    let buckets: [Bucket; 4] = [
        (
            policy.keep_daily,
            |t| t.format("%Y-%m-%d").to_string(),
            Reason::Daily,
        ),
        (
            policy.keep_weekly,
            |t| {
                let week = t.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            },
            Reason::Weekly,
        ),
        (
            policy.keep_monthly,
            |t| t.format("%Y-%m").to_string(),
            Reason::Monthly,
        ),
        (
            policy.keep_yearly,
            |t| t.format("%Y").to_string(),
            Reason::Yearly,
        ),
    ];
    for (count, bucket_of, reason) in buckets {
        let Some(count) = count.filter(|n| *n > 0) else {
            continue;
        };
        let mut seen: HashSet<String> = HashSet::new();
        for b in &restorable {
            if seen.len() == count as usize {
                break;
            }
            let bucket = bucket_of(&b.created_at.with_timezone(zone).date_naive());
            // Newest first: the first backup met in a bucket is that bucket's newest.
            if seen.insert(bucket.clone()) {
                add(&mut reasons, &b.id, reason(bucket));
            }
        }
    }
    if policy.min_verified > 0 {
        let verified = restorable
            .iter()
            .filter(|b| b.verify_state == VerifyState::Passed)
            .take(policy.min_verified as usize);
        for b in verified {
            add(
                &mut reasons,
                &b.id,
                Reason::MinVerified(policy.min_verified),
            );
        }
    }
    // Chains: every ancestor of a kept incremental stays (followed to the root).
    let parent_of: HashMap<&str, &str> = sorted
        .iter()
        .filter_map(|b| b.parent_id.as_deref().map(|p| (b.id.as_str(), p)))
        .collect();
    let kept: Vec<&str> = sorted
        .iter()
        .map(|b| b.id.as_str())
        .filter(|id| reasons.contains_key(*id))
        .collect();
    for id in kept {
        let mut current = id;
        let mut steps = 0;
        while let Some(parent) = parent_of.get(current) {
            add(&mut reasons, parent, Reason::NeededBy(id.to_string()));
            current = parent;
            steps += 1;
            if steps > sorted.len() {
                break; // a cycle in bad data must not hang retention
            }
        }
    }
    let blocked = sorted
        .iter()
        .find(|b| b.status.is_finished())
        .filter(|newest| newest.status != Status::Succeeded)
        .map(|newest| {
            format!(
                "the newest backup of this scope ({}) is {}: nothing is pruned until a backup succeeds",
                newest.id, newest.status
            )
        });
    let decisions = sorted
        .iter()
        .map(|b| Decision {
            id: b.id.clone(),
            created_at: b.created_at,
            reasons: reasons.remove(b.id.as_str()).unwrap_or_default(),
        })
        .collect();
    RetentionPlan { decisions, blocked }
}

#[cfg(test)]
mod tests;
