//! The console's page times: every console page fetched from a running `posture serve`
//! (authentication off, so the console is open), several times each, timing the whole
//! response. The pages read the snapshot's summary tables (and, for a CVE or a device,
//! that CVE's or device's rows), so their time should not grow with the fleet: the
//! budget is 200 ms per page at 100K devices.

use crate::error::BenchError;
use serde::Serialize;
use snapshot::Snapshot;
use std::time::Instant;

/// The budget per page.
pub const BUDGET_MS: f64 = 200.0;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageTime {
    pub page: String,
    pub status: u16,
    pub bytes: usize,
    /// The first fetch (the summary read from disk if not yet cached).
    pub first_ms: f64,
    pub median_ms: f64,
    pub max_ms: f64,
}

/// The pages to time on `snapshot`: every page, with the most exposed CVE, a device
/// with vulnerabilities, and a search by part of a device name.
pub fn pages(snapshot: &Snapshot) -> Vec<String> {
    let mut pages = vec![
        "/console".to_owned(),
        "/console/vulnerabilities".into(),
        "/console/vulnerabilities?severity=High&kev=on".into(),
        "/console/software".into(),
        "/console/devices".into(),
        "/console/configuration".into(),
        "/console/coverage".into(),
    ];
    if let Some(top) = snapshot
        .summary()
        .and_then(|s| s.cves(None).into_iter().next())
    {
        pages.push(format!("/console/vulnerabilities/{}", top.cve));
    }
    let last = snapshot.device_count().saturating_sub(1);
    let id = String::from_utf8_lossy(snapshot.device_id(last)).into_owned();
    if !id.is_empty() {
        pages.push(format!("/console/devices/{id}"));
        pages.push(format!("/console/devices?q={}", &id[..id.len().min(10)]));
    }
    pages
}

/// Fetches each page `repeat` times from `base`.
pub fn measure(base: &str, pages: &[String], repeat: usize) -> Result<Vec<PageTime>, BenchError> {
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()?;
    let mut out = Vec::new();
    for page in pages {
        let mut times = Vec::new();
        let (mut status, mut bytes) = (0, 0);
        for _ in 0..repeat.max(1) {
            let started = Instant::now();
            let response = client.get(format!("{base}{page}")).send()?;
            status = response.status().as_u16();
            bytes = response.bytes()?.len();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        if status != 200 {
            return Err(BenchError::Failed(format!("{page} answered {status}")));
        }
        let first_ms = times[0];
        times.sort_by(f64::total_cmp);
        out.push(PageTime {
            page: page.clone(),
            status,
            bytes,
            first_ms,
            median_ms: times[times.len() / 2],
            max_ms: times[times.len() - 1],
        });
    }
    Ok(out)
}

/// The page times as text.
pub fn summary(times: &[PageTime]) -> String {
    let mut out = String::from("console page times (whole response, ms): first / median / max\n");
    for t in times {
        let flag = if t.max_ms <= BUDGET_MS {
            ""
        } else {
            "  OVER 200 ms"
        };
        out.push_str(&format!(
            "  {:<60} {:>8.1} {:>8.1} {:>8.1}  {:>8} bytes{flag}\n",
            t.page, t.first_ms, t.median_ms, t.max_ms, t.bytes
        ));
    }
    out
}
