//! Vulnerability record ids are unique per install: two installs on one device that
//! differ only in their CPE's update or edition get distinct ids on every page.

use serde_json::Value;
use snapshot::ExportKind;
use std::collections::HashSet;

/// Sets the CPE component at `index` (0 = part) of a formatted CPE string.
fn with_component(cpe: &str, index: usize, value: &str) -> String {
    let mut parts: Vec<String> = cpe.split(':').map(str::to_owned).collect();
    while parts.len() < 13 {
        parts.push("*".into());
    }
    parts[index + 2] = value.to_owned();
    parts.join(":")
}

#[test]
fn installs_differing_only_in_cpe_update_or_edition_get_distinct_ids() {
    let now = testkit::world::utc(2026, 11, 20, 12);
    let testkit::world::World {
        dir: _dir,
        store,
        snapshots,
    } = testkit::world::seeded(30, 5, now, 4);
    let opts = testkit::world::small_parts(20_000, 7);
    testkit::world::publish_at(&snapshots, now, &opts);
    let first = snapshots.latest().unwrap();
    // A device with a vulnerable CPE software: add the same name and version twice more,
    // once with a CPE update (log4j `2.0` vs `2.0` update `beta9`) and once with a
    // sw_edition (Firefox vs Firefox `esr`). The copies match the same CVEs.
    let mut row = Vec::new();
    first.render(ExportKind::Vulnerabilities, 0, &mut row);
    let row: Value = serde_json::from_slice(&row).unwrap();
    let device = row["deviceId"].as_str().unwrap().to_owned();
    let mut report = store.device(&device).unwrap().unwrap().report;
    let original = report
        .software
        .iter()
        .find(|s| s.name == row["softwareName"] && s.version == row["softwareVersion"])
        .unwrap()
        .clone();
    let cpe = original.cpe.clone().unwrap();
    let mut update = original.clone();
    update.cpe = Some(with_component(&cpe, 4, "beta9"));
    let mut edition = original.clone();
    edition.cpe = Some(with_component(&cpe, 7, "esr"));
    report.software.push(update);
    report.software.push(edition);
    report.sequence += 1;
    ingest::apply_reports(store.as_ref(), &[report], now).unwrap();
    testkit::world::publish_at(&snapshots, now + chrono::Duration::hours(1), &opts);
    let s = snapshots.latest().unwrap();

    let mut ids = HashSet::new();
    let mut of_original: Vec<String> = Vec::new();
    for i in 0..s.rows(ExportKind::Vulnerabilities) {
        let mut out = Vec::new();
        s.render(ExportKind::Vulnerabilities, i, &mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        if v["deviceId"] == device.as_str()
            && v["softwareName"] == original.name.as_str()
            && v["softwareVersion"] == original.version.as_str()
            && v["cveId"] == row["cveId"]
        {
            of_original.push(id.clone());
        }
        assert!(ids.insert(id.clone()), "duplicate id {id}");
    }
    of_original.sort();
    let cve = row["cveId"].as_str().unwrap_or("");
    let plain = format!("{device}_{}_{}_{cve}_", original.name, original.version);
    // The unqualified install keeps MDE's format; the qualified ones append the CPE's
    // update:edition:sw_edition to the version.
    let mut want = vec![
        plain.clone(),
        format!(
            "{device}_{}_{}:*:*:esr_{cve}_",
            original.name, original.version
        ),
        format!(
            "{device}_{}_{}:beta9:*:*_{cve}_",
            original.name, original.version
        ),
    ];
    want.sort();
    assert_eq!(of_original, want, "three installs, three ids");
    // The change log of the second publish names the two new installs with their own ids.
    let log = snapshots.change_logs().into_iter().last().unwrap();
    let mut new_ids = HashSet::new();
    for i in 0..log.len() {
        let mut out = Vec::new();
        log.render(i, &mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        if v["status"] == "New" && v["deviceId"] == device.as_str() {
            assert!(new_ids.insert(v["id"].as_str().unwrap().to_owned()));
        }
    }
    assert!(new_ids.iter().all(|id| id != &plain));
    assert!(new_ids.len() >= 2, "{new_ids:?}");
}
