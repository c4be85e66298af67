//! Serving connections with limits: the accept loop `posture serve` uses for plain TCP
//! and, through [`serve_with`], for TLS.
//!
//! What it bounds, and why:
//! * **Connections**: at most [`ServeLimits::max_connections`] at once (a semaphore
//!   taken before `accept`); beyond it new connections wait in the kernel's backlog
//!   instead of exhausting file descriptors. The default stays below the process's
//!   descriptor limit.
//! * **Silent clients**: HTTP/1 request heads must arrive within
//!   [`ServeLimits::header_read_timeout`]; hyper starts that clock whenever the
//!   connection waits for a request, so for HTTP/1 an idle keep-alive connection closes
//!   after the shorter of the two timeouts. A connection with no bytes in either
//!   direction for [`ServeLimits::idle_timeout`] is closed gracefully (HTTP/2 too).
//! * **Requests per connection**: after [`ServeLimits::max_requests_per_connection`]
//!   the connection closes gracefully once the current response is sent.
//! * **Handshakes**: the `handshake` of [`serve_with`] (TLS) has
//!   [`ServeLimits::handshake_timeout`].
//! * `TCP_NODELAY` on every accepted socket: a small streamed response otherwise
//!   waits ~40 ms for Nagle and delayed ACK.
//! * Every request carries the peer address as `axum::extract::ConnectInfo<SocketAddr>`
//!   in its extensions (the token endpoint throttles sign-in failures per source).
//! * **Errors below the router**: every error response without a JSON body (axum's
//!   extractor rejections, the timeout layer's 503) gets the MDE error body, and so
//!   do hyper's own answers to unparseable requests (400 for a NUL in a header, 414,
//!   431), rewritten on their way out ([`MdeIo`]).
//!
//! Shutdown: when `shutdown` completes, accepting stops, every connection is asked to
//! close after its in-flight request, and [`serve_with`] returns once they have (or
//! after [`ServeLimits::drain_timeout`]).

use access::ApiError;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tower::ServiceExt;

/// Connection limits and timeouts of [`serve`] and [`serve_with`].
#[derive(Clone, Debug)]
pub struct ServeLimits {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time allowed for an HTTP/1 request head (from when the connection waits for it).
    pub header_read_timeout: Duration,
    /// A connection with no traffic for this long is closed gracefully.
    pub idle_timeout: Duration,
    /// Requests served on one connection before it is closed gracefully.
    pub max_requests_per_connection: u64,
    /// Time allowed for the `handshake` of [`serve_with`] (TLS).
    pub handshake_timeout: Duration,
    /// How long shutdown waits for open connections to finish.
    pub drain_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: default_max_connections(),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_requests_per_connection: 10_000,
            handshake_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Descriptors kept free for the process's own files (store, snapshots, exports, logs).
const RESERVED_FDS: u64 = 256;

/// Three quarters of the descriptor limit left after [`RESERVED_FDS`], between 64 and
/// 16,384; 1,024 when the limit cannot be read.
pub fn default_max_connections() -> usize {
    match open_files_limit() {
        Some(limit) => (limit.saturating_sub(RESERVED_FDS) / 4 * 3).clamp(64, 16_384) as usize,
        None => 1024,
    }
}

/// The soft limit on open files (Linux: `/proc/self/limits`).
pub fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Serves `router` over plain TCP on `listener` with `limits` until `shutdown` completes.
pub async fn serve<F>(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    serve_with(
        listener,
        router,
        limits,
        shutdown,
        |tcp| async move { Ok(tcp) },
    )
    .await
}

/// [`serve`] with a `handshake` run on each accepted socket before HTTP (TLS).
pub async fn serve_with<F, H, HF, IO>(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: F,
    handshake: H,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
    H: Fn(TcpStream) -> HF + Clone + Send + Sync + 'static,
    HF: Future<Output = io::Result<IO>> + Send + 'static,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let max_connections = limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max_connections));
    let router = router.layer(axum::middleware::map_response(mde_error_body));
    let limits = Arc::new(limits);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: back off and keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, %peer, "cannot set TCP_NODELAY");
        }
        let handshake = handshake.clone();
        let router = router.clone();
        let limits = limits.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let io = match tokio::time::timeout(limits.handshake_timeout, handshake(tcp)).await {
                Ok(Ok(io)) => io,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, %peer, "handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "handshake timed out");
                    return;
                }
            };
            serve_connection(io, peer, router, &limits, stop).await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.drain_timeout, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("shutdown: connections still open after the drain timeout");
    }
    Ok(())
}

/// What a connection's watchdog knows about it.
struct ConnectionActivity {
    started: Instant,
    /// Milliseconds since `started` of the last byte read or written.
    last_active_ms: AtomicU64,
    requests: AtomicU64,
    request_limit_reached: Notify,
}

impl ConnectionActivity {
    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_active_ms.store(now, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Duration {
        let now = self.started.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)))
    }
}

async fn serve_connection<IO>(
    io: IO,
    peer: std::net::SocketAddr,
    router: Router,
    limits: &ServeLimits,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(ConnectionActivity {
        started: Instant::now(),
        last_active_ms: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        request_limit_reached: Notify::new(),
    });
    let max_requests = limits.max_requests_per_connection.max(1);
    let counted = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        if counted.requests.fetch_add(1, Ordering::Relaxed) + 1 == max_requests {
            counted.request_limit_reached.notify_one();
        }
        let mut request = request.map(Body::new);
        // The peer address, for handlers that need it (sign-in throttling per source).
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(100);
    builder.http2().timer(TokioTimer::new());
    let io = TokioIo::new(MdeIo::new(io, activity.clone()));
    let connection = builder.serve_connection_with_upgrades(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut tick = tokio::time::interval((limits.idle_timeout / 4).max(Duration::from_millis(50)));
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stop.changed(), if !closing => {
                if changed.is_err() || *stop.borrow() {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = activity.request_limit_reached.notified(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = tick.tick(), if !closing => {
                if activity.idle_for() >= limits.idle_timeout {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Gives every error response without a JSON body the MDE error body.
async fn mde_error_body(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    if is_json {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let mut replaced = ApiError::for_status(status).into_response();
    if let Some(v) = retry_after {
        replaced.headers_mut().insert(header::RETRY_AFTER, v);
    }
    replaced
}

/// The connection's I/O: records activity for the idle watchdog, and replaces hyper's
/// own bodiless answers to unparseable requests (400, 414, 431, written before any
/// request reaches the router) with the same status carrying the MDE error body.
pub struct MdeIo<IO> {
    inner: IO,
    activity: Arc<ConnectionActivity>,
    /// A replacement response being written, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<IO> MdeIo<IO> {
    fn new(inner: IO, activity: Arc<ConnectionActivity>) -> Self {
        MdeIo {
            inner,
            activity,
            replacement: None,
        }
    }
}

/// hyper's automatic response to a request it cannot parse: a status line for 400, 414
/// or 431 and bodiless headers. The router's own error responses always carry a
/// content type (see [`mde_error_body`]), so they never match.
fn hyper_parse_error_status(buf: &[u8]) -> Option<axum::http::StatusCode> {
    if buf.len() > 1024 || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let code = match buf.get(..13)? {
        b"HTTP/1.1 400 " | b"HTTP/1.0 400 " => 400,
        b"HTTP/1.1 414 " | b"HTTP/1.0 414 " => 414,
        b"HTTP/1.1 431 " | b"HTTP/1.0 431 " => 431,
        _ => return None,
    };
    let head = String::from_utf8_lossy(buf).to_ascii_lowercase();
    if head.contains("\r\ncontent-type:") || !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    axum::http::StatusCode::from_u16(code).ok()
}

fn mde_parse_error_response(status: axum::http::StatusCode) -> Vec<u8> {
    let error = ApiError::for_status(status);
    let body = serde_json::to_string(&model::wire::ErrorBody {
        error: model::wire::ErrorDetail {
            code: error.code.to_owned(),
            message: error.message,
            target: uuid::Uuid::new_v4().to_string(),
        },
    })
    .unwrap_or_default();
    let content_type = HeaderValue::from_static("application/json; charset=utf-8");
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        content_type.to_str().unwrap_or("application/json"),
        body.len(),
        body
    )
    .into_bytes()
}

impl<IO: AsyncRead + Unpin> AsyncRead for MdeIo<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for MdeIo<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacement.is_none()
            && let Some(status) = hyper_parse_error_status(buf)
        {
            self.replacement = Some((mde_parse_error_response(status), 0));
        }
        let this = &mut *self;
        if let Some((bytes, written)) = &mut this.replacement {
            // hyper retries with the same buffer until it is reported written.
            while *written < bytes.len() {
                let n = std::task::ready!(
                    Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..])
                )?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                *written += n;
                this.activity.touch();
            }
            return Poll::Ready(Ok(buf.len()));
        }
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        // One contiguous buffer per write, so a whole response head is seen at once.
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_hypers_bodiless_parse_errors() {
        let canned = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Mon, 01 Jan 2026 00:00:00 GMT\r\n\r\n";
        assert_eq!(
            hyper_parse_error_status(canned).map(|s| s.as_u16()),
            Some(431)
        );
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(hyper_parse_error_status(ours), None);
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(hyper_parse_error_status(ok), None);
        let replaced = String::from_utf8(mde_parse_error_response(
            axum::http::StatusCode::URI_TOO_LONG,
        ))
        .unwrap();
        let (head, body) = replaced.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(v["error"]["code"].is_string() && v["error"]["target"].is_string());
    }

    #[test]
    fn the_default_connection_cap_stays_below_the_descriptor_limit() {
        let cap = default_max_connections() as u64;
        if let Some(limit) = open_files_limit() {
            assert!(cap < limit || limit < 64 + RESERVED_FDS, "{cap} vs {limit}");
        }
        assert!(cap >= 64);
    }
}
