//! Rendering records: for each record kind, the JSON fragments written once at publish
//! and the concatenation that turns a row back into the record. The builder calls the
//! fragment writers, the reader calls [`Tables::render`]; both go through this module,
//! so a record's key names and order live in one file per kind:
//!
//! * [`device`] — the per-device heads and tails shared by the four assessment kinds;
//! * [`configuration`] — `AssetConfiguration` (SecureConfigurationsAssessment);
//! * [`software`] — `AssetSoftware` and `AssetNonCpeSoftware`;
//! * [`vulnerability`] — `AssetVulnerability` (findings and install paths);
//! * [`av`] — `DeviceAvInfo` and the InfoGatheringExport record;
//! * [`delta`] — `DeltaAssetVulnerability`: a vulnerability record plus status and time.
//!
//! The key order of each record is the serde order of its `model::wire` type;
//! `snapshot/tests/snapshots.rs` checks every rendered row against serde.

pub(crate) mod av;
pub(crate) mod configuration;
pub(crate) mod delta;
pub(crate) mod device;
pub(crate) mod software;
pub(crate) mod vulnerability;

use crate::ExportKind;
use crate::format::{FormatError, FragTable, Mapped};
use crate::layout::slot;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("JSON rendering failed: {0}")]
    Json(#[from] serde_json::Error),
}

pub(crate) fn js(out: &mut Vec<u8>, s: &str) {
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
pub(crate) fn js_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => js(out, s),
        None => out.extend_from_slice(b"null"),
    }
}
/// JSON-escaped content of `s`, without the quotes (for pieces of a larger string).
pub(crate) fn js_inner(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 2);
    js(&mut v, s);
    v.pop();
    v.remove(0);
    v
}
pub(crate) fn field(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}
/// Appends a number or boolean; writing to a Vec cannot fail.
pub(crate) fn display(out: &mut Vec<u8>, value: impl std::fmt::Display) {
    use std::io::Write;
    let _ = write!(out, "{value}");
}

/// The fragment tables of a snapshot, memory-mapped: what rows are rendered from.
pub(crate) struct Tables {
    pub devices: FragTable,
    pub software: FragTable,
    pub findings: FragTable,
    /// The software entry of each finding (`u32` each).
    pub finding_software: Mapped,
    pub paths: FragTable,
    pub configurations: FragTable,
    pub deviceav: FragTable,
    pub infogathering: FragTable,
}

impl Tables {
    pub fn open(dir: &Path) -> Result<Tables, FormatError> {
        Ok(Tables {
            devices: FragTable::open(dir, "devices")?,
            software: FragTable::open(dir, "software")?,
            findings: FragTable::open(dir, "findings")?,
            finding_software: Mapped::open(&dir.join("findings.rows"))?,
            paths: FragTable::open(dir, "paths")?,
            configurations: FragTable::open(dir, "configurations")?,
            deviceav: FragTable::open(dir, "deviceav")?,
            infogathering: FragTable::open(dir, "infogathering")?,
        })
    }

    pub fn device(&self, d: u32, slot: usize) -> &[u8] {
        self.devices.get(d as usize * slot::DEVICE_SLOTS + slot)
    }
    pub fn sw(&self, s: u32, slot: usize) -> &[u8] {
        self.software.get(s as usize * slot::SOFTWARE_SLOTS + slot)
    }
    pub fn finding(&self, f: u32, slot: usize) -> &[u8] {
        self.findings.get(f as usize * slot::FINDING_SLOTS + slot)
    }

    /// Appends the JSON record of a row of `kind` (its row-file bytes `r`; device-level
    /// kinds have none and use `row`).
    pub fn render(&self, kind: ExportKind, r: &[u8], row: u64, out: &mut Vec<u8>) {
        match kind {
            ExportKind::Vulnerabilities => vulnerability::render_row(self, r, out),
            ExportKind::SoftwareInventory => software::render_inventory_row(self, r, out),
            ExportKind::NonCpeSoftware => software::render_noncpe_row(self, r, out),
            ExportKind::SecureConfiguration => configuration::render_row(self, r, out),
            ExportKind::DeviceAv => out.extend_from_slice(self.deviceav.get(row as usize)),
            ExportKind::InfoGathering => {
                out.extend_from_slice(self.infogathering.get(row as usize))
            }
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` from Unix seconds, without allocating (hot path of every row).
pub fn write_seen_secs(out: &mut Vec<u8>, secs: u32) {
    let secs = secs as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let two = |out: &mut Vec<u8>, v: i64| {
        out.push(b'0' + (v / 10 % 10) as u8);
        out.push(b'0' + (v % 10) as u8);
    };
    two(out, year / 100);
    two(out, year % 100);
    out.push(b'-');
    two(out, month);
    out.push(b'-');
    two(out, day);
    out.push(b' ');
    two(out, rem / 3600);
    out.push(b':');
    two(out, rem / 60 % 60);
    out.push(b':');
    two(out, rem % 60);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn seen_secs_matches_chrono() {
        for secs in [
            0u32,
            59,
            86_399,
            951_782_400,
            1_609_459_200,
            1_700_000_000,
            4_102_444_799,
            u32::MAX,
        ] {
            let mut out = Vec::new();
            write_seen_secs(&mut out, secs);
            let t = Utc.timestamp_opt(secs as i64, 0).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                model::timefmt::seen(&t),
                "{secs}"
            );
        }
    }
}
