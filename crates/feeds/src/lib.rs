//! Feed syncing: a source that feeds `ingest`. It fetches the vulnerability feeds over
//! HTTP (or `file://` for air-gapped mirrors), pages and rate-limits where the service
//! asks for it, and hands parsed batches to `ingest`, which stores one sync as one
//! transaction (one KB version). This crate never writes the store itself.
//!
//! * NVD CVE API 2.0 ([`nvd`]): a full load by pages (`startIndex`, `resultsPerPage`),
//!   then incremental windows of at most 120 days by `lastModStartDate`/`lastModEndDate`;
//!   under NVD's rolling rate limit ([`RateLimit`]); retries with back-off on 403, 429,
//!   5xx and transport errors; fetched pages are staged through `ingest` with a cursor,
//!   so an interrupted sync resumes where it stopped and the KB is untouched until the
//!   feed's sync is complete.
//! * OSV ([`osv`]): per ecosystem, `<ecosystem>/all.zip` first, then
//!   `<ecosystem>/modified_id.csv` and the changed `<ecosystem>/<id>.json` records.
//! * CISA KEV (the JSON catalogue) and FIRST EPSS (`epss_scores-YYYY-MM-DD.csv.gz`).
//!
//! A feed that fails is reported (which feed, page or file, why) and contributes
//! nothing; the feeds that succeeded commit together.

mod fetch;
pub mod nvd;
pub mod osv;

use chrono::{DateTime, Duration as Days, Utc};
use ingest::{FeedKind, FeedSync, StateStore};
use serde::Serialize;
use std::time::Duration;

pub use fetch::{RateLimit, Retry};

/// NVD's CVE API 2.0 endpoint.
pub const NVD_URL: &str = "https://services.nvd.nist.gov/rest/json/cves/2.0";
/// Google's public OSV bucket.
pub const OSV_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// CISA's KEV JSON catalogue.
pub const KEV_URL: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
/// FIRST EPSS daily score files.
pub const EPSS_URL: &str = "https://epss.empiricalsecurity.com";

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("{part}: {source}")]
    Refused {
        part: String,
        source: ingest::IngestError,
    },
    #[error("{part}: {reason}")]
    Invalid { part: String, reason: String },
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
}

/// NVD access: endpoint, key, page size, rate limit.
#[derive(Clone, Debug)]
pub struct NvdConfig {
    pub base_url: String,
    /// Sent as the `apiKey` header.
    pub api_key: Option<String>,
    /// At most 2,000 (NVD's maximum).
    pub results_per_page: u32,
    pub rate: RateLimit,
    /// The widest `lastModStartDate`..`lastModEndDate` window NVD accepts.
    pub max_window_days: i64,
}

impl NvdConfig {
    /// NVD's published limits: 5 requests per rolling 30 s without a key, 50 with one.
    pub fn new(base_url: &str, api_key: Option<String>) -> Self {
        let max = if api_key.is_some() { 50 } else { 5 };
        NvdConfig {
            base_url: base_url.to_owned(),
            api_key,
            results_per_page: 2000,
            rate: RateLimit {
                max,
                window: Duration::from_secs(30),
                margin: Duration::from_secs(1),
            },
            max_window_days: 120,
        }
    }
}

/// OSV bucket and the ecosystems (bucket directory names: `PyPI`, `Debian`, ...) to sync.
#[derive(Clone, Debug)]
pub struct OsvConfig {
    pub base_url: String,
    pub ecosystems: Vec<String>,
}

/// Which feeds to sync, from where.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    pub nvd: Option<NvdConfig>,
    pub osv: Option<OsvConfig>,
    /// The KEV catalogue's URL.
    pub kev: Option<String>,
    /// The EPSS base URL (files `epss_scores-YYYY-MM-DD.csv.gz` under it).
    pub epss: Option<String>,
    pub retry: Retry,
    /// Per request (a slow page counts as a failed attempt).
    pub timeout: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            nvd: None,
            osv: None,
            kev: None,
            epss: None,
            retry: Retry::default(),
            timeout: Duration::from_secs(120),
        }
    }
}

/// Progress callbacks (the CLI draws bars).
pub trait Progress: Sync {
    /// `done` of `total` units (records, files) of `feed`.
    fn progress(&self, feed: &str, done: u64, total: Option<u64>);
}

/// No progress display.
pub struct NoProgress;

impl Progress for NoProgress {
    fn progress(&self, _: &str, _: u64, _: Option<u64>) {}
}

/// One feed that synced.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedOutcome {
    pub feed: FeedKind,
    /// Records fetched (new, changed or unchanged).
    pub records: usize,
}

/// One feed that failed: nothing of it was stored.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedFailure {
    pub feed: FeedKind,
    pub error: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub synced: Vec<FeedOutcome>,
    pub failures: Vec<FeedFailure>,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub kb_version: u64,
}

impl SyncReport {
    /// Whether the sync changed the knowledge base (a publish should reassess).
    pub fn changed(&self) -> bool {
        self.inserted + self.updated > 0
    }
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for s in &self.synced {
            writeln!(f, "{:?}: {} records fetched", s.feed, s.records)?;
        }
        for x in &self.failures {
            writeln!(f, "{:?} FAILED (KB unchanged for it): {}", x.feed, x.error)?;
        }
        write!(
            f,
            "{} new, {} updated, {} unchanged; KB version {}",
            self.inserted, self.updated, self.unchanged, self.kb_version
        )
    }
}

/// Syncs every configured feed and commits the ones that succeeded as one KB change.
/// `now` ends NVD's incremental window and picks EPSS's date.
pub async fn sync(
    store: &dyn StateStore,
    config: &SyncConfig,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> Result<SyncReport, FeedError> {
    let fetcher = fetch::Fetcher::new(config.retry.clone(), config.timeout)?;
    let states = ingest::feed_states(store)?;
    let cursor_of = |feed: FeedKind| {
        states
            .iter()
            .find(|s| s.feed == feed.source())
            .and_then(|s| s.cursor.clone())
    };
    let mut results: Vec<(FeedKind, Result<FeedSync, FeedError>)> = Vec::new();
    if let Some(nvd) = &config.nvd {
        let r = nvd::sync(
            store,
            &fetcher,
            nvd,
            cursor_of(FeedKind::Nvd),
            now,
            progress,
        )
        .await;
        results.push((FeedKind::Nvd, r));
    }
    if let Some(osv) = &config.osv {
        let r = osv::sync(&fetcher, osv, cursor_of(FeedKind::Osv), progress).await;
        results.push((FeedKind::Osv, r));
    }
    if let Some(url) = &config.kev {
        results.push((FeedKind::Kev, sync_kev(&fetcher, url, progress).await));
    }
    if let Some(base) = &config.epss {
        let r = sync_epss(&fetcher, base, cursor_of(FeedKind::Epss), now, progress).await;
        results.push((FeedKind::Epss, r));
    }
    let mut synced = Vec::new();
    let mut failures = Vec::new();
    let mut commits = Vec::new();
    for (feed, result) in results {
        match result {
            Ok(s) => {
                synced.push(FeedOutcome {
                    feed,
                    records: s.records.len(),
                });
                commits.push(s);
            }
            Err(e) => {
                tracing::warn!(feed = feed.source(), error = %e, "feed sync failed");
                failures.push(FeedFailure {
                    feed,
                    error: e.to_string(),
                });
            }
        }
    }
    let outcome = ingest::commit_feed_syncs(store, commits, now)?;
    Ok(SyncReport {
        synced,
        failures,
        inserted: outcome.inserted,
        updated: outcome.updated,
        unchanged: outcome.unchanged,
        kb_version: outcome.kb_version,
    })
}

async fn sync_kev(
    fetcher: &fetch::Fetcher,
    url: &str,
    progress: &dyn Progress,
) -> Result<FeedSync, FeedError> {
    progress.progress("kev", 0, Some(1));
    let bytes = fetcher.get(url, &[], &[], None).await?;
    let parsed = parse_as(&bytes, url, FeedKind::Kev)?;
    progress.progress("kev", 1, Some(1));
    Ok(FeedSync {
        feed: FeedKind::Kev,
        records: parsed,
        cursor: None,
    })
}

/// How many days back EPSS looks for the newest published file (it appears once a day).
const EPSS_LOOKBACK_DAYS: i64 = 3;

#[derive(serde::Deserialize, Serialize)]
struct EpssCursor {
    date: String,
}

async fn sync_epss(
    fetcher: &fetch::Fetcher,
    base: &str,
    cursor: Option<String>,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> Result<FeedSync, FeedError> {
    let last: Option<EpssCursor> = cursor.and_then(|c| serde_json::from_str(&c).ok());
    progress.progress("epss", 0, Some(1));
    let mut tried = Vec::new();
    for back in 0..EPSS_LOOKBACK_DAYS {
        let date = (now - Days::days(back)).format("%Y-%m-%d").to_string();
        if last.as_ref().is_some_and(|l| l.date == date) {
            // The newest file is the one already imported.
            progress.progress("epss", 1, Some(1));
            return Ok(FeedSync {
                feed: FeedKind::Epss,
                records: Vec::new(),
                cursor: None,
            });
        }
        let url = format!("{}/epss_scores-{date}.csv.gz", base.trim_end_matches('/'));
        match fetcher.get_optional(&url).await? {
            Some(bytes) => {
                let records = parse_as(&bytes, &url, FeedKind::Epss)?;
                progress.progress("epss", 1, Some(1));
                return Ok(FeedSync {
                    feed: FeedKind::Epss,
                    records,
                    cursor: Some(to_json(&EpssCursor { date }, &url)?),
                });
            }
            None => tried.push(url),
        }
    }
    Err(FeedError::Invalid {
        part: base.to_owned(),
        reason: format!("no EPSS file found: {}", tried.join(", ")),
    })
}

/// Parses a fetched part whole and checks it is the expected feed.
pub(crate) fn parse_as(
    bytes: &[u8],
    part: &str,
    kind: FeedKind,
) -> Result<Vec<ingest::KbRecord>, FeedError> {
    let parsed = ingest::parse_feed(bytes, part).map_err(|source| FeedError::Refused {
        part: part.to_owned(),
        source,
    })?;
    if parsed.kind != kind {
        return Err(FeedError::Invalid {
            part: part.to_owned(),
            reason: format!("expected a {kind:?} feed, found {:?}", parsed.kind),
        });
    }
    Ok(parsed.records)
}

pub(crate) fn to_json<T: Serialize>(value: &T, part: &str) -> Result<String, FeedError> {
    serde_json::to_string(value).map_err(|e| FeedError::Invalid {
        part: part.to_owned(),
        reason: e.to_string(),
    })
}

/// The OSV bucket directories of the ecosystems the fleet's reports name
/// (`Debian:12` → `Debian`), sorted.
pub fn fleet_ecosystems(store: &dyn StateStore) -> Result<Vec<String>, FeedError> {
    let mut names = std::collections::BTreeSet::new();
    store
        .scan_devices(1000, &mut |batch| {
            for device in batch {
                for sw in &device.report.software {
                    if let Some(eco) = &sw.ecosystem {
                        let bucket = eco.split(':').next().unwrap_or(eco).trim();
                        if !bucket.is_empty() {
                            names.insert(bucket.to_owned());
                        }
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| FeedError::Invalid {
            part: "fleet ecosystems".into(),
            reason: e.to_string(),
        })?;
    Ok(names.into_iter().collect())
}
