//! The store suite: every test runs against SQLite (a temporary file) and against a
//! real PostgreSQL (a fresh database in the test binary's throwaway cluster, see
//! `testkit::postgres`; skipped without PostgreSQL unless POSTURE_REQUIRE_TOOLS=1).
//!
//! Each test is a function of a [`Fixture`]; `suite!` makes an `on_sqlite::NAME` and
//! an `on_postgres::NAME` test of each.

use chrono::{DateTime, Duration, TimeZone, Utc};
use model::{DeviceReport, GroupRef};
use std::sync::Arc;
use store::{
    ApplyOutcome, FeedCommit, Fenced, KbChange, KbFile, KbRecord, ScanError, SnapshotMeta,
    StateStore, StoreError, StoreLocation,
};

/// One store under test: where it lives, and how to reach behind it.
enum Fixture {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Fixture {
    fn sqlite() -> Fixture {
        Fixture::Sqlite(tempfile::tempdir().expect("temporary directory"))
    }

    fn postgres() -> Option<Fixture> {
        testkit::postgres::fresh_database().map(Fixture::Postgres)
    }

    fn location(&self) -> StoreLocation {
        match self {
            Fixture::Sqlite(dir) => StoreLocation::Sqlite(dir.path().join("state.db")),
            Fixture::Postgres(url) => StoreLocation::Postgres(url.clone()),
        }
    }

    /// A new handle on the store, as another process would open it.
    fn open(&self) -> Arc<dyn StateStore> {
        self.location().open().expect("open the store")
    }

    /// Runs SQL behind the store's back (test set-up only).
    fn sql(&self, sql: &str) {
        match self {
            Fixture::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("state.db"))
                .and_then(|c| c.execute_batch(sql))
                .expect("SQLite set-up"),
            Fixture::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .and_then(|mut c| c.batch_execute(sql))
                .expect("PostgreSQL set-up"),
        }
    }

    /// Makes every write of device `id` fail inside the database (a trigger), so a
    /// batch holding it fails part-way.
    fn fail_writes_of(&self, id: &str) {
        match self {
            Fixture::Sqlite(_) => self.sql(&format!(
                "CREATE TRIGGER fail_insert BEFORE INSERT ON devices WHEN NEW.device_id = '{id}'
                   BEGIN SELECT RAISE(ABORT, 'injected failure'); END;
                 CREATE TRIGGER fail_update BEFORE UPDATE ON devices WHEN NEW.device_id = '{id}'
                   BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
            )),
            Fixture::Postgres(_) => self.sql(&format!(
                "CREATE FUNCTION fail_device() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                   IF NEW.device_id = '{id}' THEN RAISE EXCEPTION 'injected failure'; END IF;
                   RETURN NEW;
                 END $$;
                 CREATE TRIGGER fail_device BEFORE INSERT OR UPDATE ON devices
                   FOR EACH ROW EXECUTE FUNCTION fail_device();"
            )),
        }
    }
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { super::$name(&super::Fixture::sqlite()) })*
        }
        mod on_postgres {
            $(#[test] fn $name() {
                let Some(fixture) = super::Fixture::postgres() else { return };
                super::$name(&fixture)
            })*
        }
    };
}

suite!(
    reports_replace_state_keep_first_seen_and_are_idempotent,
    redelivery_within_a_batch_and_older_sequences_change_nothing,
    large_batches_give_the_same_results,
    a_bulk_load_gives_what_reports_give,
    an_interrupted_bulk_load_is_ended_on_open,
    a_failing_batch_writes_nothing,
    device_lookups,
    scan_orders_by_group_then_device,
    scan_sees_one_snapshot_while_writes_continue,
    a_visitor_error_stops_the_scan,
    views_are_the_decoded_states_in_the_same_batches,
    kb_import_is_idempotent,
    kb_commit_is_one_version_for_several_files_and_feeds,
    large_kb_commits_give_the_same_results,
    feed_cursor_and_staging,
    snapshot_registry,
    settings,
    concurrent_writers_in_two_handles_never_fail,
    checkpoint_and_reopen_keep_everything,
    methods_work_from_async_code,
    one_leader_per_role_until_it_lets_go,
);

/// When the tests' reports are received: a fixed time after every report in them, so
/// nothing depends on the calendar.
fn received() -> DateTime<Utc> {
    at("2026-01-10T00:00:00Z")
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("an RFC 3339 time")
}

fn id(n: u32) -> String {
    format!("{n:040x}")
}

fn report(n: u32, seq: u64, time: &str, software: &[(&str, &str)]) -> DeviceReport {
    testkit::reports::linux_report(n, seq, at(time), testkit::reports::packages(software))
}

fn rfc(t: &[DateTime<Utc>]) -> Vec<String> {
    t.iter().map(|t| t.to_rfc3339()).collect()
}

fn reports_replace_state_keep_first_seen_and_are_idempotent(f: &Fixture) {
    let store = f.open();
    let now = received();
    let r1 = report(1, 1, "2026-01-01T00:00:00Z", &[("a", "1"), ("b", "1")]);
    assert_eq!(
        store.apply_reports(std::slice::from_ref(&r1), now).unwrap(),
        [ApplyOutcome::Applied]
    );
    assert_eq!(
        store.apply_reports(&[r1], now).unwrap(),
        [ApplyOutcome::AlreadyApplied]
    );
    let r2 = report(1, 2, "2026-01-02T00:00:00Z", &[("a", "1"), ("b", "2")]);
    store.apply_reports(std::slice::from_ref(&r2), now).unwrap();
    let s = store.device(&id(1)).unwrap().unwrap();
    assert_eq!(
        rfc(&s.software_first_seen),
        ["2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"]
    );
    assert_eq!(s.first_seen, at("2026-01-01T00:00:00Z"));
    assert_eq!(s.report, r2);
    assert_eq!(s.received_at, now);
    assert_eq!(store.device_count().unwrap(), 1);
    assert_eq!(store.apply_reports(&[], now).unwrap(), []);
}

fn redelivery_within_a_batch_and_older_sequences_change_nothing(f: &Fixture) {
    let store = f.open();
    let now = received();
    let batch = [
        report(1, 2, "2026-01-02T00:00:00Z", &[("a", "1")]),
        report(1, 1, "2026-01-01T00:00:00Z", &[("a", "0")]),
        report(2, 5, "2026-01-05T00:00:00Z", &[]),
        report(1, 3, "2026-01-03T00:00:00Z", &[("a", "1"), ("b", "1")]),
        report(1, 3, "2026-01-04T00:00:00Z", &[]),
    ];
    use ApplyOutcome::{AlreadyApplied as Old, Applied as New};
    assert_eq!(
        store.apply_reports(&batch, now).unwrap(),
        [New, Old, New, New, Old]
    );
    let s = store.device(&id(1)).unwrap().unwrap();
    assert_eq!(s.report.sequence, 3);
    assert_eq!(s.first_seen, at("2026-01-02T00:00:00Z"));
    assert_eq!(
        rfc(&s.software_first_seen),
        ["2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"]
    );
    // The whole batch again: nothing changes.
    assert_eq!(
        store
            .apply_reports(&batch, now + Duration::hours(1))
            .unwrap(),
        [Old; 5]
    );
    assert_eq!(store.device(&id(1)).unwrap().unwrap(), s);
    assert_eq!(store.device_count().unwrap(), 2);
}

/// Batches large enough for PostgreSQL's bulk path (COPY for new devices, one array
/// UPDATE for known ones) merge exactly as small ones do.
fn large_batches_give_the_same_results(f: &Fixture) {
    let store = f.open();
    let now = received();
    let first: Vec<DeviceReport> = (0..400)
        .map(|n| report(n, 10, "2026-01-01T00:00:00Z", &[("a", "1")]))
        .collect();
    assert!(
        store
            .apply_reports(&first, now)
            .unwrap()
            .iter()
            .all(|o| *o == ApplyOutcome::Applied)
    );
    // 300 known devices move on, 100 re-deliver, 100 are new.
    let mut second: Vec<DeviceReport> = (0..300)
        .map(|n| report(n, 11, "2026-01-02T00:00:00Z", &[("a", "1"), ("b", "2")]))
        .collect();
    second.extend((300..400).map(|n| report(n, 10, "2026-01-02T00:00:00Z", &[])));
    second.extend((400..500).map(|n| report(n, 1, "2026-01-02T00:00:00Z", &[("c", "3")])));
    let outcomes = store.apply_reports(&second, now).unwrap();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == ApplyOutcome::Applied)
            .count(),
        400
    );
    assert!(
        outcomes[300..400]
            .iter()
            .all(|o| *o == ApplyOutcome::AlreadyApplied)
    );
    assert_eq!(store.device_count().unwrap(), 500);
    let moved = store.device(&id(5)).unwrap().unwrap();
    assert_eq!(moved.report.sequence, 11);
    assert_eq!(
        rfc(&moved.software_first_seen),
        ["2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"]
    );
    assert_eq!(moved.first_seen, at("2026-01-01T00:00:00Z"));
    let kept = store.device(&id(350)).unwrap().unwrap();
    assert_eq!(kept.report.software.len(), 1);
    let fresh = store.device(&id(450)).unwrap().unwrap();
    assert_eq!(fresh.first_seen, at("2026-01-02T00:00:00Z"));
}

fn in_group(mut r: DeviceReport, id: u32) -> DeviceReport {
    r.group = Some(GroupRef {
        id,
        name: format!("G{id}"),
    });
    r
}

/// A bulk load (the seed's door; each store sets its device id index aside) ends with the
/// devices the same reports give through the ordinary path, whatever their order, and
/// the store takes reports as ever afterwards. A device that moves group during the load
/// keeps its latest report; one whose move is its first report in a batch starts
/// afresh (its first-seen times are that report's: the load looks it up under its new
/// group only).
fn a_bulk_load_gives_what_reports_give(f: &Fixture) {
    let t1 = "2026-01-01T00:00:00Z";
    let t2 = "2026-01-02T00:00:00Z";
    let batches: Vec<Vec<DeviceReport>> = vec![
        // In key order, as a seed writes.
        (0..20).map(|n| report(n, 1, t1, &[("a", "1")])).collect(),
        vec![
            report(25, 1, t1, &[]),
            // A device written already moves on (looked up), then is redelivered.
            report(3, 2, t2, &[("a", "1"), ("b", "2")]),
            report(3, 1, t1, &[]),
            // New, behind the highest key written so far (looked up, not found).
            report(21, 1, t1, &[("c", "1")]),
            in_group(report(30, 1, t1, &[]), 9),
            // Device 5 moves to group 9.
            in_group(report(5, 3, t2, &[("a", "1")]), 9),
        ],
        vec![report(22, 1, t1, &[]), report(3, 3, t2, &[("b", "2")])],
        // Device 6, written already, moves to group 9 within one batch.
        vec![
            report(6, 2, t2, &[("a", "1")]),
            in_group(report(6, 3, t2, &[("a", "1")]), 9),
        ],
    ];
    let reference = Fixture::sqlite();
    let plain = reference.open();
    let store = f.open();
    assert!(
        store.begin_bulk_load().unwrap(),
        "an empty store sets work aside"
    );
    for batch in &batches {
        assert_eq!(
            store.apply_reports(batch, received()).unwrap(),
            plain.apply_reports(batch, received()).unwrap()
        );
    }
    store.end_bulk_load().unwrap();
    let ids = plain.device_ids().unwrap();
    assert_eq!(store.device_ids().unwrap(), ids);
    for i in ids.iter().filter(|i| **i != id(5)) {
        assert_eq!(store.device(i).unwrap(), plain.device(i).unwrap(), "{i}");
    }
    let six = store.device(&id(6)).unwrap().unwrap();
    assert_eq!(
        (six.report.group.map(|g| g.id), six.report.sequence),
        (Some(9), 3)
    );
    let moved = store.device(&id(5)).unwrap().unwrap();
    assert_eq!(moved.report.group.map(|g| g.id), Some(9));
    assert_eq!(moved.report.sequence, 3);
    assert_eq!(moved.first_seen, at(t2));
    // Reports as ever afterwards, found by device id whatever their group.
    let next = [in_group(report(5, 4, t2, &[]), 7), report(3, 4, t2, &[])];
    use ApplyOutcome::Applied;
    assert_eq!(
        store.apply_reports(&next, received()).unwrap(),
        [Applied; 2]
    );
    assert_eq!(store.device_count().unwrap(), ids.len() as u64);
    let back = store.device(&id(5)).unwrap().unwrap();
    assert_eq!(back.report.group.map(|g| g.id), Some(7));
    assert_eq!(back.first_seen, moved.first_seen);
    // A store holding devices is not bulk loaded.
    assert!(!store.begin_bulk_load().unwrap());
}

/// A bulk load whose process dies before it ends is ended by the next open: the store
/// finds devices by id again and takes reports as ever.
fn an_interrupted_bulk_load_is_ended_on_open(f: &Fixture) {
    let t1 = "2026-01-01T00:00:00Z";
    let store = f.open();
    store.begin_bulk_load().unwrap();
    let first: Vec<DeviceReport> = (0..10).map(|n| report(n, 1, t1, &[("a", "1")])).collect();
    store.apply_reports(&first, received()).unwrap();
    drop(store);
    let store = f.open();
    let again = [report(4, 1, t1, &[]), report(4, 2, t1, &[])];
    use ApplyOutcome::{AlreadyApplied as Old, Applied as New};
    assert_eq!(store.apply_reports(&again, received()).unwrap(), [Old, New]);
    assert_eq!(store.device_count().unwrap(), 10);
    assert_eq!(store.device(&id(4)).unwrap().unwrap().report.sequence, 2);
    let indexed: bool = match f {
        Fixture::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("state.db"))
            .and_then(|c| {
                c.query_row(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'devices_by_id')",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap(),
        Fixture::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
            .and_then(|mut c| {
                c.query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'devices_pkey')",
                    &[],
                )
            })
            .unwrap()
            .get(0),
    };
    assert!(indexed, "the device id index is back");
}

fn a_failing_batch_writes_nothing(f: &Fixture) {
    let store = f.open();
    let now = received();
    store
        .apply_reports(&[report(1, 1, "2026-01-01T00:00:00Z", &[("a", "1")])], now)
        .unwrap();
    let before = store.device(&id(1)).unwrap().unwrap();
    f.fail_writes_of(&id(99));
    // Small (row by row) and large (bulk) batches, the failing device last.
    for size in [3u32, 300] {
        let mut batch: Vec<DeviceReport> = (1..size)
            .map(|n| report(n, 2, "2026-01-02T00:00:00Z", &[("b", "2")]))
            .collect();
        batch.push(report(99, 1, "2026-01-02T00:00:00Z", &[]));
        let err = store.apply_reports(&batch, now).unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
        assert!(!err.is_busy());
        assert_eq!(store.device_count().unwrap(), 1, "batch of {size}");
        assert_eq!(store.device(&id(1)).unwrap().unwrap(), before);
    }
    // The store still works after a failed batch.
    store
        .apply_reports(&[report(2, 1, "2026-01-01T00:00:00Z", &[])], now)
        .unwrap();
    assert_eq!(store.device_count().unwrap(), 2);
}

fn device_lookups(f: &Fixture) {
    let store = f.open();
    assert_eq!(store.device(&id(1)).unwrap(), None);
    assert_eq!(store.device_count().unwrap(), 0);
    assert!(store.device_ids().unwrap().is_empty());
    let batch: Vec<DeviceReport> = [3, 1, 2]
        .into_iter()
        .map(|n| report(n, 1, "2026-01-01T00:00:00Z", &[]))
        .collect();
    store.apply_reports(&batch, received()).unwrap();
    assert_eq!(store.device_ids().unwrap(), [id(1), id(2), id(3)]);
    let got: Vec<String> = store
        .devices(&[id(3), id(9), id(1)])
        .unwrap()
        .into_iter()
        .map(|s| s.report.device_id.to_string())
        .collect();
    assert_eq!(got, [id(3), id(1)], "in the order asked, missing skipped");
    assert!(store.devices(&[]).unwrap().is_empty());
}

fn scan_orders_by_group_then_device(f: &Fixture) {
    let store = f.open();
    let mut reports = Vec::new();
    for (n, g) in [(3u32, 9u32), (1, 2), (2, 9), (4, 0)] {
        let mut r = report(n, 1, "2026-01-01T00:00:00Z", &[]);
        r.group = (g != 0).then(|| GroupRef {
            id: g,
            name: format!("g{g}"),
        });
        reports.push(r);
    }
    store.apply_reports(&reports, received()).unwrap();
    let mut seen = Vec::new();
    let mut batches = Vec::new();
    store
        .scan_devices(3, &mut |batch| {
            batches.push(batch.len());
            seen.extend(batch.into_iter().map(|s| s.report.device_id.to_string()));
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, [id(4), id(1), id(2), id(3)]);
    assert_eq!(batches, [3, 1]);
    assert_eq!(store.device_ids().unwrap(), seen);
}

fn scan_sees_one_snapshot_while_writes_continue(f: &Fixture) {
    let store = f.open();
    let writer = f.open();
    let now = received();
    let first: Vec<DeviceReport> = (0..200)
        .map(|n| report(n, 1, "2026-01-01T00:00:00Z", &[]))
        .collect();
    store.apply_reports(&first, now).unwrap();
    let mut seen = 0;
    let mut visits = 0;
    store
        .scan_devices(16, &mut |batch| {
            visits += 1;
            for s in &batch {
                assert_eq!(s.report.sequence, 1, "a write after the scan began is seen");
            }
            seen += batch.len();
            // Every device moves on and new ones arrive, in small batches, mid-scan.
            if visits <= 4 {
                let moved: Vec<DeviceReport> = (0..250)
                    .map(|n| report(n, 1 + visits, "2026-01-02T00:00:00Z", &[]))
                    .collect();
                for chunk in moved.chunks(50) {
                    writer.apply_reports(chunk, now).unwrap();
                }
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, 200);
    assert_eq!(store.device_count().unwrap(), 250);
    assert_eq!(store.device(&id(0)).unwrap().unwrap().report.sequence, 5);
}

fn a_visitor_error_stops_the_scan(f: &Fixture) {
    let store = f.open();
    let batch: Vec<DeviceReport> = (0..10)
        .map(|n| report(n, 1, "2026-01-01T00:00:00Z", &[]))
        .collect();
    store.apply_reports(&batch, received()).unwrap();
    let mut visits = 0;
    let err = store
        .scan_devices(2, &mut |_| {
            visits += 1;
            Err("enough".into())
        })
        .unwrap_err();
    assert!(matches!(err, ScanError::Visitor(_)), "{err}");
    assert_eq!(visits, 1);
    // And the store is usable afterwards (the scan's transaction was ended).
    store.apply_reports(&batch, received()).unwrap();
    let mut n = 0;
    store
        .scan_devices(4, &mut |b| {
            n += b.len();
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 10);
}

/// A publish reads views ([`StateStore::scan_views`]); every other reader owned states.
/// Both must see the same devices, in the same order and batches.
fn views_are_the_decoded_states_in_the_same_batches(f: &Fixture) {
    let store = f.open();
    let reports: Vec<DeviceReport> = (0..300)
        .map(|n| {
            let mut r = report(
                n,
                1,
                "2026-01-01T00:00:00Z",
                &[("openssl", "3.0.11-1"), ("bash", &format!("5.2.{n}"))],
            );
            r.group = Some(GroupRef {
                id: n % 7,
                name: format!("group {}", n % 7),
            });
            r.settings.insert(format!("setting.{}", n % 5), "1".into());
            r.settings
                .insert("Firewall.Enabled".into(), format!("{}", n % 2));
            r
        })
        .collect();
    store.apply_reports(&reports, received()).unwrap();
    let mut owned = Vec::new();
    store
        .scan_devices(64, &mut |batch| {
            owned.push(batch);
            Ok(())
        })
        .unwrap();
    let mut viewed = Vec::new();
    store
        .scan_views(64, &mut |batch| {
            let states: Result<Vec<_>, _> = batch.into_iter().map(|v| v.into_state()).collect();
            viewed.push(states?);
            Ok(())
        })
        .unwrap();
    assert_eq!(owned.iter().map(Vec::len).sum::<usize>(), 300);
    assert_eq!(viewed, owned);
    let mut visits = 0;
    let err = store
        .scan_views(64, &mut |_| {
            visits += 1;
            Err("enough".into())
        })
        .unwrap_err();
    assert!(matches!(err, ScanError::Visitor(_)), "{err}");
    assert_eq!(visits, 1);
}

fn kb(source: &str, id: &str, body: &str) -> KbRecord {
    KbRecord {
        source: source.into(),
        id: id.into(),
        body: body.into(),
    }
}

fn kb_import_is_idempotent(f: &Fixture) {
    let store = f.open();
    assert_eq!(store.kb_version().unwrap(), 0);
    let recs = vec![kb("nvd", "CVE-1", "{}"), kb("nvd", "CVE-2", "{\"a\":1}")];
    let a = store.kb_import("d1", "f.json", &recs).unwrap();
    assert_eq!((a.inserted, a.kb_version, a.records_in_file), (2, 1, 2));
    assert_eq!(a.file_digest, "d1");
    let b = store.kb_import("d1", "f.json", &recs).unwrap();
    assert_eq!(
        (b.inserted, b.updated, b.unchanged, b.kb_version),
        (0, 0, 2, 1)
    );
    let mut changed = recs.clone();
    changed[1].body = "{\"a\":2}".into();
    let c = store.kb_import("d2", "f.json", &changed).unwrap();
    assert_eq!((c.updated, c.unchanged, c.kb_version), (1, 1, 2));
    assert_eq!(store.kb_records("nvd").unwrap(), changed);
    assert_eq!(store.kb_version().unwrap(), 2);
}

fn kb_commit_is_one_version_for_several_files_and_feeds(f: &Fixture) {
    let store = f.open();
    store.stage_feed_part("nvd", 0, b"page 0").unwrap();
    store.stage_feed_part("osv", 0, b"osv page").unwrap();
    store.put_feed_cursor("nvd", "{\"old\":true}").unwrap();
    let synced = at("2026-02-01T10:00:00.123456789Z");
    let change = KbChange {
        files: vec![
            KbFile {
                digest: "f1".into(),
                name: "nvd-2025.json".into(),
                records: 2,
            },
            KbFile {
                digest: "f2".into(),
                name: "kev.json".into(),
                records: 3,
            },
        ],
        records: vec![
            kb("nvd", "CVE-2", "two"),
            kb("nvd", "CVE-1", "one"),
            kb("kev", "CVE-1", "kev one"),
            // The same record again in a later file: first inserted, then updated...
            kb("nvd", "CVE-2", "two, modified"),
            // ... and repeated unchanged.
            kb("nvd", "CVE-2", "two, modified"),
        ],
        feeds: vec![
            FeedCommit {
                feed: "nvd".into(),
                cursor: Some("{\"new\":true}".into()),
                synced_at: Some(synced),
                imported_at: None,
            },
            FeedCommit {
                feed: "kev".into(),
                cursor: None,
                synced_at: None,
                imported_at: Some(synced),
            },
        ],
    };
    let out = store.kb_commit(&change).unwrap();
    assert_eq!(
        (out.inserted, out.updated, out.unchanged, out.kb_version),
        (3, 1, 1, 1)
    );
    assert_eq!(out.file_digest, "f1,f2");
    assert_eq!(out.records_in_file, 5);
    assert_eq!(store.kb_version().unwrap(), 1);
    assert_eq!(
        store.kb_records("nvd").unwrap(),
        [
            kb("nvd", "CVE-1", "one"),
            kb("nvd", "CVE-2", "two, modified")
        ]
    );
    assert_eq!(
        store.kb_source_counts().unwrap(),
        [("kev".to_owned(), 1), ("nvd".to_owned(), 2)]
    );
    let feeds = store.feed_states().unwrap();
    assert_eq!(feeds.len(), 2);
    assert_eq!(
        (feeds[0].feed.as_str(), feeds[0].records),
        ("kev", 1),
        "{feeds:?}"
    );
    assert_eq!(feeds[0].last_import, Some(synced));
    assert_eq!(feeds[0].last_sync, None);
    assert_eq!(feeds[1].feed, "nvd");
    assert_eq!(feeds[1].cursor.as_deref(), Some("{\"new\":true}"));
    assert_eq!(feeds[1].last_sync, Some(synced), "nanoseconds kept");
    assert_eq!(feeds[1].records, 2);
    // The committed feeds' staging is cleared, another feed's is not.
    assert!(store.staged_feed_parts("nvd").unwrap().is_empty());
    assert_eq!(store.staged_feed_parts("osv").unwrap().len(), 1);
    // The same records again change nothing, not even the version; a cursor-less
    // commit keeps the stored cursor.
    let mut again = change.clone();
    again.feeds[0].cursor = None;
    again.records.drain(..1);
    let out = store.kb_commit(&again).unwrap();
    assert_eq!(
        (out.inserted, out.updated, out.unchanged, out.kb_version),
        (0, 0, 4, 1)
    );
    assert_eq!(
        store.feed_states().unwrap()[1].cursor.as_deref(),
        Some("{\"new\":true}")
    );
    // A change that only records a sync (no records) keeps the version too.
    let sync_only = KbChange {
        feeds: vec![FeedCommit {
            feed: "epss".into(),
            cursor: None,
            synced_at: Some(synced),
            imported_at: None,
        }],
        ..KbChange::default()
    };
    assert_eq!(store.kb_commit(&sync_only).unwrap().kb_version, 1);
    assert_eq!(store.feed_states().unwrap().len(), 3);
}

/// Commits large enough for PostgreSQL's bulk path count and store exactly as small ones.
fn large_kb_commits_give_the_same_results(f: &Fixture) {
    let store = f.open();
    let records: Vec<KbRecord> = (0..500)
        .map(|i| kb("osv", &format!("GHSA-{i:05}"), &format!("{{\"v\":{i}}}")))
        .collect();
    let a = store.kb_import("big1", "osv.zip", &records).unwrap();
    assert_eq!(
        (a.inserted, a.updated, a.unchanged, a.kb_version),
        (500, 0, 0, 1)
    );
    // 200 change, 300 stay, 100 are new; one record's body has non-ASCII text.
    let mut next: Vec<KbRecord> = records.clone();
    for r in next.iter_mut().take(200) {
        r.body = format!("{} — geändert", r.body);
    }
    next.extend((500..600).map(|i| kb("osv", &format!("GHSA-{i:05}"), "{}")));
    let b = store.kb_import("big2", "osv.zip", &next).unwrap();
    assert_eq!(
        (b.inserted, b.updated, b.unchanged, b.kb_version),
        (100, 200, 300, 2)
    );
    let stored = store.kb_records("osv").unwrap();
    assert_eq!(stored.len(), 600);
    assert_eq!(stored[7].body, "{\"v\":7} — geändert");
    assert_eq!(stored[300].body, "{\"v\":300}");
    let c = store.kb_import("big2", "osv.zip", &next).unwrap();
    assert_eq!((c.unchanged, c.kb_version), (600, 2));
}

fn feed_cursor_and_staging(f: &Fixture) {
    let store = f.open();
    assert!(store.feed_states().unwrap().is_empty());
    store.put_feed_cursor("nvd", "{\"start\":0}").unwrap();
    store.put_feed_cursor("nvd", "{\"start\":2000}").unwrap();
    let states = store.feed_states().unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].cursor.as_deref(), Some("{\"start\":2000}"));
    assert_eq!(
        (
            states[0].last_sync,
            states[0].last_import,
            states[0].records
        ),
        (None, None, 0)
    );
    for part in [2u64, 0, 1] {
        store
            .stage_feed_part("nvd", part, format!("part {part}").as_bytes())
            .unwrap();
    }
    store.stage_feed_part("nvd", 1, b"part 1, again").unwrap();
    store.stage_feed_part("kev", 0, &[0, 255, 1]).unwrap();
    assert_eq!(
        store.staged_feed_parts("nvd").unwrap(),
        [
            (0, b"part 0".to_vec()),
            (1, b"part 1, again".to_vec()),
            (2, b"part 2".to_vec())
        ]
    );
    store.clear_feed_staging("nvd").unwrap();
    assert!(store.staged_feed_parts("nvd").unwrap().is_empty());
    assert_eq!(
        store.staged_feed_parts("kev").unwrap(),
        [(0, vec![0, 255, 1])]
    );
    // The cursor outlives its staging.
    assert_eq!(
        store.feed_states().unwrap()[0].cursor.as_deref(),
        Some("{\"start\":2000}")
    );
}

fn snapshot_registry(f: &Fixture) {
    let store = f.open();
    let meta = |seq: u64, hour: u32| SnapshotMeta {
        seq,
        time_path: format!("2026-03-01/{hour:02}00/"),
        generated_at: Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap()
            + Duration::nanoseconds(123_456_789),
        dir: format!("snap-{seq}"),
        kb_version: seq * 10,
        devices: 1000 + seq,
    };
    assert!(store.snapshots().unwrap().is_empty());
    store.register_snapshot(&meta(2, 2)).unwrap();
    store.register_snapshot(&meta(1, 1)).unwrap();
    assert_eq!(store.snapshots().unwrap(), [meta(1, 1), meta(2, 2)]);
    assert!(store.register_snapshot(&meta(2, 3)).is_err(), "same seq");
    let mut same_path = meta(3, 3);
    same_path.time_path = meta(1, 1).time_path;
    assert!(
        store.register_snapshot(&same_path).is_err(),
        "same time path"
    );
    store.unregister_snapshot(1).unwrap();
    store.unregister_snapshot(42).unwrap();
    assert_eq!(store.snapshots().unwrap(), [meta(2, 2)]);
}

fn settings(f: &Fixture) {
    let store = f.open();
    assert_eq!(store.get_setting("a").unwrap(), None);
    store.put_setting("a", "1").unwrap();
    store.put_setting("a", "2").unwrap();
    assert_eq!(store.get_setting("a").unwrap().as_deref(), Some("2"));
    for k in ["key_a.1", "keyXa.2", "key%a", "key_a.0", "kez"] {
        store.put_setting(k, k).unwrap();
    }
    let keys: Vec<String> = store
        .settings_with_prefix("key_a")
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            assert_eq!(k, v);
            k
        })
        .collect();
    assert_eq!(keys, ["key_a.0", "key_a.1"], "_ and % are literal");
    assert_eq!(store.settings_with_prefix("key%").unwrap().len(), 1);
    assert_eq!(store.settings_with_prefix("").unwrap().len(), 6);
    assert!(store.delete_setting("a").unwrap());
    assert!(!store.delete_setting("a").unwrap());
    assert_eq!(store.get_setting("a").unwrap(), None);
}

/// Two handles writing the same store (the server's ingest, `kb import`, `advance` in
/// other processes) wait for each other instead of failing.
fn concurrent_writers_in_two_handles_never_fail(f: &Fixture) {
    let ingest = f.open();
    let importer = f.open();
    let writer = {
        let ingest = ingest.clone();
        std::thread::spawn(move || {
            for seq in 1..=100u64 {
                let r = report((seq % 7) as u32, seq, "2026-01-01T00:00:00Z", &[("a", "1")]);
                ingest.apply_reports(&[r], received()).unwrap();
            }
        })
    };
    for i in 0..100 {
        let recs = vec![kb(
            "nvd",
            &format!("CVE-{}", i % 5),
            &format!("{{\"v\":{i}}}"),
        )];
        importer
            .kb_import(&format!("d{i}"), "f.json", &recs)
            .unwrap();
        importer.put_setting("progress", &i.to_string()).unwrap();
    }
    writer.join().unwrap();
    assert_eq!(ingest.device_count().unwrap(), 7);
    assert_eq!(importer.kb_version().unwrap(), 100);
}

fn checkpoint_and_reopen_keep_everything(f: &Fixture) {
    let store = f.open();
    let batch: Vec<DeviceReport> = (0..50)
        .map(|n| report(n, 1, "2026-01-01T00:00:00Z", &[("a", "1")]))
        .collect();
    store.apply_reports(&batch, received()).unwrap();
    store
        .kb_import("d", "f", &[kb("nvd", "CVE-1", "x")])
        .unwrap();
    store.put_setting("k", "v").unwrap();
    store.checkpoint().unwrap();
    drop(store);
    let again = f.open();
    assert_eq!(again.device_count().unwrap(), 50);
    assert_eq!(again.kb_version().unwrap(), 1);
    assert_eq!(again.get_setting("k").unwrap().as_deref(), Some("v"));
}

// ---- PostgreSQL only: what SQLite has no counterpart of ----

#[test]
fn postgres_migrations_apply_once_and_a_newer_database_is_refused() {
    let Some(f) = Fixture::postgres() else { return };
    let Fixture::Postgres(url) = &f else {
        unreachable!()
    };
    f.open();
    f.open();
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let versions: Vec<i64> = c
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    let expected: Vec<i64> = (1..=store::PostgresStore::schema_version()).collect();
    assert_eq!(versions, expected);
    c.execute("INSERT INTO schema_migrations (version) VALUES (9999)", &[])
        .unwrap();
    let err = store::PostgresStore::open(url).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 9999, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("schema version 9999"), "{err}");
}

/// A writer that cannot get its lock within `lock_timeout` fails with an error the
/// ingest API answers 503 to (`is_busy`).
#[test]
fn postgres_lock_timeouts_are_busy() {
    let Some(f) = Fixture::postgres() else { return };
    let Fixture::Postgres(url) = &f else {
        unreachable!()
    };
    let db = url.rsplit('/').next().unwrap();
    f.sql(&format!("ALTER DATABASE {db} SET lock_timeout = '300ms'"));
    let store = f.open();
    let mut holder = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute("LOCK TABLE settings, devices IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let err = store.put_setting("k", "v").unwrap_err();
    assert!(err.is_busy(), "{err}");
    let err = store
        .apply_reports(&[report(1, 1, "2026-01-01T00:00:00Z", &[])], received())
        .unwrap_err();
    assert!(err.is_busy(), "{err}");
    tx.rollback().unwrap();
    store.put_setting("k", "v").unwrap();
}

#[test]
fn postgres_unreachable_server_and_bad_urls_are_errors_without_the_password() {
    let err =
        store::PostgresStore::open("postgres://posture:hunter2@127.0.0.1:1/posture").unwrap_err();
    let msg = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(matches!(err, StoreError::Connect { .. }), "{msg}");
    assert!(msg.contains("posture:***@127.0.0.1:1"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    for bad in [
        "postgres://posture:hunter2@127.0.0.1:port/posture",
        "postgres://posture:hunter2@/posture?sslmode=nonsense",
    ] {
        let err = store::PostgresStore::open(bad).unwrap_err();
        let msg = format!("{err} {err:?}");
        assert!(matches!(err, StoreError::BadUrl { .. }), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }
    let err =
        StoreLocation::parse(Some("mysql://u:hunter2@h/d"), std::path::Path::new("x")).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(
        StoreLocation::parse(None, std::path::Path::new("/d/state.db")).unwrap(),
        StoreLocation::Sqlite("/d/state.db".into())
    );
}

/// The server calls some store methods from async code: on both runtime flavours they
/// must work (PostgreSQL's synchronous client steps off the runtime's thread).
fn methods_work_from_async_code(f: &Fixture) {
    let store = f.open();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    multi.block_on(async {
        store.put_setting("k", "v").unwrap();
        store
            .apply_reports(&[report(1, 1, "2026-01-01T00:00:00Z", &[])], received())
            .unwrap();
        let mut n = 0;
        store
            .scan_devices(10, &mut |b| {
                n += b.len();
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 1);
    });
    let single = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    single.block_on(async {
        assert_eq!(store.get_setting("k").unwrap().as_deref(), Some("v"));
        assert_eq!(store.snapshots().unwrap(), []);
    });
}

/// A leadership lease: while one handle (another process) leads a role, a second
/// `lead` of it answers `None`; other roles are independent; once the first lets go
/// the second leads. The store answers `ping`, and a bad role is an error.
fn one_leader_per_role_until_it_lets_go(f: &Fixture) {
    let (one, two) = (f.open(), f.open());
    one.ping().unwrap();
    let first = one
        .lead(store::PUBLISHER)
        .unwrap()
        .expect("nobody leads yet");
    assert_eq!(first.role(), store::PUBLISHER);
    assert!(first.still_leading());
    assert!(two.lead(store::PUBLISHER).unwrap().is_none(), "one leader");
    assert!(
        one.lead(store::PUBLISHER).unwrap().is_none(),
        "even in the same handle"
    );
    let other = two
        .lead("other-role")
        .unwrap()
        .expect("another role is free");
    drop(first);
    let second = two
        .lead(store::PUBLISHER)
        .unwrap()
        .expect("the lease is free again");
    assert!(second.still_leading());
    assert!(one.lead(store::PUBLISHER).unwrap().is_none());
    drop((second, other));
    for bad in ["", "a b", "../x", &"x".repeat(65)] {
        assert!(
            matches!(two.lead(bad), Err(StoreError::BadRole(_))),
            "{bad:?}"
        );
    }
    // A leader's handle registers snapshots while it leads.
    let lease = one.lead(store::PUBLISHER).unwrap().expect("free");
    let fenced = Fenced::new(one.clone(), Arc::from(lease));
    fenced.register_snapshot(&snapshot_meta(1)).unwrap();
    assert_eq!(two.snapshots().unwrap(), [snapshot_meta(1)]);
}

fn snapshot_meta(seq: u64) -> SnapshotMeta {
    SnapshotMeta {
        seq,
        time_path: format!("2026-03-01/{seq:02}00/"),
        generated_at: Utc.with_ymd_and_hms(2026, 3, 1, seq as u32, 0, 0).unwrap(),
        dir: format!("snap-{seq}"),
        kb_version: 1,
        devices: 1,
    }
}

/// A leader whose session dies (its process killed, its connection cut: here its
/// backend is terminated from another connection) loses the lease at once: another
/// handle leads, and the old leader's handle knows it no longer leads and registers
/// nothing.
#[test]
fn postgres_a_dead_leaders_lease_is_free_at_once() {
    let Some(f) = Fixture::postgres() else { return };
    let Fixture::Postgres(url) = &f else {
        unreachable!()
    };
    let (one, two) = (f.open(), f.open());
    let lease: Arc<dyn store::Leadership> = Arc::from(one.lead(store::PUBLISHER).unwrap().unwrap());
    let fenced = Fenced::new(one.clone(), lease.clone());
    assert!(two.lead(store::PUBLISHER).unwrap().is_none());
    let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let terminated: i64 = admin
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(l.pid) FROM pg_locks l
               WHERE l.locktype = 'advisory' AND l.granted
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) t",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(terminated, 1, "one backend holds the lease");
    let started = std::time::Instant::now();
    let taken = loop {
        if let Some(l) = two.lead(store::PUBLISHER).unwrap() {
            break l;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the lease is still held 5 s after its backend was terminated"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(taken.still_leading());
    // The registration itself runs on the dead session: refused without a check first.
    let err = fenced.register_snapshot(&snapshot_meta(1)).unwrap_err();
    assert!(matches!(err, StoreError::NotLeading { .. }), "{err}");
    assert!(!lease.still_leading(), "the old leader knows");
    let err = fenced.register_snapshot(&snapshot_meta(1)).unwrap_err();
    assert!(matches!(err, StoreError::NotLeading { .. }), "{err}");
    assert!(err.to_string().contains("no longer leads"), "{err}");
    assert_eq!(two.snapshots().unwrap(), []);
    drop(fenced);
    drop(lease);
    assert!(
        one.lead(store::PUBLISHER).unwrap().is_none(),
        "the new leader holds it"
    );
}
