//! `coffer restore … --dry-run`: what the restore would change, printed and nothing done —
//! the same preview as the console's confirmation page (`jobs/restore/preview`). `--json`
//! prints it as one document; `--csv` every changed path instead.

use std::io::Write;

use crate::app::App;
use crate::error::Result;
use crate::jobs::restore::preview::csv::ChangesCsv;
use crate::jobs::restore::preview::{
    preview_restore, DatabasePreview, FilesPreview, RestorePreview, SourcePreview, LISTED,
};
use crate::jobs::restore::RestoreRequest;
use crate::present::human_bytes;

use super::output::print_json;

pub fn print(app: &App, request: &RestoreRequest, json: bool, csv: bool) -> Result<()> {
    if csv {
        let changes = ChangesCsv::prepare(app, request)?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        changes.write(&mut out)?;
        return Ok(());
    }
    let preview = preview_restore(app, request, LISTED)?;
    if json {
        print_json(&preview);
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let _ = write_text(&mut out, &preview);
    Ok(())
}

fn write_text(out: &mut dyn Write, preview: &RestorePreview) -> std::io::Result<()> {
    let whither = if preview.to_original {
        "over the original places (after a safety backup)"
    } else {
        "into the chosen target"
    };
    writeln!(
        out,
        "Dry run: restoring backup {} ({}) {whither} would change:",
        preview.backup_name, preview.backup_id
    )?;
    for source in &preview.sources {
        write_source(out, source)?;
    }
    writeln!(out, "\nNothing was changed (dry run).")
}

fn write_source(out: &mut dyn Write, source: &SourcePreview) -> std::io::Result<()> {
    writeln!(
        out,
        "\n{} ({}) -> {}",
        source.source, source.kind, source.target
    )?;
    if let Some(files) = &source.files {
        write_files(out, files)?;
    }
    for database in &source.databases {
        write_database(out, database)?;
    }
    for note in &source.notes {
        writeln!(out, "  note: {note}")?;
    }
    Ok(())
}

fn write_files(out: &mut dyn Write, files: &FilesPreview) -> std::io::Result<()> {
    let c = &files.counts;
    writeln!(
        out,
        "  files: {} added, {} changed, {} removed, {} same content but time differs, {} \
         unchanged ({} written, {} removed)",
        c.added,
        c.changed,
        c.removed,
        c.retimed,
        c.unchanged,
        human_bytes(c.bytes_written),
        human_bytes(c.bytes_removed)
    )?;
    for change in &files.listed {
        writeln!(out, "  {:<9} {}", change.change.as_str(), change.path)?;
    }
    let more = files.changes().saturating_sub(files.listed.len() as u64);
    if more > 0 {
        writeln!(out, "  … and {more} more (--csv lists every one)")?;
    }
    Ok(())
}

fn write_database(out: &mut dyn Write, database: &DatabasePreview) -> std::io::Result<()> {
    let new = if database.new_database {
        " (new database)"
    } else {
        ""
    };
    writeln!(
        out,
        "  database {} -> {}{new}",
        database.database, database.place
    )?;
    if let Some(keys) = &database.keys {
        let now = match keys.now_without_ttl {
            Some(n) => format!("{} keys ({n} without a time to live)", keys.now),
            None => format!("{} keys", keys.now),
        };
        let backup = keys
            .backup_without_ttl
            .map_or("not recorded".to_string(), |n| {
                format!("{n} keys without a time to live")
            });
        writeln!(out, "    keys now: {now}; in the backup: {backup}")?;
        if let Some(pattern) = &keys.pattern {
            writeln!(out, "    only keys matching `{pattern}` are restored")?;
        }
        let how = if keys.replaces {
            "keys the backup lacks are removed"
        } else {
            "merged: keys the backup lacks stay"
        };
        writeln!(out, "    {how}")?;
    }
    if !database.tables.is_empty() {
        writeln!(
            out,
            "    {:<40} {:>12} {:>12}",
            "TABLE", "ROWS NOW", "IN BACKUP"
        )?;
        let count = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
        for table in &database.tables {
            writeln!(
                out,
                "    {:<40} {:>12} {:>12}",
                table.table,
                count(table.now),
                count(table.backup)
            )?;
        }
    }
    if !database.recorded {
        writeln!(out, "    the backup recorded no counts for it")?;
    }
    if let Some(note) = &database.note {
        writeln!(out, "    note: {note}")?;
    }
    Ok(())
}
