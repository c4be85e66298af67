//! Snapshot files fetched piece by piece: a node serving a snapshot it has not cached
//! maps sparse local files of the right lengths and fetches 256 KiB chunks from object
//! storage as they are first read, while a background task fetches the rest.
//!
//! A directory becomes lazy by [`register`]ing it with a [`RangeSource`] before its
//! snapshot is opened; every [`crate::format::Mapped`] opened in it then checks, before
//! each read, that the bytes it reads are present ([`LazyFile::ensure`]), fetching the
//! missing chunks synchronously. Reads in one request are many and scattered (rows,
//! then the fragment indexes they name, then the fragments), so the page path first
//! [`prefetch`]es: it renders the page in a *recording* pass that notes missing chunks
//! instead of fetching them, fetches the noted chunks in parallel, and repeats until a
//! pass notes none (three or four rounds: rows, indexes, fragments).

use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Files of a snapshot read whole, and only by some readers (the console), so a node
/// fetches them when first read ([`ensure_whole`]) rather than before serving.
pub const READ_WHOLE_LATER: [&str; 2] = ["summary.json", "evidence.ndjson"];

/// Makes the file at `path` whole if it belongs to a lazy directory (a no-op otherwise).
pub fn ensure_whole(path: &Path) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if let Some(file) = file_for(path, meta.len()) {
        file.ensure(0..meta.len());
    }
}

/// Bytes fetched per chunk (and the granularity of presence).
pub const CHUNK: u64 = 256 << 10;

/// Where a lazy directory's bytes come from: `ranges` of file `name` (relative to the
/// snapshot directory), returned in order.
pub trait RangeSource: Send + Sync {
    fn fetch(&self, name: &str, ranges: &[Range<u64>]) -> Result<Vec<Vec<u8>>, String>;
}

/// A snapshot directory whose mapped files are fetched on demand.
pub struct LazyDir {
    source: Arc<dyn RangeSource>,
    files: Mutex<BTreeMap<PathBuf, Arc<LazyFile>>>,
    /// Every sparse file of the directory, opened or not.
    sparse: Vec<PathBuf>,
    /// Set once every sparse file is whole (so the check is one load after that).
    whole: std::sync::atomic::AtomicBool,
}

/// One sparse file and which of its chunks are present.
pub struct LazyFile {
    source: Arc<dyn RangeSource>,
    name: String,
    path: PathBuf,
    file: File,
    len: u64,
    present: Vec<AtomicU64>,
    missing: AtomicUsize,
}

static DIRS: Mutex<BTreeMap<PathBuf, Arc<LazyDir>>> = Mutex::new(BTreeMap::new());

/// Makes `dir` lazy: its `sparse` files, opened from now on, fetch from `source`.
pub fn register(dir: &Path, source: Arc<dyn RangeSource>, sparse: Vec<PathBuf>) -> Arc<LazyDir> {
    let lazy = Arc::new(LazyDir {
        source,
        files: Mutex::new(BTreeMap::new()),
        sparse,
        whole: std::sync::atomic::AtomicBool::new(false),
    });
    DIRS.lock().insert(dir.to_owned(), lazy.clone());
    lazy
}

/// The lazy directory `dir`, if it is one.
pub fn dir_of(dir: &Path) -> Option<Arc<LazyDir>> {
    DIRS.lock().get(dir).cloned()
}

/// Forgets `dir` (it was removed, or is complete).
pub fn forget(dir: &Path) {
    DIRS.lock().remove(dir);
}

/// The lazy file for `path` when its directory is lazy (shared by every opening).
pub(crate) fn file_for(path: &Path, len: u64) -> Option<Arc<LazyFile>> {
    let dir_path = path.parent()?;
    let dir = DIRS.lock().get(dir_path).cloned()?;
    if !dir.sparse.iter().any(|p| p == path) {
        return None;
    }
    let mut files = dir.files.lock();
    if let Some(f) = files.get(path) {
        return Some(f.clone());
    }
    let chunks = len.div_ceil(CHUNK) as usize;
    let lazy = Arc::new(LazyFile {
        source: dir.source.clone(),
        name: path.file_name()?.to_string_lossy().into_owned(),
        path: path.to_owned(),
        // Chunks are written through a handle of our own (the reader's is read-only).
        file: match std::fs::OpenOptions::new().write(true).open(path) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "cannot open a lazily fetched file for writing");
                return None;
            }
        },
        len,
        present: (0..chunks.div_ceil(64))
            .map(|_| AtomicU64::new(0))
            .collect(),
        missing: AtomicUsize::new(chunks),
    });
    files.insert(path.to_owned(), lazy.clone());
    Some(lazy)
}

/// Chunks a recording pass read while missing: (file, chunk number).
type Noted = Vec<(Arc<LazyFile>, u64)>;

thread_local! {
    /// Set during a recording pass: the missing chunks read, instead of fetching them.
    static RECORDING: RefCell<Option<Noted>> = const { RefCell::new(None) };
}

impl LazyFile {
    fn has(&self, chunk: u64) -> bool {
        let (word, bit) = ((chunk / 64) as usize, chunk % 64);
        self.present
            .get(word)
            .is_some_and(|w| w.load(Ordering::Acquire) & (1 << bit) != 0)
    }

    fn mark(&self, chunk: u64) {
        let (word, bit) = ((chunk / 64) as usize, chunk % 64);
        if let Some(w) = self.present.get(word) {
            let before = w.fetch_or(1 << bit, Ordering::AcqRel);
            if before & (1 << bit) == 0 {
                self.missing.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    pub fn is_complete(&self) -> bool {
        self.missing.load(Ordering::Acquire) == 0
    }

    fn missing_in(&self, range: &Range<u64>) -> Vec<u64> {
        if range.start >= range.end || self.is_complete() {
            return Vec::new();
        }
        let last = (range.end.min(self.len).max(1) - 1) / CHUNK;
        (range.start / CHUNK..=last)
            .filter(|c| !self.has(*c))
            .collect()
    }

    /// Makes `range` present: noted when recording, else fetched now (failures are
    /// logged; the bytes read stay zero, which [`prefetch`] on the page path prevents).
    pub(crate) fn ensure(self: &Arc<Self>, range: Range<u64>) {
        let missing = self.missing_in(&range);
        if missing.is_empty() {
            return;
        }
        let recorded = RECORDING.with(|r| {
            let mut r = r.borrow_mut();
            match r.as_mut() {
                Some(list) => {
                    list.extend(missing.iter().map(|c| (self.clone(), *c)));
                    true
                }
                None => false,
            }
        });
        if !recorded && let Err(e) = self.fetch_chunks(&missing) {
            tracing::error!(file = %self.path.display(), error = %e, "cannot fetch part of a snapshot file");
        }
    }

    /// Fetches `chunks` (adjacent ones in one range) and writes them into the file. No
    /// lock is held across the fetch, so a page never waits behind the background
    /// completion: two fetches of one chunk write the same bytes (the file is immutable).
    fn fetch_chunks(&self, chunks: &[u64]) -> Result<(), String> {
        let mut todo: Vec<u64> = chunks.iter().copied().filter(|c| !self.has(*c)).collect();
        todo.sort_unstable();
        todo.dedup();
        let mut ranges: Vec<(Range<u64>, Vec<u64>)> = Vec::new();
        for c in todo {
            match ranges.last_mut() {
                Some((r, cs)) if r.end == c * CHUNK && cs.len() < 16 => {
                    r.end = ((c + 1) * CHUNK).min(self.len);
                    cs.push(c);
                }
                _ => ranges.push((c * CHUNK..((c + 1) * CHUNK).min(self.len), vec![c])),
            }
        }
        if ranges.is_empty() {
            return Ok(());
        }
        let wanted: Vec<Range<u64>> = ranges.iter().map(|(r, _)| r.clone()).collect();
        let bytes = self.source.fetch(&self.name, &wanted)?;
        for ((range, chunks), data) in ranges.iter().zip(bytes) {
            if data.len() as u64 != range.end - range.start {
                return Err(format!(
                    "{}: asked for {} bytes at {}, got {}",
                    self.name,
                    range.end - range.start,
                    range.start,
                    data.len()
                ));
            }
            use std::os::unix::fs::FileExt;
            self.file
                .write_all_at(&data, range.start)
                .map_err(|e| format!("{}: {e}", self.path.display()))?;
            for c in chunks {
                self.mark(*c);
            }
        }
        Ok(())
    }
}

impl LazyDir {
    /// Fetches every chunk still missing, `batch` chunks per request.
    pub fn complete(&self) -> Result<(), String> {
        for path in &self.sparse {
            let opened = self.files.lock().contains_key(path);
            if !opened {
                let len = std::fs::metadata(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .len();
                file_for(path, len);
            }
        }
        let files: Vec<Arc<LazyFile>> = self.files.lock().values().cloned().collect();
        for f in files {
            let missing = f.missing_in(&(0..f.len));
            // 4 MiB a request, so pages asking for their chunks meanwhile are not queued
            // behind long transfers.
            for batch in missing.chunks(16) {
                f.fetch_chunks(batch)?;
            }
        }
        Ok(())
    }

    /// Whether every sparse file of the directory is whole.
    pub fn is_complete(&self) -> bool {
        if self.whole.load(Ordering::Acquire) {
            return true;
        }
        let files = self.files.lock();
        let whole = files.len() == self.sparse.len() && files.values().all(|f| f.is_complete());
        if whole {
            self.whole.store(true, Ordering::Release);
        }
        whole
    }
}

/// Runs `read` until it reads nothing missing, fetching between passes what it read
/// missing (in parallel, per file). `read` must only read (its results are discarded);
/// a panic in a pass over not-yet-fetched (zero) bytes counts as a pass.
pub fn prefetch(read: impl Fn()) -> Result<(), String> {
    for _round in 0..8 {
        RECORDING.with(|r| *r.borrow_mut() = Some(Vec::new()));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&read));
        let noted = RECORDING
            .with(|r| r.borrow_mut().take())
            .unwrap_or_default();
        if noted.is_empty() {
            return outcome.map_err(|_| "reading the snapshot panicked".to_owned());
        }
        let mut by_file: BTreeMap<PathBuf, (Arc<LazyFile>, Vec<u64>)> = BTreeMap::new();
        for (file, chunk) in noted {
            by_file
                .entry(file.path.clone())
                .or_insert_with(|| (file.clone(), Vec::new()))
                .1
                .push(chunk);
        }
        let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = by_file
                .values()
                .map(|(file, chunks)| scope.spawn(move || file.fetch_chunks(chunks)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("a fetch panicked".into())))
                .collect()
        });
        results.into_iter().collect::<Result<(), String>>()?;
    }
    Err("a page kept reading missing parts of its snapshot after 8 rounds".into())
}
