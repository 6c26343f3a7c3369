//! The restore form of `/backups/{id}/restore`: what a browser sends, and checking it field
//! by field into a [`Choice`] — every message at once, each beside its field.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// The form as sent. `sources` repeats (one checkbox per source), so it is read with
/// `serde_html_form`, which collects repeated fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RestoreForm {
    /// `all` or `sources`.
    pub scope: String,
    pub sources: Vec<String>,
    pub path_glob: String,
    /// `original` or `directory`.
    pub target: String,
    pub target_dir: String,
    pub confirm: Option<String>,
}

/// What the form asks for, checked.
pub struct Choice {
    pub sources: Vec<String>,
    pub path_glob: Option<String>,
    pub target: Option<PathBuf>,
}

/// A message per field; empty when the field is fine.
#[derive(Default)]
pub struct FieldErrors {
    pub scope: String,
    pub sources: String,
    pub path_glob: String,
    pub target_dir: String,
    pub confirm: String,
    /// Refusals that belong to no one field (the backup's state, the configuration).
    pub general: String,
}

/// Checks every field, collecting all the messages at once.
pub fn check(form: &RestoreForm, held: &[String]) -> Result<Choice, Box<FieldErrors>> {
    let mut errors = FieldErrors::default();
    let sources = match form.scope.as_str() {
        "all" => Vec::new(),
        "sources" => {
            if form.sources.is_empty() {
                errors.sources = "Tick at least one source, or choose the whole backup.".into();
            }
            for name in &form.sources {
                if !held.contains(name) {
                    errors.sources = format!("This backup has no source `{name}`.");
                }
            }
            form.sources.clone()
        }
        other => {
            errors.scope = format!("`{other}` is not a scope: choose all or chosen sources.");
            Vec::new()
        }
    };
    let pattern = form.path_glob.trim();
    let path_glob = (!pattern.is_empty()).then(|| pattern.to_string());
    if let Some(pattern) = &path_glob {
        if let Err(e) = globset::Glob::new(pattern) {
            errors.path_glob = format!("Not a valid glob: {e}.");
        }
    }
    let target = match form.target.as_str() {
        "original" => None,
        "directory" => match check_target(form.target_dir.trim(), &sources, held) {
            Ok(dir) => Some(dir),
            Err(message) => {
                errors.target_dir = message;
                None
            }
        },
        other => {
            errors.target_dir =
                format!("`{other}` is not a target: choose the original places or a directory.");
            None
        }
    };
    if form.confirm.is_none() {
        errors.confirm =
            "Tick this box to confirm that the data shown above will be overwritten.".into();
    }
    let fine = [
        &errors.scope,
        &errors.sources,
        &errors.path_glob,
        &errors.target_dir,
        &errors.confirm,
    ]
    .iter()
    .all(|e| e.is_empty());
    if fine {
        Ok(Choice {
            sources,
            path_glob,
            target,
        })
    } else {
        Err(Box::new(errors))
    }
}

/// Another directory must be absolute, plain (no `..`), and hold nothing yet where the
/// chosen sources would go (`<dir>/<source>`).
fn check_target(dir: &str, chosen: &[String], held: &[String]) -> Result<PathBuf, String> {
    if dir.is_empty() {
        return Err("Give the directory to restore into.".into());
    }
    let path = Path::new(dir);
    if !path.is_absolute() {
        return Err(format!(
            "`{dir}` is not an absolute path (it must start with /)."
        ));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(format!("`{dir}` must not contain `..`."));
    }
    let names = if chosen.is_empty() { held } else { chosen };
    for name in names {
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
