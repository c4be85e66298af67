//! `/healthz` reports each knowledge-base feed's age and warns when one is older than
//! the threshold (`ApiConfig::kb_max_age`, `serve --kb-max-age`).

use chrono::{Duration, Utc};
use serde_json::Value;
use server::{ApiConfig, Clock};
use std::sync::Arc;

async fn healthz(w: &testkit::world::World, clock: Clock, max_age: Duration) -> Value {
    let served = testkit::world::serve_api(w.snapshots.clone(), 0, |state| {
        let mut config = ApiConfig::new(state.config.base_url.clone());
        config.clock = clock;
        config.kb_max_age = max_age;
        state.config = Arc::new(config);
    })
    .await;
    let body = reqwest::get(format!("{}/healthz", served.base))
        .await
        .unwrap();
    assert_eq!(body.status(), 200);
    let v = body.json().await.unwrap();
    served.handle.abort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_lists_feed_ages_and_warns_when_a_feed_is_older_than_the_threshold() {
    let w = testkit::world::seeded(20, 5, testkit::world::utc(2026, 11, 18, 0), 2);
    // Seeding imported the synthetic NVD and KEV feeds just now.
    let fresh = healthz(
        &w,
        Clock::Fixed(Utc::now() + Duration::hours(1)),
        Duration::hours(48),
    )
    .await;
    assert_eq!(fresh["status"], "ok", "{fresh}");
    assert_eq!(fresh["warnings"], serde_json::json!([]));
    let feeds = fresh["feeds"].as_array().unwrap();
    let names: Vec<&str> = feeds.iter().map(|f| f["feed"].as_str().unwrap()).collect();
    assert!(names.contains(&"nvd") && names.contains(&"kev"), "{fresh}");
    for f in feeds {
        let age = f["ageSeconds"].as_i64().unwrap();
        assert!((3000..=3700).contains(&age), "{f}");
        assert_eq!(f["stale"], false);
        assert!(f["records"].as_u64().unwrap() > 0);
    }

    // Three days later the same feeds are past the 48 h threshold.
    let stale = healthz(
        &w,
        Clock::Fixed(Utc::now() + Duration::days(3)),
        Duration::hours(48),
    )
    .await;
    assert_eq!(stale["status"], "warn", "{stale}");
    let warnings = stale["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), feeds.len(), "{stale}");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("feed nvd")),
        "{stale}"
    );
    assert!(
        stale["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["stale"] == true)
    );

    // A longer threshold accepts them.
    let lenient = healthz(
        &w,
        Clock::Fixed(Utc::now() + Duration::days(3)),
        Duration::days(7),
    )
    .await;
    assert_eq!(lenient["status"], "ok", "{lenient}");
}

async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// `/readyz` is 200 only when the store answers, a snapshot is loaded and the node is
/// not draining; otherwise 503 naming what is not. Either way it names the snapshot
/// served, and `/metrics` carries the same answer (`posture_ready`,
/// `posture_serving_snapshot_seq`). `/healthz` (liveness) stays 200 throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_needs_a_snapshot_an_answering_store_and_no_drain() {
    let at = testkit::world::utc(2026, 11, 18, 0);
    let w = testkit::world::seeded(20, 5, at, 2);
    let drain = server::health::Drain::default();
    let served = testkit::world::serve_api(w.snapshots.clone(), 0, |state| {
        let mut config = ApiConfig::new(state.config.base_url.clone());
        config.drain = drain.clone();
        state.config = Arc::new(config);
        state.metrics = server::metrics_handle();
    })
    .await;
    let readyz = format!("{}/readyz", served.base);
    let metrics = || async {
        reqwest::get(format!("{}/metrics", served.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };

    let (status, body) = get_json(&readyz).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not ready", "{body}");
    assert_eq!(body["snapshot"], Value::Null, "{body}");
    let reasons = body["notReady"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{body}");
    assert!(
        reasons[0].as_str().unwrap().starts_with("snapshot:"),
        "{body}"
    );
    let m = metrics().await;
    assert!(m.contains("posture_ready 0"), "{m}");
    assert!(m.contains("posture_serving_snapshot_seq 0"), "{m}");

    let published = testkit::world::publish_at(
        &w.snapshots,
        at + Duration::hours(1),
        &snapshot::BuildOptions::default(),
    );
    let (status, body) = get_json(&readyz).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["notReady"], serde_json::json!([]), "{body}");
    assert_eq!(body["draining"], false, "{body}");
    assert_eq!(body["snapshot"]["seq"], published.seq, "{body}");
    assert_eq!(body["snapshot"]["timePath"], published.time_path, "{body}");
    assert_eq!(body["snapshot"]["devices"], 20, "{body}");
    let m = metrics().await;
    assert!(m.contains("posture_ready 1"), "{m}");
    assert!(
        m.contains(&format!("posture_serving_snapshot_seq {}", published.seq)),
        "{m}"
    );

    drain.start();
    let (status, body) = get_json(&readyz).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["draining"], true, "{body}");
    assert_eq!(body["snapshot"]["seq"], published.seq, "{body}");
    let reasons = body["notReady"].as_array().unwrap();
    assert!(
        reasons[0].as_str().unwrap().starts_with("draining:"),
        "{body}"
    );
    let (status, _) = get_json(&format!("{}/healthz", served.base)).await;
    assert_eq!(status, 200, "liveness is not readiness");

    served.handle.abort();
}

/// A store that does not answer makes the node not ready (here the SQLite file is gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_when_the_store_does_not_answer() {
    let at = testkit::world::utc(2026, 11, 18, 0);
    let w = testkit::world::seeded(5, 5, at, 2);
    testkit::world::publish_at(&w.snapshots, at, &snapshot::BuildOptions::default());
    let served = testkit::world::serve_api(w.snapshots.clone(), 0, |_| {}).await;
    let readyz = format!("{}/readyz", served.base);
    assert_eq!(get_json(&readyz).await.0, 200);
    std::fs::remove_file(w.dir.path().join("state.db")).unwrap();
    let (status, body) = get_json(&readyz).await;
    assert_eq!(status, 503, "{body}");
    let reasons = body["notReady"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{body}");
    assert!(
        reasons[0].as_str().unwrap().starts_with("state store:"),
        "{body}"
    );
    assert_eq!(body["snapshot"]["seq"], 1, "{body}");
    served.handle.abort();
}
