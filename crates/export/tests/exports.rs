//! Via-files exports against a real seeded snapshot (SQLite store, synthetic fleet, real
//! publish): the files hold exactly the JSON pages' records, the local backend serves
//! signed URLs and refuses everything else, a real reader (DuckDB) reads the files, and
//! the Azure (Azurite) and S3 (moto) backends publish and sign native URLs.
//!
//! Tests that need an external tool (python3 + duckdb, azurite-blob, moto_server) print
//! `SKIPPED: ...` and pass when it is absent, unless `POSTURE_REQUIRE_TOOLS=1` (CI), which
//! turns the absence into a failure.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use export::local::{FORBIDDEN_MESSAGE, LocalBackend, SAS_VERSION, UrlSigner};
use export::{BackendConfig, BlobBackend, ExportIndex, ExportOptions, FILE_EXPORTS};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use snapshot::{ExportKind, Snapshot, Snapshots};
use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ORG: &str = "47d41a0c-188d-46d3-bbea-a93dbc0bfcaa";
const KEY: [u8; 32] = [0x5a; 32];

struct World {
    dir: tempfile::TempDir,
    snapshots: Arc<Snapshots>,
}

fn world(devices: u32) -> World {
    let w = testkit::world::seeded(devices, 7, testkit::world::utc(2026, 11, 20, 12), 4);
    World {
        dir: w.dir,
        snapshots: w.snapshots,
    }
}

impl World {
    fn publish(&self, minute: u32) -> Arc<Snapshot> {
        let at = testkit::world::utc(2026, 11, 20, 13) + chrono::Duration::minutes(minute.into());
        let opts = testkit::world::small_parts(40_000, 17);
        testkit::world::publish_at(&self.snapshots, at, &opts);
        self.snapshots.latest().unwrap()
    }
    fn staging(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn opts() -> ExportOptions {
    ExportOptions {
        member_bytes: 16 << 10,
        fsync: false,
        threads: 3,
        ..ExportOptions::new(ORG)
    }
}

/// Decodes a file with a SINGLE-member decoder and checks that nothing follows the member.
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut decoder = flate2::bufread::GzDecoder::new(bytes);
    decoder.read_to_end(&mut out).unwrap();
    assert!(
        decoder.into_inner().is_empty(),
        "bytes after the first gzip member"
    );
    out
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn rendered(s: &Snapshot, kind: ExportKind, start: u64, rows: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for row in start..start + rows {
        s.render(kind, row, &mut out);
        out.push(b'\n');
    }
    out
}

/// Checks the decisions.md layout of a file path and returns its group id.
fn check_layout(path: &str, s: &Snapshot, kind: ExportKind, index: usize) -> u32 {
    let seg: Vec<&str> = path.split('/').collect();
    assert_eq!(seg.len(), 7, "{path}");
    assert_eq!(format!("{}/{}/", seg[0], seg[1]), s.time_path(), "{path}");
    assert_eq!(seg[2], kind.export_name());
    assert_eq!(seg[3], "json");
    assert_eq!(seg[4], format!("OrgId={ORG}"));
    let group: u32 = seg[5]
        .strip_prefix("_RbacGroupId=")
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| panic!("{path}"));
    let name = seg[6];
    let rest = name
        .strip_prefix(&format!("part-{index:05}-"))
        .unwrap_or_else(|| panic!("{path}"));
    let uuid = rest
        .strip_suffix(".c000.json.gz")
        .unwrap_or_else(|| panic!("{path}"));
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{path}");
    assert_eq!(uuid.len(), 36);
    group
}

fn group_of(line: &serde_json::Value, kind: ExportKind) -> i64 {
    let key = if kind == ExportKind::InfoGathering {
        "RbacGroupId"
    } else {
        "rbacGroupId"
    };
    line[key].as_i64().unwrap_or(-1)
}

/// Walks every page of a JSON endpoint, following `@odata.nextLink`.
async fn walk_pages(client: &reqwest::Client, first: String) -> Vec<serde_json::Value> {
    let mut records = Vec::new();
    let mut next = Some(first);
    while let Some(url) = next {
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let page: serde_json::Value = resp.json().await.unwrap();
        records.extend(page["value"].as_array().unwrap().iter().cloned());
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    records
}

async fn start_api(snapshots: Arc<Snapshots>) -> String {
    testkit::world::serve_api(snapshots, 0, |_| {}).await.base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_hold_exactly_the_records_of_the_json_pages() {
    let w = world(120);
    let s = w.publish(0);
    let staging = w.staging("staging");
    let index = export::write_exports(&s, &staging, &opts()).unwrap();
    assert_eq!(index.prefix, &s.time_path()[..15]);
    assert_eq!(index.container, "tvm-export");

    let mut several_blocks = false;
    let mut files_per_group: BTreeMap<(ExportKind, u32), usize> = BTreeMap::new();
    let mut lines_of: BTreeMap<ExportKind, Vec<serde_json::Value>> = BTreeMap::new();
    for kind in FILE_EXPORTS {
        let e = &index.exports[&kind];
        let parts = &s.export(kind).parts;
        assert_eq!(e.name, kind.export_name());
        assert_eq!(e.rows, s.rows(kind), "{kind:?}");
        assert!(e.rows > 0, "{kind:?}");
        assert_eq!(e.files.len(), parts.len(), "{kind:?}: one file per part");
        let mut all = Vec::new();
        for (i, (f, p)) in e.files.iter().zip(parts).enumerate() {
            let group = check_layout(&f.path, &s, kind, i);
            assert_eq!(
                (group, f.start_row, f.rows),
                (p.group_id, p.start_row, p.rows)
            );
            *files_per_group.entry((kind, group)).or_default() += 1;
            several_blocks |= f.blocks > 1;
            let bytes = std::fs::read(staging.join("tvm-export").join(&f.path)).unwrap();
            assert_eq!(bytes.len() as u64, f.bytes);
            assert_eq!(sha_hex(&bytes), f.sha256);
            assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip magic");
            let text = gunzip(&bytes);
            assert_eq!(text.len() as u64, f.uncompressed_bytes);
            // Exactly the rendered rows of the part, one per line, UTF-8, no BOM.
            assert!(
                text == rendered(&s, kind, f.start_row, f.rows),
                "{}",
                f.path
            );
            assert!(!text.starts_with(&[0xef, 0xbb, 0xbf]));
            let text = String::from_utf8(text).unwrap();
            assert!(text.ends_with('\n'));
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(group_of(&v, kind), group as i64, "{}", f.path);
                all.push(v);
            }
        }
        assert_eq!(all.len() as u64, s.rows(kind));
        lines_of.insert(kind, all);
    }
    assert!(
        several_blocks,
        "expected files compressed as several parallel blocks"
    );
    assert!(
        files_per_group.values().any(|n| *n > 1),
        "expected several part files for a group"
    );

    // The JSON pages return the same records, in the same order.
    let base = start_api(w.snapshots.clone()).await;
    let client = reqwest::Client::new();
    for (kind, endpoint) in [
        (
            ExportKind::SecureConfiguration,
            "SecureConfigurationsAssessmentByMachine",
        ),
        (ExportKind::SoftwareInventory, "SoftwareInventoryByMachine"),
        (
            ExportKind::NonCpeSoftware,
            "SoftwareInventoryNoProductCodeByMachine",
        ),
        (
            ExportKind::Vulnerabilities,
            "SoftwareVulnerabilitiesByMachine",
        ),
    ] {
        let pages = walk_pages(
            &client,
            format!("{base}/api/machines/{endpoint}?pageSize=997"),
        )
        .await;
        assert_eq!(pages.len(), lines_of[&kind].len(), "{endpoint}");
        assert!(pages == lines_of[&kind], "{endpoint}: records differ");
    }

    // InfoGatheringExport: PascalCase, DeviceGatheredInfo and AvScanResults JSON strings.
    for v in &lines_of[&ExportKind::InfoGathering] {
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        for k in [
            "DeviceId",
            "DeviceName",
            "OsPlatform",
            "OsVersion",
            "LastSeenTime",
            "RbacGroupId",
            "RbacGroupName",
            "Timestamp",
            "DeviceGatheredInfo",
        ] {
            assert!(keys.iter().any(|x| *x == k), "{k} missing in {v}");
        }
        assert!(keys.iter().all(|k| k.starts_with(char::is_uppercase)));
        let gathered: serde_json::Value =
            serde_json::from_str(v["DeviceGatheredInfo"].as_str().unwrap()).unwrap();
        for k in [
            "AvMode",
            "AvSignatureVersion",
            "AvIsSignatureUptoDate",
            "AvIsEngineUptodate",
            "AvIsPlatformUptodate",
            "CloudProtectionState",
        ] {
            assert!(gathered.get(k).is_some(), "{k} missing in {gathered}");
        }
        let scans: serde_json::Value =
            serde_json::from_str(gathered["AvScanResults"].as_str().unwrap()).unwrap();
        for scan in ["Quick", "Full"] {
            let r = scans
                .get(scan)
                .unwrap_or_else(|| panic!("{scan} missing: {scans}"));
            // A device that never ran that scan has null.
            assert!(
                r.is_null()
                    || ["ScanStatus", "ErrorCode", "Timestamp"]
                        .iter()
                        .all(|k| r.get(*k).is_some()),
                "{scans}"
            );
        }
    }
}

#[test]
fn rewriting_gives_identical_files_and_bad_options_are_refused() {
    let w = world(30);
    let s = w.publish(0);
    let a = export::write_exports(&s, &w.staging("a"), &opts()).unwrap();
    let b = export::write_exports(
        &s,
        &w.staging("b"),
        &ExportOptions {
            threads: 1,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(
        a, b,
        "same snapshot, same names and bytes, whatever the threads"
    );
    // Writing again into the same staging replaces the previous attempt.
    let again = export::write_exports(&s, &w.staging("a"), &opts()).unwrap();
    assert_eq!(a, again);

    for bad in [
        ExportOptions {
            level: 10,
            ..opts()
        },
        ExportOptions {
            org_id: "../x".into(),
            ..opts()
        },
        ExportOptions {
            org_id: String::new(),
            ..opts()
        },
        ExportOptions {
            container: "Bad/Container".into(),
            ..opts()
        },
    ] {
        assert!(matches!(
            export::write_exports(&s, &w.staging("c"), &bad),
            Err(export::ExportError::Option(_))
        ));
    }

    // The index round-trips through exports.json.
    let path = w.staging("exports.json");
    a.write(&path).unwrap();
    assert_eq!(ExportIndex::read(&path).unwrap(), a);
}

// ---------------------------------------------------------------------------------------
// Local backend.

struct Served {
    backend: LocalBackend,
    addr: SocketAddr,
    signer: UrlSigner,
}

async fn serve_local(root: &Path) -> Served {
    let (listener, base) = testkit::world::bind_loopback(0).await;
    let addr = listener.local_addr().unwrap();
    let signer = UrlSigner::from_key(&KEY).unwrap();
    let backend = LocalBackend::new(root, &format!("{base}/files"), signer.clone()).unwrap();
    let router = backend.download_router().unwrap();
    testkit::world::serve_router(listener, base, router);
    Served {
        backend,
        addr,
        signer,
    }
}

/// Sends a request target byte for byte (no client-side normalisation of `..` or `%2e`).
async fn raw_get(addr: SocketAddr, target: &str) -> (u16, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let head_end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(resp.len());
    let status = std::str::from_utf8(&resp[9..12]).unwrap().parse().unwrap();
    (status, resp[(head_end + 4).min(resp.len())..].to_vec())
}

fn assert_forbidden(status: u16, body: &[u8], case: &str, root: &Path) {
    assert_eq!(status, 403, "{case}: {}", String::from_utf8_lossy(body));
    let e: model::wire::ErrorBody =
        serde_json::from_slice(body).unwrap_or_else(|_| panic!("{case}: not an MDE error body"));
    assert_eq!(e.error.code, "Forbidden", "{case}");
    assert_eq!(e.error.message, FORBIDDEN_MESSAGE, "{case}");
    assert!(uuid::Uuid::parse_str(&e.error.target).is_ok(), "{case}");
    let text = String::from_utf8_lossy(body);
    let key_hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    for secret in [
        key_hex.as_str(),
        &B64.encode(KEY),
        &root.display().to_string(),
        "tvm-export",
        "..",
        "sig",
    ] {
        assert!(!text.contains(secret), "{case}: body reveals {secret:?}");
    }
}

/// A SAS query signed with the test key for any validity (the library's signer caps it),
/// as whoever holds the key could make one; the string to sign is the documented one.
fn sign_by_hand(
    resource: &str,
    start: chrono::DateTime<Utc>,
    expiry: chrono::DateTime<Utc>,
) -> String {
    let (st, se) = (
        start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        expiry.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&KEY).unwrap();
    mac.update(format!("{SAS_VERSION}\nr\n{st}\n{se}\nb\n/{resource}").as_bytes());
    let sig = B64.encode(mac.finalize().into_bytes());
    let enc = |v: &str| {
        v.replace(':', "%3A")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    };
    format!(
        "sv={SAS_VERSION}&st={}&se={}&sr=b&sp=r&sig={}",
        enc(&st),
        enc(&se),
        enc(&sig)
    )
}

/// (path and query) of a URL.
fn target_of(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    rest[rest.find('/').unwrap()..].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_serves_every_signed_url_with_ranges() {
    let w = world(60);
    let s = w.publish(0);
    let staging = w.staging("staging");
    let index = export::write_exports(&s, &staging, &opts()).unwrap();
    let served = serve_local(&w.staging("exports")).await;
    served.backend.publish(&staging, &index).await.unwrap();
    assert!(
        !staging.join("tvm-export").join(&index.prefix).exists(),
        "publish moves the staged files"
    );
    let client = reqwest::Client::new();
    let now = Utc::now();
    let mut sample = None;
    for kind in FILE_EXPORTS {
        let urls = served
            .backend
            .signed_urls(&index, kind, Duration::from_secs(3 * 3600), now)
            .await
            .unwrap();
        assert_eq!(urls.len(), index.files(kind).len());
        for (url, f) in urls.iter().zip(index.files(kind)) {
            assert!(url.starts_with(&format!(
                "http://{}/files/tvm-export/{}?sv=2020-08-04&st=",
                served.addr, f.path
            )));
            assert!(url.contains("&se=") && url.contains("&sr=b&sp=r&sig="));
            let resp = client.get(url).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{url}");
            assert_eq!(resp.headers()["content-type"], "application/gzip");
            assert_eq!(resp.headers()["accept-ranges"], "bytes");
            let bytes = resp.bytes().await.unwrap();
            assert_eq!(sha_hex(&bytes), f.sha256, "{url}");
            assert!(gunzip(&bytes) == rendered(&s, kind, f.start_row, f.rows));
            if sample.is_none() && f.bytes > 300 {
                sample = Some((url.clone(), bytes.to_vec()));
            }
        }
    }

    // Range requests and HEAD.
    let (url, full) = sample.unwrap();
    let len = full.len() as u64;
    for (range, from, to) in [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, len - 1),
        ("bytes=-50", len - 50, len - 1),
        ("bytes=10-99999999", 10, len - 1),
    ] {
        let resp = client
            .get(&url)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 206, "{range}");
        assert_eq!(
            resp.headers()["content-range"],
            format!("bytes {from}-{to}/{len}").as_str()
        );
        let body = resp.bytes().await.unwrap();
        assert_eq!(&body[..], &full[from as usize..=to as usize], "{range}");
    }
    // Resuming a download from a range gives the whole file back.
    let head = client
        .get(&url)
        .header("range", "bytes=0-120")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let tail = client
        .get(&url)
        .header("range", "bytes=121-")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!([&head[..], &tail[..]].concat(), full);
    let resp = client
        .get(&url)
        .header("range", format!("bytes={len}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 416);
    assert_eq!(
        resp.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
    let resp = client.head(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], len.to_string().as_str());
    assert!(resp.bytes().await.unwrap().is_empty());
    let resp = client.delete(&url).send().await.unwrap();
    assert_eq!(resp.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_urls_that_are_tampered_expired_or_escape_the_root_are_403() {
    let w = world(20);
    let s = w.publish(0);
    let staging = w.staging("staging");
    let index = export::write_exports(&s, &staging, &opts()).unwrap();
    let root = w.staging("exports");
    let served = serve_local(&root).await;
    served.backend.publish(&staging, &index).await.unwrap();
    // Something outside the export root that a traversal would reach.
    std::fs::write(w.dir.path().join("secret.txt"), "secret").unwrap();
    let addr = served.addr;
    let now = Utc::now();
    let hour = Duration::from_secs(3600);
    let files = index.files(ExportKind::Vulnerabilities);
    let (a, b) = (&files[0].path, &files[1].path);
    let good = target_of(&served.backend.url("tvm-export", a, hour, now));
    let (status, body) = raw_get(addr, &good).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (path_a, query) = good.split_once('?').unwrap();
    let sig_at = query.find("sig=").unwrap() + 4;
    let mut tampered = query.to_owned();
    let c = if &tampered[sig_at..sig_at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(sig_at..sig_at + 1, c);

    let signed = |resource: &str| {
        format!(
            "/files/{resource}?{}",
            served.signer.query(resource, now, hour)
        )
    };
    let mut cases: Vec<(&str, String)> = vec![
        ("tampered signature", format!("{path_a}?{tampered}")),
        (
            "signature of another file",
            format!("/files/tvm-export/{b}?{query}"),
        ),
        (
            "expired se",
            target_of(
                &served
                    .backend
                    .url("tvm-export", a, hour, now - chrono::Duration::hours(2)),
            ),
        ),
        (
            "start in the future",
            target_of(
                &served
                    .backend
                    .url("tvm-export", a, hour, now + chrono::Duration::hours(1)),
            ),
        ),
        (
            "se extended by hand",
            format!(
                "{path_a}?{}",
                query.replace(
                    &format!("se={}", now.format("%Y")),
                    &format!(
                        "se={}",
                        now.format("%Y").to_string().parse::<i32>().unwrap() + 1
                    )
                )
            ),
        ),
        ("no query", path_a.to_owned()),
        (
            "missing sig",
            format!("{path_a}?{}", &query[..query.find("&sig=").unwrap()]),
        ),
        (
            "missing se",
            format!(
                "{path_a}?{}",
                query
                    .split('&')
                    .filter(|p| !p.starts_with("se="))
                    .collect::<Vec<_>>()
                    .join("&")
            ),
        ),
        (
            "write permission",
            format!("{path_a}?{}", query.replace("sp=r", "sp=rw")),
        ),
        (
            "dot-dot",
            format!("/files/tvm-export/../../secret.txt?{query}"),
        ),
        (
            "encoded dot-dot",
            format!("/files/tvm-export/%2e%2e/%2e%2e/secret.txt?{query}"),
        ),
        (
            "upper-case encoded dot-dot",
            format!("/files/tvm-export/%2E%2E/%2E%2E/secret.txt?{query}"),
        ),
        (
            "double-encoded dot-dot",
            format!("/files/tvm-export/%252e%252e/%252e%252e/secret.txt?{query}"),
        ),
        (
            "encoded slash",
            format!("/files/tvm-export/..%2f..%2fsecret.txt?{query}"),
        ),
        (
            "backslash",
            format!("/files/tvm-export/..\\..\\secret.txt?{query}"),
        ),
        (
            "encoded backslash",
            format!("/files/tvm-export/..%5c..%5csecret.txt?{query}"),
        ),
        ("absolute", format!("/files//etc/passwd?{query}")),
        ("NUL", format!("/files/tvm-export/{a}%00.txt?{query}")),
        // Even a correctly signed URL cannot leave the root: the path check comes first.
        ("signed dot-dot", signed("tvm-export/../../secret.txt")),
        ("signed absolute", signed("/etc/passwd")),
        (
            "signed encoded dot-dot",
            signed("tvm-export/%2e%2e/secret.txt"),
        ),
    ];
    cases.push(("empty", format!("/files/?{query}")));
    // Signed with the real key, but valid for longer than 24 hours (what `sasValidHours`
    // allows): refused like a tampered URL.
    for days in [2, 3650] {
        cases.push((
            "signed for more than 24 hours",
            format!(
                "{path_a}?{}",
                sign_by_hand(
                    &format!("tvm-export/{a}"),
                    now,
                    now + chrono::Duration::days(days)
                )
            ),
        ));
    }
    for (case, target) in &cases {
        let (status, body) = raw_get(addr, target).await;
        assert_forbidden(status, &body, case, &root);
    }
    // A valid signature on a file that does not exist: a generic 404.
    let (status, body) = raw_get(addr, &signed("tvm-export/2026-01-01/0000/none.gz")).await;
    assert_eq!(status, 404);
    let e: model::wire::ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(e.error.code, "NotFound");
    assert!(!String::from_utf8_lossy(&body).contains("2026-01-01"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_files_and_cleanup_removes_uncommitted_ones() {
    let w = world(20);
    let root = w.staging("exports");
    let served = serve_local(&root).await;
    let hour = Duration::from_secs(3600);
    let mut indexes = Vec::new();
    for minute in 0..3 {
        let s = w.publish(minute);
        let staging = w.staging(&format!("staging-{minute}"));
        let index = export::write_exports(&s, &staging, &opts()).unwrap();
        served.backend.publish(&staging, &index).await.unwrap();
        indexes.push(index);
    }
    let client = reqwest::Client::new();
    let status = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    let first = &indexes[0];
    let url0 = served.backend.url(
        "tvm-export",
        &first.files(ExportKind::Vulnerabilities)[0].path,
        hour,
        Utc::now(),
    );
    assert_eq!(status(url0.clone()).await, 200);
    // Retention of the oldest snapshot takes its files.
    served.backend.remove(first).await.unwrap();
    assert_eq!(status(url0).await, 404);
    assert!(!root.join("tvm-export").join(&first.prefix).exists());
    // The third publish "crashed" before its commit point: only the second is kept.
    let removed = served
        .backend
        .remove_except("tvm-export", &indexes[1..2])
        .await
        .unwrap();
    assert_eq!(removed, vec![indexes[2].prefix.clone()]);
    let kept = &indexes[1];
    for f in kept.all_files() {
        assert!(root.join("tvm-export").join(&f.path).is_file());
    }
    assert!(!root.join("tvm-export").join(&indexes[2].prefix).exists());
}

// ---------------------------------------------------------------------------------------
// A real reader: DuckDB's read_json over every file.

#[test]
fn duckdb_reads_every_file_with_the_json_row_counts_and_consistent_types() {
    if !testkit::tools::python_has(&["duckdb"]) {
        return testkit::tools::missing("python3 with duckdb", "pip install 'duckdb==2.0.0'");
    }
    let w = world(80);
    let s = w.publish(0);
    let staging = w.staging("staging");
    let index = export::write_exports(&s, &staging, &opts()).unwrap();
    let listing: BTreeMap<&str, Vec<String>> = FILE_EXPORTS
        .iter()
        .map(|k| {
            (
                k.export_name(),
                index
                    .files(*k)
                    .iter()
                    .map(|f| {
                        staging
                            .join("tvm-export")
                            .join(&f.path)
                            .display()
                            .to_string()
                    })
                    .collect(),
            )
        })
        .collect();
    let listing_path = w.staging("listing.json");
    std::fs::write(&listing_path, serde_json::to_vec(&listing).unwrap()).unwrap();
    let out = testkit::tools::run_ok(
        std::process::Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/read_exports.py"))
            .arg(&listing_path),
        "read_exports.py",
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&got).unwrap());
    for kind in FILE_EXPORTS {
        let e = &got[kind.export_name()];
        assert_eq!(e["rows"].as_u64(), Some(s.rows(kind)), "{kind:?}");
        assert_eq!(e["files"].as_u64(), Some(index.files(kind).len() as u64));
        // DuckDB reads OrgId= and _RbacGroupId= as hive partitions: they match the records.
        assert_eq!(e["partition_mismatches"].as_u64(), Some(0), "{kind:?}");
        assert_eq!(e["orgs"], serde_json::json!([ORG]), "{kind:?}");
    }
    let ty = |export: &str, col: &str| {
        got[export]["columns"][col]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    for (export, col, want) in [
        ("VaExport", "rbacGroupId", "BIGINT"),
        ("VaExport", "cvssScore", "DOUBLE"),
        ("VaExport", "securityUpdateAvailable", "BOOLEAN"),
        ("VaExport", "diskPaths", "VARCHAR[]"),
        ("VaExport", "registryPaths", "VARCHAR[]"),
        ("VaExport", "cveId", "VARCHAR"),
        ("ScaExport", "isCompliant", "BOOLEAN"),
        ("ScaExport", "isApplicable", "BOOLEAN"),
        ("ScaExport", "configurationImpact", "BIGINT"),
        ("SoftwareInventory", "numberOfWeaknesses", "BIGINT"),
        ("SoftwareInventory", "diskPaths", "VARCHAR[]"),
        ("NonCpeSoftwareInventory", "softwareName", "VARCHAR"),
        ("InfoGatheringExport", "RbacGroupId", "BIGINT"),
        ("InfoGatheringExport", "DeviceGatheredInfo", "VARCHAR"),
    ] {
        assert_eq!(ty(export, col), want, "{export}.{col}");
    }
}

// ---------------------------------------------------------------------------------------
// Single-member streaming readers: Python's zlib.decompressobj(31) fed piece by piece, and
// `gzip -t`. Such a reader stops after the first gzip member, so every row must be in it.

/// The JSON endpoint serving the same rows as an export (InfoGathering has none).
const ENDPOINT_OF: [(ExportKind, &str); 4] = [
    (
        ExportKind::SecureConfiguration,
        "SecureConfigurationsAssessmentByMachine",
    ),
    (ExportKind::SoftwareInventory, "SoftwareInventoryByMachine"),
    (
        ExportKind::NonCpeSoftware,
        "SoftwareInventoryNoProductCodeByMachine",
    ),
    (
        ExportKind::Vulnerabilities,
        "SoftwareVulnerabilitiesByMachine",
    ),
];

fn python3_runs() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import zlib"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_member_streaming_decoder_reads_every_row_of_every_file() {
    if !python3_runs() {
        return testkit::tools::missing("python3", "apt-get install -y python3");
    }
    let w = world(120);
    let s = w.publish(0);
    let staging = w.staging("staging");
    let index = export::write_exports(&s, &staging, &opts()).unwrap();
    assert!(
        index.all_files().any(|f| f.blocks > 1),
        "the test needs files compressed as several blocks"
    );
    let path_of = |f: &export::ExportFile| staging.join("tvm-export").join(&f.path);
    let listing: BTreeMap<&str, Vec<String>> = FILE_EXPORTS
        .iter()
        .map(|k| {
            let files = index.files(*k).iter();
            (
                k.export_name(),
                files.map(|f| path_of(f).display().to_string()).collect(),
            )
        })
        .collect();
    let listing_path = w.staging("listing.json");
    std::fs::write(&listing_path, serde_json::to_vec(&listing).unwrap()).unwrap();
    let out = testkit::tools::run_ok(
        std::process::Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stream_decode.py"))
            .arg(&listing_path),
        "stream_decode.py",
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines_of = |kind: ExportKind| -> Vec<serde_json::Value> {
        let e = &got[kind.export_name()];
        assert_eq!(
            e["incomplete"],
            serde_json::json!([]),
            "{kind:?}: eof false"
        );
        assert_eq!(
            e["trailing"],
            serde_json::json!([]),
            "{kind:?}: unused_data"
        );
        assert_eq!(e["files"].as_u64(), Some(index.files(kind).len() as u64));
        e["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l.as_str().unwrap()).unwrap())
            .collect()
    };

    // Exactly the JSON endpoints' rows, in order.
    let base = start_api(w.snapshots.clone()).await;
    let client = reqwest::Client::new();
    for (kind, endpoint) in ENDPOINT_OF {
        let pages = walk_pages(
            &client,
            format!("{base}/api/machines/{endpoint}?pageSize=997"),
        )
        .await;
        let lines = lines_of(kind);
        assert_eq!(lines.len() as u64, s.rows(kind), "{endpoint}");
        assert!(lines == pages, "{endpoint}: records differ");
    }
    // InfoGatheringExport has no JSON endpoint: its rows are the snapshot's render.
    let kind = ExportKind::InfoGathering;
    let want: Vec<serde_json::Value> = String::from_utf8(rendered(&s, kind, 0, s.rows(kind)))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines_of(kind) == want, "InfoGatheringExport differs");

    // gzip(1) agrees: every file tests good.
    match std::process::Command::new("gzip")
        .arg("-t")
        .args(index.all_files().map(path_of))
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "gzip -t: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => testkit::tools::missing("gzip", "apt-get install -y gzip"),
    }
}

// ---------------------------------------------------------------------------------------
// Azure Blob (Azurite) and S3 (moto): real servers, native signed URLs, plain HTTP downloads.

/// Publishes a snapshot's exports to `backend`, downloads every signed URL with plain
/// reqwest, checks the content, then removes them and checks they are gone.
async fn publish_sign_download_remove(backend: &dyn BlobBackend, url_marks: &[&str]) -> String {
    let w = world(40);
    let s = w.publish(0);
    let staging = w.staging("staging");
    let index = export::write_exports(&s, &staging, &opts()).unwrap();
    backend.publish(&staging, &index).await.unwrap();
    let client = reqwest::Client::new();
    let mut one = String::new();
    for kind in FILE_EXPORTS {
        let urls = backend
            .signed_urls(&index, kind, Duration::from_secs(3600), Utc::now())
            .await
            .unwrap();
        assert_eq!(urls.len(), index.files(kind).len());
        for (url, f) in urls.iter().zip(index.files(kind)) {
            for mark in url_marks {
                assert!(url.contains(mark), "{url} lacks {mark}");
            }
            assert!(
                url.contains(&f.path.replace('=', "%3D")) || url.contains(&f.path),
                "{url}"
            );
            let resp = client.get(url).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{url}");
            let bytes = resp.bytes().await.unwrap();
            assert_eq!(sha_hex(&bytes), f.sha256, "{url}");
            assert!(gunzip(&bytes) == rendered(&s, kind, f.start_row, f.rows));
            one = url.clone();
        }
    }
    // Clean-up keeps what it is told to keep ...
    let removed = backend
        .remove_except(&index.container, std::slice::from_ref(&index))
        .await
        .unwrap();
    assert!(removed.is_empty());
    assert_eq!(client.get(&one).send().await.unwrap().status(), 200);
    // ... retention removes a snapshot's files ...
    backend.remove(&index).await.unwrap();
    let status = client.get(&one).send().await.unwrap().status();
    assert_eq!(status, 404, "{one} after remove");
    // ... and the files of a publish that never reached its commit point go too.
    let staging = w.staging("staging-again");
    let again = export::write_exports(&s, &staging, &opts()).unwrap();
    backend.publish(&staging, &again).await.unwrap();
    assert_eq!(client.get(&one).send().await.unwrap().status(), 200);
    let removed = backend.remove_except(&again.container, &[]).await.unwrap();
    assert_eq!(removed, vec![again.prefix.clone()]);
    assert_eq!(client.get(&one).send().await.unwrap().status(), 404);
    one
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azurite_publishes_and_serves_native_sas_urls() {
    let Some(azurite) = testkit::objects::azurite() else {
        return;
    };
    let endpoint = azurite.endpoint();
    azurite.create_bucket("tvm-export");
    let backend = export::open_backend(&BackendConfig::Azure {
        account: testkit::objects::AZURITE_ACCOUNT.into(),
        container: "tvm-export".into(),
        access_key: testkit::objects::AZURITE_KEY.into(),
        endpoint: Some(endpoint.clone()),
    })
    .unwrap();
    assert_eq!(backend.name(), "azure");
    let url = publish_sign_download_remove(
        backend.as_ref(),
        &[
            &format!("{endpoint}/tvm-export/"),
            "sv=",
            "st=",
            "se=",
            "sr=b",
            "sp=r",
            "sig=",
        ],
    )
    .await;
    // Azurite checks the signature: a tampered one is refused.
    let sig_at = url.find("sig=").unwrap() + 4;
    let mut bad = url.clone();
    bad.replace_range(sig_at..sig_at + 2, "AA");
    let status = reqwest::get(&bad).await.unwrap().status();
    assert_eq!(status, 403, "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_publishes_and_serves_native_presigned_urls() {
    let Some(moto) = testkit::objects::moto() else {
        return;
    };
    let endpoint = moto.endpoint();
    moto.create_bucket("posture-exports");
    let backend = export::open_backend(&BackendConfig::S3 {
        bucket: "posture-exports".into(),
        region: "us-east-1".into(),
        endpoint: Some(endpoint.clone()),
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
    })
    .unwrap();
    assert_eq!(backend.name(), "s3");
    publish_sign_download_remove(
        backend.as_ref(),
        &[
            &format!("{endpoint}/posture-exports/"),
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Expires=3600",
            "X-Amz-Signature=",
        ],
    )
    .await;
}

#[test]
fn backend_config_is_serde_and_debug_hides_secrets() {
    let cfg = BackendConfig::S3 {
        bucket: "b".into(),
        region: "r".into(),
        endpoint: None,
        access_key_id: "AKIA-SECRET-ID".into(),
        secret_access_key: "very-secret".into(),
    };
    let text = serde_json::to_string(&cfg).unwrap();
    assert!(text.contains("\"kind\":\"s3\""));
    assert_eq!(serde_json::from_str::<BackendConfig>(&text).unwrap(), cfg);
    let dbg = format!("{cfg:?}");
    assert!(!dbg.contains("very-secret") && !dbg.contains("AKIA"));
    let local = BackendConfig::local_default(Path::new("/data"), "http://h:1/");
    assert!(
        matches!(&local, BackendConfig::Local { base_url, .. } if base_url == "http://h:1/files")
    );
}
