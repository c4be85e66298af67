//! Several stateless nodes: `posture serve` processes and publishers with data
//! directories of their own over one real PostgreSQL and one real S3 bucket (moto).

mod common;

use common::{Node as Logged, Server, wait_for};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use testkit::objects::ObjectServer;

const BUCKET: &str = "posture";

struct Cluster {
    pg_url: String,
    objects: ObjectServer,
    root: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let pg_url = testkit::postgres::fresh_database()?;
        let objects = testkit::objects::moto()?;
        objects.create_bucket(BUCKET);
        Some(Cluster {
            pg_url,
            objects,
            root: tempfile::tempdir().unwrap(),
        })
    }

    /// `posture` on the machine `name` (its own data directory), sharing the database
    /// and the bucket; exports go to the same bucket.
    fn posture(&self, name: &str) -> Command {
        let dir: PathBuf = self.root.path().join(name);
        let mut c = Command::new(env!("CARGO_BIN_EXE_posture"));
        c.arg("--data-dir")
            .arg(dir)
            .arg("--log")
            .arg("warn")
            .arg("--store")
            .arg(&self.pg_url)
            .envs(self.objects.env())
            .env("POSTURE_SNAPSHOTS", format!("s3://{BUCKET}/snapshots"))
            .env("POSTURE_EXPORT_BACKEND", "s3")
            .env("POSTURE_S3_BUCKET", BUCKET)
            .env("POSTURE_S3_REGION", "us-east-1")
            .env("POSTURE_S3_ENDPOINT", self.objects.endpoint());
        c
    }

    fn run(&self, name: &str, args: &[&str]) -> serde_json::Value {
        let out = self
            .posture(name)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "posture {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `posture serve` on a free port; `base` is its own address even when `extra`
    /// gives it a public `--base-url`.
    fn serve(&self, name: &str, extra: &[&str]) -> Server {
        let mut command = self.posture(name);
        command.arg("serve").args(extra);
        Server::start(command)
    }
}

fn get(url: &str) -> serde_json::Value {
    let r = reqwest::blocking::get(url).unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().unwrap()
}

fn ids(page: &serde_json::Value) -> Vec<String> {
    page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `node` serves the snapshot `time_path` (its refresh runs every 2 s).
fn wait_serving(node: &Server, time_path: &str) {
    wait_for(
        &format!("{} to serve {time_path}", node.base),
        Duration::from_secs(30),
        || (get(&format!("{}/healthz", node.base))["snapshot"] == time_path).then_some(()),
    );
}

const VULNS: &str = "api/machines/SoftwareVulnerabilitiesByMachine";

#[test]
fn a_walk_alternates_between_nodes_survives_a_publish_and_a_killed_node() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.run("seeder", &["seed", "--devices", "300", "--seed", "5"]);
    let first = cluster.run("publisher", &["publish"]);
    let first_tp = first["timePath"].as_str().unwrap().to_owned();
    let mut a = cluster.serve("node-a", &["--auth", "off", "--limits", "off"]);
    let b = cluster.serve("node-b", &["--auth", "off", "--limits", "off"]);
    wait_serving(&a, &first_tp);
    wait_serving(&b, &first_tp);

    // Every row of the snapshot, in one page, for reference.
    let whole = get(&format!("{}/{VULNS}?pageSize=200000", a.base));
    let mut want = ids(&whole);
    assert!(want.len() > 5_000, "{} rows", want.len());
    assert!(whole.get("@odata.nextLink").is_none());

    // A walk in pages of 1,000, alternating between the nodes; a new snapshot is
    // published after the first page and node A is killed halfway.
    let mut got = Vec::new();
    let mut url = format!("{}/{VULNS}?pageSize=1000", a.base);
    let mut pages = 0;
    let mut a_alive = true;
    let mut second_tp = String::new();
    loop {
        let page = get(&url);
        got.extend(ids(&page));
        pages += 1;
        if pages == 1 {
            let second = cluster.run("publisher", &["advance", "--hours", "6"]);
            second_tp = second["publish"]["timePath"].as_str().unwrap().to_owned();
            assert_ne!(second_tp, first_tp);
        }
        if a_alive && got.len() * 2 >= want.len() {
            a.child.kill().unwrap();
            a.child.wait().unwrap();
            a_alive = false;
        }
        let Some(next) = page["@odata.nextLink"].as_str() else {
            break;
        };
        let on_a = a_alive && pages % 2 == 0;
        let (from, to) = if next.starts_with(&a.base) {
            (&a.base, if on_a { &a.base } else { &b.base })
        } else {
            (&b.base, if on_a { &a.base } else { &b.base })
        };
        url = next.replacen(from.as_str(), to, 1);
    }
    assert!(pages > 5, "{pages} pages");
    assert_eq!(got.len(), want.len(), "every row exactly once");
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // B moved on to the new snapshot; a node on an empty cache serves the latest and,
    // with asOf, the retained older one.
    wait_serving(&b, &second_tp);
    // Listing the snapshots on a machine that holds none of them reads the registry and
    // changes nothing (it once unregistered what it did not find locally).
    for _ in 0..2 {
        let listed = cluster.run("lister", &["snapshots"]);
        let seqs: Vec<u64> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [1, 2], "{listed}");
    }
    let c = cluster.serve("node-c", &["--auth", "off", "--limits", "off"]);
    wait_serving(&c, &second_tp);
    let latest_b = get(&format!("{}/{VULNS}?pageSize=200000", b.base));
    let latest_c = get(&format!("{}/{VULNS}?pageSize=200000", c.base));
    assert_eq!(ids(&latest_b), ids(&latest_c));
    let as_of = first["generatedAt"].as_str().unwrap();
    let older = get(&format!("{}/{VULNS}?pageSize=200000&asOf={as_of}", c.base));
    assert_eq!(ids(&older), ids(&whole));
    // Its cache counted what it fetched.
    let metrics = reqwest::blocking::get(format!("{}/metrics", c.base))
        .unwrap()
        .text()
        .unwrap();
    let counter = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    assert!(
        counter("posture_snapshot_cache_misses_total") >= 2.0
            && counter("posture_snapshot_fetch_bytes_total") > 0.0,
        "{metrics}"
    );
    // Ready while PostgreSQL and the bucket answer; not ready, naming the bucket, once
    // the object store is gone.
    let ready = reqwest::blocking::get(format!("{}/readyz", c.base)).unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().unwrap();
    assert_eq!(ready["snapshot"]["timePath"], second_tp.as_str());
    drop(cluster.objects);
    let gone = reqwest::blocking::get(format!("{}/readyz", c.base)).unwrap();
    assert_eq!(gone.status(), 503);
    let body = gone.text().unwrap();
    assert!(body.contains("snapshot store"), "{body}");
}

/// Two `publish --schedule` processes, each with a data directory of its own, over one
/// database and bucket: the leader is killed (`kill -9`) while its snapshot is in the
/// bucket but not registered; the other takes over and publishes, the interrupted
/// snapshot is never served, and the bucket then holds exactly the registered snapshots.
#[test]
fn a_publisher_killed_mid_upload_is_replaced_and_leaves_no_orphans() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.run("seeder", &["seed", "--devices", "3000", "--seed", "8"]);
    let publisher = |name: &str| {
        let mut c = cluster.posture(name);
        c.args(["publish", "--schedule", "1m", "--lead-retry", "1s"]);
        c
    };
    let start = std::time::Instant::now();
    let one = Logged::start("one", publisher("publisher-one"));
    let two = Logged::start("two", publisher("publisher-two"));
    let leads = "this process leads the publishers: publishing";
    let one_leads = wait_for("a leader", Duration::from_secs(120), || {
        if one.event(leads, start).is_some() {
            Some(true)
        } else {
            two.event(leads, start).map(|_| false)
        }
    });
    let (mut leader, follower) = if one_leads { (one, two) } else { (two, one) };
    // The bucket, as a node sees it; the registry, as PostgreSQL holds it.
    for (k, v) in cluster.objects.env() {
        // SAFETY: set before this process starts any thread reading the environment
        // for object-store settings (the children got theirs through `Command::envs`).
        unsafe { std::env::set_var(k, v) };
    }
    let bucket = snapshot::ObjectSnapshots::open(&format!("s3://{BUCKET}/snapshots")).unwrap();
    let registry = store::PostgresStore::open(&cluster.pg_url).unwrap();
    use store::StateStore;
    wait_for("an upload under way", Duration::from_secs(180), || {
        bucket.list_dirs("snapshots").unwrap().into_iter().next()
    });
    assert!(
        registry.snapshots().unwrap().is_empty(),
        "not registered yet"
    );
    leader.child.kill().unwrap();
    let killed = std::time::Instant::now();
    leader.child.wait().unwrap();
    let (took_over, _) = wait_for("the takeover", Duration::from_secs(30), || {
        follower.event(leads, killed)
    });
    assert!(
        took_over - killed < Duration::from_secs(5),
        "takeover bound"
    );
    let (_, published) = wait_for("the takeover's publish", Duration::from_secs(180), || {
        follower.event("published", killed)
    });
    assert_eq!(published["fields"]["seq"], 1, "{}", follower.log());
    let registered: Vec<String> = registry
        .snapshots()
        .unwrap()
        .into_iter()
        .map(|m| m.dir)
        .collect();
    assert_eq!(registered.len(), 1);
    // The follower removed the interrupted upload before publishing its own (which,
    // being the first snapshot of the same minute, has the same name).
    assert!(
        follower
            .event(
                "removing an unregistered snapshot from object storage",
                killed
            )
            .is_some(),
        "{}",
        follower.log()
    );
    assert_eq!(
        bucket.list_dirs("snapshots").unwrap(),
        registered,
        "the bucket holds the registered snapshot and nothing else"
    );
    // A node serves the takeover's snapshot, not the interrupted one.
    let node = cluster.serve("node", &["--auth", "off", "--limits", "off"]);
    let h = get(&format!("{}/healthz", node.base));
    assert_eq!(h["snapshot"], published["fields"]["snapshot"], "{h}");
    drop(leader);
}

/// The `kid` of a token's header.
fn kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// Identity and limits live in PostgreSQL: an application created (by `posture apps`
/// on another machine) signs in through node A and is served by node B at once, with
/// the same group scoping; a key rotated is used by B's token endpoint and accepted by A;
/// and 30 calls a minute for the application are 30 in total across both nodes.
#[test]
fn identity_and_rate_limits_are_shared_by_the_nodes() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.run("seeder", &["seed", "--devices", "200", "--seed", "13"]);
    cluster.run("publisher", &["publish", "--part-mib", "1"]);
    // Authentication and MDE's limits on (the defaults); behind one public URL, as
    // behind a load balancer (tokens name it as their issuer).
    let public = ["--base-url", "http://posture.example"];
    let a = cluster.serve("node-a", &public);
    let b = cluster.serve("node-b", &public);
    let app = cluster.run(
        "admin",
        &[
            "apps",
            "create",
            "--name",
            "servers-only",
            "--roles",
            "Vulnerability.Read.All",
            "--groups",
            "86",
        ],
    );
    let client = reqwest::blocking::Client::new();
    let calls = std::cell::Cell::new(0);
    let call = |node: &Server, bearer: &str| {
        calls.set(calls.get() + 1);
        client
            .get(format!("{}/{VULNS}?pageSize=100000", node.base))
            .bearer_auth(bearer)
            .send()
            .unwrap()
    };
    let from_a = common::token(&a.base, &app);
    let on_b = call(&b, &from_a);
    assert_eq!(on_b.status(), 200, "a token of node A on node B");
    let on_b: serde_json::Value = on_b.json().unwrap();
    let on_a: serde_json::Value = call(&a, &from_a).json().unwrap();
    let rows = on_b["value"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r["rbacGroupId"] == 86));
    assert_eq!(ids(&on_a), ids(&on_b), "the same scoped rows on both nodes");

    // A key rotated elsewhere: B's token endpoint signs with it, A accepts it.
    let before = kid(&from_a);
    cluster.run("admin", &["keys", "rotate"]);
    let from_b = common::token(&b.base, &app);
    assert_ne!(kid(&from_b), before, "B signs with the rotated key");
    assert_eq!(call(&a, &from_b).status(), 200, "A accepts B's new token");

    // 30 calls a minute in total, whichever node answers: the 31st is refused.
    while calls.get() < 30 {
        let node = if calls.get() % 2 == 0 { &a } else { &b };
        let r = call(node, &from_b);
        assert_eq!(r.status(), 200, "call {}", calls.get());
    }
    let refused = call(&a, &from_b);
    assert_eq!(refused.status(), 429, "the 31st call");
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(call(&b, &from_b).status(), 429, "and on the other node too");

    // Raised limits (`--json-limits`): the nodes reserve calls from the shared window a
    // few at a time, and still admit no more than the limit between them.
    let raised = ["--json-limits", "96/1m,1000/1h"];
    let c = cluster.serve("node-c", &[&public[..], &raised[..]].concat());
    let d = cluster.serve("node-d", &[&public[..], &raised[..]].concat());
    let busy = cluster.run(
        "admin",
        &[
            "apps",
            "create",
            "--name",
            "busy",
            "--roles",
            "Vulnerability.Read.All",
        ],
    );
    let token = common::token(&c.base, &busy);
    let statuses: Vec<u16> = (0..120)
        .map(|i| {
            let node = if i % 2 == 0 { &c } else { &d };
            client
                .get(format!("{}/{VULNS}?pageSize=1", node.base))
                .bearer_auth(&token)
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    let admitted = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    // At most 96; short of it by no more than what each node held reserved (3 calls,
    // 1/32 of 96) when the window filled.
    assert!((90..=96).contains(&admitted), "{admitted} of 120 admitted");
}

/// `serve --publish-every` on two nodes over the bucket: one leads and publishes through
/// its own registry (so it keeps one cache, `snapshot-cache/node-0`, and serves the
/// snapshot at once), the other picks it up; the due time gets exactly one snapshot.
#[test]
fn serving_nodes_publish_on_a_schedule_through_their_own_registry() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.run("seeder", &["seed", "--devices", "100", "--seed", "17"]);
    let scheduled = [
        "--auth",
        "off",
        "--limits",
        "off",
        "--publish-every",
        "1h",
        "--lead-retry",
        "1s",
    ];
    let a = cluster.serve("node-a", &scheduled);
    let b = cluster.serve("node-b", &scheduled);
    let serving = |node: &Server| {
        wait_for(
            &format!("{} to serve a snapshot", node.base),
            Duration::from_secs(60),
            || {
                get(&format!("{}/healthz", node.base))["snapshot"]
                    .as_str()
                    .map(str::to_owned)
            },
        )
    };
    let (on_a, on_b) = (serving(&a), serving(&b));
    assert_eq!(on_a, on_b, "both nodes serve the one snapshot");
    let listed = cluster.run("admin", &["snapshots"]);
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "one publish for the due time: {listed}"
    );
    for name in ["node-a", "node-b"] {
        let caches: Vec<String> =
            std::fs::read_dir(cluster.root.path().join(name).join("snapshot-cache"))
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("node-"))
                .collect();
        assert_eq!(caches, ["node-0"], "{name} keeps one cache");
    }
}
