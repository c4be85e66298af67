//! Fixture loading.

use std::path::{Path, PathBuf};

use kb::{CveRecord, KevCatalog};

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let p = fixture_path(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", p.display()))
}

pub fn nvd_records() -> Vec<CveRecord> {
    kb::parse_nvd(&fixture("nvd-sample.json"), "nvd-sample.json").expect("fixture parses")
}

pub fn kev_catalog() -> KevCatalog {
    kb::parse_kev(&fixture("kev-subset.json"), "kev-subset.json").expect("fixture parses")
}

pub fn record<'a>(records: &'a [CveRecord], id: &str) -> &'a CveRecord {
    records
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("{id} not in fixture"))
}

/// 1-based (line, byte column) of the byte at `offset`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, offset - start + 1)
}

/// The shared data folder, when this checkout has it.
/// `POSTURE_SHARED_DATA` names it when it is not beside the checkout (a git worktree).
pub fn shared_data() -> Option<PathBuf> {
    testkit::require_shared_data("")
}
