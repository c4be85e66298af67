//! Reading a published snapshot: memory-mapped row files and fragment tables.
//! Rendering row `i` of an export seeks to `i * row_size` and concatenates fragments.

use crate::ExportKind;
use crate::build::slot;
use crate::format::{FormatError, FragTable, Mapped, read_u16, read_u32};
use crate::manifest::{ExportManifest, FORMAT_VERSION, Manifest};
use model::wire::DeviceAvInfo;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("{path}: invalid manifest: {reason}")]
    Manifest { path: PathBuf, reason: String },
}

pub struct Snapshot {
    dir: PathBuf,
    pub manifest: Manifest,
    devices: FragTable,
    software: FragTable,
    findings: FragTable,
    finding_software: Mapped,
    paths: FragTable,
    configurations: FragTable,
    deviceav: FragTable,
    infogathering: FragTable,
    rows: BTreeMap<ExportKind, Mapped>,
    device_groups: Mapped,
    software_keys: FragTable,
    finding_meta: FragTable,
    av_records: OnceLock<Vec<DeviceAvInfo>>,
    empty: ExportManifest,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("dir", &self.dir)
            .field("time_path", &self.manifest.time_path)
            .finish()
    }
}

impl Snapshot {
    pub fn open(dir: &Path) -> Result<Snapshot, OpenError> {
        let manifest_path = dir.join("manifest.json");
        let text = std::fs::read(&manifest_path).map_err(|source| FormatError {
            path: manifest_path.clone(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_slice(&text).map_err(|e| OpenError::Manifest {
                path: manifest_path.clone(),
                reason: e.to_string(),
            })?;
        if manifest.format != FORMAT_VERSION {
            return Err(OpenError::Manifest {
                path: manifest_path,
                reason: format!("format {} is not {FORMAT_VERSION}", manifest.format),
            });
        }
        let mut rows = BTreeMap::new();
        for kind in ExportKind::ALL {
            if kind.row_size() > 0 {
                let map = Mapped::open(&dir.join(format!("{}.rows", kind.file_stem())))?;
                let want =
                    manifest.exports.get(&kind).map_or(0, |e| e.rows) * kind.row_size() as u64;
                if map.bytes().len() as u64 != want {
                    return Err(OpenError::Manifest {
                        path: manifest_path,
                        reason: format!(
                            "{} rows file has {} bytes, expected {want}",
                            kind.file_stem(),
                            map.bytes().len()
                        ),
                    });
                }
                rows.insert(kind, map);
            }
        }
        Ok(Snapshot {
            dir: dir.to_owned(),
            devices: FragTable::open(dir, "devices")?,
            software: FragTable::open(dir, "software")?,
            findings: FragTable::open(dir, "findings")?,
            finding_software: Mapped::open(&dir.join("findings.rows"))?,
            paths: FragTable::open(dir, "paths")?,
            configurations: FragTable::open(dir, "configurations")?,
            deviceav: FragTable::open(dir, "deviceav")?,
            infogathering: FragTable::open(dir, "infogathering")?,
            rows,
            device_groups: Mapped::open(&dir.join("devices.rows"))?,
            software_keys: FragTable::open(dir, "software_keys")?,
            finding_meta: FragTable::open(dir, "finding_meta")?,
            manifest,
            av_records: OnceLock::new(),
            empty: ExportManifest::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn time_path(&self) -> &str {
        &self.manifest.time_path
    }
    pub fn export(&self, kind: ExportKind) -> &ExportManifest {
        self.manifest.exports.get(&kind).unwrap_or(&self.empty)
    }
    pub fn rows(&self, kind: ExportKind) -> u64 {
        self.export(kind).rows
    }

    fn device(&self, d: u32, slot: usize) -> &[u8] {
        self.devices.get(d as usize * slot::DEVICE_SLOTS + slot)
    }
    fn sw(&self, s: u32, slot: usize) -> &[u8] {
        self.software.get(s as usize * slot::SOFTWARE_SLOTS + slot)
    }
    fn finding(&self, f: u32, slot: usize) -> &[u8] {
        self.findings.get(f as usize * slot::FINDING_SLOTS + slot)
    }

    /// Appends the JSON record of `row` of `kind` to `out`. Rows past the end render nothing.
    pub fn render(&self, kind: ExportKind, row: u64, out: &mut Vec<u8>) {
        let size = kind.row_size();
        let r: &[u8] = match self.rows.get(&kind) {
            Some(m) => {
                let at = row as usize * size;
                match m.bytes().get(at..at + size) {
                    Some(r) => r,
                    None => return,
                }
            }
            None => &[],
        };
        match kind {
            ExportKind::Vulnerabilities => {
                let (d, f, p, t) = (
                    read_u32(r, 0),
                    read_u32(r, 4),
                    read_u32(r, 8),
                    read_u32(r, 12),
                );
                let s = read_u32(self.finding_software.bytes(), f as usize * 4);
                out.extend_from_slice(b"{\"id\":\"");
                out.extend_from_slice(self.device(d, slot::ID));
                out.push(b'_');
                out.extend_from_slice(self.sw(s, slot::SW_ID_PART));
                out.extend_from_slice(self.finding(f, slot::FINDING_CVE));
                out.extend_from_slice(b"_\",");
                out.extend_from_slice(self.device(d, slot::VULN_HEAD));
                out.extend_from_slice(self.sw(s, slot::SW_FIELDS));
                out.extend_from_slice(self.finding(f, slot::FINDING_MID));
                out.extend_from_slice(self.paths.get(p as usize));
                out.extend_from_slice(b"\"lastSeenTimestamp\":\"");
                out.extend_from_slice(self.device(d, slot::LAST_SEEN));
                out.extend_from_slice(b"\",\"firstSeenTimestamp\":\"");
                write_seen_secs(out, t);
                out.extend_from_slice(b"\",");
                out.extend_from_slice(self.finding(f, slot::FINDING_TAIL));
                out.extend_from_slice(self.device(d, slot::TAIL));
            }
            ExportKind::SoftwareInventory => {
                let (d, s, p, t) = (
                    read_u32(r, 0),
                    read_u32(r, 4),
                    read_u32(r, 8),
                    read_u32(r, 12),
                );
                out.extend_from_slice(self.device(d, slot::INVENTORY_HEAD));
                out.extend_from_slice(self.sw(s, slot::SW_INVENTORY_FIELDS));
                out.extend_from_slice(self.paths.get(p as usize));
                out.extend_from_slice(b"\"softwareFirstSeenTimestamp\":\"");
                write_seen_secs(out, t);
                out.extend_from_slice(b"\",");
                out.extend_from_slice(self.sw(s, slot::SW_INVENTORY_TAIL));
                out.extend_from_slice(self.device(d, slot::TAIL));
            }
            ExportKind::NonCpeSoftware => {
                let (d, s) = (read_u32(r, 0), read_u32(r, 4));
                out.extend_from_slice(self.device(d, slot::NONCPE_HEAD));
                out.extend_from_slice(self.sw(s, slot::SW_FIELDS));
                out.extend_from_slice(self.device(d, slot::NONCPE_TAIL));
            }
            ExportKind::SecureConfiguration => {
                let (d, c, variant) = (read_u32(r, 0), read_u16(r, 4), read_u16(r, 6));
                out.extend_from_slice(self.device(d, slot::SCA_HEAD));
                out.extend_from_slice(
                    self.configurations
                        .get(c as usize * slot::CONFIG_VARIANTS + variant as usize),
                );
                out.extend_from_slice(self.device(d, slot::TAIL));
            }
            ExportKind::DeviceAv => out.extend_from_slice(self.deviceav.get(row as usize)),
            ExportKind::InfoGathering => {
                out.extend_from_slice(self.infogathering.get(row as usize))
            }
        }
    }

    pub fn device_count(&self) -> u32 {
        (self.device_groups.bytes().len() / 4) as u32
    }
    /// The 40-hex id of device `d`.
    pub fn device_id(&self, d: u32) -> &[u8] {
        self.device(d, slot::ID)
    }
    pub fn device_group(&self, d: u32) -> u32 {
        read_u32(self.device_groups.bytes(), d as usize * 4)
    }
    /// `vendor\0name\0version` of software entry `s`.
    pub fn software_key(&self, s: u32) -> &[u8] {
        self.software_keys.get(s as usize)
    }
    pub fn software_count(&self) -> usize {
        self.software_keys.len()
    }
    pub fn finding_count(&self) -> usize {
        self.finding_meta.len()
    }
    pub fn finding_software(&self, f: u32) -> u32 {
        read_u32(self.finding_software.bytes(), f as usize * 4)
    }
    pub fn finding_meta(&self, f: u32) -> Option<FindingMeta> {
        serde_json::from_slice(self.finding_meta.get(f as usize)).ok()
    }
    /// The CVE id of finding `f` (None for an end-of-support finding), without decoding JSON.
    pub fn finding_cve(&self, f: u32) -> Option<&str> {
        let raw = self.finding(f, slot::FINDING_CVE);
        if raw.is_empty() {
            None
        } else {
            std::str::from_utf8(raw).ok()
        }
    }
    pub fn paths_fragment(&self, p: u32) -> &[u8] {
        self.paths.get(p as usize)
    }
    /// Row `i` of the vulnerability export.
    pub fn vuln_row(&self, i: u64) -> Option<VulnRow> {
        let bytes = self.rows.get(&ExportKind::Vulnerabilities)?.bytes();
        let at = usize::try_from(i).ok()?.checked_mul(16)?;
        let r = bytes.get(at..at + 16)?;
        Some(VulnRow {
            device: read_u32(r, 0),
            finding: read_u32(r, 4),
            paths: read_u32(r, 8),
            first_seen: read_u32(r, 12),
        })
    }
    /// The vulnerability rows of device `d` (rows are ordered by device).
    pub fn vuln_rows_of(&self, d: u32) -> std::ops::Range<u64> {
        let n = self.rows(ExportKind::Vulnerabilities);
        let first_at_least = |target: u32| {
            let (mut lo, mut hi) = (0u64, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match self.vuln_row(mid) {
                    Some(r) if r.device < target => lo = mid + 1,
                    _ => hi = mid,
                }
            }
            lo
        };
        first_at_least(d)..first_at_least(d.saturating_add(1))
    }

    /// Every deviceavinfo record, decoded once per snapshot on first use (for `$filter`).
    pub fn av_records(&self) -> &[DeviceAvInfo] {
        self.av_records.get_or_init(|| {
            (0..self.deviceav.len())
                .filter_map(|i| serde_json::from_slice(self.deviceav.get(i)).ok())
                .collect()
        })
    }
}

/// One vulnerability row: device, finding (software × CVE), install paths, first seen (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VulnRow {
    pub device: u32,
    pub finding: u32,
    pub paths: u32,
    pub first_seen: u32,
}

/// The values of a finding that the delta export compares.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FindingMeta {
    #[serde(rename = "c")]
    pub cve_id: Option<String>,
    #[serde(rename = "s")]
    pub severity: Option<String>,
    #[serde(rename = "v")]
    pub cvss_score: Option<f64>,
    #[serde(rename = "e")]
    pub exploitability: String,
    #[serde(rename = "u")]
    pub recommended_update: Option<String>,
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
