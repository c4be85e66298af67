//! The ingest protocol against a small real HTTP server (axum on 127.0.0.1:0) that
//! checks the headers, decodes gzip NDJSON and answers as the protocol says.

mod common;

use agent::{AgentArgs, AgentError, CollectOptions, StateDir, collect, post};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use clap::Parser;
use flate2::read::GzDecoder;
use model::DeviceReport;
use serde_json::json;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const KEY: &str = "ingest-key-123";

#[derive(Clone, Debug)]
struct Request {
    authorization: Option<String>,
    content_type: Option<String>,
    content_encoding: Option<String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct Server {
    /// Answer 503 to this many requests (after checking the key).
    fail_next: AtomicUsize,
    requests: Mutex<Vec<Request>>,
    applied: Mutex<HashMap<String, u64>>,
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn mde_error(status: StatusCode, code: &str, message: &str, target: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message, "target": target}});
    (status, axum::Json(body)).into_response()
}

async fn ingest(State(s): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = Request {
        authorization: header(&headers, "authorization"),
        content_type: header(&headers, "content-type"),
        content_encoding: header(&headers, "content-encoding"),
        body: body.to_vec(),
    };
    s.requests.lock().unwrap().push(req.clone());
    if req.authorization.as_deref() != Some(&format!("Bearer {KEY}")) {
        return mde_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "bad ingest key",
            "",
        );
    }
    if s.fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response();
    }
    let raw = if req.content_encoding.as_deref() == Some("gzip") {
        let mut out = Vec::new();
        if GzDecoder::new(&req.body[..]).read_to_end(&mut out).is_err() {
            return mde_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestBody",
                "bad gzip",
                "",
            );
        }
        out
    } else {
        req.body.clone()
    };
    let docs: Vec<&[u8]> = match req.content_type.as_deref() {
        Some("application/x-ndjson") => raw
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .collect(),
        Some("application/json") => vec![&raw[..]],
        _ => {
            return mde_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestBody",
                "content type",
                "",
            );
        }
    };
    let mut refused = Vec::new();
    let mut results = Vec::new();
    let mut warnings = Vec::new();
    let mut applied = s.applied.lock().unwrap();
    for (i, d) in docs.iter().enumerate() {
        match DeviceReport::from_json(d) {
            Ok(r) => {
                let last = applied.entry(r.device_id.to_string()).or_insert(0);
                let outcome = if r.sequence > *last {
                    *last = r.sequence;
                    "applied"
                } else {
                    "alreadyApplied"
                };
                results.push(
                    json!({"index": i, "deviceId": r.device_id.as_str(), "outcome": outcome}),
                );
                // As the real server does for software it cannot assess (the real
                // classification is tested in server/tests/ingest_warnings.rs).
                for (j, sw) in r.software.iter().enumerate() {
                    if sw.cpe.is_none() && sw.ecosystem.is_none() {
                        warnings.push(json!({"index": i, "deviceId": r.device_id.as_str(),
                            "path": format!("software[{j}]"), "gap": "noCpeOrEcosystem",
                            "reason": "no CPE and no package ecosystem: nothing to match"}));
                    }
                }
            }
            Err(e) => {
                let id = serde_json::from_slice::<serde_json::Value>(d)
                    .ok()
                    .and_then(|v| v["deviceId"].as_str().map(str::to_owned));
                refused
                    .push(json!({"index": i, "deviceId": id, "path": e.path, "reason": e.reason}));
            }
        }
    }
    if results.is_empty() {
        let first = refused.first().cloned().unwrap_or(json!({}));
        return mde_error(
            StatusCode::BAD_REQUEST,
            "InvalidReport",
            first["reason"].as_str().unwrap_or("no report"),
            first["path"].as_str().unwrap_or(""),
        );
    }
    axum::Json(
        json!({"accepted": results.len(), "refused": refused, "results": results,
                      "warnings": warnings}),
    )
    .into_response()
}

fn start() -> (String, Arc<Server>) {
    let srv = Arc::new(Server::default());
    let state = srv.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = Router::new()
                .route("/ingest/v1/reports", axum::routing::post(ingest))
                .with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
    });
    (format!("http://{}", rx.recv().unwrap()), srv)
}

fn fixture_report(root: &Path) -> DeviceReport {
    common::build(root);
    let mut o = CollectOptions::new(root);
    o.sequence = 7;
    collect(&o).report
}

fn decode(body: &[u8]) -> Vec<DeviceReport> {
    let mut raw = Vec::new();
    GzDecoder::new(body).read_to_end(&mut raw).unwrap();
    raw.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| DeviceReport::from_json(l).unwrap())
        .collect()
}

#[test]
fn post_applies_then_already_applied() {
    let (url, srv) = start();
    let dir = tempfile::tempdir().unwrap();
    let report = fixture_report(dir.path());
    let out = post(&url, KEY, std::slice::from_ref(&report)).unwrap();
    assert_eq!(out.accepted, 1);
    assert_eq!(out.results[0].outcome, "applied");
    assert_eq!(
        out.results[0].device_id.as_deref(),
        Some(report.device_id.as_str())
    );
    let again = post(&url, KEY, std::slice::from_ref(&report)).unwrap();
    assert_eq!(again.results[0].outcome, "alreadyApplied");

    let reqs = srv.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.authorization.as_deref(), Some("Bearer ingest-key-123"));
        assert_eq!(r.content_type.as_deref(), Some("application/x-ndjson"));
        assert_eq!(r.content_encoding.as_deref(), Some("gzip"));
        assert_eq!(decode(&r.body), vec![report.clone()]);
    }
    assert_eq!(reqs[0].body, reqs[1].body, "same report, same bytes");
    // A trailing slash on the server URL is fine.
    let out = post(&format!("{url}/"), KEY, &[report]).unwrap();
    assert_eq!(out.accepted, 1);
}

#[test]
fn wrong_key_is_unauthorized_and_not_retried() {
    let (url, _srv) = start();
    let dir = tempfile::tempdir().unwrap();
    let report = fixture_report(dir.path());
    let e = post(&url, "wrong", &[report]).unwrap_err();
    assert!(matches!(e, AgentError::Unauthorized(_)), "{e:?}");
    assert!(!e.is_retryable());
}

#[test]
fn refusals_partial_and_whole() {
    let (url, _srv) = start();
    let dir = tempfile::tempdir().unwrap();
    let good = fixture_report(dir.path());
    let mut bad = good.clone();
    bad.software[0].vendor = " ".into();
    let out = post(&url, KEY, &[good.clone(), bad.clone()]).unwrap();
    assert_eq!(out.accepted, 1);
    let r = out.refusal(1).unwrap();
    assert_eq!(r.path.as_deref(), Some("software[0].vendor"));
    assert_eq!(r.device_id.as_deref(), Some(good.device_id.as_str()));
    let e = post(&url, KEY, &[bad]).unwrap_err();
    match e {
        AgentError::Refused { code, target, .. } => {
            assert_eq!(code, "InvalidReport");
            assert_eq!(target.as_deref(), Some("software[0].vendor"));
        }
        other => panic!("{other:?}"),
    }
    let e = post("http://127.0.0.1:9", KEY, &[good]).unwrap_err();
    assert!(e.is_retryable(), "connection refused is retryable: {e:?}");
}

#[test]
fn the_servers_warnings_are_surfaced_and_do_not_fail_the_post() {
    let (url, _srv) = start();
    let dir = tempfile::tempdir().unwrap();
    let mut report = fixture_report(dir.path());
    assert!(report.software.len() >= 2, "the fixture has software");
    report.software[1].cpe = None;
    report.software[1].ecosystem = None;
    let out = post(&url, KEY, std::slice::from_ref(&report)).unwrap();
    assert_eq!(out.accepted, 1);
    assert_eq!(out.warnings.len(), 1, "{out:?}");
    let w = &out.warnings[0];
    assert_eq!(
        (w.index, w.path.as_str(), w.gap.as_deref()),
        (0, "software[1]", Some("noCpeOrEcosystem"))
    );
    assert_eq!(w.device_id.as_deref(), Some(report.device_id.as_str()));
    let sw = &report.software[1];
    assert_eq!(
        out.warning_lines(std::slice::from_ref(&report)),
        vec![format!(
            "software[1] ({} {} {}) cannot be assessed: no CPE and no package ecosystem: nothing to match",
            sw.vendor, sw.name, sw.version
        )]
    );
    // Without the reports, the line still names the path and the reason.
    assert_eq!(
        out.warning_lines(&[]),
        vec!["software[1] cannot be assessed: no CPE and no package ecosystem: nothing to match"]
    );
    // The server's cap: the omitted ones are counted on a last line.
    let capped = agent::PostOutcome {
        warnings_omitted: 4,
        ..out.clone()
    };
    let lines = capped.warning_lines(&[]);
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("4 more software item(s)"), "{lines:?}");
}

fn args(url: &str, root: &Path, state: &Path) -> AgentArgs {
    AgentArgs {
        server: Some(url.to_owned()),
        key: Some(KEY.to_owned()),
        once: true,
        interval: None,
        print: false,
        root: root.to_path_buf(),
        state_dir: Some(state.to_path_buf()),
        group_id: Some(12),
        group_name: Some("Linux servers".into()),
        ca_cert: None,
    }
}

#[test]
fn run_retries_with_the_same_bytes() {
    let (url, srv) = start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    common::build(&root);
    let state = dir.path().join("state");
    srv.fail_next.store(2, Ordering::SeqCst);
    agent::run(&args(&url, &root, &state)).unwrap();
    let reqs = srv.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 3, "two 503s, then accepted");
    assert!(
        reqs.iter().all(|r| r.body == reqs[0].body),
        "a retry is the same bytes"
    );
    let sent = decode(&reqs[0].body);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].group.as_ref().unwrap().name, "Linux servers");
    let st = StateDir::open(&state).unwrap();
    assert_eq!(st.last_sequence().unwrap(), sent[0].sequence);
    assert_eq!(
        st.pending().unwrap(),
        None,
        "acknowledged, so nothing pending"
    );
    assert_eq!(
        srv.applied.lock().unwrap()[sent[0].device_id.as_str()],
        sent[0].sequence
    );
}

#[test]
fn a_failed_run_keeps_the_report_and_the_next_run_sends_it_first() {
    let (url, srv) = start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    common::build(&root);
    let state = dir.path().join("state");
    srv.fail_next.store(1000, Ordering::SeqCst);
    let e = agent::run(&args(&url, &root, &state)).unwrap_err();
    assert!(format!("{e:#}").contains("will be sent again"), "{e:#}");
    let failed = srv.requests.lock().unwrap().clone();
    assert_eq!(failed.len(), 3, "three attempts");
    assert!(failed.iter().all(|r| r.body == failed[0].body));
    {
        let st = StateDir::open(&state).unwrap();
        assert_eq!(st.pending().unwrap().as_deref(), Some(&failed[0].body[..]));
    }

    srv.fail_next.store(0, Ordering::SeqCst);
    agent::run(&args(&url, &root, &state)).unwrap();
    let all = srv.requests.lock().unwrap().clone();
    assert_eq!(all.len(), 5);
    assert_eq!(
        all[3].body, failed[0].body,
        "the pending report first, byte for byte"
    );
    let old = decode(&all[3].body).remove(0);
    let new = decode(&all[4].body).remove(0);
    assert!(
        new.sequence > old.sequence,
        "{} > {}",
        new.sequence,
        old.sequence
    );
    assert_eq!(new.device_id, old.device_id);
    let st = StateDir::open(&state).unwrap();
    assert_eq!(st.pending().unwrap(), None);
    assert_eq!(st.last_sequence().unwrap(), new.sequence);
    assert_eq!(
        srv.applied.lock().unwrap()[new.device_id.as_str()],
        new.sequence
    );
}

#[test]
fn sequences_move_forward_and_the_state_dir_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let st = StateDir::open(dir.path()).unwrap();
    assert_eq!(st.next_sequence(1_000).unwrap(), 1_000, "fresh: the clock");
    st.commit_sequence(5_000, "00").unwrap();
    assert_eq!(
        st.next_sequence(1_000).unwrap(),
        5_001,
        "clock behind: last + 1"
    );
    assert_eq!(st.next_sequence(9_000).unwrap(), 9_000);
    let e = StateDir::open(dir.path()).err().unwrap();
    assert!(e.to_string().contains("another posture agent"), "{e}");
    drop(st);
    StateDir::open(dir.path()).unwrap();
}

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    agent: AgentArgs,
}

#[test]
fn command_line() {
    let a = Cli::try_parse_from(["agent", "--server", "https://p.example", "--interval", "1h"])
        .unwrap()
        .agent;
    assert_eq!(a.interval, Some(std::time::Duration::from_secs(3600)));
    assert_eq!(a.root, Path::new("/"));
    assert!(Cli::try_parse_from(["agent", "--once", "--interval", "1h"]).is_err());
    assert!(Cli::try_parse_from(["agent", "--interval", "soon"]).is_err());
    assert!(Cli::try_parse_from(["agent", "--group-id", "3"]).is_err());
    let a = Cli::try_parse_from([
        "agent",
        "--print",
        "--root",
        "/mnt/img",
        "--group-id",
        "3",
        "--group-name",
        "G",
    ])
    .unwrap()
    .agent;
    assert!(a.print && a.group_id == Some(3));
    let e = agent::run(&AgentArgs {
        print: false,
        server: None,
        ..a
    })
    .unwrap_err();
    assert!(e.to_string().contains("--server"), "{e}");
}
