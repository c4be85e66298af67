//! The NVD-sized synthetic knowledge base: determinism, NVD's shape (measured against
//! the real sample), import through the real importer, and bulk records that never
//! change what the fleet is vulnerable to.

use chrono::{DateTime, TimeZone, Utc};
use emulator::products::catalogue;
use emulator::{ScaledKbOptions, scaled_kb_update, write_scaled_kb};
use kb::shape::ShapeStats;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap()
}

fn options(records: usize) -> ScaledKbOptions {
    ScaledKbOptions {
        records,
        seed: 42,
        now: now(),
        page_size: 2000,
    }
}

fn read_all(files: &[std::path::PathBuf]) -> Vec<u8> {
    let mut all = Vec::new();
    for f in files {
        all.extend(std::fs::read(f).unwrap());
    }
    all
}

#[test]
fn the_same_seed_writes_the_same_pages() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = write_scaled_kb(&options(12_000), a.path(), &|_| {}).unwrap();
    let two = write_scaled_kb(&options(12_000), b.path(), &|_| {}).unwrap();
    assert_eq!(one.records, 12_000);
    assert_eq!(one.pages.len(), 6);
    assert_eq!(read_all(&one.files()), read_all(&two.files()));
    let mut other = options(12_000);
    other.seed = 7;
    let c = tempfile::tempdir().unwrap();
    let three = write_scaled_kb(&other, c.path(), &|_| {}).unwrap();
    assert_ne!(read_all(&one.pages), read_all(&three.pages));
}

#[test]
fn pages_carry_nvd_paging_fields_and_unique_synthetic_ids() {
    let dir = tempfile::tempdir().unwrap();
    let kb = write_scaled_kb(&options(9_000), dir.path(), &|_| {}).unwrap();
    let mut ids = std::collections::HashSet::new();
    let mut start = 0;
    for page in &kb.pages {
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(page).unwrap()).unwrap();
        assert_eq!(doc["totalResults"], 9_000);
        assert_eq!(doc["startIndex"], start);
        let items = doc["vulnerabilities"].as_array().unwrap();
        assert_eq!(doc["resultsPerPage"], items.len());
        start += items.len();
        for item in items {
            let cve = &item["cve"];
            let id = cve["id"].as_str().unwrap();
            assert!(id.split('-').nth(2).unwrap().starts_with('9'), "{id}");
            assert!(ids.insert(id.to_owned()), "duplicate {id}");
            let text = cve["descriptions"][0]["value"].as_str().unwrap();
            assert!(text.starts_with("[SYNTHETIC] "), "{text}");
        }
    }
    assert_eq!(start, 9_000);
}

/// The generated knowledge base has NVD's proportions: those of the real sample in the
/// shared data folder when present (within a tolerance: the sample is 72 records chosen
/// for their shapes), and in any case at least 4 criteria per record, so 250,000
/// records carry over 1,000,000 criteria.
#[test]
fn the_shape_follows_the_real_nvd_sample() {
    let dir = tempfile::tempdir().unwrap();
    let generated = write_scaled_kb(&options(30_000), dir.path(), &|_| {}).unwrap();
    let got = generated.proportions;
    eprintln!("generated: {got}");
    assert!(got.criteria_per_record >= 4.0, "{got}");
    assert!(generated.shape.products > 5_000, "{:?}", generated.shape);
    assert!(generated.shape.vendors > 2_000, "{:?}", generated.shape);
    assert!(
        got.and_configurations > 0.05 && got.platform_criteria > 0.01,
        "{got}"
    );
    assert!(generated.shape.start_excluding > 0 && generated.shape.end_including > 0);
    let Some(sample) = testkit::tools::require_shared_data("nvd/nvdcve-2.0-sample.json") else {
        return;
    };
    let records = kb::parse_nvd(&std::fs::read(&sample).unwrap(), "sample").unwrap();
    let real = ShapeStats::of(&records).proportions();
    eprintln!("real sample: {real}");
    let near = |what: &str, a: f64, b: f64, tolerance: f64| {
        assert!(
            (a - b).abs() <= tolerance,
            "{what}: generated {a:.3}, real sample {b:.3}"
        );
    };
    near(
        "criteria per record",
        got.criteria_per_record,
        real.criteria_per_record,
        1.5,
    );
    near("ranges", got.ranges, real.ranges, 0.08);
    near("exact", got.exact, real.exact, 0.08);
    near("any version", got.any_version, real.any_version, 0.04);
    near(
        "AND configurations",
        got.and_configurations,
        real.and_configurations,
        0.06,
    );
    near(
        "platform criteria",
        got.platform_criteria,
        real.platform_criteria,
        0.03,
    );
    near(
        "unconfigured",
        got.unconfigured_records,
        real.unconfigured_records,
        0.06,
    );
    near("endExcluding", got.end_excluding, real.end_excluding, 0.08);
    near(
        "startIncluding",
        got.start_including,
        real.start_including,
        0.08,
    );
}

/// Bulk records name the fleet's products only with versions older than every release
/// the fleet installs: every catalogue release matches the same records against the
/// big knowledge base as against the demo one.
#[test]
fn bulk_records_do_not_change_what_the_fleet_matches() {
    let dir = tempfile::tempdir().unwrap();
    let generated = write_scaled_kb(&options(40_000), dir.path(), &|_| {}).unwrap();
    let mut records = Vec::new();
    for page in &generated.pages {
        records.extend(kb::parse_nvd(&std::fs::read(page).unwrap(), "page").unwrap());
    }
    let demo = generated.demo_records;
    let matcher = kb::Matcher::new(&records);
    let mut fleet_candidates = 0;
    for p in catalogue().iter().filter(|p| p.has_cpe()) {
        for release in p.releases() {
            let cpe = kb::Cpe::parse(release.cpe.as_deref().unwrap()).unwrap();
            fleet_candidates += matcher
                .candidates(p.vendor, p.name)
                .iter()
                .filter(|&&i| i >= demo)
                .count();
            for os in [
                "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*",
                "cpe:2.3:o:apple:macos:14.0:*:*:*:*:*:*:*",
            ] {
                let platform = [kb::Cpe::parse(os).unwrap()];
                for m in matcher.match_software(&cpe, &platform) {
                    assert!(
                        m.record_index < demo,
                        "{} {} matches bulk record {} ({})",
                        p.name,
                        release.version,
                        m.cve_id,
                        m.evidence.range
                    );
                }
            }
        }
    }
    // The fleet's products do get long candidate lists from the bulk history.
    assert!(fleet_candidates > 0);
}

#[test]
fn the_update_page_modifies_the_records_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let generated = write_scaled_kb(&options(6_000), dir.path(), &|_| {}).unwrap();
    let at = now() + chrono::Duration::hours(3);
    let page = scaled_kb_update(&options(6_000), 1_000, at);
    let changed = kb::parse_nvd(&page, "update").unwrap();
    assert_eq!(changed.len(), 1_000);
    let mut before = std::collections::HashMap::new();
    for p in &generated.pages {
        for r in kb::parse_nvd(&std::fs::read(p).unwrap(), "page").unwrap() {
            before.insert(r.id.clone(), r);
        }
    }
    for r in &changed {
        let old = &before[&r.id];
        assert_eq!(r.last_modified, at.naive_utc());
        assert_eq!(r.vuln_status, "Modified");
        assert!(r.description.contains("[UPDATED]"));
        assert_eq!(r.configurations, old.configurations);
    }
}
