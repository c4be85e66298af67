//! The parallel, ordered member pipeline shared by the export writer and the benchmark.
//!
//! Work is a list of tasks, each producing one member (a slice of one output file).
//! `threads` workers take tasks in list order, produce the bytes (render rows or read
//! input), compress them as an independent gzip member, and deliver the member to its
//! output. An output writes its members strictly in sequence; a member that arrives
//! early waits in the output's reorder buffer. Workers stop taking new tasks while more
//! than `4 × threads` members wait, which bounds memory; it cannot deadlock because a
//! waiting member's predecessors were all handed out earlier and are being produced by
//! workers that never wait while holding a task.

use crate::{ExportError, io_err};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// How members are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// One gzip member per task at this level.
    Gzip(u32),
    /// The produced bytes as they are (the benchmark's uncompressed copy).
    Raw,
}

/// One member of one output.
pub(crate) trait Task: Sync {
    fn output(&self) -> usize;
    /// Position of the member within its output (0, 1, ...).
    fn seq(&self) -> u32;
}

/// Appends a task's bytes to the buffer and returns its row count.
pub(crate) type Produce<'a, T> = dyn Fn(&T, &mut Vec<u8>) -> Result<u64, ExportError> + Sync + 'a;

/// An output file and how many members it receives.
#[derive(Debug)]
pub(crate) struct Output {
    pub path: PathBuf,
    pub members: u32,
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
    pub encoding: Encoding,
    pub fsync: bool,
    pub hash: bool,
    /// Capacity to reserve for a member's produced bytes.
    pub member_capacity: usize,
}

struct Member {
    data: Vec<u8>,
    uncompressed: u64,
    rows: u64,
}

struct OutState {
    file: Option<File>,
    next: u32,
    waiting: BTreeMap<u32, Member>,
    hasher: Option<Sha256>,
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

/// Compresses `raw` as one gzip member appended to `out`.
pub(crate) fn gzip_member(raw: &[u8], level: u32, out: Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(out, Compression::new(level));
    enc.write_all(raw)?;
    enc.finish()
}

impl Pipeline {
    /// Runs every task; `produce` appends a task's bytes to the buffer and returns its row
    /// count. Returns what was written to each output, in output order.
    pub fn run<T: Task>(
        &self,
        tasks: &[T],
        outputs: &[Output],
        produce: &Produce<'_, T>,
    ) -> Result<Vec<Written>, ExportError> {
        let states: Vec<Mutex<OutState>> = outputs
            .iter()
            .map(|_| {
                Mutex::new(OutState {
                    file: None,
                    next: 0,
                    waiting: BTreeMap::new(),
                    hasher: self.hash.then(Sha256::new),
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
            let mut raw: Vec<u8> = Vec::with_capacity(self.member_capacity);
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
                    let member = self.encode(&mut raw, rows, &outputs[task.output()])?;
                    self.deliver(task, member, &states[task.output()], outputs, &sched, &wake)
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
                if st.next != o.members {
                    return Err(ExportError::Io {
                        path: o.path.clone(),
                        source: std::io::Error::other("output incomplete"),
                    });
                }
                if o.members == 0 {
                    // An output without members is still a (empty) file.
                    File::create(&o.path).map_err(io_err(&o.path))?;
                }
                st.written.sha256 = st.hasher.take().map(|h| h.finalize().into());
                Ok(st.written)
            })
            .collect()
    }

    fn encode(&self, raw: &mut Vec<u8>, rows: u64, out: &Output) -> Result<Member, ExportError> {
        let uncompressed = raw.len() as u64;
        let data = match self.encoding {
            Encoding::Gzip(level) => {
                gzip_member(raw, level, Vec::with_capacity(raw.len() / 4 + 64))
                    .map_err(io_err(&out.path))?
            }
            Encoding::Raw => std::mem::replace(raw, Vec::with_capacity(self.member_capacity)),
        };
        Ok(Member {
            data,
            uncompressed,
            rows,
        })
    }

    fn deliver<T: Task>(
        &self,
        task: &T,
        member: Member,
        state: &Mutex<OutState>,
        outputs: &[Output],
        sched: &Mutex<Sched>,
        wake: &Condvar,
    ) -> Result<(), ExportError> {
        let out = &outputs[task.output()];
        let mut st = lock(state);
        if task.seq() != st.next {
            st.waiting.insert(task.seq(), member);
            lock(sched).waiting += 1;
            return Ok(());
        }
        self.write(&mut st, out, member)?;
        let mut released = 0;
        loop {
            let next = st.next;
            let Some(m) = st.waiting.remove(&next) else {
                break;
            };
            released += 1;
            self.write(&mut st, out, m)?;
        }
        if st.next == out.members
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

    fn write(&self, st: &mut OutState, out: &Output, m: Member) -> Result<(), ExportError> {
        if st.file.is_none() {
            st.file = Some(File::create(&out.path).map_err(io_err(&out.path))?);
        }
        if let Some(f) = st.file.as_mut() {
            f.write_all(&m.data).map_err(io_err(&out.path))?;
        }
        if let Some(h) = st.hasher.as_mut() {
            h.update(&m.data);
        }
        st.written.bytes += m.data.len() as u64;
        st.written.uncompressed += m.uncompressed;
        st.written.rows += m.rows;
        st.next += 1;
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

    #[test]
    fn members_concatenate_in_order_into_one_gzip_stream() {
        let dir = tempfile::tempdir().unwrap();
        let input: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{{\"row\":{i}}}\n").into_bytes())
            .collect();
        let mut tasks = Vec::new();
        let mut outputs = Vec::new();
        for o in 0..3 {
            let members = 7 + o as u32;
            let per = input.len() / members as usize + 1;
            for seq in 0..members {
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
                path: dir.path().join(format!("{o}.gz")),
                members,
            });
        }
        let p = Pipeline {
            threads: 3,
            encoding: Encoding::Gzip(1),
            fsync: false,
            hash: true,
            member_capacity: 1024,
        };
        let written = p
            .run(&tasks, &outputs, &|t: &Chunk, out: &mut Vec<u8>| {
                out.extend_from_slice(&input[t.start..t.end]);
                Ok(1)
            })
            .unwrap();
        for (o, w) in outputs.iter().zip(&written) {
            let bytes = std::fs::read(&o.path).unwrap();
            assert_eq!(bytes.len() as u64, w.bytes);
            assert_eq!(w.uncompressed, input.len() as u64);
            assert_eq!(w.rows, o.members as u64);
            let sha: [u8; 32] = Sha256::digest(&bytes).into();
            assert_eq!(Some(sha), w.sha256);
            let mut back = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut back)
                .unwrap();
            assert!(back == input, "output {} differs", o.path.display());
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
            members: 50,
        }];
        let p = Pipeline {
            threads: 2,
            encoding: Encoding::Gzip(1),
            fsync: false,
            hash: false,
            member_capacity: 16,
        };
        let e = p
            .run(&tasks, &outputs, &|t: &Chunk, _out: &mut Vec<u8>| {
                if t.seq == 20 {
                    Err(ExportError::Option("boom".into()))
                } else {
                    Ok(0)
                }
            })
            .unwrap_err();
        assert!(e.to_string().contains("boom"));
    }
}
