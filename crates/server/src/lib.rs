//! The HTTP API of Posture.
//!
//! Request path, top to bottom:
//! 1. tower layers: request id, tracing span, timeout;
//! 2. [`dispatch`]: method check, endpoint lookup in [`endpoints::ENDPOINTS`]
//!    (case-insensitive, `/api` and `/api/v1.0`), the [`access::Authenticator`] hook,
//!    then the optional [`access::RateLimiter`] (both given the endpoint's
//!    [`access::Route`]);
//! 3. the endpoint's handler ([`handlers`]), which reads the snapshot and returns a
//!    streamed page through [`paging::stream_rows`];
//! 4. any [`access::ApiError`] becomes the MDE error body with the request id as `target`.
//!
//! Operations endpoints (`/healthz` liveness, `/readyz` readiness, `/metrics`,
//! `/openapi.json`) sit beside the API, as does the OData `$metadata` document
//! ([`metadata`], no token: it holds no data).

// Row sets are lists of ranges; a list holding one range is intended, not a mistaken `vec![a..b]`.
#![allow(clippy::single_range_in_vec_init)]

pub mod compression;
pub mod endpoints;
pub mod faults;
mod handlers;
pub mod health;
pub mod ingest_api;
pub mod listener;
pub mod metadata;
pub mod openapi;
pub mod paging;
pub mod query;

use access::{ApiError, Authenticator, RateLimiter};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use snapshot::Snapshots;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

/// Limits and defaults, each overridable in configuration (decisions.md gives the defaults).
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Public base URL used in `@odata.context`, nextLinks and file URLs (no trailing `/`).
    pub base_url: String,
    pub default_page_size: u64,
    pub max_page_size: u64,
    pub av_default_top: u64,
    pub av_max_top: u64,
    /// How far back `sinceTime` may reach on the delta endpoint (MDE: 14 days).
    pub delta_window: chrono::Duration,
    pub request_timeout: Duration,
    /// The service's clock, against which `sinceTime` is checked.
    pub clock: Clock,
    /// A knowledge-base feed not synced or imported for longer than this makes
    /// `/healthz` warn (default 48 hours).
    pub kb_max_age: chrono::Duration,
    /// Set when the node starts shutting down: `/readyz` answers 503 from then on.
    pub drain: health::Drain,
    /// The stores' last readiness answer (reused by `/metrics`).
    pub pings: health::Pings,
}

/// Where the service's present comes from. The delta window (`sinceTime` at most
/// [`ApiConfig::delta_window`] back, never in the future) is measured against
/// [`Clock::service_now`]: this clock, or the newest snapshot's time when the emulator's
/// time travel has published ahead of it. So an emulated fleet moved days ahead answers
/// deltas for its own present, and a real deployment follows the wall clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system clock (production).
    #[default]
    Wall,
    /// A pinned present (tests, and reproducible emulator runs).
    Fixed(chrono::DateTime<chrono::Utc>),
}

impl Clock {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            Clock::Wall => chrono::Utc::now(),
            Clock::Fixed(t) => *t,
        }
    }

    /// The service's present given the newest published snapshot's time: the later of
    /// the two, since time travel stamps snapshots with the emulator's clock.
    pub fn service_now(
        &self,
        newest_snapshot: Option<chrono::DateTime<chrono::Utc>>,
    ) -> chrono::DateTime<chrono::Utc> {
        let now = self.now();
        newest_snapshot.map_or(now, |t| t.max(now))
    }
}

impl ApiConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        ApiConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            default_page_size: 50_000,
            max_page_size: 200_000,
            av_default_top: 20,
            av_max_top: 10_000,
            delta_window: chrono::Duration::days(14),
            request_timeout: Duration::from_secs(600),
            clock: Clock::Wall,
            kb_max_age: chrono::Duration::hours(48),
            drain: health::Drain::default(),
            pings: health::Pings::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub snapshots: Arc<Snapshots>,
    pub config: Arc<ApiConfig>,
    pub auth: Arc<dyn Authenticator>,
    /// Per-application limits; `None` admits everything.
    pub limiter: Option<Arc<dyn RateLimiter>>,
    /// Injected faults for client testing; `None` (the default) injects nothing.
    pub faults: Option<Arc<faults::Faults>>,
    /// Where export files live and how their URLs are signed; `None`: no via-files exports.
    pub exports: Option<Arc<dyn export::BlobBackend>>,
    pub metrics: Option<PrometheusHandle>,
}

/// Installs the process-wide Prometheus recorder once; later calls return the same handle.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .ok()
        })
        .clone()
}

pub fn router(state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(dispatch)
        .with_state(state.clone())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.config.request_timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if metadata::is_metadata_path(req.uri().path())
        && (req.method() == Method::GET || req.method() == Method::HEAD)
    {
        return csdl_metadata();
    }
    let endpoint = endpoints::lookup(req.uri().path());
    let label = endpoint.map_or("unknown", |e| e.path);
    let result = match endpoint {
        None => Err(ApiError::not_found(format!(
            "Resource {} was not found.",
            req.uri().path()
        ))),
        Some(_) if req.method() != Method::GET && req.method() != Method::HEAD => {
            Err(ApiError::method_not_allowed(req.method().as_str()))
        }
        Some(endpoint) => serve_endpoint(&state, endpoint, req.headers(), req.uri().query()).await,
    };
    let response = result.unwrap_or_else(|e| {
        if e.status.is_server_error() {
            tracing::error!(code = e.code, reason = %e.message, "request failed");
        } else {
            tracing::info!(code = e.code, reason = %e.message, "request refused");
        }
        e.with_target(&request_id).into_response()
    });
    let status = response.status().as_u16().to_string();
    metrics::counter!("posture_http_requests_total", "endpoint" => label, "status" => status)
        .increment(1);
    metrics::histogram!("posture_http_request_seconds", "endpoint" => label)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The one path every API request takes: authentication, limits, faults, handler.
async fn serve_endpoint(
    state: &AppState,
    endpoint: &'static endpoints::Endpoint,
    headers: &axum::http::HeaderMap,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let route = endpoint.route();
    let principal = state.auth.authenticate(headers, &route)?;
    // A limiter kept in a shared database answers after a round trip: it runs on a
    // blocking thread while the handler prepares the page, and nothing is sent before
    // it admits the call (a refusal drops the prepared page). A window this node already
    // knows is full refuses at once, before any page work.
    let mut admission = None;
    if let Some(limiter) = &state.limiter {
        if limiter.is_remote() {
            limiter.known_refusal(&principal, &route)?;
            let (limiter, who) = (limiter.clone(), principal.clone());
            admission = Some(tokio::task::spawn_blocking(move || {
                limiter.check(&who, &route)
            }));
        } else {
            limiter.check(&principal, &route)?;
        }
    }
    // A fault (or a handler error) waits for the admission too: the limit is answered first.
    let mut effects = Ok(faults::Effects::default());
    if let Some(faults) = &state.faults {
        let has_token = query.is_some_and(|q| q.to_ascii_lowercase().contains("skiptoken="));
        effects = faults.apply(endpoint, has_token).await;
    }
    let coding = compression::ContentCoding::negotiate(headers);
    let response = match effects {
        Ok(effects) => handlers::handle(state, endpoint, &principal, query, effects).await,
        Err(e) => Err(e),
    };
    if let Some(admission) = admission {
        admission
            .await
            .map_err(|e| ApiError::internal(format!("the rate-limit check failed: {e}")))??;
    }
    Ok(compression::encode_response(response?, coding))
}

/// Liveness and freshness: the snapshot served, and each knowledge-base feed's age
/// (`status` is `warn`, with `warnings`, when a feed is older than
/// [`ApiConfig::kb_max_age`] or the feeds' state cannot be read; the answer is 200
/// either way: the API still serves).
async fn healthz(State(state): State<AppState>) -> Response {
    let latest = state.snapshots.latest();
    let max_age = state.config.kb_max_age;
    let now = state.config.clock.now();
    let snapshots = state.snapshots.clone();
    let feeds = tokio::task::spawn_blocking(move || {
        health::feed_health(snapshots.store(), now, max_age).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let (feeds, warnings) = match feeds {
        Ok(feeds) => {
            let warnings = health::stale_warnings(&feeds, max_age);
            (feeds, warnings)
        }
        Err(e) => (
            Vec::new(),
            vec![format!("cannot read the feeds' state: {e}")],
        ),
    };
    let body = serde_json::json!({
        "status": if warnings.is_empty() { "ok" } else { "warn" },
        "snapshot": latest.as_ref().map(|s| s.time_path().to_owned()),
        "generatedAt": latest.as_ref().map(|s| model::timefmt::generated(&s.manifest.generated_at)),
        "devices": latest.as_ref().map(|s| s.manifest.devices),
        "kbVersion": latest.as_ref().map(|s| s.manifest.kb_version),
        "kbMaxAgeHours": max_age.num_hours(),
        "feeds": feeds,
        "warnings": warnings,
    });
    axum::Json(body).into_response()
}

/// Readiness, for load balancers: 200 when the state store answers, a snapshot is
/// loaded and the node is not draining; otherwise 503 naming what is not ready. Both
/// carry the snapshot served (see [`health::readiness`]).
async fn readyz(State(state): State<AppState>) -> Response {
    let ready = health::readiness(&state, std::time::Duration::ZERO).await;
    let status = if ready.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(ready)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    // Counted where trims happen (the API's streaming path, the console's pages), read here.
    metrics::counter!("posture_snapshot_page_trims_total").absolute(snapshot::resident::trims());
    snapshot_cache_metrics(&state.snapshots);
    // `posture_ready` and `posture_serving_snapshot_seq`, as `/readyz` answers, with the
    // stores' answer of the last 15 s (a scrape makes no round trips of its own then).
    health::readiness(&state, health::METRICS_PING_MAX_AGE).await;
    match &state.metrics {
        Some(h) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4",
            )],
            h.render(),
        )
            .into_response(),
        None => ApiError::not_found("Metrics are not enabled in this process.").into_response(),
    }
}

/// The node's snapshot cache over object storage (`--snapshots s3://...`): hits and
/// misses of lookups, bytes and snapshots fetched, evictions, bytes cached now.
fn snapshot_cache_metrics(snapshots: &snapshot::Snapshots) {
    if snapshots.objects().is_none() {
        return;
    }
    let stats = snapshot::remote::stats();
    let read = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    metrics::counter!("posture_snapshot_cache_hits_total").absolute(read(&stats.hits));
    metrics::counter!("posture_snapshot_cache_misses_total").absolute(read(&stats.misses));
    metrics::counter!("posture_snapshot_fetch_bytes_total").absolute(read(&stats.fetched_bytes));
    metrics::counter!("posture_snapshot_fetches_total").absolute(read(&stats.fetched_snapshots));
    metrics::counter!("posture_snapshot_cache_evictions_total").absolute(read(&stats.evictions));
    metrics::counter!("posture_snapshot_upload_bytes_total").absolute(read(&stats.uploaded_bytes));
    metrics::gauge!("posture_snapshot_cache_bytes").set(snapshots.cache_bytes() as f64);
}

fn csdl_metadata() -> Response {
    match metadata::document() {
        Ok(xml) => ([(axum::http::header::CONTENT_TYPE, "application/xml")], xml).into_response(),
        Err(e) => ApiError::internal(format!("cannot generate $metadata: {e}")).into_response(),
    }
}

async fn openapi(State(state): State<AppState>) -> Response {
    axum::Json(openapi::document(&state.config.base_url)).into_response()
}
