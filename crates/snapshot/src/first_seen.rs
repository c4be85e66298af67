//! First-seen carry-over: a build reads the previous snapshot so that a CVE keeps its
//! first-seen time across a version upgrade that stays vulnerable, a group move, or a
//! re-publish, keyed by (vendor, name, CVE) per device.

use crate::layout::unix_secs;
use crate::reader::Snapshot;
use rustc_hash::FxHashMap as HashMap;

/// Lookups into the previous snapshot while building the next one.
pub(crate) struct PreviousRows<'a> {
    snapshot: &'a Snapshot,
    devices: HashMap<&'a [u8], u32>,
}

pub(crate) struct Carried<'a> {
    /// The previous snapshot had this device.
    pub known_device: bool,
    /// When the previous snapshot was published (Unix seconds).
    pub previous_publish: u32,
    /// Earliest first-seen time of each (vendor, name, CVE) on the device.
    pub seen: HashMap<(&'a str, &'a str, Option<&'a str>), u32>,
}

impl<'a> PreviousRows<'a> {
    pub fn new(snapshot: &'a Snapshot) -> Self {
        let devices = (0..snapshot.device_count())
            .map(|d| (snapshot.device_id(d), d))
            .collect();
        PreviousRows { snapshot, devices }
    }

    /// The first-seen times this device's CVEs had in the previous snapshot.
    pub fn first_seen_of(&self, device_id: &str) -> Carried<'a> {
        let s = self.snapshot;
        let mut carried = Carried {
            known_device: false,
            previous_publish: unix_secs(&s.manifest.generated_at),
            seen: HashMap::default(),
        };
        let Some(&d) = self.devices.get(device_id.as_bytes()) else {
            return carried;
        };
        carried.known_device = true;
        for i in s.vuln_rows_of(d) {
            let Some(row) = s.vuln_row(i) else { continue };
            let key =
                std::str::from_utf8(s.software_key(s.finding_software(row.finding))).unwrap_or("");
            let mut parts = key.split('\0');
            let (vendor, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let cve = s.finding_cve(row.finding);
            let entry = carried
                .seen
                .entry((vendor, name, cve))
                .or_insert(row.first_seen);
            *entry = (*entry).min(row.first_seen);
        }
        carried
    }
}
