//! `exports.json`: the files a snapshot's exports were written to.

use crate::{ExportError, io_err};
use serde::{Deserialize, Serialize};
use snapshot::ExportKind;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Name of the index file in a snapshot directory.
pub const INDEX_FILE: &str = "exports.json";
/// Version of the index format.
pub const INDEX_FORMAT: u32 = 1;

/// Every file of every file export of one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportIndex {
    pub format: u32,
    /// First path segment of every file (the blob container locally).
    pub container: String,
    pub org_id: String,
    /// `YYYY-MM-DD/HHMM`: the prefix of every file path (below the container).
    pub prefix: String,
    /// The snapshot's time path (`YYYY-MM-DD/HHMM/`).
    pub time_path: String,
    /// gzip level the files were compressed at.
    pub level: u32,
    pub exports: BTreeMap<ExportKind, ExportFiles>,
}

/// The files of one export, in part order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportFiles {
    /// `ScaExport`, `VaExport`, ...
    pub name: String,
    pub rows: u64,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    pub files: Vec<ExportFile>,
}

/// One part file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportFile {
    /// Path below the container: `<prefix>/<ExportName>/json/OrgId=../_RbacGroupId=../part-...json.gz`.
    pub path: String,
    pub group_id: u32,
    /// First row of the part in the export (as in the snapshot's part plan).
    pub start_row: u64,
    pub rows: u64,
    /// Size of the file (compressed).
    pub bytes: u64,
    pub uncompressed_bytes: u64,
    /// Number of blocks compressed in parallel and joined into the file's one gzip
    /// member (`members` in indexes written before files became single-member).
    #[serde(alias = "members")]
    pub blocks: u32,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
}

impl ExportIndex {
    /// The files of `kind` (empty for an export without rows or not a file export).
    pub fn files(&self, kind: ExportKind) -> &[ExportFile] {
        self.exports.get(&kind).map_or(&[], |e| e.files.as_slice())
    }

    /// Every file of every export.
    pub fn all_files(&self) -> impl Iterator<Item = &ExportFile> {
        self.exports.values().flat_map(|e| e.files.iter())
    }

    /// Writes the index to `path` and fsyncs it (call before the snapshot's commit point).
    pub fn write(&self, path: &Path) -> Result<(), ExportError> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| ExportError::Index {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let mut f = std::fs::File::create(path).map_err(io_err(path))?;
        f.write_all(&text).map_err(io_err(path))?;
        f.sync_all().map_err(io_err(path))
    }

    /// Reads an index written by [`ExportIndex::write`].
    pub fn read(path: &Path) -> Result<ExportIndex, ExportError> {
        let text = std::fs::read(path).map_err(io_err(path))?;
        let index: ExportIndex = serde_json::from_slice(&text).map_err(|e| ExportError::Index {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if index.format != INDEX_FORMAT {
            return Err(ExportError::Index {
                path: path.to_owned(),
                reason: format!("format {} is not {INDEX_FORMAT}", index.format),
            });
        }
        Ok(index)
    }
}
