//! Retention by policy through the CLI: the preview shows why each backup stays (bucket,
//! pin, chain), `--confirm` deletes exactly the rest (records and archives), and pruning stops
//! while the newest backup of the scope failed.

use std::fs;

use diesel::prelude::*;

use crate::helpers::*;

fn set_created(env: &TestEnv, id: &str, day: &str) {
    use coffer::db::schema::backup_records::dsl;
    let when = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(2, 0, 0)
        .unwrap();
    diesel::update(dsl::backup_records.find(id))
        .set(dsl::created_at.eq(when))
        .execute(&mut *env.app().conn().unwrap())
        .unwrap();
}

fn id(backup: &serde_json::Value) -> String {
    backup["id"].as_str().unwrap().to_string()
}

fn line_of<'a>(text: &'a str, id: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(id))
        .unwrap_or_else(|| panic!("{id} not in {text}"))
}

#[test]
fn a_policy_previews_then_prunes_keeping_buckets_pins_and_chains() {
    for backend in &BOTH {
        let env = TestEnv::with_directory(backend);
        fs::write(env.path("files/a"), b"a").unwrap();
        let january = env.backup(&[]);
        let february = env.backup(&[]);
        let march = env.backup(&[]);
        fs::write(env.path("files/b"), b"b").unwrap();
        let march_incr = env.backup(&["--kind", "incremental"]);
        assert_eq!(march_incr["parent_id"], march["id"]);
        let now = env.backup(&[]);
        set_created(&env, &id(&january), "2026-01-10");
        set_created(&env, &id(&february), "2026-02-10");
        set_created(&env, &id(&march), "2026-03-10");
        set_created(&env, &id(&march_incr), "2026-03-11");
        env.ok(&["pin", &id(&january)]);

        let policy = [
            "cleanup",
            "--scope",
            "all",
            "--keep-last",
            "1",
            "--keep-monthly",
            "2",
        ];
        let preview = env.ok(&policy);
        assert!(
            line_of(&preview, &id(&now)).contains("one of the last 1"),
            "{preview}"
        );
        assert!(
            line_of(&preview, &id(&march_incr)).contains("monthly 2026-03"),
            "{preview}"
        );
        assert!(
            line_of(&preview, &id(&march))
                .contains(&format!("needed by incremental {}", id(&march_incr))),
            "{preview}"
        );
        assert!(
            line_of(&preview, &id(&january)).contains("pinned"),
            "{preview}"
        );
        assert!(
            line_of(&preview, &id(&february)).contains("would delete"),
            "{preview}"
        );
        let archive = env.archive_path(&february);
        assert!(archive.exists(), "a preview deletes nothing");

        let json = env.json(&policy);
        let kept = json["decisions"].as_array().unwrap();
        assert_eq!(kept.len(), 5);

        let mut confirm = policy.to_vec();
        confirm.push("--confirm");
        let done = env.ok(&confirm);
        assert!(done.contains("deleted 1 backup(s)"), "{done}");
        assert!(!archive.exists(), "the archive went with the record");
        let listed = env.ok(&["list"]);
        assert!(!listed.contains(&id(&february)));
        for kept in [&january, &march, &march_incr, &now] {
            assert!(listed.contains(&id(kept)), "{listed}");
        }

        // Unpinned and out of every bucket, January goes next time.
        env.ok(&["unpin", &id(&january)]);
        assert!(env
            .ok(&policy)
            .contains(&format!("would delete 2026-01-10 02:00 {}", id(&january))));
    }
}

#[test]
fn pruning_stops_while_the_newest_backup_failed_and_bad_policies_are_refused() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a"), b"a").unwrap();
    let old = env.backup(&[]);
    set_created(&env, &id(&old), "2025-01-01");
    let newest = env.backup(&[]);
    {
        use coffer::db::schema::backup_records::dsl;
        diesel::update(dsl::backup_records.find(id(&newest)))
            .set(dsl::status.eq("failed"))
            .execute(&mut *env.app().conn().unwrap())
            .unwrap();
    }
    let out = env.ok(&["cleanup", "--scope", "all", "--keep-last", "1", "--confirm"]);
    assert!(out.contains("nothing is pruned"), "{out}");
    assert!(out.contains("deleted 0 backup(s)"), "{out}");
    assert!(env.ok(&["list"]).contains(&id(&old)));

    let err = env.fails(&["cleanup", "--scope", "all", "--keep-last", "0"]);
    assert!(err.contains("keeps nothing"), "{err}");
    let err = env.fails(&["cleanup", "--keep-daily", "3", "--timezone", "Mars/Base"]);
    assert!(err.contains("not an IANA time zone"), "{err}");
    let err = env.fails(&["cleanup", "--keep-daily", "-2"]);
    assert!(err.contains("-2"), "{err}");
    let err = env.fails(&["cleanup"]);
    assert!(err.contains("say what to delete"), "{err}");
}
