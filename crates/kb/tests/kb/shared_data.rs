//! Checks against the project's shared real-data folder, when present.

use kb::{Cpe, CveRecord, Exploitability, Matcher, exploitability, parse_kev, parse_nvd};

use crate::common::shared_data;

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn whole_nvd_sample() {
    let Some(dir) = shared_data() else { return };
    let path = dir.join("nvd/nvdcve-2.0-sample.json");
    let recs = parse_nvd(&read(&path), "nvdcve-2.0-sample.json").expect("sample parses");
    assert_eq!(recs.len(), 72);
    let mut ids: Vec<&str> = recs.iter().map(|r| r.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 72);

    let with_cvss = recs.iter().filter(|r| r.cvss.is_some()).count();
    // Five records have no CVSS v2/v3 (two Rejected, one empty, two v4.0-only).
    assert_eq!(with_cvss, 67);
    let with_configs = recs.iter().filter(|r| !r.configurations.is_empty()).count();
    assert_eq!(with_configs, 60);

    let json = serde_json::to_string(&recs).expect("serialise");
    let back: Vec<CveRecord> = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, recs);

    // Matching over the whole sample.
    let m = Matcher::new(&recs);
    let chrome = m.match_software(&Cpe::application("google", "chrome", "112.0.5615.120"), &[]);
    let chrome_ids: Vec<&str> = chrome.iter().map(|x| x.cve_id.as_str()).collect();
    assert!(chrome_ids.contains(&"CVE-2023-2033"));
    assert!(!chrome_ids.contains(&"CVE-2025-2783"), "needs Windows");
    let windows = Cpe::parse("cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*").expect("cpe");
    let chrome_win = m.match_software(
        &Cpe::application("google", "chrome", "112.0.5615.120"),
        std::slice::from_ref(&windows),
    );
    assert!(chrome_win.iter().any(|x| x.cve_id == "CVE-2025-2783"));
    let fixed = m.match_software(
        &Cpe::application("google", "chrome", "134.0.6998.177"),
        &[windows],
    );
    assert!(fixed.is_empty(), "{fixed:?}");

    let win11 = Cpe::operating_system("microsoft", "windows_11_23h2", "10.0.22631.3000");
    let w: Vec<String> = m
        .match_software(&win11, &[])
        .into_iter()
        .map(|x| x.cve_id)
        .collect();
    assert!(w.contains(&"CVE-2024-21338".to_owned()), "{w:?}");
}

#[test]
fn full_kev_catalogue_and_subset() {
    let Some(dir) = shared_data() else { return };
    let full = parse_kev(
        &read(&dir.join("kev/known_exploited_vulnerabilities.json")),
        "known_exploited_vulnerabilities.json",
    )
    .expect("catalogue parses");
    assert_eq!(full.version, "2025.08.25");
    assert_eq!(full.entries.len(), 1404);
    assert!(full.entries.iter().any(|e| e.ransomware));
    assert!(full.get("CVE-2023-2033").is_some());
    assert!(full.get("CVE-2021-44228").is_some_and(|e| e.ransomware));

    let subset = parse_kev(
        &read(&dir.join("kev/known_exploited_vulnerabilities.subset.json")),
        "subset",
    )
    .expect("subset parses");
    assert_eq!(subset.entries.len(), 19);

    // Every subset entry is in the full catalogue with the same dates.
    let idx = full.index();
    for e in &subset.entries {
        let f = idx.get(e.cve_id.as_str()).expect("in full catalogue");
        assert_eq!(f.date_added, e.date_added, "{}", e.cve_id);
    }

    // NVD's cisaExploitAdd agrees with the full catalogue.
    let recs = parse_nvd(
        &read(&dir.join("nvd/nvdcve-2.0-sample.json")),
        "nvdcve-2.0-sample.json",
    )
    .expect("sample parses");
    for r in &recs {
        if let Some(d) = r.cisa_exploit_add {
            let k = idx.get(r.id.as_str()).expect("in KEV");
            assert_eq!(k.date_added, d, "{}", r.id);
            assert!(exploitability(r, Some(k)) >= Exploitability::ExploitIsVerified);
        }
    }
}
