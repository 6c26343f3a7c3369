//! Exports are plain .tar.gz files that GNU tar and gzip accept, also for incrementals.

use std::fs;

use crate::helpers::*;

#[test]
fn exported_archives_pass_gzip_and_tar() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let files = env.path("files");
    crate::round_trip::build_tree(&files);
    let full = env.backup(&[]);
    fs::write(files.join("later.txt"), b"added later").unwrap();
    fs::remove_file(files.join("big-text.log")).unwrap();
    let inc = env.backup(&["--kind", "incremental"]);

    for (backup, label) in [(&full, "full"), (&inc, "incremental")] {
        let out = env.path(&format!("{label}.tar.gz"));
        env.ok(&[
            "export",
            backup["id"].as_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        let gzip = tool("gzip", &["-t", out.to_str().unwrap()]);
        assert!(
            gzip.status.success(),
            "gzip -t {label}: {}",
            String::from_utf8_lossy(&gzip.stderr)
        );
        let list = tool("tar", &["-tzf", out.to_str().unwrap()]);
        assert!(
            list.status.success(),
            "tar -tzf {label}: {}",
            String::from_utf8_lossy(&list.stderr)
        );
        let names = String::from_utf8(list.stdout).unwrap();
        assert!(names.contains("files/many/small-000.txt"), "{label}");
        assert!(
            names.trim_end().ends_with("coffer/manifest.json"),
            "{label}: manifest last"
        );
        assert_eq!(names.contains("files/later.txt"), label == "incremental");
        assert_eq!(names.contains("files/big-text.log"), label == "full");

        // GNU tar extracts the same content Coffer backed up.
        let dest = env.path(&format!("untar-{label}"));
        fs::create_dir_all(&dest).unwrap();
        let untar = tool(
            "tar",
            &["-xzf", out.to_str().unwrap(), "-C", dest.to_str().unwrap()],
        );
        assert!(
            untar.status.success(),
            "{}",
            String::from_utf8_lossy(&untar.stderr)
        );
        assert_eq!(
            fs::read(dest.join("files/big-random.bin")).unwrap(),
            fs::read(files.join("big-random.bin")).unwrap()
        );
    }
}
