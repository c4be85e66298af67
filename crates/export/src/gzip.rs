//! The parallel, ordered block pipeline shared by the export writer and the benchmark.
//!
//! Work is a list of tasks, each producing one block (a slice of one output file).
//! `threads` workers take tasks in list order, produce the bytes (render rows or read
//! input), compress them, and deliver the block to its output. An output writes its
//! blocks strictly in sequence; a block that arrives early waits in the output's reorder
//! buffer. Workers stop taking new tasks while more than `4 × threads` blocks wait, which
//! bounds memory; it cannot deadlock because a waiting block's predecessors were all
//! handed out earlier and are being produced by workers that never wait while holding a
//! task.
//!
//! Every gzip output is exactly ONE gzip member, compressed on all cores the way pigz
//! does it: each block is an independent raw deflate stream primed with the last 32 KiB
//! preceding it in the output (`set_dictionary`, so back-references across the cut stay
//! valid), ended with a sync flush (byte-aligned, not final) except the output's last
//! block, which finishes the stream. Concatenated, the blocks are one deflate stream; the
//! first block carries the gzip header and the last is followed by the trailer, whose
//! CRC-32 is the blocks' CRCs combined in order (`crc32fast::Hasher::combine`). Readers
//! that stop after the first member (Python's `zlib.decompressobj(wbits=31)` used as a
//! stream, .NET Framework's `GZipStream`, many streaming ETL readers) therefore read
//! every row.

use crate::{ExportError, io_err};
use flate2::{Compress, Compression, FlushCompress, Status};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Deflate's window: a block's dictionary is at most this many preceding bytes.
pub(crate) const DEFLATE_WINDOW: usize = 32 * 1024;

/// The gzip header of every output: no name, no mtime (so rewrites are byte-identical),
/// OS "unknown" (RFC 1952).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// One block of one output.
pub(crate) trait Task: Sync {
    fn output(&self) -> usize;
    /// Position of the block within its output (0, 1, ...).
    fn seq(&self) -> u32;
}

/// Appends a task's bytes to the buffer and returns its row count.
pub(crate) type Produce<'a, T> = dyn Fn(&T, &mut Vec<u8>) -> Result<u64, ExportError> + Sync + 'a;

/// Appends bytes that immediately precede a task's bytes in its output (the compressor's
/// dictionary): any suffix of what precedes it, ideally [`DEFLATE_WINDOW`] bytes or more;
/// nothing for a task at the start of its output. Called only for gzip.
pub(crate) type Prime<'a, T> = dyn Fn(&T, &mut Vec<u8>) -> Result<(), ExportError> + Sync + 'a;

/// An output file and how many blocks it receives.
#[derive(Debug)]
pub(crate) struct Output {
    pub path: PathBuf,
    pub blocks: u32,
}

/// What was written to one output.
#[derive(Clone, Debug, Default)]
pub(crate) struct Written {
    pub bytes: u64,
    pub uncompressed: u64,
    pub rows: u64,
    pub sha256: Option<[u8; 32]>,
}

pub(crate) struct Pipeline {
    pub threads: usize,
    /// gzip level: each output is one gzip member, its blocks compressed in parallel.
    pub level: u32,
    pub fsync: bool,
    pub hash: bool,
    /// Capacity to reserve for a block's produced bytes.
    pub block_capacity: usize,
}

struct Block {
    data: Vec<u8>,
    uncompressed: u64,
    rows: u64,
    /// CRC-32 and length of the block's uncompressed bytes (gzip only).
    crc: crc32fast::Hasher,
}

struct OutState {
    file: Option<File>,
    next: u32,
    waiting: BTreeMap<u32, Block>,
    hasher: Option<Sha256>,
    /// CRC-32 of the output's uncompressed bytes so far (the gzip trailer's).
    crc: crc32fast::Hasher,
    written: Written,
}

struct Sched {
    next_task: usize,
    waiting: usize,
    failed: Option<ExportError>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Compresses `raw` as one block of a gzip member and appends it to `out`: the header
/// if `first`, a raw deflate stream primed with the last [`DEFLATE_WINDOW`] bytes of
/// `dictionary`, sync-flushed unless `last`, which finishes the deflate stream (the
/// caller appends the trailer). Returns the CRC-32 of `raw`.
pub(crate) fn deflate_block(
    raw: &[u8],
    dictionary: &[u8],
    level: u32,
    first: bool,
    last: bool,
    out: &mut Vec<u8>,
) -> std::io::Result<crc32fast::Hasher> {
    if first {
        out.extend_from_slice(&GZIP_HEADER);
    }
    let mut deflate = Compress::new(Compression::new(level), false);
    if !dictionary.is_empty() {
        let window = &dictionary[dictionary.len().saturating_sub(DEFLATE_WINDOW)..];
        deflate
            .set_dictionary(window)
            .map_err(std::io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut input = raw;
    loop {
        // compress_vec writes into spare capacity only: keep some.
        if out.capacity() - out.len() < 4096 {
            out.reserve(input.len() / 2 + 64 * 1024);
        }
        let before = deflate.total_in();
        let status = deflate
            .compress_vec(input, out, flush)
            .map_err(std::io::Error::other)?;
        input = &input[(deflate.total_in() - before) as usize..];
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => break,
            // A sync flush is complete once all input is in and output space was left over.
            _ if !last && input.is_empty() && room_left => break,
            _ => {}
        }
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(raw);
    Ok(crc)
}

/// The gzip trailer: CRC-32 and length modulo 2³² of the uncompressed bytes, little-endian.
fn gzip_trailer(crc: &crc32fast::Hasher, len: u64) -> [u8; 8] {
    let mut t = [0u8; 8];
    t[..4].copy_from_slice(&crc.clone().finalize().to_le_bytes());
    t[4..].copy_from_slice(&(len as u32).to_le_bytes());
    t
}

impl Pipeline {
    /// Runs every task; `produce` appends a task's bytes to the buffer and returns its row
    /// count, `prime` appends the bytes preceding it (see [`Prime`]). Returns what was
    /// written to each output, in output order.
    pub fn run<T: Task>(
        &self,
        tasks: &[T],
        outputs: &[Output],
        produce: &Produce<'_, T>,
        prime: &Prime<'_, T>,
    ) -> Result<Vec<Written>, ExportError> {
        let states: Vec<Mutex<OutState>> = outputs
            .iter()
            .map(|_| {
                Mutex::new(OutState {
                    file: None,
                    next: 0,
                    waiting: BTreeMap::new(),
                    hasher: self.hash.then(Sha256::new),
                    crc: crc32fast::Hasher::new(),
                    written: Written::default(),
                })
            })
            .collect();
        let sched = Mutex::new(Sched {
            next_task: 0,
            waiting: 0,
            failed: None,
        });
        let wake = Condvar::new();
        let threads = self.threads.max(1);
        let max_waiting = 4 * threads;

        let fail = |e: ExportError| {
            let mut s = lock(&sched);
            if s.failed.is_none() {
                s.failed = Some(e);
            }
            wake.notify_all();
        };

        let worker = || {
            let mut raw: Vec<u8> = Vec::with_capacity(self.block_capacity);
            let mut dictionary: Vec<u8> = Vec::new();
            loop {
                let i = {
                    let mut s = lock(&sched);
                    while s.failed.is_none() && s.waiting >= max_waiting {
                        s = wake.wait(s).unwrap_or_else(PoisonError::into_inner);
                    }
                    if s.failed.is_some() || s.next_task >= tasks.len() {
                        return;
                    }
                    s.next_task += 1;
                    s.next_task - 1
                };
                let task = &tasks[i];
                let step = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    raw.clear();
                    let rows = produce(task, &mut raw)?;
                    dictionary.clear();
                    if task.seq() > 0 {
                        prime(task, &mut dictionary)?;
                    }
                    let block = self.encode(&raw, &dictionary, rows, task, outputs)?;
                    self.deliver(task, block, &states[task.output()], outputs, &sched, &wake)
                }));
                match step {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return fail(e),
                    Err(_) => return fail(ExportError::Panicked),
                }
            }
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
            for h in handles {
                if h.join().is_err() {
                    fail(ExportError::Panicked);
                }
            }
        });
        if let Some(e) = lock(&sched).failed.take() {
            return Err(e);
        }
        states
            .into_iter()
            .zip(outputs)
            .map(|(m, o)| {
                let mut st = m.into_inner().unwrap_or_else(PoisonError::into_inner);
                if st.next != o.blocks {
                    return Err(ExportError::Io {
                        path: o.path.clone(),
                        source: std::io::Error::other("output incomplete"),
                    });
                }
                if o.blocks == 0 {
                    // An output without blocks is still a (empty) file.
                    File::create(&o.path).map_err(io_err(&o.path))?;
                }
                st.written.sha256 = st.hasher.take().map(|h| h.finalize().into());
                Ok(st.written)
            })
            .collect()
    }

    fn encode<T: Task>(
        &self,
        raw: &[u8],
        dictionary: &[u8],
        rows: u64,
        task: &T,
        outputs: &[Output],
    ) -> Result<Block, ExportError> {
        let out = &outputs[task.output()];
        let uncompressed = raw.len() as u64;
        let mut data = Vec::with_capacity(raw.len() / 4 + 64);
        let first = task.seq() == 0;
        let last = task.seq() + 1 == out.blocks;
        let crc = deflate_block(raw, dictionary, self.level, first, last, &mut data)
            .map_err(io_err(&out.path))?;
        Ok(Block {
            data,
            uncompressed,
            rows,
            crc,
        })
    }

    fn deliver<T: Task>(
        &self,
        task: &T,
        block: Block,
        state: &Mutex<OutState>,
        outputs: &[Output],
        sched: &Mutex<Sched>,
        wake: &Condvar,
    ) -> Result<(), ExportError> {
        let out = &outputs[task.output()];
        let mut st = lock(state);
        if task.seq() != st.next {
            st.waiting.insert(task.seq(), block);
            lock(sched).waiting += 1;
            return Ok(());
        }
        self.write(&mut st, out, block)?;
        let mut released = 0;
        loop {
            let next = st.next;
            let Some(b) = st.waiting.remove(&next) else {
                break;
            };
            released += 1;
            self.write(&mut st, out, b)?;
        }
        if st.next == out.blocks
            && let Some(f) = st.file.take()
            && self.fsync
        {
            f.sync_all().map_err(io_err(&out.path))?;
        }
        drop(st);
        if released > 0 {
            lock(sched).waiting -= released;
            wake.notify_all();
        }
        Ok(())
    }

    fn write(&self, st: &mut OutState, out: &Output, b: Block) -> Result<(), ExportError> {
        if st.file.is_none() {
            st.file = Some(File::create(&out.path).map_err(io_err(&out.path))?);
        }
        st.crc.combine(&b.crc);
        st.written.uncompressed += b.uncompressed;
        st.written.rows += b.rows;
        st.next += 1;
        let trailer =
            (st.next == out.blocks).then(|| gzip_trailer(&st.crc, st.written.uncompressed));
        for piece in [&b.data[..], trailer.as_ref().map_or(&[][..], |t| &t[..])] {
            if piece.is_empty() {
                continue;
            }
            if let Some(f) = st.file.as_mut() {
                f.write_all(piece).map_err(io_err(&out.path))?;
            }
            if let Some(h) = st.hasher.as_mut() {
                h.update(piece);
            }
            st.written.bytes += piece.len() as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    struct Chunk {
        output: usize,
        seq: u32,
        start: usize,
        end: usize,
    }
    impl Task for Chunk {
        fn output(&self) -> usize {
            self.output
        }
        fn seq(&self) -> u32 {
            self.seq
        }
    }

    /// Splits `input` into `blocks` outputs' tasks and runs the pipeline at `level`.
    fn run_chunks(
        input: &[u8],
        outputs_blocks: &[u32],
        level: u32,
        dir: &std::path::Path,
    ) -> (Vec<Output>, Vec<Written>) {
        let mut tasks = Vec::new();
        let mut outputs = Vec::new();
        for (o, &blocks) in outputs_blocks.iter().enumerate() {
            let per = input.len() / blocks as usize + 1;
            for seq in 0..blocks {
                let start = (seq as usize * per).min(input.len());
                let end = ((seq as usize + 1) * per).min(input.len());
                tasks.push(Chunk {
                    output: o,
                    seq,
                    start,
                    end,
                });
            }
            outputs.push(Output {
                path: dir.join(format!("{o}-{level}.gz")),
                blocks,
            });
        }
        let p = Pipeline {
            threads: 3,
            level,
            fsync: false,
            hash: true,
            block_capacity: 1024,
        };
        let written = p
            .run(
                &tasks,
                &outputs,
                &|t: &Chunk, out: &mut Vec<u8>| {
                    out.extend_from_slice(&input[t.start..t.end]);
                    Ok(1)
                },
                &|t: &Chunk, out: &mut Vec<u8>| {
                    out.extend_from_slice(&input[t.start.saturating_sub(DEFLATE_WINDOW)..t.start]);
                    Ok(())
                },
            )
            .unwrap();
        (outputs, written)
    }

    #[test]
    fn blocks_join_in_order_into_exactly_one_gzip_member() {
        let dir = tempfile::tempdir().unwrap();
        let input: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{{\"row\":{i},\"pad\":\"{}\"}}\n", i % 97).into_bytes())
            .collect();
        // 1 block, a few large blocks, and many blocks smaller than the 32 KiB window
        // (the dictionary then spans several earlier blocks).
        for level in [0, 1, 6, 9] {
            let (outputs, written) = run_chunks(&input, &[1, 7, 9, 400], level, dir.path());
            for (o, w) in outputs.iter().zip(&written) {
                let bytes = std::fs::read(&o.path).unwrap();
                assert_eq!(bytes.len() as u64, w.bytes);
                assert_eq!(w.uncompressed, input.len() as u64);
                assert_eq!(w.rows, o.blocks as u64);
                let sha: [u8; 32] = Sha256::digest(&bytes).into();
                assert_eq!(Some(sha), w.sha256);
                // A single-member decoder reads everything and leaves nothing behind.
                let mut decoder = flate2::bufread::GzDecoder::new(&bytes[..]);
                let mut back = Vec::new();
                decoder.read_to_end(&mut back).unwrap();
                assert!(back == input, "output {} differs", o.path.display());
                assert!(
                    decoder.into_inner().is_empty(),
                    "{}: bytes after the first member",
                    o.path.display()
                );
            }
        }
    }

    #[test]
    fn an_empty_output_is_a_valid_empty_gzip_member() {
        let dir = tempfile::tempdir().unwrap();
        let (outputs, _) = run_chunks(&[], &[1, 3], 1, dir.path());
        for o in &outputs {
            let bytes = std::fs::read(&o.path).unwrap();
            let mut decoder = flate2::bufread::GzDecoder::new(&bytes[..]);
            let mut back = Vec::new();
            decoder.read_to_end(&mut back).unwrap();
            assert!(back.is_empty());
            assert!(decoder.into_inner().is_empty());
        }
    }

    #[test]
    fn a_failing_task_stops_the_run_with_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let tasks: Vec<Chunk> = (0..50)
            .map(|seq| Chunk {
                output: 0,
                seq,
                start: 0,
                end: 0,
            })
            .collect();
        let outputs = [Output {
            path: dir.path().join("x.gz"),
            blocks: 50,
        }];
        let p = Pipeline {
            threads: 2,
            level: 1,
            fsync: false,
            hash: false,
            block_capacity: 16,
        };
        let e = p
            .run(
                &tasks,
                &outputs,
                &|t: &Chunk, _out: &mut Vec<u8>| {
                    if t.seq == 20 {
                        Err(ExportError::Option("boom".into()))
                    } else {
                        Ok(0)
                    }
                },
                &|_: &Chunk, _: &mut Vec<u8>| Ok(()),
            )
            .unwrap_err();
        assert!(e.to_string().contains("boom"));
    }
}
