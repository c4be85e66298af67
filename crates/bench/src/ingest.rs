//! The ingest benchmark (`posture bench-ingest`): synthetic reports, padded to a given size,
//! posted as NDJSON batches by concurrent clients to a `posture serve` child process.

use crate::child::{holds_data, open_store, peak_rss_mb, spawn_server};
use crate::error::BenchError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to run.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    pub reports: u32,
    /// Software entries per report (the fleet's own, padded with line-of-business apps).
    pub software: usize,
    /// Settings per report (the catalogue's, padded with custom settings).
    pub settings: usize,
    /// Reports per request (NDJSON).
    pub batch: usize,
    /// Concurrent HTTP clients.
    pub concurrency: usize,
    /// Compress request bodies with gzip.
    pub gzip: bool,
    /// The `posture` executable the server runs as.
    pub posture: PathBuf,
    /// The `--store` URL (PostgreSQL); `None`: the data directory's SQLite file.
    pub store: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IngestBenchReport {
    pub reports: u32,
    pub software_per_report: usize,
    pub settings_per_report: usize,
    pub request_bytes: u64,
    pub seconds: f64,
    pub reports_per_second: f64,
    pub mb_per_second: f64,
    pub server_peak_rss_mb: f64,
    /// The same reports, in the same batches from as many threads, applied straight to
    /// a fresh store of the same kind through `ingest::apply_reports` (validation, then
    /// the store's bulk path: COPY on PostgreSQL), with no HTTP or JSON in between.
    pub direct_seconds: f64,
    pub direct_reports_per_second: f64,
    /// The ratio: through the API over straight into the store (≥ 0.5 wanted).
    pub api_over_direct: f64,
    /// CPU per report of what the API path adds, timed in this process on a sample.
    pub per_report: PerReportCost,
}

/// What the API path spends per report beyond the direct load, in microseconds
/// (medians of three passes over the same sample of reports).
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PerReportCost {
    pub sample: u32,
    /// A client writing the report as one NDJSON line.
    pub serialize_us: f64,
    /// The server parsing and validating the line (`DeviceReport::from_json`).
    pub parse_and_validate_us: f64,
    /// Validation alone (also part of the direct load).
    pub validate_us: f64,
    /// The answer's warnings about software that cannot be assessed.
    pub warnings_us: f64,
}

/// Times the API path's own work per report on `sample` reports of the benchmark's shape.
fn per_report_cost(args: &IngestOptions, sample: u32) -> PerReportCost {
    let cfg = emulator::FleetConfig::new(sample, 42, chrono::Utc::now());
    let reports: Vec<model::DeviceReport> = (0..sample)
        .map(|d| padded_report(&cfg, d, args.software, args.settings))
        .collect();
    let lines: Vec<Vec<u8>> = reports
        .iter()
        .map(|r| serde_json::to_vec(r).unwrap_or_default())
        .collect();
    let per_report = |f: &dyn Fn()| {
        let mut passes: Vec<f64> = (0..3)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed().as_secs_f64() * 1e6 / f64::from(sample.max(1))
            })
            .collect();
        passes.sort_by(f64::total_cmp);
        passes[1]
    };
    PerReportCost {
        sample,
        serialize_us: per_report(&|| {
            let mut out = Vec::with_capacity(64 << 10);
            for r in &reports {
                out.clear();
                let _ = serde_json::to_writer(&mut out, r);
                std::hint::black_box(&out);
            }
        }),
        parse_and_validate_us: per_report(&|| {
            for line in &lines {
                let _ = std::hint::black_box(model::DeviceReport::from_json(line));
            }
        }),
        validate_us: per_report(&|| {
            for r in &reports {
                let _ = std::hint::black_box(r.validate());
            }
        }),
        warnings_us: per_report(&|| {
            for r in &reports {
                std::hint::black_box(ingest::assessment_warnings(r, 20));
            }
        }),
    }
}

/// A fleet report padded to the benchmark's size, deterministic in its index.
fn padded_report(
    cfg: &emulator::FleetConfig,
    i: u32,
    software: usize,
    settings: usize,
) -> model::DeviceReport {
    let mut r = emulator::device_report(cfg, i);
    let mut k = 0;
    while r.software.len() < software {
        r.software.push(model::InstalledSoftware {
            vendor: "contoso".into(),
            name: format!("lob_tool_{k:03}"),
            version: format!("{}.{}.{}", 1 + k % 7, i % 13, k % 5),
            cpe: None,
            ecosystem: None,
            disk_paths: vec![format!("C:\\Program Files\\Contoso\\Tool{k:03}\\tool.exe")],
            registry_paths: vec![],
            end_of_support: None,
            source: None,
        });
        k += 1;
    }
    let mut k = 0;
    while r.settings.len() < settings {
        r.settings.insert(
            format!("Custom.Policy.Setting{k:03}"),
            ((i as usize + k) % 3).to_string(),
        );
        k += 1;
    }
    r
}

/// Runs the benchmark on the fresh `data_dir`.
pub fn run(data_dir: &Path, args: &IngestOptions) -> Result<IngestBenchReport, BenchError> {
    let store_url = args.store.as_deref();
    if holds_data(data_dir, store_url)? {
        return Err(BenchError::Failed(format!(
            "{} (or its --store) already holds data; bench-ingest needs a fresh --data-dir and store",
            data_dir.display()
        )));
    }
    let (_, store) = open_store(data_dir, store_url)?;
    let key = ingest::keys::create_key(store.as_ref(), "bench")?.key;
    drop(store);
    // Timed before the loads, in a process that has done nothing else yet (the
    // machine's own speed still varies between runs: docs/scale.md).
    let per_report = per_report_cost(args, 1000.min(args.reports));
    // The server may process as many uploads at once as the direct load runs threads
    // (its default is half the cores, a production guard for the read API's latency):
    // the comparison is of the two paths, at the same parallelism.
    let concurrency = args.concurrency.max(1);
    let serve_args = [
        "--max-concurrent-ingest".to_owned(),
        concurrency.to_string(),
    ];
    let (mut child, base) = spawn_server(&args.posture, data_dir, store_url, &serve_args)?;
    let url = format!("{base}/ingest/v1/reports");
    let pid = child.id();
    let result = post_all(&url, &key, args);
    let rss = peak_rss_mb(pid);
    let _ = child.kill();
    let _ = child.wait();
    let (seconds, bytes) = result?;
    let (_, store) = open_store(data_dir, store_url)?;
    let stored = store.device_count()?;
    if stored != u64::from(args.reports) {
        return Err(BenchError::Failed(format!(
            "{stored} devices stored, {} reports sent",
            args.reports
        )));
    }
    drop(store);
    eprintln!("bench-ingest: the same reports straight into a fresh store ...");
    let direct_seconds = direct_load(data_dir, args)?;
    let direct_reports_per_second = f64::from(args.reports) / direct_seconds;
    let reports_per_second = f64::from(args.reports) / seconds;
    Ok(IngestBenchReport {
        reports: args.reports,
        software_per_report: args.software,
        settings_per_report: args.settings,
        request_bytes: bytes,
        seconds,
        reports_per_second,
        mb_per_second: bytes as f64 / 1e6 / seconds,
        server_peak_rss_mb: rss?,
        direct_seconds,
        direct_reports_per_second,
        api_over_direct: reports_per_second / direct_reports_per_second,
        per_report,
    })
}

/// Applies the benchmark's reports to a fresh store of the kind under test, in the same
/// batches from the same number of threads. Returns the seconds taken.
fn direct_load(data_dir: &Path, args: &IngestOptions) -> Result<f64, BenchError> {
    let target = data_dir.join("direct");
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(BenchError::io(target.display().to_string()))?;
    }
    let url = args.store.as_deref().map(sibling_database).transpose()?;
    let (_, store) = open_store(&target, url.as_deref())?;
    let cfg = emulator::FleetConfig::new(args.reports, 42, chrono::Utc::now());
    let batches = batches(args);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..args.concurrency.max(1))
            .map(|_| {
                scope.spawn(|| -> Result<(), BenchError> {
                    while let Some(&(from, to)) =
                        batches.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        let reports: Vec<_> = (from..to)
                            .map(|d| padded_report(&cfg, d, args.software, args.settings))
                            .collect();
                        ingest::apply_reports(store.as_ref(), &reports, chrono::Utc::now())?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| BenchError::Failed("loader thread panicked".into()))?
        })
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let stored = store.device_count()?;
    if stored != u64::from(args.reports) {
        return Err(BenchError::Failed(format!(
            "{stored} devices loaded directly, {} reports generated",
            args.reports
        )));
    }
    Ok(seconds)
}

/// A fresh database `<name>_direct` beside the one `url` names, on the same server
/// (dropped first if a previous run left it); returns its URL.
fn sibling_database(url: &str) -> Result<String, BenchError> {
    let bad =
        |why: String| BenchError::Failed(format!("{}: {why}", store::postgres::redact_url(url)));
    let mut parsed = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad(format!(
            "bench-ingest needs a database name of letters, digits and _ (got {name:?})"
        )));
    }
    let sibling = format!("{name}_direct");
    let mut client =
        postgres::Client::connect(url, postgres::NoTls).map_err(|e| bad(e.to_string()))?;
    // One statement each: CREATE DATABASE cannot run inside the implicit transaction of
    // a multi-statement query.
    for sql in [
        format!("DROP DATABASE IF EXISTS {sibling}"),
        format!("CREATE DATABASE {sibling}"),
    ] {
        client.batch_execute(&sql).map_err(|e| {
            let why = e
                .as_db_error()
                .map_or(e.to_string(), |d| d.message().to_owned());
            bad(format!("{sql}: {why}"))
        })?;
    }
    parsed.set_path(&format!("/{sibling}"));
    Ok(parsed.to_string())
}

/// The benchmark's batches, as ranges of report indexes.
fn batches(args: &IngestOptions) -> Vec<(u32, u32)> {
    (0..args.reports)
        .step_by(args.batch.max(1))
        .map(|s| (s, (s + args.batch as u32).min(args.reports)))
        .collect()
}

/// The report as text (`posture bench-ingest` without `--json`).
pub fn summary(report: &IngestBenchReport) -> String {
    format!(
        "ingested {} reports ({} software, {} settings each; {:.0} MB of requests) in {:.1}s: {:.0} reports/s, {:.0} MB/s; server peak RSS {:.0} MB\nstraight into a fresh store: {:.1}s, {:.0} reports/s; through the API / straight {:.2}\nper report (µs, {} sampled): client serialises {:.0}, server parses and validates {:.0} (validation alone {:.0}), warnings {:.0}",
        report.reports,
        report.software_per_report,
        report.settings_per_report,
        report.request_bytes as f64 / 1e6,
        report.seconds,
        report.reports_per_second,
        report.mb_per_second,
        report.server_peak_rss_mb,
        report.direct_seconds,
        report.direct_reports_per_second,
        report.api_over_direct,
        report.per_report.sample,
        report.per_report.serialize_us,
        report.per_report.parse_and_validate_us,
        report.per_report.validate_us,
        report.per_report.warnings_us,
    )
}

/// Posts every report in NDJSON batches from `concurrency` clients; batches are built
/// (and compressed) by the clients while others are in flight. Returns (seconds, bytes).
fn post_all(url: &str, key: &str, args: &IngestOptions) -> Result<(f64, u64), BenchError> {
    let cfg = emulator::FleetConfig::new(args.reports, 42, chrono::Utc::now());
    let batches = batches(args);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for _ in 0..args.concurrency.max(1) {
            workers.push(scope.spawn(|| -> Result<(), BenchError> {
                // The mean line of this client's previous batch (a report of the
                // benchmark's shape is about 40 KB).
                let mut last_line = 48usize << 10;
                let client = reqwest::blocking::Client::builder()
                    .timeout(std::time::Duration::from_secs(600))
                    .build()?;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(from, to)) = batches.get(i) else {
                        return Ok(());
                    };
                    // Sized for the batch at once: grown by doubling, a batch of 20 MB
                    // was copied about once more and its pages faulted twice.
                    let mut body = Vec::with_capacity(last_line * (to - from + 1) as usize);
                    for d in from..to {
                        serde_json::to_writer(
                            &mut body,
                            &padded_report(&cfg, d, args.software, args.settings),
                        )?;
                        body.push(b'\n');
                    }
                    last_line = body.len().div_ceil((to - from).max(1) as usize);
                    let mut req = client
                        .post(url)
                        .header("authorization", format!("Bearer {key}"))
                        .header("content-type", "application/x-ndjson");
                    if args.gzip {
                        use std::io::Write;
                        let mut e =
                            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                        let gzip = BenchError::io("cannot compress a request body");
                        body = e.write_all(&body).and_then(|()| e.finish()).map_err(gzip)?;
                        req = req.header("content-encoding", "gzip");
                    }
                    bytes.fetch_add(body.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    let response = req.body(body).send()?;
                    let status = response.status();
                    let answer: serde_json::Value = response.json()?;
                    if !status.is_success()
                        || answer["accepted"].as_u64() != Some(u64::from(to - from))
                    {
                        return Err(BenchError::Failed(format!(
                            "batch {from}..{to}: {status} {answer}"
                        )));
                    }
                }
            }));
        }
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| BenchError::Failed("client thread panicked".into()))?
        })
    })?;
    Ok((started.elapsed().as_secs_f64(), bytes.into_inner()))
}
