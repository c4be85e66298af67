//! The measured server: `posture serve` as a child process on the benchmark's data
//! directory, its peak memory, and the data directory's state store.

use crate::error::BenchError;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use store::{StateStore, StoreLocation};

/// Starts `<posture> serve` on a free loopback port as a child process; returns it and its base URL.
/// `store` is the `--store` URL when the state is not the data directory's SQLite file;
/// `serve_args` are further `serve` options.
pub fn spawn_server(
    posture: &Path,
    data_dir: &Path,
    store: Option<&str>,
    serve_args: &[String],
) -> Result<(Child, String), BenchError> {
    let mut command = Command::new(posture);
    if let Some(url) = store {
        command.arg("--store").arg(url);
    }
    let mut child = command
        // The data path is measured here; authentication and limits have their own
        // benchmark (`cargo bench -p bench --bench auth`).
        .args([
            "--log",
            "warn",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--auth",
            "off",
            "--limits",
            "off",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(serve_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(BenchError::io("cannot start posture serve"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| BenchError::Failed("no stdout from server".into()))?;
    let mut base = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut base)
        .map_err(BenchError::io("cannot read the server's address"))?;
    let base = base.trim().to_owned();
    if base.is_empty() {
        let _ = child.kill();
        return Err(BenchError::Failed("the server did not start".into()));
    }
    Ok((child, base))
}

/// The peak resident set (VmHWM) of process `pid`, in MB.
pub fn peak_rss_mb(pid: u32) -> Result<f64, BenchError> {
    peak_rss_mb_of(&pid.to_string())
}

/// The peak resident set of this process, in MB.
pub fn own_peak_rss_mb() -> Result<f64, BenchError> {
    peak_rss_mb_of("self")
}

/// Resets the peak resident set of process `pid` (`self` for this one) to its current
/// resident set, so that the next reading is the peak of one stage alone (Linux
/// `clear_refs` value 5).
pub fn reset_peak_rss(pid: &str) -> Result<(), BenchError> {
    let path = format!("/proc/{pid}/clear_refs");
    std::fs::write(&path, "5").map_err(BenchError::io(path))
}

fn peak_rss_mb_of(pid: &str) -> Result<f64, BenchError> {
    let kb = status_kb(pid, "VmHWM")
        .ok_or_else(|| BenchError::Failed(format!("no VmHWM in /proc/{pid}/status")))?;
    Ok(kb as f64 / 1024.0)
}

/// The data directory (created when missing, made absolute) and its state store
/// (`state.db`, the layout `posture` uses, or the `--store` URL `store`).
pub fn open_store(
    data_dir: &Path,
    store: Option<&str>,
) -> Result<(PathBuf, Arc<dyn StateStore>), BenchError> {
    std::fs::create_dir_all(data_dir).map_err(BenchError::io(format!(
        "cannot create data directory {}",
        data_dir.display()
    )))?;
    let path = std::fs::canonicalize(data_dir).map_err(BenchError::io(format!(
        "cannot resolve data directory {}",
        data_dir.display()
    )))?;
    let store = StoreLocation::parse(store, &path.join("state.db"))?.open()?;
    Ok((path, store))
}

/// Whether the data directory (or the `--store` database) already holds state.
pub fn holds_data(data_dir: &Path, store: Option<&str>) -> Result<bool, BenchError> {
    if store.is_none() {
        return Ok(data_dir.join("state.db").exists());
    }
    let (_, opened) = open_store(data_dir, store)?;
    Ok(opened.device_count()? > 0 || !opened.snapshots()?.is_empty())
}

/// The snapshots of the data directory, keeping `retain`.
pub fn open_snapshots(
    data_dir: &Path,
    store: Option<&str>,
    retain: usize,
) -> Result<snapshot::Snapshots, BenchError> {
    let (path, store) = open_store(data_dir, store)?;
    Ok(snapshot::Snapshots::open(&path, store, retain)?)
}

/// Samples a process's anonymous resident memory (`RssAnon`: what it allocated, not the
/// file pages it maps) every 20 ms until finished, keeping the peak. VmHWM counts mapped
/// snapshot pages the process has read, which the kernel can reclaim at will.
pub struct AnonSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl AnonSampler {
    pub fn start(pid: u32) -> AnonSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak_kb = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                // The process has exited (or was never there): nothing more to sample.
                let Some(kb) = status_kb(&pid.to_string(), "RssAnon") else {
                    break;
                };
                peak_kb = peak_kb.max(kb);
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            peak_kb
        });
        AnonSampler { stop, handle }
    }

    /// Stops sampling; the peak in MB.
    pub fn finish(self) -> f64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().unwrap_or(0) as f64 / 1024.0
    }
}

/// A `kB` field (`VmHWM`, `VmRSS`, `RssAnon`, ...) of `/proc/<pid>/status`; `None` when
/// the process is gone or the kernel does not report the field.
pub fn status_kb(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
