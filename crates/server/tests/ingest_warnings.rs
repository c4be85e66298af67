//! The report API's warnings: software of a stored report that cannot be assessed is
//! named (path and reason), never refused.

use serde_json::{Value, json};
use std::sync::Arc;
use store::{SqliteStore, StateStore};

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn StateStore>,
    url: String,
    key: String,
}

async fn world(max_warnings: usize) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> =
        Arc::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
    let key = ingest::keys::create_key(store.as_ref(), "test")
        .unwrap()
        .key;
    let mut state = server::ingest_api::IngestState::new(store.clone());
    state.max_warnings = max_warnings;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/ingest/v1/reports",
        listener.local_addr().unwrap()
    );
    let app = server::ingest_api::router(Arc::new(state));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    World {
        _dir: dir,
        store,
        url,
        key,
    }
}

async fn post_ndjson(w: &World, reports: &[Value]) -> (u16, Value) {
    let body: String = reports.iter().map(|r| format!("{r}\n")).collect();
    let r = reqwest::Client::new()
        .post(&w.url)
        .header("authorization", format!("Bearer {}", w.key))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

fn report(device: u32, software: Value) -> Value {
    json!({
        "deviceId": format!("{device:040x}"),
        "sequence": 1,
        "reportedAt": "2026-11-20T10:00:00Z",
        "os": {"kind": "linux", "platform": "Linux", "version": "6.1",
               "distro": {"id": "debian", "versionId": "12"}},
        "software": software,
    })
}

fn software(name: &str, version: &str, cpe: Option<&str>, ecosystem: Option<&str>) -> Value {
    let mut s = json!({"vendor": "acme", "name": name, "version": version});
    if let Some(c) = cpe {
        s["cpe"] = json!(c);
    }
    if let Some(e) = ecosystem {
        s["ecosystem"] = json!(e);
    }
    s
}

/// One item of each kind that cannot be assessed, between assessable ones.
fn mixed_software() -> Value {
    json!([
        software(
            "tool",
            "1.0",
            Some("cpe:2.3:a:acme:tool:1.0:*:*:*:*:*:*:*"),
            None
        ),
        software("bare", "1.0", None, None),
        software("requests", "2.31.0", None, Some("pip")),
        software(
            "broken",
            "1.0",
            Some("cpe:2.3:a:acme::1.0:*:*:*:*:*:*:*"),
            None
        ),
        software(
            "blank",
            "",
            Some("cpe:2.3:a:acme:blank:*:*:*:*:*:*:*:*"),
            None
        ),
        software("flask", "latest", None, Some("PyPI")),
        software("lodash", "4.17.21", None, Some("npm")),
        software("libc6", "2.36-9+deb12u4", None, Some("Debian:12")),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unassessable_software_is_warned_about_and_the_report_is_stored() {
    let w = world(1_000).await;
    let reports = [
        report(
            1,
            json!([software(
                "tool",
                "1.0",
                Some("cpe:2.3:a:acme:tool:1.0:*:*:*:*:*:*:*"),
                None
            )]),
        ),
        report(2, mixed_software()),
    ];
    let (status, body) = post_ndjson(&w, &reports).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["refused"], json!([]));
    assert!(body.get("warningsOmitted").is_none(), "{body}");
    let warnings = body["warnings"].as_array().expect("warnings is a list");
    let seen: Vec<(u64, &str, &str, &str)> = warnings
        .iter()
        .map(|w| {
            (
                w["index"].as_u64().unwrap(),
                w["deviceId"].as_str().unwrap(),
                w["path"].as_str().unwrap(),
                w["gap"].as_str().unwrap(),
            )
        })
        .collect();
    let device = format!("{:040x}", 2);
    assert_eq!(
        seen,
        vec![
            (1, device.as_str(), "software[1]", "noCpeOrEcosystem"),
            (1, device.as_str(), "software[2]", "unsupportedEcosystem"),
            (1, device.as_str(), "software[3]", "unparsableCpe"),
            (1, device.as_str(), "software[4]", "emptyVersion"),
            (1, device.as_str(), "software[5]", "unparsableVersion"),
        ],
        "{body}"
    );
    let reason = |i: usize| warnings[i]["reason"].as_str().unwrap();
    assert!(
        reason(0).starts_with("no CPE and no package ecosystem"),
        "{}",
        reason(0)
    );
    assert!(reason(1).contains("\"pip\""), "{}", reason(1));
    for name in kb::SUPPORTED_ECOSYSTEMS {
        assert!(reason(1).contains(name), "{name} not listed: {}", reason(1));
    }
    assert!(
        reason(2).contains("empty product component"),
        "{}",
        reason(2)
    );
    assert!(reason(3).starts_with("empty version"), "{}", reason(3));
    assert!(reason(4).contains("PEP 440"), "{}", reason(4));

    // Warned about, stored all the same, every item included.
    let stored = w
        .store
        .device(&device)
        .unwrap()
        .expect("the report is stored");
    assert_eq!(stored.report.software.len(), 8);
    assert_eq!(w.store.device_count().unwrap(), 2);
    // The warnings are exactly what `posture coverage` will say about the stored report.
    let coverage: Vec<String> = stored
        .report
        .software
        .iter()
        .enumerate()
        .filter(|(_, s)| assess::coverage::gap(s).is_some())
        .map(|(i, _)| format!("software[{i}]"))
        .collect();
    let warned: Vec<&str> = seen.iter().map(|s| s.2).collect();
    assert_eq!(coverage, warned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fully_assessable_report_gets_an_empty_warning_list() {
    let w = world(1_000).await;
    let all_good = json!([
        software(
            "tool",
            "1.0",
            Some("cpe:2.3:a:acme:tool:1.0:*:*:*:*:*:*:*"),
            None
        ),
        software("lodash", "4.17.21", None, Some("npm")),
        software("requests", "2.31.0", None, Some("pypi")),
    ]);
    let (status, body) = post_ndjson(&w, &[report(3, all_good)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["warnings"], json!([]), "{body}");
    assert!(body.get("warningsOmitted").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_beyond_the_limit_are_counted_not_listed() {
    let w = world(3).await;
    let (status, body) = post_ndjson(
        &w,
        &[report(4, mixed_software()), report(5, mixed_software())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["warnings"].as_array().unwrap().len(), 3, "{body}");
    assert_eq!(body["warningsOmitted"], 7, "{body}");
    assert_eq!(w.store.device_count().unwrap(), 2);
}
