//! Ecosystem advisories (OSV) through the real importer and assessment, with precedence
//! over CPE matches for packages a distribution covers.

use chrono::{TimeZone, Utc};
use model::{DeviceId, DeviceReport, InstalledSoftware, OsInfo, OsKind};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../kb/tests/fixtures/osv");

fn package(
    vendor: &str,
    name: &str,
    version: &str,
    ecosystem: Option<&str>,
    cpe: Option<&str>,
) -> InstalledSoftware {
    InstalledSoftware {
        vendor: vendor.into(),
        name: name.into(),
        version: version.into(),
        cpe: cpe.map(Into::into),
        ecosystem: ecosystem.map(Into::into),
        disk_paths: vec![],
        registry_paths: vec![],
        end_of_support: None,
        source: None,
    }
}

fn findings(
    kb: &assess::KnowledgeBase,
    sw: &InstalledSoftware,
    os: &OsInfo,
) -> Vec<(Option<String>, String)> {
    kb.assess_software(sw, os)
        .into_iter()
        .map(|f| (f.cve_id, f.evidence.feed))
        .collect()
}

#[test]
fn pypi_and_debian_advisories_match_with_their_own_version_order() {
    let (_dir, store) = testkit::world::empty_sqlite();
    for f in [
        "PYSEC-2023-228.json",
        "PYSEC-2021-437.json",
        "DSA-5514-1.json",
        "DEBIAN-CVE-2023-4911.json",
    ] {
        let out =
            ingest::import_feed_file(&store, &std::path::Path::new(FIXTURES).join(f)).unwrap();
        assert_eq!(out.kind, ingest::FeedKind::Osv);
    }
    // An NVD record with a CPE range that also covers glibc 2.31 (a backport false positive).
    let nvd = br#"{"format":"NVD_CVE","version":"2.0","vulnerabilities":[{"cve":{"id":"CVE-2023-4911","sourceIdentifier":"x","published":"2023-10-03T18:15:10.000","lastModified":"2023-10-03T18:15:10.000","vulnStatus":"Analyzed","descriptions":[{"lang":"en","value":"glibc"}],"metrics":{"cvssMetricV31":[{"source":"nvd@nist.gov","type":"Primary","cvssData":{"version":"3.1","vectorString":"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H","baseScore":7.8,"baseSeverity":"HIGH"}}]},"configurations":[{"nodes":[{"operator":"OR","negate":false,"cpeMatch":[{"vulnerable":true,"criteria":"cpe:2.3:a:gnu:glibc:*:*:*:*:*:*:*:*","versionStartIncluding":"2.34","versionEndExcluding":"2.39","matchCriteriaId":"A"}]}]}],"references":[]}}]}"#;
    ingest::import_feed(&store, nvd, "nvd.json").unwrap();
    let kb = snapshot::load_knowledge_base(&store).unwrap();
    assert_eq!(kb.osv_record_count(), 4);
    let linux = OsInfo {
        kind: OsKind::Linux,
        platform: "Linux".into(),
        version: "11".into(),
        architecture: None,
        distro: None,
    };
    // pip 23.2.1 is affected by PYSEC-2023-228 (fixed 23.3), not by PYSEC-2021-437 (fixed 21.1).
    let pip = package("pypi", "pip", "23.2.1", Some("PyPI"), None);
    assert_eq!(
        findings(&kb, &pip, &linux),
        vec![(Some("CVE-2023-5752".into()), "osv".into())]
    );
    assert!(
        findings(
            &kb,
            &package("pypi", "pip", "23.3", Some("PyPI"), None),
            &linux
        )
        .is_empty()
    );
    // PEP 503 names: "Pip" is pip.
    assert_eq!(
        findings(
            &kb,
            &package("pypi", "Pip", "20.0", Some("PyPI"), None),
            &linux
        )
        .len(),
        2
    );
    // Debian: 2.31-13+deb11u6 is before the fixed 2.31-13+deb11u7 (dpkg order); u7 is fixed.
    let glibc = |v: &str| {
        package(
            "debian",
            "glibc",
            v,
            Some("Debian:11"),
            Some(&format!("cpe:2.3:a:gnu:glibc:{v}:*:*:*:*:*:*:*")),
        )
    };
    let vulnerable = findings(&kb, &glibc("2.31-13+deb11u6"), &linux);
    assert_eq!(
        vulnerable,
        vec![(Some("CVE-2023-4911".into()), "osv".into())],
        "one row per CVE, from the distro advisory"
    );
    assert!(findings(&kb, &glibc("2.31-13+deb11u7"), &linux).is_empty());
    // A backported distro build whose upstream version falls in the NVD range is not flagged
    // by the CPE match: the distribution's advisories take precedence for its packages.
    assert!(findings(&kb, &glibc("2.36-9+deb11u9"), &linux).is_empty());
    // A binary package built from another source is matched by its source package.
    let mut libc6 = package(
        "debian",
        "libc6",
        "2.31-13+deb11u6",
        Some("Debian:11"),
        None,
    );
    libc6.source = Some(model::SourcePackage {
        name: "glibc".into(),
        version: "2.31-13+deb11u6".into(),
    });
    assert_eq!(
        findings(&kb, &libc6, &linux),
        vec![(Some("CVE-2023-4911".into()), "osv".into())]
    );
    libc6.source = Some(model::SourcePackage {
        name: "glibc".into(),
        version: "2.31-13+deb11u7".into(),
    });
    assert!(findings(&kb, &libc6, &linux).is_empty());
    // Without an ecosystem the same CPE does match the NVD range.
    let plain = package(
        "gnu",
        "glibc",
        "2.36",
        None,
        Some("cpe:2.3:a:gnu:glibc:2.36:*:*:*:*:*:*:*"),
    );
    assert_eq!(
        findings(&kb, &plain, &linux),
        vec![(Some("CVE-2023-4911".into()), "nvd".into())]
    );
}

#[test]
fn an_advisory_match_becomes_a_vulnerability_row_with_osv_evidence() {
    let (dir, store) = testkit::world::empty_store();
    ingest::import_feed_file(
        store.as_ref(),
        &std::path::Path::new(FIXTURES).join("PYSEC-2023-228.json"),
    )
    .unwrap();
    // One fixed timeline (reported, received, published): nothing depends on the calendar.
    let reported = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let report = DeviceReport {
        device_id: DeviceId::parse(&"ab".repeat(20)).unwrap(),
        sequence: 1,
        reported_at: reported,
        device_name: Some("build-01".into()),
        os: OsInfo {
            kind: OsKind::Linux,
            platform: "Linux".into(),
            version: "12".into(),
            architecture: Some("x64".into()),
            distro: None,
        },
        group: None,
        software: vec![package("pypi", "pip", "23.2.1", Some("PyPI"), None)],
        settings: Default::default(),
        av: None,
        facts: Default::default(),
    };
    let received = reported + chrono::Duration::minutes(5);
    ingest::apply_reports(store.as_ref(), &[report], received).unwrap();
    let snapshots = testkit::world::open_snapshots(dir.path(), store.clone(), 2);
    let published = reported + chrono::Duration::hours(1);
    testkit::world::publish_at(&snapshots, published, &snapshot::BuildOptions::default());
    let s = snapshots.latest().unwrap();
    assert_eq!(s.rows(snapshot::ExportKind::Vulnerabilities), 1);
    let mut out = Vec::new();
    s.render(snapshot::ExportKind::Vulnerabilities, 0, &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["cveId"], "CVE-2023-5752");
    assert_eq!(v["softwareName"], "pip");
    assert_eq!(
        v["recommendedSecurityUpdate"],
        "Update pip to version 23.3 or later"
    );
    // Software without a CPE is in the non-CPE inventory even when an advisory matched it.
    assert_eq!(s.rows(snapshot::ExportKind::NonCpeSoftware), 1);
    let evidence = std::fs::read_to_string(s.dir().join("evidence.ndjson")).unwrap();
    assert!(
        evidence.contains("\"feed\":\"osv\"") && evidence.contains("PYSEC-2023-228"),
        "{evidence}"
    );
}
