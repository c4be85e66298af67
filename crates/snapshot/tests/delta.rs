//! The delta export: change logs against real snapshots of an evolving fleet.

use chrono::{Duration, Utc};
use model::wire::AssetVulnerability;
use proptest::prelude::*;
use serde_json::Value;
use snapshot::{ChangeLog, ExportKind, Snapshot, Snapshots};
use std::collections::HashMap;
use std::sync::Arc;
use store::StateStore;

type VulnSet = HashMap<(String, i64), Value>;

/// The fields a delta tracks (Updated = a change of one of the first six) plus the
/// first-seen time, which carries over unchanged rows.
const TRACKED: [&str; 7] = [
    "cvssScore",
    "exploitabilityLevel",
    "vulnerabilitySeverityLevel",
    "diskPaths",
    "registryPaths",
    "recommendedSecurityUpdate",
    "firstSeenTimestamp",
];

fn tracked(set: &VulnSet) -> HashMap<(String, i64), Vec<Value>> {
    set.iter()
        .map(|(k, v)| (k.clone(), TRACKED.iter().map(|f| v[*f].clone()).collect()))
        .collect()
}

struct World {
    dir: tempfile::TempDir,
    store: Arc<dyn StateStore>,
    snapshots: Arc<Snapshots>,
    clock: chrono::DateTime<Utc>,
}

fn world(devices: u32, seed: u64) -> World {
    let now = testkit::world::utc(2026, 11, 20, 12);
    let testkit::world::World {
        dir,
        store,
        snapshots,
    } = testkit::world::seeded(devices, seed, now, 50);
    World {
        dir,
        store,
        snapshots,
        clock: now,
    }
}

impl World {
    fn publish(&mut self) -> snapshot::PublishReport {
        self.clock += Duration::hours(6);
        testkit::world::publish_at(
            &self.snapshots,
            self.clock,
            &testkit::world::small_parts(50_000, 9),
        )
    }
}

fn vuln_set(s: &Snapshot) -> VulnSet {
    (0..s.rows(ExportKind::Vulnerabilities))
        .map(|i| {
            let mut out = Vec::new();
            s.render(ExportKind::Vulnerabilities, i, &mut out);
            let v: Value = serde_json::from_slice(&out).unwrap();
            (
                (
                    v["id"].as_str().unwrap().to_owned(),
                    v["rbacGroupId"].as_i64().unwrap(),
                ),
                v,
            )
        })
        .collect()
}

fn records(log: &ChangeLog) -> Vec<Value> {
    (0..log.len())
        .map(|i| {
            let mut out = Vec::new();
            log.render(i, &mut out);
            serde_json::from_slice(&out).unwrap()
        })
        .collect()
}

/// Applies a change log to a vulnerability set, checking every change is consistent with it.
fn replay(set: &mut VulnSet, log: &ChangeLog) {
    for mut r in records(log) {
        let status = r.as_object_mut().unwrap().remove("status").unwrap();
        let event = r.as_object_mut().unwrap().remove("eventTimestamp").unwrap();
        assert_eq!(
            event.as_str().unwrap(),
            model::timefmt::iso_z(&log.meta.generated_at)
        );
        let key = (
            r["id"].as_str().unwrap().to_owned(),
            r["rbacGroupId"].as_i64().unwrap(),
        );
        match status.as_str().unwrap() {
            "New" => assert!(
                set.insert(key.clone(), r).is_none(),
                "New for a present row {key:?}"
            ),
            "Fixed" => assert_eq!(
                set.remove(&key).as_ref(),
                Some(&r),
                "Fixed row differs from the old row {key:?}"
            ),
            "Updated" => assert!(
                set.insert(key.clone(), r).is_some(),
                "Updated for an absent row {key:?}"
            ),
            other => panic!("status {other}"),
        }
    }
}

/// Random changes to device state of the kind real fleets see, applied through the report path.
fn mutate(w: &World, choice: u8, salt: u64) {
    let store = w.store.as_ref();
    let mut states = Vec::new();
    store
        .scan_devices(1000, &mut |b| {
            states.extend(b);
            Ok(())
        })
        .unwrap();
    let mut reports = Vec::new();
    for (i, s) in states.iter().enumerate() {
        if !(i as u64 + salt).is_multiple_of(3) {
            continue;
        }
        let mut r = s.report.clone();
        r.sequence += 1;
        match (choice + i as u8) % 4 {
            0 => r
                .software
                .retain(|sw| !(sw.name.len() as u64 + salt).is_multiple_of(5)),
            1 => {
                r.group = if r.group.is_some() {
                    None
                } else {
                    Some(model::GroupRef {
                        id: 86,
                        name: "Servers".into(),
                    })
                }
            }
            2 => {
                if let Some(sw) = r.software.iter_mut().find(|sw| sw.disk_paths.is_empty()) {
                    sw.disk_paths.push(format!("/opt/moved-{salt}/bin"));
                }
            }
            _ => r.reported_at += Duration::minutes(5),
        }
        reports.push(r);
    }
    ingest::apply_reports(store, &reports, w.clock).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5, ..ProptestConfig::default() })]
    #[test]
    fn replaying_change_logs_from_a_reproduces_every_later_snapshot(
        seed in 1u64..1000,
        steps in proptest::collection::vec((0u8..3, 0u8..8, 1u32..13), 1..4),
    ) {
        let mut w = world(25, seed);
        w.publish();
        let a = w.snapshots.latest().unwrap();
        let mut set = vuln_set(&a);
        for (kind, choice, hours) in steps {
            match kind {
                0 => { emulator::advance_fleet(w.store.as_ref(), hours, w.clock, &|_| {}).unwrap(); }
                1 => mutate(&w, choice, u64::from(hours)),
                _ => {}
            }
            let report = w.publish();
            let log = w.snapshots.change_logs().into_iter().find(|c| c.meta.seq == report.seq).unwrap();
            prop_assert_eq!(log.meta.counts.total(), log.len());
            replay(&mut set, &log);
            let b = vuln_set(&w.snapshots.latest().unwrap());
            prop_assert_eq!(tracked(&set), tracked(&b));
            // Keep the full records of B for the next step, as a client storing the export would.
            set = b;
        }
    }
}

#[test]
fn upgrades_and_group_moves_are_fixed_new_pairs_and_rescoring_is_updated() {
    let mut w = world(60, 3);
    w.publish();
    let a = w.snapshots.latest().unwrap();
    let before = vuln_set(&a);
    let mut rows: Vec<AssetVulnerability> = before
        .values()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect();
    // Deterministic choice (HashMap order differs per process).
    rows.sort_by(|a, b| (&a.id, a.rbac_group_id).cmp(&(&b.id, b.rbac_group_id)));
    // An upgrade that stays vulnerable: a device whose software version shares a CVE with
    // another version of the same product on the same OS platform (platform-qualified
    // records can differ between platforms), which the device does not already have.
    let (up_dev, up_name, old_version, new_version) = rows
        .iter()
        .find_map(|r| {
            let other = rows.iter().find(|o| {
                o.software_vendor == r.software_vendor
                    && o.software_name == r.software_name
                    && o.software_version != r.software_version
                    && o.os_platform == r.os_platform
                    && o.cve_id == r.cve_id
                    && o.cve_id.is_some()
            })?;
            let already = rows.iter().any(|x| {
                x.device_id == r.device_id
                    && x.software_name == r.software_name
                    && x.software_version == other.software_version
            });
            if already {
                return None;
            }
            Some((
                r.device_id.clone(),
                r.software_name.clone(),
                r.software_version.clone(),
                other.software_version.clone(),
            ))
        })
        .expect("the synthetic fleet has a product with two vulnerable versions sharing a CVE");
    let store = w.store.as_ref();
    let mut upgraded = store.device(&up_dev).unwrap().unwrap().report;
    upgraded.sequence += 1;
    let sw = upgraded
        .software
        .iter_mut()
        .find(|s| s.name == up_name && s.version == old_version)
        .unwrap();
    sw.version = new_version.clone();
    if let Some(cpe) = sw.cpe.as_mut() {
        *cpe = cpe.replace(&old_version, &new_version);
    }
    // A group move of another vulnerable device.
    let mover = rows
        .iter()
        .find(|r| r.device_id != up_dev && r.rbac_group_id != 712)
        .unwrap()
        .device_id
        .clone();
    let mut moved = store.device(&mover).unwrap().unwrap().report;
    moved.sequence += 1;
    moved.group = Some(model::GroupRef {
        id: 712,
        name: "Finance".into(),
    });
    ingest::apply_reports(store, &[upgraded, moved], w.clock).unwrap();
    // A KB revision: CVSS re-scored for some records, so rows of those CVEs are Updated.
    let state = emulator::fleet_state(store).unwrap().unwrap();
    let update = emulator::feed_update(
        state.seed,
        state.base_now,
        1,
        w.clock + Duration::hours(6),
        48,
    );
    ingest::import_feed(store, &update, "update.json").unwrap();
    let report = w.publish();
    let counts = report.changes.unwrap();
    assert!(
        counts.new > 0 && counts.fixed > 0 && counts.updated > 0,
        "{counts:?}"
    );
    let log = w.snapshots.change_logs().into_iter().last().unwrap();
    let changes = records(&log);
    let of = |dev: &str, status: &str| -> Vec<&Value> {
        changes
            .iter()
            .filter(|c| c["deviceId"] == dev && c["status"] == status)
            .collect()
    };
    // Upgrade: Fixed on the old version, New on the new one, keeping the first-seen time.
    let fixed_old: Vec<_> = of(&up_dev, "Fixed")
        .into_iter()
        .filter(|c| {
            c["softwareName"] == up_name.as_str() && c["softwareVersion"] == old_version.as_str()
        })
        .collect();
    let new_new: Vec<_> = of(&up_dev, "New")
        .into_iter()
        .filter(|c| {
            c["softwareName"] == up_name.as_str() && c["softwareVersion"] == new_version.as_str()
        })
        .collect();
    assert!(!fixed_old.is_empty() && !new_new.is_empty());
    for n in &new_new {
        if let Some(f) = fixed_old.iter().find(|f| f["cveId"] == n["cveId"]) {
            assert_eq!(
                n["firstSeenTimestamp"], f["firstSeenTimestamp"],
                "a version upgrade keeps the first-seen time"
            );
        }
    }
    // Group move: every row Fixed in the old group and New in the new one.
    let (fixed, new) = (of(&mover, "Fixed"), of(&mover, "New"));
    assert!(!fixed.is_empty() && new.len() >= fixed.len());
    assert!(
        fixed.iter().all(|c| c["rbacGroupId"] != 712)
            && new.iter().all(|c| c["rbacGroupId"] == 712)
    );
    // The same KB update may add CVEs, so New can hold more than the moved rows.
    let new_ids: std::collections::HashSet<&str> =
        new.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(
        fixed
            .iter()
            .all(|c| new_ids.contains(c["id"].as_str().unwrap())),
        "every moved row is New in the new group"
    );
    assert!(of(&mover, "Updated").is_empty());
    // Updated rows carry the new score.
    let b = vuln_set(&w.snapshots.latest().unwrap());
    for u in changes.iter().filter(|c| c["status"] == "Updated").take(20) {
        let key = (
            u["id"].as_str().unwrap().to_owned(),
            u["rbacGroupId"].as_i64().unwrap(),
        );
        assert_eq!(b[&key]["cvssScore"], u["cvssScore"]);
        assert!(before.contains_key(&key));
    }
    drop(w.dir);
}

#[test]
fn change_logs_survive_reopen_and_follow_their_retention() {
    let mut w = world(20, 9);
    w.publish();
    w.publish();
    emulator::advance_fleet(w.store.as_ref(), 6, w.clock, &|_| {}).unwrap();
    w.publish();
    assert_eq!(w.snapshots.change_logs().len(), 2);
    let root = w.dir.path().join("changes");
    std::fs::create_dir(root.join(".tmp-crashed")).unwrap();
    let reopened = Snapshots::open(w.dir.path(), w.store.clone(), 50).unwrap();
    assert_eq!(reopened.change_logs().len(), 2);
    assert!(!root.join(".tmp-crashed").exists());
    // Retention by age: with a 1-hour window only the newest change log (at the newest snapshot) stays.
    w.snapshots.set_change_retention(Duration::hours(1));
    w.publish();
    let logs = w.snapshots.change_logs();
    assert_eq!(logs.len(), 1);
    assert_eq!(
        logs[0].meta.time_path,
        w.snapshots.latest().unwrap().time_path()
    );
}
