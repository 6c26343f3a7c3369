//! The shipped nginx configuration (`nginx/`) in front of the real `coffer serve`, run by
//! Debian's nginx on loopback ports with a test certificate: `nginx -t` passes on it; through
//! it, HTTP is sent to HTTPS, the security headers are there once each, sign-in gives a
//! Secure session cookie, pages load, live progress arrives while the task runs (not all at
//! once at the end), a large download streams without nginx spooling it to disk, and an
//! oversized request is refused by nginx.

mod client;
mod nginx;
mod tls;

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use client::{header, ProxyClient};
use nginx::{free_port, Install, Ports};

use crate::helpers::{random_bytes, sha256_hex, tool, Backend, TestEnv};
use crate::serve_process::ServeProcess;

const ADMIN_PASSWORD: &str = "proxy test password 42";

#[test]
fn the_shipped_nginx_config_passes_nginx_t() {
    let dir = tempfile::tempdir().unwrap();
    let certificate = tls::make_certificate(&dir.path().join("tls"));
    let install = Install::new(&dir.path().join("nginx"), &certificate.dir, None);
    let out = install.test();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nginx -t failed:\n{said}");
    assert!(
        said.contains("syntax is ok") && said.contains("test is successful"),
        "{said}"
    );
}

/// A source worth watching: thousands of small files and some that do not compress (the
/// backup runs for seconds), and one large incompressible file (a download of tens of MiB).
fn write_source(env: &TestEnv) -> String {
    let dir = env.path("files");
    std::fs::create_dir_all(dir.join("many")).unwrap();
    for i in 0..8000 {
        let body = format!("file {i}\n").repeat(40 + i % 200);
        std::fs::write(dir.join(format!("many/f{i:05}.txt")), body).unwrap();
        if i % 10 == 0 {
            let noise = random_bytes(32 * 1024, i as u64 + 1);
            std::fs::write(dir.join(format!("many/n{i:05}.bin")), noise).unwrap();
        }
    }
    let large = random_bytes(24 * 1024 * 1024, 7);
    std::fs::write(dir.join("large.bin"), &large).unwrap();
    sha256_hex(&large)
}

/// One server-sent event and when it arrived.
#[derive(Debug)]
struct Arrival {
    name: String,
    data: String,
    at: Duration,
}

/// Reads `/tasks/{id}/events` to its end, noting when each event arrived.
fn follow_events(client: &ProxyClient, task_id: &str) -> Vec<Arrival> {
    let response = client.get(&format!("/tasks/{task_id}/events"));
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/event-stream"));
    let started = Instant::now();
    let mut events = Vec::new();
    let (mut name, mut data) = (String::new(), Vec::<String>::new());
    for line in BufReader::new(response.into_body().into_reader()).lines() {
        let line = line.unwrap();
        if line.is_empty() {
            if !data.is_empty() {
                events.push(Arrival {
                    name: std::mem::take(&mut name),
                    data: data.join("\n"),
                    at: started.elapsed(),
                });
                data.clear();
            }
            name.clear();
        } else if let Some(value) = line.strip_prefix("event:") {
            name = value.trim().to_string();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value).to_string());
        }
    }
    events
}

/// The id in the first `href="/tasks/<id>"` of a page.
fn task_link(page: &str) -> String {
    let marker = "href=\"/tasks/";
    let start = page.find(marker).expect("the page links its task") + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

#[test]
fn coffer_behind_the_shipped_nginx_config() {
    // PostgreSQL, as in docker-compose.prod.yml; nginx's address is a trusted proxy.
    let env = TestEnv::new(
        &Backend::Postgres,
        "[[sources]]\nname = \"files\"\nservice = \"app\"\nkind = \"directory\"\npath = \"{root}/files\"\n\n\
         [web]\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    let large_sha256 = write_source(&env);
    let certificate = tls::make_certificate(&env.path("tls"));
    let serve = ServeProcess::start(&env, ADMIN_PASSWORD);
    let ports = Ports {
        http: free_port(),
        https: free_port(),
        upstream: serve.address,
    };
    let install = Install::new(&env.path("nginx"), &certificate.dir, Some(&ports));
    let checked = install.test();
    assert!(
        checked.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let _nginx = install.start(ports.https);
    let mut client = ProxyClient::new(
        &format!("https://127.0.0.1:{}", ports.https),
        &certificate.ca,
    );

    // Plain HTTP only redirects, keeping the path and query.
    let plain = ProxyClient::new(&format!("http://127.0.0.1:{}", ports.http), &certificate.ca);
    let redirect = plain.get("/backups?status=failed");
    assert_eq!(redirect.status(), 301);
    assert_eq!(
        header(&redirect, "location"),
        format!("https://127.0.0.1:{}/backups?status=failed", ports.https)
    );

    // Security headers, each once; Coffer's own Content-Security-Policy passes through.
    let health = client.get("/health");
    assert_eq!(health.status(), 200);
    let login = client.get("/login");
    assert_eq!(login.status(), 200);
    assert_eq!(
        header(&login, "strict-transport-security"),
        "max-age=63072000"
    );
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ] {
        let values: Vec<&str> = login
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(values, vec![value], "{name} once");
    }
    assert!(header(&login, "content-security-policy").contains("default-src 'self'"));
    assert!(
        header(&login, "server").starts_with("nginx") && !header(&login, "server").contains('/'),
        "no nginx version: {}",
        header(&login, "server")
    );

    // Sign-in through the proxy: Coffer hears X-Forwarded-Proto and marks the cookie Secure.
    let set_cookies = client.sign_in("admin", ADMIN_PASSWORD);
    let session = set_cookies
        .iter()
        .find(|c| c.starts_with("coffer_session="))
        .unwrap_or_else(|| panic!("a session cookie: {set_cookies:?}"));
    assert!(
        session.contains("Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    for path in ["/", "/backups", "/sources", "/settings", "/audit"] {
        let page = client.page(path);
        assert!(page.contains("</html>"), "{path}: a whole page");
    }

    // Live progress: a backup started through the console, followed through nginx.
    let queued = client.post("/backups", &[("scope", "all"), ("kind", "full")]);
    assert_eq!(queued.status(), 303);
    let backup_path = header(&queued, "location");
    let backup_id = backup_path.trim_start_matches("/backups/").to_string();
    let task_id = task_link(&client.page(&backup_path));
    let events = follow_events(&client, &task_id);
    let done = events.last().expect("events");
    assert_eq!(done.name, "done", "{events:?}");
    let outcome: serde_json::Value = serde_json::from_str(&done.data).unwrap();
    assert_eq!(outcome["outcome"], "success", "{outcome}");
    let progress: Vec<&Arrival> = events.iter().filter(|e| e.name == "progress").collect();
    assert!(
        progress.len() >= 2,
        "updates while the backup ran: {events:?}"
    );
    let arrivals: Vec<Duration> = progress.iter().map(|e| e.at).collect();
    eprintln!("progress arrived at {arrivals:?}, done at {:?}", done.at);
    let first = progress[0].at;
    assert!(
        done.at >= first + Duration::from_millis(500),
        "the first update arrived at {first:?}, the outcome at {:?}: events must arrive \
         as they are sent, not all at once at the end",
        done.at
    );
    let spread = progress
        .windows(2)
        .filter(|pair| pair[1].at >= pair[0].at + Duration::from_millis(100))
        .count();
    assert!(spread >= 2, "updates arrived in one batch: {arrivals:?}");

    // A download larger than nginx's buffers, read slowly: nginx passes it on as it comes
    // instead of spooling it to a temporary file (which it would log, at `warn`).
    let download = client.get(&format!("/backups/{backup_id}/download"));
    assert_eq!(download.status(), 200);
    assert!(header(&download, "content-disposition").starts_with("attachment"));
    let mut body = download.into_body().into_reader();
    let mut received = vec![0u8; 256 * 1024];
    body.read_exact(&mut received).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let log = install.error_log();
    assert!(
        !log.contains("buffered to a temporary file"),
        "nginx spooled the download:\n{log}"
    );
    body.read_to_end(&mut received).unwrap();
    assert!(
        received.len() > 24 * 1024 * 1024,
        "{} bytes",
        received.len()
    );
    let archive = env.path("download.tar.gz");
    std::fs::write(&archive, &received).unwrap();
    let unpacked = env.path("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let tar = tool(
        "tar",
        &[
            "-xzf",
            archive.to_str().unwrap(),
            "-C",
            unpacked.to_str().unwrap(),
        ],
    );
    assert!(
        tar.status.success(),
        "{}",
        String::from_utf8_lossy(&tar.stderr)
    );
    let large = std::fs::read(unpacked.join("files/large.bin")).unwrap();
    assert_eq!(
        sha256_hex(&large),
        large_sha256,
        "the download arrived whole"
    );

    // Requests over the size limit stop at nginx, with its headers too.
    let oversized = vec![b'a'; 17 * 1024 * 1024];
    let refused = client.post_bytes("/backups", oversized);
    assert_eq!(refused.status(), 413);
    assert_eq!(
        header(&refused, "strict-transport-security"),
        "max-age=63072000"
    );
}
