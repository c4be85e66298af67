//! Helpers for the reference-agreement tests: a deterministic PRNG, tool
//! discovery (tests skip with a note when the reference tool is absent),
//! scratch files and a parallel runner.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// SplitMix64: small, deterministic, good enough for test inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    pub fn pick_char(&mut self, chars: &str) -> char {
        let c: Vec<char> = chars.chars().collect();
        c[self.below(c.len())]
    }

    /// A run of digits: usually 1-3 long, sometimes with leading zeros,
    /// sometimes very long (up to 25 digits).
    pub fn digits(&mut self) -> String {
        let len = if self.chance(0.05) {
            10 + self.below(16)
        } else {
            1 + self.below(3)
        };
        let mut s: String = (0..len).map(|_| self.pick_char("0123456789")).collect();
        if self.chance(0.1) {
            s.insert(0, '0');
        }
        s
    }

    pub fn letters(&mut self, alphabet: &str, max: usize) -> String {
        let len = 1 + self.below(max);
        (0..len).map(|_| self.pick_char(alphabet)).collect()
    }
}

/// Runs `program args` and says whether it exits 0 (tool present).
pub fn tool_works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A fresh scratch file path (removed by the caller or left in the temp dir).
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("kb-ref-{}-{n}-{name}", std::process::id()))
}

/// Applies `f` to every item on `workers` threads; results in item order.
pub fn parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let chunk = items.len().div_ceil(workers.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker panicked"))
            .collect()
    })
}

/// Number of worker processes to use against a reference tool.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
}

pub fn ord_name(o: std::cmp::Ordering) -> &'static str {
    match o {
        std::cmp::Ordering::Less => "<",
        std::cmp::Ordering::Equal => "=",
        std::cmp::Ordering::Greater => ">",
    }
}
