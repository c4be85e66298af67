//! `posture bench`: the measurements at scale, in one run on this machine.
//!
//! 1. seed + ingest N synthetic devices through the report path;
//! 2. publish (assessment time reported separately);
//! 3. start `posture serve` as a child process on the same data directory;
//! 4. walk every page of SoftwareVulnerabilitiesByMachine at the given page size,
//!    timing the first byte and the whole of each page, counting records;
//!    then the same walk with `Accept-Encoding: gzip` ([`GzipWalk`]: throughput, bytes on
//!    the wire, first byte of the deepest page, against the plain walk);
//! 5. read the server's peak RSS (VmHWM) from /proc.

use crate::commands;
use crate::datadir::DataDir;
use crate::{FleetArgs, PublishArgs};
use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use serde::Serialize;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 100_000)]
    pub devices: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Page size of the vulnerability walk.
    #[arg(long, default_value_t = 200_000)]
    pub page_size: u64,
    /// Reuse an already seeded and published data directory instead of starting fresh.
    #[arg(long)]
    pub reuse: bool,
    /// Also measure the via-files exports of the published snapshot: writing all five
    /// against compression alone, pigz and DuckDB, peak RSS, parallel download.
    #[arg(long)]
    pub exports: bool,
    /// After the walk, advance the fleet this many hours, publish, and measure the delta
    /// (diff time at publish, first delta page); 0 skips it.
    #[arg(long, default_value_t = 6)]
    pub advance_hours: u32,
}

/// Publishing in the benchmark measures the snapshot alone; the export files have their
/// own stage (`--exports`), measured against compression alone, pigz and DuckDB.
fn bench_publish_args() -> PublishArgs {
    PublishArgs {
        retain: 2,
        part_mib: 256,
        change_retention_days: 14,
        exports: crate::Switch::Off,
        export_backend: crate::ExportBackend::Local,
        export_level: 1,
    }
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    pub devices: u32,
    pub seed_seconds: Option<f64>,
    pub publish_seconds: Option<f64>,
    pub assess_seconds: Option<f64>,
    pub vulnerability_rows: u64,
    pub rows: std::collections::BTreeMap<String, u64>,
    pub page_size: u64,
    pub pages: usize,
    pub ttfb_first_page_ms: f64,
    pub ttfb_last_page_ms: f64,
    pub ttfb_max_ms: f64,
    pub ttfb_last_over_first: f64,
    pub walk_seconds: f64,
    pub walk_mb_per_s: f64,
    /// Bytes on the wire of the plain walk.
    pub walk_bytes: u64,
    /// The same walk with `Accept-Encoding: gzip`, in the same run.
    pub gzip_walk: Option<GzipWalk>,
    pub server_peak_rss_mb: f64,
    pub advance_seconds: Option<f64>,
    pub delta_publish_seconds: Option<f64>,
    pub delta_diff_seconds: Option<f64>,
    pub delta_changes: Option<snapshot::ChangeCounts>,
    pub delta_changed_percent: Option<f64>,
    pub delta_ttfb_first_page_ms: Option<f64>,
    pub delta_records: Option<u64>,
    pub exports: Option<serde_json::Value>,
}

fn uuid_for_bench() -> String {
    "12345678-195f-4223-9c7a-99fb420fd000".into()
}

pub fn run(data_dir: &Path, args: &BenchArgs, json: bool) -> Result<()> {
    let mut report = BenchReport {
        devices: args.devices,
        page_size: args.page_size,
        ..Default::default()
    };
    if !args.reuse {
        if data_dir.join("state.db").exists() {
            bail!(
                "{} already holds data; bench needs a fresh --data-dir (or pass --reuse)",
                data_dir.display()
            );
        }
        let dir = DataDir::open(data_dir)?;
        eprintln!("bench: seeding {} devices ...", args.devices);
        let seeded = commands::seed(
            &dir,
            &FleetArgs {
                devices: args.devices,
                seed: args.seed,
            },
            true,
            json,
        )?;
        report.seed_seconds = Some(seeded.seconds);
        eprintln!("bench: seed+ingest {:.1}s; publishing ...", seeded.seconds);
        let publish = bench_publish_args();
        let snapshots = dir.snapshots(publish.retain)?;
        let published = commands::publish(&dir, &snapshots, &publish, json)?;
        report.publish_seconds = Some(published.seconds);
        report.assess_seconds = Some(published.assess_seconds);
        eprintln!(
            "bench: publish {:.1}s (assessment {:.1}s)",
            published.seconds, published.assess_seconds
        );
    }
    {
        let dir = DataDir::open(data_dir)?;
        let snapshots = dir.snapshots(usize::MAX)?;
        let latest = snapshots.latest().context("no snapshot to serve")?;
        report.rows = latest
            .manifest
            .exports
            .iter()
            .map(|(k, e)| (format!("{k:?}"), e.rows))
            .collect();
        report.vulnerability_rows = latest.rows(snapshot::ExportKind::Vulnerabilities);
    }
    if args.exports {
        let dir = DataDir::open(data_dir)?;
        let snapshots = dir.snapshots(usize::MAX)?;
        let latest = snapshots.latest().context("no snapshot to export")?;
        eprintln!("bench: exports (all five, against compression alone, pigz and DuckDB) ...");
        let options = export::ExportOptions::new(uuid_for_bench());
        let figures = export::bench::run(
            &latest,
            &options,
            0,
            &export::bench::BenchOptions::new(&data_dir.join("bench-export")),
        )?;
        eprintln!("{}", export::bench::summary(&figures));
        report.exports = Some(serde_json::to_value(&figures)?);
    }
    let (mut child, base) = spawn_server(data_dir)?;
    let result = walk(&base, child.id(), args, &mut report, data_dir);
    let _ = child.kill();
    let _ = child.wait();
    result?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "devices {}  vulnerability rows {}\nseed+ingest {}  publish {}  assessment {}\npages {} at pageSize {}: TTFB first {:.1} ms, last {:.1} ms (last/first {:.2}x), max {:.1} ms; walk {:.1}s ({:.0} MB/s)\nserver peak RSS {:.0} MB",
            report.devices,
            report.vulnerability_rows,
            fmt_s(report.seed_seconds),
            fmt_s(report.publish_seconds),
            fmt_s(report.assess_seconds),
            report.pages,
            report.page_size,
            report.ttfb_first_page_ms,
            report.ttfb_last_page_ms,
            report.ttfb_last_over_first,
            report.ttfb_max_ms,
            report.walk_seconds,
            report.walk_mb_per_s,
            report.server_peak_rss_mb
        );
        if let Some(g) = &report.gzip_walk {
            println!("{}", g.summary(&report));
        }
        if let (Some(c), Some(diff)) = (report.delta_changes, report.delta_diff_seconds) {
            println!(
                "after a {} h advance: {} new, {} fixed, {} updated ({:.2}% of rows); advance {}  publish {}  diff {diff:.2}s; first delta page TTFB {:.1} ms ({} records)",
                args.advance_hours,
                c.new,
                c.fixed,
                c.updated,
                report.delta_changed_percent.unwrap_or(0.0),
                fmt_s(report.advance_seconds),
                fmt_s(report.delta_publish_seconds),
                report.delta_ttfb_first_page_ms.unwrap_or(0.0),
                report.delta_records.unwrap_or(0)
            );
        }
    }
    Ok(())
}

fn fmt_s(s: Option<f64>) -> String {
    s.map_or("-".into(), |s| format!("{s:.1}s"))
}

/// Starts `posture serve` on a free loopback port as a child process; returns it and its base URL.
fn spawn_server(data_dir: &Path) -> Result<(std::process::Child, String)> {
    let exe = std::env::current_exe().context("cannot find the posture executable")?;
    let mut child = Command::new(exe)
        // The data path is measured here; authentication and limits have their own
        // benchmark (`cargo bench -p identity --bench auth`).
        .args([
            "--log",
            "warn",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--auth",
            "off",
            "--limits",
            "off",
            "--data-dir",
        ])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start posture serve")?;
    let stdout = child.stdout.take().context("no stdout from server")?;
    let mut base = String::new();
    std::io::BufReader::new(stdout).read_line(&mut base)?;
    let base = base.trim().to_owned();
    if base.is_empty() {
        let _ = child.kill();
        bail!("the server did not start");
    }
    Ok((child, base))
}

fn walk(
    base: &str,
    pid: u32,
    args: &BenchArgs,
    report: &mut BenchReport,
    data_dir: &Path,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut url = format!(
            "{base}/api/machines/SoftwareVulnerabilitiesByMachine?pageSize={}",
            args.page_size
        );
        let mut ttfb = Vec::new();
        let mut rows = 0u64;
        let mut bytes = 0u64;
        let walk_started = Instant::now();
        loop {
            let started = Instant::now();
            let response = client.get(&url).send().await?.error_for_status()?;
            let mut stream = response.bytes_stream();
            let mut body = Vec::new();
            let mut first = true;
            let mut tail: Vec<u8> = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                if first {
                    ttfb.push(started.elapsed().as_secs_f64() * 1000.0);
                    first = false;
                }
                bytes += chunk.len() as u64;
                // Count records by their first key, across chunk boundaries.
                tail.extend_from_slice(&chunk);
                rows += count(&tail, b"{\"id\":\"") as u64;
                let keep = tail.len().saturating_sub(6);
                tail.drain(..keep);
                last_bytes(&mut body, &chunk);
            }
            let text = String::from_utf8_lossy(&body);
            match text.rfind("\"@odata.nextLink\":\"") {
                Some(i) => {
                    let rest = &text[i + 19..];
                    url = rest[..rest.find('"').context("malformed nextLink")?].to_owned();
                }
                None => break,
            }
        }
        let walk = walk_started.elapsed().as_secs_f64();
        if rows != report.vulnerability_rows {
            bail!(
                "walk returned {rows} records, the snapshot has {}",
                report.vulnerability_rows
            );
        }
        report.pages = ttfb.len();
        report.ttfb_first_page_ms = ttfb.first().copied().unwrap_or(0.0);
        report.ttfb_last_page_ms = ttfb.last().copied().unwrap_or(0.0);
        report.ttfb_max_ms = ttfb.iter().copied().fold(0.0, f64::max);
        report.ttfb_last_over_first =
            report.ttfb_last_page_ms / report.ttfb_first_page_ms.max(1e-9);
        report.walk_seconds = walk;
        report.walk_mb_per_s = bytes as f64 / 1e6 / walk;
        report.walk_bytes = bytes;
        let gzip = gzip_walk(&client, base, args.page_size, report.vulnerability_rows).await?;
        gzip.check_against(report)?;
        report.gzip_walk = Some(gzip);
        Ok::<(), anyhow::Error>(())
    })?;
    report.server_peak_rss_mb = peak_rss_mb(pid)?;
    if args.advance_hours > 0 {
        delta(args, report, data_dir, base, &runtime)?;
    }
    Ok(())
}

/// Advances the fleet, publishes (timing the diff), waits until the running server
/// serves the new snapshot, then times the first delta page.
fn delta(
    args: &BenchArgs,
    report: &mut BenchReport,
    data_dir: &Path,
    base: &str,
    runtime: &tokio::runtime::Runtime,
) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    let snapshots = dir.snapshots(2)?;
    let previous = snapshots
        .latest()
        .context("no snapshot")?
        .manifest
        .generated_at;
    eprintln!(
        "bench: advancing {} h and publishing ...",
        args.advance_hours
    );
    let started = Instant::now();
    let publish = bench_publish_args();
    let advanced = commands::advance(&dir, &snapshots, args.advance_hours, &publish, true)?;
    report.advance_seconds = Some(started.elapsed().as_secs_f64() - advanced.publish.seconds);
    report.delta_publish_seconds = Some(advanced.publish.seconds);
    report.delta_diff_seconds = Some(advanced.publish.diff_seconds);
    report.delta_changes = advanced.publish.changes;
    if let Some(c) = advanced.publish.changes {
        report.delta_changed_percent =
            Some(100.0 * c.total() as f64 / report.vulnerability_rows.max(1) as f64);
    }
    let wanted = advanced.publish.time_path.clone();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let h: serde_json::Value = client.get(format!("{base}/healthz")).send().await?.json().await?;
            if h["snapshot"] == wanted.as_str() {
                break;
            }
            if Instant::now() > deadline {
                bail!("the server did not pick up the new snapshot");
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let since = (previous + chrono::Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%SZ");
        let url = format!("{base}/api/machines/SoftwareVulnerabilityChangesByMachine?sinceTime={since}&pageSize={}", args.page_size);
        let started = Instant::now();
        let response = client.get(&url).send().await?.error_for_status()?;
        let mut stream = response.bytes_stream();
        let mut first = None;
        let mut tail = Vec::new();
        let mut records = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            first.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1000.0);
            tail.extend_from_slice(&chunk);
            records += count(&tail, b"{\"id\":\"") as u64;
            let keep = tail.len().saturating_sub(6);
            tail.drain(..keep);
        }
        report.delta_ttfb_first_page_ms = first;
        report.delta_records = Some(records);
        Ok::<(), anyhow::Error>(())
    })
}

/// The vulnerability walk with `Accept-Encoding: gzip` (beside the plain walk).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct GzipWalk {
    pub pages: usize,
    pub records: u64,
    /// Compressed bytes received.
    pub wire_bytes: u64,
    /// The same pages decoded.
    pub decoded_bytes: u64,
    pub walk_seconds: f64,
    /// Decoded (page) megabytes per second, comparable with the plain walk's figure.
    pub decoded_mb_per_s: f64,
    pub wire_mb_per_s: f64,
    pub ttfb_first_page_ms: f64,
    /// First-byte time of the deepest (last) page.
    pub ttfb_last_page_ms: f64,
    pub ttfb_max_ms: f64,
}

impl GzipWalk {
    /// Both walks must have served the same records and the same page bytes.
    fn check_against(&self, plain: &BenchReport) -> Result<()> {
        if self.records != plain.vulnerability_rows || self.decoded_bytes != plain.walk_bytes {
            bail!(
                "gzip walk decoded {} records / {} bytes; the plain walk had {} / {}",
                self.records,
                self.decoded_bytes,
                plain.vulnerability_rows,
                plain.walk_bytes
            );
        }
        Ok(())
    }

    fn summary(&self, plain: &BenchReport) -> String {
        format!(
            "gzip walk: {:.1}s ({:.0} MB/s decoded, {:.0} MB/s on the wire; plain {:.1}s, {:.0} MB/s); bytes on the wire {:.1} MB vs {:.1} MB plain ({:.1}x smaller); TTFB deepest page {:.1} ms vs {:.1} ms plain, max {:.1} ms",
            self.walk_seconds,
            self.decoded_mb_per_s,
            self.wire_mb_per_s,
            plain.walk_seconds,
            plain.walk_mb_per_s,
            self.wire_bytes as f64 / 1e6,
            plain.walk_bytes as f64 / 1e6,
            plain.walk_bytes as f64 / (self.wire_bytes as f64).max(1.0),
            self.ttfb_last_page_ms,
            plain.ttfb_last_page_ms,
            self.ttfb_max_ms,
        )
    }
}

/// Walks every vulnerability page asking for gzip, decoding as the bytes arrive.
async fn gzip_walk(
    client: &reqwest::Client,
    base: &str,
    page_size: u64,
    expected_rows: u64,
) -> Result<GzipWalk> {
    use std::io::Write;
    let mut url =
        format!("{base}/api/machines/SoftwareVulnerabilitiesByMachine?pageSize={page_size}");
    let mut ttfb = Vec::new();
    let (mut records, mut wire, mut decoded) = (0u64, 0u64, 0u64);
    let started_walk = Instant::now();
    loop {
        let started = Instant::now();
        let response = client
            .get(&url)
            .header("accept-encoding", "gzip")
            .send()
            .await?
            .error_for_status()?;
        if response
            .headers()
            .get("content-encoding")
            .is_none_or(|v| v != "gzip")
        {
            bail!("the server did not gzip {url}");
        }
        let mut stream = response.bytes_stream();
        let mut decoder = flate2::write::GzDecoder::new(Vec::new());
        let (mut body, mut tail) = (Vec::new(), Vec::new());
        let mut first = true;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if first {
                ttfb.push(started.elapsed().as_secs_f64() * 1000.0);
                first = false;
            }
            wire += chunk.len() as u64;
            decoder.write_all(&chunk)?;
            let out = std::mem::take(decoder.get_mut());
            decoded += out.len() as u64;
            tail.extend_from_slice(&out);
            records += count(&tail, b"{\"id\":\"") as u64;
            let keep = tail.len().saturating_sub(6);
            tail.drain(..keep);
            last_bytes(&mut body, &out);
        }
        let out = decoder.finish()?;
        decoded += out.len() as u64;
        last_bytes(&mut body, &out);
        let text = String::from_utf8_lossy(&body);
        match text.rfind("\"@odata.nextLink\":\"") {
            Some(i) => {
                let rest = &text[i + 19..];
                url = rest[..rest.find('"').context("malformed nextLink")?].to_owned();
            }
            None => break,
        }
    }
    let seconds = started_walk.elapsed().as_secs_f64();
    if records != expected_rows {
        bail!("gzip walk returned {records} records, the snapshot has {expected_rows}");
    }
    Ok(GzipWalk {
        pages: ttfb.len(),
        records,
        wire_bytes: wire,
        decoded_bytes: decoded,
        walk_seconds: seconds,
        decoded_mb_per_s: decoded as f64 / 1e6 / seconds,
        wire_mb_per_s: wire as f64 / 1e6 / seconds,
        ttfb_first_page_ms: ttfb.first().copied().unwrap_or(0.0),
        ttfb_last_page_ms: ttfb.last().copied().unwrap_or(0.0),
        ttfb_max_ms: ttfb.iter().copied().fold(0.0, f64::max),
    })
}

/// Keeps the last 4 KiB of the body seen so far (the nextLink is at the end).
fn last_bytes(body: &mut Vec<u8>, chunk: &[u8]) {
    body.extend_from_slice(chunk);
    if body.len() > 8192 {
        body.drain(..body.len() - 4096);
    }
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn peak_rss_mb(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    let kb: f64 = line
        .split_whitespace()
        .nth(1)
        .context("bad VmHWM")?
        .parse()?;
    Ok(kb / 1024.0)
}

#[derive(clap::Args, Debug)]
pub struct IngestBenchArgs {
    #[arg(long, default_value_t = 100_000)]
    pub reports: u32,
    /// Software entries per report (the fleet's own, padded with line-of-business apps).
    #[arg(long, default_value_t = 150)]
    pub software: usize,
    /// Settings per report (the catalogue's, padded with custom settings).
    #[arg(long, default_value_t = 200)]
    pub settings: usize,
    /// Reports per request (NDJSON).
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Compress request bodies with gzip.
    #[arg(long)]
    pub gzip: bool,
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
}

/// A fleet report padded to the benchmark's size, deterministic in its index.
fn padded_report(
    cfg: &fleet::FleetConfig,
    i: u32,
    software: usize,
    settings: usize,
) -> model::DeviceReport {
    let mut r = fleet::device_report(cfg, i);
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

pub fn run_ingest(data_dir: &Path, args: &IngestBenchArgs, json: bool) -> Result<()> {
    if data_dir.join("state.db").exists() {
        bail!(
            "{} already holds data; bench-ingest needs a fresh --data-dir",
            data_dir.display()
        );
    }
    let dir = DataDir::open(data_dir)?;
    let key = ingest::keys::create_key(dir.store.as_ref(), "bench")?.key;
    drop(dir);
    let (mut child, base) = spawn_server(data_dir)?;
    let url = format!("{base}/ingest/v1/reports");
    let pid = child.id();
    let result = post_all(&url, &key, args);
    let rss = peak_rss_mb(pid);
    let _ = child.kill();
    let _ = child.wait();
    let (seconds, bytes) = result?;
    let dir = DataDir::open(data_dir)?;
    let stored = dir.store.device_count()?;
    if stored != u64::from(args.reports) {
        bail!("{stored} devices stored, {} reports sent", args.reports);
    }
    let report = IngestBenchReport {
        reports: args.reports,
        software_per_report: args.software,
        settings_per_report: args.settings,
        request_bytes: bytes,
        seconds,
        reports_per_second: f64::from(args.reports) / seconds,
        mb_per_second: bytes as f64 / 1e6 / seconds,
        server_peak_rss_mb: rss?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "ingested {} reports ({} software, {} settings each; {:.0} MB of requests) in {:.1}s: {:.0} reports/s, {:.0} MB/s; server peak RSS {:.0} MB",
            report.reports,
            report.software_per_report,
            report.settings_per_report,
            report.request_bytes as f64 / 1e6,
            report.seconds,
            report.reports_per_second,
            report.mb_per_second,
            report.server_peak_rss_mb
        );
    }
    Ok(())
}

/// Posts every report in NDJSON batches from `concurrency` clients; batches are built
/// (and compressed) by the clients while others are in flight. Returns (seconds, bytes).
fn post_all(url: &str, key: &str, args: &IngestBenchArgs) -> Result<(f64, u64)> {
    let cfg = fleet::FleetConfig::new(args.reports, 42, chrono::Utc::now());
    let batches: Vec<(u32, u32)> = (0..args.reports)
        .step_by(args.batch.max(1))
        .map(|s| (s, (s + args.batch as u32).min(args.reports)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for _ in 0..args.concurrency.max(1) {
            workers.push(scope.spawn(|| -> Result<()> {
                let client = reqwest::blocking::Client::builder()
                    .timeout(std::time::Duration::from_secs(600))
                    .build()?;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(from, to)) = batches.get(i) else {
                        return Ok(());
                    };
                    let mut body = Vec::new();
                    for d in from..to {
                        serde_json::to_writer(
                            &mut body,
                            &padded_report(&cfg, d, args.software, args.settings),
                        )?;
                        body.push(b'\n');
                    }
                    let mut req = client
                        .post(url)
                        .header("authorization", format!("Bearer {key}"))
                        .header("content-type", "application/x-ndjson");
                    if args.gzip {
                        use std::io::Write;
                        let mut e =
                            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                        e.write_all(&body)?;
                        body = e.finish()?;
                        req = req.header("content-encoding", "gzip");
                    }
                    bytes.fetch_add(body.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    let response = req.body(body).send()?;
                    let status = response.status();
                    let answer: serde_json::Value = response.json()?;
                    if !status.is_success()
                        || answer["accepted"].as_u64() != Some(u64::from(to - from))
                    {
                        bail!("batch {from}..{to}: {status} {answer}");
                    }
                }
            }));
        }
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| anyhow::anyhow!("client thread panicked"))?
        })
    })?;
    Ok((started.elapsed().as_secs_f64(), bytes.into_inner()))
}
