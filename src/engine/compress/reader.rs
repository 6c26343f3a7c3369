use std::io::{self, Chain, Cursor, Read};
use std::mem;

use flate2::read::MultiGzDecoder;
use libdeflater::{crc32, Decompressor};

use super::pool::OrderedPool;
use super::{BLOCK_SIZE, MAX_MEMBER_SIZE, SUBFIELD_ID, TRAILER_LEN};
use crate::engine::read_full::read_full;

const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FHCRC: u8 = 0x02;
const FRESERVED: u8 = 0xe0;
/// Fixed gzip header (10 bytes) and XLEN (2).
const FIXED_LEN: usize = 12;

/// Reads any gzip stream. Streams written by [`super::ParallelGzipWriter`] are inflated
/// member by member on `threads` worker threads (libdeflate), in order, with at most
/// 2 × `threads` members in flight; any other gzip (no size subfield in its first member)
/// is read by flate2's streaming multi-member decoder.
///
/// Corrupt or truncated input gives `InvalidData` errors, and once an error was returned
/// every later read fails too.
pub struct GzipReader<R: Read> {
    state: State<R>,
    threads: usize,
}

enum State<R: Read> {
    Start(R),
    Parallel(Box<ParallelInflate<R>>),
    Streaming(Box<MultiGzDecoder<Chain<Cursor<Vec<u8>>, R>>>),
    Failed,
}

impl<R: Read> GzipReader<R> {
    /// Decompresses on as many threads as there are cores. Nothing is read until the first `read`.
    pub fn new(inner: R) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_threads(inner, cores)
    }

    /// Decompresses on `threads` worker threads (at least one).
    pub fn with_threads(inner: R, threads: usize) -> Self {
        GzipReader {
            state: State::Start(inner),
            threads: threads.max(1),
        }
    }

    /// Whether the input turned out to be a Coffer parallel stream (known after the first read).
    pub fn is_parallel(&self) -> bool {
        matches!(self.state, State::Parallel(_))
    }
}

impl<R: Read> Read for GzipReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if matches!(self.state, State::Start(_)) {
            if let State::Start(inner) = mem::replace(&mut self.state, State::Failed) {
                self.state = detect(inner, self.threads)?;
            }
        }
        let result = match &mut self.state {
            State::Parallel(parallel) => parallel.read(out),
            State::Streaming(decoder) => decoder.read(out).map_err(describe_flate2_error),
            State::Start(_) | State::Failed => {
                Err(corrupt("gzip stream failed to decode earlier".to_string()))
            }
        };
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }
}

/// Reads the first member's header to choose the parallel or the streaming decoder; the bytes
/// read are handed on to whichever is chosen.
fn detect<R: Read>(mut inner: R, threads: usize) -> io::Result<State<R>> {
    let mut prefix = vec![0u8; FIXED_LEN];
    let got = read_full(&mut inner, &mut prefix)?;
    prefix.truncate(got);
    if got == 0 {
        return Err(corrupt("not a gzip stream: the input is empty".to_string()));
    }
    if got == FIXED_LEN && prefix[..3] == [0x1f, 0x8b, 8] && prefix[3] & FEXTRA != 0 {
        let xlen = usize::from(u16::from_le_bytes([prefix[10], prefix[11]]));
        prefix.resize(FIXED_LEN + xlen, 0);
        let got = read_full(&mut inner, &mut prefix[FIXED_LEN..])?;
        prefix.truncate(FIXED_LEN + got);
        if let Some(size) = member_size(&prefix[FIXED_LEN..]).filter(|_| got == xlen) {
            let parallel = ParallelInflate::new(inner, threads, (prefix, size));
            return Ok(State::Parallel(Box::new(parallel)));
        }
    }
    Ok(State::Streaming(Box::new(MultiGzDecoder::new(
        Cursor::new(prefix).chain(inner),
    ))))
}

/// The member size from the Coffer subfield of a gzip extra field, if there is one.
fn member_size(mut extra: &[u8]) -> Option<usize> {
    while extra.len() >= 4 {
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let data = extra.get(4..4 + len)?;
        if extra[..2] == SUBFIELD_ID && len == 4 {
            return Some(u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize);
        }
        extra = &extra[4 + len..];
    }
    None
}

struct Inflate {
    index: u64,
    /// A reused buffer: the member is its first `len` bytes.
    member: Vec<u8>,
    len: usize,
    out: Vec<u8>,
}

struct Inflated {
    data: Vec<u8>,
    member: Vec<u8>,
}

struct ParallelInflate<R: Read> {
    inner: R,
    threads: usize,
    pool: Option<OrderedPool<Inflate, Inflated>>,
    /// The first member's header bytes and size, read while detecting the format.
    first: Option<(Vec<u8>, usize)>,
    input_done: bool,
    members_read: u64,
    current: Vec<u8>,
    pos: usize,
    spare_members: Vec<Vec<u8>>,
    spare_outs: Vec<Vec<u8>>,
}

impl<R: Read> ParallelInflate<R> {
    fn new(inner: R, threads: usize, first: (Vec<u8>, usize)) -> Self {
        ParallelInflate {
            inner,
            threads,
            pool: None,
            first: Some(first),
            input_done: false,
            members_read: 0,
            current: Vec::new(),
            pos: 0,
            spare_members: Vec::new(),
            spare_outs: Vec::new(),
        }
    }

    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if out.is_empty() || !self.next_block()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }

    /// Keeps the workers fed, then takes the oldest inflated block; false at the end.
    fn next_block(&mut self) -> io::Result<bool> {
        self.spare_outs.push(mem::take(&mut self.current));
        self.pos = 0;
        if self.pool.is_none() {
            self.pool = Some(OrderedPool::new(self.threads, "gunzip", inflate_worker)?);
        }
        while !self.input_done && self.pool.as_ref().is_some_and(|pool| !pool.is_full()) {
            let index = self.members_read;
            let Some((member, len)) = self.read_member()? else {
                break;
            };
            let out = self.spare_outs.pop().unwrap_or_default();
            if let Some(pool) = self.pool.as_mut() {
                pool.submit(Inflate {
                    index,
                    member,
                    len,
                    out,
                })?;
            }
        }
        match self.pool.as_mut().and_then(|pool| pool.take_oldest()) {
            None => Ok(false),
            Some(result) => {
                let inflated = result?;
                self.current = inflated.data;
                self.spare_members.push(inflated.member);
                Ok(true)
            }
        }
    }

    /// Reads one whole member, checking only what is needed to find its end, into the first
    /// bytes of a reused buffer (which only grows, so it is zeroed only when it does).
    fn read_member(&mut self) -> io::Result<Option<(Vec<u8>, usize)>> {
        let index = self.members_read;
        let (head, size) = match self.first.take() {
            Some(first) => first,
            None => {
                let mut head = vec![0u8; FIXED_LEN];
                match read_full(&mut self.inner, &mut head)? {
                    0 => {
                        self.input_done = true;
                        return Ok(None);
                    }
                    FIXED_LEN => {}
                    _ => return Err(truncated(index)),
                }
                if head[..3] != [0x1f, 0x8b, 8] {
                    return Err(corrupt(format!(
                        "gzip stream is corrupt: member {index} does not start with a gzip header"
                    )));
                }
                if head[3] & FEXTRA == 0 {
                    return Err(corrupt(format!(
                        "gzip member {index} lacks the Coffer size field (stream was altered)"
                    )));
                }
                let xlen = usize::from(u16::from_le_bytes([head[10], head[11]]));
                head.resize(FIXED_LEN + xlen, 0);
                if read_full(&mut self.inner, &mut head[FIXED_LEN..])? < xlen {
                    return Err(truncated(index));
                }
                let size = member_size(&head[FIXED_LEN..]).ok_or_else(|| {
                    corrupt(format!(
                        "gzip member {index} lacks the Coffer size field (stream was altered)"
                    ))
                })?;
                (head, size)
            }
        };
        if size < head.len() + TRAILER_LEN || size > MAX_MEMBER_SIZE {
            return Err(corrupt(format!(
                "gzip stream is corrupt: member {index} declares an impossible size ({size} bytes)"
            )));
        }
        let mut member = self.spare_members.pop().unwrap_or_default();
        if member.len() < size {
            member.resize(size, 0);
        }
        member[..head.len()].copy_from_slice(&head);
        if read_full(&mut self.inner, &mut member[head.len()..size])? < size - head.len() {
            return Err(truncated(index));
        }
        self.members_read += 1;
        Ok(Some((member, size)))
    }
}

/// Makes `buf` `len` bytes long, zeroing only bytes beyond its length (they are overwritten).
fn set_len(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0);
    } else {
        buf.truncate(len);
    }
}

fn inflate_worker() -> impl FnMut(Inflate) -> io::Result<Inflated> + Send + 'static {
    let mut decompressor = Decompressor::new();
    move |job: Inflate| {
        let Inflate {
            index,
            member,
            len,
            mut out,
        } = job;
        let whole = &member[..len];
        let bad = |why: &str| corrupt(format!("gzip stream is corrupt: member {index} {why}"));
        let body_end = len.saturating_sub(TRAILER_LEN);
        let body_start = header_len(whole)
            .filter(|&h| h <= body_end)
            .ok_or_else(|| bad("has a malformed header"))?;
        let trailer = &whole[body_end..];
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
        if isize > BLOCK_SIZE {
            return Err(bad(&format!(
                "claims {isize} bytes uncompressed, more than the {BLOCK_SIZE} of a Coffer member"
            )));
        }
        set_len(&mut out, isize);
        match decompressor.deflate_decompress(&whole[body_start..body_end], &mut out) {
            Ok(n) if n == isize => {}
            Ok(_) | Err(_) => return Err(bad("does not inflate to its declared size")),
        }
        if crc32(&out) != crc {
            return Err(bad("fails its CRC-32 check"));
        }
        Ok(Inflated { data: out, member })
    }
}

/// Length of a gzip member header with all optional fields, or None if malformed.
fn header_len(member: &[u8]) -> Option<usize> {
    if member.get(..3)? != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = *member.get(3)?;
    if flags & FRESERVED != 0 {
        return None;
    }
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let xlen = u16::from_le_bytes([*member.get(10)?, *member.get(11)?]);
        pos += 2 + usize::from(xlen);
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            pos += member.get(pos..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    (pos <= member.len()).then_some(pos)
}

/// flate2 reports bad data as `InvalidInput`; restore wants `InvalidData` and a clear text.
/// Errors of the layer below (decryption says `InvalidData` itself) pass through unchanged.
fn describe_flate2_error(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::InvalidInput => corrupt(format!("gzip stream is corrupt: {e}")),
        io::ErrorKind::UnexpectedEof => corrupt("gzip stream is truncated".to_string()),
        _ => e,
    }
}

fn truncated(index: u64) -> io::Error {
    corrupt(format!("gzip stream is truncated in member {index}"))
}

fn corrupt(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::super::ParallelGzipWriter;
    use super::*;
    use std::io::Write;

    fn sample(len: usize) -> Vec<u8> {
        // Text-like with some noise, so blocks neither vanish nor stay raw.
        let mut x: u32 = 1;
        (0..len)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                if i % 3 == 0 {
                    (x >> 24) as u8
                } else {
                    b"the quick brown fox "[i % 20]
                }
            })
            .collect()
    }

    fn compress(data: &[u8], store_only_from: Option<usize>) -> Vec<u8> {
        let mut w = ParallelGzipWriter::new(Vec::new(), 6, 2);
        let cut = store_only_from.unwrap_or(data.len());
        w.write_all(&data[..cut]).unwrap();
        w.set_store_only(true);
        w.write_all(&data[cut..]).unwrap();
        w.finish().unwrap().0
    }

    fn decompress(stream: &[u8], threads: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzipReader::with_threads(stream, threads).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn round_trips_in_parallel() {
        let b = BLOCK_SIZE;
        for (len, store_from) in [
            (0, None),
            (1, None),
            (b - 1, None),
            (b, None),
            (b + 1, Some(7)),
            (20 * b + 3, Some(9 * b + 5)),
        ] {
            let data = sample(len);
            let stream = compress(&data, store_from);
            for threads in [1, 3] {
                let mut reader = GzipReader::with_threads(&stream[..], threads);
                let mut out = Vec::new();
                let mut buf = vec![0u8; 70_001];
                loop {
                    let n = reader.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
                assert!(reader.is_parallel());
                assert!(out == data, "len {len}, threads {threads}");
            }
        }
    }

    #[test]
    fn ordinary_gzip_is_read_by_the_fallback() {
        let data = sample(3 * BLOCK_SIZE);
        let mut stream = Vec::new();
        for part in data.chunks(BLOCK_SIZE + 17) {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            stream.extend(e.finish().unwrap());
        }
        let mut reader = GzipReader::with_threads(&stream[..], 2);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert!(!reader.is_parallel());
        assert!(out == data);
    }

    fn assert_invalid(result: io::Result<Vec<u8>>, what: &str) {
        match result {
            Ok(out) => panic!("{what}: accepted, {} bytes out", out.len()),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{what}: {e}"),
        }
    }

    #[test]
    fn corruption_and_truncation_are_errors() {
        let data = sample(3 * BLOCK_SIZE + 1000);
        let stream = compress(&data, None);
        for pos in (0..stream.len()).step_by(stream.len() / 97).chain([
            4,
            13,
            16,
            19,
            21,
            stream.len() - 5,
        ]) {
            let mut bad = stream.clone();
            bad[pos] ^= 0x10;
            // gzip has no header checksum: MTIME/XFL/OS, and the first subfield id (which only
            // switches to the streaming decoder), may change harmlessly. Anything else fails.
            if (4..10).contains(&pos) || (12..14).contains(&pos) {
                assert!(
                    decompress(&bad, 2).map_or(true, |out| out == data),
                    "flip at {pos}"
                );
                continue;
            }
            assert_invalid(decompress(&bad, 2), &format!("flip at {pos}"));
        }
        for cut in (1..stream.len()).step_by(stream.len() / 89).chain([
            1,
            5,
            12,
            19,
            20,
            21,
            stream.len() - 1,
        ]) {
            assert_invalid(decompress(&stream[..cut], 2), &format!("cut at {cut}"));
        }
        let mut longer = stream.clone();
        longer.extend_from_slice(b"garbage");
        assert_invalid(decompress(&longer, 2), "trailing garbage");
        assert_invalid(decompress(b"", 2), "empty input");
        assert_invalid(decompress(b"plain text, not gzip at all", 2), "not gzip");

        // Truncated ordinary gzip fails too (fallback path).
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&data).unwrap();
        let plain_gz = e.finish().unwrap();
        for cut in [
            5,
            100,
            plain_gz.len() / 2,
            plain_gz.len() - 4,
            plain_gz.len() - 1,
        ] {
            assert_invalid(
                decompress(&plain_gz[..cut], 2),
                &format!("plain gzip cut at {cut}"),
            );
        }
    }

    #[test]
    fn forged_sizes_are_refused_without_allocating() {
        let stream = compress(&sample(1000), None);
        let member_len = stream.len();

        let mut huge_member = stream.clone();
        huge_member[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = decompress(&huge_member, 2).unwrap_err();
        assert!(err.to_string().contains("impossible size"), "{err}");

        let mut huge_isize = stream.clone();
        huge_isize[member_len - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = decompress(&huge_isize, 2).unwrap_err();
        assert!(err.to_string().contains("claims 4294967295 bytes"), "{err}");

        // A declared size a little too long swallows the next member's start: caught by CRC/size.
        let two = [stream.clone(), stream.clone()].concat();
        let mut shifted = two.clone();
        shifted[16..20].copy_from_slice(&(member_len as u32 + 3).to_le_bytes());
        assert_invalid(decompress(&shifted, 2), "shifted member size");
    }

    #[test]
    fn header_lengths() {
        assert_eq!(header_len(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Some(10));
        let named = [
            &[0x1f, 0x8b, 8, FNAME | FHCRC, 0, 0, 0, 0, 0, 3][..],
            b"a.txt\0",
            &[1, 2],
        ]
        .concat();
        assert_eq!(header_len(&named), Some(18));
        assert_eq!(header_len(&named[..14]), None);
        assert_eq!(header_len(&[0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 3]), None);
        assert_eq!(
            member_size(&[b'X', b'Y', 1, 0, 9, b'C', b'F', 4, 0, 7, 0, 0, 0]),
            Some(7)
        );
        assert_eq!(member_size(&[b'C', b'F', 4, 0, 7, 0]), None);
    }
}
