//! Several nodes on one state store: one publishing leader elected through the store
//! (`publish --schedule`, a one-off `publish`), takeover after a `kill -9`, and a
//! serving node's SIGTERM drain. Real processes, a real data directory; the PostgreSQL
//! variants use the test binary's throwaway cluster (`testkit::postgres`).

mod common;

use common::{Node, Server, wait_for};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn posture(dir: &Path, store: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_posture"));
    c.arg("--data-dir").arg(dir);
    if let Some(url) = store {
        c.arg("--store").arg(url);
    }
    c
}

fn json(out: std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn tmp_dirs(snapshots: &Path) -> Vec<String> {
    std::fs::read_dir(snapshots)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

const LEAD_RETRY_SECS: u64 = 1;

fn publisher(dir: &Path, store: Option<&str>) -> Command {
    let mut c = posture(dir, store);
    c.args([
        "publish",
        "--schedule",
        "1m",
        "--lead-retry",
        &format!("{LEAD_RETRY_SECS}s"),
        "--exports",
        "off",
    ]);
    c
}

/// Two `publish --schedule` processes on one store and data directory: one leads and
/// publishes, the other waits; `kill -9` of the leader mid-publish → the other takes the
/// lease within the retry interval and publishes; the killed one's partial directory is
/// never registered and is removed. Then, with a third publisher joining, each due time
/// (every minute) gets exactly one snapshot. Returns the takeover time.
fn publishers_elect_one_leader_and_take_over(store: Option<&str>) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Large enough that a publish takes seconds (debug build).
    json(
        posture(&data, store)
            .args(["--json", "seed", "--devices", "4000", "--seed", "5"])
            .output()
            .unwrap(),
    );
    let snapshots = data.join("snapshots");
    let start = Instant::now();
    let one = Node::start("one", publisher(&data, store));
    let two = Node::start("two", publisher(&data, store));
    // Nothing is published yet, so both are due at once: one leads.
    let one_leads = wait_for("a leader", Duration::from_secs(120), || {
        if one
            .event("this process leads the publishers: publishing", start)
            .is_some()
        {
            Some(true)
        } else if two
            .event("this process leads the publishers: publishing", start)
            .is_some()
        {
            Some(false)
        } else {
            None
        }
    });
    let (mut leader, follower) = if one_leads { (one, two) } else { (two, one) };
    // Kill it while it writes its snapshot (its temporary directory exists).
    let partial = wait_for(
        "the leader's partial snapshot",
        Duration::from_secs(120),
        || tmp_dirs(&snapshots).pop(),
    );
    assert!(
        leader.all("published").is_empty(),
        "the publish was not interrupted\n{}",
        leader.log()
    );
    leader.child.kill().unwrap();
    let killed = Instant::now();
    leader.child.wait().unwrap();
    let (took_over, _) = wait_for("the takeover", Duration::from_secs(30), || {
        follower.event("this process leads the publishers: publishing", killed)
    });
    let takeover = took_over - killed;
    assert!(
        follower
            .event("another publisher leads; waiting", start)
            .is_some(),
        "the follower waited while the leader published\n{}",
        follower.log()
    );
    let (_, published) = wait_for("the takeover's publish", Duration::from_secs(180), || {
        follower.event("published", killed)
    });
    assert_eq!(
        published["fields"]["seq"],
        1,
        "the killed publish registered nothing: {published}\n{}",
        follower.log()
    );
    assert!(
        !snapshots.join(&partial).exists(),
        "the killed publisher's directory {partial} is removed by the next leader"
    );
    drop(leader);

    // A third publisher joins: nothing is due until a minute after the snapshot, then
    // exactly one of them publishes for that due time.
    let three = Node::start("three", publisher(&data, store));
    let nodes = [&follower, &three];
    wait_for("the next due publish", Duration::from_secs(200), || {
        nodes
            .iter()
            .flat_map(|n| n.all("published"))
            .find(|e| e["fields"]["seq"] == 2)
    });
    std::thread::sleep(Duration::from_secs(3));
    let mut published: Vec<u64> = nodes
        .iter()
        .flat_map(|n| n.all("published"))
        .map(|e| e["fields"]["seq"].as_u64().unwrap())
        .collect();
    published.sort();
    let logs: Vec<String> = nodes.iter().map(|n| n.log()).collect();
    drop((follower, three));
    let list = json(
        posture(&data, store)
            .args(["--json", "snapshots"])
            .output()
            .unwrap(),
    );
    let list = list.as_array().unwrap();
    let seqs: Vec<u64> = list.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        published,
        "every publish registered once\n{}",
        logs.join("\n")
    );
    assert!(seqs.starts_with(&[1, 2]), "{seqs:?}");
    let times: Vec<chrono::DateTime<chrono::Utc>> = list
        .iter()
        .map(|m| m["generatedAt"].as_str().unwrap().parse().unwrap())
        .collect();
    for pair in times.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            chrono::Duration::minutes(1),
            "one snapshot per due time, none twice: {times:?}\n{}",
            logs.join("\n")
        );
    }
    let now = chrono::Utc::now();
    assert!(
        times.iter().all(|t| *t <= now),
        "a second publish for one due time would be stamped a minute ahead: {times:?}"
    );
    assert!(tmp_dirs(&snapshots).is_empty());
    takeover
}

#[test]
fn publishers_elect_one_leader_and_take_over_after_kill_dash_nine() {
    let takeover = publishers_elect_one_leader_and_take_over(None);
    eprintln!(
        "SQLite: takeover {:.2}s after kill -9",
        takeover.as_secs_f64()
    );
    assert!(
        takeover <= Duration::from_secs(LEAD_RETRY_SECS + 2),
        "{takeover:?}"
    );
}

#[test]
fn publishers_elect_one_leader_and_take_over_after_kill_dash_nine_on_postgres() {
    let Some(url) = testkit::postgres::fresh_database() else {
        return;
    };
    let takeover = publishers_elect_one_leader_and_take_over(Some(&url));
    eprintln!(
        "PostgreSQL: takeover {:.2}s after kill -9",
        takeover.as_secs_f64()
    );
    assert!(
        takeover <= Duration::from_secs(LEAD_RETRY_SECS + 2),
        "{takeover:?}"
    );
}

/// A one-off `publish` refuses to run while another process leads the publishers
/// (here this test holds the lease), or with `--wait` publishes once it is released.
#[test]
fn a_one_off_publish_fails_or_waits_while_another_leads() {
    let dir = tempfile::tempdir().unwrap();
    json(
        posture(dir.path(), None)
            .args(["--json", "seed", "--devices", "30", "--seed", "5"])
            .output()
            .unwrap(),
    );
    let store = testkit::world::open_store(dir.path());
    let lease = store.lead("publisher").unwrap().expect("nobody leads");
    let out = posture(dir.path(), None)
        .args(["publish", "--exports", "off"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another publisher leads"), "{err}");
    assert!(err.contains("--wait"), "{err}");
    let waiting = posture(dir.path(), None)
        .args([
            "--json",
            "publish",
            "--exports",
            "off",
            "--wait",
            "--lead-retry",
            "1s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    drop(lease);
    let out = waiting.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("another publisher leads; waiting"), "{err}");
    let report = json(out);
    assert_eq!(report["seq"], 1, "{report}");
}

/// SIGTERM: `/readyz` answers 503 while the node drains (`--drain-delay`), then new
/// connections are refused, a page being streamed completes whole, and the process
/// exits 0.
#[test]
fn sigterm_drains_a_page_in_flight_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    json(
        posture(dir.path(), None)
            .args(["--json", "seed", "--devices", "1500", "--seed", "5"])
            .output()
            .unwrap(),
    );
    let published = json(
        posture(dir.path(), None)
            .args(["--json", "publish", "--exports", "off"])
            .output()
            .unwrap(),
    );
    let rows = published["rows"]["SoftwareInventory"].as_u64().unwrap();
    assert!(
        (20_000..200_000).contains(&rows),
        "one page holds them all: {rows}"
    );
    let mut command = posture(dir.path(), None);
    command.args([
        "serve",
        "--auth",
        "off",
        "--limits",
        "off",
        "--drain-delay",
        "2s",
    ]);
    let mut server = Server::start(command);
    let base = server.base.clone();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let ready = client.get(format!("{base}/readyz")).send().unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().unwrap();
    assert_eq!(ready["snapshot"]["seq"], published["seq"], "{ready}");

    // A large page, read slowly: a few bytes, then SIGTERM, then the rest.
    let mut page = client
        .get(format!(
            "{base}/api/machines/SoftwareInventoryByMachine?pageSize=200000"
        ))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let mut body = vec![0u8; 4096];
    page.read_exact(&mut body).unwrap();
    let term = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // Draining: still accepting for --drain-delay, but not ready.
    let fresh = reqwest::blocking::Client::new();
    let draining = wait_for("/readyz 503", Duration::from_secs(2), || {
        let r = fresh.get(format!("{base}/readyz")).send().ok()?;
        (r.status() == 503).then(|| r.json::<Value>().unwrap())
    });
    assert_eq!(draining["draining"], true, "{draining}");
    assert_eq!(draining["snapshot"]["seq"], published["seq"], "{draining}");
    // After the delay the listener is closed: new connections are refused.
    wait_for("new connections refused", Duration::from_secs(10), || {
        fresh
            .get(format!("{base}/healthz"))
            .send()
            .err()
            .filter(|e| e.is_connect())
    });
    // The page in flight completes whole.
    page.read_to_end(&mut body).unwrap();
    let page: Value = serde_json::from_slice(&body).expect("a complete JSON page");
    assert_eq!(page["value"].as_array().unwrap().len() as u64, rows);
    assert!(page.get("@odata.nextLink").is_none());
    let exited = wait_for("the server to exit", Duration::from_secs(30), || {
        server.child.try_wait().unwrap()
    });
    assert!(exited.success(), "{exited:?}");
}
