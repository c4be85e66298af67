//! Upgrade: a data directory written by the previous release (device state as JSON in
//! `state.db`, schema version 0) opens with this release, is migrated to the binary
//! state layout and the clustered devices table, and publishes exactly the rows a fresh
//! ingest of the same reports does.

use rusqlite::{Connection, params};
use snapshot::{ExportKind, Snapshot};
use std::path::Path;
use store::{DeviceState, StateStore};

/// `state.db`'s schema as the previous release (c70fe8a and before) created it, verbatim.
const PREVIOUS_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS devices (
    device_id   TEXT PRIMARY KEY,
    group_id    INTEGER NOT NULL,
    sequence    INTEGER NOT NULL,
    reported_at TEXT NOT NULL,
    state       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS devices_by_group ON devices(group_id, device_id);
CREATE TABLE IF NOT EXISTS kb_records (
    source TEXT NOT NULL,
    id     TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kb_files (
    digest      TEXT PRIMARY KEY,
    file_name   TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    records     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    seq          INTEGER PRIMARY KEY,
    time_path    TEXT NOT NULL UNIQUE,
    generated_at TEXT NOT NULL,
    dir          TEXT NOT NULL,
    kb_version   INTEGER NOT NULL,
    devices      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS feed_sync (
    feed        TEXT PRIMARY KEY,
    cursor      TEXT,
    last_sync   TEXT,
    last_import TEXT,
    records     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feed_staging (
    feed TEXT NOT NULL,
    part INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (feed, part)
);
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#;

/// Writes `states` and the knowledge base of `source` (a store's file) into a new
/// `state.db` at `path` the way the previous release did: its schema, the device row's
/// columns, the state as `serde_json` text (releases before c70fe8a; every third row as
/// JSON bytes, as c70fe8a bound them), `user_version` left at 0.
fn write_previous_release(path: &Path, source: &Path, states: &[DeviceState]) {
    let mut conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(PREVIOUS_SCHEMA).unwrap();
    conn.execute("ATTACH DATABASE ?1 AS fresh", [source.to_str().unwrap()])
        .unwrap();
    for table in ["kb_records", "kb_files", "feed_sync", "settings"] {
        conn.execute(
            &format!("INSERT INTO main.{table} SELECT * FROM fresh.{table}"),
            [],
        )
        .unwrap();
    }
    let tx = conn.transaction().unwrap();
    for (i, s) in states.iter().enumerate() {
        let r = &s.report;
        let (id, group, seq, at) = (
            r.device_id.as_str(),
            r.group.as_ref().map_or(0, |g| g.id),
            r.sequence as i64,
            r.reported_at.to_rfc3339(),
        );
        let sql = "INSERT INTO devices (device_id, group_id, sequence, reported_at, state) VALUES (?1, ?2, ?3, ?4, ?5)";
        if i % 3 == 2 {
            tx.execute(
                sql,
                params![id, group, seq, at, serde_json::to_vec(s).unwrap()],
            )
            .unwrap();
        } else {
            tx.execute(
                sql,
                params![id, group, seq, at, serde_json::to_string(s).unwrap()],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    assert_eq!(
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .unwrap(),
        0
    );
}

fn all_states(store: &dyn StateStore) -> Vec<DeviceState> {
    let mut out = Vec::new();
    store
        .scan_devices(64, &mut |b| {
            out.extend(b);
            Ok(())
        })
        .unwrap();
    out
}

fn rendered(s: &Snapshot, kind: ExportKind) -> Vec<Vec<u8>> {
    (0..s.rows(kind))
        .map(|i| {
            let mut out = Vec::new();
            s.render(kind, i, &mut out);
            out
        })
        .collect()
}

#[test]
fn a_previous_release_data_directory_migrates_and_publishes_the_same_rows() {
    let now = testkit::world::utc(2026, 11, 20, 12);
    let fresh = testkit::world::seeded(60, 11, now, 4);
    let states = all_states(fresh.store.as_ref());
    assert_eq!(states.len(), 60);

    let old = tempfile::tempdir().unwrap();
    fresh.store.checkpoint().unwrap();
    write_previous_release(
        &old.path().join("state.db"),
        &fresh.dir.path().join("state.db"),
        &states,
    );

    // This release opens it: migration on open.
    let store = testkit::world::open_store(old.path());
    let version: i64 = Connection::open(old.path().join("state.db"))
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, store::sqlite::SCHEMA_VERSION);
    let count = |sql: &str| -> i64 {
        Connection::open(old.path().join("state.db"))
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    let json_rows = count(
        "SELECT count(*) FROM devices WHERE hex(substr(CAST(state AS BLOB), 1, 1)) NOT IN ('01', '02')",
    );
    assert_eq!(json_rows, 0, "rows left in JSON after the migration");
    // And the table is clustered by (group, device) (schema version 3): the old
    // layout's index went with its table.
    let old_index = count("SELECT count(*) FROM sqlite_schema WHERE name = 'devices_by_group'");
    assert_eq!(
        old_index, 0,
        "devices still keyed by id after the migration"
    );
    assert_eq!(all_states(store.as_ref()), states);
    assert_eq!(
        store.kb_version().unwrap(),
        fresh.store.kb_version().unwrap()
    );

    let migrated = testkit::world::open_snapshots(old.path(), store, 4);
    let at = testkit::world::utc(2026, 11, 20, 13);
    let opts = testkit::world::small_parts(40_000, 17);
    let a = testkit::world::publish_at(&migrated, at, &opts);
    let b = testkit::world::publish_at(&fresh.snapshots, at, &opts);
    assert_eq!(a.rows, b.rows);
    assert_eq!((a.devices, a.findings), (b.devices, b.findings));
    let (a, b) = (
        migrated.latest().unwrap(),
        fresh.snapshots.latest().unwrap(),
    );
    for kind in ExportKind::ALL {
        assert!(b.rows(kind) > 0, "{kind:?} has no rows to compare");
        assert_eq!(rendered(&a, kind), rendered(&b, kind), "{kind:?}");
    }
}
