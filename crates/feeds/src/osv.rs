//! OSV buckets: per ecosystem, `<ecosystem>/all.zip` for the first load, then
//! `<ecosystem>/modified_id.csv` (`<RFC 3339 time>,<id>` per line, newest first) and
//! the changed `<ecosystem>/<id>.json` records.

use crate::fetch::Fetcher;
use crate::{FeedError, OsvConfig, Progress, parse_as, to_json};
use chrono::{DateTime, NaiveDateTime, Utc};
use ingest::{FeedKind, FeedSync, KbRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per ecosystem, the newest modification time already imported.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OsvCursor {
    pub ecosystems: BTreeMap<String, DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Modified {
    modified: NaiveDateTime,
}

fn newest_modified(records: &[KbRecord], part: &str) -> Result<Option<DateTime<Utc>>, FeedError> {
    let mut newest = None;
    for r in records {
        let m: Modified = serde_json::from_str(&r.body).map_err(|e| FeedError::Invalid {
            part: part.to_owned(),
            reason: format!("{}: {e}", r.id),
        })?;
        let t = m.modified.and_utc();
        if newest.is_none_or(|n| n < t) {
            newest = Some(t);
        }
    }
    Ok(newest)
}

/// The ids modified after `since`, and the newest time listed.
fn changed_ids(
    csv: &[u8],
    since: DateTime<Utc>,
    part: &str,
) -> Result<(Vec<String>, DateTime<Utc>), FeedError> {
    let text = std::str::from_utf8(csv).map_err(|e| FeedError::Invalid {
        part: part.to_owned(),
        reason: e.to_string(),
    })?;
    let mut ids = Vec::new();
    let mut newest = since;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let invalid = |reason: String| FeedError::Invalid {
            part: format!("{part}:{}", index + 1),
            reason,
        };
        let (time, id) = line
            .split_once(',')
            .ok_or_else(|| invalid(format!("expected <time>,<id>, found {line:?}")))?;
        let time = DateTime::parse_from_rfc3339(time.trim())
            .map_err(|e| invalid(format!("time {time:?}: {e}")))?
            .with_timezone(&Utc);
        let id = id.trim();
        if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
            return Err(invalid(format!("not an OSV id: {id:?}")));
        }
        // Newest first: the rest is older than what is already imported.
        if time <= since {
            break;
        }
        newest = newest.max(time);
        ids.push(id.to_owned());
    }
    Ok((ids, newest))
}

pub(crate) async fn sync(
    fetcher: &Fetcher,
    config: &OsvConfig,
    cursor: Option<String>,
    progress: &dyn Progress,
) -> Result<FeedSync, FeedError> {
    let mut cursor: OsvCursor = match cursor {
        Some(c) => serde_json::from_str(&c).map_err(|e| FeedError::Invalid {
            part: "stored OSV cursor".into(),
            reason: e.to_string(),
        })?,
        None => OsvCursor::default(),
    };
    let base = config.base_url.trim_end_matches('/');
    let mut records: BTreeMap<String, KbRecord> = BTreeMap::new();
    let total = config.ecosystems.len() as u64;
    for (done, ecosystem) in config.ecosystems.iter().enumerate() {
        progress.progress("osv", done as u64, Some(total));
        let dir = format!("{base}/{ecosystem}");
        match cursor.ecosystems.get(ecosystem).copied() {
            None => {
                let url = format!("{dir}/all.zip");
                let bytes = fetcher.get(&url, &[], &[], None).await?;
                let fetched = parse_as(&bytes, &url, FeedKind::Osv)?;
                if let Some(newest) = newest_modified(&fetched, &url)? {
                    cursor.ecosystems.insert(ecosystem.clone(), newest);
                }
                records.extend(fetched.into_iter().map(|r| (r.id.clone(), r)));
            }
            Some(since) => {
                let url = format!("{dir}/modified_id.csv");
                let csv = fetcher.get(&url, &[], &[], None).await?;
                let (ids, newest) = changed_ids(&csv, since, &url)?;
                for id in ids {
                    let url = format!("{dir}/{id}.json");
                    let bytes = fetcher.get(&url, &[], &[], None).await?;
                    records.extend(
                        parse_as(&bytes, &url, FeedKind::Osv)?
                            .into_iter()
                            .map(|r| (r.id.clone(), r)),
                    );
                }
                cursor.ecosystems.insert(ecosystem.clone(), newest);
            }
        }
    }
    progress.progress("osv", total, Some(total));
    Ok(FeedSync {
        feed: FeedKind::Osv,
        records: records.into_values().collect(),
        cursor: Some(to_json(&cursor, "OSV cursor")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_ids_stop_at_the_cursor() {
        let csv = b"2026-12-02T10:00:00Z,GHSA-b\n2026-12-01T10:00:00Z,PYSEC-a\n2026-11-01T00:00:00Z,OLD-1\n";
        let since = "2026-11-15T00:00:00Z".parse().unwrap();
        let (ids, newest) = changed_ids(csv, since, "m.csv").unwrap();
        assert_eq!(ids, ["GHSA-b", "PYSEC-a"]);
        assert_eq!(newest.to_rfc3339(), "2026-12-02T10:00:00+00:00");
        assert!(changed_ids(b"2026-12-02T10:00:00Z,../x\n", since, "m.csv").is_err());
        assert!(changed_ids(b"garbage\n", since, "m.csv").is_err());
    }
}
