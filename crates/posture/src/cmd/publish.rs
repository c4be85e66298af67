//! `posture publish`: assess every device and publish a snapshot, once or on a
//! schedule, as the one publisher among the processes sharing the state store
//! (`crate::leader`).

use crate::args::{LeadArgs, PublishArgs};
use crate::datadir::{DataDir, Location};
use crate::leader::{Turn, humanize};
use crate::output::{PublishProgress, bar, print};
use anyhow::{Result, bail};
use snapshot::{BuildOptions, PublishReport, Snapshots};

/// When to publish, and what to do while another publisher leads.
#[derive(clap::Args, Debug, Clone)]
pub struct ScheduleArgs {
    /// Run for ever, publishing whenever the newest snapshot is this old (e.g. 6h):
    /// several such processes (on several machines sharing a PostgreSQL store) elect
    /// one publisher through the store; the others wait and take over if it dies.
    #[arg(long, env = "POSTURE_PUBLISH_SCHEDULE", value_parser = agent::parse_duration)]
    pub schedule: Option<std::time::Duration>,
    /// If another publisher leads, wait for it to finish (retrying every --lead-retry)
    /// and then publish, instead of failing.
    #[arg(long, conflicts_with = "schedule")]
    pub wait: bool,
    #[command(flatten)]
    pub lead: LeadArgs,
}

pub fn run(data_dir: &Location, p: &PublishArgs, when: &ScheduleArgs, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    let base = crate::datadir::default_base_url();
    let retry = when.lead.lead_retry;
    if let Some(every) = when.schedule {
        if every < std::time::Duration::from_secs(60) {
            bail!("snapshot times have minute precision: --schedule must be at least 1m");
        }
        return crate::leader::run_schedule(&dir, p, &base, every, retry);
    }
    let mut told = false;
    let report = loop {
        match crate::leader::publish_turn(&dir, p, &base, None, json, None)? {
            Turn::Published(report) => break report,
            Turn::OtherLeads if when.wait => {
                if !told {
                    eprintln!(
                        "another publisher leads; waiting (retrying every {})",
                        humanize(retry)
                    );
                    told = true;
                }
                std::thread::sleep(retry);
            }
            Turn::OtherLeads => bail!(
                "another publisher leads (a `posture publish`, `publish --schedule` or \
                 `serve --publish-every` sharing this state store is publishing): \
                 try again later, or pass --wait"
            ),
            Turn::NotDue(_) => bail!("a one-off publish is always due"),
        }
    };
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
    // Through `dir`'s store: a leader's is fenced, so registering needs the lease held.
    let report =
        snapshot::publish_from_store_as(snapshots, dir.store.as_ref(), now, &opts, &progress)?;
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
