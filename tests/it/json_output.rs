//! Output scripts can trust: on a fresh install (the first run generates the key and logs
//! it), every command's `--json` standard output is exactly one JSON document, logs go to
//! standard error only, and colour appears only on a terminal without NO_COLOR.

use std::fs;
use std::process::{Command, Output};

use crate::helpers::*;

/// Runs coffer with the default log filter (as an operator would: info lines included).
fn run_default_log(env: &TestEnv, args: &[&str]) -> Output {
    env.command(args)
        .env_remove("COFFER_LOG")
        .env_remove("NO_COLOR")
        .env("COFFER_KEY_PASSPHRASE", "a passphrase for the json test")
        .output()
        .unwrap()
}

/// Exactly one JSON document on stdout (serde rejects anything after it), nothing coloured.
fn one_document(args: &[&str], out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "coffer {args:?} failed: {stderr}\n{stdout}"
    );
    assert!(
        !stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'),
        "no colour codes off a terminal: {args:?}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("coffer {args:?}: stdout is not one JSON document ({e}):\n{stdout}")
    })
}

#[test]
fn every_json_command_of_a_fresh_install_prints_one_document() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    fs::write(env.path("files/a"), b"data").unwrap();

    // The reported case: the very first command generates the key and logs it.
    let args = ["backup", "--json"];
    let first = run_default_log(&env, &args);
    let backup = one_document(&args, &first);
    let log = String::from_utf8_lossy(&first.stderr);
    assert!(
        log.contains("generated a new archive encryption key"),
        "logged on stderr: {log}"
    );
    let id = backup["id"].as_str().unwrap().to_string();
    let id = id.as_str();
    let target = env.path("restored").display().to_string();
    let target = target.as_str();
    let export = env.path("keys.export").display().to_string();
    let export = export.as_str();

    let commands: Vec<Vec<&str>> = vec![
        vec!["list", "--json"],
        vec!["show", id, "--json"],
        vec!["verify", id, "--json"],
        vec!["verify", "--all", "--deep", "--json"],
        vec!["copies", "list", id, "--json"],
        vec!["restore", id, "--target", target, "--yes", "--json"],
        vec!["recover", "--json"],
        vec!["cleanup", "--days", "30", "--json"],
        vec!["cleanup", "--scope", "all", "--keep-last", "5", "--json"],
        vec!["schedule", "list", "--json"],
        vec!["sources", "check", "--json"],
        vec!["catalog", "rebuild", "--storage", "primary", "--json"],
        vec!["key", "list", "--json"],
        vec!["key", "export", "--out", export, "--json"],
        vec!["key", "import", export, "--json"],
        vec!["backup", "--kind", "incremental", "--json"],
    ];
    for args in &commands {
        let out = run_default_log(&env, args);
        one_document(args, &out);
    }
    // A command that fails prints its error on stderr and nothing on stdout.
    let args = ["notify", "test", "--json"];
    let failed = run_default_log(&env, &args);
    assert!(!failed.status.success());
    assert!(
        failed.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&failed.stdout)
    );
}

/// Colour on a terminal (a pseudo-terminal from `script`), never with NO_COLOR.
#[test]
fn log_colour_only_on_a_terminal_and_never_with_no_color() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    // `key list` warns (the key is not exported yet): a log line to colour.
    let line = format!(
        "'{}' --config '{}' key list",
        env!("CARGO_BIN_EXE_coffer"),
        env.config.display()
    );
    let on_terminal = |no_color: Option<&str>| {
        let mut command = Command::new("script");
        command.args(["-qec", &line, "/dev/null"]);
        command.env("COFFER_LOG", "warn").env_remove("NO_COLOR");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let out = command.output().expect("script (util-linux) runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let coloured = on_terminal(None);
    assert!(coloured.contains("never been exported"), "{coloured}");
    assert!(
        coloured.contains("\u{1b}["),
        "coloured on a terminal: {coloured:?}"
    );
    let plain = on_terminal(Some("1"));
    assert!(plain.contains("never been exported"), "{plain}");
    assert!(!plain.contains("\u{1b}["), "NO_COLOR: {plain:?}");

    let piped = env.run(&["key", "list"]);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        stderr.contains("never been exported") && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );
    assert!(!String::from_utf8_lossy(&piped.stdout).contains("never been exported"));
}
