//! The restore form of `/backups/{id}/restore`: what a browser sends, and checking it field
//! by field into a [`Choice`] — every message at once, each beside its field.
//!
//! The form has no separate "scope" or "target" switches that could disagree with what is
//! filled in: the ticked sources are what is restored, and each source goes where the field of
//! its kind says — a directory for folder, file and SQLite sources, a database name for
//! PostgreSQL and MySQL, a database number for Redis — or back to its original place when that
//! field is empty. Every target is checked for the kind of each ticked source here, before
//! anything is queued.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{check_database_name, ServerUrl};
use crate::domain::SourceKind;
use crate::sources::Selection;

/// The form as sent. `sources` repeats (one checkbox per source), so it is read with
/// `serde_html_form`, which collects repeated fields. Fields of earlier versions of the form
/// (`scope`, `target`) are ignored: only what the page shows decides.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RestoreForm {
    pub sources: Vec<String>,
    pub path_glob: String,
    /// Folder, file and SQLite sources: another directory (`<dir>/<source>`); empty for
    /// their original places.
    pub target_dir: String,
    /// A PostgreSQL or MySQL source: a database name on its server, or a URL without
    /// password; empty for the original database.
    pub target_database: String,
    /// A Redis source: a database number on its server, or a `redis://` URL; empty for the
    /// original database.
    pub target_redis: String,
    /// Database sources: comma-separated tables / schemas; a Redis key pattern.
    pub tables: String,
    pub schemas: String,
    pub keys: String,
    /// Redis: merge into the target instead of replacing its contents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge: Option<String>,
    /// Never carried into a link: the box is ticked on the confirmation page itself.
    #[serde(skip_serializing)]
    pub confirm: Option<String>,
}

impl RestoreForm {
    /// The form as first shown: every source of the backup ticked, original places.
    pub fn every_source(held: &[Held]) -> RestoreForm {
        RestoreForm {
            sources: held.iter().map(|h| h.name.clone()).collect(),
            ..RestoreForm::default()
        }
    }
}

/// A source the backup holds, as the form check needs it.
pub struct Held {
    pub name: String,
    pub kind: SourceKind,
    /// Why it cannot go back to its original place (no longer configured, configured
    /// elsewhere now); `None` when it can.
    pub no_original: Option<String>,
}

/// What the form asks for, checked.
pub struct Choice {
    pub sources: Vec<String>,
    pub path_glob: Option<String>,
    /// `None`: every chosen source goes back to its original place.
    pub target: Option<PathBuf>,
    pub selection: Selection,
    pub merge: bool,
}

/// A message per field; empty when the field is fine.
#[derive(Default, Clone)]
pub struct FieldErrors {
    pub sources: String,
    pub path_glob: String,
    pub target_dir: String,
    pub target_database: String,
    pub target_redis: String,
    pub selection: String,
    pub confirm: String,
    /// Refusals that belong to no one field (the backup's state, the configuration).
    pub general: String,
}

impl FieldErrors {
    /// Only the confirmation box is missing: the choice itself is sound.
    pub fn only_confirm(&self) -> bool {
        !self.confirm.is_empty()
            && FieldErrors {
                confirm: String::new(),
                ..self.clone()
            }
            .is_empty()
    }

    fn is_empty(&self) -> bool {
        [
            &self.sources,
            &self.path_glob,
            &self.target_dir,
            &self.target_database,
            &self.target_redis,
            &self.selection,
            &self.confirm,
        ]
        .iter()
        .all(|e| e.is_empty())
    }
}

/// Which target field a source kind is restored elsewhere by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TargetField {
    Directory,
    Database,
    Redis,
}

impl TargetField {
    fn of(kind: SourceKind) -> TargetField {
        match kind {
            SourceKind::Redis => TargetField::Redis,
            kind if kind.is_path_based() => TargetField::Directory,
            _ => TargetField::Database,
        }
    }

    fn value(self, form: &RestoreForm) -> &str {
        match self {
            TargetField::Directory => form.target_dir.trim(),
            TargetField::Database => form.target_database.trim(),
            TargetField::Redis => form.target_redis.trim(),
        }
    }

    fn error(self, errors: &mut FieldErrors) -> &mut String {
        match self {
            TargetField::Directory => &mut errors.target_dir,
            TargetField::Database => &mut errors.target_database,
            TargetField::Redis => &mut errors.target_redis,
        }
    }
}

/// Checks the choice (sources, glob, targets, selection) without the confirmation box: what
/// the preview of a restore is computed for.
pub fn check_choice(form: &RestoreForm, held: &[Held]) -> Result<Choice, Box<FieldErrors>> {
    let confirmed = RestoreForm {
        confirm: Some("yes".into()),
        ..form.clone()
    };
    check(&confirmed, held)
}

/// The form as a query string, for links that carry the choice along (the list of changes,
/// "change the choice"); never the confirmation.
pub fn query_of(form: &RestoreForm) -> String {
    serde_html_form::to_string(form).unwrap_or_default()
}

/// Checks every field, collecting all the messages at once.
pub fn check(form: &RestoreForm, held: &[Held]) -> Result<Choice, Box<FieldErrors>> {
    let mut errors = FieldErrors::default();
    let mut chosen: Vec<&Held> = Vec::new();
    for name in &form.sources {
        match held.iter().find(|h| &h.name == name) {
            Some(source) if !chosen.iter().any(|c| c.name == source.name) => chosen.push(source),
            Some(_) => {}
            None => errors.sources = format!("This backup has no source “{name}”."),
        }
    }
    if form.sources.is_empty() {
        errors.sources = "Tick at least one source to restore.".into();
    }
    let pattern = form.path_glob.trim();
    let path_glob = (!pattern.is_empty()).then(|| pattern.to_string());
    if let Some(pattern) = &path_glob {
        if let Err(e) = globset::Glob::new(pattern) {
            errors.path_glob = format!("Not a valid glob: {e}.");
        }
    }
    let target = check_targets(form, &chosen, &mut errors);
    let selection = Selection {
        tables: split_list(&form.tables),
        schemas: split_list(&form.schemas),
        keys: Some(form.keys.trim().to_string()).filter(|k| !k.is_empty()),
    };
    if !selection.is_everything() {
        for source in &chosen {
            if let Err(e) = selection.check_fits(source.kind, &source.name) {
                errors.selection = format!(
                    "{e}: tick only the database sources the tables, schemas or keys belong to."
                );
            }
        }
    }
    if form.confirm.is_none() {
        errors.confirm =
            "Tick this box to confirm that the data shown above will be overwritten.".into();
    }
    if !errors.is_empty() {
        return Err(Box::new(errors));
    }
    Ok(Choice {
        sources: chosen.iter().map(|c| c.name.clone()).collect(),
        path_glob,
        target,
        selection,
        merge: form.merge.is_some(),
    })
}

/// Where the chosen sources go: all to their original places (every target field of their
/// kinds empty), or all elsewhere through one target — a directory for any number of
/// folder, file and SQLite sources, or a database for one database source. A restore runs as
/// one all-or-nothing switch, so half original, half elsewhere is refused with the reason.
fn check_targets(
    form: &RestoreForm,
    chosen: &[&Held],
    errors: &mut FieldErrors,
) -> Option<PathBuf> {
    let mut fields: Vec<TargetField> = Vec::new();
    for field in chosen.iter().map(|c| TargetField::of(c.kind)) {
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    let filled: Vec<TargetField> = fields
        .iter()
        .copied()
        .filter(|f| !f.value(form).is_empty())
        .collect();
    // A target filled in for no ticked source would be silently ignored: say so instead.
    for (field, what) in [
        (TargetField::Directory, "folder, file or SQLite"),
        (TargetField::Database, "PostgreSQL or MySQL"),
        (TargetField::Redis, "Redis"),
    ] {
        if !field.value(form).is_empty() && !fields.contains(&field) {
            *field.error(errors) = format!(
                "No {what} source is ticked: tick the ones to restore here, or clear this field."
            );
        }
    }
    if filled.is_empty() {
        // Every ticked source back to its original place: each must still have one.
        for source in chosen {
            if let Some(reason) = &source.no_original {
                errors.sources = format!(
                    "“{}” cannot go back to its original place ({reason}): fill in a target for \
                     it below, or untick it.",
                    source.name
                );
            }
        }
        return None;
    }
    // Some go elsewhere: each chosen source needs its kind's target, and one kind of target.
    for field in &fields {
        if field.value(form).is_empty() {
            let names = names_of(chosen, *field);
            *field.error(errors) = format!(
                "Fill this in too, or untick {names}: one restore sends every ticked source to \
                 its original place or every one elsewhere."
            );
        }
    }
    if fields.len() > 1 {
        let names: Vec<String> = chosen.iter().map(|c| format!("“{}”", c.name)).collect();
        errors.sources = format!(
            "Another place takes either folder, file and SQLite sources (into the directory) or \
             one database source: restore {} one after the other.",
            names.join(", ")
        );
        return None;
    }
    let field = fields[0];
    let text = field.value(form);
    let checked = match field {
        TargetField::Directory => {
            let names: Vec<String> = chosen.iter().map(|c| c.name.clone()).collect();
            check_target_dir(text, &names)
        }
        TargetField::Database | TargetField::Redis => {
            let [one] = chosen else {
                *field.error(errors) = format!(
                    "A database target takes one source: tick one of {} at a time.",
                    names_of(chosen, field)
                );
                return None;
            };
            check_target_database(text, one).map(PathBuf::from)
        }
    };
    match checked {
        Ok(target) => Some(target),
        Err(message) => {
            *field.error(errors) = message;
            None
        }
    }
}

/// "`a`, `b`": the chosen sources restored through `field`.
fn names_of(chosen: &[&Held], field: TargetField) -> String {
    chosen
        .iter()
        .filter(|c| TargetField::of(c.kind) == field)
        .map(|c| format!("“{}”", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A database name on the source's server (PostgreSQL, MySQL), a database number (Redis), or
/// a URL of the source's kind without a password.
fn check_target_database(text: &str, source: &Held) -> Result<String, String> {
    if text.contains("://") {
        let url = ServerUrl::parse(source.kind, text)
            .map_err(|m| format!("“{}” is a {} source: {m}.", source.name, source.kind))?;
        if url.as_url().password().is_some() {
            return Err(
                "Leave the password out of the URL: the source's own password is used \
                        for the target server too, and the URL is kept with the task."
                    .into(),
            );
        }
        return Ok(text.to_string());
    }
    if source.kind == SourceKind::Redis {
        return match text.parse::<u32>() {
            Ok(_) => Ok(text.to_string()),
            Err(_) => Err(format!(
                "“{text}” is not a Redis database number: give a number such as 3, or a URL \
                 like redis://127.0.0.1:6379/3."
            )),
        };
    }
    check_database_name(text).map_err(|m| format!("{m}."))?;
    Ok(text.to_string())
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Another directory must be absolute, plain (no `..`), and hold nothing yet where the
/// chosen sources would go (`<dir>/<source>`).
fn check_target_dir(dir: &str, chosen: &[String]) -> Result<PathBuf, String> {
    let path = Path::new(dir);
    if !path.is_absolute() {
        return Err(format!(
            "“{dir}” is not an absolute path (it must start with /)."
        ));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(format!("“{dir}” must not contain “..”."));
    }
    for name in chosen {
        let place = path.join(name);
        let taken = match std::fs::symlink_metadata(&place) {
            Ok(meta) if meta.is_dir() => {
                std::fs::read_dir(&place).map_or(true, |mut d| d.next().is_some())
            }
            Ok(_) => true,
            Err(_) => false,
        };
        if taken {
            return Err(format!(
                "{} already exists and is not empty: choose an empty directory.",
                place.display()
            ));
        }
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests;
