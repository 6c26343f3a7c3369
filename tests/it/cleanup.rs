//! Age-based cleanup lists first, deletes only with --confirm, and keeps parents that a kept
//! incremental needs.

use std::fs;

use diesel::prelude::*;

use crate::helpers::*;

fn age(env: &TestEnv, id: &str, days: i64) {
    use coffer::db::schema::backup_records::dsl;
    let app = env.app();
    let when = chrono::Utc::now().naive_utc() - chrono::Duration::days(days);
    diesel::update(dsl::backup_records.find(id))
        .set(dsl::created_at.eq(when))
        .execute(&mut *app.conn().unwrap())
        .unwrap();
}

#[test]
fn cleanup_deletes_old_backups_but_never_a_needed_parent() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a"), b"a").unwrap();
    let lonely_old = env.backup(&[]);
    let parent_old = env.backup(&[]);
    fs::write(env.path("files/b"), b"b").unwrap();
    let young_child = env.backup(&["--kind", "incremental"]);
    assert_eq!(young_child["parent_id"], parent_old["id"]);
    age(&env, lonely_old["id"].as_str().unwrap(), 40);
    age(&env, parent_old["id"].as_str().unwrap(), 35);

    let preview = env.ok(&["cleanup", "--days", "30"]);
    assert!(
        preview.contains(&format!(
            "would delete {}",
            lonely_old["id"].as_str().unwrap()
        )),
        "{preview}"
    );
    assert!(preview.contains("needed by incremental"), "{preview}");
    assert!(
        env.archive_path(&lonely_old).exists(),
        "a preview deletes nothing"
    );
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 3);

    env.ok(&["cleanup", "--days", "30", "--confirm"]);
    let left: Vec<String> = env
        .json(&["list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&lonely_old["id"].as_str().unwrap().to_string()));
    assert!(
        !env.archive_path(&lonely_old).exists(),
        "its archive is gone too"
    );
    env.ok(&["verify", young_child["id"].as_str().unwrap(), "--deep"]);
    assert!(env
        .fails(&["cleanup", "--days", "0"])
        .contains("at least 1"));
}
