//! `coffer sources list` shows where each source is (a server's password never), and
//! `coffer sources check` says what it found per source and exits non-zero when one fails.

use crate::helpers::*;

#[test]
fn sources_are_listed_and_checked() {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "[[sources]]\nname = \"files\"\nkind = \"directory\"\npath = \"{root}/files\"\n\
         [[sources]]\nname = \"gone\"\nkind = \"file\"\npath = \"{root}/missing.txt\"\n\
         [[sources]]\nname = \"shopdb\"\nkind = \"postgres\"\nurl = \"postgres://shop:hunter2-secret@127.0.0.1:5432/shop\"\n",
    );
    std::fs::create_dir_all(env.path("files")).unwrap();
    let list = env.ok(&["sources", "list"]);
    assert!(
        list.contains("postgres://shop@127.0.0.1:5432/shop"),
        "{list}"
    );
    assert!(!list.contains("hunter2"), "{list}");

    let ok = env.ok(&["sources", "check", "files"]);
    assert!(
        ok.contains("files") && ok.contains("ok") && ok.contains("is readable"),
        "{ok}"
    );

    let out = env.run(&["sources", "check", "files", "gone"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("gone") && stdout.contains("FAILED"),
        "{stdout}"
    );
    assert!(stdout.contains("missing.txt"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 of 2 sources failed"), "{stderr}");

    let unknown = env.fails(&["sources", "check", "nope"]);
    assert!(unknown.contains("source `nope` not found"), "{unknown}");
}
