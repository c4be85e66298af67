//! The summary tables written at publish equal the figures recounted from the rows the
//! API serves, for every group alone and for all groups together, and a snapshot's
//! summary is read without its rows.

use serde_json::Value;
use snapshot::{ExportKind, Snapshot};
use testkit::recount::Recount;

fn records(s: &Snapshot, kind: ExportKind, group: Option<u32>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for part in &s.export(kind).parts {
        if group.is_some_and(|g| g != part.group_id) {
            continue;
        }
        for row in part.start_row..part.start_row + part.rows {
            buf.clear();
            s.render(kind, row, &mut buf);
            out.push(serde_json::from_slice(&buf).expect("a JSON record"));
        }
    }
    out
}

fn recount(s: &Snapshot, group: Option<u32>) -> Recount {
    Recount::of(
        &records(s, ExportKind::Vulnerabilities, group),
        &records(s, ExportKind::DeviceAv, group),
        &records(s, ExportKind::SecureConfiguration, group),
    )
}

fn check(summary: &snapshot::Summary, allowed: Option<&[u32]>, want: &Recount) {
    let c = summary.counts(allowed);
    let what = format!("groups {allowed:?}");
    assert_eq!(c.devices, want.devices, "{what}: devices");
    assert_eq!(c.exposed_devices, want.exposed_devices, "{what}: exposed");
    assert_eq!(
        c.vulnerabilities, want.vulnerabilities,
        "{what}: by severity"
    );
    assert_eq!(c.kev_devices, want.kev_devices, "{what}: KEV devices");
    assert_eq!(
        c.kev_vulnerabilities, want.kev_vulnerabilities,
        "{what}: KEV records"
    );
    assert_eq!(
        c.av_out_of_date, want.av_out_of_date,
        "{what}: AV out of date"
    );
    assert_eq!(
        c.config_applicable, want.config_applicable,
        "{what}: applicable"
    );
    assert_eq!(
        c.config_compliant, want.config_compliant,
        "{what}: compliant"
    );
    let cves: std::collections::BTreeMap<String, u64> = summary
        .cves(allowed)
        .into_iter()
        .map(|c| (c.cve, c.devices))
        .collect();
    assert_eq!(cves, want.cve_devices, "{what}: devices per CVE");
}

#[test]
fn summaries_equal_the_figures_recounted_from_the_served_rows() {
    let now = testkit::world::utc(2026, 11, 20, 12);
    let world = testkit::world::seeded(240, 9, now, 4);
    let opts = testkit::world::small_parts(40_000, 50);
    testkit::world::publish_at(&world.snapshots, now, &opts);
    let s = world.snapshots.latest().expect("a snapshot");
    let summary = s.summary().expect("a summary written at publish");
    assert!(summary.groups.len() > 1, "the fleet has several groups");
    check(summary, None, &recount(&s, None));
    for g in &summary.groups {
        check(summary, Some(&[g.id]), &recount(&s, Some(g.id)));
    }
    let two: Vec<u32> = summary.groups.iter().take(2).map(|g| g.id).collect();
    let mut want = recount(&s, Some(two[0]));
    let other = recount(&s, Some(two[1]));
    want.devices += other.devices;
    want.exposed_devices += other.exposed_devices;
    for (k, v) in other.vulnerabilities {
        *want.vulnerabilities.entry(k).or_default() += v;
    }
    want.kev_devices += other.kev_devices;
    want.kev_vulnerabilities += other.kev_vulnerabilities;
    want.av_out_of_date += other.av_out_of_date;
    want.config_applicable += other.config_applicable;
    want.config_compliant += other.config_compliant;
    for (k, v) in other.cve_devices {
        *want.cve_devices.entry(k).or_default() += v;
    }
    check(summary, Some(&two), &want);
    // The figures are non-trivial.
    let all = summary.counts(None);
    assert!(all.exposed_devices > 0 && all.kev_devices > 0 && all.config_applicable > 0);
    assert!(!summary.software(None).is_empty());
    assert!(
        summary
            .software(None)
            .iter()
            .all(|v| v.exposed_devices <= v.devices)
    );
    // The summary alone answers: the file is small beside the rows.
    let size = |name: &str| std::fs::metadata(s.dir().join(name)).map_or(0, |m| m.len());
    assert!(size(snapshot::summary::SUMMARY_FILE) > 0);
}
