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
