//! Knowledge-base freshness: each feed's age (since its last sync or import) against
//! a threshold ([`ApiConfig::kb_max_age`](crate::ApiConfig::kb_max_age)). `/healthz`
//! lists it and warns about stale feeds; `posture serve` exports the same figures as
//! `posture_kb_feed_age_seconds{feed}` and `posture_kb_feed_stale{feed}`.

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
