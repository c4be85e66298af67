//! Per application + tenant rate limits over real HTTP.

use crate::common::*;
use identity::{Limit, RateLimitConfig};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_31st_call_in_a_minute_gets_429_and_retry_after_works() {
    let w = world_with(Options {
        limits: RateLimitConfig::default(),
        ..Options::default()
    })
    .await;
    let token = w.app_token(&["Machine.Read.All"], None).await;
    let other = w.app_token(&["Machine.Read.All"], None).await;
    let started = Instant::now();
    for i in 1..=30 {
        let r = w.api("deviceavinfo?$top=1", Some(&token)).await;
        assert_eq!(r.status, 200, "call {i}: {}", r.body);
    }
    let r = w.api("deviceavinfo?$top=1", Some(&token)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let (code, _) = r.mde_error();
    assert_eq!(code, "TooManyRequests");
    assert!(r.json()["error"]["target"].is_string());
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    // The first call leaves the window 60 s after it was made.
    let elapsed = started.elapsed().as_secs();
    assert!(
        (1..=60).contains(&retry) && retry + elapsed >= 59,
        "Retry-After {retry} after {elapsed} s"
    );
    // Calling early is refused again; another application is not affected.
    assert_eq!(w.api("deviceavinfo?$top=1", Some(&token)).await.status, 429);
    assert_eq!(w.api("deviceavinfo?$top=1", Some(&other)).await.status, 200);
    // Honouring Retry-After succeeds.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let r = w.api("deviceavinfo?$top=1", Some(&token)).await;
    assert_eq!(r.status, 200, "after waiting {retry} s: {}", r.body);
}

#[tokio::test]
async fn concurrent_requests_admit_exactly_the_limit() {
    let w = world_with(Options {
        limits: RateLimitConfig {
            enabled: true,
            json: vec![Limit::per_minute(30), Limit::per_hour(1000)],
            files: vec![Limit::per_minute(5), Limit::per_hour(20)],
        },
        ..Options::default()
    })
    .await;
    let token = w
        .app_token(&["Machine.Read.All", "Vulnerability.Read.All"], None)
        .await;
    let paths = [
        "deviceavinfo?$top=1",
        "machines/SoftwareVulnerabilitiesByMachine?$top=1",
    ];
    let futures = (0..120).map(|i| {
        let w = &w;
        let token = &token;
        async move { w.api(paths[i % 2], Some(token)).await }
    });
    let replies = futures_util::future::join_all(futures).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let limited: Vec<_> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(ok, 30, "admitted");
    assert_eq!(limited.len(), 90);
    assert!(
        limited
            .iter()
            .all(|r| r.headers.contains_key("retry-after"))
    );
}

#[tokio::test]
async fn limits_can_be_configured_and_switched_off() {
    // Off: no limiter at all.
    let w = world().await;
    let token = w.app_token(&["Machine.Read.All"], None).await;
    for _ in 0..40 {
        assert_eq!(w.api("deviceavinfo?$top=1", Some(&token)).await.status, 200);
    }
    // Configured lower: 3 a minute.
    let w = world_with(Options {
        limits: RateLimitConfig {
            enabled: true,
            json: vec![Limit::per_minute(3)],
            files: vec![],
        },
        ..Options::default()
    })
    .await;
    let token = w.app_token(&["Machine.Read.All"], None).await;
    let statuses: Vec<u16> = futures_util::future::join_all(
        (0..5).map(|_| async { w.api("deviceavinfo?$top=1", Some(&token)).await.status }),
    )
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2);
}
