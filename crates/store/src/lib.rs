//! The state store: the current reported state of every device, the knowledge-base
//! records, and the registry of published snapshots.
//!
//! Everything goes through the [`StateStore`] trait. [`sqlite::SqliteStore`] is the
//! embedded default (WAL mode, one writer, concurrent readers);
//! [`postgres::PostgresStore`] keeps the same data in a PostgreSQL server (selected by a
//! `postgres://` URL, see [`StoreLocation`]). Both keep a device's state as the bytes of
//! [`state_codec`] and share the report-merging rules of [`apply`].
//!
//! Invariants enforced here:
//! * a batch of reports is applied in one transaction: all acknowledged or none;
//! * a report whose `sequence` is not above the stored one changes nothing
//!   (idempotent re-delivery);
//! * software first-seen times survive re-reports: a package keeps the time it was
//!   first reported until it disappears from the device;
//! * a device's state is laid out in one place, [`state_codec`] (every store keeps its
//!   bytes); a store opened on an earlier release's data migrates it first;
//! * a knowledge-base import is one transaction, and re-importing identical content
//!   changes nothing (not even the KB version);
//! * at most one process leads a role (the snapshot publisher) at a time, across
//!   machines sharing a PostgreSQL store ([`lease`]).

mod ahead;
pub use ahead::one_batch_ahead;
pub mod apply;
pub mod lease;
pub mod postgres;
pub mod sqlite;
pub mod state_codec;
pub mod state_view;

use chrono::{DateTime, Utc};
use model::DeviceReport;
use serde::{Deserialize, Serialize};

pub use crate::postgres::PostgresStore;
pub use lease::{Fenced, Leadership, PUBLISHER, RegistryChange};
pub use sqlite::SqliteStore;
pub use state_view::{DeviceView, SoftwareView};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("this store does not support {0}")]
    Unsupported(&'static str),
    /// A PostgreSQL statement or transaction failed (the server's message and SQLSTATE).
    #[error("PostgreSQL error: {}", pgclient::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The store URL cannot be used; `url` has its password replaced by `***`.
    #[error("invalid store URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    /// The server could not be reached or refused the connection; `url` is redacted.
    /// (The client's error is in the message, whole, so it is not also a `source`.)
    #[error("cannot connect to PostgreSQL at {url}: {}", pgclient::describe(.error))]
    Connect {
        url: String,
        error: ::postgres::Error,
    },
    /// The database was migrated by a newer release than this binary.
    #[error(
        "the PostgreSQL database is at schema version {found}, newer than this binary's {supported}: \
         run a posture release that knows version {found} (or a fresh database)"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    /// A leadership role that cannot name a lock.
    #[error("invalid leadership role {0:?}: use 1 to 64 letters, digits, '-' or '_'")]
    BadRole(String),
    /// A leader's change was refused because its lease was lost (its connection to the
    /// store broke): another process may lead now.
    #[error("this process no longer leads {role:?}: its lease on the state store was lost")]
    NotLeading { role: String },
}

impl StoreError {
    /// The store is busy with another writer even after waiting and retrying:
    /// transient, worth retrying later. SQLite `BUSY`/`LOCKED` (including
    /// `BUSY_SNAPSHOT`); PostgreSQL serialization failures, deadlocks, lock timeouts and
    /// too many connections.
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => sqlite::is_busy(e),
            StoreError::Postgres(e) | StoreError::Connect { error: e, .. } => {
                crate::postgres::is_busy(e)
            }
            _ => false,
        }
    }
}

/// What a scan's visitor may answer to stop the scan.
pub type VisitError = Box<dyn std::error::Error + Send + Sync>;

/// The visitor of [`StateStore::scan_state_bytes`]: one batch of stored state bytes.
pub type RawVisitor<'a> = dyn FnMut(Vec<Vec<u8>>) -> Result<(), ScanError> + 'a;

/// The visitor of [`StateStore::scan_devices`]: one batch of decoded states.
pub type DeviceVisitor<'a> = dyn FnMut(Vec<DeviceState>) -> Result<(), VisitError> + 'a;

/// The visitor of [`StateStore::scan_views`]: one batch of views, borrowing records that
/// live until the visitor returns.
pub type ViewVisitor<'a> = dyn for<'r> FnMut(Vec<DeviceView<'r>>) -> Result<(), VisitError> + 'a;

/// Every store's `scan_state_bytes`: `read` (the store's row scan, handing over one batch
/// of stored state bytes at a time) runs on its own thread one batch ahead, so fetching
/// the next rows overlaps decoding and visiting this batch. An error from `visit` stops
/// the read and is returned.
pub(crate) fn read_ahead<R>(read: R, visit: &mut RawVisitor<'_>) -> Result<(), ScanError>
where
    R: FnOnce(&mut dyn FnMut(Vec<Vec<u8>>) -> Result<(), ScanError>) -> Result<(), ScanError>
        + Send,
{
    one_batch_ahead(
        |hand_over| {
            read(&mut |raw| match hand_over(raw) {
                true => Ok(()),
                // The visitor stopped the scan (its error is returned).
                false => Err(ScanError::Visitor("scan stopped".into())),
            })
        },
        visit,
        || StoreError::Corrupt("the scan thread panicked".into()).into(),
    )
}

/// Where a process keeps its state: SQLite in a file (the default), or a PostgreSQL
/// database named by a `postgres://` / `postgresql://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl StoreLocation {
    /// The location named by `--store` (`None`: SQLite at `default_sqlite`). Accepts a
    /// `postgres://` or `postgresql://` URL, or `sqlite` for the default.
    pub fn parse(store: Option<&str>, default_sqlite: &std::path::Path) -> Result<Self> {
        match store.map(str::trim) {
            None | Some("") | Some("sqlite") => {
                Ok(StoreLocation::Sqlite(default_sqlite.to_owned()))
            }
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreLocation::Postgres(url.to_owned()))
            }
            Some(other) => Err(StoreError::BadUrl {
                url: crate::postgres::redact_url(other),
                reason: "expected a postgres://user@host:port/database URL, or `sqlite` for \
                         the data directory's state.db"
                    .into(),
            }),
        }
    }

    /// Opens (creating or migrating as needed) the store.
    pub fn open(&self) -> Result<std::sync::Arc<dyn StateStore>> {
        Ok(match self {
            StoreLocation::Sqlite(path) => std::sync::Arc::new(SqliteStore::open(path)?),
            StoreLocation::Postgres(url) => std::sync::Arc::new(PostgresStore::open(url)?),
        })
    }

    /// For messages: the path, or the URL with its password replaced by `***`.
    pub fn describe(&self) -> String {
        match self {
            StoreLocation::Sqlite(path) => path.display().to_string(),
            StoreLocation::Postgres(url) => crate::postgres::redact_url(url),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A device's current state: its latest accepted report plus what the store derives
/// across reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceState {
    pub report: DeviceReport,
    /// First time the device reported at all.
    pub first_seen: DateTime<Utc>,
    /// Parallel to `report.software`: when each entry was first reported.
    pub software_first_seen: Vec<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// What happened to one report of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ApplyOutcome {
    /// The device's state was replaced (or created).
    Applied,
    /// A report with this or a later sequence was already applied; nothing changed.
    AlreadyApplied,
}

/// One knowledge-base record, opaque to the store: the kb crate owns its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KbRecord {
    /// Feed the record belongs to (`nvd`, `kev`, `osv`).
    pub source: String,
    pub id: String,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KbImportOutcome {
    pub file_digest: String,
    pub records_in_file: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// KB version after the import (unchanged when nothing changed).
    pub kb_version: u64,
}

impl KbImportOutcome {
    /// The outcome of committing `change`: its files' digests joined by `,`, its record
    /// count, and what the commit counted.
    pub fn of(
        change: &KbChange,
        inserted: usize,
        updated: usize,
        unchanged: usize,
        kb_version: u64,
    ) -> Self {
        KbImportOutcome {
            file_digest: change
                .files
                .iter()
                .map(|f| f.digest.as_str())
                .collect::<Vec<_>>()
                .join(","),
            records_in_file: change.records.len(),
            inserted,
            updated,
            unchanged,
            kb_version,
        }
    }
}

/// A file that went into a [`KbChange`] (its digest is recorded like `kb_import`'s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KbFile {
    pub digest: String,
    pub name: String,
    pub records: usize,
}

/// What a feed's commit records about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedCommit {
    /// The feed, also the `source` of its records (`nvd`, `kev`, `osv`, `epss`).
    pub feed: String,
    /// The cursor to resume from next time (opaque JSON), when the feed keeps one.
    pub cursor: Option<String>,
    /// Set by a feed sync: the time of this successful sync.
    pub synced_at: Option<DateTime<Utc>>,
    /// Set by a file import: the time of the import.
    pub imported_at: Option<DateTime<Utc>>,
}

/// One atomic knowledge-base change: records from files and/or feed syncs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KbChange {
    pub files: Vec<KbFile>,
    pub records: Vec<KbRecord>,
    pub feeds: Vec<FeedCommit>,
}

/// A feed's stored sync state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedState {
    pub feed: String,
    /// Opaque JSON cursor, the feed syncer's own.
    pub cursor: Option<String>,
    pub last_sync: Option<DateTime<Utc>>,
    pub last_import: Option<DateTime<Utc>>,
    /// The feed's record count after its last commit.
    pub records: u64,
}

/// A published snapshot as the registry knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotMeta {
    pub seq: u64,
    /// `YYYY-MM-DD/HHMM/`, unique per snapshot.
    pub time_path: String,
    pub generated_at: DateTime<Utc>,
    /// Directory name under the data dir's `snapshots/`.
    pub dir: String,
    pub kb_version: u64,
    pub devices: u64,
}

pub trait StateStore: Send + Sync {
    /// Applies a batch of validated reports in one transaction.
    fn apply_reports(
        &self,
        reports: &[DeviceReport],
        received_at: DateTime<Utc>,
    ) -> Result<Vec<ApplyOutcome>>;
    /// Readies an empty store for a bulk load of new devices (a seed), which then arrives
    /// through [`StateStore::apply_reports`] as ever: a store may set aside work that is
    /// cheaper done once at the end. Returns whether it did (false: the store holds
    /// devices already, or has nothing to set aside), and [`StateStore::end_bulk_load`]
    /// must then follow the load. Until it does, other writers of the store may be
    /// refused.
    fn begin_bulk_load(&self) -> Result<bool> {
        Ok(false)
    }
    /// Ends a bulk load that [`StateStore::begin_bulk_load`] began: does the work set
    /// aside. A load that is never ended (the process killed) is ended when the store
    /// is next opened.
    fn end_bulk_load(&self) -> Result<()> {
        Ok(())
    }
    fn device_count(&self) -> Result<u64>;
    fn device(&self, id: &str) -> Result<Option<DeviceState>>;
    /// Every device id, ordered by (group id, device id).
    fn device_ids(&self) -> Result<Vec<String>>;
    /// The states of `ids` (missing ones skipped), decoded in parallel, in one short read.
    fn devices(&self, ids: &[String]) -> Result<Vec<DeviceState>>;
    /// Folds the write-ahead log back into the database after bulk writes, so later
    /// reads do not pay for a long log. A no-op where it means nothing.
    fn checkpoint(&self) -> Result<()>;
    /// Visits every device's stored state bytes ordered by (group id, device id), in
    /// batches of up to `batch` rows as [`state_codec::encode`] wrote them (or an earlier
    /// release), read one batch ahead on a thread of their own (see `read_ahead`).
    /// Returning an error from `visit` stops the scan. Alone, it measures the store's raw
    /// scan rate (`posture bench`); [`StateStore::scan_devices`] and
    /// [`StateStore::scan_views`] decode its batches.
    fn scan_state_bytes(&self, batch: usize, visit: &mut RawVisitor<'_>) -> Result<(), ScanError>;
    /// Every device's owned state, in the order and batches of
    /// [`StateStore::scan_state_bytes`], decoded in parallel.
    fn scan_devices(&self, batch: usize, visit: &mut DeviceVisitor<'_>) -> Result<(), ScanError> {
        self.scan_state_bytes(batch, &mut |raw| {
            let states = state_codec::decode_all(&raw)?;
            visit(states).map_err(ScanError::Visitor)
        })
    }
    /// The scan a publish reads: every device as a [`DeviceView`] over its record, in the
    /// order and batches of [`StateStore::scan_state_bytes`], records and views made in
    /// parallel. Several times cheaper than [`StateStore::scan_devices`]: a view copies no
    /// string out of the record.
    fn scan_views(&self, batch: usize, visit: &mut ViewVisitor<'_>) -> Result<(), ScanError> {
        let mut records = state_codec::RecordArena::default();
        self.scan_state_bytes(batch, &mut |raw| {
            let views = records.views(&raw)?;
            visit(views).map_err(ScanError::Visitor)
        })
    }
    /// Stores a parsed feed file's records in one transaction.
    /// (One file's records: [`StateStore::kb_commit`] of a change holding that file.)
    fn kb_import(
        &self,
        file_digest: &str,
        file_name: &str,
        records: &[KbRecord],
    ) -> Result<KbImportOutcome> {
        let change = KbChange {
            files: vec![crate::KbFile {
                digest: file_digest.to_owned(),
                name: file_name.to_owned(),
                records: records.len(),
            }],
            records: records.to_vec(),
            feeds: Vec::new(),
        };
        let mut outcome = self.kb_commit(&change)?;
        outcome.file_digest = file_digest.to_owned();
        Ok(outcome)
    }
    /// Commits a knowledge-base change in one transaction: the records of several
    /// files or feeds, the feeds' sync states, their staging cleared. The KB version
    /// moves by one when any record was inserted or updated, else not at all.
    fn kb_commit(&self, change: &KbChange) -> Result<KbImportOutcome>;
    /// Every feed's stored sync state, ordered by feed name.
    fn feed_states(&self) -> Result<Vec<FeedState>>;
    /// Persists a feed's in-progress cursor (the KB itself is untouched).
    fn put_feed_cursor(&self, feed: &str, cursor: &str) -> Result<()>;
    /// Keeps one fetched part (page, file) of a feed sync in progress, outside the KB.
    fn stage_feed_part(&self, feed: &str, part: u64, body: &[u8]) -> Result<()>;
    /// The staged parts of a feed sync in progress, in part order.
    fn staged_feed_parts(&self, feed: &str) -> Result<Vec<(u64, Vec<u8>)>>;
    /// Drops a feed's staged parts (its cursor is left as it is).
    fn clear_feed_staging(&self, feed: &str) -> Result<()>;
    /// Record counts per source.
    fn kb_source_counts(&self) -> Result<Vec<(String, u64)>>;
    /// Every record of a source, as stored.
    fn kb_records(&self, source: &str) -> Result<Vec<KbRecord>>;
    fn kb_version(&self) -> Result<u64>;
    fn snapshots(&self) -> Result<Vec<SnapshotMeta>>;
    fn register_snapshot(&self, meta: &SnapshotMeta) -> Result<()>;
    fn unregister_snapshot(&self, seq: u64) -> Result<()>;
    fn get_setting(&self, key: &str) -> Result<Option<String>>;
    fn put_setting(&self, key: &str, value: &str) -> Result<()>;
    /// Settings whose key starts with `prefix`, ordered by key.
    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>>;
    fn delete_setting(&self, key: &str) -> Result<bool>;
    /// A cheap round trip: `Ok` when the store answers (readiness checks).
    fn ping(&self) -> Result<()> {
        self.kb_version().map(drop)
    }
    /// Tries, without waiting, to become the one leader of `role` among every process
    /// using this store (see [`lease`]): `Some` holds the lease until dropped, `None`
    /// means another holder leads now. A role is 1 to 64 letters, digits, `-` or `_`.
    fn lead(&self, role: &str) -> Result<Option<Box<dyn Leadership>>> {
        let _ = role;
        Err(StoreError::Unsupported("leadership leases"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Visitor(Box<dyn std::error::Error + Send + Sync>),
}

/// The `source` of knowledge-base records: written by `ingest::import_feed`, read back
/// by `snapshot::publish::load_knowledge_base`; the store itself treats them as opaque.
pub const SOURCE_NVD: &str = "nvd";
pub const SOURCE_KEV: &str = "kev";
pub const SOURCE_OSV: &str = "osv";
/// FIRST EPSS scores, one record per CVE.
pub const SOURCE_EPSS: &str = "epss";

/// Hex SHA-256 of a byte string (feed file digests).
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}
