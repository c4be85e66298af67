//! The set of retained snapshots and the atomic publish.
//!
//! Publish protocol (each step durable before the next):
//! 1. build every file into `snapshots/.tmp-<uuid>/` and fsync it;
//! 2. write `manifest.json`, fsync, rename the directory to its final name, fsync `snapshots/`;
//! 3. register it in the state store — **the commit point**;
//! 4. swap it in as "latest" for readers (an atomic pointer swap), then apply retention.
//!
//! A crash before step 3 leaves an unregistered directory that the next open removes;
//! the previous snapshot keeps serving throughout. Readers hold an `Arc<Snapshot>`, so a
//! snapshot removed by retention stays readable for walks already under way.

use crate::build::{BuildOptions, BuildRequest, PublishBuildError, build_snapshot};
use crate::delta::{ChangeCounts, ChangeLog, write_change_log};
use crate::disk_io::DiskIo;
use crate::format::sync_dir;
use crate::lazy;
use crate::reader::{OpenError, Snapshot};
use crate::remote::{self, ObjectSnapshots, RemoteError};
use crate::{ExportKind, Progress};
use arc_swap::ArcSwapOption;
use assess::KnowledgeBase;
use chrono::{DateTime, Duration, Utc};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use store::{SnapshotMeta, StateStore};

/// In a cached snapshot directory: every byte of it is present.
const COMPLETE: &str = ".complete";

/// Fetches what a lazily opened snapshot still lacks, then marks its directory complete
/// (a directory without the mark is fetched again after a restart).
fn complete_in_background(lazy_dir: Arc<lazy::LazyDir>, dir: PathBuf, time_path: String) {
    let spawned = std::thread::Builder::new()
        .name("snapshot-fetch".into())
        .spawn(move || {
            // The first pages fetch what they read first; the rest follows.
            std::thread::sleep(std::time::Duration::from_secs(1));
            let started = Instant::now();
            match lazy_dir.complete() {
                Ok(()) => {
                    let marked = std::fs::File::create(dir.join(COMPLETE))
                        .and_then(|f| f.sync_all());
                    if let Err(e) = marked {
                        tracing::warn!(dir = %dir.display(), error = %e, "cannot mark a fetched snapshot complete");
                    }
                    lazy::forget(&dir);
                    remote::stats().fetched_snapshots.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(snapshot = %time_path, seconds = started.elapsed().as_secs_f64(), "snapshot fetched whole");
                }
                Err(e) => {
                    tracing::warn!(snapshot = %time_path, error = %e, "fetching the rest of a snapshot failed; pages fetch what they read")
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the background snapshot fetch");
    }
}

/// The sequence number a snapshot or change-log directory name starts with (`000012-...`).
fn seq_of_dir(name: &str) -> Option<u64> {
    name.split('-').next()?.parse().ok()
}

/// Removes a file or directory tree.
fn remove_path(path: &Path) -> Result<(), SnapshotError> {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.map_err(io(path))
}

/// Bytes of the files under `dir` (0 for what cannot be read).
pub fn tree_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => tree_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

/// Removes the directories under `root` that are not `known` (publishes that never
/// committed).
fn remove_unpublished_dirs(root: &Path, known: &[PathBuf]) -> Result<(), SnapshotError> {
    for entry in std::fs::read_dir(root).map_err(io(root))? {
        let path = entry.map_err(io(root))?.path();
        if path.is_dir() && !known.contains(&path) {
            tracing::info!(dir = %path.display(), "removing unpublished snapshot directory");
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}

/// Removes what interrupted publishes left in `data_dir` (snapshot directories and
/// change logs no registered snapshot owns) without opening, and so without ever
/// unregistering, any snapshot: a registered snapshot whose files are elsewhere (object
/// storage, another machine) stays registered. Only safe under the publisher lease.
pub fn remove_unpublished(data_dir: &Path, store: &dyn StateStore) -> Result<(), SnapshotError> {
    let registered = store.snapshots()?;
    let root = data_dir.join("snapshots");
    if root.exists() {
        let known: Vec<PathBuf> = registered.iter().map(|m| root.join(&m.dir)).collect();
        remove_unpublished_dirs(&root, &known)?;
    }
    // Change logs are judged by name only (a temporary directory, or a sequence newer
    // than every registered snapshot), never by whether they open: this runs beside a
    // serving registry (`serve --publish-every`), where a passing failure to open one
    // must not delete a good log.
    let newest = registered.iter().map(|m| m.seq).max().unwrap_or(0);
    let changes = data_dir.join("changes");
    if changes.exists() {
        for entry in std::fs::read_dir(&changes).map_err(io(&changes))? {
            let path = entry.map_err(io(&changes))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with(".tmp-") || seq_of_dir(&name).is_some_and(|seq| seq > newest) {
                tracing::info!(dir = %path.display(), "removing an unpublished change log");
                remove_path(&path)?;
            }
        }
    }
    Ok(())
}

/// The first `node-N` directory under `base` this process can lock exclusively.
fn lock_cache_dir(base: &Path) -> Result<(PathBuf, std::fs::File), SnapshotError> {
    for n in 0..64 {
        let dir = base.join(format!("node-{n}"));
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let lock_path = dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match file.try_lock() {
            Ok(()) => return Ok((dir, file)),
            Err(std::fs::TryLockError::WouldBlock) => continue,
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
    }
    Err(SnapshotError::CacheBusy(base.to_owned()))
}

/// Work tied to a snapshot's lifecycle, such as files derived from it (the via-files
/// exports): done before the snapshot becomes visible, undone when it leaves retention.
pub trait PublishHook: Send + Sync {
    /// The complete snapshot, still in its temporary directory, before the commit point.
    /// Files written into `snapshot.dir()` become part of the snapshot. An error aborts
    /// the publish: nothing becomes visible.
    fn before_commit(&self, snapshot: &Snapshot) -> Result<(), HookError>;
    /// A snapshot left retention (its directory is removed right after).
    fn after_remove(&self, snapshot: &Snapshot) -> Result<(), HookError>;
    /// On attach: remove whatever belongs to none of the retained snapshots (leftovers
    /// of an interrupted publish).
    fn reconcile(&self, retained: &[Arc<Snapshot>]) -> Result<(), HookError>;
}

pub type HookError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{0}")]
    Hook(HookError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Build(#[from] PublishBuildError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("cannot lock a snapshot cache under {0}: every node-N directory up to 64 is in use")]
    CacheBusy(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Change logs are kept this long by default (MDE's delta window).
pub const DEFAULT_CHANGE_RETENTION_DAYS: i64 = 14;

/// Opens the change logs under `root`; a change log newer than the newest registered
/// snapshot, or a temporary directory, is the leftover of an interrupted publish.
fn load_change_logs(
    root: &Path,
    newest_registered: u64,
) -> Result<BTreeMap<u64, Arc<ChangeLog>>, SnapshotError> {
    let mut logs = BTreeMap::new();
    if !root.exists() {
        return Ok(logs);
    }
    for entry in std::fs::read_dir(root).map_err(io(root))? {
        let path = entry.map_err(io(root))?.path();
        let opened = if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        {
            None
        } else {
            ChangeLog::open(&path)
                .ok()
                .filter(|c| c.meta.seq <= newest_registered)
        };
        match opened {
            Some(log) => {
                logs.insert(log.meta.seq, Arc::new(log));
            }
            None => {
                tracing::info!(dir = %path.display(), "removing an unpublished change log");
                std::fs::remove_dir_all(&path).map_err(io(&path))?;
            }
        }
    }
    Ok(logs)
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishReport {
    pub seq: u64,
    pub time_path: String,
    pub generated_at: DateTime<Utc>,
    pub devices: u64,
    pub distinct_software: u64,
    pub findings: u64,
    pub rows: BTreeMap<ExportKind, u64>,
    pub seconds: f64,
    /// Of `seconds`, the time spent matching software and evaluating rules.
    pub assess_seconds: f64,
    /// Of `seconds`, the time spent diffing against the previous snapshot.
    pub diff_seconds: f64,
    /// Bytes this process (all its threads) read from storage while diffing: the row
    /// files the page cache no longer held, as the diff maps both snapshots'. `None`
    /// without a diff, or where the kernel does not count them (see [`crate::disk_io`]).
    pub diff_read_bytes: Option<u64>,
    /// What changed since the previous snapshot (none for the first).
    pub changes: Option<ChangeCounts>,
    pub removed: Vec<String>,
}

/// What a registry over object storage keeps besides the local case: the store, the
/// registered snapshots (some not fetched yet) and the cache's budget.
struct Remote {
    objects: Arc<ObjectSnapshots>,
    /// Registered snapshots by sequence, as last read from the state store.
    registered: RwLock<BTreeMap<u64, SnapshotMeta>>,
    /// Bytes of each cached snapshot directory.
    sizes: Mutex<BTreeMap<u64, u64>>,
    cache_budget: u64,
    /// One fetch at a time, so two readers of one missing snapshot fetch it once.
    fetching: Mutex<()>,
    /// Held for the registry's life: the cache directory is this process's alone.
    _cache_lock: std::fs::File,
}

/// A snapshot directory's key in the bucket, and its change log's.
fn snapshot_key(dir: &str) -> String {
    format!("snapshots/{dir}")
}
fn changes_key(dir: &str) -> String {
    format!("changes/{dir}")
}

impl Remote {
    /// Removes a publish that will not commit from the bucket (best effort: the next
    /// leader's reconciliation removes whatever this leaves).
    fn discard(&self, dir: &str) {
        for key in [snapshot_key(dir), changes_key(dir)] {
            if let Err(e) = self.objects.delete_dir(&key) {
                tracing::warn!(key, error = %e, "cannot remove an uncommitted upload");
            }
        }
    }
}

pub struct Snapshots {
    root: PathBuf,
    remote: Option<Remote>,
    changes_root: PathBuf,
    changes: RwLock<BTreeMap<u64, Arc<ChangeLog>>>,
    change_retention: parking_lot::Mutex<Duration>,
    store: Arc<dyn StateStore>,
    retained: RwLock<BTreeMap<u64, Arc<Snapshot>>>,
    latest: ArcSwapOption<Snapshot>,
    publishing: Mutex<()>,
    retain: usize,
    hook: RwLock<Option<Arc<dyn PublishHook>>>,
}

impl Snapshots {
    /// Opens the snapshots under `data_dir/snapshots`, removing leftovers of
    /// interrupted publishes and forgetting registered snapshots whose files are gone.
    pub fn open(
        data_dir: &Path,
        store: Arc<dyn StateStore>,
        retain: usize,
    ) -> Result<Snapshots, SnapshotError> {
        let root = data_dir.join("snapshots");
        std::fs::create_dir_all(&root).map_err(io(&root))?;
        let mut retained = BTreeMap::new();
        for meta in store.snapshots()? {
            match Snapshot::open(&root.join(&meta.dir)) {
                Ok(s) => {
                    retained.insert(meta.seq, Arc::new(s));
                }
                Err(e) => {
                    tracing::warn!(seq = meta.seq, error = %e, "registered snapshot cannot be opened; forgetting it");
                    store.unregister_snapshot(meta.seq)?;
                }
            }
        }
        let known: Vec<PathBuf> = retained.values().map(|s| s.dir().to_owned()).collect();
        remove_unpublished_dirs(&root, &known)?;
        let latest = retained.values().next_back().cloned();
        let changes_root = data_dir.join("changes");
        let changes = load_change_logs(
            &changes_root,
            retained.keys().next_back().copied().unwrap_or(0),
        )?;
        Ok(Snapshots {
            root,
            changes_root,
            changes: RwLock::new(changes),
            change_retention: parking_lot::Mutex::new(Duration::days(
                DEFAULT_CHANGE_RETENTION_DAYS,
            )),
            store,
            retained: RwLock::new(retained),
            latest: ArcSwapOption::new(latest),
            publishing: Mutex::new(()),
            retain: retain.max(1),
            hook: RwLock::new(None),
            remote: None,
        })
    }

    /// Opens a registry whose snapshots live in object storage, with a local cache
    /// under `cache_base` of at most `cache_budget` bytes of snapshots. The cache is one
    /// `node-N` directory this process locks (the first free one, so processes on one
    /// machine never share one and a restarted node finds its cache again). The latest
    /// registered snapshot is fetched now; older ones when first asked for.
    pub fn open_remote(
        cache_base: &Path,
        store: Arc<dyn StateStore>,
        retain: usize,
        objects: Arc<ObjectSnapshots>,
        cache_budget: u64,
    ) -> Result<Snapshots, SnapshotError> {
        let (cache_dir, lock) = lock_cache_dir(cache_base)?;
        let root = cache_dir.join("snapshots");
        let changes_root = cache_dir.join("changes");
        for dir in [&root, &changes_root] {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let registered: BTreeMap<u64, SnapshotMeta> =
            store.snapshots()?.into_iter().map(|m| (m.seq, m)).collect();
        let snapshots = Snapshots {
            root,
            changes_root,
            changes: RwLock::new(BTreeMap::new()),
            change_retention: parking_lot::Mutex::new(Duration::days(
                DEFAULT_CHANGE_RETENTION_DAYS,
            )),
            store,
            retained: RwLock::new(BTreeMap::new()),
            latest: ArcSwapOption::new(None),
            publishing: Mutex::new(()),
            retain: retain.max(1),
            hook: RwLock::new(None),
            remote: Some(Remote {
                objects,
                registered: RwLock::new(BTreeMap::new()),
                sizes: Mutex::new(BTreeMap::new()),
                cache_budget,
                fetching: Mutex::new(()),
                _cache_lock: lock,
            }),
        };
        // The cache is ours alone: what is not a complete registered snapshot goes.
        let names: Vec<&str> = registered.values().map(|m| m.dir.as_str()).collect();
        for entry in std::fs::read_dir(&snapshots.root).map_err(io(&snapshots.root))? {
            let path = entry.map_err(io(&snapshots.root))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if !name.as_deref().is_some_and(|n| names.contains(&n)) {
                remove_path(&path)?;
            }
        }
        for meta in registered.values() {
            let dir = snapshots.root.join(&meta.dir);
            if dir.exists() && !dir.join(COMPLETE).exists() {
                // Fetched in part before a restart: fetched again on first use.
                remove_path(&dir)?;
            } else if dir.exists() {
                match Snapshot::open(&dir) {
                    Ok(s) => snapshots.insert_cached(meta.seq, Arc::new(s)),
                    Err(e) => {
                        tracing::warn!(snapshot = %meta.time_path, error = %e, "cached snapshot unreadable; fetching it again");
                        remove_path(&dir)?;
                    }
                }
            }
        }
        snapshots.refresh_locked()?;
        Ok(snapshots)
    }

    /// The object store behind this registry, if any.
    pub fn objects(&self) -> Option<&Arc<ObjectSnapshots>> {
        self.remote.as_ref().map(|r| &r.objects)
    }

    /// Bytes of snapshots in this node's cache (object storage only).
    pub fn cache_bytes(&self) -> u64 {
        self.remote
            .as_ref()
            .map_or(0, |r| r.sizes.lock().values().sum())
    }

    fn insert_cached(&self, seq: u64, snapshot: Arc<Snapshot>) {
        if let Some(remote) = &self.remote {
            remote.sizes.lock().insert(seq, tree_bytes(snapshot.dir()));
        }
        self.retained.write().insert(seq, snapshot);
    }

    /// A registered snapshot, from the cache or opened from object storage into it.
    fn cached_or_fetch(
        &self,
        remote: &Remote,
        meta: &SnapshotMeta,
    ) -> Result<Arc<Snapshot>, SnapshotError> {
        if let Some(s) = self.retained.read().get(&meta.seq) {
            remote::stats().hits.fetch_add(1, Ordering::Relaxed);
            return Ok(s.clone());
        }
        let _one_fetch = remote.fetching.lock();
        if let Some(s) = self.retained.read().get(&meta.seq) {
            return Ok(s.clone());
        }
        remote::stats().misses.fetch_add(1, Ordering::Relaxed);
        let dir = self.root.join(&meta.dir);
        let started = Instant::now();
        let snapshot = if dir.join(COMPLETE).exists() {
            Arc::new(Snapshot::open(&dir)?)
        } else {
            // Served at once from sparse files, fetched piece by piece as pages read
            // them, completed in the background.
            let prepare = || remote.objects.prepare_lazy(&snapshot_key(&meta.dir), &dir);
            // An API handler asking for a snapshot not cached yet (asOf, a token's) waits
            // without holding up the other tasks of its worker.
            let (source, sparse) = match tokio::runtime::Handle::try_current() {
                Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(prepare)?
                }
                _ => prepare()?,
            };
            let lazy_dir = lazy::register(&dir, source, sparse);
            let snapshot = match Snapshot::open(&dir) {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    lazy::forget(&dir);
                    return Err(e.into());
                }
            };
            complete_in_background(lazy_dir, dir.clone(), meta.time_path.clone());
            snapshot
        };
        tracing::info!(snapshot = %meta.time_path, seconds = started.elapsed().as_secs_f64(), "opened a snapshot from object storage");
        self.insert_cached(meta.seq, snapshot.clone());
        self.evict_over_budget();
        Ok(snapshot)
    }

    /// Removes whole cached snapshots nobody reads, oldest first, until the cache fits
    /// its budget. The latest stays, as does any snapshot a reader holds.
    fn evict_over_budget(&self) {
        let Some(remote) = &self.remote else { return };
        let latest = self.latest().map(|s| s.manifest.seq);
        loop {
            if remote.sizes.lock().values().sum::<u64>() <= remote.cache_budget {
                return;
            }
            let victim = self
                .retained
                .read()
                .iter()
                .find(|(seq, s)| Some(**seq) != latest && Arc::strong_count(s) == 1)
                .map(|(seq, s)| (*seq, s.dir().to_owned()));
            let Some((seq, dir)) = victim else { return };
            self.retained.write().remove(&seq);
            remote.sizes.lock().remove(&seq);
            remote::stats().evictions.fetch_add(1, Ordering::Relaxed);
            lazy::forget(&dir);
            tracing::info!(dir = %dir.display(), "evicting a snapshot from the cache");
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove an evicted snapshot");
            }
        }
    }

    /// The newest registered snapshot matching `pick`, opened from object storage if
    /// this node has not cached it (`None` without object storage).
    fn find(&self, pick: impl Fn(&SnapshotMeta) -> bool) -> Option<Arc<Snapshot>> {
        let remote = self.remote.as_ref()?;
        let meta = remote
            .registered
            .read()
            .values()
            .rev()
            .find(|m| pick(m))
            .cloned()?;
        match self.cached_or_fetch(remote, &meta) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(snapshot = %meta.time_path, error = %e, "cannot fetch a registered snapshot");
                None
            }
        }
    }

    /// Object storage: reads the registry, drops what left it, fetches the latest and
    /// the change logs this node lacks. Never deletes anything in the bucket.
    fn refresh_remote(&self, remote: &Remote) -> Result<bool, SnapshotError> {
        let registered: BTreeMap<u64, SnapshotMeta> = self
            .store
            .snapshots()?
            .into_iter()
            .map(|m| (m.seq, m))
            .collect();
        let before = self.latest().map(|s| s.manifest.seq);
        let unchanged = *remote.registered.read() == registered
            && before == registered.keys().next_back().copied();
        if unchanged {
            // Readers may have let go of snapshots the budget could not evict before.
            self.evict_over_budget();
            return Ok(false);
        }
        *remote.registered.write() = registered.clone();
        let gone: Vec<Arc<Snapshot>> = {
            let mut retained = self.retained.write();
            let gone: Vec<u64> = retained
                .keys()
                .filter(|seq| !registered.contains_key(seq))
                .copied()
                .collect();
            gone.iter().filter_map(|seq| retained.remove(seq)).collect()
        };
        for s in gone {
            remote.sizes.lock().remove(&s.manifest.seq);
            lazy::forget(s.dir());
            // Readers keep their mapping; the files go from the cache.
            let _ = std::fs::remove_dir_all(s.dir());
        }
        if let Some(meta) = registered.values().next_back() {
            let newest = self.cached_or_fetch(remote, meta)?;
            self.latest.store(Some(newest));
        } else {
            self.latest.store(None);
        }
        let newest = registered.keys().next_back().copied().unwrap_or(0);
        let listed = remote.objects.list_dirs("changes")?;
        let mut changes = self.changes.write();
        changes.retain(|_, c| {
            let keep = c
                .dir()
                .file_name()
                .is_some_and(|n| listed.iter().any(|l| *l == *n.to_string_lossy()));
            if !keep {
                let _ = std::fs::remove_dir_all(c.dir());
            }
            keep
        });
        for name in listed {
            let Some(seq) = seq_of_dir(&name) else {
                continue;
            };
            if seq > newest || changes.contains_key(&seq) {
                continue;
            }
            let dir = self.changes_root.join(&name);
            if !dir.exists() {
                remote.objects.fetch_dir(&changes_key(&name), &dir)?;
            }
            changes.insert(seq, Arc::new(ChangeLog::open(&dir)?));
        }
        drop(changes);
        self.evict_over_budget();
        Ok(self.latest().map(|s| s.manifest.seq) != before)
    }

    /// The publisher's side of object storage, before it publishes (only the leading
    /// publisher calls this): every registered snapshot in its cache (retention and the
    /// export hook need them), and objects of publishes that never committed removed.
    fn reconcile_remote(&self, remote: &Remote) -> Result<(), SnapshotError> {
        let registered: Vec<SnapshotMeta> = remote.registered.read().values().cloned().collect();
        for meta in &registered {
            self.cached_or_fetch(remote, meta)?;
        }
        let newest = registered.last().map_or(0, |m| m.seq);
        for name in remote.objects.list_dirs("snapshots")? {
            if !registered.iter().any(|m| m.dir == name) {
                tracing::info!(dir = %name, "removing an unregistered snapshot from object storage");
                remote.objects.delete_dir(&snapshot_key(&name))?;
            }
        }
        for name in remote.objects.list_dirs("changes")? {
            if seq_of_dir(&name).is_none_or(|seq| seq > newest) {
                tracing::info!(dir = %name, "removing an unpublished change log from object storage");
                remote.objects.delete_dir(&changes_key(&name))?;
            }
        }
        let hook = self.hook.read().clone();
        if let Some(hook) = hook {
            hook.reconcile(&self.list()).map_err(SnapshotError::Hook)?;
        }
        Ok(())
    }

    /// Picks up what another process published or removed since this one opened the
    /// registry (a `serve` beside `posture publish`). Unlike [`Snapshots::open`] it never
    /// deletes anything: another process may be publishing right now. Returns whether
    /// the latest snapshot changed.
    pub fn refresh(&self) -> Result<bool, SnapshotError> {
        let _one_at_a_time = self.publishing.lock();
        self.refresh_locked()
    }

    fn refresh_locked(&self) -> Result<bool, SnapshotError> {
        if let Some(remote) = &self.remote {
            return self.refresh_remote(remote);
        }
        let registered = self.store.snapshots()?;
        let before = self.latest().map(|s| s.manifest.seq);
        let seqs: std::collections::BTreeSet<u64> = registered.iter().map(|m| m.seq).collect();
        let mut opened = Vec::new();
        for meta in &registered {
            if !self.retained.read().contains_key(&meta.seq) {
                opened.push((
                    meta.seq,
                    Arc::new(Snapshot::open(&self.root.join(&meta.dir))?),
                ));
            }
        }
        {
            let mut retained = self.retained.write();
            retained.retain(|seq, _| seqs.contains(seq));
            retained.extend(opened);
            self.latest.store(retained.values().next_back().cloned());
        }
        let newest = seqs.iter().next_back().copied().unwrap_or(0);
        if self.changes_root.exists() {
            let mut changes = self.changes.write();
            changes.retain(|_, c| c.dir().exists());
            for entry in std::fs::read_dir(&self.changes_root)
                .map_err(io(&self.changes_root))?
                .flatten()
            {
                let path = entry.path();
                if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
                {
                    continue;
                }
                if let Ok(log) = ChangeLog::open(&path)
                    && log.meta.seq <= newest
                    && !changes.contains_key(&log.meta.seq)
                {
                    changes.insert(log.meta.seq, Arc::new(log));
                }
            }
        }
        Ok(self.latest().map(|s| s.manifest.seq) != before)
    }

    /// The store this registry publishes from (and registers snapshots in). Outside
    /// this crate it is read (the server's `/healthz` reads the feeds' sync state); every
    /// write of state goes through `ingest`.
    pub fn store(&self) -> &dyn StateStore {
        self.store.as_ref()
    }

    /// Attaches a [`PublishHook`] and lets it reconcile with the retained snapshots.
    pub fn set_hook(&self, hook: Arc<dyn PublishHook>) -> Result<(), SnapshotError> {
        let _one_at_a_time = self.publishing.lock();
        // Over object storage only the publisher reconciles, with every registered
        // snapshot in hand (`reconcile_remote`); a serving node caches only some.
        if self.remote.is_none() {
            hook.reconcile(&self.list()).map_err(SnapshotError::Hook)?;
        }
        *self.hook.write() = Some(hook);
        Ok(())
    }

    /// How long change logs are kept (measured back from the newest snapshot).
    pub fn set_change_retention(&self, keep: Duration) {
        *self.change_retention.lock() = keep;
    }

    /// Change logs of publishes at or after `start`, oldest first.
    pub fn changes_since(&self, start: DateTime<Utc>) -> Vec<Arc<ChangeLog>> {
        self.changes
            .read()
            .values()
            .filter(|c| c.meta.generated_at >= start)
            .cloned()
            .collect()
    }

    pub fn change_logs(&self) -> Vec<Arc<ChangeLog>> {
        self.changes.read().values().cloned().collect()
    }

    /// Publish times known (snapshots and change logs), ascending.
    pub fn publish_times(&self) -> Vec<DateTime<Utc>> {
        let mut t: Vec<DateTime<Utc>> = self
            .changes
            .read()
            .values()
            .map(|c| c.meta.generated_at)
            .collect();
        t.extend(
            self.retained
                .read()
                .values()
                .map(|s| s.manifest.generated_at),
        );
        t.sort();
        t.dedup();
        t
    }

    pub fn latest(&self) -> Option<Arc<Snapshot>> {
        self.latest.load_full()
    }

    pub fn by_time_path(&self, time_path: &str) -> Option<Arc<Snapshot>> {
        if self.remote.is_some() {
            return self.find(|m| m.time_path == time_path);
        }
        self.retained
            .read()
            .values()
            .find(|s| s.time_path() == time_path)
            .cloned()
    }

    /// The newest snapshot generated at or before `t`.
    pub fn as_of(&self, t: DateTime<Utc>) -> Option<Arc<Snapshot>> {
        if self.remote.is_some() {
            return self.find(|m| m.generated_at <= t);
        }
        self.retained
            .read()
            .values()
            .rev()
            .find(|s| s.manifest.generated_at <= t)
            .cloned()
    }

    pub fn list(&self) -> Vec<Arc<Snapshot>> {
        self.retained.read().values().cloned().collect()
    }

    /// Assesses every device and publishes a new snapshot. Snapshot times have minute
    /// precision (`YYYY-MM-DD/HHMM/`); a publish within the same minute as the latest
    /// is stamped one minute after it, so every snapshot has its own time path.
    pub fn publish(
        &self,
        kb: &KnowledgeBase,
        now: DateTime<Utc>,
        opts: &BuildOptions,
        progress: &dyn Progress,
    ) -> Result<PublishReport, SnapshotError> {
        self.publish_as(self.store.as_ref(), kb, now, opts, progress)
    }

    /// [`Snapshots::publish`] reading the device state from, and registering and
    /// retiring snapshots through, `writer`: the same store behind a guard, such as a
    /// publishing leader's [`store::Fenced`] handle, so a serving node's own registry
    /// publishes for it (no second registry, no second cache).
    pub fn publish_as(
        &self,
        writer: &dyn StateStore,
        kb: &KnowledgeBase,
        now: DateTime<Utc>,
        opts: &BuildOptions,
        progress: &dyn Progress,
    ) -> Result<PublishReport, SnapshotError> {
        let _one_at_a_time = self.publishing.lock();
        // Another process may have published since we looked.
        self.refresh_locked()?;
        if let Some(remote) = &self.remote {
            self.reconcile_remote(remote)?;
        }
        let started = Instant::now();
        let previous = self.latest();
        let mut generated_at = model::timefmt::floor_minute(&now);
        if let Some(p) = &previous
            && generated_at <= p.manifest.generated_at
        {
            generated_at = p.manifest.generated_at + Duration::minutes(1);
        }
        let seq = self.retained.read().keys().next_back().map_or(1, |s| s + 1);
        let tmp = self.root.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&tmp).map_err(io(&tmp))?;
        let request = BuildRequest {
            state: writer,
            kb,
            seq,
            generated_at,
            previous: previous.as_deref(),
        };
        let result = self.build_into(&tmp, &request, opts, progress);
        let (manifest, stats, final_dir) = match result {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        let meta = SnapshotMeta {
            seq,
            time_path: manifest.time_path.clone(),
            generated_at,
            dir: final_dir.clone(),
            kb_version: manifest.kb_version,
            devices: manifest.devices,
        };
        let final_path = self.root.join(&final_dir);
        let discard = |change_dir: Option<&PathBuf>| {
            let _ = std::fs::remove_dir_all(&final_path);
            if let Some(d) = change_dir {
                let _ = std::fs::remove_dir_all(d);
            }
        };
        let snapshot = match Snapshot::open(&final_path) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                discard(None);
                return Err(e.into());
            }
        };
        // The change log is written before the commit point, like the snapshot itself.
        let mut change_log = None;
        let mut diff_seconds = 0.0;
        let mut diff_read_bytes = None;
        if let Some(prev) = &previous {
            progress.stage("diffing against the previous snapshot");
            let before = DiskIo::of_self();
            match self.write_changes(prev, &snapshot, seq, &final_dir) {
                Ok((log, secs)) => {
                    diff_seconds = secs;
                    diff_read_bytes = before
                        .zip(DiskIo::of_self())
                        .map(|(before, after)| after.since(before).read_bytes);
                    change_log = Some(log);
                }
                Err(e) => {
                    discard(None);
                    return Err(e);
                }
            }
        }
        if let Some(remote) = &self.remote {
            progress.stage("uploading to object storage");
            let uploaded = remote
                .objects
                .upload_dir(&final_path, &snapshot_key(&final_dir), "manifest.json")
                .and_then(|_| match &change_log {
                    Some(log) => remote
                        .objects
                        .upload_dir(log.dir(), &changes_key(&final_dir), "meta.json")
                        .map(|_| ()),
                    None => Ok(()),
                });
            if let Err(e) = uploaded {
                discard(change_log.as_ref().map(|c| c.dir().to_path_buf()).as_ref());
                remote.discard(&final_dir);
                return Err(e.into());
            }
        }
        if let Err(e) = writer.register_snapshot(&meta) {
            // The registration may have committed before its answer was lost (a lease
            // connection that broke after the commit): then the snapshot is served, and
            // its files must stay. Only a snapshot known not to be registered is
            // discarded; when the registry cannot say, the next leader's reconciliation
            // removes it if it is not.
            let registered = self
                .store
                .snapshots()
                .map(|list| list.iter().any(|m| m.seq == meta.seq && m.dir == meta.dir));
            if matches!(registered, Ok(false)) {
                discard(change_log.as_ref().map(|c| c.dir().to_path_buf()).as_ref());
                if let Some(remote) = &self.remote {
                    remote.discard(&final_dir);
                }
            }
            return Err(e.into());
        }
        if let Some(remote) = &self.remote {
            remote.registered.write().insert(meta.seq, meta.clone());
            if let Err(e) = std::fs::File::create(final_path.join(COMPLETE)) {
                tracing::warn!(dir = %final_path.display(), error = %e, "cannot mark a published snapshot complete in the cache");
            }
        }
        let changes = change_log.as_ref().map(|c| c.meta.counts);
        if let Some(log) = change_log {
            self.changes.write().insert(seq, Arc::new(log));
        }
        self.insert_cached(seq, snapshot.clone());
        self.latest.store(Some(snapshot));
        let removed = self.apply_retention(writer)?;
        self.evict_over_budget();
        Ok(PublishReport {
            seq,
            time_path: manifest.time_path.clone(),
            generated_at,
            devices: manifest.devices,
            distinct_software: manifest.distinct_software,
            findings: manifest.findings,
            rows: manifest.exports.iter().map(|(k, e)| (*k, e.rows)).collect(),
            seconds: started.elapsed().as_secs_f64(),
            assess_seconds: stats.assess_seconds,
            diff_seconds,
            diff_read_bytes,
            changes,
            removed,
        })
    }

    fn build_into(
        &self,
        tmp: &Path,
        request: &BuildRequest<'_>,
        opts: &BuildOptions,
        progress: &dyn Progress,
    ) -> Result<(crate::Manifest, crate::BuildStats, String), SnapshotError> {
        let (seq, generated_at) = (request.seq, request.generated_at);
        let (manifest, stats) = build_snapshot(tmp, request, opts, progress)?;
        let manifest_path = tmp.join("manifest.json");
        let text = serde_json::to_vec_pretty(&manifest).map_err(|e| SnapshotError::Io {
            path: manifest_path.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::write(&manifest_path, text).map_err(io(&manifest_path))?;
        std::fs::File::open(&manifest_path)
            .and_then(|f| f.sync_all())
            .map_err(io(&manifest_path))?;
        let hook = self.hook.read().clone();
        if let Some(hook) = hook {
            progress.stage("writing export files");
            let staged = Snapshot::open(tmp)?;
            hook.before_commit(&staged).map_err(SnapshotError::Hook)?;
        }
        sync_dir(tmp).map_err(|e| SnapshotError::Io {
            path: e.path,
            source: e.source,
        })?;
        let final_dir = format!("{seq:06}-{}", generated_at.format("%Y%m%d-%H%M"));
        let final_path = self.root.join(&final_dir);
        std::fs::rename(tmp, &final_path).map_err(io(&final_path))?;
        sync_dir(&self.root).map_err(|e| SnapshotError::Io {
            path: e.path,
            source: e.source,
        })?;
        Ok((manifest, stats, final_dir))
    }

    fn write_changes(
        &self,
        previous: &Snapshot,
        next: &Snapshot,
        seq: u64,
        name: &str,
    ) -> Result<(ChangeLog, f64), SnapshotError> {
        std::fs::create_dir_all(&self.changes_root).map_err(io(&self.changes_root))?;
        let tmp = self
            .changes_root
            .join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        let written = write_change_log(previous, next, &tmp, seq);
        let meta = match written {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(SnapshotError::Build(PublishBuildError::Build(e)));
            }
        };
        let dir = self.changes_root.join(name);
        std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
        sync_dir(&self.changes_root).map_err(|e| SnapshotError::Io {
            path: e.path,
            source: e.source,
        })?;
        Ok((ChangeLog::open(&dir)?, meta.seconds))
    }

    fn apply_retention(&self, writer: &dyn StateStore) -> Result<Vec<String>, SnapshotError> {
        let mut removed = Vec::new();
        if let Some(newest) = self.latest() {
            let horizon = newest.manifest.generated_at - *self.change_retention.lock();
            let expired: Vec<(u64, Arc<ChangeLog>)> = self
                .changes
                .read()
                .iter()
                .filter(|(_, c)| c.meta.generated_at < horizon)
                .map(|(k, c)| (*k, c.clone()))
                .collect();
            for (seq, log) in expired {
                self.changes.write().remove(&seq);
                if let (Some(remote), Some(name)) = (&self.remote, log.dir().file_name()) {
                    remote
                        .objects
                        .delete_dir(&changes_key(&name.to_string_lossy()))?;
                }
                std::fs::remove_dir_all(log.dir()).map_err(io(log.dir()))?;
            }
        }
        loop {
            let oldest = {
                let retained = self.retained.read();
                if retained.len() <= self.retain {
                    break;
                }
                retained.iter().next().map(|(seq, s)| (*seq, s.clone()))
            };
            let Some((seq, snapshot)) = oldest else { break };
            writer.unregister_snapshot(seq)?;
            self.retained.write().remove(&seq);
            if let Some(remote) = &self.remote {
                remote.registered.write().remove(&seq);
                remote.sizes.lock().remove(&seq);
                if let Some(name) = snapshot.dir().file_name() {
                    remote
                        .objects
                        .delete_dir(&snapshot_key(&name.to_string_lossy()))?;
                }
            }
            let hook = self.hook.read().clone();
            if let Some(hook) = hook
                && let Err(e) = hook.after_remove(&snapshot)
            {
                tracing::warn!(snapshot = %snapshot.time_path(), error = %e, "removing a retired snapshot's files failed");
            }
            std::fs::remove_dir_all(snapshot.dir()).map_err(io(snapshot.dir()))?;
            removed.push(snapshot.time_path().to_owned());
        }
        Ok(removed)
    }
}
