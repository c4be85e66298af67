//! Delta, as-of reads and group scoping over real HTTP.

use access::{ApiError, Authenticator, Principal, Route};
use axum::http::HeaderMap;
use chrono::{Duration, DurationRound, Utc};
use serde_json::Value;
use server::{ApiConfig, Clock};
use snapshot::{ExportKind, Snapshots};
use std::sync::Arc;
use store::StateStore;

/// Test identity: `x-groups: 86,0` limits the caller to those groups.
struct HeaderGroups;
impl Authenticator for HeaderGroups {
    fn authenticate(&self, headers: &HeaderMap, _route: &Route) -> Result<Principal, ApiError> {
        let groups = headers
            .get("x-groups")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').filter_map(|g| g.trim().parse().ok()).collect());
        Ok(Principal {
            app_id: "t".into(),
            tenant_id: "t".into(),
            groups,
        })
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn StateStore>,
    snapshots: Arc<Snapshots>,
    base: String,
    times: Vec<chrono::DateTime<Utc>>,
}

fn publish(snapshots: &Snapshots, at: chrono::DateTime<Utc>) {
    testkit::world::publish_at(snapshots, at, &testkit::world::small_parts(30_000, 11));
}

/// Serves `snapshots` on a free loopback port; returns the base URL.
async fn serve(
    snapshots: Arc<Snapshots>,
    auth: Arc<dyn Authenticator>,
    faults: Option<server::faults::Faults>,
    clock: Clock,
) -> String {
    testkit::world::serve_api(snapshots, 0, |state| {
        let mut config = ApiConfig::new(state.config.base_url.clone());
        config.clock = clock;
        state.config = Arc::new(config);
        state.auth = auth;
        state.faults = faults.map(Arc::new);
    })
    .await
    .base
}

/// A fleet of `devices` seeded at a fixed time, with its snapshots (none published).
fn seeded(
    devices: u32,
    seed: u64,
    retain: usize,
) -> (
    tempfile::TempDir,
    Arc<dyn StateStore>,
    Arc<Snapshots>,
    chrono::DateTime<Utc>,
) {
    let t0 = testkit::world::utc(2026, 11, 18, 0);
    let w = testkit::world::seeded(devices, seed, t0, retain);
    (w.dir, w.store, w.snapshots, t0)
}

async fn world() -> World {
    let (dir, store, snapshots, t0) = seeded(60, 21, 10);
    let mut times = Vec::new();
    for k in 0..3 {
        // Time travel's wall clock is the seeding time, behind the emulator clock, so
        // the emulator clock alone moves the fleet and nothing depends on today's date.
        if k > 0 {
            emulator::advance_fleet(store.as_ref(), 6, t0, &|_| {}).unwrap();
        }
        let at = t0 + Duration::hours(6 * (k + 1));
        publish(&snapshots, at);
        times.push(snapshots.latest().unwrap().manifest.generated_at);
    }
    // The service's clock is pinned an hour after the newest snapshot, so nothing here
    // depends on today's date.
    let now = *times.last().unwrap() + Duration::hours(1);
    let base = serve(
        snapshots.clone(),
        Arc::new(HeaderGroups),
        None,
        Clock::Fixed(now),
    )
    .await;
    World {
        _dir: dir,
        store,
        snapshots,
        base,
        times,
    }
}

async fn get(url: &str, groups: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(g) = groups {
        req = req.header("x-groups", g);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap(),
    )
}

async fn walk(first: &str, groups: Option<&str>) -> Vec<Value> {
    let mut url = first.to_owned();
    let mut all = Vec::new();
    loop {
        let (status, page) = get(&url, groups).await;
        assert_eq!(status, 200, "{url}: {page}");
        all.extend(page["value"].as_array().unwrap().clone());
        match page.get("@odata.nextLink") {
            Some(n) => url = n.as_str().unwrap().to_owned(),
            None => return all,
        }
    }
}

fn log_records(w: &World) -> Vec<Vec<Value>> {
    w.snapshots
        .change_logs()
        .iter()
        .map(|log| {
            (0..log.len())
                .map(|i| {
                    let mut out = Vec::new();
                    log.render(i, &mut out);
                    serde_json::from_slice(&out).unwrap()
                })
                .collect()
        })
        .collect()
}

fn iso(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_time_is_required_and_validated() {
    let w = world().await;
    let path = format!(
        "{}/api/machines/SoftwareVulnerabilityChangesByMachine",
        w.base
    );
    let (s, body) = get(&path, None).await;
    assert_eq!(
        (s, body["error"]["code"].as_str().unwrap()),
        (400, "MissingRequiredParameter")
    );
    assert_eq!(body["error"]["message"], "Parameter sinceTime is missing.");
    let now = *w.times.last().unwrap() + Duration::hours(1);
    for bad in ["yesterday", "2026-13-01", "2026-11-20T25:00:00Z"] {
        let (s, body) = get(&format!("{path}?sinceTime={bad}"), None).await;
        assert_eq!(
            (s, body["error"]["code"].as_str().unwrap()),
            (400, "InvalidInput"),
            "{bad}"
        );
    }
    let (s, body) = get(
        &format!("{path}?sinceTime={}", iso(now - Duration::days(15))),
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("14 days"),
        "{body}"
    );
    let (s, body) = get(
        &format!("{path}?sinceTime={}", iso(now + Duration::days(1))),
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("future"),
        "{body}"
    );
    // Both date and date-time forms, any parameter case.
    let (s, _) = get(
        &format!("{path}?SINCETIME={}", w.times[0].format("%Y-%m-%d")),
        None,
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_pages_cover_the_intervals_from_since_time_and_stay_pinned() {
    let w = world().await;
    let logs = log_records(&w);
    assert_eq!(logs.len(), 2);
    let path = format!(
        "{}/api/machines/SoftwareVulnerabilityChangesByMachine",
        w.base
    );
    // sinceTime in the first interval: both change logs.
    let since = iso(w.times[0] + Duration::minutes(30));
    let all = walk(&format!("{path}?sinceTime={since}&pageSize=9"), None).await;
    let expected: Vec<Value> = logs.concat();
    assert!(
        expected.len() > 18,
        "too few changes to page: {}",
        expected.len()
    );
    assert_eq!(all, expected);
    for statuses in ["New", "Fixed"] {
        assert!(all.iter().any(|r| r["status"] == statuses));
    }
    // sinceTime inside the last interval: only the last change log.
    let since = iso(w.times[2] + Duration::minutes(1));
    assert_eq!(
        walk(&format!("{path}?sinceTime={since}&pageSize=9"), None).await,
        logs[1]
    );
    // $top: the first N, no nextLink.
    let (_, page) = get(
        &format!("{path}?sinceTime={}&$top=4", iso(w.times[0])),
        None,
    )
    .await;
    assert_eq!(page["value"].as_array().unwrap(), &expected[..4]);
    assert!(page.get("@odata.nextLink").is_none());
    // A walk started before another publish stays on the change logs it started with.
    let (_, first) = get(
        &format!("{path}?sinceTime={}&pageSize=5", iso(w.times[0])),
        None,
    )
    .await;
    emulator::advance_fleet(w.store.as_ref(), 6, w.times[0], &|_| {}).unwrap();
    publish(&w.snapshots, *w.times.last().unwrap() + Duration::hours(6));
    let mut rest = walk(first["@odata.nextLink"].as_str().unwrap(), None).await;
    let mut got = first["value"].as_array().unwrap().clone();
    got.append(&mut rest);
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_reads_an_earlier_snapshot() {
    let w = world().await;
    let path = format!("{}/api/machines/SoftwareVulnerabilitiesByMachine", w.base);
    let first = w.snapshots.list()[0].clone();
    let expected: Vec<Value> = (0..first.rows(ExportKind::Vulnerabilities))
        .map(|i| {
            let mut out = Vec::new();
            first.render(ExportKind::Vulnerabilities, i, &mut out);
            serde_json::from_slice(&out).unwrap()
        })
        .collect();
    let got = walk(
        &format!(
            "{path}?pageSize=500&asOf={}",
            iso(w.times[0] + Duration::hours(1))
        ),
        None,
    )
    .await;
    assert_eq!(got, expected);
    let (s, body) = get(
        &format!("{path}?asOf={}", iso(w.times[0] - Duration::days(3))),
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("oldest retained snapshot"),
        "{body}"
    );
    let (s, _) = get(&format!("{path}?asOf=notadate"), None).await;
    assert_eq!(s, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_scope_applies_to_every_endpoint_kind_without_leaks() {
    let w = world().await;
    let scope = "86,0";
    let allowed = |v: &Value| v["rbacGroupId"] == 86 || v["rbacGroupId"] == 0;
    let latest = w.snapshots.latest().unwrap();
    for (path, kind) in [
        (
            "machines/SecureConfigurationsAssessmentByMachine",
            ExportKind::SecureConfiguration,
        ),
        (
            "machines/SoftwareInventoryByMachine",
            ExportKind::SoftwareInventory,
        ),
        (
            "machines/SoftwareInventoryNoProductCodeByMachine",
            ExportKind::NonCpeSoftware,
        ),
        (
            "machines/SoftwareVulnerabilitiesByMachine",
            ExportKind::Vulnerabilities,
        ),
    ] {
        let rows: Vec<Value> = (0..latest.rows(kind))
            .map(|i| {
                let mut out = Vec::new();
                latest.render(kind, i, &mut out);
                serde_json::from_slice(&out).unwrap()
            })
            .filter(|v| allowed(v))
            .collect();
        let got = walk(&format!("{}/api/{path}?pageSize=13", w.base), Some(scope)).await;
        assert!(!got.is_empty());
        assert_eq!(got, rows, "{path}");
        // Following the scoped walk's links without the scope is not how tokens leak: a
        // scoped caller replaying another caller's token still only sees its groups.
        let unscoped = walk(&format!("{}/api/{path}?pageSize=13", w.base), None).await;
        assert!(unscoped.len() > got.len());
    }
    // deviceavinfo: $skip windows and filters inside the scope.
    let av = walk(&format!("{}/api/deviceavinfo?$top=5", w.base), Some(scope)).await;
    assert!(!av.is_empty() && av.iter().all(allowed));
    let (_, page) = get(
        &format!("{}/api/deviceavinfo?$skip=1000", w.base),
        Some(scope),
    )
    .await;
    assert!(page["value"].as_array().unwrap().is_empty());
    let filtered = walk(
        &format!(
            "{}/api/deviceavinfo?$filter=osKind+eq+'windows'&$top=3",
            w.base
        ),
        Some(scope),
    )
    .await;
    assert!(
        filtered
            .iter()
            .all(|v| allowed(v) && v["osKind"] == "windows")
    );
    // Delta.
    let since = iso(w.times[0]);
    let delta = walk(
        &format!(
            "{}/api/machines/SoftwareVulnerabilityChangesByMachine?sinceTime={since}&pageSize=4",
            w.base
        ),
        Some(scope),
    )
    .await;
    let all: Vec<Value> = log_records(&w).concat();
    assert_eq!(
        delta,
        all.into_iter().filter(|v| allowed(v)).collect::<Vec<_>>()
    );
    // A scope with no groups sees nothing.
    let none = walk(
        &format!("{}/api/machines/SoftwareVulnerabilitiesByMachine", w.base),
        Some("99999"),
    )
    .await;
    assert!(none.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_answer_like_the_real_service() {
    let (_dir, _, snapshots, t0) = seeded(20, 3, 3);
    publish(&snapshots, t0 + Duration::hours(1));
    let config = server::faults::FaultConfig::from_json(
        r#"{"seed": 1, "rules": [
            {"endpoint": "deviceavinfo", "tooManyRequests": 1.0, "retryAfter": 7},
            {"endpoint": "machines/SoftwareInventoryByMachine", "unavailable": 1.0},
            {"endpoint": "machines/SecureConfigurationsAssessmentByMachine", "serverError": 1.0},
            {"endpoint": "machines/SoftwareVulnerabilitiesByMachine", "expireSkipToken": 1.0, "latencyMs": 150}
        ]}"#,
    )
    .unwrap();
    let base = serve(
        snapshots,
        Arc::new(access::OpenAccess),
        Some(server::faults::Faults::new(config)),
        Clock::Fixed(t0 + Duration::hours(2)),
    )
    .await;
    let r = reqwest::get(format!("{base}/api/deviceavinfo"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(
        serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()["error"]["code"],
        "TooManyRequests"
    );
    let (s, b) = get(
        &format!("{base}/api/machines/SoftwareInventoryByMachine"),
        None,
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str().unwrap()),
        (503, "ServiceUnavailable")
    );
    let (s, b) = get(
        &format!("{base}/api/machines/SecureConfigurationsAssessmentByMachine"),
        None,
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str().unwrap()),
        (500, "InternalServerError")
    );
    // The first page works (after the injected latency); following its nextLink finds the token expired.
    let started = std::time::Instant::now();
    let (s, first) = get(
        &format!("{base}/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=5"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    let (s, b) = get(first["@odata.nextLink"].as_str().unwrap(), None).await;
    assert_eq!(s, 400);
    assert!(b["error"]["message"].as_str().unwrap().contains("expired"));
    // Endpoints without a rule are untouched.
    let (s, _) = get(
        &format!("{base}/api/machines/SoftwareInventoryNoProductCodeByMachine"),
        None,
    )
    .await;
    assert_eq!(s, 200);
}

/// The delta window against the service's clock: the wall clock (here pinned) when the
/// snapshots are behind it, and the emulator's present (the newest snapshot) when time
/// travel has published ahead of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_window_follows_the_service_clock() {
    let (_dir, _, snapshots, t0) = seeded(12, 5, 4);
    publish(&snapshots, t0 + Duration::hours(1));
    let published = snapshots.latest().unwrap().manifest.generated_at;
    let path = |base: &str, since: chrono::DateTime<Utc>| {
        format!(
            "{base}/api/machines/SoftwareVulnerabilityChangesByMachine?sinceTime={}",
            iso(since)
        )
    };
    let message = |body: &Value| body["error"]["message"].as_str().unwrap_or("").to_owned();

    // A real deployment 20 days after its last publish: the window is measured from the
    // clock, so that publish is out of reach and yesterday is within it.
    let clock = published + Duration::days(20);
    let wall = serve(
        snapshots.clone(),
        Arc::new(access::OpenAccess),
        None,
        Clock::Fixed(clock),
    )
    .await;
    let (s, body) = get(&path(&wall, published), None).await;
    assert_eq!(s, 400, "{body}");
    assert!(message(&body).contains("14 days"), "{body}");
    let (s, body) = get(&path(&wall, clock - Duration::days(1)), None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["value"].as_array().unwrap().len(), 0);

    // Time travel: the emulator published 30 days ahead of both the pinned clock and
    // the wall clock. Its own present is the newest snapshot, so sinceTime there is
    // neither in the future nor too old, and a day past it is in the future.
    let ahead = (published.max(Utc::now()) + Duration::days(30))
        .duration_trunc(Duration::minutes(1))
        .unwrap();
    publish(&snapshots, ahead);
    assert_eq!(snapshots.latest().unwrap().manifest.generated_at, ahead);
    for clock in [Clock::Fixed(published), Clock::Wall] {
        let emulator = serve(snapshots.clone(), Arc::new(access::OpenAccess), None, clock).await;
        let (s, body) = get(&path(&emulator, ahead - Duration::hours(1)), None).await;
        assert_eq!(s, 200, "{clock:?}: {body}");
        let (s, body) = get(&path(&emulator, ahead + Duration::days(1)), None).await;
        assert_eq!(s, 400, "{clock:?}: {body}");
        assert!(message(&body).contains("future"), "{body}");
        let (s, body) = get(&path(&emulator, ahead - Duration::days(15)), None).await;
        assert_eq!(s, 400, "{clock:?}: {body}");
        assert!(message(&body).contains("14 days"), "{body}");
    }
}
