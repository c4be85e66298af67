//! Real feed files against a real SQLite store. (The doors' refusals are tested with the
//! emulator's synthetic data in `emulator/tests/doors.rs`, as ingest does not depend on
//! the emulator.)

use store::SqliteStore;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("state.db")).unwrap();
    (dir, s)
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
    snapshot::load_knowledge_base(&s).unwrap();
}
