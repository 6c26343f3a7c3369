//! Symbolic links are data: whatever they point at (absolute paths, `..`, nothing), a backup
//! that verifies restores them exactly as stored — into another folder, over the original,
//! and through `coffer export` + GNU tar. What a restore refuses (an entry below a link of
//! the same backup, a source name that is not plain) deep verify refuses too, and the
//! refusal comes before anything is created; nothing is ever written through a link.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use serde_json::{json, Value};

use crate::helpers::*;

/// A tree like real ones: links out of the tree, dangling, into it, to a folder.
fn build_linked_tree(files: &Path) {
    fs::create_dir_all(files.join("docs/deeper")).unwrap();
    fs::write(files.join("docs/readme.txt"), b"read me").unwrap();
    fs::write(files.join("docs/deeper/notes.txt"), b"notes").unwrap();
    set_mode(&files.join("docs/readme.txt"), 0o640);
    symlink("/etc/hostname", files.join("host")).unwrap();
    symlink("../outside", files.join("dangling")).unwrap();
    symlink("/srv/app/releases/42", files.join("current")).unwrap();
    symlink("docs/readme.txt", files.join("readme")).unwrap();
    symlink("docs", files.join("docs-link")).unwrap();
    symlink("../../host", files.join("docs/deeper/up")).unwrap();
}

/// Per path: `link:<target>`, `dir` or `file:<sha256>` (what GNU tar also restores).
fn shape(root: &Path) -> BTreeMap<String, String> {
    snapshot_tree(root)
        .into_iter()
        .map(|(path, what)| {
            let kind = match what.split_once(' ') {
                _ if what.starts_with("link:") => what,
                Some(("dir", _)) => "dir".to_string(),
                Some(("file", rest)) => format!("file:{}", rest.split(' ').next().unwrap()),
                _ => panic!("unexpected {what}"),
            };
            (path, kind)
        })
        .collect()
}

fn readlink(path: &Path) -> String {
    fs::read_link(path).unwrap().display().to_string()
}

#[test]
fn links_come_back_exactly_as_stored_wherever_they_point() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    build_linked_tree(&files);
    let original = snapshot_tree(&files);
    let backup = env.backup(&[]);
    let warnings = backup["warnings"].to_string();
    assert!(!warnings.contains("host"), "{warnings}");
    let id = backup["id"].as_str().unwrap();
    env.ok(&["verify", id, "--deep"]);

    let out = env.path("out");
    env.ok(&["restore", id, "--target", out.to_str().unwrap(), "--yes"]);
    assert_eq!(snapshot_tree(&out.join("files")), original);
    assert_eq!(readlink(&out.join("files/host")), "/etc/hostname");
    assert_eq!(readlink(&out.join("files/dangling")), "../outside");
    assert_eq!(readlink(&out.join("files/current")), "/srv/app/releases/42");
    assert_eq!(
        fs::read(out.join("files/docs-link/readme.txt")).unwrap(),
        b"read me"
    );

    // Over the original, after it changed: links and files as they were.
    fs::remove_file(files.join("host")).unwrap();
    symlink("/etc/passwd", files.join("host")).unwrap();
    fs::remove_file(files.join("current")).unwrap();
    fs::write(files.join("docs/readme.txt"), b"changed").unwrap();
    fs::remove_file(files.join("docs-link")).unwrap();
    env.ok(&["restore", id, "--yes"]);
    assert_eq!(snapshot_tree(&files), original);

    // A restore of some paths brings its links back too.
    let some = env.path("some");
    env.ok(&[
        "restore",
        id,
        "--path",
        "files/docs/**",
        "--target",
        some.to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(readlink(&some.join("files/docs/deeper/up")), "../../host");

    // GNU tar restores the exported backup the same way.
    let tarball = env.path("export.tar.gz");
    env.ok(&["export", id, "-o", tarball.to_str().unwrap()]);
    let untarred = env.path("untarred");
    fs::create_dir_all(&untarred).unwrap();
    let untar = tool(
        "tar",
        &[
            "-xzf",
            tarball.to_str().unwrap(),
            "-C",
            untarred.to_str().unwrap(),
        ],
    );
    assert!(
        untar.status.success(),
        "{}",
        String::from_utf8_lossy(&untar.stderr)
    );
    assert_eq!(shape(&untarred.join("files")), shape(&files));
}

#[test]
fn links_survive_an_incremental_and_its_restore() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    build_linked_tree(&files);
    env.backup(&[]);
    fs::write(files.join("later.txt"), b"later").unwrap();
    symlink("/etc/os-release", files.join("docs/os")).unwrap();
    let inc = env.backup(&["--kind", "incremental"]);
    let id = inc["id"].as_str().unwrap();
    env.ok(&["verify", id, "--deep"]);
    let out = env.path("out");
    env.ok(&["restore", id, "--target", out.to_str().unwrap(), "--yes"]);
    assert_eq!(snapshot_tree(&out.join("files")), snapshot_tree(&files));
}

/// One entry of a forged backup, relative to its source root.
enum Forged<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    Link(&'a str, &'a str),
}

/// Replaces a backup with a forged one whose archive and manifest agree entry for entry
/// (checksums included) and are sealed with the real key under a matching recorded
/// checksum — what an attacker holding the key, the storage and the catalogue could plant.
/// The source is renamed to `source`.
fn forge(env: &TestEnv, backup: &Value, source: &str, entries: &[Forged]) {
    use diesel::prelude::*;
    use std::io::Write;
    let app = env.app();
    let id = backup["id"].as_str().unwrap();
    let stored = coffer::db::Manifest::load(&mut app.conn().unwrap(), id)
        .unwrap()
        .unwrap();
    let mut manifest: Value = serde_json::from_str(&stored).unwrap();
    manifest["sources"][0]["name"] = json!(source);
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut listed = vec![json!({
        "path": source, "kind": "dir", "size": 0, "mode": 0o755, "mtime_ns": 0
    })];
    let mut append = |name: &str, kind: tar::EntryType, link: &str, content: &[u8]| {
        // Raw names, so nothing is normalised on the way.
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(0o755);
        header.set_size(content.len() as u64);
        header.set_cksum();
        tar.append(&header, content).unwrap();
    };
    append(&format!("{source}/"), tar::EntryType::Directory, "", b"");
    for entry in entries {
        let listing = match entry {
            Forged::Dir(rel) => {
                let path = format!("{source}/{rel}");
                append(&format!("{path}/"), tar::EntryType::Directory, "", b"");
                json!({"path": path, "kind": "dir", "size": 0, "mode": 0o755, "mtime_ns": 0})
            }
            Forged::File(rel, content) => {
                let path = format!("{source}/{rel}");
                append(&path, tar::EntryType::Regular, "", content);
                json!({
                    "path": path, "kind": "file", "size": content.len(), "mode": 0o644,
                    "mtime_ns": 0, "sha256": sha256_hex(content)
                })
            }
            Forged::Link(rel, target) => {
                let path = format!("{source}/{rel}");
                append(&path, tar::EntryType::Symlink, target, b"");
                json!({
                    "path": path, "kind": "symlink", "size": 0, "mode": 0o777,
                    "mtime_ns": 0, "link_target": target
                })
            }
        };
        listed.push(listing);
    }
    manifest["files"] = Value::Array(listed);
    let text = manifest.to_string();
    coffer::db::Manifest::store(&mut app.conn().unwrap(), id, &text).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "coffer/manifest.json", text.as_bytes())
        .unwrap();
    let gz = tar.into_inner().unwrap().finish().unwrap();
    let keyring = app.keyring();
    let (key_id, key) = keyring.active().unwrap();
    let mut sealed = coffer::engine::crypt::EncryptingWriter::new(Vec::new(), key, key_id).unwrap();
    sealed.write_all(&gz).unwrap();
    let bytes = sealed.finish().unwrap();
    fs::write(env.archive_path(backup), &bytes).unwrap();
    use coffer::db::schema::backup_records::dsl;
    diesel::update(dsl::backup_records.find(id))
        .set((
            dsl::sha256.eq(sha256_hex(&bytes)),
            dsl::size_bytes.eq(bytes.len() as i64),
        ))
        .execute(&mut *app.conn().unwrap())
        .unwrap();
}

/// Everything below `root` (for "nothing changed" checks), empty when it does not exist.
fn listing(root: &Path) -> BTreeMap<String, String> {
    if root.exists() {
        snapshot_tree(root)
    } else {
        BTreeMap::new()
    }
}

#[test]
fn a_file_below_a_link_of_the_same_backup_is_refused_and_nothing_is_written_through_it() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    fs::write(files.join("kept.txt"), b"live data").unwrap();
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let outside = env.path("somewhere-outside");
    fs::create_dir_all(&outside).unwrap();
    let outside_text = outside.to_str().unwrap();

    // The forgery itself is sound: with `evil` a folder, it verifies and restores.
    forge(
        &env,
        &backup,
        "files",
        &[Forged::Dir("evil"), Forged::File("evil/x", b"evil")],
    );
    env.ok(&["verify", id, "--deep"]);
    let control = env.path("control");
    env.ok(&[
        "restore",
        id,
        "--target",
        control.to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(fs::read(control.join("files/evil/x")).unwrap(), b"evil");

    // With `evil` a link of the same backup, `evil/x` would be written through it.
    forge(
        &env,
        &backup,
        "files",
        &[
            Forged::Link("evil", outside_text),
            Forged::File("evil/x", b"evil"),
        ],
    );
    let verify = env.fails(&["verify", id, "--deep"]);
    assert!(
        verify.contains("failed verification") && verify.contains("below the link `files/evil`"),
        "{verify}"
    );
    let live = snapshot_tree(&files);
    let out = env.path("out");
    let err = env.fails(&["restore", id, "--target", out.to_str().unwrap(), "--yes"]);
    assert!(
        err.contains("below the link `files/evil`") && err.contains("refused"),
        "{err}"
    );
    assert!(
        !out.exists(),
        "nothing is created before the plan is checked"
    );
    let err = env.fails(&["restore", id, "--yes"]);
    assert!(err.contains("below the link"), "{err}");
    assert_eq!(snapshot_tree(&files), live, "the original is untouched");
    assert!(listing(&outside).is_empty(), "nothing was written outside");
    let leftovers: Vec<_> = fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".coffer-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_source_name_that_is_not_plain_is_refused_before_any_lock_or_folder_exists() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a.txt"), b"a").unwrap();
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    forge(&env, &backup, "../escape", &[Forged::File("a.txt", b"a")]);
    let verify = env.fails(&["verify", id, "--deep"]);
    assert!(verify.contains("not a valid name"), "{verify}");
    let out = env.path("out");
    let err = env.fails(&["restore", id, "--target", out.to_str().unwrap(), "--yes"]);
    assert!(err.contains("not a valid name"), "{err}");
    assert!(!out.exists());
    assert!(!env.path("data/escape.lock").exists());
    assert!(!env.path("escape.lock").exists());
}

#[test]
fn names_with_control_characters_are_data_and_come_back_as_they_were() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    fs::write(files.join("plain.txt"), b"plain").unwrap();
    // macOS keeps a folder's custom icon in `Icon\r`; any program may make such names.
    fs::write(files.join("Icon\r"), b"icon").unwrap();
    fs::write(files.join("bad\nname.txt"), b"control character").unwrap();
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    env.ok(&["verify", id, "--deep"]);
    let out = env.path("out");
    env.ok(&["restore", id, "--target", out.to_str().unwrap(), "--yes"]);
    assert_eq!(fs::read(out.join("files/plain.txt")).unwrap(), b"plain");
    assert_eq!(fs::read(out.join("files/Icon\r")).unwrap(), b"icon");
    assert_eq!(
        fs::read(out.join("files/bad\nname.txt")).unwrap(),
        b"control character"
    );
}
