//! Target software: an inventory CPE's `target_sw` is `*`; when a criterion names an
//! operating system there, the device's OS kind stands in for it (MDE's mapping).
//! Known answers on real NVD records (the Zoom client records), both ways.

use kb::{Cpe, CveRecord, Match, Matcher, TargetOs, parse_nvd};

use crate::common::{fixture, nvd_records, shared_data};

fn cpe(s: &str) -> Cpe {
    Cpe::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// The platform CPEs a device of each OS kind reports (as `assess::platform_cpes`).
fn platform(os: TargetOs) -> Vec<Cpe> {
    let texts: &[&str] = match os {
        TargetOs::Windows => &[
            "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*",
            "cpe:2.3:o:microsoft:windows_11:-:*:*:*:*:*:*:*",
        ],
        TargetOs::MacOs => &[
            "cpe:2.3:o:apple:macos:-:*:*:*:*:*:*:*",
            "cpe:2.3:o:apple:mac_os_x:-:*:*:*:*:*:*:*",
        ],
        TargetOs::Linux => &[
            "cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*",
            "cpe:2.3:o:canonical:ubuntu_linux:22.04:*:*:*:*:*:*:*",
        ],
    };
    texts.iter().map(|t| cpe(t)).collect()
}

const ALL_OS: [TargetOs; 3] = [TargetOs::Windows, TargetOs::MacOs, TargetOs::Linux];

fn ids(ms: &[Match]) -> Vec<&str> {
    ms.iter().map(|m| m.cve_id.as_str()).collect()
}

/// CVE-2023-39213 and CVE-2023-39216: `zoom:zoom:*:*:*:*:*:windows:*:*` below 5.15.2 and
/// 5.14.7, no platform node. A project fixture, so this runs without the shared folder.
fn zoom_records() -> Vec<CveRecord> {
    parse_nvd(
        &fixture("nvd-zoom-target-sw.json"),
        "nvd-zoom-target-sw.json",
    )
    .expect("fixture parses")
}

#[test]
fn the_zoom_windows_client_matches_on_windows_only() {
    let m = Matcher::new(&zoom_records());
    let zoom = Cpe::application("zoom", "zoom", "5.14.0");
    for os in ALL_OS {
        let explicit = m.match_software_on(&zoom, &platform(os), Some(os));
        let inferred = m.match_software(&zoom, &platform(os));
        assert_eq!(explicit, inferred, "{os:?}: platform CPEs name the same OS");
        if os == TargetOs::Windows {
            assert_eq!(ids(&explicit), ["CVE-2023-39213", "CVE-2023-39216"]);
            assert!(explicit[0].evidence.criteria.contains(":windows:"));
        } else {
            assert!(explicit.is_empty(), "{os:?}: {:?}", ids(&explicit));
        }
    }
    // The fixed versions are not matched on Windows either.
    let fixed = Cpe::application("zoom", "zoom", "5.15.2");
    let on_windows = m.match_software_on(&fixed, &[], Some(TargetOs::Windows));
    assert!(on_windows.is_empty());
    // Between the two fixes: only the later record.
    let between = Cpe::application("zoom", "zoom", "5.14.7");
    let on_windows = m.match_software_on(&between, &[], Some(TargetOs::Windows));
    assert_eq!(ids(&on_windows), ["CVE-2023-39213"]);
    // The VDI product has no target_sw: every OS.
    let vdi = Cpe::application("zoom", "virtual_desktop_infrastructure", "5.15.0");
    for os in ALL_OS {
        let got = m.match_software_on(&vdi, &platform(os), Some(os));
        assert_eq!(ids(&got), ["CVE-2023-39213"], "{os:?}");
    }
}

#[test]
fn a_known_software_target_and_an_unknown_device_keep_plain_component_matching() {
    let m = Matcher::new(&zoom_records());
    // OS unknown (no platform CPEs): an OS-restricted criterion is not rejected.
    let zoom = Cpe::application("zoom", "zoom", "5.14.0");
    assert_eq!(ids(&m.match_software(&zoom, &[])).len(), 2);
    // An inventory CPE that names its target_sw is compared as written.
    let mac_build = cpe("cpe:2.3:a:zoom:zoom:5.14.0:*:*:*:*:macos:*:*");
    assert!(
        m.match_software_on(&mac_build, &[], Some(TargetOs::Windows))
            .is_empty()
    );
    let win_build = cpe("cpe:2.3:a:zoom:zoom:5.14.0:*:*:*:*:windows:*:*");
    assert_eq!(
        m.match_software_on(&win_build, &[], Some(TargetOs::MacOs))
            .len(),
        2
    );
}

#[test]
fn zoom_criteria_for_every_os_match_each_device_by_its_own_os() {
    // CVE-2023-28597: zoom:zoom below 5.13.5 listed once per target_sw (android,
    // iphone_os, linux_kernel, macos, windows, in that order). Each device matches by the
    // criterion naming its own OS, never by the first one (android) as an unknown
    // target_sw would.
    let recs = nvd_records();
    let m = Matcher::new(&recs);
    let zoom = Cpe::application("zoom", "zoom", "5.13.0");
    for (os, tsw) in [
        (TargetOs::Windows, ":windows:"),
        (TargetOs::MacOs, ":macos:"),
        (TargetOs::Linux, ":linux_kernel:"),
    ] {
        let got = m.match_software_on(&zoom, &platform(os), Some(os));
        let hit = got
            .iter()
            .find(|x| x.cve_id == "CVE-2023-28597")
            .unwrap_or_else(|| panic!("{os:?}: not matched"));
        assert!(
            hit.evidence.criteria.contains(tsw),
            "{os:?}: {}",
            hit.evidence.criteria
        );
    }
    // Fixed in 5.13.5 on every OS.
    let fixed = Cpe::application("zoom", "zoom", "5.13.5");
    for os in ALL_OS {
        let got = m.match_software_on(&fixed, &platform(os), Some(os));
        assert!(got.iter().all(|x| x.cve_id != "CVE-2023-28597"), "{os:?}");
    }
}

#[test]
fn operating_system_names_of_target_sw() {
    for (value, want) in [
        ("windows", Some(Some(TargetOs::Windows))),
        ("Windows", Some(Some(TargetOs::Windows))),
        ("windows_10", Some(Some(TargetOs::Windows))),
        ("macos", Some(Some(TargetOs::MacOs))),
        ("mac_os_x", Some(Some(TargetOs::MacOs))),
        ("linux_kernel", Some(Some(TargetOs::Linux))),
        ("linux", Some(Some(TargetOs::Linux))),
        ("ubuntu_linux", Some(Some(TargetOs::Linux))),
        ("android", Some(None)),
        ("iphone_os", Some(None)),
        ("windows_phone", Some(None)),
        ("node.js", None),
        ("wordpress", None),
        ("vmware_vsphere", None),
    ] {
        assert_eq!(TargetOs::named_by(value), want, "{value}");
    }
    assert_eq!(
        TargetOs::of_platform(&platform(TargetOs::MacOs)),
        Some(TargetOs::MacOs)
    );
    assert_eq!(TargetOs::of_platform(&[]), None);
}

/// Every concrete version a record names for (vendor, product): bounds and exact values.
fn versions_named(recs: &[CveRecord]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for r in recs {
        for c in &r.configurations {
            for n in &c.nodes {
                for cm in n.cpe_match.iter().filter(|cm| cm.vulnerable) {
                    let (Some(v), Some(p)) =
                        (cm.criteria.vendor.value(), cm.criteria.product.value())
                    else {
                        continue;
                    };
                    let mut versions: Vec<&str> =
                        [&cm.version_start_including, &cm.version_end_including]
                            .into_iter()
                            .filter_map(|b| b.as_deref())
                            .collect();
                    if let Some(exact) = cm.criteria.version.value() {
                        versions.push(exact);
                    }
                    for version in versions {
                        out.push((v.to_owned(), p.to_owned(), version.to_owned()));
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn no_match_on_another_os_over_the_shared_nvd_sample() {
    let Some(dir) = shared_data() else { return };
    let path = dir.join("nvd/nvdcve-2.0-sample.json");
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let recs = parse_nvd(&text, "nvdcve-2.0-sample.json").expect("sample parses");
    let m = Matcher::new(&recs);
    let mut inventory: Vec<Cpe> = versions_named(&recs)
        .into_iter()
        .map(|(v, p, version)| Cpe::application(&v, &p, &version))
        .collect();
    // Zoom clients inside every Zoom record's ranges.
    for version in ["5.13.0", "5.14.0", "5.15.0"] {
        inventory.push(Cpe::application("zoom", "zoom", version));
    }
    let mut restricted_matches = 0;
    for os in ALL_OS {
        let on = platform(os);
        for sw in &inventory {
            for hit in m.match_software_on(sw, &on, Some(os)) {
                let criteria = cpe(&hit.evidence.criteria);
                if let Some(tsw) = criteria.target_sw.value()
                    && let Some(named) = TargetOs::named_by(tsw)
                {
                    assert_eq!(
                        named,
                        Some(os),
                        "{sw} on {os:?} matched {} by {}",
                        hit.cve_id,
                        hit.evidence.criteria
                    );
                    restricted_matches += 1;
                }
            }
        }
    }
    // The sample's Windows-only Zoom records do match on Windows.
    assert!(restricted_matches >= 3, "{restricted_matches}");
    let zoom = Cpe::application("zoom", "zoom", "5.14.0");
    let windows =
        ids(&m.match_software_on(&zoom, &platform(TargetOs::Windows), Some(TargetOs::Windows)))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
    for id in ["CVE-2023-39213", "CVE-2023-39216"] {
        assert!(windows.iter().any(|x| x == id), "{id}: {windows:?}");
    }
    for os in [TargetOs::MacOs, TargetOs::Linux] {
        let got = m.match_software_on(&zoom, &platform(os), Some(os));
        assert!(
            got.iter().all(|x| !x.cve_id.starts_with("CVE-2023-392")),
            "{os:?}: {:?}",
            ids(&got)
        );
    }
}
