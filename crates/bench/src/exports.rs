//! The export benchmark: one run measures
//! (a) publish: all five file exports written (render + gzip + write + fsync), with the
//!     peak RSS of the process during it;
//! (b) compression alone: the published files' bytes, decompressed into memory a window
//!     at a time (untimed), gzipped by the same single-member block pipeline (same level,
//!     same threads); nothing uncompressed is written to disk, so the measurement fits
//!     beside a million-device export (about 140 GB uncompressed);
//! (c) `pigz -<level> -p <threads>` on the same windows, fed through a pipe, when installed;
//! (d) DuckDB (`python3` with the `duckdb` module) exporting the same vulnerability rows
//!     from normalised tables with `COPY ... (FORMAT JSON, COMPRESSION GZIP)`, against
//!     Posture writing VaExport alone;
//! (f) download of every published file through the local backend's route with a
//!     parallel HTTP client.

use export::local::{LocalBackend, UrlSigner};
use export::{
    BlobBackend, ExportError, ExportIndex, ExportOptions, FILE_EXPORTS, compress_members,
    write_kinds,
};
use futures_util::StreamExt;
use serde::Serialize;
use snapshot::{ExportKind, Snapshot};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_owned(),
        source,
    }
}

const DUCKDB_SCRIPT: &str = include_str!("../scripts/duckdb_copy.py");

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Scratch directory (created; removed at the end unless `keep`). Needs room for the
    /// uncompressed export (about 1 KB per vulnerability row) plus three compressed copies.
    pub work_dir: PathBuf,
    /// Python interpreter with `duckdb` for (d).
    pub python: String,
    /// Concurrent downloads in (f).
    pub download_concurrency: usize,
    pub skip_duckdb: bool,
    pub skip_pigz: bool,
    pub keep: bool,
}

impl BenchOptions {
    pub fn new(work_dir: &Path) -> BenchOptions {
        BenchOptions {
            work_dir: work_dir.to_owned(),
            python: "python3".into(),
            download_concurrency: 8,
            skip_duckdb: false,
            skip_pigz: false,
            keep: false,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchFigures {
    pub threads: usize,
    pub level: u32,
    pub rows: BTreeMap<String, u64>,
    pub files: usize,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    /// (a) all five exports written.
    pub publish_seconds: f64,
    /// Uncompressed MB (10^6 bytes) per second of the publish.
    pub publish_mb_per_s: f64,
    /// Peak RSS (VmHWM) during the publish, and the RSS just before it.
    pub publish_peak_rss_bytes: Option<u64>,
    pub rss_before_publish_bytes: Option<u64>,
    /// (b) gzipping the published bytes from memory (decompressed from the published
    /// files in 1 GiB windows, untimed).
    pub compress_only_seconds: f64,
    /// publish / compression alone (target ≤ 1.25).
    pub publish_vs_compress_only: f64,
    /// (c) pigz on the same bytes, and pigz / publish (target > 1).
    pub pigz_seconds: Option<f64>,
    pub pigz_vs_publish: Option<f64>,
    /// (d) DuckDB COPY of the vulnerability rows vs Posture writing VaExport alone.
    pub va_rows: u64,
    pub va_publish_seconds: f64,
    pub duckdb_copy_seconds: Option<f64>,
    pub duckdb_vs_va_publish: Option<f64>,
    pub duckdb_version: Option<String>,
    /// (f) all files downloaded through the local backend.
    pub download_seconds: f64,
    pub download_bytes: u64,
    pub download_mb_per_s: f64,
    pub download_concurrency: usize,
    /// Why a part was skipped or how it differs.
    pub notes: Vec<String>,
}

/// Runs the benchmark on `snapshot` with `opts` (level, org, container) on `threads`
/// threads (0 = all cores).
pub fn run(
    snapshot: &Snapshot,
    opts: &ExportOptions,
    threads: usize,
    bench: &BenchOptions,
) -> Result<BenchFigures, ExportError> {
    let mut opts = opts.clone();
    opts.threads = threads;
    let threads = opts.threads();
    let work = &bench.work_dir;
    if work.exists() {
        std::fs::remove_dir_all(work).map_err(io_err(work))?;
    }
    std::fs::create_dir_all(work).map_err(io_err(work))?;
    let mut f = BenchFigures {
        threads,
        level: opts.level,
        download_concurrency: bench.download_concurrency,
        ..BenchFigures::default()
    };
    let result = run_in(snapshot, &opts, bench, &mut f);
    if !bench.keep {
        let _ = std::fs::remove_dir_all(work);
    }
    result.map(|()| f)
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn run_in(
    snapshot: &Snapshot,
    opts: &ExportOptions,
    bench: &BenchOptions,
    f: &mut BenchFigures,
) -> Result<(), ExportError> {
    let work = &bench.work_dir;
    let threads = f.threads;

    // (a) publish, with peak RSS. At publish time the snapshot was just written, so its
    // files are in the page cache: warm them (untimed) so the figure does not measure disk.
    warm(snapshot.dir());
    let staging = work.join("staging");
    let hwm_reset = crate::child::reset_peak_rss("self").is_ok();
    if !hwm_reset {
        f.notes
            .push("could not reset VmHWM: peak RSS covers the whole process so far".into());
    }
    f.rss_before_publish_bytes = own_status_bytes("VmRSS");
    let t = Instant::now();
    let index = write_kinds(snapshot, &staging, opts, &FILE_EXPORTS)?;
    f.publish_seconds = secs(t);
    f.publish_peak_rss_bytes = own_status_bytes("VmHWM");
    for (kind, e) in &index.exports {
        f.rows.insert(kind.export_name().to_owned(), e.rows);
        f.uncompressed_bytes += e.uncompressed_bytes;
        f.compressed_bytes += e.compressed_bytes;
        f.files += e.files.len();
    }
    f.publish_mb_per_s = f.uncompressed_bytes as f64 / 1e6 / f.publish_seconds.max(1e-9);

    // (b) compression alone and (c) pigz, on the same bytes, window by window.
    let base = staging.join(&index.container);
    let published: Vec<PathBuf> = index.all_files().map(|e| base.join(&e.path)).collect();
    let same = same_bytes(&published, &work.join("compressed"), opts, !bench.skip_pigz)?;
    if same.bytes != f.uncompressed_bytes {
        f.notes.push(format!(
            "the published files hold {} bytes uncompressed, publish rendered {}",
            same.bytes, f.uncompressed_bytes
        ));
    }
    f.compress_only_seconds = same.compress_seconds;
    f.publish_vs_compress_only = f.publish_seconds / f.compress_only_seconds.max(1e-9);
    match (bench.skip_pigz, same.pigz) {
        (true, _) => f.notes.push("pigz skipped".into()),
        (false, Ok(s)) => {
            f.pigz_seconds = Some(s);
            f.pigz_vs_publish = Some(s / f.publish_seconds.max(1e-9));
        }
        (false, Err(note)) => f.notes.push(note),
    }
    let _ = std::fs::remove_dir_all(work.join("compressed"));

    // (d) DuckDB against VaExport alone.
    let va_staging = work.join("va-staging");
    let t = Instant::now();
    let va = write_kinds(snapshot, &va_staging, opts, &[ExportKind::Vulnerabilities])?;
    f.va_publish_seconds = secs(t);
    f.va_rows = va.exports.values().map(|e| e.rows).sum();
    let _ = std::fs::remove_dir_all(&va_staging);
    if bench.skip_duckdb {
        f.notes.push("DuckDB skipped".into());
    } else {
        match run_duckdb(snapshot, &work.join("duckdb"), &bench.python, threads) {
            Ok((copy, version, rows)) => {
                if rows != f.va_rows {
                    f.notes.push(format!(
                        "DuckDB exported {rows} rows, the snapshot has {}",
                        f.va_rows
                    ));
                }
                f.duckdb_copy_seconds = Some(copy);
                f.duckdb_vs_va_publish = Some(copy / f.va_publish_seconds.max(1e-9));
                f.duckdb_version = Some(version);
            }
            Err(note) => f.notes.push(note),
        }
        let _ = std::fs::remove_dir_all(work.join("duckdb"));
    }
    if f.level != 6 {
        f.notes.push(format!(
            "DuckDB's COPY uses its own gzip level; Posture wrote level {}",
            f.level
        ));
    }

    // (f) downloads through the local backend.
    download_all(
        &staging,
        &index,
        work,
        bench.download_concurrency,
        threads,
        f,
    )?;
    Ok(())
}

/// Reads every file of `dir` once, to bring it into the page cache.
fn warm(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut buf = vec![0u8; 1 << 20];
    for e in entries.flatten() {
        if let Ok(mut f) = std::fs::File::open(e.path()) {
            while matches!(std::io::Read::read(&mut f, &mut buf), Ok(n) if n > 0) {}
        }
    }
}

fn own_status_bytes(field: &str) -> Option<u64> {
    crate::child::status_kb("self", field).map(|kb| kb * 1024)
}

/// What (b) and (c) measured.
struct SameBytes {
    /// Uncompressed bytes of every window.
    bytes: u64,
    compress_seconds: f64,
    /// pigz's seconds, or why it was not run.
    pigz: Result<f64, String>,
}

/// Decompresses each published file into memory a window at a time (untimed) and times
/// gzipping each window with the export writer's member pipeline (same level, threads
/// and member size; the output written under `out_dir` and removed) and, when `pigz`,
/// `pigz` over the same window through a pipe.
fn same_bytes(
    files: &[PathBuf],
    out_dir: &Path,
    opts: &ExportOptions,
    pigz: bool,
) -> Result<SameBytes, ExportError> {
    const WINDOW: usize = 1 << 30;
    std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    let out = out_dir.join("window.gz");
    let mut measured = SameBytes {
        bytes: 0,
        compress_seconds: 0.0,
        pigz: if pigz {
            Ok(0.0)
        } else {
            Err("pigz skipped".into())
        },
    };
    let mut buf = Vec::with_capacity(WINDOW);
    for path in files {
        let file = std::fs::File::open(path).map_err(io_err(path))?;
        let mut reader = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
        loop {
            buf.clear();
            let n = std::io::Read::read_to_end(
                &mut std::io::Read::take(&mut reader, WINDOW as u64),
                &mut buf,
            )
            .map_err(io_err(path))?;
            if n == 0 {
                break;
            }
            measured.bytes += n as u64;
            let t = Instant::now();
            compress_members(&buf, &out, opts)?;
            measured.compress_seconds += secs(t);
            if let Ok(total) = &mut measured.pigz {
                match run_pigz(&buf, opts.level, opts.threads()) {
                    Ok(s) => *total += s,
                    Err(note) => measured.pigz = Err(note),
                }
            }
        }
    }
    let _ = std::fs::remove_file(&out);
    Ok(measured)
}

/// Times `pigz -<level> -p <threads>` compressing `input` from a pipe to a discarded
/// output.
fn run_pigz(input: &[u8], level: u32, threads: usize) -> Result<f64, String> {
    use std::process::{Command, Stdio};
    let t = Instant::now();
    let mut child = Command::new("pigz")
        .arg(format!("-{}", level.clamp(1, 9)))
        .arg("-p")
        .arg(threads.to_string())
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("pigz skipped (not installed? `apt-get install pigz`): {e}"))?;
    let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("pigz skipped: no pipes".into());
    };
    let drained = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let fed = stdin.write_all(input);
    drop(stdin);
    let drained = drained.join();
    let status = child.wait().map_err(|e| format!("pigz failed: {e}"))?;
    let s = secs(t);
    fed.map_err(|e| format!("pigz failed reading its input: {e}"))?;
    match drained {
        Ok(Ok(_)) if status.success() => Ok(s),
        _ => Err(format!("pigz failed: {status}")),
    }
}

/// Writes the normalised tables of the vulnerability export for DuckDB, runs the COPY
/// and returns (copy seconds, duckdb version, rows).
fn run_duckdb(
    snapshot: &Snapshot,
    dir: &Path,
    python: &str,
    threads: usize,
) -> Result<(f64, String, u64), String> {
    let probe = std::process::Command::new(python)
        .args(["-c", "import duckdb"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        _ => {
            return Err(format!(
                "DuckDB skipped: `{python} -c 'import duckdb'` failed (pip install duckdb)"
            ));
        }
    }
    write_tables(snapshot, dir).map_err(|e| format!("DuckDB skipped: {e}"))?;
    let script = dir.join("duckdb_copy.py");
    std::fs::write(&script, DUCKDB_SCRIPT).map_err(|e| format!("DuckDB skipped: {e}"))?;
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(dir)
        .arg(threads.to_string())
        .output()
        .map_err(|e| format!("DuckDB failed to start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "DuckDB failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("DuckDB output unreadable: {e}"))?;
    Ok((
        v["copy_seconds"].as_f64().unwrap_or(f64::NAN),
        v["duckdb"].as_str().unwrap_or("?").to_owned(),
        v["rows"].as_u64().unwrap_or(0),
    ))
}

/// How the normalised tables split a vulnerability record: the fields each table takes
/// from the record that fragment came from. The finding table takes every remaining
/// field of `model::wire::AssetVulnerability`; [`write_tables`] refuses a name here
/// that the wire type does not have.
const DEVICE_KEYS: &[&str] = &[
    "deviceId",
    "rbacGroupName",
    "deviceName",
    "osPlatform",
    "osVersion",
    "osArchitecture",
    "lastSeenTimestamp",
    "rbacGroupId",
];
const PATH_KEYS: &[&str] = &["diskPaths", "registryPaths"];
const SOFTWARE_KEYS: &[&str] = &["softwareVendor", "softwareName", "softwareVersion"];
/// Fields of the row itself (the id joins the other tables; first-seen is in the row).
const ROW_KEYS: &[&str] = &["id", "firstSeenTimestamp"];

fn read_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// devices, software, findings and paths (one rendered row per distinct id, parsed
/// back) and the rows themselves, from the snapshot's `vulnerabilities.rows`
/// (device, finding, paths, first-seen: u32 LE each) and `findings.rows` (software per finding).
fn write_tables(snapshot: &Snapshot, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let rows = std::fs::read(snapshot.dir().join("vulnerabilities.rows"))?;
    let finding_sw = std::fs::read(snapshot.dir().join("findings.rows"))?;
    let n = rows.len() / 16;
    let mut first_d: HashMap<u32, u64> = HashMap::new();
    let mut first_f: HashMap<u32, u64> = HashMap::new();
    let mut first_p: HashMap<u32, u64> = HashMap::new();
    let mut csv =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("rows.csv"))?);
    csv.write_all(b"d,f,p,t\n")?;
    for i in 0..n {
        let (d, fi, p, t) = (
            read_u32(&rows, i * 16),
            read_u32(&rows, i * 16 + 4),
            read_u32(&rows, i * 16 + 8),
            read_u32(&rows, i * 16 + 12),
        );
        first_d.entry(d).or_insert(i as u64);
        first_f.entry(fi).or_insert(i as u64);
        first_p.entry(p).or_insert(i as u64);
        writeln!(csv, "{d},{fi},{p},{t}")?;
    }
    csv.flush()?;
    drop(rows);
    let record = |row: u64| -> std::io::Result<serde_json::Value> {
        let mut buf = Vec::new();
        snapshot.render(ExportKind::Vulnerabilities, row, &mut buf);
        serde_json::from_slice(&buf).map_err(std::io::Error::other)
    };
    let pick =
        |v: &serde_json::Value, keys: &[&str]| -> serde_json::Map<String, serde_json::Value> {
            keys.iter()
                .map(|k| {
                    (
                        (*k).to_owned(),
                        v.get(*k).cloned().unwrap_or(serde_json::Value::Null),
                    )
                })
                .collect()
        };
    let table = |name: &str,
                 id: &str,
                 firsts: &HashMap<u32, u64>,
                 keys: &[&str],
                 extra: &dyn Fn(u32, &mut serde_json::Map<String, serde_json::Value>)|
     -> std::io::Result<()> {
        let mut w =
            std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{name}.ndjson")))?);
        let mut ids: Vec<_> = firsts.iter().collect();
        ids.sort();
        for (k, row) in ids {
            let v = record(*row)?;
            let mut m = pick(&v, keys);
            m.insert(id.to_owned(), (*k).into());
            extra(*k, &mut m);
            serde_json::to_writer(&mut w, &m)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    // The finding table holds every other field of the record, taken from the wire type
    // (model::csdl), so a field added to AssetVulnerability lands in some table.
    let placed: Vec<&str> = DEVICE_KEYS
        .iter()
        .chain(PATH_KEYS)
        .chain(SOFTWARE_KEYS)
        .chain(ROW_KEYS)
        .copied()
        .collect();
    let vulnerability_fields = model::csdl::record_types()
        .into_iter()
        .find(|t| t.name == model::wire::entity::ASSET_VULNERABILITY)
        .map(|t| t.properties())
        .transpose()
        .map_err(std::io::Error::other)?
        .unwrap_or_default();
    if let Some(unknown) = placed
        .iter()
        .find(|k| !vulnerability_fields.iter().any(|p| p.name == **k))
    {
        return Err(std::io::Error::other(format!(
            "{unknown} is not a field of AssetVulnerability"
        )));
    }
    let finding_keys: Vec<&str> = vulnerability_fields
        .iter()
        .map(|p| p.name.as_str())
        .filter(|name| !placed.contains(name))
        .collect();
    table("devices", "d", &first_d, DEVICE_KEYS, &|_, _| {})?;
    table("findings", "f", &first_f, &finding_keys, &|f, m| {
        m.insert("s".into(), read_u32(&finding_sw, f as usize * 4).into());
    })?;
    table("paths", "p", &first_p, PATH_KEYS, &|_, _| {})?;
    // Software: one finding per distinct software.
    let mut first_s: HashMap<u32, u64> = HashMap::new();
    for (fi, row) in &first_f {
        first_s
            .entry(read_u32(&finding_sw, *fi as usize * 4))
            .or_insert(*row);
    }
    table("software", "s", &first_s, SOFTWARE_KEYS, &|_, _| {})?;
    Ok(())
}

/// Publishes the staged files to a local backend under `work`, serves its route on a
/// loopback port, and downloads every file with `concurrency` parallel requests.
fn download_all(
    staging: &Path,
    index: &ExportIndex,
    work: &Path,
    concurrency: usize,
    threads: usize,
    f: &mut BenchFigures,
) -> Result<(), ExportError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(2))
        .enable_all()
        .build()
        .map_err(io_err(work))?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(io_err(work))?;
        let addr = listener.local_addr().map_err(io_err(work))?;
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key[..]);
        let backend = LocalBackend::new(
            &work.join("served"),
            &format!("http://{addr}/files"),
            UrlSigner::from_key(&key)?,
        )?;
        backend.publish(staging, index).await?;
        let router = backend.download_router().unwrap_or_default();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let now = chrono::Utc::now();
        let mut urls = Vec::new();
        for kind in FILE_EXPORTS {
            urls.extend(
                backend
                    .signed_urls(index, kind, Duration::from_secs(3600), now)
                    .await?,
            );
        }
        let client = reqwest::Client::new();
        let t = Instant::now();
        let results: Vec<Result<u64, String>> = futures_util::stream::iter(urls)
            .map(|url| {
                let client = client.clone();
                async move {
                    let resp = client.get(&url).send().await.map_err(|e| e.to_string())?;
                    if !resp.status().is_success() {
                        return Err(format!("status {}", resp.status()));
                    }
                    let mut body = resp.bytes_stream();
                    let mut n = 0u64;
                    while let Some(chunk) = body.next().await {
                        n += chunk.map_err(|e| e.to_string())?.len() as u64;
                    }
                    Ok(n)
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        f.download_seconds = secs(t);
        server.abort();
        for r in results {
            match r {
                Ok(n) => f.download_bytes += n,
                Err(e) => f.notes.push(format!("download failed: {e}")),
            }
        }
        if f.download_bytes != f.compressed_bytes {
            f.notes.push(format!(
                "downloaded {} bytes, published {}",
                f.download_bytes, f.compressed_bytes
            ));
        }
        f.download_mb_per_s = f.download_bytes as f64 / 1e6 / f.download_seconds.max(1e-9);
        Ok(())
    })
}

/// A human-readable summary of the figures.
pub fn summary(f: &BenchFigures) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let mut s = String::new();
    let _ = std::fmt::Write::write_fmt(
        &mut s,
        format_args!(
            "export benchmark: {} threads, gzip level {}\n\
             rows: {:?}\n\
             files: {}, {:.0} MB uncompressed, {:.0} MB compressed\n\
             (a) publish (all five exports): {:.2} s ({:.0} MB/s uncompressed), peak RSS {} MB (RSS before {} MB)\n\
             (b) compression alone {:.2} s; publish/compression = {:.2} (target <= 1.25)\n\
             (c) pigz: {}\n\
             (d) VaExport alone {:.2} s for {} rows; DuckDB COPY: {}\n\
             (f) download: {:.0} MB in {:.2} s = {:.0} MB/s with {} concurrent requests\n",
            f.threads,
            f.level,
            f.rows,
            f.files,
            mb(f.uncompressed_bytes),
            mb(f.compressed_bytes),
            f.publish_seconds,
            f.publish_mb_per_s,
            f.publish_peak_rss_bytes
                .map_or("?".into(), |b| format!("{:.0}", mb(b))),
            f.rss_before_publish_bytes
                .map_or("?".into(), |b| format!("{:.0}", mb(b))),
            f.compress_only_seconds,
            f.publish_vs_compress_only,
            match (f.pigz_seconds, f.pigz_vs_publish) {
                (Some(s), Some(r)) => format!("{s:.2} s = {r:.2}x publish (target > 1)"),
                _ => "skipped".into(),
            },
            f.va_publish_seconds,
            f.va_rows,
            match (f.duckdb_copy_seconds, f.duckdb_vs_va_publish) {
                (Some(s), Some(r)) => format!(
                    "{s:.2} s = {r:.1}x Posture (target >= 6), duckdb {}",
                    f.duckdb_version.as_deref().unwrap_or("?")
                ),
                _ => "skipped".into(),
            },
            mb(f.download_bytes),
            f.download_seconds,
            f.download_mb_per_s,
            f.download_concurrency,
        ),
    );
    for n in &f.notes {
        s.push_str("note: ");
        s.push_str(n);
        s.push('\n');
    }
    s
}
