//! Measures PostgreSQL's bulk write path (binary `COPY` for new rows, one array `UPDATE`
//! for changed ones) against row-by-row statements on the same data, on a real server.
//! Ignored by default (it is a measurement, not a check); run it with
//! `cargo test --release -p store --test bulk -- --ignored --nocapture`.

use chrono::Utc;
use model::DeviceReport;
use std::time::Instant;
use store::{KbRecord, PostgresStore, StateStore};

fn report(n: u32, seq: u64) -> DeviceReport {
    let software = (0..40)
        .map(|i| {
            testkit::reports::package(
                "vendor",
                &format!("package-{i}"),
                &format!("1.{}.{seq}", i % 7),
            )
        })
        .collect();
    testkit::reports::linux_report(n, seq, Utc::now(), software)
}

fn timed(what: &str, f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    let s = start.elapsed().as_secs_f64();
    println!("{what}: {s:.3} s");
    s
}

#[test]
#[ignore]
fn copy_against_row_by_row() {
    let Some(cluster) = testkit::postgres::shared() else {
        return;
    };
    const DEVICES: u32 = 20_000;
    const BATCH: usize = 500;
    const RECORDS: usize = 100_000;
    let first: Vec<DeviceReport> = (0..DEVICES).map(|n| report(n, 1)).collect();
    let second: Vec<DeviceReport> = (0..DEVICES).map(|n| report(n, 2)).collect();
    let records: Vec<KbRecord> = (0..RECORDS)
        .map(|i| KbRecord {
            source: "nvd".into(),
            id: format!("CVE-2024-{i:06}"),
            body: format!(
                "{{\"id\":\"CVE-2024-{i:06}\",\"text\":\"{}\"}}",
                "x".repeat(600)
            ),
        })
        .collect();
    let changed: Vec<KbRecord> = records
        .iter()
        .map(|r| KbRecord {
            body: r.body.replace("xxx", "yyy"),
            ..r.clone()
        })
        .collect();
    for (name, rows) in [
        ("COPY / array UPDATE", store::postgres::COPY_MIN_ROWS),
        ("row by row", usize::MAX),
    ] {
        let store = PostgresStore::open(&cluster.fresh_database())
            .unwrap()
            .with_copy_min_rows(rows);
        println!("-- {name}: {DEVICES} devices in batches of {BATCH}, {RECORDS} KB records");
        let insert = timed("  new devices", || {
            for b in first.chunks(BATCH) {
                store.apply_reports(b, Utc::now()).unwrap();
            }
        });
        let update = timed("  re-reported devices", || {
            for b in second.chunks(BATCH) {
                store.apply_reports(b, Utc::now()).unwrap();
            }
        });
        let kb_new = timed("  KB import, new records", || {
            store.kb_import("a", "a", &records).unwrap();
        });
        let kb_changed = timed("  KB import, every record changed", || {
            store.kb_import("b", "b", &changed).unwrap();
        });
        println!(
            "  devices/s: insert {:.0}, update {:.0}; records/s: insert {:.0}, update {:.0}",
            f64::from(DEVICES) / insert,
            f64::from(DEVICES) / update,
            RECORDS as f64 / kb_new,
            RECORDS as f64 / kb_changed
        );
        assert_eq!(store.device_count().unwrap(), u64::from(DEVICES));
    }
}
