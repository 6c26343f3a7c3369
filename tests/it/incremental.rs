//! Incremental chains: only changes are stored, and a restore gives the exact final state.

use std::fs;

use crate::helpers::*;

#[test]
fn chain_of_three_restores_the_exact_final_state_on_both_backends() {
    for backend in BOTH {
        let env = TestEnv::with_directory(&backend);
        let files = env.path("files");
        crate::round_trip::build_tree(&files);
        let full = env.backup(&[]);

        // Edit, add, delete.
        fs::write(files.join("many/small-002.txt"), b"edited once").unwrap();
        fs::write(files.join("added.txt"), b"added in the first incremental").unwrap();
        fs::remove_file(files.join("many/small-003.txt")).unwrap();
        let inc1 = env.backup(&["--kind", "incremental"]);
        assert_eq!(inc1["kind"], "incremental");
        assert_eq!(inc1["parent_id"], full["id"]);
        assert!(
            inc1["size"].as_i64().unwrap() * 20 < full["size"].as_i64().unwrap(),
            "an incremental stores only the changes: {} vs {}",
            inc1["size"],
            full["size"]
        );

        fs::write(
            files.join("many/small-002.txt"),
            b"edited twice, longer this time",
        )
        .unwrap();
        fs::remove_file(files.join("added.txt")).unwrap();
        fs::create_dir_all(files.join("new-dir")).unwrap();
        fs::write(files.join("new-dir/late.txt"), b"late").unwrap();
        fs::remove_file(files.join("link-to-leaf")).unwrap();
        let inc2 = env.backup(&["--kind", "incremental"]);
        assert_eq!(inc2["parent_id"], inc1["id"]);
        let expected = snapshot_tree(&files);

        let id = inc2["id"].as_str().unwrap();
        let shown = env.json(&["show", id, "--files"]);
        let manifest = &shown["manifest"];
        assert!(manifest["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "files/added.txt"));
        let held_by_full = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["stored_in"] == full["id"])
            .count();
        assert!(
            held_by_full > 250,
            "unchanged files point at the full backup"
        );

        env.ok(&["verify", id, "--deep"]);
        env.ok(&[
            "restore",
            id,
            "--target",
            env.path("out").to_str().unwrap(),
            "--yes",
        ]);
        assert_eq!(expected, snapshot_tree(&env.path("out/files")));
    }
}

#[test]
fn first_incremental_without_a_parent_is_a_full_backup() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a"), b"a").unwrap();
    let first = env.backup(&["--kind", "incremental"]);
    assert_eq!(first["kind"], "full");
    assert!(first["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("full backup instead")));
}
