use std::io::{self, Write};
use std::mem;

use libdeflater::{crc32, CompressionLvl, Compressor};

use super::pool::OrderedPool;
use super::{BLOCK_SIZE, HEADER_LEN, SUBFIELD_ID, TRAILER_LEN};

/// One block to compress; `out` is a recycled buffer for the member.
struct Block {
    data: Vec<u8>,
    /// The level this block is compressed at (0 stores).
    level: u32,
    out: Vec<u8>,
}

/// A finished member, with the input buffer handed back for reuse.
struct Member {
    bytes: Vec<u8>,
    data: Vec<u8>,
}

/// Gzip compressor that deflates blocks of [`BLOCK_SIZE`] on worker threads with libdeflate
/// and writes them to `inner` in order, as members with the Coffer size subfield
/// (see the module note). `inner` is only ever written from the caller's thread.
///
/// Memory stays bounded: at most 2 × `threads` blocks are in flight. Dropping it without
/// [`ParallelGzipWriter::finish`] stops the workers and leaves an incomplete stream.
pub struct ParallelGzipWriter<W: Write> {
    inner: W,
    level: u32,
    threads: usize,
    /// Started with the first block, so creating a writer cannot fail.
    pool: Option<OrderedPool<Block, Member>>,
    block: Vec<u8>,
    /// Level of the block being filled, and the level asked for by the latest hint.
    block_level: u32,
    wanted_level: u32,
    spare_blocks: Vec<Vec<u8>>,
    spare_members: Vec<Vec<u8>>,
    blocks_sent: u64,
    bytes_out: u64,
    failed: bool,
}

impl<W: Write> ParallelGzipWriter<W> {
    /// `level` 0 (stored) to 12 (libdeflate's slowest), larger values are taken as 12;
    /// `threads` workers, at least one.
    pub fn new(inner: W, level: u32, threads: usize) -> Self {
        ParallelGzipWriter {
            inner,
            level: level.min(12),
            threads: threads.max(1),
            pool: None,
            block: Vec::with_capacity(BLOCK_SIZE),
            block_level: level.min(12),
            wanted_level: level.min(12),
            spare_blocks: Vec::new(),
            spare_members: Vec::new(),
            blocks_sent: 0,
            bytes_out: 0,
            failed: false,
        }
    }

    /// Hint that the bytes written next are already compressed (or, with `false`, that they
    /// are not any more). The current block is cut where the hint changes and the following
    /// blocks are stored without deflating, which costs little more than a copy.
    pub fn set_store_only(&mut self, on: bool) {
        self.wanted_level = if on { 0 } else { self.level };
    }

    /// Hint that the bytes written next are worth compressing only quickly (level 1): large
    /// metadata such as the manifest, written once per backup on the critical path.
    pub fn set_fast(&mut self, on: bool) {
        self.wanted_level = if on { self.level.min(1) } else { self.level };
    }

    /// Compressed bytes written to `inner` so far.
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out
    }

    /// Compresses the last block, writes every member, flushes `inner` and returns it with
    /// the number of bytes written to it. An empty input still yields one valid empty member.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.check_healthy()?;
        if !self.block.is_empty() || self.blocks_sent == 0 {
            self.send_block()?;
        }
        self.write_all_pending()?;
        self.inner.flush()?;
        Ok((self.inner, self.bytes_out))
    }

    fn send_block(&mut self) -> io::Result<()> {
        self.failed = true;
        if self.pool.is_none() {
            self.pool = Some(OrderedPool::new(self.threads, "gzip", compress_worker)?);
        }
        while self.pool.as_ref().is_some_and(|pool| pool.is_full()) {
            let oldest = self.pool.as_mut().and_then(|pool| pool.take_oldest());
            self.write_member(oldest)?;
        }
        let fresh = self
            .spare_blocks
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BLOCK_SIZE));
        let block = Block {
            data: mem::replace(&mut self.block, fresh),
            level: self.block_level,
            out: self.spare_members.pop().unwrap_or_default(),
        };
        if let Some(pool) = self.pool.as_mut() {
            pool.submit(block)?;
        }
        self.blocks_sent += 1;
        // Write whatever is done already so output flows steadily.
        while let Some(ready) = self.pool.as_mut().and_then(|pool| pool.take_ready()) {
            self.write_member(Some(ready))?;
        }
        self.failed = false;
        Ok(())
    }

    fn write_all_pending(&mut self) -> io::Result<()> {
        self.failed = true;
        while let Some(oldest) = self.pool.as_mut().and_then(|pool| pool.take_oldest()) {
            self.write_member(Some(oldest))?;
        }
        self.failed = false;
        Ok(())
    }

    fn write_member(&mut self, result: Option<io::Result<Member>>) -> io::Result<()> {
        let Some(result) = result else { return Ok(()) };
        let member = result?;
        self.inner.write_all(&member.bytes)?;
        self.bytes_out += member.bytes.len() as u64;
        let mut data = member.data;
        data.clear();
        self.spare_blocks.push(data);
        self.spare_members.push(member.bytes);
        Ok(())
    }

    fn check_healthy(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(
                "gzip stream failed earlier; the archive is incomplete",
            ));
        }
        Ok(())
    }
}

impl<W: Write> Write for ParallelGzipWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check_healthy()?;
        let mut rest = buf;
        while !rest.is_empty() {
            if self.wanted_level != self.block_level {
                if !self.block.is_empty() {
                    self.send_block()?;
                }
                self.block_level = self.wanted_level;
            }
            if self.block.len() == BLOCK_SIZE {
                self.send_block()?;
            }
            let n = (BLOCK_SIZE - self.block.len()).min(rest.len());
            self.block.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        Ok(buf.len())
    }

    /// Writes out every block already handed to the workers and flushes `inner`. The block
    /// being filled is kept: cutting it would cost compression for no reader's benefit.
    fn flush(&mut self) -> io::Result<()> {
        self.check_healthy()?;
        self.write_all_pending()?;
        self.inner.flush()
    }
}

/// A worker's compressing closure; it keeps one compressor per level it meets.
fn compress_worker() -> impl FnMut(Block) -> io::Result<Member> + Send + 'static {
    let mut compressors: [Option<Compressor>; 13] = Default::default();
    move |block: Block| {
        let level = block.level.min(12);
        let compressor = compressors[level as usize].get_or_insert_with(|| {
            Compressor::new(CompressionLvl::new(level as i32).unwrap_or_default())
        });
        let bytes = encode_member(compressor, &block.data, block.out)?;
        Ok(Member {
            bytes,
            data: block.data,
        })
    }
}

/// One complete gzip member holding `data`, built in `out`.
fn encode_member(
    compressor: &mut Compressor,
    data: &[u8],
    mut out: Vec<u8>,
) -> io::Result<Vec<u8>> {
    let bound = compressor.deflate_compress_bound(data.len());
    out.clear();
    out.resize(HEADER_LEN + bound + TRAILER_LEN, 0);
    let deflated = compressor
        .deflate_compress(data, &mut out[HEADER_LEN..HEADER_LEN + bound])
        .map_err(|e| io::Error::other(format!("deflate failed: {e}")))?;
    let member_len = HEADER_LEN + deflated + TRAILER_LEN;
    out.truncate(member_len);
    let size = u32::try_from(member_len).map_err(|_| io::Error::other("gzip member too large"))?;
    out[..HEADER_LEN].copy_from_slice(&member_header(size));
    let trailer = &mut out[HEADER_LEN + deflated..];
    trailer[..4].copy_from_slice(&crc32(data).to_le_bytes());
    // ISIZE is the input size mod 2^32; blocks are far smaller.
    trailer[4..].copy_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(out)
}

fn member_header(member_len: u32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    // ID1 ID2, CM = deflate, FLG = FEXTRA, MTIME = 0, XFL = 0, OS = 255 (unknown).
    header[..10].copy_from_slice(&[0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 255]);
    header[10..12].copy_from_slice(&8u16.to_le_bytes());
    header[12..14].copy_from_slice(&SUBFIELD_ID);
    header[14..16].copy_from_slice(&4u16.to_le_bytes());
    header[16..20].copy_from_slice(&member_len.to_le_bytes());
    header
}

#[cfg(test)]
mod tests {
    use super::super::MAX_MEMBER_SIZE;
    use super::*;
    use std::io::Read;

    #[test]
    fn members_carry_their_size_and_flate2_reads_them() {
        let data: Vec<u8> = (0..3 * BLOCK_SIZE as u32 + 12345)
            .map(|i| (i % 97) as u8)
            .collect();
        let mut w = ParallelGzipWriter::new(Vec::new(), 6, 2);
        for chunk in data.chunks(100_000) {
            w.write_all(chunk).unwrap();
        }
        let (out, n) = w.finish().unwrap();
        assert_eq!(n, out.len() as u64);
        assert!(
            out.len() < data.len() / 20,
            "repetitive data compresses: {}",
            out.len()
        );

        // Walk the members by their declared sizes: exactly 4, ending at the end.
        let mut offset = 0;
        let mut members = 0;
        while offset < out.len() {
            assert_eq!(out[offset..offset + 4], [0x1f, 0x8b, 8, 4]);
            assert_eq!(out[offset + 12..offset + 14], *b"CF");
            let size = u32::from_le_bytes(out[offset + 16..offset + 20].try_into().unwrap());
            offset += size as usize;
            members += 1;
        }
        assert_eq!((offset, members), (out.len(), 4));

        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data);
    }

    #[test]
    fn store_only_cuts_the_block_and_stores() {
        let noise: Vec<u8> = (0..2 * BLOCK_SIZE as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let text = b"compressible text ".repeat(10_000);
        let mut w = ParallelGzipWriter::new(Vec::new(), 9, 2);
        w.write_all(&text).unwrap();
        w.set_store_only(true);
        w.write_all(&noise).unwrap();
        w.set_store_only(false);
        w.write_all(&text).unwrap();
        let (out, _) = w.finish().unwrap();

        let mut sizes = Vec::new();
        let mut offset = 0;
        while offset < out.len() {
            let size =
                u32::from_le_bytes(out[offset + 16..offset + 20].try_into().unwrap()) as usize;
            let isize =
                u32::from_le_bytes(out[offset + size - 4..offset + size].try_into().unwrap());
            sizes.push((size, isize as usize));
            offset += size;
        }
        // text | noise (two stored blocks, a little bigger than their input) | text
        assert_eq!(sizes.len(), 4, "{sizes:?}");
        assert_eq!(sizes[0].1, text.len());
        assert_eq!(sizes[1].1, BLOCK_SIZE);
        assert!(
            sizes[1].0 > BLOCK_SIZE && sizes[1].0 < BLOCK_SIZE + 200,
            "{sizes:?}"
        );
        assert!(sizes[1].0 <= MAX_MEMBER_SIZE);
        assert_eq!(sizes[3].1, text.len());

        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back.len(), 2 * text.len() + noise.len());
    }

    #[test]
    fn empty_input_is_one_valid_member() {
        let (out, n) = ParallelGzipWriter::new(Vec::new(), 6, 1).finish().unwrap();
        assert_eq!(n as usize, out.len());
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }

    struct FailingWriter;
    impl Write for FailingWriter {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn inner_errors_propagate_and_stick() {
        let mut w = ParallelGzipWriter::new(FailingWriter, 1, 2);
        let data = vec![7u8; BLOCK_SIZE];
        let err = (0..20)
            .find_map(|_| w.write_all(&data).err())
            .expect("the error must surface");
        assert_eq!(err.to_string(), "disk full");
        assert!(w.write_all(b"more").is_err());
        assert!(w.finish().is_err());
    }

    #[test]
    fn dropping_unfinished_does_not_hang() {
        let mut w = ParallelGzipWriter::new(Vec::new(), 6, 2);
        w.write_all(&vec![1u8; 5 * BLOCK_SIZE + 3]).unwrap();
        drop(w);
    }
}
