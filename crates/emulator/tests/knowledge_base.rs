//! The synthetic knowledge base, read with kb's real importers and matcher.

use chrono::{DateTime, TimeZone, Utc};
use emulator::products::{Product, catalogue};
use emulator::{FleetConfig, device_report, platform_cpes, synthetic_feeds};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap()
}

struct Parsed {
    raw: serde_json::Value,
    records: Vec<kb::CveRecord>,
    kev: kb::KevCatalog,
    kev_raw: serde_json::Value,
}

static KB: LazyLock<Parsed> = LazyLock::new(|| {
    let feeds = synthetic_feeds(42, now());
    Parsed {
        raw: serde_json::from_slice(&feeds.nvd).unwrap(),
        records: kb::parse_nvd(&feeds.nvd, "synthetic-nvd.json").unwrap(),
        kev: kb::parse_kev(&feeds.kev, "synthetic-kev.json").unwrap(),
        kev_raw: serde_json::from_slice(&feeds.kev).unwrap(),
    }
});

fn is_synthetic_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 3
        && parts[0] == "CVE"
        && parts[1].len() == 4
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[2].len() == 7
        && parts[2].starts_with('9')
        && parts[2].bytes().all(|b| b.is_ascii_digit())
}

#[test]
fn feeds_are_deterministic() {
    let a = synthetic_feeds(1, now());
    assert_eq!(a, synthetic_feeds(1, now()));
    assert_ne!(a.nvd, synthetic_feeds(2, now()).nvd);
}

#[test]
fn nvd_document_has_the_api_2_0_shape() {
    let raw = &KB.raw;
    let n = KB.records.len();
    assert!(n > 500, "{n}");
    assert_eq!(raw["format"], "NVD_CVE");
    assert_eq!(raw["version"], "2.0");
    assert_eq!(raw["startIndex"], 0);
    assert_eq!(raw["resultsPerPage"], n);
    assert_eq!(raw["totalResults"], n);
    assert!(
        raw["timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20T10:00:00")
    );
    let vulns = raw["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), n);
    for v in vulns {
        let cve = &v["cve"];
        assert_eq!(cve["sourceIdentifier"], "synthetic@posture.invalid");
        assert!(
            cve["descriptions"][0]["value"]
                .as_str()
                .unwrap()
                .starts_with("[SYNTHETIC] ")
        );
        assert_eq!(cve["descriptions"][0]["lang"], "en");
        for m in cve["metrics"]["cvssMetricV31"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(m["type"], "Primary");
            assert_eq!(m["cvssData"]["version"], "3.1");
            assert!(
                m["cvssData"]["vectorString"]
                    .as_str()
                    .unwrap()
                    .starts_with("CVSS:3.1/")
            );
            assert!(m["exploitabilityScore"].is_number() && m["impactScore"].is_number());
        }
        for cm in cve["configurations"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["nodes"].as_array().unwrap())
        {
            for m in cm["cpeMatch"].as_array().unwrap() {
                assert_eq!(m["matchCriteriaId"].as_str().unwrap().len(), 36);
            }
        }
    }
}

#[test]
fn ids_never_collide_with_real_cve_ids() {
    let mut seen = HashSet::new();
    for r in &KB.records {
        assert!(is_synthetic_id(&r.id), "{}", r.id);
        assert!(seen.insert(r.id.clone()), "duplicate {}", r.id);
        assert!(r.description.starts_with("[SYNTHETIC] "));
    }
    // Real ids, from the data shipped beside the project when present, and a few known ones.
    let mut real = vec![
        "CVE-2021-44228".to_owned(),
        "CVE-2023-38831".to_owned(),
        "CVE-2024-0012".to_owned(),
        "CVE-2025-21418".to_owned(),
        "CVE-2019-1010006".to_owned(),
    ];
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");
    for (file, parse) in [
        ("nvd/nvdcve-2.0-sample.json", true),
        ("kev/known_exploited_vulnerabilities.json", false),
    ] {
        if let Ok(bytes) = std::fs::read(format!("{shared}/{file}")) {
            if parse {
                real.extend(
                    kb::parse_nvd(&bytes, file)
                        .unwrap()
                        .into_iter()
                        .map(|r| r.id),
                );
            } else {
                real.extend(
                    kb::parse_kev(&bytes, file)
                        .unwrap()
                        .entries
                        .into_iter()
                        .map(|e| e.cve_id),
                );
            }
        }
    }
    for id in &real {
        assert!(
            !is_synthetic_id(id),
            "real id {id} is in the synthetic range"
        );
        assert!(!seen.contains(id));
    }
}

#[test]
fn records_use_the_shapes_of_real_nvd_data() {
    let recs = &KB.records;
    let matches = || {
        recs.iter()
            .flat_map(|r| &r.configurations)
            .flat_map(|c| &c.nodes)
            .flat_map(|n| &n.cpe_match)
    };
    assert!(
        recs.iter()
            .any(|r| r.cvss.as_ref().is_some_and(|c| c.version == "2.0"))
    );
    assert!(
        recs.iter()
            .filter(|r| r.cvss.as_ref().is_some_and(|c| c.version == "3.1"))
            .count()
            > recs.len() * 9 / 10
    );
    let severities: HashSet<&str> = recs
        .iter()
        .filter_map(|r| r.cvss.as_ref())
        .map(|c| c.severity.as_str())
        .collect();
    assert!(
        severities.is_superset(&HashSet::from(["Medium", "High", "Critical"])),
        "{severities:?}"
    );
    let and_platform = recs
        .iter()
        .flat_map(|r| &r.configurations)
        .filter(|c| c.operator == Some(kb::Operator::And))
        .filter(|c| {
            c.nodes
                .iter()
                .flat_map(|n| &n.cpe_match)
                .any(|m| !m.vulnerable)
        })
        .count();
    assert!(and_platform > 20, "{and_platform}");
    assert!(
        matches()
            .any(|m| !m.vulnerable
                && m.criteria_text == "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*")
    );
    assert!(matches().any(|m| m.version_start_including.is_some()));
    assert!(matches().any(|m| m.version_end_including.is_some()));
    assert!(
        matches()
            .filter(|m| m.version_end_excluding.is_some())
            .count()
            > recs.len() / 2
    );
    assert!(
        matches().any(|m| m.vulnerable && !m.has_range() && m.criteria.version.value().is_some())
    );
    assert!(recs.iter().any(|r| {
        r.configurations
            .iter()
            .flat_map(|c| &c.nodes)
            .any(|n| n.cpe_match.len() > 2)
    }));
    let exploit = recs.iter().filter(|r| r.exploit_referenced).count();
    assert!(
        exploit > recs.len() / 30 && exploit < recs.len() / 3,
        "{exploit}"
    );
    assert!(recs.iter().all(|r| !r.cwes.is_empty()));
    let statuses: HashSet<&str> = recs.iter().map(|r| r.vuln_status.as_str()).collect();
    assert!(statuses.contains("Analyzed") && statuses.contains("Modified"));
    // Every vulnerable criteria names a catalogue product.
    for m in matches().filter(|m| m.vulnerable) {
        let (v, p) = (
            m.criteria.vendor.value().unwrap(),
            m.criteria.product.value().unwrap(),
        );
        assert!(Product::find(v, p).is_some(), "{v} {p}");
    }
}

#[test]
fn kev_catalogue_covers_a_few_percent_of_the_records() {
    let kev = &KB.kev;
    let raw = &KB.kev_raw;
    assert_eq!(raw["count"], kev.entries.len());
    assert_eq!(kev.version, "2026.11.20");
    assert!(
        raw["title"]
            .as_str()
            .unwrap()
            .contains("Known Exploited Vulnerabilities")
    );
    let share = kev.entries.len() as f64 / KB.records.len() as f64;
    assert!((0.01..0.08).contains(&share), "{share}");
    let by_id: HashMap<&str, &kb::CveRecord> =
        KB.records.iter().map(|r| (r.id.as_str(), r)).collect();
    for e in &kev.entries {
        let r = by_id
            .get(e.cve_id.as_str())
            .unwrap_or_else(|| panic!("{} not in NVD", e.cve_id));
        assert_eq!(r.cisa_exploit_add, Some(e.date_added));
        assert!(e.due_date.is_some_and(|d| d > e.date_added));
        assert!(e.date_added <= now().date_naive());
        assert!(e.date_added >= r.published.date());
        assert!(e.date_added >= chrono::NaiveDate::from_ymd_opt(2021, 11, 3).unwrap());
        assert!(!e.vendor_project.is_empty() && !e.product.is_empty());
    }
    for v in raw["vulnerabilities"].as_array().unwrap() {
        assert!(
            v["shortDescription"]
                .as_str()
                .unwrap()
                .starts_with("[SYNTHETIC] ")
        );
        for k in [
            "requiredAction",
            "notes",
            "knownRansomwareCampaignUse",
            "vulnerabilityName",
        ] {
            assert!(v[k].is_string(), "{k}");
        }
        assert!(v["cwes"].is_array());
    }
    assert_eq!(
        KB.records
            .iter()
            .filter(|r| r.cisa_exploit_add.is_some())
            .count(),
        kev.entries.len()
    );
}

fn matcher() -> &'static kb::Matcher {
    static M: LazyLock<kb::Matcher> = LazyLock::new(|| kb::Matcher::new(&KB.records));
    &M
}

#[test]
fn newest_releases_are_fixed_and_old_ones_vulnerable() {
    let windows = [kb::Cpe::parse("cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*").unwrap()];
    let mut vulnerable_products = 0;
    for p in catalogue()
        .iter()
        .filter(|p| p.has_cpe() && p.cve_density > 0.0)
    {
        let releases: Vec<_> = p.releases().collect();
        let cpe = |i: usize| kb::Cpe::parse(releases[i].cpe.as_deref().unwrap()).unwrap();
        let newest_line = p.branches.last().unwrap();
        if newest_line.releases.len() >= 2
            && newest_line.eos.is_none_or(|e| e.date > now().date_naive())
        {
            let newest = matcher().match_software(&cpe(releases.len() - 1), &windows);
            assert!(
                newest.is_empty(),
                "{} {} newest is vulnerable to {:?}",
                p.vendor,
                p.name,
                newest
            );
        }
        let oldest = matcher().match_software(&cpe(0), &windows);
        if !oldest.is_empty() {
            vulnerable_products += 1;
        }
        // Every recommended fix is a real, later release of the product.
        for m in &oldest {
            if let Some(fix) = &m.fixed_version {
                assert!(
                    releases.iter().any(|r| r.version == fix),
                    "{} fix {fix} not a release",
                    p.name
                );
                assert_eq!(
                    kb::compare_versions(releases[0].version, fix),
                    std::cmp::Ordering::Less
                );
            }
        }
    }
    assert!(vulnerable_products > 100, "{vulnerable_products}");
}

#[test]
fn assessing_the_fleet_gives_about_one_hundred_rows_per_device() {
    let cfg = FleetConfig::new(1000, 42, now());
    let m = matcher();
    let mut rows = 0usize;
    let mut clean = 0usize;
    let mut heavy = 0usize;
    for i in 0..cfg.devices {
        let r = device_report(&cfg, i);
        let platform: Vec<kb::Cpe> = platform_cpes(&r)
            .iter()
            .map(|c| kb::Cpe::parse(c).unwrap())
            .collect();
        let n: usize = r
            .software
            .iter()
            .filter_map(|s| s.cpe.as_deref())
            .map(|c| {
                m.match_software(&kb::Cpe::parse(c).unwrap(), &platform)
                    .len()
            })
            .sum();
        rows += n;
        clean += usize::from(n < 30);
        heavy += usize::from(n > 250);
    }
    let avg = rows as f64 / f64::from(cfg.devices);
    println!(
        "{avg:.1} vulnerability rows per device ({} records)",
        KB.records.len()
    );
    assert!((70.0..=130.0).contains(&avg), "{avg}");
    // Hygiene spreads devices: some well patched, some far behind.
    assert!(clean > 10 && heavy > 10, "clean {clean}, heavy {heavy}");
}
