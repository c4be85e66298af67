//! Runs the export benchmark on a seeded fleet (the same code `posture bench` calls).
//!
//! ```text
//! cargo run --release -p bench --example export_bench -- --devices 100000 --data-dir /tmp/export-bench
//! ```
//! Options: `--devices N` (10000), `--seed S` (42), `--data-dir DIR` (reused when it holds a
//! snapshot), `--level L` (1), `--threads T` (0 = all cores), `--work DIR` (scratch,
//! default `<data-dir>/bench-work`), `--json`.

use chrono::Utc;
use std::path::PathBuf;
use std::sync::Arc;
use store::{SqliteStore, StateStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut devices = 10_000u32;
    let mut seed = 42u64;
    let mut data_dir = PathBuf::from("/tmp/export-bench");
    let mut level = 1u32;
    let mut threads = 0usize;
    let mut work = None;
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--devices" => devices = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--data-dir" => data_dir = value()?.into(),
            "--level" => level = value()?.parse()?,
            "--threads" => threads = value()?.parse()?,
            "--work" => work = Some(PathBuf::from(value()?)),
            "--json" => json = true,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    std::fs::create_dir_all(&data_dir)?;
    let store: Arc<dyn StateStore> = Arc::new(SqliteStore::open(&data_dir.join("state.db"))?);
    if store.device_count()? == 0 {
        eprintln!("seeding {devices} devices ...");
        let t = std::time::Instant::now();
        let cfg = emulator::FleetConfig::new(devices, seed, Utc::now());
        emulator::seed_fleet(store.as_ref(), &cfg, true, None, &|_| {})?;
        eprintln!("seeded in {:.1}s", t.elapsed().as_secs_f64());
    }
    let snapshots = snapshot::Snapshots::open(&data_dir, store.clone(), 2)?;
    if snapshots.latest().is_none() {
        eprintln!("publishing a snapshot ...");
        let r = snapshot::publish_from_store(
            &snapshots,
            Utc::now(),
            &snapshot::BuildOptions::default(),
            &snapshot::Quiet,
        )?;
        eprintln!("published in {:.1}s", r.seconds);
    }
    let latest = snapshots.latest().ok_or("no snapshot")?;
    let opts = export::ExportOptions {
        level,
        ..export::ExportOptions::new("47d41a0c-188d-46d3-bbea-a93dbc0bfcaa")
    };
    let bench_options =
        bench::exports::BenchOptions::new(&work.unwrap_or_else(|| data_dir.join("bench-work")));
    let figures = bench::exports::run(&latest, &opts, threads, &bench_options)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        print!("{}", bench::exports::summary(&figures));
    }
    Ok(())
}
