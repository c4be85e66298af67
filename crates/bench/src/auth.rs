//! Benchmarks of the authentication path, callable from `posture bench` or
//! `cargo bench -p bench --bench auth`:
//!
//! - [`verification_cost`]: microseconds per request to verify a token, uncached
//!   (RSA-2048 signature, claims) and cached (the steady state: one map lookup),
//!   and the whole `authenticate` hook (header parsing, verification, permission);
//! - [`throughput`]: requests per second for one page over real HTTP on loopback,
//!   with authentication off (`OpenAccess`), on, and on with the rate limiter
//!   (limits raised so nothing is refused), interleaved in rounds so drift affects
//!   every configuration alike.

use access::{Authenticator, OpenAccess, RateLimiter};
use identity::{AuthFailure, Identity, Limit, Limiter, RateLimitConfig, TokenVersion};
use serde::Serialize;
use server::{ApiConfig, AppState};
use snapshot::Snapshots;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuthBenchError {
    #[error("identity: {0}")]
    Identity(#[from] identity::IdentityError),
    #[error("the benchmark token was refused: {0}")]
    Refused(String),
    #[error("the endpoint table has no {0}")]
    NoEndpoint(&'static str),
    #[error("the benchmark token is not a header value")]
    BadHeader,
    #[error("starting a server: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("{url}: {status}: {body}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationCost {
    pub iterations: u32,
    /// Signature and claims checked every time (a token's first request).
    pub uncached_us: f64,
    /// A token seen before (every later request of the hour).
    pub cached_us: f64,
    /// The whole hook as the server calls it (cached verification + permission).
    pub authenticate_us: f64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThroughputReport {
    /// Request path and query (`/api/...?pageSize=1000`).
    pub path: String,
    pub requests_per_config: u32,
    pub concurrency: usize,
    pub bytes_per_response: usize,
    pub auth_off_rps: f64,
    pub auth_on_rps: f64,
    pub auth_and_limits_rps: f64,
    /// Median over rounds of `(off - on) / off`, in percent (positive: auth costs
    /// throughput).
    pub auth_cost_percent: f64,
    pub auth_and_limits_cost_percent: f64,
    /// With a shared store: authentication against the identity registry in PostgreSQL
    /// and the PostgreSQL rate limiter (what stateless nodes run).
    pub shared_auth_and_limits_rps: Option<f64>,
    pub shared_auth_and_limits_cost_percent: Option<f64>,
}

/// Identity and limits kept in a shared PostgreSQL database, for [`throughput`].
pub struct Shared {
    pub identity: Arc<Identity>,
    /// The PostgreSQL URL of the shared rate limiter.
    pub url: String,
}

/// A token for the benchmark: an application is registered (tokens of unknown, deleted
/// or disabled applications are refused) and a token is minted for it directly, as the
/// token endpoint would, without paying for a client-secret check per run.
pub fn bench_token(identity: &Identity) -> identity::Result<String> {
    let app = identity.create_app(
        "auth-bench",
        &[
            "Vulnerability.Read.All",
            "Software.Read.All",
            "Machine.Read.All",
        ],
        None,
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    identity.sign_claims(&serde_json::json!({
        "aud": identity::DEFAULT_AUDIENCES[0],
        "iss": identity.issuer(TokenVersion::V2),
        "iat": now,
        "nbf": now,
        "exp": now + 3599,
        "tid": identity.tenant_id(),
        "appid": app.client_id,
        "azp": app.client_id,
        "roles": app.roles,
        "ver": "2.0",
    }))
}

fn per_iter_us(started: Instant, n: u32) -> f64 {
    started.elapsed().as_secs_f64() * 1e6 / f64::from(n.max(1))
}

/// Measures token verification (see the module docs).
pub fn verification_cost(
    identity: &Identity,
    iterations: u32,
) -> Result<VerificationCost, AuthBenchError> {
    let token = bench_token(identity)?;
    let n = iterations.max(1);
    let err = |e: AuthFailure| AuthBenchError::Refused(e.message());
    // Warm up (and fill the cache).
    identity.verify(&token).map_err(err)?;
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            identity
                .verify_uncached(std::hint::black_box(&token))
                .map_err(err)?,
        );
    }
    let uncached_us = per_iter_us(started, n);
    let cached_n = n.saturating_mul(20);
    let started = Instant::now();
    for _ in 0..cached_n {
        std::hint::black_box(identity.verify(std::hint::black_box(&token)).map_err(err)?);
    }
    let cached_us = per_iter_us(started, cached_n);
    let mut headers = axum::http::HeaderMap::new();
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| AuthBenchError::BadHeader)?;
    headers.insert(axum::http::header::AUTHORIZATION, value);
    const PATH: &str = "/api/machines/SoftwareVulnerabilitiesByMachine";
    let route = server::endpoints::lookup(PATH)
        .ok_or(AuthBenchError::NoEndpoint(PATH))?
        .route();
    let started = Instant::now();
    for _ in 0..cached_n {
        std::hint::black_box(
            identity
                .authenticate(&headers, &route)
                .map_err(|e| AuthBenchError::Refused(e.message))?,
        );
    }
    let authenticate_us = per_iter_us(started, cached_n);
    Ok(VerificationCost {
        iterations: n,
        uncached_us,
        cached_us,
        authenticate_us,
    })
}

async fn start(
    snapshots: Arc<Snapshots>,
    auth: Arc<dyn Authenticator>,
    limiter: Option<Arc<dyn RateLimiter>>,
) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = AppState {
        snapshots,
        config: Arc::new(ApiConfig::new(base.clone())),
        auth,
        limiter,
        faults: None,
        exports: None,
        metrics: None,
    };
    let app = server::router(state);
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((base, handle))
}

/// Runs `n` GETs of `url` with `concurrency` workers; returns the elapsed time and
/// the size of the last body.
async fn run(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    n: u32,
    concurrency: usize,
) -> Result<(Duration, usize), AuthBenchError> {
    let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let started = Instant::now();
    let workers = (0..concurrency.max(1)).map(|_| {
        let next = next.clone();
        async move {
            let mut size = 0;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                let mut rb = client.get(url);
                if let Some(t) = token {
                    rb = rb.bearer_auth(t);
                }
                let r = rb.send().await?;
                let status = r.status();
                let body = r.bytes().await?;
                if !status.is_success() {
                    return Err(AuthBenchError::Status {
                        url: url.to_owned(),
                        status,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                size = body.len();
            }
            Ok::<usize, AuthBenchError>(size)
        }
    });
    let sizes = futures_util::future::try_join_all(workers).await?;
    Ok((started.elapsed(), sizes.into_iter().max().unwrap_or(0)))
}

/// Compares requests per second of `path_and_query` (e.g.
/// `/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=1000`) with
/// authentication off, on, and on with limits, over real HTTP.
pub async fn throughput(
    snapshots: Arc<Snapshots>,
    identity: Arc<Identity>,
    path_and_query: &str,
    requests: u32,
    concurrency: usize,
    shared: Option<Shared>,
) -> Result<ThroughputReport, AuthBenchError> {
    let token = bench_token(&identity)?;
    let high = RateLimitConfig {
        enabled: true,
        json: vec![
            Limit::per_minute(u32::MAX / 2),
            Limit::per_hour(u32::MAX / 2),
        ],
        files: vec![Limit::per_minute(u32::MAX / 2)],
    };
    let limiter: Arc<dyn RateLimiter> = Arc::new(Limiter::new(high.clone()));
    let (off, h1) = start(snapshots.clone(), Arc::new(OpenAccess), None).await?;
    let (on, h2) = start(snapshots.clone(), identity.clone(), None).await?;
    let (limited, h3) = start(snapshots.clone(), identity.clone(), Some(limiter)).await?;
    let mut handles = vec![h1, h2, h3];
    let mut configs = vec![
        (format!("{off}{path_and_query}"), None),
        (format!("{on}{path_and_query}"), Some(token.clone())),
        (format!("{limited}{path_and_query}"), Some(token.clone())),
    ];
    if let Some(shared) = shared {
        let shared_token = bench_token(&shared.identity)?;
        let shared_limiter = high.shared_limiter(&shared.url)?;
        let (url, h4) = start(snapshots, shared.identity.clone(), shared_limiter).await?;
        handles.push(h4);
        configs.push((format!("{url}{path_and_query}"), Some(shared_token)));
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .build()?;
    // Warm-up: connections, page cache, the verification cache.
    for (url, t) in &configs {
        run(
            &client,
            url,
            t.as_deref(),
            (concurrency as u32).max(4),
            concurrency,
        )
        .await?;
    }
    // Short rounds, each running every configuration back to back in a rotating
    // order; the cost is the median over rounds of the per-round difference, so
    // bursts of unrelated load on a shared machine do not decide the result.
    let per_round = 25u32.min(requests.max(1));
    let rounds = (requests / per_round).max(3);
    let n = configs.len();
    let mut elapsed = vec![Duration::ZERO; n];
    let mut costs: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds as usize); n];
    let mut bytes = 0;
    for round in 0..rounds {
        let mut rps = vec![0f64; n];
        for k in 0..n {
            let i = (k + round as usize) % n;
            let (url, t) = &configs[i];
            let (d, size) = run(&client, url, t.as_deref(), per_round, concurrency).await?;
            elapsed[i] += d;
            rps[i] = f64::from(per_round) / d.as_secs_f64().max(1e-9);
            bytes = size;
        }
        for i in 1..n {
            costs[i].push((rps[0] - rps[i]) / rps[0] * 100.0);
        }
    }
    for h in handles {
        h.abort();
    }
    let total = f64::from(per_round * rounds);
    let rps = |d: Duration| total / d.as_secs_f64().max(1e-9);
    Ok(ThroughputReport {
        path: path_and_query.to_owned(),
        requests_per_config: per_round * rounds,
        concurrency,
        bytes_per_response: bytes,
        auth_off_rps: rps(elapsed[0]),
        auth_on_rps: rps(elapsed[1]),
        auth_and_limits_rps: rps(elapsed[2]),
        auth_cost_percent: median(&mut costs[1]),
        auth_and_limits_cost_percent: median(&mut costs[2]),
        shared_auth_and_limits_rps: (n > 3).then(|| rps(elapsed[3])),
        shared_auth_and_limits_cost_percent: (n > 3).then(|| median(&mut costs[3])),
    })
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}
