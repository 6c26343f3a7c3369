//! The whole list of paths a restore would change, as CSV (`change,path,backup_size,
//! target_size`), written row by row as the comparison finds them: a list of a million
//! paths costs no more memory than one of ten. The plan is checked before the first byte,
//! so a bad request is an error, never half a file.
//!
//! Paths come from the backed-up tree, whose names anyone who could write there chose: a
//! field starting with `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet opening
//! the list shows it instead of running it as a formula.

use std::io::Write;

use crate::app::App;
use crate::error::{Error, Result};
use crate::jobs::restore::plan::RestorePlan;
use crate::jobs::restore::RestoreRequest;
use crate::sources::database::kind_of;

use super::files::{compare, FileChange};
use super::plan_of;

/// A checked request whose list of changes is ready to be written.
pub struct ChangesCsv {
    plan: RestorePlan,
    to_original: bool,
}

impl ChangesCsv {
    pub fn prepare(app: &App, request: &RestoreRequest) -> Result<ChangesCsv> {
        Ok(ChangesCsv {
            plan: plan_of(app, request)?,
            to_original: request.target.is_none(),
        })
    }

    /// Writes the header and one row per changed path of every folder, file and SQLite
    /// source; returns the number of rows.
    pub fn write(&self, out: &mut dyn Write) -> Result<u64> {
        let mut rows = 0;
        writeln!(out, "change,path,backup_size,target_size").map_err(writing)?;
        for placement in &self.plan.placements {
            if kind_of(placement.source.kind).is_some() {
                continue;
            }
            compare(&self.plan, placement, self.to_original, &mut |change| {
                rows += 1;
                write_row(out, change).map_err(writing)
            })?;
        }
        out.flush().map_err(writing)?;
        Ok(rows)
    }
}

fn write_row(out: &mut dyn Write, change: &FileChange) -> std::io::Result<()> {
    let size = |s: Option<u64>| s.map(|n| n.to_string()).unwrap_or_default();
    writeln!(
        out,
        "{},{},{},{}",
        field(change.change.as_str()),
        field(&change.path),
        size(change.backup_size),
        size(change.target_size)
    )
}

/// One text field: quoted, quotes doubled, a formula's first character defused.
fn field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

fn writing(e: std::io::Error) -> Error {
    Error::Io {
        context: "writing the list of changes".into(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("files/a,b \"c\".txt"), "\"files/a,b \"\"c\"\".txt\"");
        assert_eq!(field("=cmd|' /C calc'!A0"), "\"'=cmd|' /C calc'!A0\"");
        assert_eq!(field("files/new\nline"), "\"files/new\nline\"");
    }
}
