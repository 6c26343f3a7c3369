//! A write-once local folder (`append_only = true`): backups are still written and restore,
//! but nothing Coffer does removes or replaces one there — cleanup by age and by policy keep
//! them and say why, and the unfinished temporary files of a killed writer are still swept.

use std::fs;

use diesel::prelude::*;

use crate::helpers::*;

fn append_only(env: &TestEnv) {
    let text = fs::read_to_string(&env.config).unwrap();
    let text = text.replacen("[storage]\n", "[storage]\nappend_only = true\n", 1);
    fs::write(&env.config, text).unwrap();
}

fn make_old(env: &TestEnv, id: &str) {
    use coffer::db::schema::backup_records::dsl;
    let when = chrono::Utc::now().naive_utc() - chrono::Duration::days(90);
    diesel::update(dsl::backup_records.find(id))
        .set(dsl::created_at.eq(when))
        .execute(&mut *env.app().conn().unwrap())
        .unwrap();
}

#[test]
fn a_write_once_folder_keeps_every_backup_and_still_restores() {
    for backend in &BOTH {
        let env = TestEnv::with_directory(backend);
        append_only(&env);
        fs::write(env.path("files/a.txt"), text_bytes(30_000, 1)).unwrap();
        let old = env.backup(&[]);
        let old_id = old["id"].as_str().unwrap().to_string();
        let archive = env.archive_path(&old);
        let stored = fs::read(&archive).unwrap();
        fs::write(env.path("files/a.txt"), text_bytes(30_000, 2)).unwrap();
        let newer = env.backup(&[]);
        make_old(&env, &old_id);

        // By age: listed as kept, with the reason, and not deleted when confirmed.
        let preview = env.ok(&["cleanup", "--days", "30"]);
        let line = preview
            .lines()
            .find(|l| l.contains(&old_id))
            .unwrap_or_else(|| panic!("{preview}"));
        assert!(
            line.contains("keeping") && line.contains("write-once storage `primary`"),
            "{preview}"
        );
        assert!(preview.contains("nothing to delete"), "{preview}");
        let confirmed = env.ok(&["cleanup", "--days", "30", "--confirm"]);
        assert!(confirmed.contains("deleted 0 backup(s)"), "{confirmed}");

        // By policy: the same.
        let policy = ["cleanup", "--scope", "all", "--keep-last", "1"];
        let preview = env.ok(&policy);
        let line = preview.lines().find(|l| l.contains(&old_id)).unwrap();
        assert!(line.contains("write-once"), "{preview}");
        let mut confirm = policy.to_vec();
        confirm.push("--confirm");
        assert!(env.ok(&confirm).contains("deleted 0 backup(s)"));
        assert_eq!(fs::read(&archive).unwrap(), stored, "untouched");
        assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 2);

        // The storage itself refuses to delete or replace it.
        let app = env.app();
        let key = old["storage_key"].as_str().unwrap();
        let refused = app.storage.delete(key).unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
        assert!(app.storage.create(key).is_err());
        assert_eq!(fs::read(&archive).unwrap(), stored);

        // A killed writer's temporary file is still swept.
        let partial = archive.with_file_name("x.tar.gz.partial-0123");
        fs::write(&partial, b"half").unwrap();
        assert_eq!(
            app.storage
                .sweep_abandoned(std::time::Duration::ZERO)
                .unwrap(),
            1
        );
        assert!(!partial.exists());

        // Both restore.
        for (backup, seed) in [(&old, 1), (&newer, 2)] {
            let target = env.path(&format!("restored-{seed}"));
            env.ok(&[
                "restore",
                backup["id"].as_str().unwrap(),
                "--target",
                target.to_str().unwrap(),
                "--yes",
            ]);
            assert_eq!(
                fs::read(target.join("files/a.txt")).unwrap(),
                text_bytes(30_000, seed)
            );
        }
    }
}
