//! How a report changes a device's stored state, the same in every store: the rules
//! behind `StateStore::apply_reports` that do not depend on where the bytes live.

use crate::state_codec::{self, StateParts};
use crate::{ApplyOutcome, DeviceView, Result, StoreError};
use chrono::{DateTime, Utc};
use model::DeviceReport;
use rayon::prelude::*;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

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

/// What a device's next state takes from its previous one: when the device was first
/// seen, and when each package it had (by vendor, name and version) was.
struct Previous<'p> {
    first_seen: DateTime<Utc>,
    software: HashMap<SoftwareKey<'p>, DateTime<Utc>>,
}

impl<'p> Previous<'p> {
    /// From a stored state, read as a view: a merge needs only these times and the
    /// packages' keys, so none of the state's strings is copied out of its record.
    fn of_view(view: &DeviceView<'p>) -> Self {
        Previous {
            first_seen: view.first_seen,
            software: view
                .software
                .iter()
                .map(|sw| (sw.vendor, sw.name, sw.version))
                .zip(view.software_first_seen.iter().copied())
                .collect(),
        }
    }

    /// From the report applied before in the same batch.
    fn of_report(
        first_seen: DateTime<Utc>,
        report: &'p DeviceReport,
        software_first_seen: &[DateTime<Utc>],
    ) -> Self {
        Previous {
            first_seen,
            software: report
                .software
                .iter()
                .map(software_key)
                .zip(software_first_seen.iter().copied())
                .collect(),
        }
    }
}

/// The device's and each package's first-seen times once `report` applies over
/// `previous`: the device keeps its first report's time, and each package the time it
/// was first reported until it disappears from the device.
fn carried(
    report: &DeviceReport,
    previous: Option<Previous<'_>>,
) -> (DateTime<Utc>, Vec<DateTime<Utc>>) {
    let Some(previous) = previous else {
        return (
            report.reported_at,
            vec![report.reported_at; report.software.len()],
        );
    };
    let software_first_seen = report
        .software
        .iter()
        .map(|sw| {
            previous
                .software
                .get(&software_key(sw))
                .copied()
                .unwrap_or(report.reported_at)
                .min(report.reported_at)
        })
        .collect();
    (
        previous.first_seen.min(report.reported_at),
        software_first_seen,
    )
}

/// What a device has stored when a batch arrives.
#[derive(Debug)]
pub struct Stored {
    pub sequence: i64,
    /// The state's bytes, needed only when some report of the batch supersedes
    /// `sequence` (a store may leave them unread otherwise).
    pub state: Option<Vec<u8>>,
}

/// A row a batch writes: a device's last applied report and its new state, encoded.
#[derive(Debug)]
pub struct NewRow<'a> {
    pub report: &'a DeviceReport,
    pub state: Vec<u8>,
    /// Whether the device was stored before the batch (an update, not an insert).
    pub existed: bool,
}

/// A device's reports in one batch.
struct Device<'a> {
    id: &'a str,
    /// Its sequence so far: stored, then its last applied report's.
    sequence: Option<i64>,
    /// Its reports that apply, in batch order.
    applied: Vec<&'a DeviceReport>,
}

/// Merges a batch of reports into what the stores hold (`stored`, by device id): the
/// outcome of each report in order, and the rows to write, one per device that changed,
/// in the order of each device's first report (a seed's batches come in the stores' key
/// order, and keep it).
///
/// Which reports apply is decided in batch order; then each device's new state is made
/// from its stored state and its applied reports in order, and encoded. Devices are
/// independent, so that part, nearly all of a batch's work, runs on every core while a
/// store holds its write transaction.
pub fn merge_batch<'a, K>(
    reports: &'a [DeviceReport],
    stored: &HashMap<K, Stored>,
    received_at: DateTime<Utc>,
) -> Result<(Vec<ApplyOutcome>, Vec<NewRow<'a>>)>
where
    K: Borrow<str> + Eq + Hash + Sync,
{
    let mut devices: Vec<Device<'a>> = Vec::with_capacity(reports.len());
    let mut slot_of: HashMap<&'a str, usize> = HashMap::with_capacity(reports.len());
    let mut outcomes = Vec::with_capacity(reports.len());
    for report in reports {
        let id = report.device_id.as_str();
        let slot = *slot_of.entry(id).or_insert_with(|| {
            devices.push(Device {
                id,
                sequence: stored.get(id).map(|s| s.sequence),
                applied: Vec::new(),
            });
            devices.len() - 1
        });
        let device = &mut devices[slot];
        if device
            .sequence
            .is_some_and(|s| !supersedes(report.sequence, s))
        {
            outcomes.push(ApplyOutcome::AlreadyApplied);
            continue;
        }
        device.sequence = Some(report.sequence as i64);
        device.applied.push(report);
        outcomes.push(ApplyOutcome::Applied);
    }
    let rows = devices
        .par_iter()
        .filter_map(|d| {
            d.applied
                .split_first()
                .map(|(first, rest)| (d.id, first, rest))
        })
        .map(|(id, first, rest)| {
            let existed = stored.get(id);
            let record = match existed {
                Some(Stored { state: Some(b), .. }) => Some(state_codec::record(b)?),
                Some(Stored { state: None, .. }) => {
                    return Err(StoreError::Corrupt(format!(
                        "device {id}: stored state was not fetched"
                    )));
                }
                None => None,
            };
            let previous = record.as_deref().map(state_codec::view).transpose()?;
            // The state is encoded from the report it borrows: no copy of the report.
            let (mut first_seen, mut software_first_seen) =
                carried(first, previous.as_ref().map(Previous::of_view));
            let mut last = first;
            for report in rest {
                let before = Previous::of_report(first_seen, last, &software_first_seen);
                (first_seen, software_first_seen) = carried(report, Some(before));
                last = report;
            }
            let state = state_codec::encode_parts(&StateParts {
                report: last,
                first_seen,
                software_first_seen: &software_first_seen,
                received_at,
            })?;
            Ok(NewRow {
                report: last,
                state,
                existed: existed.is_some(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((outcomes, rows))
}

/// A bulk load under way (`StateStore::begin_bulk_load`): the highest (group id, device
/// id) key it has written. A store that sets its device id index aside looks up only
/// devices at or below it: any other is new.
#[derive(Clone, Debug, Default)]
pub struct BulkLoad {
    highest: Option<(u32, String)>,
}

impl BulkLoad {
    /// Whether a device of this key is surely not stored: past every key the load wrote,
    /// in a table that was empty when it began.
    pub fn is_new(&self, group: u32, id: &str) -> bool {
        self.highest
            .as_ref()
            .is_none_or(|(g, d)| (group, id) > (*g, d.as_str()))
    }

    /// The load once `written` are written too.
    pub fn past<'a>(&self, written: impl Iterator<Item = (u32, &'a str)>) -> BulkLoad {
        let highest = written.fold(
            self.highest.as_ref().map(|(g, d)| (*g, d.as_str())),
            |max, key| max.max(Some(key)),
        );
        BulkLoad {
            highest: highest.map(|(g, d)| (g, d.to_owned())),
        }
    }
}
