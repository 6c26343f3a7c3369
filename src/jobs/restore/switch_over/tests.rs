use super::*;

#[test]
fn exchange_swaps_two_paths() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::write(&a, b"A").unwrap();
    fs::create_dir(&b).unwrap();
    exchange(&a, &b).unwrap();
    assert!(a.is_dir());
    assert_eq!(fs::read(&b).unwrap(), b"A");
}

#[test]
fn linked_folders_in_the_live_tree_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("real")).unwrap();
    std::os::unix::fs::symlink("/tmp", root.join("docs")).unwrap();
    assert!(refuse_linked_folders(&root, &root.join("real/x.txt")).is_ok());
    let err = refuse_linked_folders(&root, &root.join("docs/x.txt")).unwrap_err();
    assert!(
        err.to_string().contains("symlink in the live tree"),
        "{err}"
    );
    // The item itself may be a link: it is moved aside, not written through.
    assert!(refuse_linked_folders(&root, &root.join("docs")).is_ok());
}

/// A live folder `uploads` (with an excluded cache) and its staged replacement.
struct Fixture {
    _dir: tempfile::TempDir,
    target: PathBuf,
    staged: PathBuf,
    aside: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("uploads");
    fs::create_dir_all(target.join("cache/deep")).unwrap();
    fs::write(target.join("a.txt"), b"old a").unwrap();
    fs::write(target.join("cache/x.tmp"), b"cached").unwrap();
    fs::write(target.join("cache/deep/y.tmp"), b"deeper").unwrap();
    let staged = dir.path().join(".coffer-staging-t-uploads");
    fs::create_dir_all(&staged).unwrap();
    fs::write(staged.join("a.txt"), b"new a").unwrap();
    fs::write(staged.join("b.txt"), b"new b").unwrap();
    Fixture {
        aside: dir.path().join(".coffer-previous-t-uploads"),
        _dir: dir,
        target,
        staged,
    }
}

fn whole(f: &Fixture) -> Switch {
    Switch {
        source: "uploads".into(),
        kind: SourceKind::Directory,
        target: f.target.clone(),
        staged: f.staged.clone(),
        aside: f.aside.clone(),
        partial: false,
        carry_over: Some(
            Filters::of(&crate::config::FilterGlobs {
                include: vec![],
                exclude: vec!["cache/**".into()],
            })
            .unwrap(),
        ),
    }
}

fn read(path: &Path) -> String {
    String::from_utf8(fs::read(path).unwrap()).unwrap()
}

fn leftovers(f: &Fixture) -> Vec<String> {
    fs::read_dir(f.target.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".coffer-"))
        .collect()
}

#[test]
fn excluded_entries_ride_along_with_the_switch_and_the_live_tree_is_only_read() {
    let f = fixture();
    let switches = [whole(&f)];
    let mut items = plan_switches(&switches).unwrap();
    let warnings = carry_over_all(&switches, &mut items);
    assert!(warnings.is_empty(), "{warnings:?}");
    // Nothing live changed while carrying over.
    assert_eq!(read(&f.target.join("a.txt")), "old a");
    assert_eq!(read(&f.target.join("cache/x.tmp")), "cached");
    switch_items(&items).unwrap();
    assert!(roll_forward(&items).is_empty());
    assert_eq!(read(&f.target.join("a.txt")), "new a");
    assert_eq!(read(&f.target.join("b.txt")), "new b");
    assert_eq!(read(&f.target.join("cache/x.tmp")), "cached");
    assert_eq!(read(&f.target.join("cache/deep/y.tmp")), "deeper");
    assert!(leftovers(&f).is_empty(), "{:?}", leftovers(&f));
}

#[test]
fn rolling_back_from_every_state_of_the_switch_gives_the_old_tree() {
    // Each state a kill can leave: before anything, after the exchange, after the move aside.
    for state in 0..3 {
        let f = fixture();
        let switches = [whole(&f)];
        let mut items = plan_switches(&switches).unwrap();
        carry_over_all(&switches, &mut items);
        let item = &items[0];
        if state >= 1 {
            fs::create_dir_all(item.aside.parent().unwrap()).unwrap();
            exchange(&item.staged, &item.target).unwrap();
        }
        if state >= 2 {
            fs::rename(&item.staged, &item.aside).unwrap();
        }
        assert!(roll_back(&items).is_empty(), "state {state}");
        assert!(
            roll_back(&items).is_empty(),
            "twice is harmless (state {state})"
        );
        assert_eq!(read(&f.target.join("a.txt")), "old a", "state {state}");
        assert!(!f.target.join("b.txt").exists(), "state {state}");
        assert_eq!(
            read(&f.target.join("cache/x.tmp")),
            "cached",
            "state {state}"
        );
        assert!(
            leftovers(&f).is_empty(),
            "state {state}: {:?}",
            leftovers(&f)
        );
    }
}

#[test]
fn rolling_forward_after_the_switch_keeps_the_new_tree_with_its_excluded_entries() {
    let f = fixture();
    let switches = [whole(&f)];
    let mut items = plan_switches(&switches).unwrap();
    carry_over_all(&switches, &mut items);
    switch_items(&items).unwrap();
    for _ in 0..2 {
        assert!(roll_forward(&items).is_empty());
        assert_eq!(read(&f.target.join("a.txt")), "new a");
        assert_eq!(read(&f.target.join("cache/x.tmp")), "cached");
        assert!(leftovers(&f).is_empty());
    }
}

#[test]
fn a_link_in_the_staged_tree_never_receives_carried_entries() {
    let f = fixture();
    let outside = tempfile::tempdir().unwrap();
    // The backup holds `cache` as a link to a folder elsewhere.
    std::os::unix::fs::symlink(outside.path(), f.staged.join("cache")).unwrap();
    let switches = [whole(&f)];
    let mut items = plan_switches(&switches).unwrap();
    let warnings = carry_over_all(&switches, &mut items);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    switch_items(&items).unwrap();
    roll_forward(&items);
    // The previous tree stays aside, whole, since its cache could not come along.
    assert_eq!(read(&items[0].aside.join("cache/x.tmp")), "cached");
}

#[test]
fn one_entry_that_cannot_be_carried_does_not_keep_the_others_back() {
    let f = fixture();
    fs::write(f.target.join("cache/a.tmp"), b"live a").unwrap();
    // The backup holds cache/a.tmp (made before the exclude): that one conflicts.
    fs::create_dir_all(f.staged.join("cache")).unwrap();
    fs::write(f.staged.join("cache/a.tmp"), b"backed-up a").unwrap();
    let switches = [whole(&f)];
    let mut items = plan_switches(&switches).unwrap();
    let warnings = carry_over_all(&switches, &mut items);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("cache/a.tmp"), "{warnings:?}");
    switch_items(&items).unwrap();
    roll_forward(&items);
    assert_eq!(read(&f.target.join("cache/a.tmp")), "backed-up a");
    // Sorted after the conflict, and still carried along.
    assert_eq!(read(&f.target.join("cache/x.tmp")), "cached");
    assert_eq!(read(&f.target.join("cache/deep/y.tmp")), "deeper");
    assert_eq!(read(&items[0].aside.join("cache/a.tmp")), "live a");
}

#[test]
fn a_new_file_with_a_sqlite_wal_beside_it_is_switched_and_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("app.db");
    fs::write(&target, b"old db").unwrap();
    fs::write(dir.path().join("app.db-wal"), b"old wal").unwrap();
    let staging = dir.path().join(".coffer-staging-t-db");
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join("app.db"), b"new db").unwrap();
    let switch = Switch {
        source: "db".into(),
        kind: SourceKind::Sqlite,
        target: target.clone(),
        staged: staging.join("app.db"),
        aside: dir.path().join(".coffer-previous-t-db"),
        partial: false,
        carry_over: None,
    };
    let items = plan_switches(std::slice::from_ref(&switch)).unwrap();
    switch_items(&items).unwrap();
    assert_eq!(read(&target), "new db");
    assert!(!dir.path().join("app.db-wal").exists());
    assert!(roll_back(&items).is_empty());
    assert_eq!(read(&target), "old db");
    assert_eq!(read(&dir.path().join("app.db-wal")), "old wal");
}

#[test]
fn several_files_into_a_missing_folder_are_switched_and_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("files");
    fs::create_dir(&root).unwrap();
    let staging = dir.path().join(".coffer-staging-t-files");
    fs::create_dir_all(staging.join("gone/deeper")).unwrap();
    fs::write(staging.join("gone/a.txt"), b"a").unwrap();
    fs::write(staging.join("gone/deeper/b.txt"), b"b").unwrap();
    let switch = Switch {
        source: "files".into(),
        kind: SourceKind::Directory,
        target: root.clone(),
        staged: staging,
        aside: dir.path().join(".coffer-previous-t-files"),
        partial: true,
        carry_over: None,
    };
    let items = plan_switches(std::slice::from_ref(&switch)).unwrap();
    assert_eq!(items.len(), 2);
    switch_items(&items).unwrap();
    assert_eq!(read(&root.join("gone/a.txt")), "a");
    assert_eq!(read(&root.join("gone/deeper/b.txt")), "b");
    assert!(roll_back(&items).is_empty());
    assert!(!root.join("gone").exists(), "the folders it made go too");
}

#[test]
fn a_rollback_never_removes_a_live_item_that_was_there_before() {
    let f = fixture();
    let switches = [whole(&f)];
    let items = plan_switches(&switches).unwrap();
    switch_items(&items).unwrap();
    // The previous tree vanished from aside (by hand, or a bug): nothing to put back.
    remove_tree(&items[0].aside).unwrap();
    assert_eq!(roll_back(&items).len(), 1);
    assert_eq!(
        read(&f.target.join("a.txt")),
        "new a",
        "left in place, not removed"
    );
}
