//! The test world most integration tests start from: a SQLite store in a temporary
//! data directory, seeded with the emulator's synthetic fleet and knowledge base, its
//! snapshot registry, publishing at a fixed time, and the API on a loopback port.
//! Failures here are test set-up failures, so they panic with the step that failed.

use chrono::{DateTime, TimeZone, Utc};
use server::{ApiConfig, AppState};
use snapshot::{BuildOptions, PublishReport, Quiet, Snapshots};
use std::path::Path;
use std::sync::Arc;
use store::{SqliteStore, StateStore};

/// A UTC time on the hour, for seeding and publishing at fixed times.
pub fn utc(year: i32, month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, 0, 0)
        .single()
        .expect("a valid UTC date and hour")
}

/// A store and its snapshots in one temporary data directory (removed on drop).
pub struct World {
    pub dir: tempfile::TempDir,
    pub store: Arc<dyn StateStore>,
    pub snapshots: Arc<Snapshots>,
}

/// An empty SQLite store at `<dir>/state.db` in a new temporary directory.
pub fn empty_store() -> (tempfile::TempDir, Arc<dyn StateStore>) {
    let (dir, store) = empty_sqlite();
    (dir, Arc::new(store))
}

/// [`empty_store`] as the concrete `SqliteStore`, for tests of code generic over the store.
pub fn empty_sqlite() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary data directory");
    let store = SqliteStore::open(&dir.path().join("state.db")).expect("open the SQLite store");
    (dir, store)
}

/// The SQLite store of the data directory `dir` (`<dir>/state.db`), as a new process would open it.
pub fn open_store(dir: &Path) -> Arc<dyn StateStore> {
    Arc::new(SqliteStore::open(&dir.join("state.db")).expect("open the SQLite store"))
}

/// The snapshot registry of the data directory `dir`, keeping `retain` snapshots.
pub fn open_snapshots(dir: &Path, store: Arc<dyn StateStore>, retain: usize) -> Arc<Snapshots> {
    Arc::new(Snapshots::open(dir, store, retain).expect("open the snapshot registry"))
}

/// A store seeded with `devices` synthetic devices of `seed` at `now`, with the
/// synthetic knowledge base, and its snapshot registry (nothing published yet).
pub fn seeded(devices: u32, seed: u64, now: DateTime<Utc>, retain: usize) -> World {
    let (dir, store) = empty_store();
    seed_into(store.as_ref(), devices, seed, now);
    let snapshots = open_snapshots(dir.path(), store.clone(), retain);
    World {
        dir,
        store,
        snapshots,
    }
}

/// Seeds `devices` synthetic devices of `seed` at `now`, with the synthetic knowledge base.
pub fn seed_into(store: &dyn StateStore, devices: u32, seed: u64, now: DateTime<Utc>) {
    emulator::seed_fleet(
        store,
        &emulator::FleetConfig::new(devices, seed, now),
        true,
        None,
        &|_| {},
    )
    .expect("seed the synthetic fleet");
}

/// Build options with small parts (`part_target_bytes`) and batches, so a small test
/// fleet still exercises multi-part exports and several build batches.
pub fn small_parts(part_target_bytes: u64, batch: usize) -> BuildOptions {
    BuildOptions {
        part_target_bytes,
        batch,
    }
}

/// Publishes what the store holds now as the snapshot of time `at`.
pub fn publish_at(
    snapshots: &Snapshots,
    at: DateTime<Utc>,
    options: &BuildOptions,
) -> PublishReport {
    snapshot::publish_from_store(snapshots, at, options, &Quiet).expect("publish a snapshot")
}

/// The API's state for `snapshots` at `base`: open access, no limits, faults, export
/// backend or metrics; tests change the fields they need.
pub fn api_state(snapshots: Arc<Snapshots>, base: &str) -> AppState {
    AppState {
        snapshots,
        config: Arc::new(ApiConfig::new(base)),
        auth: Arc::new(access::OpenAccess),
        limiter: None,
        faults: None,
        exports: None,
        metrics: None,
    }
}

/// A server running on a loopback port (until `handle` is aborted or the runtime ends).
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub handle: tokio::task::JoinHandle<()>,
}

/// Binds `127.0.0.1:<port>` (0: a free port chosen by the OS).
pub async fn bind_loopback(port: u16) -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind a loopback port");
    let base = format!(
        "http://{}",
        listener.local_addr().expect("the bound address")
    );
    (listener, base)
}

/// Serves the API router over `snapshots` on loopback `port` (0: any free port);
/// `configure` adjusts the state made by [`api_state`] (it is given the base URL's state).
pub async fn serve_api(
    snapshots: Arc<Snapshots>,
    port: u16,
    configure: impl FnOnce(&mut AppState),
) -> Served {
    let (listener, base) = bind_loopback(port).await;
    let mut state = api_state(snapshots, &base);
    configure(&mut state);
    serve_router(listener, base, server::router(state))
}

/// Serves any router on an already bound listener.
pub fn serve_router(
    listener: tokio::net::TcpListener,
    base: String,
    router: axum::Router,
) -> Served {
    let handle = tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("serve the router");
    });
    Served { base, handle }
}
