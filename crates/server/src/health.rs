//! Knowledge-base freshness: each feed's age (since its last sync or import) against
//! a threshold ([`ApiConfig::kb_max_age`](crate::ApiConfig::kb_max_age)). `/healthz`
//! lists it and warns about stale feeds; `posture serve` exports the same figures as
//! `posture_kb_feed_age_seconds{feed}` and `posture_kb_feed_stale{feed}`.
//!
//! Readiness ([`readiness`], `/readyz`): whether this node should be sent traffic: the
//! state store answers, a snapshot is loaded, and the node is not draining ([`Drain`]).

use chrono::{DateTime, Duration, Utc};
use ingest::{IngestError, StateStore};
use serde::Serialize;

/// One feed's freshness.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedHealth {
    pub feed: String,
    /// The later of its last sync and last import.
    pub last_update: DateTime<Utc>,
    pub age_seconds: i64,
    pub records: u64,
    /// Older than the threshold.
    pub stale: bool,
}

/// Every feed that was ever synced or imported, with its age at `now`.
pub fn feed_health(
    store: &dyn StateStore,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<Vec<FeedHealth>, IngestError> {
    Ok(ingest::feed_states(store)?
        .into_iter()
        .filter_map(|f| {
            let last = f.last_sync.max(f.last_import)?;
            let age = now - last;
            Some(FeedHealth {
                feed: f.feed,
                last_update: last,
                age_seconds: age.num_seconds().max(0),
                records: f.records,
                stale: age > max_age,
            })
        })
        .collect())
}

/// One warning line per stale feed.
pub fn stale_warnings(feeds: &[FeedHealth], max_age: Duration) -> Vec<String> {
    feeds
        .iter()
        .filter(|f| f.stale)
        .map(|f| {
            format!(
                "feed {} was last updated {} ({} h ago), longer ago than the {} h threshold: run `posture kb sync` or `serve --kb-sync-every`",
                f.feed,
                f.last_update.to_rfc3339(),
                f.age_seconds / 3600,
                max_age.num_hours()
            )
        })
        .collect()
}

/// What the state store and the snapshot store answer now (empty: both answered).
async fn store_pings(state: &crate::AppState) -> Vec<String> {
    let snapshots = state.snapshots.clone();
    let ping = tokio::time::timeout(
        STORE_PING_TIMEOUT,
        tokio::task::spawn_blocking(move || snapshots.store().ping()),
    )
    .await;
    let mut not_ready = Vec::new();
    match ping {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => not_ready.push(format!("state store: {e}")),
        Ok(Err(e)) => not_ready.push(format!("state store: the check failed: {e}")),
        Err(_) => not_ready.push(format!(
            "state store: no answer within {} s",
            STORE_PING_TIMEOUT.as_secs()
        )),
    }
    if let Some(objects) = state.snapshots.objects().cloned() {
        let ping = tokio::task::spawn_blocking(move || objects.ping(STORE_PING_TIMEOUT)).await;
        match ping {
            Ok(Ok(())) => {}
            Ok(Err(e)) => not_ready.push(format!("snapshot store: {e}")),
            Err(e) => not_ready.push(format!("snapshot store: the check failed: {e}")),
        }
    }
    not_ready
}

/// The stores' last answer to readiness pings, so a metrics scrape reuses a recent one
/// instead of making round trips of its own (`/readyz` always asks afresh).
#[derive(Clone, Debug, Default)]
pub struct Pings(std::sync::Arc<tokio::sync::Mutex<Option<PingOutcome>>>);

/// When the stores were asked, and what was not ready.
type PingOutcome = (std::time::Instant, Vec<String>);

impl Pings {
    /// The last outcome if younger than `max_age`, else a fresh one from `ping`.
    async fn outcome<F: std::future::Future<Output = Vec<String>>>(
        &self,
        max_age: std::time::Duration,
        ping: impl FnOnce() -> F,
    ) -> Vec<String> {
        let mut last = self.0.lock().await;
        if let Some((at, outcome)) = last.as_ref()
            && at.elapsed() < max_age
        {
            return outcome.clone();
        }
        let outcome = ping().await;
        *last = Some((std::time::Instant::now(), outcome.clone()));
        outcome
    }
}

/// How old a ping outcome `/metrics` reuses may be.
pub const METRICS_PING_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(15);

/// How long `/readyz` waits for the state store to answer.
pub const STORE_PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether the node is draining: set once when shutdown starts (SIGTERM), never
/// cleared. Shared by the node (which sets it) and the handlers (which read it).
#[derive(Clone, Debug, Default)]
pub struct Drain(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drain {
    /// Marks the node as draining: `/readyz` answers 503 from now on.
    pub fn start(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The snapshot a node serves.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServingSnapshot {
    pub seq: u64,
    pub time_path: String,
    pub generated_at: String,
    pub devices: u64,
}

/// The answer of `/readyz`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// `ready` or `not ready`.
    pub status: &'static str,
    /// What is not ready, one line each (empty when ready).
    pub not_ready: Vec<String>,
    pub snapshot: Option<ServingSnapshot>,
    pub draining: bool,
}

impl Readiness {
    /// Ready: nothing is listed as not ready.
    pub fn is_ready(&self) -> bool {
        self.not_ready.is_empty()
    }
}

/// Whether the node is ready: the state store answers a ping within
/// [`STORE_PING_TIMEOUT`], a snapshot is loaded, and the node is not draining. Also
/// sets the gauges `posture_ready` (0 or 1) and `posture_serving_snapshot_seq` (0: none).
pub async fn readiness(state: &crate::AppState, max_age: std::time::Duration) -> Readiness {
    let latest = state.snapshots.latest();
    let draining = state.config.drain.is_draining();
    let mut not_ready = state
        .config
        .pings
        .outcome(max_age, || store_pings(state))
        .await;
    if latest.is_none() {
        not_ready.push("snapshot: none loaded yet (run `posture publish`)".into());
    }
    if draining {
        not_ready.push("draining: the node is shutting down".into());
    }
    let ready = not_ready.is_empty();
    let snapshot = latest.as_ref().map(|s| ServingSnapshot {
        seq: s.manifest.seq,
        time_path: s.time_path().to_owned(),
        generated_at: model::timefmt::generated(&s.manifest.generated_at),
        devices: s.manifest.devices,
    });
    metrics::gauge!("posture_ready").set(if ready { 1.0 } else { 0.0 });
    metrics::gauge!("posture_serving_snapshot_seq")
        .set(snapshot.as_ref().map_or(0.0, |s| s.seq as f64));
    Readiness {
        status: if ready { "ready" } else { "not ready" },
        not_ready,
        snapshot,
        draining,
    }
}
