//! The knowledge base at NVD's size (`posture bench-kb`), in one run on this machine:
//!
//! 1. seed N synthetic devices with the demo knowledge base (the caller's `seed`);
//! 2. publish twice against the demo KB (the second is the one measured: like every
//!    later publish it diffs against a previous snapshot), with the publish's peak RSS;
//! 3. generate the NVD-sized synthetic KB (`emulator::write_scaled_kb`: the demo
//!    records plus bulk records of NVD's shape) as NVD API 2.0 pages;
//! 4. import every page and the KEV catalogue as `posture kb import` does
//!    (`ingest::import_feed_files`: one KB version), with its peak RSS;
//! 5. publish against the big KB (same fleet, same run): time, ratio to the demo
//!    publish, peak RSS, distinct software versions matched and the matching time;
//! 6. an incremental sync of 1,000 records changed upstream from a loopback NVD fixture
//!    (`feeds::sync` with an API key's rate limit; the imported KB is marked synced
//!    until the KB's time, as a completed full load leaves it), then the next publish.
//!
//! Peak RSS of a stage is this process's VmHWM after resetting it
//! (`/proc/self/clear_refs`) at the stage's start.

use crate::child::open_store;
use crate::error::{BenchError, BoxError};
use crate::scale::Operations;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// What to run.
#[derive(Clone, Debug)]
pub struct KbScaleOptions {
    pub devices: u32,
    pub seed: u64,
    /// Records of the big knowledge base.
    pub records: usize,
    /// Records changed upstream for the incremental sync.
    pub changed: usize,
    /// The data directory is already seeded (with the demo KB only): skip seeding.
    pub reuse: bool,
    pub quiet: bool,
}

/// One publish.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishFigures {
    pub seconds: f64,
    /// Of `seconds`, matching software and evaluating rules.
    pub assess_seconds: f64,
    /// Distinct software versions (per OS kind) assessed, each matched once.
    pub distinct_software: u64,
    pub findings: u64,
    pub vulnerability_rows: u64,
    pub peak_rss_mb: f64,
    pub changes: Option<snapshot::ChangeCounts>,
}

impl PublishFigures {
    fn of(p: &snapshot::PublishReport, peak_rss_mb: f64) -> Self {
        PublishFigures {
            seconds: p.seconds,
            assess_seconds: p.assess_seconds,
            distinct_software: p.distinct_software,
            findings: p.findings,
            vulnerability_rows: p
                .rows
                .get(&snapshot::ExportKind::Vulnerabilities)
                .copied()
                .unwrap_or(0),
            peak_rss_mb,
            changes: p.changes,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KbScaleReport {
    pub devices: u32,
    pub seed_seconds: Option<f64>,
    pub demo_kb_records: u64,
    pub demo_publish: PublishFigures,
    pub generate_seconds: f64,
    pub generated: Option<serde_json::Value>,
    pub kb_records: usize,
    pub kb_criteria: u64,
    pub kb_bytes: u64,
    pub import_seconds: f64,
    pub import_peak_rss_mb: f64,
    pub import_inserted: usize,
    pub import_unchanged: usize,
    pub big_publish: PublishFigures,
    /// `big_publish.seconds / demo_publish.seconds`.
    pub publish_ratio: f64,
    pub sync_changed: usize,
    pub sync_seconds: f64,
    pub sync_updated: usize,
    pub sync_requests: usize,
    pub publish_after_sync: PublishFigures,
}

fn operation(e: BoxError) -> BenchError {
    BenchError::Operation(e)
}

/// Resets this process's peak RSS (VmHWM) to its current RSS; a stage's peak is then
/// its own (when the kernel refuses, the peak covers the process so far).
fn reset_peak() {
    let _ = crate::child::reset_peak_rss("self");
}

fn own_peak_mb() -> f64 {
    crate::child::own_peak_rss_mb().unwrap_or(0.0)
}

fn measured_publish(
    ops: &dyn Operations,
    data_dir: &Path,
    quiet: bool,
) -> Result<PublishFigures, BenchError> {
    reset_peak();
    let p = ops.publish(data_dir, quiet).map_err(operation)?;
    Ok(PublishFigures::of(&p, own_peak_mb()))
}

/// Runs the benchmark on `data_dir`.
pub fn run(
    data_dir: &Path,
    args: &KbScaleOptions,
    ops: &dyn Operations,
) -> Result<KbScaleReport, BenchError> {
    let mut report = KbScaleReport {
        devices: args.devices,
        sync_changed: args.changed,
        ..Default::default()
    };
    if args.reuse {
        if !data_dir.join("state.db").exists() {
            return Err(BenchError::Failed(format!(
                "{} holds no seeded fleet to reuse",
                data_dir.display()
            )));
        }
    } else {
        if data_dir.join("state.db").exists() {
            return Err(BenchError::Failed(format!(
                "{} already holds data; bench-kb needs a fresh --data-dir (or pass --reuse)",
                data_dir.display()
            )));
        }
        eprintln!("bench-kb: seeding {} devices ...", args.devices);
        report.seed_seconds = Some(
            ops.seed(data_dir, args.devices, args.seed, args.quiet)
                .map_err(operation)?,
        );
    }
    let (path, store) = open_store(data_dir, None)?;
    let fleet = emulator::fleet_state(store.as_ref())
        .map_err(|e| operation(Box::new(e)))?
        .ok_or_else(|| BenchError::Failed("the data directory has no synthetic fleet".into()))?;
    let counts = store.kb_source_counts()?;
    report.demo_kb_records = counts
        .iter()
        .find(|(s, _)| s == ingest::SOURCE_NVD)
        .map_or(0, |(_, n)| *n);
    let options = emulator::ScaledKbOptions {
        records: args.records,
        seed: fleet.seed,
        now: fleet.base_now,
        page_size: emulator::nvd_scale::PAGE_SIZE,
    };
    if report.demo_kb_records as usize > args.records.min(100_000) {
        return Err(BenchError::Failed(format!(
            "the data directory's KB already has {} NVD records: bench-kb compares against the demo KB, seed a fresh one",
            report.demo_kb_records
        )));
    }

    eprintln!(
        "bench-kb: publishing against the demo KB ({} NVD records) ...",
        report.demo_kb_records
    );
    ops.publish(data_dir, args.quiet).map_err(operation)?;
    report.demo_publish = measured_publish(ops, data_dir, args.quiet)?;
    eprintln!("bench-kb: demo publish {:.1}s", report.demo_publish.seconds);

    let kb_dir = kb_dir(&path, args.records);
    eprintln!(
        "bench-kb: generating {} records into {} ...",
        args.records,
        kb_dir.display()
    );
    let started = Instant::now();
    let generated = emulator::write_scaled_kb(&options, &kb_dir, &|_| {})
        .map_err(|e| operation(Box::new(e)))?;
    report.generate_seconds = started.elapsed().as_secs_f64();
    report.kb_records = generated.records;
    report.kb_criteria = generated.shape.criteria;
    report.kb_bytes = generated.bytes;
    report.generated = Some(serde_json::json!({
        "shape": generated.shape,
        "proportions": generated.proportions,
        "demoRecords": generated.demo_records,
        "pages": generated.pages.len(),
    }));
    eprintln!(
        "bench-kb: generated {} records, {} criteria in {:.1}s; importing ...",
        generated.records, generated.shape.criteria, report.generate_seconds
    );

    reset_peak();
    let started = Instant::now();
    let imported = ingest::import_feed_files(store.as_ref(), &generated.files())?;
    report.import_seconds = started.elapsed().as_secs_f64();
    report.import_peak_rss_mb = own_peak_mb();
    report.import_inserted = imported.inserted;
    report.import_unchanged = imported.unchanged;
    eprintln!(
        "bench-kb: import {:.1}s ({} new, {} unchanged); publishing against it ...",
        report.import_seconds, imported.inserted, imported.unchanged
    );
    drop(generated);

    report.big_publish = measured_publish(ops, data_dir, args.quiet)?;
    report.publish_ratio = report.big_publish.seconds / report.demo_publish.seconds.max(1e-9);
    eprintln!(
        "bench-kb: publish {:.1}s ({:.2}x the demo KB's); incremental sync of {} records ...",
        report.big_publish.seconds, report.publish_ratio, args.changed
    );

    incremental_sync(store.clone(), &options, args.changed, &mut report)?;
    report.publish_after_sync = measured_publish(ops, data_dir, args.quiet)?;
    Ok(report)
}

/// Marks the imported NVD feed synced until the KB's time (as a completed full load
/// leaves it), then syncs from a loopback NVD fixture that holds `changed` records
/// modified after it.
fn incremental_sync(
    store: Arc<dyn ingest::StateStore>,
    options: &emulator::ScaledKbOptions,
    changed: usize,
    report: &mut KbScaleReport,
) -> Result<(), BenchError> {
    let synced_until = options.now;
    let modified_at = synced_until + Duration::hours(1);
    let sync_now = synced_until + Duration::hours(2);
    let cursor = feeds::nvd::NvdCursor {
        synced_until: Some(synced_until),
        pending: None,
    };
    ingest::commit_feed_syncs(
        store.as_ref(),
        vec![ingest::FeedSync {
            feed: ingest::FeedKind::Nvd,
            records: Vec::new(),
            cursor: Some(serde_json::to_string(&cursor)?),
        }],
        synced_until,
    )?;
    let page = Arc::new(emulator::scaled_kb_update(options, changed, modified_at));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(BenchError::io("cannot start the fixture runtime"))?;
    let requests = Arc::new(AtomicUsize::new(0));
    let base = runtime.block_on(fixture(page, changed, synced_until, requests.clone()))?;
    let config = feeds::SyncConfig {
        nvd: Some(feeds::NvdConfig::new(&base, Some("bench-key".into()))),
        ..feeds::SyncConfig::default()
    };
    let started = Instant::now();
    let outcome = runtime
        .block_on(feeds::sync(
            store.as_ref(),
            &config,
            sync_now,
            &feeds::NoProgress,
        ))
        .map_err(|e| operation(Box::new(e)))?;
    report.sync_seconds = started.elapsed().as_secs_f64();
    report.sync_updated = outcome.updated + outcome.inserted;
    report.sync_requests = requests.load(Ordering::Relaxed);
    if !outcome.failures.is_empty() {
        return Err(BenchError::Failed(format!(
            "incremental sync failed: {:?}",
            outcome.failures
        )));
    }
    Ok(())
}

/// A loopback NVD CVE API 2.0 endpoint answering `lastMod` windows that reach past
/// `since` with the changed records (paged by `startIndex`/`resultsPerPage`), and 400
/// for anything else (a full load, a window wider than 120 days).
async fn fixture(
    page: Arc<Vec<u8>>,
    total: usize,
    since: DateTime<Utc>,
    requests: Arc<AtomicUsize>,
) -> Result<String, BenchError> {
    use axum::extract::Query;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use std::collections::HashMap;
    let handler = move |Query(q): Query<HashMap<String, String>>| {
        let page = page.clone();
        let requests = requests.clone();
        async move {
            requests.fetch_add(1, Ordering::Relaxed);
            let date = |k: &str| {
                q.get(k)
                    .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
                    .map(|d| d.with_timezone(&Utc))
            };
            let (Some(start), Some(end)) = (date("lastModStartDate"), date("lastModEndDate"))
            else {
                return (
                    StatusCode::BAD_REQUEST,
                    "lastModStartDate and lastModEndDate required",
                )
                    .into_response();
            };
            if end - start > Duration::days(120) || start < since - Duration::days(1) {
                return (StatusCode::BAD_REQUEST, "bad lastMod window").into_response();
            }
            let index: usize = q
                .get("startIndex")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if index == 0 {
                page.as_ref().clone().into_response()
            } else {
                format!(
                    r#"{{"resultsPerPage":0,"startIndex":{index},"totalResults":{total},"format":"NVD_CVE","version":"2.0","timestamp":"2026-01-01T00:00:00.000","vulnerabilities":[]}}"#
                )
                .into_response()
            }
        }
    };
    let app = axum::Router::new().route("/rest/json/cves/2.0", axum::routing::get(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(BenchError::io("cannot bind the NVD fixture"))?;
    let addr = listener
        .local_addr()
        .map_err(BenchError::io("no fixture address"))?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/rest/json/cves/2.0"))
}

/// The report as text.
pub fn summary(r: &KbScaleReport) -> String {
    let p = |f: &PublishFigures| {
        format!(
            "{:.1}s (matching {:.1}s over {} distinct software versions; {} findings, {} vulnerability rows), peak RSS {:.0} MB",
            f.seconds,
            f.assess_seconds,
            f.distinct_software,
            f.findings,
            f.vulnerability_rows,
            f.peak_rss_mb
        )
    };
    format!(
        "devices {}  seed {}\nKB generated: {} records, {} criteria, {:.0} MB in {:.1}s\nimport {:.1}s ({} new, {} unchanged), peak RSS {:.0} MB\npublish, demo KB ({} NVD records): {}\npublish, {}-record KB: {}\nratio {:.2}x\nincremental sync of {} changed records: {:.2}s ({} updated, {} requests)\npublish after the sync: {}",
        r.devices,
        r.seed_seconds.map_or("-".into(), |s| format!("{s:.1}s")),
        r.kb_records,
        r.kb_criteria,
        r.kb_bytes as f64 / 1e6,
        r.generate_seconds,
        r.import_seconds,
        r.import_inserted,
        r.import_unchanged,
        r.import_peak_rss_mb,
        r.demo_kb_records,
        p(&r.demo_publish),
        r.kb_records,
        p(&r.big_publish),
        r.publish_ratio,
        r.sync_changed,
        r.sync_seconds,
        r.sync_updated,
        r.sync_requests,
        p(&r.publish_after_sync),
    )
}

/// Where `posture bench-kb` keeps the generated pages (inside the data directory).
pub fn kb_dir(data_dir: &Path, records: usize) -> PathBuf {
    data_dir.join(format!("kb-nvd-{records}"))
}
