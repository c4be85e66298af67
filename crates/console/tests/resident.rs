//! Console pages keep the server's mapped snapshot pages within the process's budget,
//! as the streamed API pages do: a page that reads rows is followed by a trim once the
//! process's file-backed resident memory is past the budget.
//!
//! Its own test binary: the budget is process-wide.

use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_page_past_the_budget_drops_the_mapped_pages() {
    let t0 = testkit::world::utc(2026, 11, 20, 12);
    let world = testkit::world::seeded(40, 3, t0, 2);
    testkit::world::publish_at(
        &world.snapshots,
        t0,
        &testkit::world::small_parts(60_000, 64),
    );
    let (listener, base) = testkit::world::bind_loopback(0).await;
    let console =
        console::Console::new(world.snapshots.clone(), console::ConsoleAccess::Open, &base);
    let app = console::router(Arc::new(console))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let _served = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let r = http.get(format!("{base}{path}")).send().await.expect("GET");
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.expect("body")
        }
    };

    // Under a budget far above what the process maps, the pages stay mapped.
    snapshot::resident::set_budget(u64::MAX >> 1);
    get("/console/devices").await;
    let before = snapshot::resident::trims();
    get("/console/vulnerabilities").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(snapshot::resident::trims(), before, "under budget: no trim");

    // A budget of one byte: every page is past it, and the trim follows the response.
    snapshot::resident::set_budget(1);
    let page = get("/console/vulnerabilities").await;
    assert!(page.contains("CVE-"), "the page lists CVEs");
    let deadline = Instant::now() + Duration::from_secs(10);
    while snapshot::resident::trims() == before {
        assert!(
            Instant::now() < deadline,
            "no trim after a console page past the budget"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The pages are read again after the trim, with the same answer.
    assert_eq!(get("/console/vulnerabilities").await, page);
    snapshot::resident::set_budget(snapshot::resident::DEFAULT_BUDGET_BYTES);
}
