//! The restore form of `/backups/{id}/restore`: what a browser sends, and checking it field
//! by field into a [`Choice`] — every message at once, each beside its field.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::domain::SourceKind;
use crate::sources::Selection;

/// The form as sent. `sources` repeats (one checkbox per source), so it is read with
/// `serde_html_form`, which collects repeated fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RestoreForm {
    /// `all` or `sources`.
    pub scope: String,
    pub sources: Vec<String>,
    pub path_glob: String,
    /// `original`, `directory` or `database`.
    pub target: String,
    pub target_dir: String,
    /// For one database source: a database name on its server, or a URL without password.
    pub target_database: String,
    /// Database sources: comma-separated tables / schemas; a Redis key pattern.
    pub tables: String,
    pub schemas: String,
    pub keys: String,
    /// Redis: merge into the target instead of replacing its contents.
    pub merge: Option<String>,
    pub confirm: Option<String>,
}

/// A source the backup holds, as the form check needs it.
pub struct Held {
    pub name: String,
    pub kind: SourceKind,
}

/// What the form asks for, checked.
pub struct Choice {
    pub sources: Vec<String>,
    pub path_glob: Option<String>,
    pub target: Option<PathBuf>,
    pub selection: Selection,
    pub merge: bool,
}

/// A message per field; empty when the field is fine.
#[derive(Default)]
pub struct FieldErrors {
    pub scope: String,
    pub sources: String,
    pub path_glob: String,
    pub target_dir: String,
    pub target_database: String,
    pub selection: String,
    pub confirm: String,
    /// Refusals that belong to no one field (the backup's state, the configuration).
    pub general: String,
}

/// Checks every field, collecting all the messages at once.
pub fn check(form: &RestoreForm, held_sources: &[Held]) -> Result<Choice, Box<FieldErrors>> {
    let mut errors = FieldErrors::default();
    let held: Vec<String> = held_sources.iter().map(|h| h.name.clone()).collect();
    let held = held.as_slice();
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
        "database" => {
            match check_target_database(form.target_database.trim(), &sources, held_sources) {
                Ok(name) => Some(PathBuf::from(name)),
                Err(message) => {
                    errors.target_database = message;
                    None
                }
            }
        }
        other => {
            errors.target_dir = format!(
                "`{other}` is not a target: choose the original places, a directory or a database."
            );
            None
        }
    };
    let selection = Selection {
        tables: split_list(&form.tables),
        schemas: split_list(&form.schemas),
        keys: Some(form.keys.trim().to_string()).filter(|k| !k.is_empty()),
    };
    let chosen_kinds = held_sources
        .iter()
        .filter(|h| sources.is_empty() || sources.contains(&h.name));
    if !selection.is_everything() {
        for held in chosen_kinds {
            if let Err(e) = selection.check_fits(held.kind, &held.name) {
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
    let fine = [
        &errors.scope,
        &errors.sources,
        &errors.path_glob,
        &errors.target_dir,
        &errors.target_database,
        &errors.selection,
        &errors.confirm,
    ]
    .iter()
    .all(|e| e.is_empty());
    if fine {
        Ok(Choice {
            sources,
            path_glob,
            target,
            selection,
            merge: form.merge.is_some(),
        })
    } else {
        Err(Box::new(errors))
    }
}

/// A database target needs exactly one database source chosen, and a name or URL.
fn check_target_database(text: &str, chosen: &[String], held: &[Held]) -> Result<String, String> {
    let picked: Vec<&Held> = held
        .iter()
        .filter(|h| chosen.is_empty() || chosen.contains(&h.name))
        .collect();
    let [one] = picked.as_slice() else {
        return Err(
            "A database target takes exactly one database source: tick just that one.".into(),
        );
    };
    if one.kind.is_path_based() {
        return Err(format!(
            "`{}` is a {} source: restore it into a directory instead.",
            one.name, one.kind
        ));
    }
    if text.is_empty() {
        return Err("Give a database name on the same server, or a URL.".into());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn held() -> Vec<Held> {
        vec![
            Held {
                name: "files".into(),
                kind: SourceKind::Directory,
            },
            Held {
                name: "shopdb".into(),
                kind: SourceKind::Postgres,
            },
        ]
    }

    fn form(fields: impl FnOnce(&mut RestoreForm)) -> RestoreForm {
        let mut form = RestoreForm {
            scope: "sources".into(),
            sources: vec!["shopdb".into()],
            target: "original".into(),
            confirm: Some("yes".into()),
            ..RestoreForm::default()
        };
        fields(&mut form);
        form
    }

    #[test]
    fn a_database_target_takes_one_database_source() {
        let choice = check(
            &form(|f| {
                f.target = "database".into();
                f.target_database = "shop_check".into();
            }),
            &held(),
        )
        .unwrap_or_else(|e| panic!("{}", e.target_database));
        assert_eq!(choice.target.as_deref(), Some(Path::new("shop_check")));

        let errors = check(
            &form(|f| {
                f.scope = "all".into();
                f.target = "database".into();
                f.target_database = "x".into();
            }),
            &held(),
        )
        .err()
        .unwrap();
        assert!(
            errors.target_database.contains("exactly one"),
            "{}",
            errors.target_database
        );

        let errors = check(
            &form(|f| {
                f.sources = vec!["files".into()];
                f.target = "database".into();
                f.target_database = "x".into();
            }),
            &held(),
        )
        .err()
        .unwrap();
        assert!(
            errors.target_database.contains("directory"),
            "{}",
            errors.target_database
        );
    }

    #[test]
    fn tables_keys_and_merge_reach_the_choice_and_misfits_are_named() {
        let choice = check(
            &form(|f| {
                f.tables = " orders, public.customers ,".into();
                f.merge = Some("yes".into());
            }),
            &held(),
        )
        .unwrap_or_else(|e| panic!("{}", e.selection));
        assert_eq!(choice.selection.tables, ["orders", "public.customers"]);
        assert!(choice.merge);

        let errors = check(&form(|f| f.keys = "user:*".into()), &held())
            .err()
            .unwrap();
        assert!(errors.selection.contains("--keys"), "{}", errors.selection);
    }
}
