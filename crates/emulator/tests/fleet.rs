//! The generated fleet: determinism, validity and the distributions it promises.

use assess::catalog::Catalog;
use chrono::{DateTime, Duration, TimeZone, Utc};
use emulator::{FleetConfig, GROUPS, device_report, reports};
use model::{DeviceReport, OsKind};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap()
}

/// One 2,000-device sample shared by the distribution tests.
static SAMPLE: LazyLock<Vec<DeviceReport>> =
    LazyLock::new(|| reports(&FleetConfig::new(2000, 42, now())).collect());

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of as f64
}

#[test]
fn same_seed_and_index_give_the_same_report() {
    let cfg = FleetConfig::new(50, 9, now());
    for i in [0, 1, 17, 49, 4_000_000] {
        let a = device_report(&cfg, i);
        let b = device_report(&cfg, i);
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }
    // Parallel generation is the same as one by one, in index order.
    let par: Vec<DeviceReport> = reports(&cfg).collect();
    let seq: Vec<DeviceReport> = (0..cfg.devices).map(|i| device_report(&cfg, i)).collect();
    assert_eq!(par, seq);
    assert_eq!(reports(&cfg).len(), 50);
}

#[test]
fn different_seeds_or_indexes_give_different_devices() {
    let a = FleetConfig::new(10, 1, now());
    let b = FleetConfig::new(10, 2, now());
    for i in 0..10 {
        let (x, y) = (device_report(&a, i), device_report(&b, i));
        assert_ne!(x.device_id, y.device_id);
        assert_ne!(x, y);
    }
    assert_ne!(
        device_report(&a, 0).device_id,
        device_report(&a, 1).device_id
    );
}

#[test]
fn moving_now_moves_times_only() {
    let a = FleetConfig::new(1, 5, now());
    let b = FleetConfig::new(1, 5, now() + Duration::days(3));
    for i in 0..20 {
        let (x, y) = (device_report(&a, i), device_report(&b, i));
        assert_eq!(x.device_id, y.device_id);
        assert_eq!(x.os, y.os);
        assert_eq!(x.settings, y.settings);
        let versions =
            |r: &DeviceReport| r.software.iter().map(|s| s.cpe.clone()).collect::<Vec<_>>();
        assert_eq!(versions(&x), versions(&y));
        assert_eq!(y.reported_at - x.reported_at, Duration::days(3));
    }
}

#[test]
fn every_report_validates_and_round_trips() {
    for r in SAMPLE.iter() {
        r.validate()
            .unwrap_or_else(|e| panic!("{}: {e}", r.device_id));
        let json = serde_json::to_vec(r).unwrap();
        assert_eq!(&DeviceReport::from_json(&json).unwrap(), r);
        assert_eq!(r.sequence, 1);
        assert!(r.reported_at <= now());
    }
}

#[test]
fn identities_are_unique_and_well_formed() {
    let ids: HashSet<_> = SAMPLE.iter().map(|r| r.device_id.clone()).collect();
    assert_eq!(ids.len(), SAMPLE.len());
    let names: Vec<&str> = SAMPLE
        .iter()
        .filter_map(|r| r.device_name.as_deref())
        .collect();
    assert!(names.len() >= SAMPLE.len() * 98 / 100 && names.len() < SAMPLE.len());
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), names.len());
    for n in names {
        let (host, domain) = n.split_once('.').unwrap();
        assert!(
            ["ws-", "srv-", "mac-", "lnx-"]
                .iter()
                .any(|p| host.starts_with(p)),
            "{n}"
        );
        assert!(domain.ends_with(".contoso.com"), "{n}");
        assert_eq!(n, n.to_lowercase());
    }
}

#[test]
fn os_mix_matches_the_model() {
    let n = SAMPLE.len();
    let count = |f: &dyn Fn(&DeviceReport) -> bool| SAMPLE.iter().filter(|r| f(r)).count();
    let workstations = count(&|r| matches!(r.os.platform.as_str(), "Windows10" | "Windows11"));
    let servers = count(&|r| r.os.platform.starts_with("WindowsServer"));
    let macs = count(&|r| r.os.kind == OsKind::Mac);
    let linux = count(&|r| r.os.kind == OsKind::Linux);
    assert_eq!(workstations + servers + macs + linux, n);
    assert!(
        (0.50..0.60).contains(&share(workstations, n)),
        "{workstations}"
    );
    for (what, k) in [("servers", servers), ("macs", macs), ("linux", linux)] {
        assert!((0.12..0.18).contains(&share(k, n)), "{what}: {k}");
    }
    let platforms: HashSet<&str> = SAMPLE.iter().map(|r| r.os.platform.as_str()).collect();
    for p in [
        "Windows10",
        "Windows11",
        "WindowsServer2016",
        "WindowsServer2019",
        "WindowsServer2022",
        "macOS",
        "Linux",
    ] {
        assert!(platforms.contains(p), "{p}");
    }
    for r in SAMPLE.iter() {
        assert_eq!(r.os.distro.is_some(), r.os.kind == OsKind::Linux);
        assert!(matches!(
            r.os.architecture.as_deref(),
            Some("x64" | "arm64" | "x86")
        ));
        if r.os.kind == OsKind::Windows {
            assert!(r.os.version.starts_with("10.0."), "{}", r.os.version);
        }
        // The OS itself is in the inventory, with an `o:` CPE and the same version.
        let os = r
            .software
            .iter()
            .find(|s| {
                s.cpe
                    .as_deref()
                    .is_some_and(|c| c.starts_with("cpe:2.3:o:"))
            })
            .unwrap();
        if r.os.kind != OsKind::Linux {
            assert_eq!(os.version, r.os.version);
        }
    }
    let distros: HashSet<&str> = SAMPLE
        .iter()
        .filter_map(|r| r.os.distro.as_ref())
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(distros, HashSet::from(["ubuntu", "debian", "rhel"]));
    assert!(
        SAMPLE
            .iter()
            .any(|r| r.os.architecture.as_deref() == Some("arm64"))
    );
}

#[test]
fn groups_follow_the_table_and_a_tenth_is_unassigned() {
    let unassigned = SAMPLE.iter().filter(|r| r.group.is_none()).count();
    assert!(
        (0.07..0.13).contains(&share(unassigned, SAMPLE.len())),
        "{unassigned}"
    );
    let mut seen = HashSet::new();
    for g in SAMPLE.iter().filter_map(|r| r.group.as_ref()) {
        assert!(GROUPS.contains(&(g.id, g.name.as_str())), "{g:?}");
        seen.insert(g.id);
    }
    assert_eq!(seen.len(), GROUPS.len());
}

#[test]
fn last_seen_is_recent_with_a_stale_tail() {
    let recent = SAMPLE
        .iter()
        .filter(|r| now() - r.reported_at <= Duration::hours(48))
        .count();
    let stale = SAMPLE
        .iter()
        .filter(|r| now() - r.reported_at > Duration::days(7))
        .count();
    assert!(
        (0.92..0.98).contains(&share(recent, SAMPLE.len())),
        "{recent}"
    );
    assert!(stale > 20, "{stale}");
}

#[test]
fn software_inventory_is_realistic() {
    let mut cpe_counts: HashMap<OsKind, Vec<usize>> = HashMap::new();
    let mut non_cpe_total = 0;
    let mut eos = HashSet::new();
    for r in SAMPLE.iter() {
        let cpe = r.software.iter().filter(|s| s.cpe.is_some()).count();
        let non = r.software.len() - cpe;
        cpe_counts.entry(r.os.kind).or_default().push(cpe);
        non_cpe_total += non;
        for s in &r.software {
            if let Some(cpe) = &s.cpe {
                // MDE naming: vendor and name are the CPE vendor and product.
                let parsed = kb::Cpe::parse(cpe).unwrap();
                assert_eq!(parsed.vendor.value(), Some(s.vendor.as_str()), "{cpe}");
                assert_eq!(parsed.product.value(), Some(s.name.as_str()), "{cpe}");
                assert_eq!(parsed.version.value(), Some(s.version.as_str()), "{cpe}");
            }
            if r.os.kind == OsKind::Windows {
                assert!(
                    s.disk_paths.iter().all(|p| p.starts_with("C:\\")),
                    "{:?}",
                    s.disk_paths
                );
                assert!(
                    s.registry_paths
                        .iter()
                        .all(|p| p.starts_with("HKEY_LOCAL_MACHINE\\"))
                );
            } else {
                assert!(
                    s.disk_paths.iter().all(|p| p.starts_with('/')),
                    "{:?}",
                    s.disk_paths
                );
                assert!(s.registry_paths.is_empty());
            }
            if let Some(e) = &s.end_of_support {
                eos.insert(e.status.clone());
                assert!(e.date.is_some());
            }
        }
        // No product twice at the same version.
        let keys: HashSet<_> = r
            .software
            .iter()
            .map(|s| (&s.vendor, &s.name, &s.version))
            .collect();
        assert_eq!(keys.len(), r.software.len(), "{}", r.device_id);
    }
    let all: Vec<usize> = cpe_counts.values().flatten().copied().collect();
    let mean = all.iter().sum::<usize>() as f64 / all.len() as f64;
    assert!((35.0..70.0).contains(&mean), "mean CPE items {mean}");
    for (kind, counts) in &cpe_counts {
        let m = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
        assert!(m >= 20.0, "{kind:?}: {m}");
    }
    let non_mean = share(non_cpe_total, SAMPLE.len());
    assert!((3.5..15.0).contains(&non_mean), "{non_mean}");
    assert!(
        SAMPLE
            .iter()
            .flat_map(|r| &r.software)
            .any(|s| s.cpe.is_none() && !s.name.is_ascii())
    );
    for status in ["EOS Version", "EOS Software", "Upcoming EOS Version"] {
        assert!(eos.contains(status), "{status} missing from {eos:?}");
    }
}

#[test]
fn versions_skew_recent_with_an_old_tail() {
    // Chrome auto-updates: most installs are among the newest releases, but not all.
    let chrome = emulator::products::Product::find("google", "chrome").unwrap();
    let releases: Vec<&str> = chrome.releases().map(|r| r.version).collect();
    let positions: Vec<usize> = SAMPLE
        .iter()
        .flat_map(|r| &r.software)
        .filter(|s| s.name == "chrome")
        .map(|s| releases.iter().position(|v| *v == s.version).unwrap())
        .collect();
    let newest = positions
        .iter()
        .filter(|&&p| p + 1 == releases.len())
        .count();
    let old = positions
        .iter()
        .filter(|&&p| p + 5 < releases.len())
        .count();
    assert!(
        share(newest, positions.len()) > 0.4,
        "{newest}/{}",
        positions.len()
    );
    assert!(
        old > 0 && share(old, positions.len()) < 0.15,
        "{old}/{}",
        positions.len()
    );
}

#[test]
fn antivirus_states_cover_the_interesting_cases() {
    let n = SAMPLE.len();
    let windows: Vec<&DeviceReport> = SAMPLE
        .iter()
        .filter(|r| r.os.kind == OsKind::Windows)
        .collect();
    assert!(windows.iter().all(|r| r.av.is_some()));
    let unix: Vec<&DeviceReport> = SAMPLE
        .iter()
        .filter(|r| r.os.kind != OsKind::Windows)
        .collect();
    let with_av = unix.iter().filter(|r| r.av.is_some()).count();
    assert!(
        (0.5..0.7).contains(&share(with_av, unix.len())),
        "{with_av}/{}",
        unix.len()
    );

    let avs: Vec<_> = SAMPLE
        .iter()
        .filter_map(|r| r.av.as_ref().map(|a| (r, a)))
        .collect();
    let mode = |m: u8| avs.iter().filter(|(_, a)| a.mode == Some(m)).count();
    assert!(share(mode(0), avs.len()) > 0.8);
    assert!(
        mode(1) > 10 && mode(2) > 5 && mode(4) > 0,
        "{} {} {}",
        mode(1),
        mode(2),
        mode(4)
    );
    let stale = avs
        .iter()
        .filter(|(r, a)| r.reported_at - a.signature_updated_at.unwrap() > Duration::days(7))
        .count();
    assert!((0.04..0.25).contains(&share(stale, avs.len())), "{stale}");
    let failed: Vec<_> = avs
        .iter()
        .filter_map(|(_, a)| a.quick_scan.as_ref())
        .filter(|s| s.status == "Failed")
        .collect();
    assert!(
        !failed.is_empty()
            && failed
                .iter()
                .all(|s| s.error.as_deref().is_some_and(|e| e.starts_with("0x")))
    );
    assert!(avs.iter().any(|(_, a)| {
        a.quick_scan
            .as_ref()
            .is_some_and(|s| s.status == "Canceled")
    }));
    assert!(avs.iter().any(|(_, a)| a.quick_scan.is_none()));
    assert!(avs.iter().any(|(_, a)| {
        a.full_scan
            .as_ref()
            .is_some_and(|s| s.status == "Completed")
    }));
    let engines: HashSet<&str> = avs
        .iter()
        .filter_map(|(_, a)| a.engine_version.as_deref())
        .collect();
    assert!(engines.len() > 3 && engines.contains("1.1.24090.11"));
    let platforms: HashSet<&str> = avs
        .iter()
        .filter_map(|(_, a)| a.platform_version.as_deref())
        .collect();
    assert!(
        platforms.iter().any(|p| p.starts_with("4.18."))
            && platforms.iter().any(|p| p.starts_with("101."))
    );
    for (r, a) in &avs {
        assert!(a.signature_published_at <= a.signature_updated_at);
        for t in [
            a.engine_updated_at,
            a.platform_updated_at,
            a.signature_updated_at,
        ]
        .into_iter()
        .flatten()
        {
            assert!(t <= r.reported_at);
        }
        for s in [&a.quick_scan, &a.full_scan].into_iter().flatten() {
            assert!(s.time <= r.reported_at);
        }
        assert!(
            a.signature_version
                .as_deref()
                .is_some_and(|v| v.starts_with("1.4"))
        );
    }
    assert!(share(avs.len(), n) > 0.75);
}

#[test]
fn defender_state_agrees_with_the_defender_settings() {
    for r in SAMPLE.iter().filter(|r| r.os.kind == OsKind::Windows) {
        let av = r.av.as_ref().unwrap();
        let enabled = r.settings["Defender.AntivirusEnabled"] == "1";
        assert_eq!(
            enabled,
            matches!(av.mode, Some(0) | None),
            "{}",
            r.device_id
        );
        let age_days: i64 = r.settings["Defender.SignatureAgeDays"].parse().unwrap();
        assert_eq!(
            age_days,
            (r.reported_at - av.signature_updated_at.unwrap()).num_days()
        );
    }
}

#[test]
fn windows_devices_carry_information_gathering_facts() {
    for r in SAMPLE.iter() {
        assert!(
            r.facts
                .keys()
                .all(|k| k.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        );
        if r.os.kind == OsKind::Windows {
            for k in [
                "TlsClient12",
                "SchUseStrongCrypto40",
                "Log4JEnvironmentVariableMitigation",
            ] {
                assert!(r.facts.contains_key(k), "{k}");
            }
        }
    }
}

#[test]
fn configuration_compliance_follows_the_catalogue() {
    let catalog = Catalog::embedded().unwrap();
    for kind in [OsKind::Windows, OsKind::Mac, OsKind::Linux] {
        let devices: Vec<&DeviceReport> = SAMPLE.iter().filter(|r| r.os.kind == kind).collect();
        // Per-device compliant counts, to see that compliance clusters by device.
        let mut per_device = vec![0usize; devices.len()];
        let mut expected_var = 0.0;
        for (_, conf) in catalog.for_os(kind) {
            let rate = conf.samples.as_ref().unwrap().compliance_rate;
            let (mut applicable, mut compliant) = (0usize, 0usize);
            for (d, r) in devices.iter().enumerate() {
                let out = conf.evaluate(&r.settings);
                applicable += usize::from(out.applicable);
                compliant += usize::from(out.compliant);
                per_device[d] += usize::from(out.compliant);
            }
            let in_scope = share(applicable, devices.len());
            if conf.applies_when.is_some() {
                assert!(
                    (0.6..0.98).contains(&in_scope),
                    "{} applicable on {in_scope}",
                    conf.id
                );
            } else {
                assert_eq!(applicable, devices.len(), "{}", conf.id);
            }
            let got = share(compliant, applicable);
            let tolerance = 4.0 * (rate * (1.0 - rate) / applicable as f64).sqrt() + 0.02;
            assert!(
                (got - rate).abs() <= tolerance,
                "{} {kind:?}: {got:.3} vs {rate} (±{tolerance:.3})",
                conf.id
            );
            expected_var += rate * (1.0 - rate) * in_scope;
        }
        // Hygiene correlates a device's outcomes: the spread of per-device
        // compliant counts is wider than independent draws would give.
        let mean = per_device.iter().sum::<usize>() as f64 / per_device.len() as f64;
        let var = per_device
            .iter()
            .map(|&c| (c as f64 - mean).powi(2))
            .sum::<f64>()
            / per_device.len() as f64;
        assert!(
            var > 1.15 * expected_var,
            "{kind:?}: variance {var:.2} vs independent {expected_var:.2}"
        );
    }
}

#[test]
#[ignore = "timing; run with --release -- --ignored"]
fn generates_100k_reports_in_a_few_seconds() {
    let cfg = FleetConfig::new(100_000, 1, now());
    let start = std::time::Instant::now();
    let n = reports(&cfg)
        .map(|r| r.software.len())
        .filter(|&n| n > 0)
        .count();
    let took = start.elapsed();
    println!(
        "100,000 reports in {took:?} on {} threads",
        rayon::current_num_threads()
    );
    assert_eq!(n, 100_000);
    if !cfg!(debug_assertions) {
        assert!(took.as_secs_f64() < 10.0, "{took:?}");
    }
}
