//! `posture advance`: time travel for the emulator, then publish.

use crate::args::PublishArgs;
use crate::cmd::publish::{publish, publish_summary};
use crate::datadir::{DataDir, Location};
use crate::output::{bar, print};
use anyhow::{Result, anyhow};
use serde::Serialize;
use snapshot::{PublishReport, Snapshots};

pub fn run(data_dir: &Location, hours: u32, p: &PublishArgs, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    // The publisher lease first: opening the snapshots removes unregistered directories.
    let lease = crate::leader::lead(&dir)?.ok_or_else(other_leads)?;
    let dir = crate::leader::fenced(&dir, &lease);
    let (snapshots, _) =
        crate::datadir::open_snapshots(&dir, p, &crate::datadir::default_base_url())?;
    let report = advance_leading(&dir, &snapshots, hours, p, json)?;
    drop((snapshots, dir, lease));
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

fn other_leads() -> anyhow::Error {
    anyhow!(
        "another publisher leads (a `posture publish`, `publish --schedule` or \
         `serve --publish-every` sharing this state store is publishing): try again later"
    )
}

/// Moves the fleet forward and publishes, as the publisher (refused while another
/// process leads the publishers).
pub fn advance(
    dir: &DataDir,
    snapshots: &Snapshots,
    hours: u32,
    p: &PublishArgs,
    quiet: bool,
) -> Result<AdvanceReport> {
    let lease = crate::leader::lead(dir)?.ok_or_else(other_leads)?;
    advance_leading(
        &crate::leader::fenced(dir, &lease),
        snapshots,
        hours,
        p,
        quiet,
    )
}

/// [`advance`] for a caller holding the publisher lease.
fn advance_leading(
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
