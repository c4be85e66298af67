//! Snapshots: the unit of truth for every read.
//!
//! [`publish_from_store`] (the one entry point every caller uses; a publishing leader
//! uses [`publish_from_store_as`], the same through its fenced store handle) loads the
//! knowledge base the store holds ([`load_knowledge_base`]) and hands it to
//! [`Snapshots::publish`], which assesses every device in the state store against the
//! knowledge base and writes an immutable, versioned snapshot directory; readers
//! switch to it atomically. A [`Snapshot`] answers "render row `i` of export `k`"
//! in O(1) seek plus the row's bytes, so every page costs O(page size) however
//! deep the walk is, and the JSON pages and export files are two views of the
//! same rows.
//!
//! Layout of a snapshot directory:
//! * `manifest.json` — counts, groups, and each export's part plan (written last);
//! * `<export>.rows` — fixed-width rows (vulnerabilities and inventory 16 bytes,
//!   configuration and non-CPE 8 bytes); device-level exports use one row per device;
//! * `devices`, `software`, `findings`, `paths`, `configurations`, `deviceav`,
//!   `infogathering` — fragment tables (`.frag` + `.fidx`) of JSON rendered once;
//! * `findings.rows` — the software of each finding; `evidence.ndjson` — why each
//!   finding matched (feed, record, range);
//! * `summary.json` — per-group summary tables for the console ([`summary`]).

mod build;
mod by_finding;
pub mod delta;
mod device_search;
pub mod disk_io;
mod first_seen;
pub mod format;
mod kinds;
mod layout;
pub mod lazy;
pub mod manifest;
pub mod publish;
mod reader;
mod registry;
pub mod remote;
mod render;
pub mod resident;
pub mod summary;

pub use build::{
    BuildError, BuildOptions, BuildRequest, BuildStats, PublishBuildError, build_snapshot,
};
pub use delta::{ChangeCounts, ChangeLog, ChangeLogMeta};
pub use device_search::{DeviceSearch, Hits, Matches};
pub use disk_io::DiskIo;
pub use kinds::ExportKind;
pub use layout::{FindingMeta, VulnRow};
pub use manifest::{ExportManifest, Manifest, Part};
pub use publish::{
    KnowledgeBaseError, PublishError, load_knowledge_base, publish_from_store,
    publish_from_store_as,
};
pub use reader::{OpenError, Snapshot};
pub use registry::{
    DEFAULT_CHANGE_RETENTION_DAYS, HookError, PublishHook, PublishReport, SnapshotError, Snapshots,
    remove_unpublished, tree_bytes,
};
pub use remote::{ObjectSnapshots, RemoteError};
pub use render::{RenderError, write_seen_secs};
pub use summary::Summary;

/// Progress of a publish, for CLI progress bars and logs.
pub trait Progress: Sync {
    fn stage(&self, _stage: &str) {}
    fn devices(&self, _done: u64) {}
}

/// A [`Progress`] that reports nothing.
pub struct Quiet;
impl Progress for Quiet {}
