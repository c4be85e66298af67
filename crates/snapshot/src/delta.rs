//! The delta export: what changed between two consecutive snapshots.
//!
//! Both snapshots list their vulnerability rows in the same total order — (RBAC group,
//! device id, vendor\0name\0version, CVE) — so the diff is one merge over the two row
//! files. Keys are compared as integers: every (group, device id) pair, software key and
//! CVE id of either snapshot gets a rank in the sorted union, and a row's key packs
//! (device rank, software rank, CVE rank) into a `u128`. Devices are ranked by one
//! linear merge, as both snapshots list them in order.
//!
//! A key only in the new snapshot is `New`, only in the old one `Fixed`, in both with a
//! changed CVSS score, exploitability, severity, install paths or recommended update
//! `Updated`. A version upgrade changes the software key and a group move changes the
//! group, so both come out as a `Fixed` + `New` pair, as MDE reports them.
//!
//! The change log stores complete delta records (the vulnerability record plus
//! `status` and `eventTimestamp`), so it stays readable after the snapshots it came from
//! are removed, with its own retention period.

use crate::ExportKind;
use crate::build::BuildError;
use crate::format::{FragTable, FragWriter, Mapped, RowWriter, read_u32, sync_dir};
use crate::layout::{FindingMeta, VulnRow};
use crate::reader::Snapshot;
use crate::render;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounts {
    pub new: u64,
    pub fixed: u64,
    pub updated: u64,
}

impl ChangeCounts {
    pub fn total(&self) -> u64 {
        self.new + self.fixed + self.updated
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeLogMeta {
    pub seq: u64,
    pub time_path: String,
    pub generated_at: DateTime<Utc>,
    pub previous_time_path: String,
    pub counts: ChangeCounts,
    pub seconds: f64,
}

/// A change log on disk: `changes.frag/.fidx` (one delta record each) and
/// `changes.rows` (the record's RBAC group id, for scoping).
pub struct ChangeLog {
    pub meta: ChangeLogMeta,
    dir: PathBuf,
    records: FragTable,
    groups: Mapped,
}

impl std::fmt::Debug for ChangeLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeLog")
            .field("seq", &self.meta.seq)
            .field("time_path", &self.meta.time_path)
            .finish()
    }
}

impl ChangeLog {
    pub fn open(dir: &Path) -> Result<ChangeLog, crate::OpenError> {
        let meta_path = dir.join("meta.json");
        let text = std::fs::read(&meta_path).map_err(|source| crate::format::FormatError {
            path: meta_path.clone(),
            source,
        })?;
        let meta: ChangeLogMeta =
            serde_json::from_slice(&text).map_err(|e| crate::OpenError::Manifest {
                path: meta_path,
                reason: e.to_string(),
            })?;
        Ok(ChangeLog {
            meta,
            dir: dir.to_owned(),
            records: FragTable::open(dir, "changes")?,
            groups: Mapped::open(&dir.join("changes.rows"))?,
        })
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn len(&self) -> u64 {
        self.records.len() as u64
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn group(&self, i: u64) -> u32 {
        read_u32(self.groups.bytes(), i as usize * 4)
    }
    /// Appends delta record `i` (complete JSON object).
    pub fn render(&self, i: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(self.records.get(i as usize));
    }
}

/// Sorted union of two key sets → the rank of each side's keys.
fn ranks<'a, T: Ord + Copy + 'a>(a: &[T], b: &[T]) -> (Vec<u32>, Vec<u32>) {
    if a.is_sorted_by(|x, y| x < y) && b.is_sorted_by(|x, y| x < y) {
        return merged_ranks(a, b);
    }
    let mut all: Vec<T> = a.iter().chain(b.iter()).copied().collect();
    all.sort_unstable();
    all.dedup();
    let rank = |k: &T| all.binary_search(k).map_or(0, |i| i as u32);
    (a.iter().map(rank).collect(), b.iter().map(rank).collect())
}

/// [`ranks`] of two strictly ascending key lists, by one merge: linear, where sorting
/// the union costs a logarithm more per key (a snapshot's devices are always in
/// (group, device id) order, so at a million devices this is the diff's common case).
fn merged_ranks<T: Ord>(a: &[T], b: &[T]) -> (Vec<u32>, Vec<u32>) {
    let (mut ra, mut rb) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    let (mut i, mut j, mut rank) = (0, 0, 0u32);
    while i < a.len() || j < b.len() {
        let order = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        if order.is_le() {
            ra.push(rank);
            i += 1;
        }
        if order.is_ge() {
            rb.push(rank);
            j += 1;
        }
        rank += 1;
    }
    (ra, rb)
}

struct Side<'a> {
    snapshot: &'a Snapshot,
    device: Vec<u32>,         // rank of (group, device id)
    finding: Vec<(u32, u32)>, // (software rank, CVE rank)
    meta: Vec<Option<FindingMeta>>,
}

impl Side<'_> {
    /// Row `i` and its key in the order both sides share; `None` past the end or for an
    /// unreadable row.
    fn keyed_row(&self, i: u64) -> Option<(u128, VulnRow)> {
        let r = self.snapshot.vuln_row(i)?;
        let device = self.device.get(r.device as usize).copied()?;
        let (sw, cve) = self.finding.get(r.finding as usize).copied()?;
        let key = (u128::from(device) << 64) | (u128::from(sw) << 32) | u128::from(cve);
        Some((key, r))
    }
}

fn sides<'a>(old: &'a Snapshot, new: &'a Snapshot) -> (Side<'a>, Side<'a>) {
    let devices = |s: &'a Snapshot| {
        (0..s.device_count())
            .map(|d| (s.device_group(d), s.device_id(d)))
            .collect::<Vec<(u32, &[u8])>>()
    };
    let (old_dev, new_dev) = ranks(&devices(old), &devices(new));
    let sw_keys = |s: &'a Snapshot| {
        (0..s.software_count() as u32)
            .map(|i| s.software_key(i))
            .collect::<Vec<&[u8]>>()
    };
    let (old_sw, new_sw) = ranks(&sw_keys(old), &sw_keys(new));
    let cves = |s: &'a Snapshot| {
        (0..s.finding_count() as u32)
            .map(|f| s.finding_cve(f))
            .collect::<Vec<Option<&str>>>()
    };
    let (old_cve, new_cve) = ranks(&cves(old), &cves(new));
    let side = |s: &'a Snapshot, dev: Vec<u32>, sw: Vec<u32>, cve: Vec<u32>| Side {
        snapshot: s,
        device: dev,
        finding: (0..s.finding_count() as u32)
            .map(|f| {
                (
                    sw.get(s.finding_software(f) as usize).copied().unwrap_or(0),
                    cve[f as usize],
                )
            })
            .collect(),
        meta: (0..s.finding_count() as u32)
            .map(|f| s.finding_meta(f))
            .collect(),
    };
    (
        side(old, old_dev, old_sw, old_cve),
        side(new, new_dev, new_sw, new_cve),
    )
}

/// What the merge has compared already. A row's finding metadata against its
/// counterpart's is the same for every device, so it is compared once per pair of
/// findings; a device's rows for one software version share one paths fragment, so
/// consecutive matched rows mostly repeat the last pair of fragments compared.
struct Compared {
    /// By old finding: (the new finding it matched, whether the metadata changed).
    meta: Vec<Option<(u32, bool)>>,
    /// The last pair of paths fragments compared (old, new) and whether they differ.
    paths: Option<(u32, u32, bool)>,
}

impl Compared {
    fn new(old: &Side) -> Compared {
        Compared {
            meta: vec![None; old.meta.len()],
            paths: None,
        }
    }

    /// Whether matched rows `a` (of `old`) and `b` (of `new`) differ in what a change
    /// record reports.
    fn updated(&mut self, old: &Side, a: &VulnRow, new: &Side, b: &VulnRow) -> bool {
        let changed_meta = match self.meta.get(a.finding as usize).copied().flatten() {
            Some((f, changed)) if f == b.finding => changed,
            _ => {
                let changed = meta_changed(old, a.finding, new, b.finding);
                if let Some(slot) = self.meta.get_mut(a.finding as usize) {
                    *slot = Some((b.finding, changed));
                }
                changed
            }
        };
        if changed_meta {
            return true;
        }
        match self.paths {
            Some((pa, pb, differ)) if (pa, pb) == (a.paths, b.paths) => differ,
            _ => {
                let differ =
                    old.snapshot.paths_fragment(a.paths) != new.snapshot.paths_fragment(b.paths);
                self.paths = Some((a.paths, b.paths, differ));
                differ
            }
        }
    }
}

fn meta_changed(old: &Side, fa: u32, new: &Side, fb: u32) -> bool {
    match (old.meta.get(fa as usize), new.meta.get(fb as usize)) {
        (Some(Some(x)), Some(Some(y))) => {
            x.cvss_score != y.cvss_score
                || x.exploitability != y.exploitability
                || x.severity != y.severity
                || x.recommended_update != y.recommended_update
        }
        _ => true,
    }
}

#[derive(Clone, Copy)]
enum Status {
    New,
    Fixed,
    Updated,
}

struct Writer {
    records: FragWriter,
    groups: RowWriter,
    suffix: [Vec<u8>; 3],
    buf: Vec<u8>,
}

impl Writer {
    fn push(&mut self, snapshot: &Snapshot, row: u64, status: Status) -> Result<(), BuildError> {
        self.buf.clear();
        snapshot.render(ExportKind::Vulnerabilities, row, &mut self.buf);
        if !render::delta::close(&mut self.buf, &self.suffix[status as usize]) {
            return Err(BuildError::TooLarge("corrupt vulnerability row"));
        }
        self.records.push(&self.buf)?;
        let group = snapshot
            .vuln_row(row)
            .map_or(0, |r| snapshot.device_group(r.device));
        self.groups.push(&group.to_le_bytes())?;
        Ok(())
    }
}

/// Diffs `old` → `new` and writes the change log into `dir` (created, must not exist).
pub fn write_change_log(
    old: &Snapshot,
    new: &Snapshot,
    dir: &Path,
    seq: u64,
) -> Result<ChangeLogMeta, BuildError> {
    let started = std::time::Instant::now();
    let io = |source| BuildError::Io {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let event = model::timefmt::iso_z(&new.manifest.generated_at);
    let suffix = |status: &str| render::delta::suffix(status, &event);
    let mut w = Writer {
        records: FragWriter::create(dir, "changes")?,
        groups: RowWriter::create(&dir.join("changes.rows"))?,
        suffix: [suffix("New"), suffix("Fixed"), suffix("Updated")],
        buf: Vec::with_capacity(2048),
    };
    // Both row files are read front to back; the older one may have left the page cache
    // (at a million devices each is ~2 GB), so the disk starts on them now.
    old.read_rows_ahead(ExportKind::Vulnerabilities);
    new.read_rows_ahead(ExportKind::Vulnerabilities);
    let (a, b) = sides(old, new);
    let ranked = started.elapsed();
    let (n_old, n_new) = (
        old.rows(ExportKind::Vulnerabilities),
        new.rows(ExportKind::Vulnerabilities),
    );
    let mut counts = ChangeCounts::default();
    let mut compared = Compared::new(&a);
    let (mut i, mut j) = (0u64, 0u64);
    while i < n_old || j < n_new {
        let (ka, kb) = (
            if i < n_old { a.keyed_row(i) } else { None },
            if j < n_new { b.keyed_row(j) } else { None },
        );
        match (ka, kb) {
            (Some((x, ra)), Some((y, rb))) if x == y => {
                if compared.updated(&a, &ra, &b, &rb) {
                    w.push(new, j, Status::Updated)?;
                    counts.updated += 1;
                }
                i += 1;
                j += 1;
            }
            (Some((x, _)), Some((y, _))) if x < y => {
                w.push(old, i, Status::Fixed)?;
                counts.fixed += 1;
                i += 1;
            }
            (Some(_), None) => {
                w.push(old, i, Status::Fixed)?;
                counts.fixed += 1;
                i += 1;
            }
            (_, Some(_)) => {
                w.push(new, j, Status::New)?;
                counts.new += 1;
                j += 1;
            }
            (None, None) => return Err(BuildError::TooLarge("unreadable vulnerability row")),
        }
    }
    w.records.finish()?;
    w.groups.finish()?;
    tracing::debug!(
        rank_seconds = ranked.as_secs_f64(),
        merge_seconds = (started.elapsed() - ranked).as_secs_f64(),
        rows = n_old + n_new,
        "diffed two snapshots"
    );
    let meta = ChangeLogMeta {
        seq,
        time_path: new.time_path().to_owned(),
        generated_at: new.manifest.generated_at,
        previous_time_path: old.time_path().to_owned(),
        counts,
        seconds: started.elapsed().as_secs_f64(),
    };
    let meta_path = dir.join("meta.json");
    std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta)?).map_err(io)?;
    std::fs::File::open(&meta_path)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    sync_dir(dir)?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The merge gives exactly the ranks of sorting the union, for lists that overlap,
    /// interleave, or leave one side empty.
    #[test]
    fn merged_ranks_are_the_sorted_unions_ranks() {
        let sorted_ranks = |a: &[(u32, u32)], b: &[(u32, u32)]| {
            let mut all: Vec<_> = a.iter().chain(b).copied().collect();
            all.sort_unstable();
            all.dedup();
            let rank = |k: &(u32, u32)| all.binary_search(k).unwrap() as u32;
            (
                a.iter().map(rank).collect::<Vec<_>>(),
                b.iter().map(rank).collect::<Vec<_>>(),
            )
        };
        type Keys<'a> = &'a [(u32, u32)];
        let cases: [(Keys, Keys); 5] = [
            (&[(0, 1), (0, 3), (1, 0)], &[(0, 2), (0, 3), (2, 9)]),
            (&[], &[(0, 1), (5, 5)]),
            (&[(0, 1), (5, 5)], &[]),
            (&[(1, 1), (1, 2)], &[(0, 7), (0, 8)]),
            (&[(0, 1), (0, 2), (0, 3)], &[(0, 1), (0, 2), (0, 3)]),
        ];
        for (a, b) in cases {
            assert_eq!(merged_ranks(a, b), sorted_ranks(a, b), "{a:?} {b:?}");
            assert_eq!(ranks(a, b), sorted_ranks(a, b), "{a:?} {b:?}");
        }
        // Unsorted input takes the sorting path and still ranks by value.
        let (a, b) = ([(3, 0), (1, 0)], [(2, 0)]);
        assert_eq!(ranks(&a, &b), (vec![2, 0], vec![1]));
    }
}
