//! Real feed files against a real SQLite store. (The doors' refusals are tested with the
//! emulator's synthetic data in `emulator/tests/doors.rs`, as ingest does not depend on
//! the emulator.)

use store::SqliteStore;

fn store() -> (tempfile::TempDir, SqliteStore) {
    testkit::world::empty_sqlite()
}

#[test]
fn real_feed_samples_import_when_the_shared_folder_is_present() {
    let Some(data) = testkit::require_shared_data("") else {
        return;
    };
    let (_d, s) = store();
    let nvd = ingest::import_feed_file(&s, &data.join("nvd/nvdcve-2.0-sample.json")).unwrap();
    assert_eq!(nvd.outcome.records_in_file, 72);
    let kev = ingest::import_feed_file(&s, &data.join("kev/known_exploited_vulnerabilities.json"))
        .unwrap();
    assert_eq!(kev.outcome.records_in_file, 1404);
    snapshot::load_knowledge_base(&s).unwrap();
}

const KB_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../kb/tests/fixtures");

#[test]
fn several_files_make_one_kb_version_and_a_bad_one_refuses_them_all() {
    use store::StateStore;
    let (d, s) = store();
    let fixtures = std::path::Path::new(KB_FIXTURES);
    let files = vec![
        fixtures.join("nvd-sample.json"),
        fixtures.join("kev-subset.json"),
        fixtures.join("osv/PYSEC-2023-228.json"),
    ];
    let imported = ingest::import_feed_files(&s, &files).unwrap();
    assert_eq!(imported.kb_version, 1);
    assert_eq!(imported.files.len(), 3);
    assert_eq!(
        imported.inserted,
        imported.files.iter().map(|f| f.records).sum::<usize>()
    );
    // One truncated file among good ones: nothing is stored, the version stays.
    let cut = d.path().join("cut.json");
    std::fs::write(
        &cut,
        br#"{"vulnerabilities":[{"cve":{"id":"CVE-2024-0001","#,
    )
    .unwrap();
    let err = ingest::import_feed_files(&s, &[fixtures.join("osv/DSA-5514-1.json"), cut])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cut.json:1:"), "{err}");
    assert_eq!(s.kb_version().unwrap(), 1);
    assert!(s.kb_records(ingest::SOURCE_OSV).unwrap().len() == 1);

    let summary = ingest::kb_summary(&s).unwrap();
    assert_eq!(summary.osv_ecosystems.get("PyPI"), Some(&1));
    let feeds: Vec<&str> = summary.feeds.iter().map(|f| f.feed.as_str()).collect();
    assert_eq!(feeds, ["kev", "nvd", "osv"]);
    assert!(
        summary
            .feeds
            .iter()
            .all(|f| f.last_import.is_some() && f.last_sync.is_none())
    );
}

#[test]
fn epss_scores_import_from_the_daily_gzip() {
    use std::io::Write;
    use store::StateStore;
    let (_d, s) = store();
    let csv = "#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99973\nCVE-2023-2033,0.51,0.9\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(csv.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let out = ingest::import_feed(&s, &bytes, "epss_scores-2026-12-01.csv.gz").unwrap();
    assert_eq!(
        (out.kind, out.outcome.inserted),
        (ingest::FeedKind::Epss, 2)
    );
    let stored = s.kb_records(ingest::SOURCE_EPSS).unwrap();
    let score: kb::EpssScore = serde_json::from_str(&stored[0].body).unwrap();
    assert_eq!(
        (score.cve_id.as_str(), score.date.as_str()),
        ("CVE-2021-44228", "2026-12-01")
    );
    // A corrupt gzip is refused with the file's name.
    let err = ingest::import_feed(&s, &bytes[..bytes.len() / 2], "cut.csv.gz").unwrap_err();
    assert!(err.to_string().contains("cut.csv.gz"), "{err}");
}
