//! Issue 9 under load, measured: peak RSS of the worst ingest bodies (one and four at
//! once), `/healthz` p99 meanwhile, thousands of idle connections, and the latency of a
//! small streamed response on a keep-alive connection. Prints the figures; asserts
//! bounds loose enough for a shared 2-core CI machine.

use chrono::{TimeZone, Utc};
use server::ingest_api::IngestState;
use server::listener::ServeLimits;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Samples RSS on its own thread until stopped; returns the peak.
struct RssPeak {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl RssPeak {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_bytes()));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        RssPeak { stop, peak, thread }
    }
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed)
    }
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// The reported attack: 3,050,000 small NDJSON reports, ~531 MB, gzip to ~2 MB.
fn small_reports_bomb() -> Vec<u8> {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .unwrap()
        .to_rfc3339();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut line = String::new();
    for i in 0..3_050_000u32 {
        line.clear();
        line.push_str(&format!(
            r#"{{"deviceId":"{i:040x}","sequence":1,"reportedAt":"{at}","os":{{"kind":"linux","platform":"Linux","version":"12.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"}}}}"#
        ));
        line.push('\n');
        e.write_all(line.as_bytes()).unwrap();
    }
    e.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_worst_ingest_bodies_memory_and_healthz() {
    let (_dir, store) = testkit::world::empty_store();
    let key = ingest::keys::create_key(store.as_ref(), "stress")
        .unwrap()
        .key;
    let app = server::ingest_api::router(Arc::new(IngestState::new(store.clone()))).route(
        "/healthz",
        axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
    );
    let (listener, _) = testkit::world::bind_loopback(0).await;
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::listener::serve(
        listener,
        app,
        ServeLimits::default(),
        std::future::pending(),
    ));
    let body = tokio::task::spawn_blocking(small_reports_bomb)
        .await
        .unwrap();
    let idle = rss_bytes();
    for concurrent in [1usize, 4] {
        let peak = RssPeak::start();
        let started = Instant::now();
        let uploads: Vec<_> = (0..concurrent)
            .map(|_| {
                let (body, key) = (body.clone(), key.clone());
                tokio::spawn(async move {
                    let r = reqwest::Client::new()
                        .post(format!("http://{addr}/ingest/v1/reports"))
                        .header("authorization", format!("Bearer {key}"))
                        .header("content-type", "application/x-ndjson")
                        .header("content-encoding", "gzip")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    r.status().as_u16()
                })
            })
            .collect();
        let client = reqwest::Client::new();
        let mut latencies = Vec::new();
        while uploads.iter().any(|u| !u.is_finished()) {
            let t = Instant::now();
            let r = client
                .get(format!("http://{addr}/healthz"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.bytes().await.unwrap();
            latencies.push(t.elapsed());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for u in uploads {
            assert_eq!(u.await.unwrap(), 413, "over the report cap");
        }
        let peak = peak.finish();
        let above = peak.saturating_sub(idle);
        let p99 = percentile(latencies.clone(), 0.99);
        println!(
            "STRESS ingest: {concurrent} x 3,050,000 small reports (gzip {} KB): {:?}, peak RSS {} MB above idle, /healthz p99 {:?} (p50 {:?}, {} probes)",
            body.len() / 1024,
            started.elapsed(),
            above >> 20,
            p99,
            percentile(latencies.clone(), 0.5),
            latencies.len()
        );
        let ceiling = if concurrent == 1 {
            256u64 << 20
        } else {
            1 << 30
        };
        assert!(above <= ceiling, "{} MB above idle", above >> 20);
        assert!(p99 < Duration::from_millis(250), "healthz p99 {p99:?}");
    }
    assert!(
        store.device_count().unwrap() > 0,
        "batches before the cap committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_idle_connections_and_keep_alive_latency() {
    let limits = ServeLimits {
        max_connections: 2_000,
        header_read_timeout: Duration::from_secs(2),
        ..ServeLimits::default()
    };
    // A streamed body in several small chunks, as the paging endpoints send: without
    // TCP_NODELAY each response waits ~40 ms for Nagle and delayed ACK.
    let app = axum::Router::new()
        .route(
            "/healthz",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(
            "/page",
            axum::routing::get(|| async {
                let chunks = ["{\"value\":[", "{\"id\":1}", "]}"]
                    .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::from_static(c.as_bytes())));
                axum::body::Body::from_stream(futures_util::stream::iter(chunks))
            }),
        );
    let (listener, _) = testkit::world::bind_loopback(0).await;
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::listener::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));

    // Keep-alive latency of a small streamed response.
    let client = reqwest::Client::new();
    let mut latencies = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let text = client
            .get(format!("http://{addr}/page"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(text, "{\"value\":[{\"id\":1}]}");
        latencies.push(t.elapsed());
    }
    let p50 = percentile(latencies, 0.5);
    println!("STRESS keep-alive small streamed response: p50 {p50:?}");
    assert!(
        p50 < Duration::from_millis(20),
        "p50 {p50:?}: a Nagle stall"
    );

    // Idle connections: as many as this process's descriptors allow (each costs the
    // test a client descriptor too), each sending a partial request and going silent.
    let fd_limit = server::listener::open_files_limit().unwrap_or(1024);
    let count = 20_000u64.min(fd_limit.saturating_sub(2_000 + 512)) as usize;
    let started = Instant::now();
    let mut opened = Vec::with_capacity(count);
    let mut refused = 0usize;
    for _ in 0..count {
        if started.elapsed() > Duration::from_secs(60) {
            break;
        }
        match tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(mut c)) => {
                let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n").await;
                opened.push(c);
            }
            _ => refused += 1,
        }
    }
    println!(
        "STRESS idle connections: {} of {count} opened, {refused} timed out in the backlog, in {:?} (fd limit {fd_limit}, server cap 2,000)",
        opened.len(),
        started.elapsed()
    );
    // The server is still up: a fresh client is served within the header timeout
    // cycles that free the slots.
    let t = Instant::now();
    let mut fresh = tokio::net::TcpStream::connect(addr).await.unwrap();
    fresh
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), fresh.read_to_end(&mut answer))
        .await
        .expect("served while thousands of idle connections wait")
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    println!(
        "STRESS a fresh request under {} idle connections answered in {:?}",
        opened.len(),
        t.elapsed()
    );
    drop(opened);
}
