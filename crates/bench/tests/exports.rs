//! The export benchmark on a small published fleet: every stage that needs no outside
//! tool runs, and its figures agree with the snapshot and with each other.

#[test]
fn export_benchmark_figures_agree_with_the_snapshot() {
    let testkit::world::World {
        dir: data,
        snapshots,
        ..
    } = testkit::world::seeded(40, 7, chrono::Utc::now(), 2);
    testkit::world::publish_at(
        &snapshots,
        chrono::Utc::now(),
        &snapshot::BuildOptions::default(),
    );
    let latest = snapshots.latest().unwrap();

    // Small members, so compression alone runs the pipeline over several of them.
    let options = export::ExportOptions {
        member_bytes: 16 << 10,
        threads: 2,
        ..export::ExportOptions::new("47d41a0c-188d-46d3-bbea-a93dbc0bfcaa")
    };
    let mut bench_options = bench::exports::BenchOptions::new(&data.path().join("work"));
    bench_options.skip_pigz = true;
    bench_options.skip_duckdb = true;
    let figures = bench::exports::run(&latest, &options, 2, &bench_options).unwrap();

    for kind in export::FILE_EXPORTS {
        assert_eq!(
            figures.rows.get(kind.export_name()).copied(),
            Some(latest.rows(kind)),
            "{kind:?}"
        );
    }
    assert_eq!(
        figures.va_rows,
        latest.rows(snapshot::ExportKind::Vulnerabilities)
    );
    assert!(figures.va_rows > 0 && figures.files >= 5);
    assert!(figures.compressed_bytes > 0 && figures.compressed_bytes < figures.uncompressed_bytes);
    assert_eq!(figures.download_bytes, figures.compressed_bytes);
    // Only the skips and the level remark: no row or byte disagreement, no failed download.
    let unexpected: Vec<&String> = figures
        .notes
        .iter()
        .filter(|n| {
            !(n.as_str() == "pigz skipped"
                || n.as_str() == "DuckDB skipped"
                || n.starts_with("DuckDB's COPY uses its own gzip level")
                || n.starts_with("could not reset VmHWM"))
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert!(figures.compress_only_seconds > 0.0 && figures.publish_seconds > 0.0);
    let text = bench::exports::summary(&figures);
    assert!(text.contains("(c) pigz: skipped"), "{text}");
    // The scratch directory is removed unless asked to keep it.
    assert!(!data.path().join("work").exists());
}
