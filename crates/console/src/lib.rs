//! The web console: HTML pages over the snapshots, served by the same process as the API
//! at `/console`.
//!
//! It is one more reader of the snapshots, never a writer of state: the overview, the
//! vulnerability, software, configuration and coverage pages read the per-group summary
//! tables written at publish (`snapshot::summary`), trends read the summaries of the
//! retained snapshots (never their rows), and the CVE and device pages read the latest
//! snapshot's rows of one CVE or one device. Every figure links to the API request that
//! reproduces it.
//!
//! Access: with [`ConsoleAccess::Users`] every page needs a session, opened by signing
//! in with a delegated user's name and password (`posture users create`) through
//! identity's throttled password check; a user limited to device groups sees only those
//! groups on every page, as in the API. The session cookie is `HttpOnly`,
//! `SameSite=Strict` (and `Secure` over TLS); every form that changes something (sign-in,
//! sign-out) carries a CSRF token. [`ConsoleAccess::Open`] (the API's `--auth off`)
//! shows every group to everyone. Assets (one CSS file) are embedded; charts are SVG
//! rendered on the server (plotters), so the console works offline.

mod chart;
mod pages;
mod search;
mod session;
mod view;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use snapshot::Snapshots;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub use session::SESSION_COOKIE;

/// Who may use the console.
#[derive(Clone)]
pub enum ConsoleAccess {
    /// No sign-in; every group visible (the API's `--auth off`).
    Open,
    /// Delegated users of this identity store sign in; their groups scope every page.
    Users(Arc<identity::Identity>),
}

/// The feeds' last sync or import, for the overview (the binary reads them from the store).
pub trait FeedStatus: Send + Sync {
    fn feeds(&self) -> Vec<FeedLine>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedLine {
    pub feed: String,
    pub last: Option<DateTime<Utc>>,
}

/// The console's configuration and shared state.
pub struct Console {
    pub snapshots: Arc<Snapshots>,
    pub access: ConsoleAccess,
    /// The API's public base URL, for the links to the API requests behind each figure.
    pub api_base: String,
    /// Set the cookies' `Secure` attribute (served over TLS).
    pub secure_cookies: bool,
    pub feeds: Option<Arc<dyn FeedStatus>>,
    sessions: session::Sessions,
    search: search::SearchCache,
}

impl Console {
    pub fn new(snapshots: Arc<Snapshots>, access: ConsoleAccess, api_base: &str) -> Console {
        Console {
            snapshots,
            access,
            api_base: api_base.trim_end_matches('/').to_owned(),
            secure_cookies: api_base.starts_with("https://"),
            feeds: None,
            sessions: session::Sessions::default(),
            search: search::SearchCache::default(),
        }
    }

    pub fn with_feeds(mut self, feeds: Arc<dyn FeedStatus>) -> Console {
        self.feeds = Some(feeds);
        self
    }
}

/// The signed-in user (or the anonymous viewer of an open console) of a request.
#[derive(Clone, Debug)]
pub(crate) struct Viewer {
    pub name: Option<String>,
    /// Device groups visible (`None`: all).
    pub groups: Option<Vec<u32>>,
    /// The session's CSRF token (for the sign-out form).
    pub csrf: String,
}

impl Viewer {
    pub fn groups(&self) -> Option<&[u32]> {
        self.groups.as_deref()
    }
    pub fn sees(&self, group: u32) -> bool {
        self.groups.as_ref().is_none_or(|g| g.contains(&group))
    }
}

/// How often the console looks for a new latest snapshot whose device search to make.
const SEARCH_WARM_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Makes each new latest snapshot's device search (`search::SearchCache`) on a thread
/// of its own, so the first search of a snapshot finds it made: at a million devices
/// making it reads every device's head, half a second on first touch. The thread ends
/// with the console.
fn warm_device_search(console: std::sync::Weak<Console>) {
    let spawned = std::thread::Builder::new()
        .name("console-search".into())
        .spawn(move || {
            while let Some(console) = console.upgrade() {
                if let Some(latest) = console.snapshots.latest() {
                    console.search.of(&latest);
                }
                drop(console);
                std::thread::sleep(SEARCH_WARM_EVERY);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the console's device search warm-up; the first search makes it");
    }
}

/// The console's routes under `/console`.
pub fn router(console: Arc<Console>) -> Router {
    warm_device_search(Arc::downgrade(&console));
    Router::new()
        .route("/console", get(overview))
        .route("/console/", get(overview))
        .route("/console/vulnerabilities", get(vulnerabilities))
        .route("/console/vulnerabilities/{cve}", get(cve))
        .route("/console/software", get(software))
        .route("/console/devices", get(devices))
        .route("/console/devices/{id}", get(device))
        .route("/console/configuration", get(configuration))
        .route("/console/coverage", get(coverage))
        .route(
            "/console/signin",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route("/console/signout", axum::routing::post(session::sign_out))
        .route("/console/assets/console.css", get(css))
        .layer(axum::middleware::map_response(trim_snapshot_pages))
        .with_state(console)
}

/// A page over many findings (a CVE on a third of the fleet, a device search) reads
/// much of the snapshot: after each page, past the process's budget for resident
/// snapshot pages, they are dropped from the process (as after every streamed API
/// page), on a blocking thread so the response is not held up.
async fn trim_snapshot_pages(response: Response) -> Response {
    tokio::task::spawn_blocking(snapshot::resident::trim_if_over_budget);
    response
}

/// How many rows a page reads between two checks of the budget. A row read at random
/// maps up to 64 KiB (the kernel maps the pages around a fault too), so 4,096 rows map
/// at most 256 MiB in between; a check reads `/proc/self/status` (tens of µs).
pub(crate) const TRIM_EVERY_ROWS: usize = 1 << 12;

const CSS: &str = include_str!("../assets/console.css");

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// A page's outcome before it becomes HTML.
pub(crate) enum PageError {
    NotFound(String),
    BadRequest(String),
    NoSnapshot,
}

type Params = BTreeMap<String, String>;

/// Authenticates, then renders `page` off the async workers (it reads mapped files).
async fn page(
    console: Arc<Console>,
    headers: &HeaderMap,
    render: impl FnOnce(&Console, &Viewer) -> Result<maud::Markup, PageError> + Send + 'static,
) -> Response {
    let viewer = match console.viewer(headers) {
        Some(v) => v,
        None => return Redirect::to("/console/signin").into_response(),
    };
    let c = console.clone();
    let v = viewer.clone();
    let result = tokio::task::spawn_blocking(move || render(&c, &v)).await;
    let (status, body) = match result {
        Ok(Ok(markup)) => (StatusCode::OK, markup),
        Ok(Err(PageError::NotFound(what))) => (
            StatusCode::NOT_FOUND,
            view::message_page(&console, &viewer, "Not found", &what),
        ),
        Ok(Err(PageError::BadRequest(what))) => (
            StatusCode::BAD_REQUEST,
            view::message_page(&console, &viewer, "Bad request", &what),
        ),
        Ok(Err(PageError::NoSnapshot)) => (
            StatusCode::OK,
            view::message_page(
                &console,
                &viewer,
                "No snapshot yet",
                "Nothing has been published yet: run `posture publish` (or `posture demo`).",
            ),
        ),
        Err(e) => {
            tracing::error!(error = %e, "console page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                view::message_page(
                    &console,
                    &viewer,
                    "Error",
                    "The page could not be rendered.",
                ),
            )
        }
    };
    html(status, body)
}

pub(crate) fn html(status: StatusCode, body: maud::Markup) -> Response {
    let mut r = (status, body.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "Content-Security-Policy",
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(
        "X-Content-Type-Options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("Referrer-Policy", HeaderValue::from_static("same-origin"));
    r
}

async fn overview(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    page(c, &headers, pages::overview).await
}

async fn vulnerabilities(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    page(c, &headers, move |c, v| pages::vulnerabilities(c, v, &q)).await
}

async fn cve(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    page(c, &headers, move |c, v| pages::cve(c, v, &id)).await
}

async fn software(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    page(c, &headers, move |c, v| pages::software(c, v, &q)).await
}

async fn devices(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    page(c, &headers, move |c, v| pages::devices(c, v, &q)).await
}

async fn device(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    page(c, &headers, move |c, v| pages::device(c, v, &id)).await
}

async fn configuration(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    page(c, &headers, pages::configuration).await
}

async fn coverage(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    page(c, &headers, pages::coverage).await
}

/// The peer address of a request (set by `server::listener` as `ConnectInfo`).
pub(crate) fn peer(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}
