//! A backup's file browser and the download of one file or one folder, driven over HTTP
//! against a real backup: folders opened, searched, paged; a file's bytes and a folder's
//! `.tar.gz` checked against the source (also from an incremental, whose unchanged files live
//! in its parent's archive); bad and unknown paths, roles, the audit log; and a file whose
//! bytes do not match the manifest's SHA-256 never arriving complete.

use std::fs;

use coffer::db::{Backup, LogEntry, LogFilter, Manifest};
use coffer::domain::Role;

use super::harness::{location, Browser, TestConsole};
use crate::helpers::{tool, Backend, BOTH};

/// Backs up everything as `browser` and returns the backup's id once it has run.
fn back_up(console: &TestConsole, browser: &Browser, kind: &str) -> String {
    let response = browser.post("/backups", &[("scope", "all"), ("kind", kind)]);
    assert_eq!(response.status(), 303, "{}", response.text().unwrap());
    let id = location(&response)
        .trim_start_matches("/backups/")
        .to_string();
    console.run_pending_jobs();
    let record = Backup::find_by_id(&mut console.app.conn().unwrap(), &id).unwrap();
    assert_eq!(record.status, "success");
    id
}

/// The body of a response that must fail, or the bytes it delivered.
fn outcome(browser: &Browser, path: &str) -> Result<(u16, Vec<u8>), String> {
    let response = browser
        .client
        .get(browser.url(path))
        .send()
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.bytes().map_err(|e| format!("{e:?}"))?;
    Ok((status, body.to_vec()))
}

fn download_entries(console: &TestConsole) -> Vec<String> {
    LogEntry::list(
        &mut console.app.conn().unwrap(),
        &LogFilter {
            operation: Some("download".into()),
            ..LogFilter::default()
        },
    )
    .unwrap()
    .into_iter()
    .map(|e| format!("{} {}", e.level, e.message))
    .collect()
}

#[test]
fn the_browser_opens_folders_searches_and_pages() {
    let console = TestConsole::start(&Backend::Sqlite);
    fs::create_dir_all(console.env.path("files/many")).unwrap();
    for i in 0..130 {
        fs::write(
            console.env.path(&format!("files/many/report-{i:03}.txt")),
            format!("report {i}\n"),
        )
        .unwrap();
    }
    let operator = console.login_as(Role::Operator);
    let id = back_up(&console, &operator, "full");
    let viewer = console.login_as(Role::Viewer);

    // The detail page lists no file: its totals and a way into the browser.
    let detail = viewer.page(&format!("/backups/{id}"));
    assert!(
        !detail.contains("report-000"),
        "no file rows on the detail page"
    );
    assert!(detail.contains(&format!("href=\"/backups/{id}/files\"")));
    assert!(
        detail.contains("id=\"files-total\">132 files, 3 folders"),
        "{detail}"
    );

    let top = viewer.page(&format!("/backups/{id}/files"));
    assert!(
        top.contains(&format!("href=\"/backups/{id}/files?path=files\"")),
        "{top}"
    );
    assert!(
        top.contains("id=\"folder-counts\">132 files, 3 folders"),
        "{top}"
    );
    assert!(
        !top.contains("/files/download"),
        "a viewer gets no download links"
    );

    let files = viewer.page(&format!("/backups/{id}/files?path=files"));
    let many = files.find(">many/</a>").expect("the folder many");
    let sub = files.find(">sub/</a>").expect("the folder sub");
    let hello = files.find(">hello.txt<").expect("the file hello.txt");
    assert!(many < sub && sub < hello, "folders first, then files");
    assert!(
        files.contains("130 files, 0 folders"),
        "what a folder holds"
    );
    assert!(
        files.contains("aria-current=\"page\">files</span>"),
        "{files}"
    );

    let first = viewer.page(&format!("/backups/{id}/files?path=files%2Fmany"));
    assert_eq!(first.matches(">report-").count(), 100, "100 rows a page");
    assert!(first.contains("Page 1 of 2") && first.contains("rel=\"next\""));
    let second = viewer.page(&format!("/backups/{id}/files?path=files/many&page=2"));
    assert_eq!(second.matches(">report-").count(), 30);
    assert!(second.contains(">report-129.txt<") && second.contains("rel=\"prev\""));

    let found = viewer.page(&format!("/backups/{id}/files?q=REPORT-12"));
    assert!(found.contains("id=\"matching\">10<"), "{found}");
    assert!(found.contains(">files/many/report-120.txt<"), "{found}");
    let none = viewer.page(&format!("/backups/{id}/files?path=files/sub&q=report"));
    assert!(none.contains("id=\"no-files\""), "{none}");

    for (query, status, says) in [
        ("path=..%2Fetc", 400, "climbs out"),
        ("path=%2Fetc", 400, "absolute"),
        ("path=files%2Fnope", 404, "has no folder `files/nope`"),
        ("path=files%2Fhello.txt", 404, "has no folder"),
        ("page=zero", 400, "not a page number"),
    ] {
        let response = viewer.get(&format!("/backups/{id}/files?{query}"));
        assert_eq!(response.status(), status, "{query}");
        let body = response.text().unwrap();
        assert!(body.contains(says), "{query}: {body}");
    }
    assert_eq!(viewer.get("/backups/no-such/files").status(), 404);

    // An operator gets a download link per file and per folder.
    let files = operator.page(&format!("/backups/{id}/files?path=files"));
    assert!(files.contains(&format!(
        "/backups/{id}/files/download?path=files%2Fhello.txt"
    )));
    assert!(files.contains(&format!("/backups/{id}/files/download?path=files%2Fmany")));
}

#[test]
fn one_file_or_one_folder_downloads_as_backed_up() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let operator = console.login_as(Role::Operator);
        let full = back_up(&console, &operator, "full");
        fs::write(console.env.path("files/later.txt"), "added later\n").unwrap();
        let inc = back_up(&console, &operator, "incremental");

        for id in [&full, &inc] {
            let response = operator.get(&format!(
                "/backups/{id}/files/download?path=files/sub/data.bin"
            ));
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-length"], "65536");
            let disposition = response.headers()["content-disposition"].to_str().unwrap();
            assert!(disposition.contains("data.bin") && disposition.starts_with("attachment"));
            assert_eq!(response.bytes().unwrap().to_vec(), vec![7u8; 64 * 1024]);
        }
        // hello.txt of the incremental lives in the full backup's archive.
        let (status, body) = outcome(
            &operator,
            &format!("/backups/{inc}/files/download?path=files%2Fhello.txt"),
        )
        .unwrap();
        assert_eq!(
            (status, body.as_slice()),
            (200, &b"hello from coffer\n"[..])
        );

        // A folder of the incremental: its own file and its parent's, as .tar.gz.
        let response = operator.get(&format!("/backups/{inc}/files/download?path=files"));
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/gzip");
        let archive = console.env.path("folder.tar.gz");
        fs::write(&archive, response.bytes().unwrap()).unwrap();
        let out = console.env.path("unpacked");
        fs::create_dir_all(&out).unwrap();
        let unpacked = tool(
            "tar",
            &[
                "-xzf",
                archive.to_str().unwrap(),
                "-C",
                out.to_str().unwrap(),
            ],
        );
        assert!(unpacked.status.success(), "tar -xzf");
        for name in ["hello.txt", "later.txt", "sub/data.bin"] {
            assert_eq!(
                fs::read(out.join("files").join(name)).unwrap(),
                fs::read(console.env.path(&format!("files/{name}"))).unwrap(),
                "{name}"
            );
        }
        // Only what is under the folder asked for.
        let sub = operator.get(&format!("/backups/{full}/files/download?path=files/sub/"));
        fs::write(&archive, sub.bytes().unwrap()).unwrap();
        let listed = tool("tar", &["-tzf", archive.to_str().unwrap()]);
        let listed = String::from_utf8(listed.stdout).unwrap();
        assert!(
            listed.contains("files/sub/data.bin") && !listed.contains("hello"),
            "{listed}"
        );

        let logged = download_entries(&console);
        assert!(
            logged
                .iter()
                .any(|e| e.contains("downloaded file `files/sub/data.bin` (64.0 KiB)")),
            "{logged:?}"
        );
        assert!(
            logged
                .iter()
                .any(|e| e.contains("downloaded folder `files` (3 files")),
            "{logged:?}"
        );

        // Bad paths, unknown paths, and who may download.
        for (query, status, says) in [
            ("path=files%2F..%2F..%2Fetc%2Fpasswd", 400, "climbs out"),
            ("path=%2Fetc%2Fpasswd", 400, "absolute"),
            ("", 400, "name the file or folder"),
            ("path=files%2Fnope.txt", 404, "`files/nope.txt` not found"),
            ("path=files%2Fhell", 404, "not found"),
        ] {
            let response = operator.get(&format!("/backups/{full}/files/download?{query}"));
            assert_eq!(response.status(), status, "{query}");
            let body = response.text().unwrap();
            assert!(body.contains(says), "{query}: {body}");
        }
        let viewer = console.login_as(Role::Viewer);
        let refused = viewer.get(&format!(
            "/backups/{full}/files/download?path=files%2Fhello.txt"
        ));
        assert_eq!(refused.status(), 403);
        assert_eq!(
            operator
                .get("/backups/no-such/files/download?path=files")
                .status(),
            404
        );
    }
}

#[test]
fn a_file_that_does_not_match_its_manifest_never_arrives_complete() {
    let console = TestConsole::start(&Backend::Sqlite);
    // Large enough for several chunks, so bytes are on the wire before the check fails.
    fs::write(console.env.path("files/big.bin"), vec![3u8; 300 * 1024]).unwrap();
    let operator = console.login_as(Role::Operator);
    let id = back_up(&console, &operator, "full");
    // The catalogue's manifest now promises other bytes than the archive holds.
    let mut conn = console.app.conn().unwrap();
    let text = Manifest::load(&mut conn, &id).unwrap().unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for entry in doc["files"].as_array_mut().unwrap() {
        if entry["path"] == "files/big.bin" || entry["path"] == "files/hello.txt" {
            entry["sha256"] = serde_json::json!("0".repeat(64));
        }
    }
    Manifest::store(&mut conn, &id, &doc.to_string()).unwrap();
    drop(conn);

    for path in ["files%2Fbig.bin", "files%2Fhello.txt", "files"] {
        let got = outcome(
            &operator,
            &format!("/backups/{id}/files/download?path={path}"),
        );
        assert!(
            got.is_err(),
            "{path}: a file that fails its SHA-256 must not download as a whole: {:?}",
            got.map(|(s, b)| (s, b.len()))
        );
    }
    // A file the manifest still vouches for is unaffected.
    let (status, body) = outcome(
        &operator,
        &format!("/backups/{id}/files/download?path=files%2Fsub%2Fdata.bin"),
    )
    .unwrap();
    assert_eq!((status, body.len()), (200, 64 * 1024));
    let logged = download_entries(&console);
    let failures: Vec<_> = logged.iter().filter(|e| e.contains("failed")).collect();
    assert_eq!(failures.len(), 3, "{logged:?}");
    assert!(
        failures
            .iter()
            .all(|e| e.contains("the download was stopped")),
        "{failures:?}"
    );
}
