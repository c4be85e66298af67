//! The binary as a user runs it: real processes, a real data directory.

use std::path::Path;
use std::process::{Command, Stdio};

fn posture(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_posture"));
    c.arg("--data-dir").arg(dir).arg("--log").arg("warn");
    c
}

fn json(out: std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn kill_dash_nine_during_publish_leaves_the_previous_snapshot_serving() {
    let dir = tempfile::tempdir().unwrap();
    json(
        posture(dir.path())
            .args(["--json", "seed", "--devices", "3000", "--seed", "5"])
            .output()
            .unwrap(),
    );
    let first = json(
        posture(dir.path())
            .args(["--json", "publish"])
            .output()
            .unwrap(),
    );
    // Kill a second publish as soon as it has started writing its temporary directory.
    let mut child = posture(dir.path())
        .args(["publish"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let snapshots = dir.path().join("snapshots");
    let started = std::time::Instant::now();
    while started.elapsed().as_secs() < 60 {
        let tmp = std::fs::read_dir(&snapshots)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"));
        if tmp {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // SIGKILL: no destructor, no clean-up runs.
    child.kill().unwrap();
    child.wait().unwrap();
    let list = json(
        posture(dir.path())
            .args(["--json", "snapshots"])
            .output()
            .unwrap(),
    );
    let list = list.as_array().unwrap();
    assert_eq!(
        list.len(),
        1,
        "the killed publish must not be visible: {list:?}"
    );
    assert_eq!(list[0]["timePath"], first["timePath"]);
    assert!(
        !std::fs::read_dir(&snapshots)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
    );
    // And the next publish works.
    let next = json(
        posture(dir.path())
            .args(["--json", "publish"])
            .output()
            .unwrap(),
    );
    assert_ne!(next["timePath"], first["timePath"]);
}

#[test]
fn kb_import_reports_position_of_a_broken_file_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.json");
    std::fs::write(
        &file,
        br#"{"format":"NVD_CVE","version":"2.0","vulnerabilities":[{"cve":{"id":"CVE-2024-0001","#,
    )
    .unwrap();
    let out = posture(dir.path())
        .args(["kb", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.json:1:"), "{err}");
    let status = json(
        posture(dir.path())
            .args(["--json", "kb", "status"])
            .output()
            .unwrap(),
    );
    assert_eq!(status["kbVersion"], 0);
}

#[test]
fn demo_serves_and_prints_a_base_url() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = posture(dir.path())
        .args(["demo", "--devices", "50", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line.trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let body = reqwest::blocking::get(format!(
        "{base}/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=3"
    ))
    .unwrap()
    .text()
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 3);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn reports_acknowledged_before_a_kill_dash_nine_are_all_present_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = json(
        posture(dir.path())
            .args(["--json", "ingest-keys", "create", "--name", "agents"])
            .output()
            .unwrap(),
    );
    let key = key["key"].as_str().unwrap().to_owned();
    let mut server = posture(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = format!("{}/ingest/v1/reports", line.trim());
    let cfg = fleet::FleetConfig::new(40, 77, chrono::Utc::now());
    let client = reqwest::blocking::Client::new();
    let mut acknowledged = Vec::new();
    for batch in 0..4u32 {
        let reports: Vec<model::DeviceReport> = (batch * 10..batch * 10 + 10)
            .map(|i| fleet::device_report(&cfg, i))
            .collect();
        let body: String = reports
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        let r = client
            .post(&url)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let answer: serde_json::Value = r.json().unwrap();
        assert_eq!(answer["accepted"], 10);
        acknowledged.extend(reports.into_iter().map(|r| r.device_id.to_string()));
    }
    // SIGKILL right after the last acknowledgement: no shutdown code runs.
    server.kill().unwrap();
    server.wait().unwrap();
    let store = store::SqliteStore::open(&dir.path().join("state.db")).unwrap();
    use store::StateStore;
    assert_eq!(store.device_count().unwrap(), acknowledged.len() as u64);
    for id in &acknowledged {
        assert!(
            store.device(id).unwrap().is_some(),
            "acknowledged report of {id} lost"
        );
    }
}
