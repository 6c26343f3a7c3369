//! Parallel gzip for archives.
//!
//! The stream is a series of independent gzip members (RFC 1952 allows concatenation; `gzip`,
//! `tar -z` and every decoder read it as one file), one per block of at most [`BLOCK_SIZE`]
//! input bytes, so blocks are compressed and decompressed on all cores.
//!
//! Each member written here has the `FEXTRA` flag and one extra subfield, like BGZF and MGZIP:
//!
//! ```text
//! 1f 8b 08 04 | mtime 0 (4) | xfl 0 | os 255 | xlen = 8 (u16 LE)
//! 'C' 'F' | len = 4 (u16 LE) | member size in bytes, header to trailer (u32 LE)
//! raw DEFLATE | CRC-32 (u32 LE) | ISIZE (u32 LE)
//! ```
//!
//! The member size lets a reader cut the stream into members without inflating it and hand
//! them to worker threads. Sizes from the stream are never trusted for allocation beyond
//! [`MAX_MEMBER_SIZE`] and [`BLOCK_SIZE`]. Gzip without the subfield (any ordinary `.gz`) is
//! read by a streaming single-threaded decoder instead.

use std::path::Path;

mod pool;
mod reader;
#[cfg(test)]
mod throughput;
mod writer;

pub use reader::GzipReader;
pub use writer::ParallelGzipWriter;

/// Uncompressed bytes per member: big enough that deflate loses almost nothing to the cut,
/// small enough that 2 × threads blocks in flight stay a few MiB.
pub const BLOCK_SIZE: usize = 1 << 20;
/// Largest member a reader accepts: a stored (level 0) block of `BLOCK_SIZE` is about
/// 85 bytes bigger than its input, so this leaves ample room and still bounds allocation.
pub const MAX_MEMBER_SIZE: usize = BLOCK_SIZE + 64 * 1024;
/// Files at least this big that [`looks_compressed`] are worth a store-only run.
pub const STORE_ONLY_MIN_SIZE: u64 = 64 * 1024;

/// The gzip extra subfield id carrying the member size ("CF" for Coffer).
const SUBFIELD_ID: [u8; 2] = *b"CF";
/// Fixed header (10) + XLEN (2) + one subfield (4 + 4).
const HEADER_LEN: usize = 20;
const TRAILER_LEN: usize = 8;

/// Extensions of formats that are already compressed: deflating them again costs a lot of
/// CPU for a gain of a few percent at best. PDF is included: its streams are nearly always
/// Flate- or JPEG-coded already. Office documents and packages are zip or compressed archives.
const COMPRESSED_EXTENSIONS: &[&str] = &[
    // archives and compressed streams
    "gz", "tgz", "zip", "jar", "war", "zst", "zstd", "xz", "txz", "lzma", "bz2", "tbz2", "7z",
    "rar", "br", "lz4", "lz", "sz", "deb", "rpm", "apk", "whl", "nupkg", "crx", "cab",
    // images
    "jpg", "jpeg", "png", "gif", "webp", "avif", "heic", "heif", "jxl",
    // audio and video
    "mp3", "mp4", "m4a", "m4v", "aac", "ogg", "oga", "opus", "flac", "mkv", "webm", "mov", "avi",
    "wmv", // documents and fonts stored as zip or compressed streams
    "pdf", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "woff", "woff2",
];

/// Whether the file's extension names an already-compressed format.
pub fn looks_compressed(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| {
            COMPRESSED_EXTENSIONS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(ext))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};

    #[test]
    fn compressed_formats_are_recognised_by_extension() {
        for yes in [
            "a.jpg",
            "b/C.JPEG",
            "x.tar.gz",
            "y.tgz",
            "movie.mkv",
            "doc.pdf",
            "f.woff2",
            "s.docx",
        ] {
            assert!(looks_compressed(Path::new(yes)), "{yes}");
        }
        for no in [
            "a.txt",
            "b.sql",
            "c.tar",
            "dump",
            "x.gz.txt",
            "jpg",
            ".png.bak",
            "db.sqlite",
        ] {
            assert!(!looks_compressed(Path::new(no)), "{no}");
        }
    }

    /// The real gzip and tar tools accept what we write, including store-only runs.
    #[test]
    fn gnu_gzip_and_tar_read_our_stream() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = tar::Builder::new(ParallelGzipWriter::new(Vec::new(), 6, 2));
        let text: Vec<u8> = (0..3_000_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .take(3_000_000)
            .collect();
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "notes.txt", &text[..])
            .unwrap();
        builder.get_mut().set_store_only(true);
        let noise: Vec<u8> = (0..2_500_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        header.set_size(noise.len() as u64);
        builder
            .append_data(&mut header, "photo.jpg", &noise[..])
            .unwrap();
        builder.get_mut().set_store_only(false);
        let (bytes, size) = builder.into_inner().unwrap().finish().unwrap();
        assert_eq!(size, bytes.len() as u64);
        let path = dir.path().join("a.tar.gz");
        std::fs::write(&path, &bytes).unwrap();

        let gzip = Command::new("gzip").arg("-t").arg(&path).status().unwrap();
        assert!(gzip.success());
        let list = Command::new("tar").arg("-tzf").arg(&path).output().unwrap();
        assert!(
            list.status.success(),
            "{}",
            String::from_utf8_lossy(&list.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&list.stdout),
            "notes.txt\nphoto.jpg\n"
        );
        let mut cat = Command::new("tar")
            .args(["-xzOf", path.to_str().unwrap(), "photo.jpg"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = Vec::new();
        cat.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        assert!(cat.wait().unwrap().success());
        assert!(out == noise);
    }

    /// What the real gzip tool writes is read back by our reader (the fallback path).
    #[test]
    fn we_read_what_gnu_gzip_writes() {
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{i} ").into_bytes())
            .collect();
        let mut gzip = Command::new("gzip")
            .arg("-c")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = gzip.stdin.take().unwrap();
        let input = text.clone();
        let feeder = std::thread::spawn(move || stdin.write_all(&input).unwrap());
        let mut compressed = Vec::new();
        gzip.stdout
            .take()
            .unwrap()
            .read_to_end(&mut compressed)
            .unwrap();
        feeder.join().unwrap();
        assert!(gzip.wait().unwrap().success());

        let mut out = Vec::new();
        GzipReader::with_threads(&compressed[..], 2)
            .read_to_end(&mut out)
            .unwrap();
        assert!(out == text);
    }
}
