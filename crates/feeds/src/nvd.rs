//! NVD CVE API 2.0: a full load by pages, then incremental `lastMod` windows.
//!
//! Every page is parsed whole, then staged through `ingest` with the cursor saying
//! where to continue; the KB is written only when the whole sync is fetched, so an
//! interrupted or failed sync leaves the KB as it was and the next run resumes.

use crate::fetch::{Fetcher, RateLimiter};
use crate::{FeedError, NvdConfig, Progress, parse_as, to_json};
use chrono::{DateTime, Duration as Days, Utc};
use ingest::{FeedKind, FeedSync, KbRecord, StateStore};
use serde::{Deserialize, Serialize};

/// Where the NVD feed stands, persisted as the feed's cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NvdCursor {
    /// The end of the last committed sync: later syncs ask for records modified since.
    /// `None` until a full load has committed.
    pub synced_until: Option<DateTime<Utc>>,
    /// The sync in progress, when one was interrupted.
    pub pending: Option<Pending>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The end of this sync's last window (the time it started).
    pub sync_end: DateTime<Utc>,
    /// The current window's start; `None` for a full load.
    pub window_start: Option<DateTime<Utc>>,
    /// The next `startIndex` in the current window (or the full load).
    pub next_index: u64,
    /// The next staged part's number.
    pub next_part: u64,
}

/// The paging fields of an NVD response.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageHead {
    total_results: u64,
    #[serde(default)]
    vulnerabilities: Vec<serde::de::IgnoredAny>,
}

/// NVD's date parameter format (ISO 8601 with offset, milliseconds).
fn nvd_date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

pub(crate) async fn sync(
    store: &dyn StateStore,
    fetcher: &Fetcher,
    config: &NvdConfig,
    cursor: Option<String>,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> Result<FeedSync, FeedError> {
    let mut cursor: NvdCursor = match cursor {
        Some(c) => serde_json::from_str(&c).map_err(|e| FeedError::Invalid {
            part: "stored NVD cursor".into(),
            reason: e.to_string(),
        })?,
        None => NvdCursor::default(),
    };
    let mut pending = match cursor.pending.clone() {
        Some(p) => p,
        None => {
            ingest::clear_feed_staging(store, FeedKind::Nvd)?;
            Pending {
                sync_end: now,
                window_start: cursor.synced_until,
                next_index: 0,
                next_part: 0,
            }
        }
    };
    let limiter = RateLimiter::shared(&config.base_url, &config.rate);
    let mut limiter = limiter.lock().await;
    let per_page = config.results_per_page.clamp(1, 2000);
    let mut headers = Vec::new();
    if let Some(key) = &config.api_key {
        headers.push(("apiKey", key.clone()));
    }
    loop {
        let window_end = match pending.window_start {
            Some(start) if start >= pending.sync_end => break,
            Some(start) => Some((start + Days::days(config.max_window_days)).min(pending.sync_end)),
            None => None,
        };
        let mut query = vec![
            ("startIndex", pending.next_index.to_string()),
            ("resultsPerPage", per_page.to_string()),
        ];
        if let (Some(start), Some(end)) = (pending.window_start, window_end) {
            query.push(("lastModStartDate", nvd_date(start)));
            query.push(("lastModEndDate", nvd_date(end)));
        }
        let part = match (pending.window_start, window_end) {
            (Some(s), Some(e)) => format!(
                "NVD page startIndex={} of window {}..{}",
                pending.next_index,
                nvd_date(s),
                nvd_date(e)
            ),
            _ => format!("NVD page startIndex={}", pending.next_index),
        };
        let bytes = fetcher
            .get(&config.base_url, &query, &headers, Some(&mut *limiter))
            .await
            .map_err(|e| FeedError::Invalid {
                part: part.clone(),
                reason: e.to_string(),
            })?;
        // Parse the page whole before staging it: a corrupt page stops the sync here.
        parse_as(&bytes, &part, FeedKind::Nvd)?;
        let head: PageHead = serde_json::from_slice(&bytes).map_err(|e| FeedError::Invalid {
            part: part.clone(),
            reason: format!("not an NVD CVE API 2.0 response: {e}"),
        })?;
        let count = head.vulnerabilities.len() as u64;
        ingest::stage_feed_part(store, FeedKind::Nvd, pending.next_part, &bytes)?;
        pending.next_part += 1;
        pending.next_index += count;
        progress.progress("nvd", pending.next_index, Some(head.total_results));
        let window_done = pending.next_index >= head.total_results;
        if !window_done && count == 0 {
            return Err(FeedError::Invalid {
                part,
                reason: format!("empty page although totalResults is {}", head.total_results),
            });
        }
        if window_done {
            match window_end {
                Some(end) => {
                    pending.window_start = Some(end);
                    pending.next_index = 0;
                }
                None => pending.window_start = Some(pending.sync_end),
            }
        }
        cursor.pending = Some(pending.clone());
        ingest::save_feed_cursor(store, FeedKind::Nvd, &to_json(&cursor, &part)?)?;
    }
    // Every page is fetched: gather the staged pages (later pages win for an id).
    let mut records: std::collections::BTreeMap<String, KbRecord> = Default::default();
    for (part, bytes) in ingest::staged_feed_parts(store, FeedKind::Nvd)? {
        for r in parse_as(&bytes, &format!("staged NVD part {part}"), FeedKind::Nvd)? {
            records.insert(r.id.clone(), r);
        }
    }
    let done = NvdCursor {
        synced_until: Some(pending.sync_end),
        pending: None,
    };
    Ok(FeedSync {
        feed: FeedKind::Nvd,
        records: records.into_values().collect(),
        cursor: Some(to_json(&done, "NVD cursor")?),
    })
}
