//! The API over real HTTP: a real SQLite store, real snapshots, axum on loopback.

use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;
use snapshot::{ExportKind, Snapshots};
use std::collections::HashSet;
use std::sync::Arc;
use store::StateStore;

struct World {
    dir: tempfile::TempDir,
    store: Arc<dyn StateStore>,
    snapshots: Arc<Snapshots>,
    base: String,
    server: tokio::task::JoinHandle<()>,
}

const DEVICES: u32 = 80;

fn fleet_cfg(now_hour: u32) -> emulator::FleetConfig {
    emulator::FleetConfig::new(
        DEVICES,
        11,
        Utc.with_ymd_and_hms(2026, 11, 20, now_hour, 0, 0).unwrap(),
    )
}

/// The service's present in these tests: two hours after the first publish.
fn present() -> chrono::DateTime<Utc> {
    testkit::world::utc(2026, 11, 20, 20)
}

fn publish(snapshots: &Snapshots, minute: i64) -> snapshot::PublishReport {
    let at = testkit::world::utc(2026, 11, 20, 18) + Duration::minutes(minute);
    testkit::world::publish_at(snapshots, at, &testkit::world::small_parts(30_000, 13))
}

async fn serve(snapshots: Arc<Snapshots>, port: u16) -> (String, tokio::task::JoinHandle<()>) {
    let served = testkit::world::serve_api(snapshots, port, |state| {
        state.metrics = server::metrics_handle();
        // The service's present is the fixture's, not the calendar's: nothing ages out.
        let mut config = (*state.config).clone();
        config.clock = server::Clock::Fixed(present());
        state.config = Arc::new(config);
    })
    .await;
    (served.base, served.handle)
}

async fn world() -> World {
    let testkit::world::World {
        dir,
        store,
        snapshots,
    } = testkit::world::seeded(DEVICES, 11, testkit::world::utc(2026, 11, 20, 12), 4);
    publish(&snapshots, 0);
    let (base, server) = serve(snapshots.clone(), 0).await;
    World {
        dir,
        store,
        snapshots,
        base,
        server,
    }
}

async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

fn rendered(s: &snapshot::Snapshot, kind: ExportKind) -> Vec<Value> {
    (0..s.rows(kind))
        .map(|i| {
            let mut out = Vec::new();
            s.render(kind, i, &mut out);
            serde_json::from_slice(&out).unwrap()
        })
        .collect()
}

const ASSESSMENT: [(&str, ExportKind, &str); 4] = [
    (
        "machines/SecureConfigurationsAssessmentByMachine",
        ExportKind::SecureConfiguration,
        "AssetConfiguration",
    ),
    (
        "machines/SoftwareInventoryByMachine",
        ExportKind::SoftwareInventory,
        "AssetSoftware",
    ),
    (
        "machines/SoftwareInventoryNoProductCodeByMachine",
        ExportKind::NonCpeSoftware,
        "AssetNonCpeSoftware",
    ),
    (
        "machines/SoftwareVulnerabilitiesByMachine",
        ExportKind::Vulnerabilities,
        "AssetVulnerability",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walking_all_pages_returns_the_snapshot_once_while_another_is_published() {
    let w = world().await;
    for (i, (path, kind, entity)) in ASSESSMENT.iter().enumerate() {
        let pinned = w.snapshots.latest().unwrap();
        let expected = rendered(&pinned, *kind);
        let mut url = format!("{}/api/{path}?pageSize=37&sinceTime=2021-05-19", w.base);
        let mut got: Vec<Value> = Vec::new();
        let mut pages = 0;
        loop {
            let (status, headers, body) = get(&url).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(headers["odata-version"], "4.0");
            assert!(
                headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json")
            );
            let page: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                page["@odata.context"],
                format!(
                    "{}/api/$metadata#Collection(microsoft.windowsDefenderATP.api.{entity})",
                    w.base
                )
            );
            let value = page["value"].as_array().unwrap();
            assert!(value.len() <= 37);
            got.extend(value.iter().cloned());
            pages += 1;
            if pages == 2 {
                // A new snapshot (from changed device state) is published mid-walk.
                let store = w.store.clone();
                let snapshots = w.snapshots.clone();
                tokio::task::spawn_blocking(move || {
                    let cfg = fleet_cfg(14);
                    let changed: Vec<_> = (0..DEVICES)
                        .step_by(3)
                        .map(|d| {
                            let mut r = emulator::device_report(&cfg, d);
                            r.sequence = 2;
                            r.software.truncate(r.software.len() / 2);
                            r
                        })
                        .collect();
                    ingest::apply_reports(store.as_ref(), &changed, cfg.now).unwrap();
                    publish(&snapshots, 10 + i as i64);
                })
                .await
                .unwrap();
                assert_ne!(
                    w.snapshots.latest().unwrap().time_path(),
                    pinned.time_path()
                );
            }
            match page.get("@odata.nextLink") {
                Some(next) => {
                    let next = next.as_str().unwrap();
                    assert!(
                        next.contains("pagesize=37") && next.contains("sincetime=2021-05-19"),
                        "{next}"
                    );
                    url = next.to_owned();
                }
                None => break,
            }
        }
        assert_eq!(got.len(), expected.len(), "{path}: row count");
        assert_eq!(
            got, expected,
            "{path}: rows differ from the pinned snapshot"
        );
        let unique: HashSet<String> = got.iter().map(|v| v.to_string()).collect();
        assert_eq!(unique.len(), got.len(), "{path}: a row was returned twice");
        assert!(pages > 3, "{path}: only {pages} pages");
    }
    w.server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_returns_the_first_records_without_next_link() {
    let w = world().await;
    let s = w.snapshots.latest().unwrap();
    let expected = rendered(&s, ExportKind::Vulnerabilities);
    let (status, _, body) = get(&format!(
        "{}/api/machines/SoftwareVulnerabilitiesByMachine?$top=5",
        w.base
    ))
    .await;
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["value"].as_array().unwrap(), &expected[..5]);
    assert!(page.get("@odata.nextLink").is_none());
    // Case-insensitive path, /api/v1.0, stray whitespace in values.
    let (status, _, body) = get(&format!(
        "{}/api/v1.0/Machines/softwarevulnerabilitiesbymachine?PAGESIZE=3%20%20",
        w.base
    ))
    .await;
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["value"].as_array().unwrap(), &expected[..3]);
    assert!(
        page["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("pagesize=3%20%20&$skiptoken=")
    );
    w.server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_its_documented_4xx() {
    let w = world().await;
    let vulns = "/api/machines/SoftwareVulnerabilitiesByMachine";
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let expired = b64(
        r#"{"ExportDefinition":{"TimePath":"2020-01-01/0000/"},"ExportFileIndex":0,"LineStoppedAt":1}"#,
    );
    let tp = w.snapshots.latest().unwrap().time_path().to_owned();
    let beyond = b64(&format!(
        r#"{{"ExportDefinition":{{"TimePath":"{tp}"}},"ExportFileIndex":99999,"LineStoppedAt":1}}"#
    ));
    let cases: Vec<(String, u16, &str)> = vec![
        (format!("{vulns}?pageSize=0"), 400, "InvalidInput"),
        (format!("{vulns}?pageSize=-1"), 400, "InvalidInput"),
        (format!("{vulns}?pageSize=200001"), 400, "InvalidInput"),
        (format!("{vulns}?pageSize=abc"), 400, "InvalidInput"),
        (format!("{vulns}?pageSize=1.5"), 400, "InvalidInput"),
        (
            format!("{vulns}?pageSize=1&pagesize=2"),
            400,
            "InvalidInput",
        ),
        (
            format!("{vulns}?$skiptoken=notbase64!!"),
            400,
            "InvalidInput",
        ),
        (
            format!("{vulns}?$skiptoken={}", b64("{}")),
            400,
            "InvalidInput",
        ),
        (format!("{vulns}?$skiptoken={expired}"), 400, "InvalidInput"),
        (format!("{vulns}?$skiptoken={beyond}"), 400, "InvalidInput"),
        (format!("{vulns}?$top=-3"), 400, "ODataError"),
        (format!("{vulns}?$top=abc"), 400, "ODataError"),
        (format!("{vulns}?$orderby=cveId"), 400, "ODataError"),
        (format!("{vulns}?$filter=cveId eq 'x'"), 400, "ODataError"),
        (format!("{vulns}?$foo=1"), 400, "ODataError"),
        ("/api/deviceavinfo?$top=10001".into(), 400, "ODataError"),
        ("/api/deviceavinfo?$top=x".into(), 400, "ODataError"),
        ("/api/deviceavinfo?$skip=-1".into(), 400, "ODataError"),
        (
            "/api/deviceavinfo?$filter=osKind eq".into(),
            400,
            "ODataError",
        ),
        (
            "/api/deviceavinfo?$filter=rbacGroupName eq 'x'".into(),
            400,
            "ODataError",
        ),
        (
            "/api/deviceavinfo?$filter=id eq 'x'".into(),
            400,
            "ODataError",
        ),
        (
            "/api/deviceavinfo?$filter=nosuch eq 'x'".into(),
            400,
            "ODataError",
        ),
        (
            "/api/deviceavinfo?$filter=rbacGroupId eq 'x'".into(),
            400,
            "ODataError",
        ),
        (
            "/api/deviceavinfo?$orderby=osKind".into(),
            400,
            "ODataError",
        ),
        ("/api/deviceavinfo?$select=id".into(), 400, "ODataError"),
        ("/api/machines/NoSuchExport".into(), 404, "NotFound"),
        ("/nothing/here".into(), 404, "NotFound"),
    ];
    for (path, status, code) in cases {
        let (got, headers, body) = get(&format!("{}{path}", w.base)).await;
        assert_eq!(got, status, "{path}: {body}");
        let v: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        assert_eq!(v["error"]["code"], code, "{path}: {body}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        // The error's target is the request id the response carries.
        assert_eq!(
            v["error"]["target"].as_str().unwrap(),
            headers["x-request-id"].to_str().unwrap(),
            "{path}"
        );
    }
    let (_, _, body) = get(&format!("{}{vulns}?$skiptoken={expired}", w.base)).await;
    assert!(body.contains("expired"), "{body}");
    let (_, _, body) = get(&format!("{}{vulns}?pageSize=0", w.base)).await;
    assert!(body.contains("1 to 200000"), "{body}");
    // A wrong method is 405, in the error format.
    let r = reqwest::Client::new()
        .post(format!("{}{vulns}", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(
        serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["error"]["code"],
        "BadRequest"
    );
    w.server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deviceavinfo_filters_pages_and_skip_windows() {
    let w = world().await;
    let s = w.snapshots.latest().unwrap();
    let all = rendered(&s, ExportKind::DeviceAv);
    // Default page is 20, with a nextLink that advances $skip.
    let (status, _, body) = get(&format!("{}/api/deviceavinfo", w.base)).await;
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        page["@odata.context"],
        format!("{}/api/$metadata#DeviceAvInfo", w.base)
    );
    assert_eq!(page["value"].as_array().unwrap(), &all[..20]);
    assert!(
        page["@odata.nextLink"]
            .as_str()
            .unwrap()
            .ends_with("$skip=20")
    );
    // Concurrent $skip windows cover the whole set exactly.
    let windows = futures_util::future::join_all((0..all.len()).step_by(25).map(|skip| {
        let url = format!("{}/api/deviceavinfo?$top=25&$skip={skip}", w.base);
        async move { get(&url).await.2 }
    }))
    .await;
    let joined: Vec<Value> = windows
        .iter()
        .flat_map(|b| {
            serde_json::from_str::<Value>(b).unwrap()["value"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    assert_eq!(joined, all);
    // Filters agree with evaluating the same predicate on the records.
    type Check = (&'static str, Box<dyn Fn(&Value) -> bool>);
    let checks: Vec<Check> = vec![
        (
            "osKind eq 'windows'",
            Box::new(|v| v["osKind"] == "windows"),
        ),
        (
            "osKind eq 'linux' or osKind eq 'mac'",
            Box::new(|v| v["osKind"] != "windows"),
        ),
        (
            "avIsSignatureUpToDate eq 'False' and rbacGroupId ne 0",
            Box::new(|v| v["avIsSignatureUpToDate"] == "False" && v["rbacGroupId"] != 0),
        ),
        (
            "startswith(osPlatform,'Windows')",
            Box::new(|v| v["osPlatform"].as_str().unwrap().starts_with("Windows")),
        ),
        (
            "RBACGROUPID in (86, 11)",
            Box::new(|v| v["rbacGroupId"] == 86 || v["rbacGroupId"] == 11),
        ),
        ("avMode eq '2'", Box::new(|v| v["avMode"] == "2")),
        (
            "not (quickScanResult eq 'Completed')",
            Box::new(|v| v["quickScanResult"] != "Completed"),
        ),
    ];
    for (filter, pred) in checks {
        let want: Vec<&Value> = all.iter().filter(|v| pred(v)).collect();
        let mut got = Vec::new();
        let mut url = format!(
            "{}/api/deviceavinfo?$filter={}&$top=7",
            w.base,
            filter.replace(' ', "+")
        );
        loop {
            let (status, _, body) = get(&url).await;
            assert_eq!(status, 200, "{filter}: {body}");
            let page: Value = serde_json::from_str(&body).unwrap();
            got.extend(page["value"].as_array().unwrap().clone());
            match page.get("@odata.nextLink") {
                Some(n) => url = n.as_str().unwrap().to_owned(),
                None => break,
            }
        }
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "{filter}");
    }
    w.server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_serves_byte_identical_pages() {
    let w = world().await;
    let port = w.base.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let mut before = Vec::new();
    for (path, _, _) in ASSESSMENT {
        before.push(get(&format!("{}/api/{path}?pageSize=50", w.base)).await.2);
    }
    before.push(
        get(&format!("{}/api/deviceavinfo?$top=30&$skip=10", w.base))
            .await
            .2,
    );
    w.server.abort();
    let _ = w.server.await;
    drop(w.snapshots);
    // A new process would open the same data directory: same store file, same snapshots.
    let store = testkit::world::open_store(w.dir.path());
    let snapshots = testkit::world::open_snapshots(w.dir.path(), store, 4);
    let (base, server) = serve(snapshots, port).await;
    let mut after = Vec::new();
    for (path, _, _) in ASSESSMENT {
        after.push(get(&format!("{base}/api/{path}?pageSize=50")).await.2);
    }
    after.push(
        get(&format!("{base}/api/deviceavinfo?$top=30&$skip=10"))
            .await
            .2,
    );
    assert_eq!(before, after);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_endpoints() {
    let w = world().await;
    let (status, _, body) = get(&format!("{}/healthz", w.base)).await;
    assert_eq!(status, 200);
    let h: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["devices"], DEVICES);
    let _ = get(&format!("{}/api/deviceavinfo", w.base)).await;
    let (status, _, metrics) = get(&format!("{}/metrics", w.base)).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("posture_http_requests_total"), "{metrics}");
    assert!(metrics.contains("posture_rows_served_total"));
    // Read from the mechanism's own count at each scrape, so present before any trim.
    assert!(
        metrics.contains("posture_snapshot_page_trims_total"),
        "{metrics}"
    );
    let (status, _, doc) = get(&format!("{}/openapi.json", w.base)).await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    for e in server::endpoints::ENDPOINTS {
        assert!(
            doc["paths"].get(format!("/api/{}", e.path)).is_some(),
            "{}",
            e.path
        );
    }
    // Every $ref resolves to a component; the record components are the wire types'.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r);
                }
                o.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} is not a component ref"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    for t in model::csdl::record_types() {
        let schema = &doc["components"]["schemas"][t.name];
        for p in t.properties().unwrap() {
            assert!(
                schema["properties"].get(&p.name).is_some(),
                "{}.{}",
                t.name,
                p.name
            );
        }
    }
    w.server.abort();
}

/// GET with an optional `Accept-Encoding`, returning the raw (undecoded) body bytes.
async fn get_raw(url: &str, accept: Option<&str>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let client = reqwest::Client::new();
    let mut req = client.get(url);
    if let Some(a) = accept {
        req = req.header("accept-encoding", a);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_encoding_gzip_compresses_pages_and_its_absence_changes_nothing() {
    use std::io::Read;
    let w = world().await;
    let since = (present() - Duration::hours(3))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut urls: Vec<String> = ASSESSMENT
        .iter()
        .map(|(path, _, _)| format!("{}/api/{path}?pageSize=200", w.base))
        .collect();
    urls.push(format!("{}/api/deviceavinfo?$top=30&$skip=10", w.base));
    urls.push(format!(
        "{}/api/machines/SoftwareVulnerabilityChangesByMachine?sinceTime={since}",
        w.base
    ));
    for url in &urls {
        let (status, plain_headers, plain) = get_raw(url, None).await;
        assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&plain));
        assert!(plain_headers.get("content-encoding").is_none(), "{url}");
        serde_json::from_slice::<Value>(&plain).unwrap_or_else(|e| panic!("{url}: {e}"));
        // Not asking for gzip (or refusing it) gives the same plain bytes.
        for accept in ["identity", "gzip;q=0", "br"] {
            let (status, headers, body) = get_raw(url, Some(accept)).await;
            assert_eq!(status, 200);
            assert!(headers.get("content-encoding").is_none(), "{url} {accept}");
            assert!(body == plain, "{url} {accept}: body differs");
        }
        for accept in ["gzip", "gzip, deflate, br", "br;q=1, gzip;q=0.8"] {
            let (status, headers, body) = get_raw(url, Some(accept)).await;
            assert_eq!(status, 200);
            assert_eq!(headers["content-encoding"], "gzip", "{url} {accept}");
            assert_eq!(headers["vary"], "accept-encoding");
            assert_eq!(headers["odata-version"], "4.0");
            let mut decoder = flate2::bufread::GzDecoder::new(&body[..]);
            let mut decoded = Vec::new();
            decoder.read_to_end(&mut decoded).unwrap();
            assert!(decoder.into_inner().is_empty(), "{url}: one gzip member");
            assert!(decoded == plain, "{url} {accept}: decoded page differs");
        }
    }
    // Errors are never compressed.
    let (status, headers, _) = get_raw(
        &format!(
            "{}/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=0",
            w.base
        ),
        Some("gzip"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(headers.get("content-encoding").is_none());
}
