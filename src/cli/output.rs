//! Output helpers shared by the commands: JSON for scripts, aligned text for people, and a
//! progress bar on a terminal (plain lines when stderr is not one).

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::db::Backup;
use crate::engine::progress::Progress;
use crate::jobs::run::task_run::Display;
use crate::present::human_bytes;

pub fn print_json(value: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON output always serialises")
    );
}

/// A progress display for long work: a bar on a terminal, a line every few seconds otherwise,
/// nothing when `quiet` (JSON output must stay clean on stdout; progress goes to stderr).
pub fn progress_display(label: &str, quiet: bool) -> Option<Display> {
    if quiet {
        return None;
    }
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:12} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("progress template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        return Some(Box::new(move |p: &Progress| {
            bar.set_length(p.bytes_total.max(1));
            bar.set_position(p.bytes_done);
            bar.set_message(p.phase.clone());
        }));
    }
    let last = Mutex::new(std::time::Instant::now());
    let label = label.to_string();
    Some(Box::new(move |p: &Progress| {
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed().as_secs() >= 5 {
            *last = std::time::Instant::now();
            eprintln!(
                "{label}: {} {:.0}% ({} of {}, {} of {} files)",
                p.phase,
                p.percent(),
                human_bytes(p.bytes_done),
                human_bytes(p.bytes_total),
                p.files_done,
                p.files_total
            );
        }
    }))
}

pub fn print_backup_table(backups: &[Backup]) {
    println!(
        "{:<36}  {:<11}  {:<8}  {:>10}  {:>7}  {:<19}  NAME",
        "ID", "KIND", "STATUS", "SIZE", "FILES", "CREATED (UTC)"
    );
    for b in backups {
        println!(
            "{:<36}  {:<11}  {:<8}  {:>10}  {:>7}  {:<19}  {}",
            b.id,
            b.kind,
            b.status,
            human_bytes(b.size_bytes.max(0)),
            b.file_count,
            b.created_at.format("%Y-%m-%d %H:%M:%S"),
            b.name
        );
    }
}
