//! The software catalogue.

use emulator::products::{DeviceClass, Part, Product, catalogue, cpe_escape};
use std::cmp::Ordering;
use std::collections::HashSet;

#[test]
fn releases_are_in_ascending_version_order() {
    // The synthetic KB's ranges rely on this order agreeing with kb's version order.
    for p in catalogue() {
        let versions: Vec<&str> = p.releases().map(|r| r.version).collect();
        for w in versions.windows(2) {
            assert_eq!(
                kb::compare_versions(w[0], w[1]),
                Ordering::Less,
                "{} {}: {} !< {}",
                p.vendor,
                p.name,
                w[0],
                w[1]
            );
        }
    }
}

#[test]
fn cpes_parse_and_name_the_product() {
    for p in catalogue().iter().filter(|p| p.has_cpe()) {
        for r in p.releases() {
            let text = r.cpe.as_deref().unwrap();
            let cpe = kb::Cpe::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(cpe.vendor.value(), Some(p.vendor));
            assert_eq!(cpe.product.value(), Some(p.name));
            assert_eq!(cpe.version.value(), Some(r.version));
            let part = if p.part == Some(Part::OperatingSystem) {
                "cpe:2.3:o:"
            } else {
                "cpe:2.3:a:"
            };
            assert!(text.starts_with(part), "{text}");
            model::report::check_cpe23(text).unwrap();
        }
        // MDE naming: lower case, no spaces.
        assert_eq!(p.vendor, p.vendor.to_lowercase());
        assert!(
            !p.name.contains(' ') && p.name == p.name.to_lowercase(),
            "{}",
            p.name
        );
    }
    assert_eq!(cpe_escape("notepad++"), "notepad\\+\\+");
    assert_eq!(cpe_escape(".net_framework"), ".net_framework");
}

#[test]
fn the_catalogue_has_the_products_the_brief_names() {
    let want = [
        ("google", "chrome"),
        ("mozilla", "firefox"),
        ("microsoft", "edge_chromium"),
        ("7-zip", "7-zip"),
        ("rarlab", "winrar"),
        ("videolan", "vlc_media_player"),
        ("adobe", "acrobat_reader_dc"),
        ("oracle", "jre"),
        ("oracle", "jdk"),
        ("python", "python"),
        ("git-scm", "git"),
        ("nodejs", "node.js"),
        ("putty", "putty"),
        ("zoom", "zoom"),
        ("openssl", "openssl"),
        ("haxx", "curl"),
        ("haxx", "libcurl"),
        ("notepad-plus-plus", "notepad++"),
        ("wireshark", "wireshark"),
        ("microsoft", "teams"),
        ("microsoft", "office"),
        ("microsoft", ".net_framework"),
        ("microsoft", "visual_studio_code"),
        ("apache", "log4j"),
        ("apache", "tomcat"),
        ("openbsd", "openssh"),
        ("sudo_project", "sudo"),
        ("gnu", "bash"),
        ("apple", "safari"),
        ("microsoft", "windows_10"),
        ("microsoft", "windows_11"),
        ("microsoft", "windows_server_2019"),
        ("microsoft", "windows_server_2022"),
        ("apple", "macos"),
        ("canonical", "ubuntu_linux"),
    ];
    for (v, n) in want {
        let p = Product::find(v, n).unwrap_or_else(|| panic!("{v} {n}"));
        assert!(p.has_cpe());
    }
    let cpe = catalogue().iter().filter(|p| p.has_cpe()).count();
    let non = catalogue().iter().filter(|p| !p.has_cpe()).count();
    assert!(cpe >= 60, "{cpe}");
    assert!(non >= 20, "{non}");
    let keys: HashSet<_> = catalogue().iter().map(|p| (p.vendor, p.name)).collect();
    assert_eq!(keys.len(), catalogue().len(), "duplicate products");
}

#[test]
fn entries_are_coherent() {
    let mut missing = Vec::new();
    for p in catalogue() {
        assert!(!p.title.is_empty());
        assert!(
            p.prevalence.iter().all(|x| (0.0..=1.0).contains(x)),
            "{}",
            p.name
        );
        if p.is_os {
            assert_eq!(p.part, Some(Part::OperatingSystem), "{}", p.name);
        } else {
            assert!(
                p.prevalence.iter().any(|x| *x > 0.0),
                "{} is never installed",
                p.name
            );
        }
        for r in p.releases() {
            assert_eq!(r.cpe.is_some(), p.has_cpe());
            // A product found on a kind of device has a path there.
            for (class, path) in [
                (DeviceClass::Workstation, &r.windows_path),
                (DeviceClass::Server, &r.windows_path),
                (DeviceClass::Mac, &r.mac_path),
                (DeviceClass::Linux, &r.linux_path),
            ] {
                if p.prevalence[class as usize] > 0.0 && path.is_none() {
                    missing.push(format!("{} {} has no path on {class:?}", p.vendor, p.name));
                }
            }
            if let Some(reg) = &r.registry_path {
                assert!(reg.starts_with("HKEY_LOCAL_MACHINE\\SOFTWARE\\"), "{reg}");
            }
            // Every template placeholder was filled.
            for path in [
                &r.windows_path,
                &r.registry_path,
                &r.mac_path,
                &r.linux_path,
            ]
            .into_iter()
            .flatten()
            {
                for token in ["{v}", "{m}", "{mm}", "{vmm}", "{guid}"] {
                    assert!(!path.contains(token), "{path}");
                }
            }
        }
        if !p.has_cpe() {
            assert_eq!(p.cve_density, 0.0);
        }
    }
    missing.dedup();
    assert!(missing.is_empty(), "{missing:#?}");
    assert!(
        catalogue()
            .iter()
            .any(|p| !p.has_cpe() && !p.name.is_ascii())
    );
}

#[test]
fn end_of_support_status_depends_on_the_date() {
    let python = Product::find("python", "python").unwrap();
    let eos = python.branches[0].eos.unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(eos.status(day("2022-01-01")), None);
    assert_eq!(eos.status(day("2024-06-01")), Some("Upcoming EOS Version"));
    assert_eq!(eos.status(day("2024-10-07")), Some("EOS Version"));
    let win10 = Product::find("microsoft", "windows_10").unwrap();
    let eos = win10.branches[0].eos.unwrap();
    assert_eq!(eos.status(day("2025-01-01")), Some("Upcoming EOS Software"));
    assert_eq!(eos.status(day("2026-01-01")), Some("EOS Software"));
}
