//! How a report changes a device's stored state, the same in every store: the rules
//! behind `StateStore::apply_reports` that do not depend on where the bytes live.

use crate::DeviceState;
use chrono::{DateTime, Utc};
use model::DeviceReport;
use std::collections::HashMap;

type SoftwareKey<'a> = (&'a str, &'a str, &'a str);

fn software_key(sw: &model::InstalledSoftware) -> SoftwareKey<'_> {
    (&sw.vendor, &sw.name, &sw.version)
}

/// Whether a report of `sequence` replaces a stored state of `stored` (idempotent
/// re-delivery: a sequence not above the stored one changes nothing). Sequences are
/// kept as the signed 64-bit integers both databases store.
pub fn supersedes(sequence: u64, stored: i64) -> bool {
    sequence as i64 > stored
}

/// The new state for `report`, carrying first-seen times over from `previous`: the
/// device keeps its first report's time, and each package the time it was first
/// reported until it disappears from the device.
pub fn next_state(
    report: &DeviceReport,
    previous: Option<&DeviceState>,
    received_at: DateTime<Utc>,
) -> DeviceState {
    let (first_seen, seen): (DateTime<Utc>, HashMap<SoftwareKey<'_>, DateTime<Utc>>) =
        match previous {
            Some(p) => (
                p.first_seen.min(report.reported_at),
                p.report
                    .software
                    .iter()
                    .map(software_key)
                    .zip(p.software_first_seen.iter().copied())
                    .collect(),
            ),
            None => (report.reported_at, HashMap::new()),
        };
    let software_first_seen = report
        .software
        .iter()
        .map(|sw| {
            seen.get(&software_key(sw))
                .copied()
                .unwrap_or(report.reported_at)
                .min(report.reported_at)
        })
        .collect();
    DeviceState {
        report: report.clone(),
        first_seen,
        software_first_seen,
        received_at,
    }
}
