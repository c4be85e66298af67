//! A budget for the snapshot pages a process keeps in its resident set.
//!
//! Snapshot files are memory-mapped ([`crate::format::Mapped`]). A page a request read
//! stays in the reading process's resident set (`RssFile`) until the kernel needs the
//! memory, so a server that has walked a 6 GB snapshot shows gigabytes resident while it
//! allocated a hundred megabytes: a container limit or an operator's alarm sees the
//! larger figure. After each response ([`trim_if_over_budget`], called by the server's
//! one streaming path), when the process's file-backed resident memory passes the budget,
//! every live snapshot mapping drops its pages from the process (`MADV_DONTNEED`). The
//! pages stay in the page cache; the next read maps them again with a minor fault, so
//! the cost is a few milliseconds per trim, not a disk read.

use memmap2::{Mmap, UncheckedAdvice};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// The default budget: 768 MiB of mapped snapshot pages.
pub const DEFAULT_BUDGET_BYTES: u64 = 768 << 20;

static BUDGET: AtomicU64 = AtomicU64::new(DEFAULT_BUDGET_BYTES);
static TRIMMING: AtomicBool = AtomicBool::new(false);
static TRIMS: AtomicU64 = AtomicU64::new(0);
/// Every live mapping of a snapshot file in this process.
static LIVE: Mutex<Vec<Weak<Mmap>>> = Mutex::new(Vec::new());

/// Sets the process's budget for resident snapshot pages (`0`: no budget).
pub fn set_budget(bytes: u64) {
    BUDGET.store(bytes, Ordering::Relaxed);
}

/// The process's budget for resident snapshot pages (`0`: none).
pub fn budget() -> u64 {
    BUDGET.load(Ordering::Relaxed)
}

/// How many times the mappings were trimmed since the process started.
pub fn trims() -> u64 {
    TRIMS.load(Ordering::Relaxed)
}

/// Registers a new mapping so that a trim reaches it.
pub(crate) fn register(map: &Arc<Mmap>) {
    let mut live = LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    live.retain(|w| w.strong_count() > 0);
    live.push(Arc::downgrade(map));
}

/// This process's file-backed resident memory (`RssFile` in `/proc/self/status`), in
/// bytes; `None` where the kernel does not say (then nothing is trimmed).
pub fn file_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("RssFile:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// When the process's file-backed resident memory is over the budget, drops every live
/// snapshot mapping's pages from the process; returns whether it did. One caller trims
/// at a time; the others return at once.
pub fn trim_if_over_budget() -> bool {
    let budget = budget();
    if budget == 0 || file_resident_bytes().is_none_or(|r| r <= budget) {
        return false;
    }
    if TRIMMING.swap(true, Ordering::Acquire) {
        return false;
    }
    let maps: Vec<Arc<Mmap>> = {
        let mut live = LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        live.retain(|w| w.strong_count() > 0);
        live.iter().filter_map(Weak::upgrade).collect()
    };
    for map in &maps {
        // SAFETY: every registered mapping is a read-only shared mapping of an immutable
        // snapshot file (see `Mapped::open`). MADV_DONTNEED on such a mapping only
        // unmaps pages from this process: the next access maps the same file bytes
        // again from the page cache, so readers on other threads see no change. (The
        // advice is unsafe for private writable mappings, whose changes it discards;
        // there are none here.)
        let _ = unsafe { map.unchecked_advise(UncheckedAdvice::DontNeed) };
    }
    TRIMS.fetch_add(1, Ordering::Relaxed);
    TRIMMING.store(false, Ordering::Release);
    true
}
