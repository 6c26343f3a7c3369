//! Throughput of each pipeline stage and of the whole pipeline, against pigz and gzip.
//! Run: `cargo test --release --lib engine:: -- --ignored --nocapture`

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{GzipReader, ParallelGzipWriter};
use crate::engine::crypt::{DecryptingReader, EncryptingWriter};
use crate::engine::digest::{HashingReader, HashingWriter};
use crate::engine::keyring::Keyring;

const THREADS: usize = 2;

/// Up to 256 MiB of real files (the cargo registry's sources: code, docs, some binaries),
/// else a synthetic text.
fn text_like_data() -> Vec<u8> {
    let limit = 256 << 20;
    let mut data = Vec::with_capacity(limit);
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(root) = home.map(|h| h.join("registry/src")) {
        for entry in walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            if entry.file_type().is_file() && data.len() < limit {
                if let Ok(mut f) = File::open(entry.path()) {
                    let _ = f.read_to_end(&mut data);
                }
            }
        }
    }
    if data.len() < 32 << 20 {
        data.clear();
        let words = [
            "backup ", "restore ", "archive ", "the ", "of ", "key ", "segment ", "42 ", "\n",
        ];
        let mut x: u32 = 7;
        while data.len() < 128 << 20 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            data.extend_from_slice(words[(x % words.len() as u32) as usize].as_bytes());
        }
    }
    data
}

fn random_data(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn report(stage: &str, bytes: usize, took: Duration) {
    let mbps = bytes as f64 / 1e6 / took.as_secs_f64();
    println!(
        "{stage:<52} {:>8.1} MB/s  ({:.0} MB in {:.2} s)",
        mbps,
        bytes as f64 / 1e6,
        took.as_secs_f64()
    );
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn gzip(data: &[u8], store_only: bool) -> Vec<u8> {
    gzip_at(data, 6, store_only)
}

fn gzip_at(data: &[u8], level: u32, store_only: bool) -> Vec<u8> {
    let mut w = ParallelGzipWriter::new(Vec::new(), level, THREADS);
    w.set_store_only(store_only);
    w.write_all(data).unwrap();
    w.finish().unwrap().0
}

/// Runs an external tool on `input`, output discarded; None if it is not installed.
fn external(program: &str, args: &[&str], input: &std::path::Path) -> Option<Duration> {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdin(File::open(input).ok()?)
        .stdout(Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| start.elapsed())
}

#[test]
#[ignore = "throughput measurement; run in release with --ignored --nocapture"]
fn pipeline_throughput() {
    let text = text_like_data();
    let random = random_data(128 << 20);
    let dir = tempfile::tempdir().unwrap();
    let (keyring, _) = Keyring::open_or_create(dir.path().join("keys")).unwrap();
    let (key_id, key) = keyring.active().unwrap();
    println!(
        "\ntext-like input: {} MB, random input: {} MB, {THREADS} threads",
        text.len() / 1_000_000,
        random.len() / 1_000_000
    );

    let (gz, took) = time(|| gzip(&text, false));
    report("gzip level 6, text-like (input)", text.len(), took);
    println!(
        "{:<52} {:>8.3}",
        "  ratio compressed/input",
        gz.len() as f64 / text.len() as f64
    );
    for level in [1, 3, 4, 5] {
        let (gz, took) = time(|| gzip_at(&text, level, false));
        let ratio = gz.len() as f64 / text.len() as f64;
        report(
            &format!("gzip level {level}, text-like (input), ratio {ratio:.3}"),
            text.len(),
            took,
        );
    }
    let (stored, took) = time(|| gzip(&random, true));
    report("gzip store-only, random (input)", random.len(), took);
    let (_, took) = time(|| gzip(&random[..32 << 20], false));
    report("gzip level 6, random, no hint (input)", 32 << 20, took);

    let (out, took) = time(|| {
        let mut out = Vec::with_capacity(text.len());
        GzipReader::with_threads(&gz[..], THREADS)
            .read_to_end(&mut out)
            .unwrap();
        out
    });
    assert!(out == text);
    report("gunzip parallel, text-like (output)", text.len(), took);
    let (n, took) = time(|| {
        io::copy(
            &mut GzipReader::with_threads(&stored[..], THREADS),
            &mut io::sink(),
        )
        .unwrap()
    });
    report("gunzip parallel, stored random (output)", n as usize, took);

    let (_, took) = time(|| {
        let mut w = EncryptingWriter::new(io::sink(), key, key_id).unwrap();
        w.write_all(&random).unwrap();
        w.finish().unwrap()
    });
    report("encrypt AES-256-GCM", random.len(), took);
    let mut w =
        EncryptingWriter::new(Vec::with_capacity(random.len() + (1 << 20)), key, key_id).unwrap();
    w.write_all(&random).unwrap();
    let sealed = w.finish().unwrap();
    let (n, took) = time(|| {
        io::copy(
            &mut DecryptingReader::new(&sealed[..], &keyring).unwrap(),
            &mut io::sink(),
        )
        .unwrap()
    });
    report("decrypt AES-256-GCM", n as usize, took);
    let (_, took) = time(|| {
        let mut w = HashingWriter::new(io::sink());
        w.write_all(&random).unwrap();
        w.finish()
    });
    report("sha256", random.len(), took);

    // The whole backup pipeline: gzip → encrypt → sha256 → sink; and back.
    let mixed = [&text[..], &random[..64 << 20]].concat();
    let ((archive, digest), took) = time(|| {
        let hashed = HashingWriter::new(Vec::with_capacity(mixed.len()));
        let mut gz = ParallelGzipWriter::new(
            EncryptingWriter::new(hashed, key, key_id).unwrap(),
            6,
            THREADS,
        );
        gz.write_all(&text).unwrap();
        gz.set_store_only(true);
        gz.write_all(&random[..64 << 20]).unwrap();
        let (cipher, _) = gz.finish().unwrap();
        let (archive, digest, _) = cipher.finish().unwrap().finish();
        (archive, digest)
    });
    report(
        "pipeline gzip+encrypt+sha256, text + 64 MB random",
        mixed.len(),
        took,
    );
    let (n, took) = time(|| {
        let mut hashed = HashingReader::new(&archive[..]);
        let plain = DecryptingReader::new(&mut hashed, &keyring).unwrap();
        let n = io::copy(
            &mut GzipReader::with_threads(plain, THREADS),
            &mut io::sink(),
        )
        .unwrap();
        assert_eq!(hashed.finish().1, digest);
        n
    });
    report("pipeline sha256+decrypt+gunzip (output)", n as usize, took);

    let text_path = dir.path().join("text.bin");
    std::fs::write(&text_path, &text).unwrap();
    let start = Instant::now();
    let pigz = Command::new("pigz")
        .args(["-6", "-p2", "-c"])
        .stdin(File::open(&text_path).unwrap())
        .output();
    let took = start.elapsed();
    let Some(pigz) = pigz.ok().filter(|out| out.status.success()) else {
        println!("pigz is not installed: no reference figures");
        return;
    };
    report(
        "reference: pigz -6 -p2, text-like (input)",
        text.len(),
        took,
    );
    println!(
        "{:<52} {:>8.3}",
        "  ratio compressed/input",
        pigz.stdout.len() as f64 / text.len() as f64
    );
    let pigz_path = dir.path().join("text.gz");
    std::fs::write(&pigz_path, pigz.stdout).unwrap();
    if let Some(took) = external("gzip", &["-dc"], &pigz_path) {
        report(
            "reference: gzip -dc (what tar -xzf runs) (output)",
            text.len(),
            took,
        );
    }
    if let Some(took) = external("pigz", &["-dc"], &pigz_path) {
        report("reference: pigz -dc (output)", text.len(), took);
    }
}
