//! Snapshots in object storage: a publisher and nodes with caches of their own over one
//! state store and one bucket, on a local directory (`file://`), a real S3 (moto) and a
//! real Azure Blob (Azurite).

use chrono::Duration;
use snapshot::{ExportKind, ObjectSnapshots, Snapshot, Snapshots, remote};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use store::StateStore;
use testkit::world::{publish_at, seeded, small_parts, utc};

fn registry(
    cache: &Path,
    store: Arc<dyn StateStore>,
    url: &str,
    retain: usize,
    budget: u64,
) -> Snapshots {
    let objects = ObjectSnapshots::open(url).expect("open the object store");
    Snapshots::open_remote(cache, store, retain, Arc::new(objects), budget)
        .expect("open a registry over object storage")
}

/// Every row of every export, rendered.
fn rows(s: &Snapshot) -> Vec<String> {
    let mut all = Vec::new();
    for kind in ExportKind::ALL {
        for row in 0..s.rows(kind) {
            let mut out = Vec::new();
            s.render(kind, row, &mut out);
            all.push(format!("{kind:?} {row}: {}", String::from_utf8_lossy(&out)));
        }
    }
    all
}

/// Asserts two snapshots render the same rows, naming the first difference.
fn same_rows(a: &Snapshot, b: &Snapshot) {
    let (a, b) = (rows(a), rows(b));
    assert_eq!(a.len(), b.len(), "row counts");
    if let Some((x, y)) = a.iter().zip(&b).find(|(x, y)| x != y) {
        panic!("rows differ:\n{x}\n{y}");
    }
}

/// The whole life of remote snapshots against `url` (an empty bucket or directory).
fn round_trip(url: &str) {
    let t0 = utc(2026, 11, 2, 8);
    let w = seeded(40, 7, t0, 2);
    let tmp = tempfile::tempdir().unwrap();
    let opts = small_parts(64 << 10, 16);
    let publisher = registry(
        &tmp.path().join("publisher"),
        w.store.clone(),
        url,
        2,
        u64::MAX,
    );
    assert!(publisher.latest().is_none());
    let first = publish_at(&publisher, t0, &opts);

    // A node that never saw the publish serves it, byte for byte.
    let node = registry(
        &tmp.path().join("node-a"),
        w.store.clone(),
        url,
        2,
        u64::MAX,
    );
    let served = node.latest().expect("the node fetched the latest snapshot");
    assert_eq!(served.time_path(), first.time_path);
    let published = publisher.latest().unwrap();
    same_rows(&served, &published);
    assert!(node.cache_bytes() > 0);
    // It was served from sparse files while the rest arrived in the background; once
    // whole, its directory is marked complete and survives a restart of the node.
    let started = std::time::Instant::now();
    while !(served.is_complete() && served.dir().join(".complete").exists()) {
        assert!(started.elapsed().as_secs() < 60, "never completed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let served_dir = served.dir().to_owned();
    let inode = |dir: &Path| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(dir.join("vulnerabilities.rows"))
            .unwrap()
            .ino()
    };
    let before = inode(&served_dir);
    drop((served, node));
    let node = registry(
        &tmp.path().join("node-a"),
        w.store.clone(),
        url,
        2,
        u64::MAX,
    );
    assert_eq!(
        node.latest().unwrap().dir(),
        served_dir,
        "the cache survives a restart"
    );
    assert_eq!(inode(&served_dir), before, "and is not fetched again");
    // A page prefetched on a node that has not cached its snapshot reads the same rows.
    let fresh = registry(
        &tmp.path().join("node-p"),
        w.store.clone(),
        url,
        2,
        u64::MAX,
    );
    let s = fresh.latest().unwrap();
    for kind in ExportKind::ALL {
        s.prefetch_rows(kind, 0..s.rows(kind)).unwrap();
    }
    same_rows(&s, &published);

    // A newer publish (with its change log) reaches the node on refresh.
    let second = publish_at(&publisher, t0 + Duration::hours(6), &opts);
    assert!(node.refresh().unwrap(), "refresh sees the new snapshot");
    assert_eq!(node.latest().unwrap().time_path(), second.time_path);
    assert_eq!(node.change_logs().len(), 1, "the change log was fetched");
    assert_eq!(
        node.changes_since(t0).len(),
        publisher.changes_since(t0).len()
    );

    // A node on an empty cache with a budget of one byte: the latest always stays, an
    // older one is fetched on first use (asOf), kept while read, evicted after.
    let small = registry(&tmp.path().join("node-b"), w.store.clone(), url, 2, 1);
    let misses = remote::stats().misses.load(Ordering::Relaxed);
    let older = small
        .as_of(t0)
        .expect("asOf fetches a retained older snapshot");
    assert_eq!(older.time_path(), first.time_path);
    assert!(remote::stats().misses.load(Ordering::Relaxed) > misses);
    same_rows(&older, &published);
    small.refresh().unwrap();
    assert!(older.dir().exists(), "a snapshot being read is not evicted");
    let older_dir = older.dir().to_owned();
    drop(older);
    small.refresh().unwrap();
    assert!(!older_dir.exists(), "evicted once nobody reads it");
    assert_eq!(small.latest().unwrap().time_path(), second.time_path);
    assert!(small.as_of(t0).is_some(), "fetched again after eviction");

    // Two registries cannot share one cache directory: the second takes node-1.
    let twin = registry(
        &tmp.path().join("node-a"),
        w.store.clone(),
        url,
        2,
        u64::MAX,
    );
    assert!(
        twin.latest()
            .unwrap()
            .dir()
            .starts_with(tmp.path().join("node-a/node-1"))
    );

    // Leftovers of a publish that never committed are removed by the next publish.
    let objects = ObjectSnapshots::open(url).unwrap();
    objects
        .upload_dir(
            published.dir(),
            "snapshots/000099-20261102-0900",
            "manifest.json",
        )
        .unwrap();
    assert!(
        objects
            .list_dirs("snapshots")
            .unwrap()
            .contains(&"000099-20261102-0900".to_owned())
    );
    let third = publish_at(&publisher, t0 + Duration::hours(12), &opts);
    let listed = objects.list_dirs("snapshots").unwrap();
    assert!(
        !listed.contains(&"000099-20261102-0900".to_owned()),
        "{listed:?}"
    );
    // Retention (2) removed the first snapshot from the bucket too.
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(node.refresh().unwrap());
    assert_eq!(node.latest().unwrap().time_path(), third.time_path);
    assert!(node.by_time_path(&first.time_path).is_none());
    assert!(node.by_time_path(&second.time_path).is_some());
}

#[test]
fn snapshots_round_trip_through_a_directory() {
    let bucket = tempfile::tempdir().unwrap();
    round_trip(&format!("file://{}", bucket.path().display()));
}

#[test]
fn snapshots_round_trip_through_s3() {
    let Some(moto) = testkit::objects::moto() else {
        return;
    };
    moto.create_bucket("posture-snapshots");
    moto.export_env();
    round_trip("s3://posture-snapshots/fleet-a");
}

#[test]
fn snapshots_round_trip_through_azure_blob() {
    let Some(azurite) = testkit::objects::azurite() else {
        return;
    };
    azurite.create_bucket("posture-snapshots");
    azurite.export_env();
    round_trip("az://posture-snapshots/fleet-a");
}

#[test]
fn bad_urls_are_clear_errors() {
    for (url, want) in [
        ("ftp://x/y", "unknown scheme `ftp`"),
        ("s3://", "no bucket"),
        ("file://host/dir", "absolute directory"),
        ("no-scheme", "expected file:///DIR"),
    ] {
        let e = ObjectSnapshots::open(url).unwrap_err().to_string();
        assert!(e.contains(want), "{url}: {e}");
    }
}
