//! The auth benchmark runs end to end at a tiny scale: its figures are measured, and
//! its servers admit the benchmark token (a refusal would fail the run).

use bench::auth::{throughput, verification_cost};
use identity::{Identity, IdentityConfig};
use std::sync::Arc;

#[test]
fn verification_cost_measures_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::open(dir.path(), IdentityConfig::new("http://127.0.0.1")).unwrap();
    let cost = verification_cost(&identity, 3).unwrap();
    assert_eq!(cost.iterations, 3);
    assert!(cost.uncached_us > 0.0, "{cost:?}");
    assert!(cost.cached_us > 0.0, "{cost:?}");
    assert!(cost.authenticate_us > 0.0, "{cost:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_serves_every_configuration() {
    let now = testkit::world::utc(2026, 11, 20, 12);
    let testkit::world::World { dir, snapshots, .. } = testkit::world::seeded(5, 7, now, 2);
    testkit::world::publish_at(&snapshots, now, &snapshot::BuildOptions::default());
    let identity =
        Arc::new(Identity::open(dir.path(), IdentityConfig::new("http://127.0.0.1")).unwrap());
    let path = "/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=10";
    let report = throughput(snapshots, identity, path, 3, 1, None)
        .await
        .unwrap();
    assert_eq!(report.path, path);
    // At least three rounds of three requests per configuration.
    assert_eq!(report.requests_per_config, 9);
    assert!(report.bytes_per_response > 0);
    for rps in [
        report.auth_off_rps,
        report.auth_on_rps,
        report.auth_and_limits_rps,
    ] {
        assert!(rps > 0.0, "{report:?}");
    }
}
