use std::io::{IsTerminal, Write};

use clap::Parser;

fn main() {
    // Before any thread or child process starts (see the function).
    coffer::cli::passphrase::take_from_environment();
    let cli = coffer::cli::Cli::parse();
    // Logs are for people and go to standard error only: standard output belongs to the
    // command's result (`--json` prints exactly one JSON document there). Colour only when
    // standard error is a terminal, and never with NO_COLOR set (https://no-color.org).
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COFFER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,coffer=info")),
        )
        .init();
    let code = match coffer::cli::run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // Leave without the C library's exit handlers: the connection pool's background threads
    // may still be inside libpq (opening a spare connection) while those handlers tear down
    // its TLS state, which crashed the process after its work was done (exit status 139).
    // Everything Coffer writes is flushed and closed by now.
    // SAFETY: `_exit` ends the process at once; no Rust state is used after it.
    unsafe { libc::_exit(code) }
}
