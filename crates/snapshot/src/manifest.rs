//! `manifest.json`: what a snapshot contains. Written last, before the directory is
//! renamed into place; a directory without one was never published.

use crate::ExportKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: u32,
    pub seq: u64,
    pub time_path: String,
    pub generated_at: DateTime<Utc>,
    pub kb_version: u64,
    pub catalog_version: String,
    pub devices: u64,
    pub distinct_software: u64,
    pub findings: u64,
    /// Groups present, by id (0 = Unassigned).
    pub groups: Vec<GroupEntry>,
    pub exports: BTreeMap<ExportKind, ExportManifest>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupEntry {
    pub id: u32,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportManifest {
    pub rows: u64,
    /// The export's files, in order: the JSON pages walk them in this order, and a
    /// `$skiptoken` is (index into this list, line within the part).
    pub parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    pub group_id: u32,
    pub start_row: u64,
    pub rows: u64,
}

impl ExportManifest {
    /// (part index, line) of global row `row`; `row == rows` maps past the last part.
    pub fn locate(&self, row: u64) -> (usize, u64) {
        let i = self.parts.partition_point(|p| p.start_row + p.rows <= row);
        match self.parts.get(i) {
            Some(p) => (i, row - p.start_row),
            None => (self.parts.len(), 0),
        }
    }

    /// Global row of (part index, line), if it names a row of this export or its end.
    pub fn position(&self, part: usize, line: u64) -> Option<u64> {
        match self.parts.get(part) {
            Some(p) if line <= p.rows => Some(p.start_row + line),
            None if part == self.parts.len() && line == 0 => Some(self.rows),
            _ => None,
        }
    }
}

/// Plans part files while rows are appended in (group, device) order.
#[derive(Debug)]
pub(crate) struct PartPlanner {
    max_rows: u64,
    manifest: ExportManifest,
}

impl PartPlanner {
    pub fn new(max_rows: u64) -> Self {
        PartPlanner {
            max_rows: max_rows.max(1),
            manifest: ExportManifest::default(),
        }
    }
    pub fn add_row(&mut self, group_id: u32) {
        let m = &mut self.manifest;
        match m.parts.last_mut() {
            Some(p) if p.group_id == group_id && p.rows < self.max_rows => p.rows += 1,
            _ => m.parts.push(Part {
                group_id,
                start_row: m.rows,
                rows: 1,
            }),
        }
        m.rows += 1;
    }
    pub fn finish(self) -> ExportManifest {
        self.manifest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_split_by_group_and_size_and_locate_round_trips() {
        let mut p = PartPlanner::new(3);
        for g in [0, 0, 0, 0, 5, 5, 9] {
            p.add_row(g);
        }
        let m = p.finish();
        let shape: Vec<(u32, u64, u64)> = m
            .parts
            .iter()
            .map(|p| (p.group_id, p.start_row, p.rows))
            .collect();
        assert_eq!(shape, [(0, 0, 3), (0, 3, 1), (5, 4, 2), (9, 6, 1)]);
        for row in 0..=m.rows {
            let (part, line) = m.locate(row);
            assert_eq!(m.position(part, line), Some(row));
        }
        assert_eq!(m.locate(7), (4, 0));
        assert_eq!(m.position(1, 2), None);
        assert_eq!(m.position(9, 0), None);
    }
}
