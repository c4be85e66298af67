//! The resident-page budget: snapshot pages a reader touched leave the process's resident
//! set when the budget is passed, and every row renders the same bytes after. One test in
//! its own binary, so no other test's mappings move the process's `RssFile`.

use snapshot::ExportKind;
use snapshot::resident;

fn render_all(snapshot: &snapshot::Snapshot) -> Vec<u8> {
    let rows = snapshot.rows(ExportKind::Vulnerabilities);
    let mut out = Vec::new();
    for row in 0..rows {
        snapshot.render(ExportKind::Vulnerabilities, row, &mut out);
        out.push(b'\n');
    }
    out
}

#[test]
fn pages_over_the_budget_leave_the_resident_set_and_rows_render_the_same() {
    let Some(before_anything) = resident::file_resident_bytes() else {
        eprintln!("skipped: this kernel does not report RssFile");
        return;
    };
    assert!(before_anything > 0);
    let now = testkit::world::utc(2026, 11, 20, 12);
    let world = testkit::world::seeded(1500, 11, now, 2);
    testkit::world::publish_at(&world.snapshots, now, &snapshot::BuildOptions::default());
    let snapshot = world.snapshots.latest().expect("a snapshot");
    let rows_file = std::fs::metadata(snapshot.dir().join("vulnerabilities.rows"))
        .expect("the vulnerability rows")
        .len();
    assert!(
        rows_file > 1 << 20,
        "a test fleet big enough to see: {rows_file} bytes"
    );

    // No budget: reading leaves the pages resident and nothing is trimmed.
    resident::set_budget(0);
    let rendered = render_all(&snapshot);
    assert!(!resident::trim_if_over_budget());
    let touched = resident::file_resident_bytes().expect("RssFile");

    // A budget below what is resident: one trim drops at least the rows file's pages.
    resident::set_budget(1);
    let trims = resident::trims();
    assert!(resident::trim_if_over_budget());
    assert_eq!(resident::trims(), trims + 1);
    let trimmed = resident::file_resident_bytes().expect("RssFile");
    assert!(
        touched.saturating_sub(trimmed) >= rows_file,
        "resident before the trim {touched}, after {trimmed}, rows file {rows_file}"
    );

    // The pages come back from the page cache: the same bytes, row for row.
    assert_eq!(render_all(&snapshot), rendered);
    resident::set_budget(resident::DEFAULT_BUDGET_BYTES);
}
