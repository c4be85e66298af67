//! The vulnerability rows of each finding, `vulnerabilities.by_finding`: written once at
//! publish from the finished rows file, so a page about one CVE (the console's) reads
//! that CVE's rows instead of every row of the snapshot.
//!
//! Layout (little-endian): `u32` finding count `n`; `n + 1` `u64` offsets into the row
//! list (finding `f`'s rows are `list[off[f]..off[f+1]]`); then the `u32` row indexes,
//! ascending within each finding, so in device order. Snapshots published before the
//! index have no file; readers then scan (see [`crate::Snapshot::vuln_rows_of_finding`]).

use crate::format::{FormatError, Mapped, read_u32};
use crate::layout::WIDE_ROW;
use std::fs::OpenOptions;
use std::path::Path;

pub(crate) const FILE: &str = "vulnerabilities.by_finding";

fn io(path: &Path) -> impl Fn(std::io::Error) -> FormatError + '_ {
    move |source| FormatError {
        path: path.to_owned(),
        source,
    }
}

/// Writes the index of the rows file `rows` (of [`WIDE_ROW`]-byte vulnerability rows)
/// into `dir`, and fsyncs it. A snapshot past `u32::MAX` rows gets none (readers scan).
pub(crate) fn write(dir: &Path, rows: &Path) -> Result<(), FormatError> {
    let rows_map = Mapped::open(rows)?;
    let bytes = rows_map.bytes();
    let n_rows = bytes.len() / WIDE_ROW;
    if u32::try_from(n_rows).is_err() {
        return Ok(());
    }
    let finding_of = |i: usize| read_u32(bytes, i * WIDE_ROW + 4) as usize;
    let mut counts: Vec<u64> = Vec::new();
    for i in 0..n_rows {
        let f = finding_of(i);
        if f >= counts.len() {
            counts.resize(f + 1, 0);
        }
        counts[f] += 1;
    }
    let findings = counts.len();
    let offsets_at = 4;
    let list_at = offsets_at + (findings + 1) * 8;
    let path = dir.join(FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(io(&path))?;
    file.set_len((list_at + n_rows * 4) as u64)
        .map_err(io(&path))?;
    // SAFETY: the file was created above by this process in the snapshot's temporary
    // directory; nothing else maps or writes it until the snapshot is published.
    let mut out = unsafe { memmap2::MmapMut::map_mut(&file) }.map_err(io(&path))?;
    out[0..4].copy_from_slice(&(findings as u32).to_le_bytes());
    // Offsets as a prefix sum; `next` then walks each finding's slot forward.
    let mut next = Vec::with_capacity(findings);
    let mut at = 0u64;
    for (f, count) in counts.iter().enumerate() {
        out[offsets_at + f * 8..offsets_at + f * 8 + 8].copy_from_slice(&at.to_le_bytes());
        next.push(at);
        at += count;
    }
    out[offsets_at + findings * 8..list_at].copy_from_slice(&at.to_le_bytes());
    for i in 0..n_rows {
        let f = finding_of(i);
        let slot = list_at + next[f] as usize * 4;
        out[slot..slot + 4].copy_from_slice(&(i as u32).to_le_bytes());
        next[f] += 1;
    }
    out.flush().map_err(io(&path))?;
    file.sync_all().map_err(io(&path))
}

/// An opened index.
pub(crate) struct ByFinding(Mapped);

impl ByFinding {
    /// Opens `dir`'s index when there is one, checking its size against `rows`
    /// vulnerability rows.
    pub(crate) fn open(dir: &Path, rows: u64) -> Result<Option<ByFinding>, String> {
        let path = dir.join(FILE);
        if !path.exists() {
            return Ok(None);
        }
        let map = Mapped::open(&path).map_err(|e| e.to_string())?;
        let findings = read_u32(map.range(0, 4), 0) as u64;
        let want = 4 + (findings + 1) * 8 + rows * 4;
        if map.len() as u64 != want {
            return Err(format!(
                "{FILE} has {} bytes, expected {want} for {findings} findings and {rows} rows",
                map.len()
            ));
        }
        Ok(Some(ByFinding(map)))
    }

    /// Where finding `f`'s rows are in the row list (empty for a finding without rows).
    fn span(&self, f: u32) -> std::ops::Range<u64> {
        let bytes = self.0.bytes();
        let findings = read_u32(bytes, 0);
        let offset = |k: u32| {
            let at = 4 + k as usize * 8;
            bytes
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        if f < findings {
            offset(f)..offset(f + 1)
        } else {
            0..0
        }
    }

    /// The row indexes of finding `f`, ascending (none for a finding without rows).
    pub(crate) fn rows(&self, f: u32) -> impl Iterator<Item = u64> + '_ {
        let bytes = self.0.bytes();
        let list_at = 4 + (read_u32(bytes, 0) as usize + 1) * 8;
        self.span(f)
            .map(move |k| u64::from(read_u32(bytes, list_at + k as usize * 4)))
    }

    /// How many rows finding `f` has, without reading them.
    pub(crate) fn count(&self, f: u32) -> u64 {
        let span = self.span(f);
        span.end.saturating_sub(span.start)
    }
}

/// The rows of several findings in one ascending sequence (so device by device), merged
/// from their ascending lists: a reader that wants the first devices of a CVE stops
/// early instead of reading every row of it.
pub(crate) struct MergedRows<I> {
    lists: Vec<I>,
    /// The next row of each list not yet returned, smallest first.
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize)>>,
}

impl<I: Iterator<Item = u64>> MergedRows<I> {
    pub(crate) fn new(mut lists: Vec<I>) -> Self {
        let heads = lists
            .iter_mut()
            .enumerate()
            .filter_map(|(k, list)| list.next().map(|row| std::cmp::Reverse((row, k))))
            .collect();
        MergedRows { lists, heads }
    }
}

impl<I: Iterator<Item = u64>> Iterator for MergedRows<I> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let std::cmp::Reverse((row, k)) = self.heads.pop()?;
        if let Some(next) = self.lists.get_mut(k).and_then(Iterator::next) {
            self.heads.push(std::cmp::Reverse((next, k)));
        }
        Some(row)
    }
}

#[cfg(test)]
mod tests {
    use super::MergedRows;

    #[test]
    fn merged_rows_are_every_lists_rows_ascending() {
        let lists: Vec<Vec<u64>> = vec![vec![3, 9, 10], vec![], vec![0, 4, 11, 12], vec![5]];
        let merged: Vec<u64> =
            MergedRows::new(lists.iter().map(|l| l.iter().copied()).collect()).collect();
        let mut want: Vec<u64> = lists.concat();
        want.sort_unstable();
        assert_eq!(merged, want);
        assert_eq!(
            MergedRows::new(Vec::<std::vec::IntoIter<u64>>::new()).count(),
            0
        );
    }
}
