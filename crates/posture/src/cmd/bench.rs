//! `posture bench` and `posture bench-ingest`: their arguments, and the operations the
//! scale benchmark times (this binary's own seed, publish and advance); the measuring is
//! in the `bench` crate.

use crate::args::{FleetArgs, PublishArgs};
use crate::cmd::{advance, publish, seed};
use crate::datadir::{DataDir, Location};
use ::bench::error::BoxError;
use anyhow::{Context, Result};
use snapshot::PublishReport;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 100_000)]
    pub devices: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Page size of the vulnerability walk.
    #[arg(long, default_value_t = 200_000)]
    pub page_size: u64,
    /// Reuse an already seeded and published data directory instead of starting fresh.
    #[arg(long)]
    pub reuse: bool,
    /// Also measure the via-files exports of the published snapshot: writing all five
    /// against compression alone, pigz and DuckDB, peak RSS, parallel download.
    #[arg(long)]
    pub exports: bool,
    /// With `--exports`: leave out the DuckDB comparison (its COPY takes about 15 minutes
    /// at a million devices).
    #[arg(long)]
    pub skip_duckdb: bool,
    /// After the walk, advance the fleet this many hours, publish, and measure the delta
    /// (diff time at publish, first delta page); 0 skips it.
    #[arg(long, default_value_t = 6)]
    pub advance_hours: u32,
}

/// Publishing in the benchmark measures the snapshot alone; the export files have their
/// own stage (`--exports`), measured against compression alone, pigz and DuckDB.
fn bench_publish_args() -> PublishArgs {
    PublishArgs {
        retain: 2,
        part_mib: 256,
        change_retention_days: 14,
        exports: crate::args::Switch::Off,
        export_backend: crate::args::ExportBackend::Local,
        snapshots: None,
        snapshot_cache_mb: 16384,
        export_level: 1,
    }
}

#[derive(clap::Args, Debug)]
pub struct IngestBenchArgs {
    #[arg(long, default_value_t = 100_000)]
    pub reports: u32,
    /// Software entries per report (the fleet's own, padded with line-of-business apps).
    #[arg(long, default_value_t = 150)]
    pub software: usize,
    /// Settings per report (the catalogue's, padded with custom settings).
    #[arg(long, default_value_t = 200)]
    pub settings: usize,
    /// Reports per request (NDJSON).
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Compress request bodies with gzip.
    #[arg(long)]
    pub gzip: bool,
}

#[derive(clap::Args, Debug)]
pub struct KbBenchArgs {
    #[arg(long, default_value_t = 100_000)]
    pub devices: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Records of the NVD-sized knowledge base.
    #[arg(long, default_value_t = emulator::nvd_scale::NVD_RECORDS)]
    pub records: usize,
    /// Records changed upstream for the incremental sync.
    #[arg(long, default_value_t = 1000)]
    pub changed: usize,
    /// Reuse a data directory seeded with the demo KB only (skips seeding).
    #[arg(long)]
    pub reuse: bool,
}

/// The scale benchmark's operations: the code `posture seed`, `publish` and `advance` run,
/// on the data directory the benchmark names and the command's `--store`.
struct Subcommands {
    store: Option<String>,
}

impl Subcommands {
    fn open(&self, data_dir: &Path) -> Result<DataDir> {
        DataDir::open(&Location {
            path: data_dir.to_owned(),
            store: self.store.clone(),
        })
    }
}

impl ::bench::scale::Operations for Subcommands {
    fn seed(&self, data_dir: &Path, devices: u32, seed: u64, quiet: bool) -> Result<f64, BoxError> {
        let dir = self.open(data_dir)?;
        let seeded = seed::seed(&dir, &FleetArgs { devices, seed }, true, quiet)?;
        Ok(seeded.seconds)
    }

    fn publish(&self, data_dir: &Path, quiet: bool) -> Result<PublishReport, BoxError> {
        let dir = self.open(data_dir)?;
        let publish = bench_publish_args();
        let snapshots = dir.snapshots(publish.retain)?;
        Ok(publish::publish(&dir, &snapshots, &publish, quiet)?)
    }

    fn advance(&self, data_dir: &Path, hours: u32) -> Result<PublishReport, BoxError> {
        let dir = self.open(data_dir)?;
        let snapshots = dir.snapshots(2)?;
        let publish = bench_publish_args();
        Ok(advance::advance(&dir, &snapshots, hours, &publish, true)?.publish)
    }
}

fn posture_executable() -> Result<std::path::PathBuf> {
    std::env::current_exe().context("cannot find the posture executable")
}

pub fn run(data_dir: &Location, args: &BenchArgs, json: bool) -> Result<()> {
    let options = ::bench::scale::ScaleOptions {
        devices: args.devices,
        seed: args.seed,
        page_size: args.page_size,
        reuse: args.reuse,
        exports: args.exports,
        skip_duckdb: args.skip_duckdb,
        advance_hours: args.advance_hours,
        quiet: json,
        posture: posture_executable()?,
        store: data_dir.store.clone(),
    };
    let ops = Subcommands {
        store: data_dir.store.clone(),
    };
    let report = ::bench::scale::run(&data_dir.path, &options, &ops)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", ::bench::scale::summary(&report, args.advance_hours));
    }
    Ok(())
}

pub fn run_ingest(data_dir: &Location, args: &IngestBenchArgs, json: bool) -> Result<()> {
    let options = ::bench::ingest::IngestOptions {
        reports: args.reports,
        software: args.software,
        settings: args.settings,
        batch: args.batch,
        concurrency: args.concurrency,
        gzip: args.gzip,
        posture: posture_executable()?,
        store: data_dir.store.clone(),
    };
    let report = ::bench::ingest::run(&data_dir.path, &options)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", ::bench::ingest::summary(&report));
    }
    Ok(())
}

/// `bench-kb` runs on the data directory's SQLite store (it refuses `--store`).
pub fn run_kb(data_dir: &Location, args: &KbBenchArgs, json: bool) -> Result<()> {
    if data_dir.store.is_some() {
        anyhow::bail!("bench-kb measures the default SQLite store; run it without --store");
    }
    let options = ::bench::kbscale::KbScaleOptions {
        devices: args.devices,
        seed: args.seed,
        records: args.records,
        changed: args.changed,
        reuse: args.reuse,
        quiet: json,
    };
    let report = ::bench::kbscale::run(&data_dir.path, &options, &Subcommands { store: None })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", ::bench::kbscale::summary(&report));
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct NodesBenchArgs {
    #[arg(long, default_value_t = 100_000)]
    pub devices: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The shared snapshot store (`s3://BUCKET/PREFIX`, `az://CONTAINER/PREFIX` or
    /// `file:///DIR`; credentials from the environment as for `serve --snapshots`).
    /// Use an empty prefix: the benchmark publishes into it.
    #[arg(long)]
    pub snapshots: String,
    /// Rows per page of the load and of the first-byte samples.
    #[arg(long, default_value_t = 1000)]
    pub page_size: u32,
    /// Concurrent clients of the page load.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Seconds of load per configuration and round.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Rounds of (one node, two nodes), alternating.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// First-byte samples per node.
    #[arg(long, default_value_t = 201)]
    pub samples: usize,
}

/// `posture bench-nodes`: stateless nodes over the shared store and object storage
/// against a local-directory node, in one run (`bench::nodes`).
pub fn run_nodes(data_dir: &Location, args: &NodesBenchArgs, json: bool) -> Result<()> {
    let Some(store) = data_dir.store.clone() else {
        anyhow::bail!(
            "bench-nodes needs the shared state store: --store postgres://... (an empty database)"
        );
    };
    let work_dir = data_dir
        .path
        .join(format!("bench-nodes-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)?;
    let options = ::bench::nodes::NodesOptions {
        posture: std::env::current_exe()?,
        work_dir: work_dir.clone(),
        devices: args.devices,
        seed: args.seed,
        store,
        snapshots: args.snapshots.clone(),
        page_size: args.page_size,
        clients: args.clients.max(1),
        seconds: args.seconds,
        rounds: args.rounds.max(1),
        samples: args.samples.max(1),
    };
    let report = ::bench::nodes::run(&options, &|stage| {
        if !json {
            eprintln!("bench-nodes: {stage}");
        }
    });
    let _ = std::fs::remove_dir_all(&work_dir);
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", ::bench::nodes::summary(&report));
    }
    Ok(())
}
