//! Authentication benchmark: token verification cost per request, and API
//! throughput of a 1,000-row page with authentication off vs on, over real HTTP.
//!
//! cargo bench -p bench --bench auth [-- --devices N --requests R --concurrency C --json]

use identity::{Identity, IdentityConfig};
use snapshot::BuildOptions;
use std::sync::Arc;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let devices = arg("--devices", 300) as u32;
    let requests = arg("--requests", 2000) as u32;
    let concurrency = arg("--concurrency", 2) as usize;
    let json = std::env::args().any(|a| a == "--json");

    let now = testkit::world::utc(2026, 11, 20, 12);
    let testkit::world::World { dir, snapshots, .. } = testkit::world::seeded(devices, 7, now, 2);
    let report = testkit::world::publish_at(&snapshots, now, &BuildOptions::default());
    eprintln!("published {devices} devices: {report:?}");

    let identity = Arc::new(Identity::open(
        dir.path(),
        IdentityConfig::new("http://127.0.0.1"),
    )?);
    // The same keys with the verified-token cache off: every request pays the RSA
    // verification (the worst case: a new token on every request).
    let mut no_cache = IdentityConfig::new("http://127.0.0.1");
    no_cache.verify_cache_entries = 0;
    let uncached = Arc::new(Identity::open(dir.path(), no_cache)?);
    let cost = bench::auth::verification_cost(&identity, 2000)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let path = "/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=1000";
    // With POSTURE_BENCH_STORE=postgres://... (an empty database), also the identity
    // registry and the rate limits in PostgreSQL, as stateless nodes run them.
    let shared = match std::env::var("POSTURE_BENCH_STORE") {
        Ok(url) => Some(bench::auth::Shared {
            identity: Arc::new(Identity::open_at(
                &identity::RegistryLocation::Postgres(url.clone()),
                IdentityConfig::new("http://127.0.0.1"),
            )?),
            url,
        }),
        Err(_) => None,
    };
    let tp = rt.block_on(bench::auth::throughput(
        snapshots.clone(),
        identity,
        path,
        requests,
        concurrency,
        shared,
    ))?;
    let tp_uncached = rt.block_on(bench::auth::throughput(
        snapshots,
        uncached,
        path,
        requests,
        concurrency,
        None,
    ))?;
    if json {
        println!(
            "{}",
            serde_json::json!({"verification": cost, "throughput": tp, "throughputCacheOff": tp_uncached})
        );
    } else {
        println!("token verification (RSA-2048, RS256), per request:");
        println!(
            "  uncached (first request of a token): {:>8.2} µs",
            cost.uncached_us
        );
        println!(
            "  cached (every later request):        {:>8.2} µs",
            cost.cached_us
        );
        println!(
            "  whole authenticate hook (cached):    {:>8.2} µs",
            cost.authenticate_us
        );
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "throughput, {} ({} bytes/response, {} requests per configuration, concurrency {}, load average {}):",
            tp.path,
            tp.bytes_per_response,
            tp.requests_per_config,
            tp.concurrency,
            load.split_whitespace().next().unwrap_or("?")
        );
        println!("  auth off:          {:>9.1} req/s", tp.auth_off_rps);
        println!(
            "  auth on:           {:>9.1} req/s  (median cost per round {:+.2}%)",
            tp.auth_on_rps, -tp.auth_cost_percent
        );
        println!(
            "  auth on + limits:  {:>9.1} req/s  (median cost per round {:+.2}%)",
            tp.auth_and_limits_rps, -tp.auth_and_limits_cost_percent
        );
        if let (Some(rps), Some(cost)) = (
            tp.shared_auth_and_limits_rps,
            tp.shared_auth_and_limits_cost_percent,
        ) {
            println!(
                "  shared (PostgreSQL identity + limits): {rps:>9.1} req/s  (median cost per round {:+.2}%)",
                -cost
            );
        }
        println!("worst case, verification cache off (RSA verify on every request):");
        println!(
            "  auth off:          {:>9.1} req/s",
            tp_uncached.auth_off_rps
        );
        println!(
            "  auth on:           {:>9.1} req/s  (median cost per round {:+.2}%)",
            tp_uncached.auth_on_rps, -tp_uncached.auth_cost_percent
        );
    }
    Ok(())
}
