//! Stateless API nodes (`posture bench-nodes`): snapshots in object storage served by
//! `posture serve` processes with caches of their own, against a node serving the same
//! fleet from its local data directory, all measured in one run.
//!
//! - first byte of a page from a warm node cache against the local-directory node;
//! - a node's start on an empty cache (it fetches the latest snapshot before it
//!   listens), and the first page of a retained snapshot it has not cached (`asOf`);
//! - pages per second of one node and of two nodes together under the same page-heavy
//!   load (clients walking `SoftwareVulnerabilitiesByMachine`), alternating in rounds, and
//!   the nodes' CPU per page (what a node needs per 1,000 pages a minute).

use crate::child::spawn_server;
use crate::error::BenchError;
use crate::scale::{first_byte_ms, median, next_link};
use serde::Serialize;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct NodesOptions {
    /// The `posture` binary.
    pub posture: PathBuf,
    /// A fresh directory for the data directories of every process.
    pub work_dir: PathBuf,
    pub devices: u32,
    pub seed: u64,
    /// The shared state store (`postgres://...`).
    pub store: String,
    /// The shared snapshot store (`s3://...`, `az://...`, `file:///...`).
    pub snapshots: String,
    /// Rows per page of the load and first-byte measurements.
    pub page_size: u32,
    /// Concurrent clients of the load.
    pub clients: usize,
    /// Seconds of load per round and configuration.
    pub seconds: f64,
    /// Rounds of (one node, two nodes).
    pub rounds: usize,
    /// First-byte samples per node.
    pub samples: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodesReport {
    pub devices: u32,
    pub page_size: u32,
    pub clients: usize,
    /// Bytes of the latest snapshot in a node's cache.
    pub snapshot_mb: f64,
    /// Publishing to object storage (build, upload, register), seconds.
    pub remote_publish_seconds: f64,
    /// Publishing the same fleet into a local data directory, seconds.
    pub local_publish_seconds: f64,
    /// A node on an empty cache: process start until it listens, having fetched the latest.
    pub cold_start_seconds: f64,
    /// The first page of a retained snapshot the node had not cached (`asOf`), seconds.
    pub cold_first_page_seconds: f64,
    /// Bytes fetched for that page.
    pub cold_first_page_fetched_mb: f64,
    /// Median first byte of the first page, local-directory node, ms.
    pub local_first_byte_ms: f64,
    /// Median first byte of the first page, node over object storage (warm cache), ms.
    pub remote_first_byte_ms: f64,
    pub remote_over_local: f64,
    /// Pages per second (whole responses) with every client on one node.
    pub one_node_pages_per_s: f64,
    /// Pages per second with the clients split over two nodes.
    pub two_nodes_pages_per_s: f64,
    pub two_over_one: f64,
    /// CPU (user + system) of the serving node(s) per page under the load, ms.
    pub node_cpu_ms_per_page: f64,
    /// Cores a node needs per 1,000 pages a minute of this size.
    pub cores_per_1000_pages_per_minute: f64,
}

/// A child process killed when dropped.
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

impl Node {
    fn start(
        opts: &NodesOptions,
        name: &str,
        store: Option<&str>,
        extra: &[String],
    ) -> Result<Node, BenchError> {
        let (child, base) = spawn_server(&opts.posture, &opts.work_dir.join(name), store, extra)?;
        Ok(Node { child, base })
    }

    /// User + system CPU seconds of the process so far.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id())
    }
}

fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat: 11 and 12 after the state field.
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `posture` with `args` on the data directory `name`; returns its JSON output.
fn posture(
    opts: &NodesOptions,
    name: &str,
    store: Option<&str>,
    args: &[&str],
) -> Result<serde_json::Value, BenchError> {
    let mut c = Command::new(&opts.posture);
    c.arg("--data-dir")
        .arg(opts.work_dir.join(name))
        .args(["--log", "warn", "--json"]);
    if let Some(url) = store {
        c.arg("--store").arg(url);
    }
    let out = c
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(BenchError::io("cannot run posture"))?;
    if !out.status.success() {
        return Err(BenchError::Failed(format!(
            "posture {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

pub fn run(opts: &NodesOptions, progress: &dyn Fn(&str)) -> Result<NodesReport, BenchError> {
    let mut report = NodesReport {
        devices: opts.devices,
        page_size: opts.page_size,
        clients: opts.clients,
        ..NodesReport::default()
    };
    let (devices, seed) = (opts.devices.to_string(), opts.seed.to_string());
    let fleet = ["seed", "--devices", &devices, "--seed", &seed];
    let remote = ["--exports", "off", "--snapshots", &opts.snapshots];
    progress("seeding the local data directory");
    posture(opts, "local", None, &fleet)?;
    progress("publishing locally");
    let local = posture(opts, "local", None, &["publish", "--exports", "off"])?;
    report.local_publish_seconds = local["seconds"].as_f64().unwrap_or(0.0);
    progress("seeding the shared state store");
    posture(opts, "publisher", Some(&opts.store), &fleet)?;
    progress("publishing to object storage (twice: an older snapshot stays retained)");
    let older = posture(
        opts,
        "publisher",
        Some(&opts.store),
        &[&["publish"], &remote[..]].concat(),
    )?;
    let newer = posture(
        opts,
        "publisher",
        Some(&opts.store),
        &[&["publish"], &remote[..]].concat(),
    )?;
    report.remote_publish_seconds = newer["seconds"].as_f64().unwrap_or(0.0);
    let older_at = older["generatedAt"]
        .as_str()
        .ok_or_else(|| BenchError::Failed("publish printed no generatedAt".into()))?
        .to_owned();

    progress("starting the nodes");
    let snapshots_arg = vec!["--snapshots".to_owned(), opts.snapshots.clone()];
    let local_node = Node::start(opts, "local", None, &[])?;
    let started = Instant::now();
    let node_a = Node::start(opts, "node-a", Some(&opts.store), &snapshots_arg)?;
    report.cold_start_seconds = started.elapsed().as_secs_f64();
    report.snapshot_mb =
        snapshot::tree_bytes(&opts.work_dir.join("node-a").join("snapshot-cache")) as f64 / 1e6;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(BenchError::io("cannot start the client runtime"))?;
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let page = |base: &str| {
            format!(
                "{base}/api/machines/SoftwareVulnerabilitiesByMachine?pageSize={}",
                opts.page_size
            )
        };
        // The first page of an older retained snapshot: node A has only the latest.
        progress("the first page of a snapshot not cached");
        let fetched_before = fetched_bytes(&client, &node_a.base).await?;
        let started = Instant::now();
        client
            .get(format!("{}&asOf={older_at}", page(&node_a.base)))
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        report.cold_first_page_seconds = started.elapsed().as_secs_f64();
        report.cold_first_page_fetched_mb =
            (fetched_bytes(&client, &node_a.base).await? - fetched_before) / 1e6;

        // Warm: node A has every byte of its snapshots (the latest and the older one).
        progress("waiting for the nodes' caches to fill");
        wait_warm(&client, &node_a.base, 2.0).await?;
        progress("first bytes, local directory against object storage");
        let (mut local, mut remote) = (Vec::new(), Vec::new());
        for base in [&local_node.base, &node_a.base] {
            // Connect and touch the pages once, so both are measured warm.
            first_byte_ms(&client, &page(base)).await?;
        }
        // Interleaved, each going first every other time, so drift and order weigh on both.
        for i in 0..opts.samples {
            if i % 2 == 0 {
                local.push(first_byte_ms(&client, &page(&local_node.base)).await?);
                remote.push(first_byte_ms(&client, &page(&node_a.base)).await?);
            } else {
                remote.push(first_byte_ms(&client, &page(&node_a.base)).await?);
                local.push(first_byte_ms(&client, &page(&local_node.base)).await?);
            }
        }
        report.local_first_byte_ms = median(&mut local);
        report.remote_first_byte_ms = median(&mut remote);
        report.remote_over_local =
            report.remote_first_byte_ms / report.local_first_byte_ms.max(1e-9);

        // The second node joins for the load only, so the first bytes above are each
        // node's alone.
        progress("starting a second node over object storage");
        let node_b = Node::start(opts, "node-b", Some(&opts.store), &snapshots_arg)?;
        wait_warm(&client, &node_b.base, 1.0).await?;
        progress("page load on one node and on two");
        let (mut one, mut two, mut cpu_ms, mut pages_total) = (Vec::new(), Vec::new(), 0.0, 0u64);
        for _ in 0..opts.rounds {
            for nodes in [vec![&node_a], vec![&node_a, &node_b]] {
                let cpu_before: f64 = nodes.iter().map(|n| n.cpu_seconds()).sum();
                let bases: Vec<String> = nodes.iter().map(|n| page(&n.base)).collect();
                let (pages, seconds) = load(&client, &bases, opts.clients, opts.seconds).await?;
                let cpu: f64 = nodes.iter().map(|n| n.cpu_seconds()).sum::<f64>() - cpu_before;
                cpu_ms += cpu * 1000.0;
                pages_total += pages;
                let rate = pages as f64 / seconds;
                if nodes.len() == 1 {
                    one.push(rate)
                } else {
                    two.push(rate)
                }
            }
        }
        report.one_node_pages_per_s = median(&mut one);
        report.two_nodes_pages_per_s = median(&mut two);
        report.two_over_one = report.two_nodes_pages_per_s / report.one_node_pages_per_s.max(1e-9);
        report.node_cpu_ms_per_page = cpu_ms / pages_total.max(1) as f64;
        report.cores_per_1000_pages_per_minute = report.node_cpu_ms_per_page * 1000.0 / 60_000.0;
        Ok::<(), BenchError>(())
    })?;
    drop((local_node, node_a));
    Ok(report)
}

/// The value of the counter or gauge `name` on a node's `/metrics` (0 when absent).
async fn metric(client: &reqwest::Client, base: &str, name: &str) -> Result<f64, BenchError> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let prefix = format!("{name} ");
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0))
}

async fn fetched_bytes(client: &reqwest::Client, base: &str) -> Result<f64, BenchError> {
    metric(client, base, "posture_snapshot_fetch_bytes_total").await
}

/// Waits until a node has fetched `snapshots` snapshots whole (its cache is warm).
async fn wait_warm(client: &reqwest::Client, base: &str, snapshots: f64) -> Result<(), BenchError> {
    let started = Instant::now();
    while metric(client, base, "posture_snapshot_fetches_total").await? < snapshots {
        if started.elapsed() > Duration::from_secs(600) {
            return Err(BenchError::Failed(format!(
                "{base} did not finish fetching its snapshots in 10 minutes"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// `clients` clients, client `i` on `first_pages[i % n]`, each walking the export page by
/// page (restarting at the end) for `seconds`; returns the pages completed and the time.
async fn load(
    client: &reqwest::Client,
    first_pages: &[String],
    clients: usize,
    seconds: f64,
) -> Result<(u64, f64), BenchError> {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let walkers = (0..clients).map(|i| {
        let first = first_pages[i % first_pages.len()].clone();
        let client = client.clone();
        async move {
            let mut url = first.clone();
            let mut pages = 0u64;
            while Instant::now() < until {
                let body = client
                    .get(&url)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                pages += 1;
                let tail = &body[body.len().saturating_sub(4096)..];
                url = next_link(tail)?.unwrap_or_else(|| first.clone());
            }
            Ok::<u64, BenchError>(pages)
        }
    });
    let counts = futures_util::future::try_join_all(walkers).await?;
    Ok((counts.iter().sum(), started.elapsed().as_secs_f64()))
}

pub fn summary(r: &NodesReport) -> String {
    format!(
        "{} devices, snapshot {:.0} MB in a node's cache, pages of {} rows, {} clients\n\
         publish: {:.1} s to object storage, {:.1} s to a local directory\n\
         cold node: started (latest fetched) in {:.2} s; first page of an uncached snapshot {:.2} s ({:.0} MB fetched)\n\
         first byte, warm: {:.2} ms from object storage's cache against {:.2} ms local ({:.2}x)\n\
         load: {:.0} pages/s on one node, {:.0} on two ({:.2}x); node CPU {:.2} ms a page = {:.3} cores per 1,000 pages a minute",
        r.devices,
        r.snapshot_mb,
        r.page_size,
        r.clients,
        r.remote_publish_seconds,
        r.local_publish_seconds,
        r.cold_start_seconds,
        r.cold_first_page_seconds,
        r.cold_first_page_fetched_mb,
        r.remote_first_byte_ms,
        r.local_first_byte_ms,
        r.remote_over_local,
        r.one_node_pages_per_s,
        r.two_nodes_pages_per_s,
        r.two_over_one,
        r.node_cpu_ms_per_page,
        r.cores_per_1000_pages_per_minute,
    )
}
