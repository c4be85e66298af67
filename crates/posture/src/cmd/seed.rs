//! `posture seed`: the synthetic fleet through the report path, and its knowledge base.

use crate::args::FleetArgs;
use crate::datadir::{DataDir, Location};
use crate::output::{bar, print};
use anyhow::Result;
use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;
use std::time::Instant;

pub fn run(data_dir: &Location, fleet: &FleetArgs, no_kb: bool, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    let report = seed(&dir, fleet, !no_kb, json)?;
    print(json, &report, || {
        format!(
            "seeded {} devices (seed {}) in {:.1}s; knowledge base version {}",
            report.devices, report.seed, report.seconds, report.kb_version
        )
    })
}

/// The synthetic fleet's clock: now, to the hour, so a re-seed within the hour is identical.
pub fn fleet_now() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedReport {
    pub devices: u32,
    pub seed: u64,
    pub seconds: f64,
    pub kb_version: u64,
    pub feeds: Vec<ingest::FeedImport>,
}

pub fn seed(dir: &DataDir, fleet: &FleetArgs, with_kb: bool, quiet: bool) -> Result<SeedReport> {
    let started = Instant::now();
    let cfg = emulator::FleetConfig::new(fleet.devices, fleet.seed, fleet_now());
    let progress = bar(fleet.devices as u64, "seeding devices", quiet);
    let outcome = emulator::seed_fleet(
        dir.store.as_ref(),
        &cfg,
        with_kb,
        Some(&dir.feeds_dir()),
        &|done| progress.set_position(done),
    )?;
    progress.finish_and_clear();
    Ok(SeedReport {
        devices: fleet.devices,
        seed: fleet.seed,
        seconds: started.elapsed().as_secs_f64(),
        kb_version: dir.store.kb_version()?,
        feeds: outcome.feeds,
    })
}
