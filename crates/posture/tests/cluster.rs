//! Several stateless nodes: `posture serve` processes and publishers with data
//! directories of their own over one real PostgreSQL and one real S3 bucket (moto).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::objects::ObjectServer;

const BUCKET: &str = "posture";

struct Cluster {
    pg_url: String,
    objects: ObjectServer,
    root: tempfile::TempDir,
}

/// A `posture serve` process; killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

    fn serve(&self, name: &str, extra: &[&str]) -> Node {
        let mut child = self
            .posture(name)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        Node {
            child,
            base: line.trim().to_owned(),
        }
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
fn wait_serving(node: &Node, time_path: &str) {
    let started = Instant::now();
    loop {
        let h = get(&format!("{}/healthz", node.base));
        if h["snapshot"] == time_path {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} still serves {} instead of {time_path}",
            node.base,
            h["snapshot"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
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
    assert!(
        metrics.contains("posture_snapshot_cache_misses_total"),
        "{metrics}"
    );
}
