//! `posture publish`: assess every device and publish a snapshot.

use crate::args::PublishArgs;
use crate::datadir::{DataDir, Location};
use crate::output::{PublishProgress, bar, print};
use anyhow::Result;
use snapshot::{BuildOptions, PublishReport, Snapshots};

pub fn run(data_dir: &Location, p: &PublishArgs, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    let (snapshots, _) =
        crate::datadir::open_snapshots(&dir, p, &crate::datadir::default_base_url())?;
    let report = publish(&dir, &snapshots, p, json)?;
    print(json, &report, || publish_summary(&report))
}

pub fn publish(
    dir: &DataDir,
    snapshots: &Snapshots,
    p: &PublishArgs,
    quiet: bool,
) -> Result<PublishReport> {
    let devices = dir.store.device_count()?;
    let progress = PublishProgress(bar(devices, "publishing", quiet));
    let opts = BuildOptions {
        part_target_bytes: p.part_mib.max(1) << 20,
        ..BuildOptions::default()
    };
    snapshots.set_change_retention(chrono::Duration::days(i64::from(p.change_retention_days)));
    let now = emulator::service_now(dir.store.as_ref(), chrono::Utc::now())?;
    let report = snapshot::publish_from_store(snapshots, now, &opts, &progress)?;
    progress.0.finish_and_clear();
    Ok(report)
}

pub fn publish_summary(r: &PublishReport) -> String {
    let rows: Vec<String> = r.rows.iter().map(|(k, n)| format!("{k:?}={n}")).collect();
    let changes = r.changes.map_or(String::new(), |c| {
        format!(
            "; changes: {} new, {} fixed, {} updated (diff {:.1}s)",
            c.new, c.fixed, c.updated, r.diff_seconds
        )
    });
    format!(
        "published snapshot #{} ({}) in {:.1}s: {} devices, {} distinct software, {} findings; rows: {}{changes}",
        r.seq,
        r.time_path,
        r.seconds,
        r.devices,
        r.distinct_software,
        r.findings,
        rows.join(" ")
    )
}
