//! The report API over real HTTP against a real SQLite store.

use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;
use store::StateStore;

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn StateStore>,
    url: String,
    key: String,
}

async fn world() -> World {
    let (dir, store) = testkit::world::empty_store();
    let key = ingest::keys::create_key(store.as_ref(), "test")
        .unwrap()
        .key;
    let mut state = server::ingest_api::IngestState::new(store.clone());
    state.max_decompressed = 4 << 20;
    let (listener, base) = testkit::world::bind_loopback(0).await;
    let url = format!("{base}/ingest/v1/reports");
    testkit::world::serve_router(listener, base, server::ingest_api::router(Arc::new(state)));
    World {
        _dir: dir,
        store,
        url,
        key,
    }
}

fn reports(n: u32) -> Vec<model::DeviceReport> {
    let cfg = emulator::FleetConfig::new(n, 4, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
    (0..n).map(|i| emulator::device_report(&cfg, i)).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

async fn post(w: &World, key: Option<&str>, ctype: &str, gz: bool, body: Vec<u8>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(&w.url)
        .header("content-type", ctype);
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let body = if gz {
        req = req.header("content-encoding", "gzip");
        gzip(&body)
    } else {
        body
    };
    let r = req.body(body).send().await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_required_and_checked() {
    let w = world().await;
    let body = serde_json::to_vec(&reports(1)[0]).unwrap();
    let (s, b) = post(&w, None, "application/json", false, body.clone()).await;
    assert_eq!(
        (s, b["error"]["code"].as_str().unwrap()),
        (401, "Unauthorized")
    );
    let (s, _) = post(
        &w,
        Some("posture_ik_00000000_deadbeef"),
        "application/json",
        false,
        body.clone(),
    )
    .await;
    assert_eq!(s, 401);
    assert_eq!(w.store.device_count().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_applied_once_and_redelivery_is_idempotent() {
    let w = world().await;
    let r = &reports(1)[0];
    let body = serde_json::to_vec(r).unwrap();
    let (s, b) = post(&w, Some(&w.key), "application/json", false, body.clone()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["accepted"], 1);
    assert_eq!(b["results"][0]["outcome"], "applied");
    assert_eq!(b["results"][0]["deviceId"], r.device_id.as_str());
    let (s, b) = post(&w, Some(&w.key), "application/json", false, body).await;
    assert_eq!(
        (s, b["results"][0]["outcome"].as_str().unwrap()),
        (200, "alreadyApplied")
    );
    assert_eq!(
        w.store
            .device(r.device_id.as_str())
            .unwrap()
            .unwrap()
            .report,
        *r
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_ndjson_batch_accepts_the_good_reports_and_names_the_bad_ones() {
    let w = world().await;
    let rs = reports(6);
    let mut lines: Vec<String> = rs
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    lines[2] = lines[2].replacen("\"sequence\":1", "\"sequence\":\"one\"", 1);
    let mut bad = rs[4].clone();
    bad.software[1].vendor = String::new();
    lines[4] = serde_json::to_string(&bad).unwrap();
    let body = lines.join("\n").into_bytes();
    let (s, b) = post(&w, Some(&w.key), "application/x-ndjson", true, body).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["accepted"], 4);
    let refused = b["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2);
    assert_eq!(
        (refused[0]["index"].as_u64(), refused[0]["path"].as_str()),
        (Some(2), Some("sequence"))
    );
    assert_eq!(
        (refused[1]["index"].as_u64(), refused[1]["path"].as_str()),
        (Some(4), Some("software[1].vendor"))
    );
    assert_eq!(refused[1]["deviceId"], rs[4].device_id.as_str());
    assert_eq!(w.store.device_count().unwrap(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_refused_whole_with_a_precise_message() {
    let w = world().await;
    let mut r = reports(1)[0].clone();
    r.os.platform = " ".into();
    let (s, b) = post(
        &w,
        Some(&w.key),
        "application/json",
        false,
        serde_json::to_vec(&r).unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str().unwrap()),
        (400, "InvalidInput")
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("os.platform"),
        "{b}"
    );
    let (s, _) = post(
        &w,
        Some(&w.key),
        "application/json",
        false,
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = post(
        &w,
        Some(&w.key),
        "application/x-ndjson",
        false,
        b"{}\n{}\n".to_vec(),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = post(&w, Some(&w.key), "application/json", false, Vec::new()).await;
    assert_eq!(s, 400);
    let mut req = reqwest::Client::new()
        .post(&w.url)
        .header("authorization", format!("Bearer {}", w.key));
    req = req
        .header("content-encoding", "gzip")
        .body(b"not gzip at all".to_vec());
    assert_eq!(req.send().await.unwrap().status().as_u16(), 400);
    // A decompression bomb is stopped at the limit.
    let zeros = gzip(&vec![b' '; 8 << 20]);
    let r = reqwest::Client::new()
        .post(&w.url)
        .header("authorization", format!("Bearer {}", w.key))
        .header("content-encoding", "gzip")
        .body(zeros)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(w.store.device_count().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_is_served() {
    let w = world().await;
    let url = w.url.replace("/reports", "/schema");
    let schema: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let props = &schema["properties"];
    for k in [
        "deviceId",
        "sequence",
        "reportedAt",
        "os",
        "software",
        "settings",
        "av",
    ] {
        assert!(props.get(k).is_some(), "{k} missing from {schema}");
    }
    assert_eq!(
        schema["properties"]["deviceId"]["$ref"]
            .as_str()
            .map(|s| s.ends_with("DeviceId")),
        Some(true)
    );
}
