//! `coffer health` (the image's HEALTHCHECK) against the real `coffer serve`: 0 for a console
//! that answers, a clear failure for an error status or nothing listening, and the configured
//! bind address when no URL is given (a wildcard bind asked on loopback).

use crate::helpers::{Backend, TestEnv};
use crate::serve_process::ServeProcess;

#[test]
fn coffer_health_checks_a_running_console() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    let serve = ServeProcess::start(&env, "health check password");

    let said = env.ok(&["health", "--url", &serve.url("/health")]);
    assert!(said.contains("HTTP 200"), "{said}");
    env.ok(&["health", "--url", &serve.url("/ready")]);

    let missing = env.fails(&["health", "--url", &serve.url("/no-such-page")]);
    assert!(missing.contains("answered HTTP 404"), "{missing}");

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/health", listener.local_addr().unwrap())
    };
    let refused = env.fails(&["health", "--url", &closed]);
    assert!(refused.contains(&format!("checking {closed}")), "{refused}");

    let bad = env.fails(&["health", "--url", "ftp://127.0.0.1/health"]);
    assert!(bad.contains("is not an http:// or https:// URL"), "{bad}");

    // No URL: `/health` at the bind address of the configuration.
    let wildcard = format!("0.0.0.0:{}", serve.address.port());
    let out = env
        .command(&["health"])
        .env("COFFER_BIND", &wildcard)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("http://127.0.0.1:{}/health", serve.address.port())),
        "{said}"
    );
}
