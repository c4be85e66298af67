//! Reading a published snapshot: memory-mapped row files and fragment tables.
//! Rendering row `i` of an export seeks to `i * row_size` and hands the row to
//! [`crate::render`], which concatenates the fragments.

use crate::ExportKind;
use crate::format::{FormatError, FragTable, Mapped, read_u32};
pub use crate::layout::{FindingMeta, VulnRow};
use crate::layout::{WIDE_ROW, slot};
use crate::manifest::{ExportManifest, FORMAT_VERSION, Manifest};
use crate::render::Tables;
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
    tables: Tables,
    rows: BTreeMap<ExportKind, Mapped>,
    device_groups: Mapped,
    software_keys: FragTable,
    finding_meta: FragTable,
    by_finding: Option<crate::by_finding::ByFinding>,
    av_records: OnceLock<Vec<DeviceAvInfo>>,
    summary: OnceLock<Option<crate::Summary>>,
    empty: ExportManifest,
    /// Set while the snapshot is being fetched from object storage piece by piece.
    lazy: Option<std::sync::Arc<crate::lazy::LazyDir>>,
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
                if map.len() as u64 != want {
                    return Err(OpenError::Manifest {
                        path: manifest_path,
                        reason: format!(
                            "{} rows file has {} bytes, expected {want}",
                            kind.file_stem(),
                            map.len()
                        ),
                    });
                }
                rows.insert(kind, map);
            }
        }
        let vulnerability_rows = manifest
            .exports
            .get(&ExportKind::Vulnerabilities)
            .map_or(0, |e| e.rows);
        let by_finding =
            crate::by_finding::ByFinding::open(dir, vulnerability_rows).map_err(|reason| {
                OpenError::Manifest {
                    path: manifest_path.clone(),
                    reason,
                }
            })?;
        Ok(Snapshot {
            dir: dir.to_owned(),
            by_finding,
            tables: Tables::open(dir)?,
            rows,
            device_groups: Mapped::open(&dir.join("devices.rows"))?,
            software_keys: FragTable::open(dir, "software_keys")?,
            finding_meta: FragTable::open(dir, "finding_meta")?,
            manifest,
            av_records: OnceLock::new(),
            summary: OnceLock::new(),
            empty: ExportManifest::default(),
            lazy: crate::lazy::dir_of(dir),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The whole file `name` of the snapshot (fetched first if it is still arriving
    /// from object storage); `None` if it cannot be read.
    pub fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        let path = self.dir.join(name);
        if self.lazy.is_some() {
            crate::lazy::ensure_whole(&path);
        }
        std::fs::read(path).ok()
    }

    /// Whether every byte of the snapshot is on local disk (always, unless it is still
    /// arriving from object storage).
    pub fn is_complete(&self) -> bool {
        self.lazy.as_ref().is_none_or(|l| l.is_complete())
    }

    /// Makes every byte that rendering `rows` of `kind` reads present, fetching what is
    /// missing in a few parallel rounds (a snapshot still arriving from object storage;
    /// a no-op otherwise). An error means the page cannot be served now.
    pub fn prefetch_rows(
        &self,
        kind: ExportKind,
        rows: std::ops::Range<u64>,
    ) -> Result<(), String> {
        match &self.lazy {
            Some(lazy) if !lazy.is_complete() => crate::lazy::prefetch(|| {
                let mut out = Vec::new();
                for row in rows.clone() {
                    out.clear();
                    self.render(kind, row, &mut out);
                }
            }),
            _ => Ok(()),
        }
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

    /// Starts reading `kind`'s rows into the page cache ([`Mapped::read_ahead`]).
    pub fn read_rows_ahead(&self, kind: ExportKind) {
        if let Some(rows) = self.rows.get(&kind) {
            rows.read_ahead();
        }
    }

    /// Appends the JSON record of `row` of `kind` to `out`. Rows past the end render nothing.
    pub fn render(&self, kind: ExportKind, row: u64, out: &mut Vec<u8>) {
        let size = kind.row_size();
        let r: &[u8] = match self.rows.get(&kind) {
            Some(m) => {
                let at = row as usize * size;
                match m.range(at, size) {
                    r if r.len() == size => r,
                    _ => return,
                }
            }
            None => &[],
        };
        self.tables.render(kind, r, row, out);
    }

    pub fn device_count(&self) -> u32 {
        (self.device_groups.len() / 4) as u32
    }
    /// The 40-hex id of device `d`.
    pub fn device_id(&self, d: u32) -> &[u8] {
        self.tables.device(d, slot::ID)
    }
    pub fn device_group(&self, d: u32) -> u32 {
        read_u32(self.device_groups.range(d as usize * 4, 4), 0)
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
        read_u32(self.tables.finding_software.range(f as usize * 4, 4), 0)
    }
    pub fn finding_meta(&self, f: u32) -> Option<FindingMeta> {
        serde_json::from_slice(self.finding_meta.get(f as usize)).ok()
    }
    /// The CVE id of finding `f` (None for an end-of-support finding), without decoding JSON.
    pub fn finding_cve(&self, f: u32) -> Option<&str> {
        let raw = self.tables.finding(f, slot::FINDING_CVE);
        if raw.is_empty() {
            None
        } else {
            std::str::from_utf8(raw).ok()
        }
    }
    pub fn paths_fragment(&self, p: u32) -> &[u8] {
        self.tables.paths.get(p as usize)
    }
    /// Row `i` of the vulnerability export.
    pub fn vuln_row(&self, i: u64) -> Option<VulnRow> {
        let at = usize::try_from(i).ok()?.checked_mul(WIDE_ROW)?;
        let r = self
            .rows
            .get(&ExportKind::Vulnerabilities)?
            .range(at, WIDE_ROW);
        (r.len() == WIDE_ROW).then(|| VulnRow::decode(r))
    }
    /// The vulnerability rows of finding `f`, ascending (so in device order), from the
    /// index written at publish; `None` for a snapshot published before the index, whose
    /// readers scan [`Snapshot::vuln_row`] instead.
    pub fn vuln_rows_of_finding(&self, f: u32) -> Option<impl Iterator<Item = u64> + '_> {
        self.by_finding.as_ref().map(|index| index.rows(f))
    }

    /// How many vulnerability rows finding `f` has (from the index, without reading
    /// them); `None` without the index.
    pub fn vuln_row_count_of_finding(&self, f: u32) -> Option<u64> {
        self.by_finding.as_ref().map(|index| index.count(f))
    }

    /// The vulnerability rows of all of `findings`, ascending (so device by device, and
    /// each device's rows together), merged from the index's lists; `None` without the
    /// index.
    pub fn vuln_rows_of_findings<'s>(
        &'s self,
        findings: impl IntoIterator<Item = u32>,
    ) -> Option<impl Iterator<Item = u64> + 's> {
        let index = self.by_finding.as_ref()?;
        Some(crate::by_finding::MergedRows::new(
            findings.into_iter().map(|f| index.rows(f)).collect(),
        ))
    }

    /// The vulnerability rows of device `d` (rows are ordered by device).
    pub fn vuln_rows_of(&self, d: u32) -> std::ops::Range<u64> {
        self.rows_of(ExportKind::Vulnerabilities, d)
    }

    /// The rows of `kind` that belong to device `d` (every export's rows are ordered by
    /// device, and each row starts with its device number; device-level exports have
    /// row `d`).
    pub fn rows_of(&self, kind: ExportKind, d: u32) -> std::ops::Range<u64> {
        let size = kind.row_size();
        let Some(bytes) = self
            .rows
            .get(&kind)
            .map(|m| m.bytes())
            .filter(|_| size >= 4)
        else {
            let d = u64::from(d);
            return if d < self.rows(kind) { d..d + 1 } else { d..d };
        };
        let n = (bytes.len() / size) as u64;
        let device_at = |i: u64| read_u32(bytes, i as usize * size);
        let first_at_least = |target: u32| {
            let (mut lo, mut hi) = (0u64, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if device_at(mid) < target {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        first_at_least(d)..first_at_least(d.saturating_add(1))
    }

    /// `{"deviceId":..,"rbacGroupName":..,"deviceName":..,"osPlatform":..,` of device `d`
    /// (for searching by name or id without decoding records).
    pub fn device_head(&self, d: u32) -> &[u8] {
        self.tables.device(d, slot::INVENTORY_HEAD)
    }

    /// The device number of the device with id `id` (devices are ordered by group, then
    /// id: a binary search within each group's range).
    pub fn find_device(&self, id: &str) -> Option<u32> {
        let id = id.as_bytes();
        for part in &self.export(ExportKind::DeviceAv).parts {
            let (mut lo, mut hi) = (part.start_row, part.start_row + part.rows);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match self.device_id(mid as u32).cmp(id) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => return Some(mid as u32),
                }
            }
        }
        None
    }

    /// The summary tables written at publish (`summary.json`), read once per snapshot;
    /// `None` for a snapshot published before summaries existed.
    pub fn summary(&self) -> Option<&crate::Summary> {
        self.summary
            .get_or_init(|| {
                let text = self.read_file(crate::summary::SUMMARY_FILE)?;
                serde_json::from_slice(&text).ok()
            })
            .as_ref()
    }

    /// The JSON of deviceavinfo record `d` (one per device, in device order).
    pub fn device_av_json(&self, d: u32) -> &[u8] {
        self.tables.deviceav.get(d as usize)
    }

    /// Every deviceavinfo record, decoded once per snapshot on first use (for `$filter`).
    pub fn av_records(&self) -> &[DeviceAvInfo] {
        self.av_records.get_or_init(|| {
            (0..self.tables.deviceav.len())
                .filter_map(|i| serde_json::from_slice(self.tables.deviceav.get(i)).ok())
                .collect()
        })
    }
}
