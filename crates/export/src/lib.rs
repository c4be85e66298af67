//! Via-files exports: partitioned gzip NDJSON written at publish, stored behind signed,
//! expiring URLs on a blob backend (local filesystem, Azure Blob, S3).
//!
//! # What is written
//!
//! [`write_exports`] renders, for each of the five file exports ([`FILE_EXPORTS`]), one
//! gzip file per part of the snapshot's part plan (`snapshot.export(kind).parts`, split
//! by RBAC group and size when the snapshot was built):
//!
//! ```text
//! <container>/<YYYY-MM-DD>/<HHMM>/<ExportName>/json/OrgId=<org>/_RbacGroupId=<n>/part-<NNNNN>-<uuid>.c000.json.gz
//! ```
//!
//! `<YYYY-MM-DD>/<HHMM>` is the snapshot's time path, `<ExportName>` one of `ScaExport`,
//! `SoftwareInventory`, `NonCpeSoftwareInventory`, `VaExport`, `InfoGatheringExport`,
//! `<NNNNN>` the part's index in the export's part plan (the `ExportFileIndex` of the
//! JSON pages' `$skiptoken`), and `<uuid>` is derived from (org, time path, export) so a
//! rewrite of the same snapshot produces the same names. Each line is exactly
//! [`snapshot::Snapshot::render`] of one row followed by `\n` (UTF-8, no BOM), rows in
//! the part's order, so the files hold exactly the records the JSON pages return, by
//! construction: both views read the same row files through the same renderer.
//!
//! A file is exactly one gzip member, as the original service's Spark files are: many
//! readers (Python's `zlib.decompressobj(wbits=31)` as a stream, .NET Framework's
//! `GZipStream`, streaming ETL readers) stop after the first member without an error.
//! It is still compressed on all cores, the way pigz does it: blocks are cut at row
//! boundaries every [`ExportOptions::member_bytes`] of uncompressed data, rendered and
//! deflated in parallel, each primed with the 32 KiB preceding it as dictionary and
//! sync-flushed, then joined in order into one deflate stream with the combined CRC-32
//! and length in the one trailer (see `gzip`); a small per-file reorder window writes
//! blocks in order.
//!
//! The writer returns an [`ExportIndex`] listing each export's files in part order, with
//! their group, rows, sizes and SHA-256. The caller stores it in the snapshot directory
//! (`exports.json`) before the snapshot's commit point: the index is what the via-files
//! endpoints sign URLs for, so files without a committed index are never handed out.
//!
//! # Backends
//!
//! [`BlobBackend`] publishes a staging directory and signs URLs. [`BackendConfig`] selects
//! one: `Local` (default: files under a root directory, URLs signed with an HMAC key and
//! served by Posture itself through [`local::download_router`]), `Azure` (native service
//! SAS URLs) or `S3` (native SigV4 presigned URLs), the last two built on `object_store`.
//!
//! # Local signed URLs and their checks
//!
//! `<base_url>/<container>/<path>?sv=<ver>&st=<start>&se=<expiry>&sr=b&sp=r&sig=<sig>` where
//! `sig` is base64 HMAC-SHA256, under a 256-bit key kept in a 0600 file, of
//! `sv \n sp \n st \n se \n sr \n /<container>/<path>`. The download route refuses, with
//! `403 Forbidden` in the API's error body and one generic message whatever the cause,
//! before touching the filesystem: a path that is not plain (any `%`, `\`, NUL or control
//! byte, an empty, `.` or `..` segment, a leading `/`, anything outside
//! `[A-Za-z0-9._=-/]`, which covers every encoded and double-encoded form of `..`),
//! missing or repeated SAS parameters, an unknown version, resource or permission, a
//! signature that does not verify (compared in constant time), a start in the future or
//! an expiry in the past. Only then is the file opened, and its canonical path must still
//! lie under the root. GET and HEAD support single `Range` requests (206, 416).

pub mod backend;
mod gzip;
pub mod hook;
mod index;
pub mod local;
mod sas;
mod writer;

pub use backend::{BackendConfig, BlobBackend, open_backend};
pub use hook::{ExportHook, index_of};
pub use index::{ExportFile, ExportFiles, ExportIndex, INDEX_FILE, INDEX_FORMAT};
pub use sas::{DEFAULT_SAS_VALID_HOURS, MAX_SAS_VALID_HOURS, SasHoursError, parse_sas_valid_hours};
pub use writer::{ExportOptions, compress_members, publish_exports, write_exports, write_kinds};

use snapshot::ExportKind;
use std::path::PathBuf;

/// The exports published as files, in the order they are written.
pub const FILE_EXPORTS: [ExportKind; 5] = [
    ExportKind::SecureConfiguration,
    ExportKind::SoftwareInventory,
    ExportKind::NonCpeSoftware,
    ExportKind::Vulnerabilities,
    ExportKind::InfoGathering,
];

/// The default container (the first path segment of every file URL), as in MDE's URLs.
pub const DEFAULT_CONTAINER: &str = "tvm-export";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid export option: {0}")]
    Option(String),
    #[error("invalid backend configuration: {0}")]
    Config(String),
    #[error("{backend} backend: {source}")]
    Store {
        backend: &'static str,
        source: object_store::Error,
    },
    #[error("{kind:?} is not a file export")]
    NotAFileExport { kind: ExportKind },
    #[error("{path}: invalid export index: {reason}")]
    Index { path: PathBuf, reason: String },
    #[error("export writer thread panicked")]
    Panicked,
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_owned(),
        source,
    }
}
