//! Leadership leases: one process at a time leads a role (the snapshot publisher)
//! among every process using one state store, on one machine or several.
//!
//! [`StateStore::lead`] tries, without waiting, to take the lease of a role; the
//! [`Leadership`] it returns holds it until dropped. A process that dies loses its lease
//! at once (PostgreSQL drops a session's advisory locks when its connection closes; the
//! kernel drops a dead process's `flock`), so another can take over.
//!
//! * PostgreSQL ([`crate::PostgresStore`]): a session-level `pg_try_advisory_lock` on a
//!   connection of its own, held by the guard. Advisory locks are per database, so two
//!   deployments on one server do not meet.
//! * SQLite ([`crate::SqliteStore`]): an exclusive `flock` (`File::try_lock`) on the file
//!   `<state.db>.lead-<role>` beside the database, so it serialises the processes of one
//!   machine (the only ones that can share a SQLite file). The file is never removed.
//!
//! A lease can be lost while held (the leader's connection to PostgreSQL breaks, and the
//! server ends its session): [`Leadership::still_leading`] asks. [`Fenced`] is a store
//! handle for a leader that asks before every change to the snapshot registry, the
//! publisher's commit point, so a publisher that lost its lease mid-publish registers
//! nothing.

use crate::{
    ApplyOutcome, DeviceState, FeedState, KbChange, KbImportOutcome, KbRecord, RawVisitor, Result,
    ScanError, SnapshotMeta, StateStore, StoreError,
};
use chrono::{DateTime, Utc};
use model::DeviceReport;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The role of the one process that publishes snapshots.
pub const PUBLISHER: &str = "publisher";

/// A held lease: this process leads `role` until the value is dropped (or the lease is
/// lost, see [`Leadership::still_leading`]).
pub trait Leadership: Send + Sync {
    /// The role led.
    fn role(&self) -> &str;
    /// Whether the lease is still held: a cheap round trip on the lease's own
    /// connection (PostgreSQL), or a check that the lock file is still the one locked
    /// (SQLite). `false` once lost; it never comes back.
    fn still_leading(&self) -> bool;
    /// Makes `change` on the lease's own database session, where the lease has one
    /// (PostgreSQL): the session holds the lock for as long as it lives, so a write
    /// that commits there was made while leading, with no gap between a check and the
    /// write (a leader whose session ended cannot commit one). `None`: the lease has no
    /// session (SQLite's lock file, lost only with the process or a replaced file); the
    /// caller checks [`Leadership::still_leading`] and writes through the store.
    fn change_registry(&self, change: RegistryChange<'_>) -> Option<Result<()>> {
        let _ = change;
        None
    }
}

/// A change to the snapshot registry, as a leader makes it ([`Fenced`]).
#[derive(Clone, Copy, Debug)]
pub enum RegistryChange<'a> {
    Register(&'a SnapshotMeta),
    Unregister(u64),
}

/// A role names a lock (a file name, an advisory lock key): letters, digits, `-`, `_`.
pub(crate) fn check_role(role: &str) -> Result<()> {
    let valid = !role.is_empty()
        && role.len() <= 64
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::BadRole(role.to_owned()))
    }
}

/// The SQLite store's lease: an exclusive `flock` on `<state.db>.lead-<role>`.
#[derive(Debug)]
pub(crate) struct FileLease {
    role: String,
    path: PathBuf,
    /// Open (and locked) for as long as the lease is held; closing it unlocks.
    file: std::fs::File,
}

impl FileLease {
    /// Takes the lease of `role` beside the database file `db`, or `None` when another
    /// open file (in any process) holds it.
    pub(crate) fn try_take(db: &Path, role: &str) -> Result<Option<FileLease>> {
        check_role(role)?;
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".lead-{role}"));
        let path = db.with_file_name(name);
        let io = |source| StoreError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLease {
                role: role.to_owned(),
                path,
                file,
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

impl Leadership for FileLease {
    fn role(&self) -> &str {
        &self.role
    }

    /// The lock lives as long as the open file; it is lost only if the lock file was
    /// replaced (removed and recreated, so another process could lock the new one).
    #[cfg(unix)]
    fn still_leading(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (self.file.metadata(), std::fs::metadata(&self.path)) {
            (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
            _ => false,
        }
    }

    #[cfg(not(unix))]
    fn still_leading(&self) -> bool {
        self.path.exists()
    }
}

/// A store handle for the leader of a role: every method is the inner store's, except
/// that changes to the snapshot registry (`register_snapshot`, `unregister_snapshot`)
/// are made on the lease's own session ([`Leadership::change_registry`]), or where it
/// has none first check [`Leadership::still_leading`]; both fail with
/// [`StoreError::NotLeading`] once the lease is lost. Holds the lease: it is released
/// when this handle and every other holder of the `Arc` are dropped.
pub struct Fenced {
    inner: Arc<dyn StateStore>,
    lease: Arc<dyn Leadership>,
}

impl Fenced {
    pub fn new(inner: Arc<dyn StateStore>, lease: Arc<dyn Leadership>) -> Fenced {
        Fenced { inner, lease }
    }

    fn check(&self) -> Result<()> {
        if self.lease.still_leading() {
            Ok(())
        } else {
            Err(StoreError::NotLeading {
                role: self.lease.role().to_owned(),
            })
        }
    }
}

impl StateStore for Fenced {
    fn apply_reports(
        &self,
        reports: &[DeviceReport],
        received_at: DateTime<Utc>,
    ) -> Result<Vec<ApplyOutcome>> {
        self.inner.apply_reports(reports, received_at)
    }
    fn device_count(&self) -> Result<u64> {
        self.inner.device_count()
    }
    fn device(&self, id: &str) -> Result<Option<DeviceState>> {
        self.inner.device(id)
    }
    fn device_ids(&self) -> Result<Vec<String>> {
        self.inner.device_ids()
    }
    fn devices(&self, ids: &[String]) -> Result<Vec<DeviceState>> {
        self.inner.devices(ids)
    }
    fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint()
    }
    fn scan_state_bytes(&self, batch: usize, visit: &mut RawVisitor<'_>) -> Result<(), ScanError> {
        self.inner.scan_state_bytes(batch, visit)
    }
    fn kb_import(
        &self,
        file_digest: &str,
        file_name: &str,
        records: &[KbRecord],
    ) -> Result<KbImportOutcome> {
        self.inner.kb_import(file_digest, file_name, records)
    }
    fn kb_commit(&self, change: &KbChange) -> Result<KbImportOutcome> {
        self.inner.kb_commit(change)
    }
    fn feed_states(&self) -> Result<Vec<FeedState>> {
        self.inner.feed_states()
    }
    fn put_feed_cursor(&self, feed: &str, cursor: &str) -> Result<()> {
        self.inner.put_feed_cursor(feed, cursor)
    }
    fn stage_feed_part(&self, feed: &str, part: u64, body: &[u8]) -> Result<()> {
        self.inner.stage_feed_part(feed, part, body)
    }
    fn staged_feed_parts(&self, feed: &str) -> Result<Vec<(u64, Vec<u8>)>> {
        self.inner.staged_feed_parts(feed)
    }
    fn clear_feed_staging(&self, feed: &str) -> Result<()> {
        self.inner.clear_feed_staging(feed)
    }
    fn kb_source_counts(&self) -> Result<Vec<(String, u64)>> {
        self.inner.kb_source_counts()
    }
    fn kb_records(&self, source: &str) -> Result<Vec<KbRecord>> {
        self.inner.kb_records(source)
    }
    fn kb_version(&self) -> Result<u64> {
        self.inner.kb_version()
    }
    fn snapshots(&self) -> Result<Vec<SnapshotMeta>> {
        self.inner.snapshots()
    }
    fn register_snapshot(&self, meta: &SnapshotMeta) -> Result<()> {
        match self.lease.change_registry(RegistryChange::Register(meta)) {
            Some(done) => done,
            None => {
                self.check()?;
                self.inner.register_snapshot(meta)
            }
        }
    }
    fn unregister_snapshot(&self, seq: u64) -> Result<()> {
        match self.lease.change_registry(RegistryChange::Unregister(seq)) {
            Some(done) => done,
            None => {
                self.check()?;
                self.inner.unregister_snapshot(seq)
            }
        }
    }
    fn get_setting(&self, key: &str) -> Result<Option<String>> {
        self.inner.get_setting(key)
    }
    fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        self.inner.put_setting(key, value)
    }
    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.inner.settings_with_prefix(prefix)
    }
    fn delete_setting(&self, key: &str) -> Result<bool> {
        self.inner.delete_setting(key)
    }
    fn ping(&self) -> Result<()> {
        self.inner.ping()
    }
    fn lead(&self, role: &str) -> Result<Option<Box<dyn Leadership>>> {
        self.inner.lead(role)
    }
}
