//! `posture advance`: time travel for the emulator, then publish.

use crate::args::PublishArgs;
use crate::cmd::publish::{publish, publish_summary};
use crate::datadir::{DataDir, Location};
use crate::output::{bar, print};
use anyhow::Result;
use serde::Serialize;
use snapshot::{PublishReport, Snapshots};

pub fn run(data_dir: &Location, hours: u32, p: &PublishArgs, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    let (snapshots, _) =
        crate::datadir::open_snapshots(&dir, p, &crate::datadir::default_base_url())?;
    let report = advance(&dir, &snapshots, hours, p, json)?;
    print(json, &report, || {
        format!(
            "advanced {} h to {} (step {}): {} devices reported, {} quiet; feed update {} new, {} revised\n{}",
            hours,
            report.advance.now,
            report.advance.step,
            report.advance.reports,
            report.advance.quiet_devices,
            report.advance.feed.outcome.inserted,
            report.advance.feed.outcome.updated,
            publish_summary(&report.publish)
        )
    })
}

#[derive(Serialize)]
pub struct AdvanceReport {
    pub advance: emulator::AdvanceOutcome,
    pub publish: PublishReport,
}

pub fn advance(
    dir: &DataDir,
    snapshots: &Snapshots,
    hours: u32,
    p: &PublishArgs,
    quiet: bool,
) -> Result<AdvanceReport> {
    let devices = dir.store.device_count()?;
    let progress = bar(devices, "advancing fleet", quiet);
    let advance =
        emulator::advance_fleet(dir.store.as_ref(), hours, chrono::Utc::now(), &|done| {
            progress.set_position(done)
        })?;
    progress.finish_and_clear();
    let publish = publish(dir, snapshots, p, quiet)?;
    Ok(AdvanceReport { advance, publish })
}
