//! Snapshot publishing and reading against a real SQLite store and a seeded fleet.

use model::wire::{
    AssetConfiguration, AssetNonCpeSoftware, AssetSoftware, AssetVulnerability, DeviceAvInfo,
};
use snapshot::{BuildOptions, ExportKind, Snapshot, Snapshots};
use std::collections::HashSet;
use std::sync::Arc;
use store::StateStore;

struct World {
    dir: tempfile::TempDir,
    store: Arc<dyn StateStore>,
}

fn world(devices: u32) -> World {
    let (dir, store) = testkit::world::empty_store();
    testkit::world::seed_into(
        store.as_ref(),
        devices,
        7,
        testkit::world::utc(2026, 11, 20, 12),
    );
    World { dir, store }
}

fn small_parts() -> BuildOptions {
    testkit::world::small_parts(40_000, 17)
}

fn publish(snapshots: &Snapshots, minute: u32) -> snapshot::PublishReport {
    let at = testkit::world::utc(2026, 11, 20, 13) + chrono::Duration::minutes(minute.into());
    testkit::world::publish_at(snapshots, at, &small_parts())
}

fn rendered(s: &Snapshot, kind: ExportKind) -> Vec<String> {
    (0..s.rows(kind))
        .map(|i| {
            let mut out = Vec::new();
            s.render(kind, i, &mut out);
            String::from_utf8(out).unwrap()
        })
        .collect()
}

/// Each rendered row must be exactly what serde writes for the wire type.
fn assert_serde_identical<T: serde::de::DeserializeOwned + serde::Serialize>(rows: &[String]) {
    for row in rows {
        let typed: T = serde_json::from_str(row).unwrap_or_else(|e| panic!("{e}: {row}"));
        assert_eq!(&serde_json::to_string(&typed).unwrap(), row);
    }
}

#[test]
fn every_rendered_row_is_the_wire_record_and_rows_are_ordered() {
    let w = world(120);
    let snapshots = Snapshots::open(w.dir.path(), w.store.clone(), 3).unwrap();
    let report = publish(&snapshots, 0);
    let s = snapshots.latest().unwrap();
    assert_eq!(report.devices, 120);
    for kind in ExportKind::ALL {
        assert!(s.rows(kind) > 0, "{kind:?} has no rows");
    }
    let vulns = rendered(&s, ExportKind::Vulnerabilities);
    assert_serde_identical::<AssetVulnerability>(&vulns);
    assert_serde_identical::<AssetSoftware>(&rendered(&s, ExportKind::SoftwareInventory));
    assert_serde_identical::<AssetNonCpeSoftware>(&rendered(&s, ExportKind::NonCpeSoftware));
    assert_serde_identical::<AssetConfiguration>(&rendered(&s, ExportKind::SecureConfiguration));
    assert_serde_identical::<DeviceAvInfo>(&rendered(&s, ExportKind::DeviceAv));

    // The vulnerability key (device, software, version, CVE) is unique, ids follow the convention,
    // and rows are grouped by RBAC group in ascending order (the part files' order).
    let mut keys = HashSet::new();
    let mut last_group = -1i64;
    for row in &vulns {
        let v: AssetVulnerability = serde_json::from_str(row).unwrap();
        assert_eq!(
            v.id,
            AssetVulnerability::record_id(
                &v.device_id,
                &v.software_name,
                &v.software_version,
                v.cve_id.as_deref()
            )
        );
        assert!(keys.insert((
            v.device_id.clone(),
            v.software_vendor,
            v.software_name,
            v.software_version,
            v.cve_id
        )));
        assert!(v.rbac_group_id >= last_group);
        last_group = v.rbac_group_id;
        assert!(
            v.first_seen_timestamp <= v.last_seen_timestamp
                || v.first_seen_timestamp.starts_with("2026")
        );
    }
    // Parts: contiguous, one group each, several per group when large.
    for kind in ExportKind::ALL {
        let e = s.export(kind);
        let mut next = 0;
        for p in &e.parts {
            assert_eq!(p.start_row, next);
            next += p.rows;
        }
        assert_eq!(next, e.rows);
    }
    let parts = &s.export(ExportKind::Vulnerabilities).parts;
    assert!(
        parts.len() > s.manifest.groups.len(),
        "expected several parts per group, got {}",
        parts.len()
    );
    // Info-gathering records carry DeviceGatheredInfo as a JSON-encoded string with AvScanResults inside.
    let info = rendered(&s, ExportKind::InfoGathering);
    let v: serde_json::Value = serde_json::from_str(&info[0]).unwrap();
    let gathered: serde_json::Value =
        serde_json::from_str(v["DeviceGatheredInfo"].as_str().unwrap()).unwrap();
    assert!(gathered["AvScanResults"].is_string());
    assert!(gathered.get("AvIsSignatureUptoDate").is_some());
}

#[test]
fn snapshots_are_immutable_retained_and_reopened_identically() {
    let w = world(40);
    let snapshots = Snapshots::open(w.dir.path(), w.store.clone(), 2).unwrap();
    let a = publish(&snapshots, 0);
    let first = snapshots.latest().unwrap();
    let before = rendered(&first, ExportKind::Vulnerabilities);
    let b = publish(&snapshots, 0);
    assert_ne!(
        a.time_path, b.time_path,
        "same-minute publishes get distinct time paths"
    );
    // The earlier snapshot is still readable through its Arc, unchanged.
    assert_eq!(rendered(&first, ExportKind::Vulnerabilities), before);
    let c = publish(&snapshots, 5);
    assert_eq!(c.removed, vec![a.time_path.clone()]);
    assert!(snapshots.by_time_path(&a.time_path).is_none());
    assert_eq!(snapshots.list().len(), 2);
    // Reopen: same snapshots, byte-identical rows.
    let latest_rows = rendered(&snapshots.latest().unwrap(), ExportKind::SoftwareInventory);
    drop(snapshots);
    let reopened = Snapshots::open(w.dir.path(), w.store.clone(), 2).unwrap();
    assert_eq!(reopened.latest().unwrap().time_path(), c.time_path);
    assert_eq!(
        rendered(&reopened.latest().unwrap(), ExportKind::SoftwareInventory),
        latest_rows
    );
    assert!(reopened.by_time_path(&b.time_path).is_some());
}

#[test]
fn an_interrupted_publish_leaves_the_previous_snapshot_serving() {
    let w = world(30);
    let snapshots = Snapshots::open(w.dir.path(), w.store.clone(), 4).unwrap();
    let a = publish(&snapshots, 0);
    // Leftovers of a publish killed before its commit point: a temporary directory and a
    // complete but unregistered snapshot directory.
    let root = w.dir.path().join("snapshots");
    std::fs::create_dir(root.join(".tmp-crashed")).unwrap();
    std::fs::write(root.join(".tmp-crashed/vulnerabilities.rows"), b"partial").unwrap();
    let latest_dir = snapshots.latest().unwrap().dir().to_owned();
    let orphan = root.join("000099-20261120-1400");
    std::fs::create_dir(&orphan).unwrap();
    for entry in std::fs::read_dir(&latest_dir).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, orphan.join(p.file_name().unwrap())).unwrap();
    }
    drop(snapshots);
    let reopened = Snapshots::open(w.dir.path(), w.store.clone(), 4).unwrap();
    assert_eq!(reopened.latest().unwrap().time_path(), a.time_path);
    assert!(!root.join(".tmp-crashed").exists());
    assert!(!orphan.exists());
    assert_eq!(reopened.list().len(), 1);
}

#[test]
fn vulnerability_findings_come_from_the_synthetic_feed_with_evidence() {
    let w = world(60);
    let snapshots = Snapshots::open(w.dir.path(), w.store.clone(), 2).unwrap();
    let report = publish(&snapshots, 0);
    assert!(report.findings > 0 && report.distinct_software > 0);
    let s = snapshots.latest().unwrap();
    let evidence = std::fs::read_to_string(s.dir().join("evidence.ndjson")).unwrap();
    let first: serde_json::Value = serde_json::from_str(evidence.lines().next().unwrap()).unwrap();
    assert!(first["evidence"]["feed"].is_string() && first["evidence"]["recordId"].is_string());
    let rows = rendered(&s, ExportKind::Vulnerabilities);
    let per_device = rows.len() as f64 / 60.0;
    assert!(
        per_device > 20.0,
        "only {per_device:.1} vulnerability rows per device"
    );
}

/// The per-finding row index written at publish lists exactly the rows a scan finds, in
/// row order; a snapshot without it (published before it existed) still opens and says
/// so; a damaged one is refused.
#[test]
fn the_rows_of_each_finding_are_indexed_exactly() {
    let w = world(80);
    let snapshots = Snapshots::open(w.dir.path(), w.store.clone(), 2).unwrap();
    publish(&snapshots, 0);
    let s = snapshots.latest().unwrap();
    let rows = s.rows(ExportKind::Vulnerabilities);
    assert!(rows > 0);
    let mut scanned: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
    for i in 0..rows {
        scanned
            .entry(s.vuln_row(i).unwrap().finding)
            .or_default()
            .push(i);
    }
    for f in 0..s.finding_count() as u32 + 2 {
        let indexed: Vec<u64> = s.vuln_rows_of_finding(f).unwrap().collect();
        assert_eq!(
            indexed,
            scanned.get(&f).cloned().unwrap_or_default(),
            "finding {f}"
        );
    }

    let dir = s.dir().to_owned();
    let index = dir.join("vulnerabilities.by_finding");
    let bytes = std::fs::read(&index).unwrap();
    std::fs::write(&index, &bytes[..bytes.len() - 4]).unwrap();
    let damaged = Snapshot::open(&dir).unwrap_err().to_string();
    assert!(damaged.contains("vulnerabilities.by_finding"), "{damaged}");
    std::fs::remove_file(&index).unwrap();
    let older = Snapshot::open(&dir).unwrap();
    assert!(older.vuln_rows_of_finding(0).is_none());
    assert_eq!(
        rendered(&older, ExportKind::Vulnerabilities).len() as u64,
        rows
    );
}
