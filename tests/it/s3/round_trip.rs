//! Backups written to an S3 bucket (multipart, under a prefix) verify, restore and export
//! exactly like local ones, on both metadata backends.

use std::fs;

use super::harness::{set_primary_storage, S3Server};
use crate::helpers::*;

#[test]
fn backups_round_trip_through_an_s3_bucket_on_both_backends() {
    let s3 = S3Server::start();
    for (i, backend) in BOTH.iter().enumerate() {
        let bucket = format!("coffer-round-trip-{i}");
        s3.create_bucket(&bucket);
        let env = TestEnv::with_directory(backend);
        set_primary_storage(&env, &s3.target(&bucket, "team/prod"));
        // Incompressible and larger than two 5 MiB parts: a real multipart upload.
        fs::write(env.path("files/big.bin"), random_bytes(12 << 20, 7)).unwrap();
        fs::write(env.path("files/notes.txt"), text_bytes(10_000, 3)).unwrap();
        env.ok(&["sources", "check"]);

        let full = env.backup(&[]);
        let key = full["storage_key"].as_str().unwrap();
        let keys = s3.keys(&bucket);
        let stored = s3.get(&bucket, &format!("team/prod/{key}"));
        assert_eq!(
            stored.len() as u64,
            full["size"].as_u64().unwrap(),
            "the object under the final key is the whole archive; keys: {keys:?}"
        );
        assert_eq!(sha256_hex(&stored), full["sha256"].as_str().unwrap());
        assert!(
            keys.iter()
                .any(|k| k.starts_with("team/prod/") && k.ends_with(".manifest.json.enc")),
            "the manifest sits beside the archive: {keys:?}"
        );
        assert_eq!(
            s3.open_uploads(&bucket),
            0,
            "every multipart upload completed"
        );

        fs::write(env.path("files/notes.txt"), text_bytes(20_000, 4)).unwrap();
        let incremental = env.backup(&["--kind", "incremental"]);
        let id = incremental["id"].as_str().unwrap();
        let expected = snapshot_tree(&env.path("files"));

        env.ok(&["verify", "--all", "--deep"]);
        let target = env.path("restored");
        env.ok(&["restore", id, "--target", target.to_str().unwrap(), "--yes"]);
        assert_eq!(snapshot_tree(&target.join("files")), expected);

        let exported = env.path("export.tar.gz");
        env.ok(&["export", id, "-o", exported.to_str().unwrap()]);
        let listing = tool("tar", &["-tzf", exported.to_str().unwrap()]);
        assert!(listing.status.success());
        assert!(String::from_utf8_lossy(&listing.stdout).contains("files/big.bin"));
    }
}

#[test]
fn a_bad_s3_target_is_a_clear_config_error() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    set_primary_storage(
        &env,
        "kind = \"s3\"\nendpoint = \"ftp://example\"\nbucket = \"b-1\"\naccess_key_id = \"a\"\nsecret_access_key = \"s\"\n",
    );
    let err = env.fails(&["list"]);
    assert!(err.contains("storage.endpoint"), "{err}");

    set_primary_storage(&env, "kind = \"s3\"\nbucket = \"b-1\"\npath = \"/tmp\"\n");
    let err = env.fails(&["list"]);
    assert!(err.contains("storage.path"), "{err}");

    // Credentials are never shown, not even when the server refuses them.
    let s3 = S3Server::start();
    set_primary_storage(
        &env,
        &format!(
            "kind = \"s3\"\nendpoint = \"{}\"\nbucket = \"no-such-bucket\"\npath_style = true\naccess_key_id = \"a\"\nsecret_access_key = \"very-secret-value\"\n",
            s3.endpoint
        ),
    );
    let out = env.run(&["backup"]);
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("no-such-bucket"), "{all}");
    assert!(!all.contains("very-secret-value"), "{all}");
}
