//! Ingest's doors with the emulator's data: feed imports and report batches against a
//! real SQLite store, and seeding and time travel going through those doors.

use chrono::{Duration, TimeZone, Utc};
use store::{SqliteStore, StateStore};

fn store() -> (tempfile::TempDir, SqliteStore) {
    testkit::world::empty_sqlite()
}

fn feeds() -> emulator::SyntheticFeeds {
    emulator::synthetic_feeds(3, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap())
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
    let kb = snapshot::load_knowledge_base(&s).unwrap();
    assert_eq!(kb.record_count(), count);
}

#[test]
fn a_batch_with_one_invalid_report_is_refused_whole() {
    let (_d, s) = store();
    let cfg =
        emulator::FleetConfig::new(10, 5, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
    let mut batch: Vec<_> = (0..10).map(|i| emulator::device_report(&cfg, i)).collect();
    batch[7].software[0].name = "  ".into();
    let e = ingest::apply_reports(&s, &batch, cfg.now)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("report 7") && e.contains("software[0].name"),
        "{e}"
    );
    assert_eq!(s.device_count().unwrap(), 0);
    batch[7] = emulator::device_report(&cfg, 7);
    ingest::apply_reports(&s, &batch, cfg.now).unwrap();
    assert_eq!(s.device_count().unwrap(), 10);
}

#[test]
fn seeding_writes_the_fleet_its_feeds_and_the_clock_through_the_doors() {
    let (_d, s) = store();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 18, 0, 0, 0).unwrap();
    assert!(emulator::fleet_state(&s).unwrap().is_none());
    // Without a seeded fleet there is nothing to move, and the service's present is the wall clock.
    assert!(matches!(
        emulator::advance_fleet(&s, 6, t0, &|_| {}),
        Err(emulator::EmulatorError::NoFleet)
    ));
    assert_eq!(emulator::service_now(&s, t0).unwrap(), t0);

    let cfg = emulator::FleetConfig::new(12, 5, t0);
    let seeded = emulator::seed_fleet(&s, &cfg, true, None, &|_| {}).unwrap();
    assert_eq!(seeded.devices, 12);
    assert_eq!(seeded.feeds.len(), 2);
    assert_eq!(s.device_count().unwrap(), 12);
    assert!(!s.kb_records(ingest::SOURCE_NVD).unwrap().is_empty());
    assert!(!s.kb_records(ingest::SOURCE_KEV).unwrap().is_empty());
    let state = emulator::fleet_state(&s).unwrap().unwrap();
    assert_eq!(
        state,
        emulator::FleetState {
            seed: 5,
            devices: 12,
            base_now: t0,
            clock: t0,
            step: 0,
        }
    );
}

#[test]
fn time_travel_moves_from_the_later_of_the_emulator_clock_and_the_wall_clock() {
    let (_d, s) = store();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 18, 0, 0, 0).unwrap();
    testkit::world::seed_into(&s, 30, 8, t0);
    let version = s.kb_version().unwrap();

    // A wall clock behind the emulator clock: the emulator clock decides.
    let first = emulator::advance_fleet(&s, 6, t0 - Duration::days(30), &|_| {}).unwrap();
    assert_eq!((first.step, first.now), (1, t0 + Duration::hours(6)));
    assert_eq!(first.reports + first.quiet_devices, 30);
    assert!(first.reports > 0);
    assert!(
        s.kb_version().unwrap() > version,
        "the feed update was imported"
    );
    let state = emulator::fleet_state(&s).unwrap().unwrap();
    assert_eq!((state.step, state.clock), (1, first.now));
    // The reports arrived through the report path, stamped in the emulator's present.
    let ids = s.device_ids().unwrap();
    let newest = s
        .devices(&ids)
        .unwrap()
        .iter()
        .map(|d| d.report.reported_at)
        .max()
        .unwrap();
    assert!(newest > t0 && newest <= first.now, "{newest}");
    assert_eq!(emulator::service_now(&s, t0).unwrap(), first.now);

    // A wall clock ahead of it: the wall clock decides.
    let wall = t0 + Duration::days(10);
    let second = emulator::advance_fleet(&s, 3, wall, &|_| {}).unwrap();
    assert_eq!((second.step, second.now), (2, wall + Duration::hours(3)));
    assert_eq!(emulator::service_now(&s, wall).unwrap(), second.now);
    let later = wall + Duration::days(1);
    assert_eq!(emulator::service_now(&s, later).unwrap(), later);
}
