//! `feeds::sync` against fixture servers on loopback that behave as the real services
//! do: NVD paging with `totalResults`, the 120-day window limit (400 beyond), 403 when
//! the rolling rate limit is overrun, slow and failing pages; the OSV bucket layout;
//! KEV; EPSS. They serve the real records of the shared data folder when present, the
//! project's own fixtures otherwise.

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration as Days, NaiveDateTime, Utc};
use feeds::{NoProgress, NvdConfig, OsvConfig, RateLimit, Retry, SyncConfig};
use ingest::StateStore;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::SqliteStore;

const KB_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../kb/tests/fixtures");

/// The shared real-data folder (`../shared/data` from the repo root; a worktree sits
/// one level deeper), if present.
fn shared_data() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("POSTURE_SHARED_DATA") {
        return Some(PathBuf::from(dir)).filter(|p| p.is_dir());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = ["../../../shared/data", "../../../../shared/data"]
        .iter()
        .map(|rel| root.join(rel))
        .find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("note: shared data folder absent; serving the project's own fixtures");
    }
    found
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// NVD `vulnerabilities[]` items, KEV catalogue, OSV records (PyPI).
fn upstream_data() -> (Vec<Value>, Vec<u8>, Vec<Value>) {
    let (nvd, kev, osv_dir) = match shared_data() {
        Some(d) => (
            d.join("nvd/nvdcve-2.0-sample.json"),
            d.join("kev/known_exploited_vulnerabilities.subset.json"),
            d.join("osv/pypi"),
        ),
        None => (
            Path::new(KB_FIXTURES).join("nvd-sample.json"),
            Path::new(KB_FIXTURES).join("kev-subset.json"),
            Path::new(KB_FIXTURES).join("osv"),
        ),
    };
    let nvd: Value = serde_json::from_slice(&read(&nvd)).unwrap();
    let mut osv = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&osv_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for f in files {
        let record: Value = serde_json::from_slice(&read(&f)).unwrap();
        let pypi = record["affected"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["package"]["ecosystem"] == "PyPI"));
        if pypi {
            osv.push(record);
        }
    }
    assert!(!osv.is_empty());
    (
        nvd["vulnerabilities"].as_array().unwrap().clone(),
        read(&kev),
        osv,
    )
}

#[derive(Clone, Debug)]
enum Fault {
    /// Answer this status `times` times.
    Status(u16, usize),
    /// Answer a truncated page.
    Corrupt,
    /// Wait before answering, `times` times.
    Slow(Duration, usize),
}

/// What the fixture services hold and count.
struct Upstream {
    nvd: Vec<Value>,
    kev: Vec<u8>,
    osv: Vec<Value>,
    /// NVD's rate limit as the fixture enforces it.
    rate_max: usize,
    rate_window: Duration,
    /// Arrival times of NVD requests.
    arrivals: Vec<Instant>,
    /// Requests answered 403 for overrunning the limit.
    overruns: usize,
    /// `startIndex` of every NVD request, in order.
    nvd_requests: Vec<u64>,
    /// Window lengths refused (more than 120 days).
    refused_windows: usize,
    faults: HashMap<u64, Fault>,
    epss_date: String,
    epss_requests: usize,
}

type Shared = Arc<Mutex<Upstream>>;

fn last_modified(v: &Value) -> DateTime<Utc> {
    let s = v["cve"]["lastModified"].as_str().unwrap();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap()
        .and_utc()
}

async fn nvd(State(up): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let fault;
    let body;
    {
        let mut up = up.lock().unwrap();
        let now = Instant::now();
        let window = up.rate_window;
        up.arrivals.push(now);
        let recent = up
            .arrivals
            .iter()
            .filter(|t| now.duration_since(**t) < window)
            .count();
        if recent > up.rate_max {
            up.overruns += 1;
            return (StatusCode::FORBIDDEN, "rate limit exceeded").into_response();
        }
        let num = |k: &str, d: u64| q.get(k).map_or(Ok(d), |v| v.parse::<u64>());
        let (Ok(start), Ok(per_page)) = (num("startIndex", 0), num("resultsPerPage", 2000)) else {
            return (StatusCode::BAD_REQUEST, "bad number").into_response();
        };
        if per_page > 2000 {
            return (StatusCode::BAD_REQUEST, "resultsPerPage above 2000").into_response();
        }
        let date = |k: &str| {
            q.get(k)
                .map(|v| DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)))
        };
        let window = match (date("lastModStartDate"), date("lastModEndDate")) {
            (None, None) => None,
            (Some(Ok(s)), Some(Ok(e))) if e >= s && e - s <= Days::days(120) => Some((s, e)),
            (Some(Ok(_)), Some(Ok(_))) => {
                up.refused_windows += 1;
                return (StatusCode::BAD_REQUEST, "date range exceeds 120 days").into_response();
            }
            _ => return (StatusCode::BAD_REQUEST, "both dates are required").into_response(),
        };
        up.nvd_requests.push(start);
        fault = match up.faults.get_mut(&start) {
            Some(Fault::Status(code, times)) if *times > 0 => {
                *times -= 1;
                Some(Fault::Status(*code, 1))
            }
            Some(Fault::Slow(d, times)) if *times > 0 => {
                *times -= 1;
                Some(Fault::Slow(*d, 1))
            }
            Some(Fault::Corrupt) => Some(Fault::Corrupt),
            _ => None,
        };
        let matching: Vec<&Value> = up
            .nvd
            .iter()
            .filter(|v| {
                window.is_none_or(|(s, e)| {
                    let m = last_modified(v);
                    m >= s && m <= e
                })
            })
            .collect();
        let page: Vec<&Value> = matching
            .iter()
            .skip(start as usize)
            .take(per_page as usize)
            .copied()
            .collect();
        body = serde_json::to_vec(&json!({
            "resultsPerPage": page.len(),
            "startIndex": start,
            "totalResults": matching.len(),
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": "2026-12-01T00:00:00.000",
            "vulnerabilities": page,
        }))
        .unwrap();
    }
    match fault {
        Some(Fault::Status(code, _)) => {
            (StatusCode::from_u16(code).unwrap(), "injected failure").into_response()
        }
        Some(Fault::Corrupt) => body[..body.len() / 2].to_vec().into_response(),
        Some(Fault::Slow(d, _)) => {
            tokio::time::sleep(d).await;
            body.into_response()
        }
        None => body.into_response(),
    }
}

async fn kev(State(up): State<Shared>) -> Response {
    up.lock().unwrap().kev.clone().into_response()
}

fn osv_zip(records: &[Value]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for r in records {
        zip.start_file(
            format!("{}.json", r["id"].as_str().unwrap()),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&serde_json::to_vec(r).unwrap()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn osv(
    State(up): State<Shared>,
    UrlPath((eco, file)): UrlPath<(String, String)>,
) -> Response {
    let up = up.lock().unwrap();
    if eco != "PyPI" {
        return StatusCode::NOT_FOUND.into_response();
    }
    if file == "all.zip" {
        return osv_zip(&up.osv).into_response();
    }
    if file == "modified_id.csv" {
        let mut rows: Vec<(String, String)> = up
            .osv
            .iter()
            .map(|r| {
                let m = r["modified"].as_str().unwrap().to_owned();
                (m, r["id"].as_str().unwrap().to_owned())
            })
            .collect();
        rows.sort_by(|a, b| b.cmp(a));
        let csv: String = rows.iter().map(|(m, id)| format!("{m},{id}\n")).collect();
        return csv.into_response();
    }
    let Some(id) = file.strip_suffix(".json") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match up.osv.iter().find(|r| r["id"] == id) {
        Some(r) => serde_json::to_vec(r).unwrap().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn epss(State(up): State<Shared>, UrlPath(file): UrlPath<String>) -> Response {
    let mut up = up.lock().unwrap();
    up.epss_requests += 1;
    if file != format!("epss_scores-{}.csv.gz", up.epss_date) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut csv = format!(
        "#model_version:v2025.03.14,score_date:{}T00:00:00+0000\ncve,epss,percentile\n",
        up.epss_date
    );
    for v in &up.nvd {
        csv.push_str(&format!(
            "{},0.01234,0.56789\n",
            v["cve"]["id"].as_str().unwrap()
        ));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(csv.as_bytes()).unwrap();
    gz.finish().unwrap().into_response()
}

struct Fixture {
    base: String,
    up: Shared,
    _server: tokio::task::JoinHandle<()>,
}

async fn fixture(rate_max: usize, rate_window: Duration) -> Fixture {
    let (nvd_items, kev_bytes, osv_records) = upstream_data();
    let up = Arc::new(Mutex::new(Upstream {
        nvd: nvd_items,
        kev: kev_bytes,
        osv: osv_records,
        rate_max,
        rate_window,
        arrivals: Vec::new(),
        overruns: 0,
        nvd_requests: Vec::new(),
        refused_windows: 0,
        faults: HashMap::new(),
        epss_date: "2026-12-01".into(),
        epss_requests: 0,
    }));
    let app = axum::Router::new()
        .route("/rest/json/cves/2.0", get(nvd))
        .route("/kev.json", get(kev))
        .route("/osv/{eco}/{file}", get(osv))
        .route("/epss/{file}", get(epss))
        .with_state(up.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Fixture {
        base,
        up,
        _server: server,
    }
}

/// Fixture limit: 5 per rolling second (NVD's 5 per 30 s, scaled down).
const WINDOW: Duration = Duration::from_secs(1);

/// `cfg` with every feed but `feed` switched off.
fn only(mut cfg: SyncConfig, feed: &str) -> SyncConfig {
    if feed != "nvd" {
        cfg.nvd = None;
    }
    if feed != "osv" {
        cfg.osv = None;
    }
    if feed != "kev" {
        cfg.kev = None;
    }
    if feed != "epss" {
        cfg.epss = None;
    }
    cfg
}

fn config(f: &Fixture, client_max: usize) -> SyncConfig {
    let mut nvd = NvdConfig::new(&format!("{}/rest/json/cves/2.0", f.base), None);
    nvd.results_per_page = 10;
    nvd.rate = RateLimit {
        max: client_max,
        window: WINDOW,
        margin: Duration::from_millis(150),
    };
    SyncConfig {
        nvd: Some(nvd),
        osv: Some(OsvConfig {
            base_url: format!("{}/osv", f.base),
            ecosystems: vec!["PyPI".into()],
        }),
        kev: Some(format!("{}/kev.json", f.base)),
        epss: Some(format!("{}/epss", f.base)),
        retry: Retry {
            attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        },
        timeout: Duration::from_secs(5),
    }
}

fn count(store: &dyn StateStore, source: &str) -> usize {
    store.kb_records(source).unwrap().len()
}

fn now() -> DateTime<Utc> {
    "2026-12-01T12:00:00Z".parse().unwrap()
}

fn open_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("state.db")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_load_by_pages_then_incremental_windows_one_kb_version_per_sync() {
    let f = fixture(5, WINDOW).await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let total = f.up.lock().unwrap().nvd.len();
    let cfg = config(&f, 5);

    let report = feeds::sync(&store, &cfg, now(), &NoProgress).await.unwrap();
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(count(&store, "nvd"), total);
    assert!(count(&store, "kev") > 0);
    assert_eq!(count(&store, "epss"), total);
    assert_eq!(count(&store, "osv"), f.up.lock().unwrap().osv.len());
    assert_eq!(report.kb_version, 1, "one sync makes one KB version");
    {
        let up = f.up.lock().unwrap();
        assert_eq!(
            up.nvd_requests.len(),
            total.div_ceil(10),
            "{:?}",
            up.nvd_requests
        );
        assert_eq!(up.overruns, 0, "the client kept under the limit");
    }
    let states = ingest::feed_states(&store).unwrap();
    let nvd_state = states.iter().find(|s| s.feed == "nvd").unwrap();
    assert_eq!(nvd_state.records as usize, total);
    assert_eq!(nvd_state.last_sync, Some(now()));

    // Upstream modifies one record; the next sync, 300 days later, asks in windows of
    // at most 120 days (the fixture refuses wider ones) and updates exactly that record.
    let later = now() + Days::days(300);
    let changed_id = {
        let mut up = f.up.lock().unwrap();
        up.nvd_requests.clear();
        let v = &mut up.nvd[0];
        v["cve"]["lastModified"] = json!(
            (now() + Days::days(200))
                .format("%Y-%m-%dT%H:%M:%S%.3f")
                .to_string()
        );
        v["cve"]["descriptions"][0]["value"] = json!("modified upstream");
        v["cve"]["id"].as_str().unwrap().to_owned()
    };
    let mut without_epss = cfg.clone();
    without_epss.epss = None;
    let report = feeds::sync(&store, &without_epss, later, &NoProgress)
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(report.updated, 1, "{report}");
    assert_eq!(report.kb_version, 2);
    {
        let up = f.up.lock().unwrap();
        assert_eq!(up.refused_windows, 0);
        assert_eq!(up.nvd_requests.len(), 3, "three windows of one page each");
        assert_eq!(up.overruns, 0);
    }
    let stored = store.kb_records("nvd").unwrap();
    let rec = stored.iter().find(|r| r.id == changed_id).unwrap();
    assert!(rec.body.contains("modified upstream"));

    // Nothing changed upstream: the KB version stays.
    let report = feeds::sync(&store, &without_epss, later + Days::hours(1), &NoProgress)
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(
        (report.inserted, report.updated, report.kb_version),
        (0, 0, 2)
    );

    // EPSS is not fetched again for the date it already holds.
    let before = f.up.lock().unwrap().epss_requests;
    let epss_only = SyncConfig {
        epss: cfg.epss.clone(),
        ..SyncConfig::default()
    };
    let report = feeds::sync(&store, &epss_only, now() + Days::hours(3), &NoProgress)
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(f.up.lock().unwrap().epss_requests, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_faster_than_the_limit_meets_403_backs_off_and_completes() {
    let f = fixture(5, WINDOW).await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let mut cfg = config(&f, 20);
    cfg.retry = Retry {
        attempts: 8,
        base_delay: Duration::from_millis(300),
        max_delay: Duration::from_secs(2),
    };
    let cfg = only(cfg, "nvd");
    let report = feeds::sync(&store, &cfg, now(), &NoProgress).await.unwrap();
    assert!(report.failures.is_empty(), "{report}");
    let total = f.up.lock().unwrap().nvd.len();
    assert_eq!(count(&store, "nvd"), total);
    assert!(
        f.up.lock().unwrap().overruns > 0,
        "a client allowed 20 per second overruns a 5 per second service"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_sync_leaves_the_kb_as_it_was_and_resumes_from_its_cursor() {
    let f = fixture(5, WINDOW).await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let mut cfg = config(&f, 5);
    cfg.osv = None;
    cfg.epss = None;
    f.up.lock()
        .unwrap()
        .faults
        .insert(30, Fault::Status(503, 100));
    let report = feeds::sync(&store, &cfg, now(), &NoProgress).await.unwrap();
    assert_eq!(report.failures.len(), 1, "{report}");
    let failure = &report.failures[0];
    assert_eq!(failure.feed, ingest::FeedKind::Nvd);
    assert!(
        failure.error.contains("startIndex=30") && failure.error.contains("503"),
        "{}",
        failure.error
    );
    assert_eq!(count(&store, "nvd"), 0, "no NVD record stored");
    assert!(count(&store, "kev") > 0, "KEV, which succeeded, committed");

    {
        let mut up = f.up.lock().unwrap();
        up.faults.clear();
        up.nvd_requests.clear();
    }
    let report = feeds::sync(&store, &cfg, now() + Days::hours(1), &NoProgress)
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{report}");
    let total = f.up.lock().unwrap().nvd.len();
    assert_eq!(count(&store, "nvd"), total);
    let requests = f.up.lock().unwrap().nvd_requests.clone();
    assert_eq!(
        requests.first(),
        Some(&30),
        "resumed at the failed page: {requests:?}"
    );
    // The resumed full load ends at the interrupted sync's start: the next
    // incremental window begins there.
    let state = ingest::feed_states(&store).unwrap();
    let cursor = state
        .iter()
        .find(|s| s.feed == "nvd")
        .unwrap()
        .cursor
        .clone()
        .unwrap();
    let cursor: feeds::nvd::NvdCursor = serde_json::from_str(&cursor).unwrap();
    assert_eq!(cursor.synced_until, Some(now()));
    assert!(cursor.pending.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_page_leaves_the_kb_unchanged_and_names_the_page() {
    let f = fixture(5, WINDOW).await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let cfg = only(config(&f, 5), "nvd");
    feeds::sync(&store, &cfg, now(), &NoProgress).await.unwrap();
    let before = store.kb_records("nvd").unwrap();
    let version = store.kb_version().unwrap();
    {
        let mut up = f.up.lock().unwrap();
        up.nvd[0]["cve"]["lastModified"] = json!("2026-12-01T13:00:00.000");
        up.nvd[0]["cve"]["descriptions"][0]["value"] = json!("changed");
        up.nvd[1]["cve"]["lastModified"] = json!("2026-12-01T13:00:00.000");
        up.faults.insert(0, Fault::Corrupt);
    }
    let report = feeds::sync(&store, &cfg, now() + Days::hours(2), &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.failures.len(), 1, "{report}");
    assert!(
        report.failures[0].error.contains("startIndex=0 of window"),
        "{}",
        report.failures[0].error
    );
    assert!(
        report.failures[0].error.contains("truncated JSON"),
        "{}",
        report.failures[0].error
    );
    assert_eq!(store.kb_records("nvd").unwrap(), before);
    assert_eq!(store.kb_version().unwrap(), version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_failing_pages_are_retried() {
    let f = fixture(5, WINDOW).await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let mut cfg = only(config(&f, 5), "nvd");
    cfg.timeout = Duration::from_millis(700);
    {
        let mut up = f.up.lock().unwrap();
        up.faults.insert(0, Fault::Slow(Duration::from_secs(2), 1));
        up.faults.insert(10, Fault::Status(500, 1));
        up.faults.insert(20, Fault::Status(429, 1));
    }
    let report = feeds::sync(&store, &cfg, now(), &NoProgress).await.unwrap();
    assert!(report.failures.is_empty(), "{report}");
    let total = f.up.lock().unwrap().nvd.len();
    assert_eq!(count(&store, "nvd"), total);
    let requests = f.up.lock().unwrap().nvd_requests.clone();
    assert_eq!(&requests[..6], &[0, 0, 10, 10, 20, 20], "{requests:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn osv_loads_all_zip_then_only_modified_records() {
    let f = fixture(5, WINDOW).await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let cfg = only(config(&f, 5), "osv");
    feeds::sync(&store, &cfg, now(), &NoProgress).await.unwrap();
    let n = f.up.lock().unwrap().osv.len();
    assert_eq!(count(&store, "osv"), n);
    let summary = ingest::kb_summary(&store).unwrap();
    assert_eq!(summary.osv_ecosystems.get("PyPI").copied(), Some(n as u64));

    let id = {
        let mut up = f.up.lock().unwrap();
        up.osv[0]["modified"] = json!("2026-12-01T10:00:00Z");
        up.osv[0]["summary"] = json!("modified upstream");
        up.osv[0]["id"].as_str().unwrap().to_owned()
    };
    let report = feeds::sync(&store, &cfg, now(), &NoProgress).await.unwrap();
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(
        report.synced[0].records, 1,
        "only the modified record is fetched"
    );
    assert_eq!(report.updated, 1);
    let stored = store.kb_records("osv").unwrap();
    assert!(
        stored
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .body
            .contains("modified upstream")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_urls_serve_air_gapped_mirrors() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let kev = Path::new(KB_FIXTURES).join("kev-subset.json");
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(mirror.join("PyPI")).unwrap();
    let (_, _, osv) = upstream_data();
    std::fs::write(mirror.join("PyPI/all.zip"), osv_zip(&osv)).unwrap();
    let cfg = SyncConfig {
        kev: Some(format!("file://{}", kev.display())),
        osv: Some(OsvConfig {
            base_url: format!("file://{}", mirror.display()),
            ecosystems: vec!["PyPI".into()],
        }),
        ..SyncConfig::default()
    };
    let report = feeds::sync(&store, &cfg, now(), &NoProgress).await.unwrap();
    assert!(report.failures.is_empty(), "{report}");
    assert!(count(&store, "kev") > 0);
    assert_eq!(count(&store, "osv"), osv.len());
}

/// A Windows device with Chrome 112.0.5615.120 (CVE-2023-2033, fixed in .121).
fn chrome_device() -> model::DeviceReport {
    model::DeviceReport {
        device_id: model::DeviceId::parse("1eaf3a8b5962e0e6b1af9ec756664a9b823df2d1").unwrap(),
        sequence: 1,
        reported_at: now(),
        device_name: Some("pc1.contoso.com".into()),
        os: model::OsInfo {
            kind: model::OsKind::Windows,
            platform: "Windows11".into(),
            version: "22H2".into(),
            architecture: None,
            distro: None,
        },
        group: Some(model::GroupRef {
            id: 7,
            name: "Seven".into(),
        }),
        software: vec![model::InstalledSoftware {
            vendor: "google".into(),
            name: "chrome".into(),
            version: "112.0.5615.120".into(),
            cpe: Some("cpe:2.3:a:google:chrome:112.0.5615.120:*:*:*:*:*:*:*".into()),
            ecosystem: None,
            disk_paths: vec![],
            registry_paths: vec![],
            end_of_support: None,
            source: None,
        }],
        settings: Default::default(),
        av: None,
        facts: Default::default(),
    }
}

/// Sets every CVSS base score of an NVD item.
fn rescore(item: &mut Value, score: f64) {
    match item {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "baseScore" {
                    *v = json!(score);
                } else {
                    rescore(v, score);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rescore(v, score)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nvd_record_modified_upstream_is_updated_in_the_next_publishs_delta() {
    let f = fixture(5, WINDOW).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(open_store(&dir));
    let mut cfg = config(&f, 5);
    cfg.osv = None;
    let device = chrome_device();
    ingest::apply_reports(store.as_ref(), std::slice::from_ref(&device), now()).unwrap();
    feeds::sync(store.as_ref(), &cfg, now(), &NoProgress)
        .await
        .unwrap();
    // EPSS is shown in the finding's evidence (never in the MDE record).
    let kb = snapshot::load_knowledge_base(store.as_ref()).unwrap();
    let findings = kb.assess_software(&device.software[0], &device.os);
    let chrome = findings
        .iter()
        .find(|f| f.cve_id.as_deref() == Some("CVE-2023-2033"))
        .expect("Chrome 112.0.5615.120 has CVE-2023-2033");
    let epss = chrome.evidence.epss.as_ref().expect("EPSS in evidence");
    assert_eq!((epss.score, epss.date.as_str()), (0.01234, "2026-12-01"));
    let snapshots = snapshot::Snapshots::open(dir.path(), store.clone(), 10).unwrap();
    let options = snapshot::BuildOptions {
        part_target_bytes: 50_000,
        batch: 16,
    };
    snapshot::publish_from_store(&snapshots, now(), &options, &snapshot::Quiet).unwrap();
    {
        let mut up = f.up.lock().unwrap();
        let item = up
            .nvd
            .iter_mut()
            .find(|v| v["cve"]["id"] == "CVE-2023-2033")
            .expect("CVE-2023-2033 is served");
        rescore(item, 4.2);
        item["cve"]["lastModified"] = json!("2026-12-01T13:00:00.000");
    }
    let report = feeds::sync(store.as_ref(), &cfg, now() + Days::hours(2), &NoProgress)
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(report.updated, 1, "{report}");
    let second = snapshot::publish_from_store(
        &snapshots,
        now() + Days::hours(3),
        &options,
        &snapshot::Quiet,
    )
    .unwrap();
    let changes = second.changes.expect("a delta against the first snapshot");
    assert_eq!(
        (changes.new, changes.fixed, changes.updated),
        (0, 0, 1),
        "{changes:?}"
    );
}
