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
