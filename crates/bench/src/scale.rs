//! The scale benchmark (`posture bench`): the measurements, in one run on this machine.
//!
//! 1. seed + ingest N synthetic devices through the report path;
//! 2. publish (assessment time reported separately);
//! 3. start `posture serve` as a child process on the same data directory;
//! 4. walk every page of SoftwareVulnerabilitiesByMachine at the given page size,
//!    timing the first byte and the whole of each page, counting records;
//! 5. read the server's peak RSS (VmHWM) from /proc.
//!
//! Between 2 and 3, the state scan (`crate::state_scan`): the store's raw row scan and
//! the decoded scan publish does, on the same data directory.
//!
//! Seeding, publishing and advancing are the caller's (`Operations`): the benchmark times
//! the very code the `posture` subcommands run.

use crate::child::{
    holds_data, open_snapshots, own_peak_rss_mb, peak_rss_mb, reset_peak_rss, spawn_server,
};
use crate::error::{BenchError, BoxError};
use futures_util::StreamExt;
use serde::Serialize;
use snapshot::{DiskIo, PublishReport};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The operations the benchmark measures, as the binary runs them. Publishing measures
/// the snapshot alone (no export files, which have their own stage, `exports`), keeping
/// two snapshots.
pub trait Operations {
    /// Seeds `devices` synthetic devices (seed `seed`) and their knowledge base into the
    /// fresh data directory; returns the seconds it took.
    fn seed(&self, data_dir: &Path, devices: u32, seed: u64, quiet: bool) -> Result<f64, BoxError>;
    /// Assesses every device and publishes a snapshot.
    fn publish(&self, data_dir: &Path, quiet: bool) -> Result<PublishReport, BoxError>;
    /// Moves the synthetic fleet `hours` forward and publishes; returns the publish.
    fn advance(&self, data_dir: &Path, hours: u32) -> Result<PublishReport, BoxError>;
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ScaleOptions {
    pub devices: u32,
    pub seed: u64,
    /// Page size of the vulnerability walk.
    pub page_size: u64,
    /// Reuse an already seeded and published data directory instead of starting fresh.
    pub reuse: bool,
    /// Also measure the via-files exports of the published snapshot (`crate::exports`).
    pub exports: bool,
    /// With `exports`: leave out the DuckDB comparison (about 15 minutes at 1M devices).
    pub skip_duckdb: bool,
    /// After the walk, advance the fleet this many hours, publish, and measure the delta
    /// (diff time at publish, first delta page); 0 skips it.
    pub advance_hours: u32,
    /// Progress bars hidden (machine-readable output).
    pub quiet: bool,
    /// The `posture` executable the server runs as.
    pub posture: PathBuf,
    /// The `--store` URL (PostgreSQL); `None`: the data directory's SQLite file.
    pub store: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    pub devices: u32,
    pub seed_seconds: Option<f64>,
    pub publish_seconds: Option<f64>,
    pub assess_seconds: Option<f64>,
    pub vulnerability_rows: u64,
    pub rows: BTreeMap<String, u64>,
    pub page_size: u64,
    pub pages: usize,
    pub ttfb_first_page_ms: f64,
    pub ttfb_last_page_ms: f64,
    pub ttfb_max_ms: f64,
    pub ttfb_last_over_first: f64,
    /// The first and the last page requested again, alternately, after the walk
    /// ([`TTFB_REPEATS`] times each, on the warm connection): the median first-byte time
    /// of each. A single sample of a millisecond is mostly noise.
    pub ttfb_first_page_median_ms: f64,
    pub ttfb_last_page_median_ms: f64,
    pub ttfb_median_last_over_first: f64,
    pub walk_seconds: f64,
    pub walk_mb_per_s: f64,
    /// Bytes on the wire of the plain walk.
    pub walk_bytes: u64,
    /// The same walk with `Accept-Encoding: gzip`, in the same run.
    pub gzip_walk: Option<GzipWalk>,
    /// The server's peak resident set during the walks (reset after the console stage).
    pub server_peak_rss_mb: f64,
    /// The server's peak anonymous memory (`RssAnon`, sampled every 20 ms) from its start
    /// through the walks: what it allocated, without the snapshot pages it maps.
    pub server_peak_anon_mb: f64,
    /// The server's peak resident set from start through the console stage.
    pub server_console_peak_rss_mb: Option<f64>,
    /// Peak resident set of seeding (including the ingest of every report), and of the
    /// first publish; each reset before its stage, so it includes what was resident then.
    pub seed_peak_rss_mb: Option<f64>,
    pub publish_peak_rss_mb: Option<f64>,
    /// Of the publish, the time outside assessment: scanning state, rendering rows and
    /// fragments, writing and registering the snapshot.
    pub render_seconds: Option<f64>,
    /// The latest snapshot's files on disk (rows, fragments, indexes, summary).
    pub snapshot_bytes: u64,
    pub advance_seconds: Option<f64>,
    pub delta_publish_seconds: Option<f64>,
    pub delta_diff_seconds: Option<f64>,
    pub delta_changes: Option<snapshot::ChangeCounts>,
    pub delta_changed_percent: Option<f64>,
    pub delta_ttfb_first_page_ms: Option<f64>,
    pub delta_records: Option<u64>,
    pub exports: Option<serde_json::Value>,
    /// The store's raw and decoded state scans (`crate::state_scan`).
    pub state_scan: Option<crate::state_scan::StateScan>,
    /// Of the diff after `advance`, the bytes the process read from storage
    /// (`snapshot::DiskIo`).
    pub delta_diff_read_mb: Option<f64>,
    /// Each stage's storage traffic: `seed`, `publish`, `stateScan` and `advance` (with
    /// its publish) of this process, `walks` of the server over both walks. Reads the
    /// page cache served are not counted, nor a PostgreSQL server's reads and writes.
    pub disk_io: BTreeMap<&'static str, StageDiskIo>,
    /// The console's page times (`crate::console`), measured before the walk.
    pub console: Option<Vec<crate::console::PageTime>>,
}

/// A stage's storage traffic, in MB (10^6 bytes).
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StageDiskIo {
    /// Read from storage (not from the page cache).
    pub read_mb: f64,
    /// Dirtied for writing to storage (counted when dirtied, not when written back).
    pub written_mb: f64,
}

/// Counts the storage traffic of process `pid` (`"self"` or a number) over one stage.
struct DiskTraffic {
    pid: String,
    before: Option<DiskIo>,
}

impl DiskTraffic {
    fn start(pid: &str) -> Self {
        DiskTraffic {
            pid: pid.to_owned(),
            before: DiskIo::of_process(pid),
        }
    }

    /// The stage's traffic, recorded as `stage` (nothing where the kernel does not count).
    fn finish(self, report: &mut BenchReport, stage: &'static str) {
        let after = DiskIo::of_process(&self.pid);
        if let Some(t) = self.before.zip(after).map(|(b, a)| a.since(b)) {
            report.disk_io.insert(
                stage,
                StageDiskIo {
                    read_mb: t.read_bytes as f64 / 1e6,
                    written_mb: t.write_bytes as f64 / 1e6,
                },
            );
        }
    }
}

fn uuid_for_bench() -> String {
    "12345678-195f-4223-9c7a-99fb420fd000".into()
}

fn operation(e: BoxError) -> BenchError {
    BenchError::Operation(e)
}

/// Runs the benchmark on `data_dir`.
pub fn run(
    data_dir: &Path,
    args: &ScaleOptions,
    ops: &dyn Operations,
) -> Result<BenchReport, BenchError> {
    let mut report = BenchReport {
        devices: args.devices,
        page_size: args.page_size,
        ..Default::default()
    };
    if !args.reuse {
        if holds_data(data_dir, args.store.as_deref())? {
            return Err(BenchError::Failed(format!(
                "{} (or its --store) already holds data; bench needs a fresh --data-dir and store (or pass --reuse)",
                data_dir.display()
            )));
        }
        eprintln!("bench: seeding {} devices ...", args.devices);
        reset_peak_rss("self")?;
        let traffic = DiskTraffic::start("self");
        let seconds = ops
            .seed(data_dir, args.devices, args.seed, args.quiet)
            .map_err(operation)?;
        traffic.finish(&mut report, "seed");
        report.seed_seconds = Some(seconds);
        report.seed_peak_rss_mb = Some(own_peak_rss_mb()?);
        eprintln!("bench: seed+ingest {seconds:.1}s; publishing ...");
        reset_peak_rss("self")?;
        let traffic = DiskTraffic::start("self");
        let published = ops.publish(data_dir, args.quiet).map_err(operation)?;
        traffic.finish(&mut report, "publish");
        report.publish_peak_rss_mb = Some(own_peak_rss_mb()?);
        report.publish_seconds = Some(published.seconds);
        report.assess_seconds = Some(published.assess_seconds);
        report.render_seconds = Some(published.seconds - published.assess_seconds);
        eprintln!(
            "bench: publish {:.1}s (assessment {:.1}s)",
            published.seconds, published.assess_seconds
        );
    }
    {
        eprintln!("bench: state scan (raw and decoded) ...");
        let (path, store) = crate::child::open_store(data_dir, args.store.as_deref())?;
        let traffic = DiskTraffic::start("self");
        let scan = crate::state_scan::measure(
            store.as_ref(),
            &path.join("state.db"),
            snapshot::BuildOptions::default().batch,
        )?;
        traffic.finish(&mut report, "stateScan");
        eprintln!("{}", scan.summary());
        report.state_scan = Some(scan);
    }
    {
        let snapshots = open_snapshots(data_dir, args.store.as_deref(), usize::MAX)?;
        let latest = snapshots
            .latest()
            .ok_or_else(|| BenchError::Failed("no snapshot to serve".into()))?;
        report.rows = latest
            .manifest
            .exports
            .iter()
            .map(|(k, e)| (format!("{k:?}"), e.rows))
            .collect();
        report.vulnerability_rows = latest.rows(snapshot::ExportKind::Vulnerabilities);
        report.snapshot_bytes = dir_bytes(latest.dir())?;
    }
    if args.exports {
        let snapshots = open_snapshots(data_dir, args.store.as_deref(), usize::MAX)?;
        let latest = snapshots
            .latest()
            .ok_or_else(|| BenchError::Failed("no snapshot to export".into()))?;
        eprintln!("bench: exports (all five, against compression alone, pigz and DuckDB) ...");
        let options = export::ExportOptions::new(uuid_for_bench());
        let figures = crate::exports::run(
            &latest,
            &options,
            0,
            &crate::exports::BenchOptions {
                skip_duckdb: args.skip_duckdb,
                ..crate::exports::BenchOptions::new(&data_dir.join("bench-export"))
            },
        )?;
        eprintln!("{}", crate::exports::summary(&figures));
        report.exports = Some(serde_json::to_value(&figures)?);
    }
    let (mut child, base) = spawn_server(&args.posture, data_dir, args.store.as_deref(), &[])?;
    let anon = crate::child::AnonSampler::start(child.id());
    let pages = {
        let snapshots = open_snapshots(data_dir, args.store.as_deref(), usize::MAX)?;
        snapshots
            .latest()
            .map(|s| crate::console::pages(&s))
            .unwrap_or_default()
    };
    eprintln!("bench: console pages ...");
    match crate::console::measure(&base, &pages, 5) {
        Ok(times) => {
            eprint!("{}", crate::console::summary(&times));
            report.console = Some(times);
            // The walk's peak is the server's own: what the console pages held is
            // reported apart.
            report.server_console_peak_rss_mb = Some(peak_rss_mb(child.id())?);
            reset_peak_rss(&child.id().to_string())?;
        }
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    }
    let result = walk(&base, child.id(), args, &mut report, data_dir, ops, anon);
    let _ = child.kill();
    let _ = child.wait();
    result?;
    Ok(report)
}

/// The report as text (`posture bench` without `--json`).
pub fn summary(report: &BenchReport, advance_hours: u32) -> String {
    let mut out = format!(
        "devices {}  vulnerability rows {}\nseed+ingest {}  publish {}  assessment {}  scan+render+write {}\npages {} at pageSize {}: TTFB first {:.1} ms, last {:.1} ms (last/first {:.2}x), max {:.1} ms; median of {} again: first {:.2} ms, last {:.2} ms ({:.2}x); walk {:.1}s ({:.0} MB/s)\nserver peak RSS {:.0} MB",
        report.devices,
        report.vulnerability_rows,
        fmt_s(report.seed_seconds),
        fmt_s(report.publish_seconds),
        fmt_s(report.assess_seconds),
        fmt_s(report.render_seconds),
        report.pages,
        report.page_size,
        report.ttfb_first_page_ms,
        report.ttfb_last_page_ms,
        report.ttfb_last_over_first,
        report.ttfb_max_ms,
        TTFB_REPEATS,
        report.ttfb_first_page_median_ms,
        report.ttfb_last_page_median_ms,
        report.ttfb_median_last_over_first,
        report.walk_seconds,
        report.walk_mb_per_s,
        report.server_peak_rss_mb
    );
    out.push_str(&format!(
        " (through the console stage {}; anonymous memory {:.0} MB)\npeak RSS: seed {}  publish {}; snapshot on disk {:.0} MB",
        fmt_mb(report.server_console_peak_rss_mb),
        report.server_peak_anon_mb,
        fmt_mb(report.seed_peak_rss_mb),
        fmt_mb(report.publish_peak_rss_mb),
        report.snapshot_bytes as f64 / 1e6
    ));
    if let Some(s) = &report.state_scan {
        out.push('\n');
        out.push_str(&s.summary());
    }
    if let Some(g) = &report.gzip_walk {
        out.push('\n');
        out.push_str(&g.summary(report));
    }
    if let Some(times) = &report.console {
        out.push('\n');
        out.push_str(crate::console::summary(times).trim_end());
    }
    if let (Some(c), Some(diff)) = (report.delta_changes, report.delta_diff_seconds) {
        out.push_str(&format!(
            "\nafter a {} h advance: {} new, {} fixed, {} updated ({:.2}% of rows); advance {}  publish {}  diff {diff:.2}s; first delta page TTFB {:.1} ms ({} records)",
            advance_hours,
            c.new,
            c.fixed,
            c.updated,
            report.delta_changed_percent.unwrap_or(0.0),
            fmt_s(report.advance_seconds),
            fmt_s(report.delta_publish_seconds),
            report.delta_ttfb_first_page_ms.unwrap_or(0.0),
            report.delta_records.unwrap_or(0)
        ));
        if let Some(mb) = report.delta_diff_read_mb {
            out.push_str(&format!("; {mb:.0} MB read from storage during the diff"));
        }
    }
    if !report.disk_io.is_empty() {
        let stages: Vec<String> = report
            .disk_io
            .iter()
            .map(|(stage, io)| {
                format!(
                    "{stage} {:.0} MB read, {:.0} MB dirtied",
                    io.read_mb, io.written_mb
                )
            })
            .collect();
        out.push_str(&format!("\ndisk traffic: {}", stages.join("; ")));
    }
    out
}

fn fmt_mb(mb: Option<f64>) -> String {
    mb.map_or("-".into(), |mb| format!("{mb:.0} MB"))
}

fn fmt_s(s: Option<f64>) -> String {
    s.map_or("-".into(), |s| format!("{s:.1}s"))
}

fn walk(
    base: &str,
    pid: u32,
    args: &ScaleOptions,
    report: &mut BenchReport,
    data_dir: &Path,
    ops: &dyn Operations,
    anon: crate::child::AnonSampler,
) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BenchError::io("cannot start the client runtime"))?;
    let traffic = DiskTraffic::start(&pid.to_string());
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut url = format!(
            "{base}/api/machines/SoftwareVulnerabilitiesByMachine?pageSize={}",
            args.page_size
        );
        // Connect before the walk, so the first page's time is the page's, not the
        // TCP handshake's (every later page reuses the connection).
        client
            .get(format!("{base}/healthz"))
            .send()
            .await?
            .bytes()
            .await?;
        let first_url = url.clone();
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
            match next_link(&body)? {
                Some(next) => url = next,
                None => break,
            }
        }
        let walk = walk_started.elapsed().as_secs_f64();
        let (mut again_first, mut again_last) = (Vec::new(), Vec::new());
        for _ in 0..TTFB_REPEATS {
            again_first.push(first_byte_ms(&client, &first_url).await?);
            again_last.push(first_byte_ms(&client, &url).await?);
        }
        report.ttfb_first_page_median_ms = median(&mut again_first);
        report.ttfb_last_page_median_ms = median(&mut again_last);
        report.ttfb_median_last_over_first =
            report.ttfb_last_page_median_ms / report.ttfb_first_page_median_ms.max(1e-9);
        if rows != report.vulnerability_rows {
            return Err(BenchError::Failed(format!(
                "walk returned {rows} records, the snapshot has {}",
                report.vulnerability_rows
            )));
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
        Ok::<(), BenchError>(())
    })?;
    traffic.finish(report, "walks");
    report.server_peak_rss_mb = peak_rss_mb(pid)?;
    report.server_peak_anon_mb = anon.finish();
    if args.advance_hours > 0 {
        delta(args, report, data_dir, base, &runtime, ops)?;
    }
    Ok(())
}

/// Advances the fleet, publishes (timing the diff), waits until the running server
/// serves the new snapshot, then times the first delta page.
fn delta(
    args: &ScaleOptions,
    report: &mut BenchReport,
    data_dir: &Path,
    base: &str,
    runtime: &tokio::runtime::Runtime,
    ops: &dyn Operations,
) -> Result<(), BenchError> {
    let previous = open_snapshots(data_dir, args.store.as_deref(), 2)?
        .latest()
        .ok_or_else(|| BenchError::Failed("no snapshot".into()))?
        .manifest
        .generated_at;
    eprintln!(
        "bench: advancing {} h and publishing ...",
        args.advance_hours
    );
    let started = Instant::now();
    let traffic = DiskTraffic::start("self");
    let published = ops
        .advance(data_dir, args.advance_hours)
        .map_err(operation)?;
    traffic.finish(report, "advance");
    report.advance_seconds = Some(started.elapsed().as_secs_f64() - published.seconds);
    report.delta_publish_seconds = Some(published.seconds);
    report.delta_diff_seconds = Some(published.diff_seconds);
    report.delta_diff_read_mb = published.diff_read_bytes.map(|b| b as f64 / 1e6);
    report.delta_changes = published.changes;
    if let Some(c) = published.changes {
        report.delta_changed_percent =
            Some(100.0 * c.total() as f64 / report.vulnerability_rows.max(1) as f64);
    }
    let wanted = published.time_path.clone();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let h: serde_json::Value = client.get(format!("{base}/healthz")).send().await?.json().await?;
            if h["snapshot"] == wanted.as_str() {
                break;
            }
            if Instant::now() > deadline {
                return Err(BenchError::Failed(
                    "the server did not pick up the new snapshot".into(),
                ));
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
        Ok::<(), BenchError>(())
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
    fn check_against(&self, plain: &BenchReport) -> Result<(), BenchError> {
        if self.records != plain.vulnerability_rows || self.decoded_bytes != plain.walk_bytes {
            return Err(BenchError::Failed(format!(
                "gzip walk decoded {} records / {} bytes; the plain walk had {} / {}",
                self.records, self.decoded_bytes, plain.vulnerability_rows, plain.walk_bytes
            )));
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
) -> Result<GzipWalk, BenchError> {
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
            return Err(BenchError::Failed(format!("the server did not gzip {url}")));
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
            decoder
                .write_all(&chunk)
                .map_err(BenchError::io("cannot decode a gzip page"))?;
            let out = std::mem::take(decoder.get_mut());
            decoded += out.len() as u64;
            tail.extend_from_slice(&out);
            records += count(&tail, b"{\"id\":\"") as u64;
            let keep = tail.len().saturating_sub(6);
            tail.drain(..keep);
            last_bytes(&mut body, &out);
        }
        let out = decoder
            .finish()
            .map_err(BenchError::io("cannot decode a gzip page"))?;
        decoded += out.len() as u64;
        last_bytes(&mut body, &out);
        match next_link(&body)? {
            Some(next) => url = next,
            None => break,
        }
    }
    let seconds = started_walk.elapsed().as_secs_f64();
    if records != expected_rows {
        return Err(BenchError::Failed(format!(
            "gzip walk returned {records} records, the snapshot has {expected_rows}"
        )));
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

/// How many times the first and the last page are requested again for their median
/// first-byte time. Each is well under a millisecond on a warm connection, so a few
/// samples leave the median at the mercy of the scheduler (five gave last/first ratios
/// from 0.57 to 2.13 across the runs of one round).
const TTFB_REPEATS: usize = 21;

/// The first-byte time of one request of `url`, in ms; the body is read to its end (so
/// the connection stays open for the next request).
pub(crate) async fn first_byte_ms(client: &reqwest::Client, url: &str) -> Result<f64, BenchError> {
    let started = Instant::now();
    let mut stream = client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .bytes_stream();
    let mut first = None;
    while let Some(chunk) = stream.next().await {
        chunk?;
        first.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(first.unwrap_or_else(|| started.elapsed().as_secs_f64() * 1000.0))
}

pub(crate) fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(0.0)
}

/// The `@odata.nextLink` at the end of a page (`body` holds at least its last bytes).
pub(crate) fn next_link(body: &[u8]) -> Result<Option<String>, BenchError> {
    let text = String::from_utf8_lossy(body);
    let Some(i) = text.rfind("\"@odata.nextLink\":\"") else {
        return Ok(None);
    };
    let rest = &text[i + 19..];
    let end = rest
        .find('"')
        .ok_or_else(|| BenchError::Failed("malformed nextLink".into()))?;
    Ok(Some(rest[..end].to_owned()))
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

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> Result<u64, BenchError> {
    let mut total = 0;
    let entries = std::fs::read_dir(dir).map_err(BenchError::io(dir.display().to_string()))?;
    for entry in entries {
        let entry = entry.map_err(BenchError::io(dir.display().to_string()))?;
        let meta = entry
            .metadata()
            .map_err(BenchError::io(entry.path().display().to_string()))?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
