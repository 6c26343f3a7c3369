//! `coffer catalog rebuild --storage NAME` recreates lost records from the archives and
//! manifests in a storage target alone (here an S3 bucket), chains included.

use std::fs;

use super::harness::{set_primary_storage, S3Server};
use crate::helpers::*;

#[test]
fn the_catalogue_comes_back_from_the_bucket_after_the_database_is_lost() {
    let s3 = S3Server::start();
    let bucket = "coffer-catalog";
    s3.create_bucket(bucket);
    let env = TestEnv::with_directory(&Backend::Sqlite);
    set_primary_storage(&env, &s3.target(bucket, "site-a"));
    fs::write(env.path("files/a.txt"), text_bytes(30_000, 1)).unwrap();
    let full = env.backup(&[]);
    fs::write(env.path("files/b.txt"), text_bytes(30_000, 2)).unwrap();
    let incremental = env.backup(&["--kind", "incremental"]);
    let expected = snapshot_tree(&env.path("files"));

    // The catalogue is lost; the key directory is not (it is kept apart, as README says).
    let db = fs::read_to_string(&env.config)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("database_url = \""))
        .map(|rest| rest.trim_end_matches('"').to_string())
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{db}{suffix}"));
    }
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 0);

    let err = env.fails(&["catalog", "rebuild", "--storage", "elsewhere"]);
    assert!(
        err.contains("elsewhere") && err.contains("primary"),
        "{err}"
    );

    let report = env.json(&["catalog", "rebuild", "--storage", "primary"]);
    assert_eq!(report["archives"], 2, "{report}");
    assert_eq!(report["added"].as_array().unwrap().len(), 2, "{report}");
    assert!(
        report["problems"].as_array().unwrap().is_empty(),
        "{report}"
    );

    let list = env.json(&["list"]);
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, original) in rows.iter().zip([&incremental, &full]) {
        assert_eq!(row["id"], original["id"], "{list}");
        assert_eq!(row["status"], "success");
        assert_eq!(row["sha256"], original["sha256"]);
        assert_eq!(row["size"], original["size"]);
        assert_eq!(row["key_id"], original["key_id"]);
        assert_eq!(row["files"], original["files"]);
    }
    assert_eq!(rows[0]["kind"], "incremental");
    assert_eq!(rows[0]["parent_id"], full["id"]);

    let id = incremental["id"].as_str().unwrap();
    env.ok(&["verify", id, "--deep"]);
    let target = env.path("restored");
    env.ok(&["restore", id, "--target", target.to_str().unwrap(), "--yes"]);
    assert_eq!(snapshot_tree(&target.join("files")), expected);

    // Running it again adds nothing.
    let again = env.json(&["catalog", "rebuild", "--storage", "primary"]);
    assert_eq!(again["known"], 2, "{again}");
    assert!(again["added"].as_array().unwrap().is_empty());
}
