//! Times the delta diff alone: `snapshot::delta::write_change_log` between two snapshot
//! directories, in a process that has done nothing else (docs/scale.md, round 10, compares
//! it with the same diff inside `posture advance`). The change log goes to a temporary
//! directory and is removed.
//!
//! ```text
//! cargo run --release -p snapshot --example diff_snapshots -- OLD_DIR NEW_DIR [RUNS]
//! ```
//! e.g. the two directories under `<data-dir>/snapshots/` after `posture advance --retain 2`.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (old, new, runs) = match args.as_slice() {
        [old, new] => (old, new, 1),
        [old, new, runs] => (old, new, runs.parse::<u32>()?),
        _ => return Err("usage: diff_snapshots OLD_DIR NEW_DIR [RUNS]".into()),
    };
    let old = snapshot::Snapshot::open(Path::new(old))?;
    let new = snapshot::Snapshot::open(Path::new(new))?;
    let work = tempfile::tempdir()?;
    for run in 1..=runs {
        let out = work.path().join(format!("changes-{run}"));
        let before = snapshot::DiskIo::of_self();
        let started = Instant::now();
        let meta = snapshot::delta::write_change_log(&old, &new, &out, u64::from(run))?;
        let seconds = started.elapsed().as_secs_f64();
        let read_mb = before
            .zip(snapshot::DiskIo::of_self())
            .map_or(0.0, |(b, a)| a.since(b).read_bytes as f64 / 1e6);
        println!(
            "run {run}: diff {seconds:.3}s, {read_mb:.0} MB read from storage; {} new, {} fixed, {} updated",
            meta.counts.new, meta.counts.fixed, meta.counts.updated
        );
        std::fs::remove_dir_all(&out)?;
    }
    Ok(())
}
