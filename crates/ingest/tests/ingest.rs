//! Feed imports and report batches against a real SQLite store.

use chrono::{TimeZone, Utc};
use store::{SqliteStore, StateStore};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("state.db")).unwrap();
    (dir, s)
}

fn feeds() -> fleet::SyntheticFeeds {
    fleet::synthetic_feeds(3, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap())
}

#[test]
fn a_truncated_or_malformed_feed_is_refused_with_its_position_and_changes_nothing() {
    let (_d, s) = store();
    let f = feeds();
    let first = ingest::import_feed(&s, &f.nvd, "nvd.json").unwrap();
    assert!(first.outcome.inserted > 100);
    let version = s.kb_version().unwrap();
    let count = s.kb_records("nvd").unwrap().len();

    let truncated = &f.nvd[..f.nvd.len() / 2];
    let e = ingest::import_feed(&s, truncated, "cut.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.json:"), "{e}");
    // Break the structure (not a string's content): a `:` after a key becomes `;`.
    let mut broken = f.nvd.clone();
    let key = b"\"configurations\"";
    let at = broken.windows(key.len()).rposition(|w| w == key).unwrap() + key.len();
    let colon = at + broken[at..].iter().position(|b| *b == b':').unwrap();
    broken[colon] = b';';
    let e = ingest::import_feed(&s, &broken, "broken.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("broken.json:"), "{e}");
    assert!(
        ingest::import_feed(&s, b"{\"hello\": 1}", "x.json")
            .unwrap_err()
            .to_string()
            .contains("not a recognised feed")
    );

    assert_eq!(s.kb_version().unwrap(), version);
    assert_eq!(s.kb_records("nvd").unwrap().len(), count);
    // Re-importing the same file changes nothing, not even the version.
    let again = ingest::import_feed(&s, &f.nvd, "nvd.json").unwrap();
    assert_eq!((again.outcome.inserted, again.outcome.updated), (0, 0));
    assert_eq!(again.outcome.kb_version, version);
    let kev = ingest::import_feed(&s, &f.kev, "kev.json").unwrap();
    assert!(kev.outcome.inserted > 0);
    let kb = ingest::load_knowledge_base(&s).unwrap();
    assert_eq!(kb.record_count(), count);
}

#[test]
fn real_feed_samples_import_when_the_shared_folder_is_present() {
    let data = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if !data.exists() {
        eprintln!("shared/data not present; skipping");
        return;
    }
    let (_d, s) = store();
    let nvd = ingest::import_feed_file(&s, &data.join("nvd/nvdcve-2.0-sample.json")).unwrap();
    assert_eq!(nvd.outcome.records_in_file, 72);
    let kev = ingest::import_feed_file(&s, &data.join("kev/known_exploited_vulnerabilities.json"))
        .unwrap();
    assert_eq!(kev.outcome.records_in_file, 1404);
    ingest::load_knowledge_base(&s).unwrap();
}

#[test]
fn a_batch_with_one_invalid_report_is_refused_whole() {
    let (_d, s) = store();
    let cfg = fleet::FleetConfig::new(10, 5, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
    let mut batch: Vec<_> = (0..10).map(|i| fleet::device_report(&cfg, i)).collect();
    batch[7].software[0].name = "  ".into();
    let e = ingest::apply_reports(&s, &batch, cfg.now)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("report 7") && e.contains("software[0].name"),
        "{e}"
    );
    assert_eq!(s.device_count().unwrap(), 0);
    batch[7] = fleet::device_report(&cfg, 7);
    ingest::apply_reports(&s, &batch, cfg.now).unwrap();
    assert_eq!(s.device_count().unwrap(), 10);
}
