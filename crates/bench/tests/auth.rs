//! The auth benchmark runs end to end at a tiny scale: its figures are measured, and
//! its servers admit the benchmark token (a refusal would fail the run).

use bench::auth::{throughput, verification_cost};
use chrono::{TimeZone, Utc};
use identity::{Identity, IdentityConfig};
use snapshot::{BuildOptions, Quiet, Snapshots};
use std::sync::Arc;
use store::{SqliteStore, StateStore};

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
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> =
        Arc::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    emulator::seed_fleet(
        store.as_ref(),
        &emulator::FleetConfig::new(5, 7, now),
        true,
        None,
        &|_| {},
    )
    .unwrap();
    let snapshots = Arc::new(Snapshots::open(dir.path(), store.clone(), 2).unwrap());
    snapshot::publish_from_store(&snapshots, now, &BuildOptions::default(), &Quiet).unwrap();
    let identity =
        Arc::new(Identity::open(dir.path(), IdentityConfig::new("http://127.0.0.1")).unwrap());
    let path = "/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=10";
    let report = throughput(snapshots, identity, path, 3, 1).await.unwrap();
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
