//! Bad configuration and bad flags give clear errors and change nothing.

use std::fs;

use crate::helpers::*;

#[test]
fn a_bad_config_names_the_file_the_key_and_the_problem() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let good = fs::read_to_string(&env.config).unwrap();
    fs::write(
        &env.config,
        format!("{good}\n[[sources]]\nname = \"x\"\nkind = \"directory\"\n"),
    )
    .unwrap();
    let err = env.fails(&["list"]);
    assert!(err.contains(env.config.to_str().unwrap()), "{err}");
    assert!(err.contains("sources[1].path"), "{err}");

    fs::write(&env.config, format!("{good}\n[archive]\ncompresion = 3\n")).unwrap();
    let err = env.fails(&["list"]);
    assert!(
        err.contains("compresion") || err.contains("archive"),
        "{err}"
    );
}

#[test]
fn unknown_ids_and_bad_flags_fail_cleanly() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    assert!(env.fails(&["show", "no-such-id"]).contains("not found"));
    assert!(env.fails(&["verify", "no-such-id"]).contains("not found"));
    assert!(env
        .fails(&["restore", "no-such-id", "--yes"])
        .contains("not found"));
    let bad_kind = env.fails(&["backup", "--kind", "differential"]);
    assert!(bad_kind.contains("full, incremental"), "{bad_kind}");
    let missing = env.path("files");
    fs::remove_dir_all(&missing).unwrap();
    let err = env.fails(&["backup"]);
    assert!(err.contains("files"), "{err}");
    let listed = env.json(&["list"]);
    assert_eq!(
        listed[0]["status"], "failed",
        "a failed backup is recorded as failed"
    );
}

#[test]
fn users_are_added_with_a_password_from_stdin() {
    use std::io::Write;
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let add = |name: &str, password: &str| {
        let mut child = env
            .command(&["user", "add", name, "--role", "operator"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(add("alice", "a long enough password").status.success());
    let again = add("alice", "another long password");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = add("bob", "short");
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least"));
    let app = env.app();
    let alice = coffer::db::User::find_by_username(&mut app.conn().unwrap(), "alice")
        .unwrap()
        .unwrap();
    assert!(alice.password_hash.starts_with("$argon2id$"));
    assert!(coffer::auth::verify_password(
        "a long enough password",
        &alice.password_hash
    ));
}

/// A console and a worker started together on a fresh install: one migrates the catalogue and
/// writes the first key while the other waits, and both then work with the same key.
#[test]
fn processes_starting_together_on_a_fresh_install_set_up_once() {
    for backend in &BOTH {
        for _ in 0..3 {
            let env = TestEnv::with_directory(backend);
            std::fs::write(env.path("files/a"), b"a").unwrap();
            let runs: Vec<_> = (0..4)
                .map(|_| env.command(&["list", "--json"]).spawn().unwrap())
                .collect();
            for run in runs {
                let out = run.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "{:?}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let keys = std::fs::read_dir(env.path("data/keys")).unwrap().count();
            assert_eq!(keys, 2, "one key and the active pointer");
            env.backup(&[]);
        }
    }
}
