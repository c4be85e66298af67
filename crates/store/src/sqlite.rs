//! The embedded SQLite implementation of [`StateStore`].

use crate::{
    ApplyOutcome, DeviceState, FeedState, KbChange, KbImportOutcome, KbRecord, RawVisitor, Result,
    ScanError, SnapshotMeta, StateStore, StoreError, apply, state_codec,
};
use apply::{BulkLoad, Stored};
use chrono::{DateTime, Utc};
use model::DeviceReport;
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The tables other than `devices`, whose layout depends on the file's version
/// ([`DEVICES_TABLE`]).
const SCHEMA: &str = r#"
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

/// The `devices` table from schema version 3 on, under a name given at `{table}`: clustered
/// by (group id, device id), the order every publish scans it in, so a scan reads the
/// file front to back instead of visiting the rows in an index's order (at a million
/// devices, several times slower than the rows' bytes). A device is found by id through
/// the unique index, which also keeps its group.
const DEVICES_TABLE: &str = r#"
CREATE TABLE {table} (
    group_id    INTEGER NOT NULL,
    device_id   TEXT NOT NULL,
    sequence    INTEGER NOT NULL,
    reported_at TEXT NOT NULL,
    state       BLOB NOT NULL,
    PRIMARY KEY (group_id, device_id)
) WITHOUT ROWID;
"#;
/// Also what ends a bulk load, or the next open after one was interrupted (see
/// [`build_device_index`]).
const DEVICES_BY_ID: &str =
    "CREATE UNIQUE INDEX IF NOT EXISTS devices_by_id ON devices(device_id);";

/// Builds `devices_by_id` after a bulk load. A load that wrote a device under two groups
/// left two rows for it; as a report moving a device to another group does, the row of
/// the higher sequence is kept (a sort, paid only by such a load).
fn build_device_index(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    match tx.execute_batch(DEVICES_BY_ID) {
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            let dropped = tx.execute(
                "DELETE FROM devices WHERE (group_id, device_id) IN (
                   SELECT group_id, device_id FROM (
                     SELECT group_id, device_id, row_number() OVER (
                       PARTITION BY device_id ORDER BY sequence DESC, group_id DESC) AS rank
                     FROM devices)
                   WHERE rank > 1)",
                [],
            )?;
            tracing::warn!(
                rows = dropped,
                "the bulk load wrote devices under two groups: kept each one's latest row"
            );
            Ok(tx.execute_batch(DEVICES_BY_ID)?)
        }
        other => Ok(other?),
    }
}

/// The layout version of a data directory's `state.db`, kept in `PRAGMA user_version`:
///
/// * 0: releases up to c70fe8a, device state as JSON (text, or bytes);
/// * 1: device state in the state codec's binary layout ([`state_codec::FORMAT_V1`]);
/// * 2: new and updated rows LZ4-compressed ([`state_codec::FORMAT_V2`]); V1 rows are
///   read as they are and compressed when their device next reports;
/// * 3: `devices` clustered by (group id, device id) (`DEVICES_TABLE`); until then it
///   was keyed by device id, with an index `devices_by_group`.
///
/// [`SqliteStore::open`] migrates an older file to this version; a file of a newer
/// version (written by a later release, which may hold rows this one cannot read) is
/// refused rather than misread.
pub const SCHEMA_VERSION: i64 = 3;

/// The writer's page cache (SQLite's default is 2 MB): enough to keep the interior pages
/// of the devices table and its indexes at a million devices, so an upsert of a random
/// device id reads its leaf and no more.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// Rows re-encoded per transaction by the migration to schema version 1.
const MIGRATION_BATCH: usize = 500;

/// The setting that holds the migration's progress (the last device id re-encoded), so
/// an interrupted migration resumes where it stopped.
const MIGRATION_CURSOR: &str = "migration.state_v1.cursor";

/// How long a connection waits for another writer's lock before SQLite answers BUSY.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Attempts of a write transaction that met a lock conflict the busy handler cannot
/// wait out (a stale read snapshot, a lock taken while the handler was not called).
const WRITE_ATTEMPTS: u32 = 5;

/// SQLite's "busy" family: `SQLITE_BUSY` (5, and extended codes such as
/// `BUSY_SNAPSHOT` 517) and `SQLITE_LOCKED` (6).
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs a write transaction, retrying it whole (with a short, growing pause) when it
/// meets a lock conflict. Write transactions are `BEGIN IMMEDIATE`: the write lock is
/// taken first, so the busy timeout waits for other writers (the server's ingest, a
/// `kb import` or `advance` in another process) instead of failing with
/// `database is locked` when a deferred read would have to upgrade.
fn write_transaction<T>(
    conn: &mut Connection,
    mut work: impl FnMut(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let mut attempt = 1;
    loop {
        let result = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)
            .and_then(|tx| {
                let value = work(&tx)?;
                tx.commit()?;
                Ok(value)
            });
        match result {
            Err(e) if e.is_busy() && attempt < WRITE_ATTEMPTS => {
                std::thread::sleep(std::time::Duration::from_millis(50 << attempt));
                attempt += 1;
            }
            other => return other,
        }
    }
}

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// This handle's bulk load, while one runs (`devices_by_id` set aside; see
    /// `begin_bulk_load`). Locked after `writer`.
    bulk_load: Mutex<Option<BulkLoad>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: an acknowledged report survives power loss, not just a process crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        conn.execute_batch(SCHEMA)?;
        // A new file gets this release's layout (nothing to migrate), checked again
        // under the write lock, so two processes opening a new file do not both create it.
        if !has_schema_object(&conn, "table", "devices")? {
            write_transaction(&mut conn, |tx| {
                if !has_schema_object(tx, "table", "devices")? {
                    tx.execute_batch(&DEVICES_TABLE.replace("{table}", "devices"))?;
                    tx.execute_batch(DEVICES_BY_ID)?;
                    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
                }
                Ok(())
            })?;
        }
        let mut store = SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(conn),
            bulk_load: Mutex::new(None),
        };
        store.migrate(MIGRATION_BATCH)?;
        store.restore_device_index()?;
        Ok(store)
    }

    /// Builds `devices_by_id` if a bulk load was interrupted before it ended (killed
    /// during a seed): the file is then whole again, whatever the load wrote.
    fn restore_device_index(&mut self) -> Result<()> {
        let conn = self.writer.get_mut();
        if has_schema_object(conn, "index", "devices_by_id")? {
            return Ok(());
        }
        tracing::warn!(
            path = %self.path.display(),
            "state.db has no device id index (a bulk load was interrupted): building it"
        );
        write_transaction(conn, build_device_index)
    }

    /// The file's schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        schema_version_of(&self.writer.lock())
    }

    /// Brings the file to [`SCHEMA_VERSION`], one version step after another:
    ///
    /// * 0 → 2: device states still in an earlier release's JSON are re-encoded with
    ///   [`state_codec::encode`], `batch` rows per transaction, in device id order. Each
    ///   transaction also records the last device id done, so a migration that is
    ///   interrupted (killed, power lost) resumes there on the next open; rows written
    ///   meanwhile by this release are already current and are left alone.
    /// * 1 → 2: only the version changes (version 2 reads version 1's rows as they are;
    ///   an earlier release then refuses the file, which may soon hold compressed rows).
    /// * 2 → 3: the `devices` table is rewritten in (group id, device id) order into the
    ///   clustered layout, in one transaction (an interruption leaves version 2 whole).
    fn migrate(&mut self, batch: usize) -> Result<()> {
        let conn = self.writer.get_mut();
        let mut version = schema_version_of(conn)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "{} has schema version {version}, newer than this release reads ({SCHEMA_VERSION}); use the release that wrote it",
                self.path.display()
            )));
        }
        if version == 0 {
            reencode_json_states(conn, &self.path, batch)?;
            version = 2;
        }
        if version == 1 {
            conn.pragma_update(None, "user_version", 2)?;
            version = 2;
        }
        if version == 2 {
            cluster_devices(conn, &self.path)?;
        }
        Ok(())
    }

    /// The one scan of the devices table: every state column's bytes, ordered by
    /// (group id, device id), in batches of up to `batch` rows, inside one read
    /// transaction on its own connection (a consistent view while reports keep arriving).
    fn scan_rows(
        &self,
        batch: usize,
        visit: &mut dyn FnMut(Vec<Vec<u8>>) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction().map_err(StoreError::from)?;
        let mut stmt = tx
            .prepare("SELECT state FROM devices ORDER BY group_id, device_id")
            .map_err(StoreError::from)?;
        let mut rows = stmt.query([]).map_err(StoreError::from)?;
        let batch = batch.max(1);
        let mut raw: Vec<Vec<u8>> = Vec::with_capacity(batch);
        loop {
            let row = rows.next().map_err(StoreError::from)?;
            if let Some(row) = row {
                raw.push(state_bytes(row, 0).map_err(StoreError::from)?);
            }
            if raw.len() == batch || (row.is_none() && !raw.is_empty()) {
                visit(std::mem::replace(&mut raw, Vec::with_capacity(batch)))?;
            }
            if row.is_none() {
                return Ok(());
            }
        }
    }

    fn reader(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(conn)
    }
}

/// The body of [`SqliteStore::apply_reports`], inside its transaction.
///
/// In a bulk load (`devices_by_id` set aside), a device is found, and its row replaced,
/// by its (group id, device id) key, and a key past every key the load wrote is new
/// without a look: a seed writes in key order, so it never looks. Returns the outcomes
/// and the load's highest key once this batch is written.
fn apply_in(
    tx: &rusqlite::Transaction<'_>,
    reports: &[DeviceReport],
    received_at: DateTime<Utc>,
    bulk_load: Option<&BulkLoad>,
) -> Result<(Vec<ApplyOutcome>, Option<BulkLoad>)> {
    let group_of = |r: &DeviceReport| r.group.as_ref().map_or(0, |g| g.id);
    let mut stored: HashMap<&str, Stored> = HashMap::with_capacity(reports.len());
    {
        let mut get = tx.prepare_cached(match bulk_load {
            None => "SELECT sequence, state FROM devices WHERE device_id = ?1",
            Some(_) => "SELECT sequence, state FROM devices WHERE device_id = ?1 AND group_id = ?2",
        })?;
        for report in reports {
            let id = report.device_id.as_str();
            if stored.contains_key(id) {
                continue;
            }
            let found = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, state_bytes(r, 1)?));
            let row: Option<(i64, Vec<u8>)> = match bulk_load {
                None => get.query_row(params![id], found).optional()?,
                Some(load) if load.is_new(group_of(report), id) => None,
                Some(_) => get
                    .query_row(params![id, group_of(report)], found)
                    .optional()?,
            };
            if let Some((sequence, state)) = row {
                let state = Some(state);
                stored.insert(id, Stored { sequence, state });
            }
        }
    }
    let (outcomes, rows) = apply::merge_batch(reports, &stored, received_at)?;
    let mut put = tx.prepare_cached(match bulk_load {
        None => {
            "INSERT INTO devices (device_id, group_id, sequence, reported_at, state) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(device_id) DO UPDATE SET group_id = excluded.group_id, sequence = excluded.sequence,
             reported_at = excluded.reported_at, state = excluded.state"
        }
        Some(_) => {
            "INSERT INTO devices (device_id, group_id, sequence, reported_at, state) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(group_id, device_id) DO UPDATE SET sequence = excluded.sequence,
             reported_at = excluded.reported_at, state = excluded.state"
        }
    })?;
    for row in &rows {
        let r = row.report;
        put.execute(params![
            r.device_id.as_str(),
            group_of(r),
            r.sequence as i64,
            r.reported_at.to_rfc3339(),
            row.state
        ])?;
    }
    let bulk_load = bulk_load.map(|load| {
        let written = rows
            .iter()
            .map(|r| (group_of(r.report), r.report.device_id.as_str()));
        load.past(written)
    });
    Ok((outcomes, bulk_load))
}

/// What one migration transaction did.
struct MigrationStep {
    /// Rows visited (0: the migration is complete).
    rows: u64,
    /// Rows re-encoded (the others were current already).
    reencoded: u64,
}

/// One transaction of [`SqliteStore::migrate`]: the next `batch` rows after the stored
/// cursor, re-encoded where needed, and the cursor moved past them.
fn migrate_batch(tx: &rusqlite::Transaction<'_>, batch: usize) -> Result<MigrationStep> {
    let cursor: String = tx
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [MIGRATION_CURSOR],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default();
    let rows: Vec<(String, Vec<u8>)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT device_id, state FROM devices WHERE device_id > ?1 ORDER BY device_id LIMIT ?2",
        )?;
        stmt.query_map(params![cursor, batch as i64], |r| {
            Ok((r.get(0)?, state_bytes(r, 1)?))
        })?
        .collect::<std::result::Result<_, _>>()?
    };
    let mut reencoded = 0;
    {
        let mut put = tx.prepare_cached("UPDATE devices SET state = ?2 WHERE device_id = ?1")?;
        for (id, state) in &rows {
            if state_codec::is_current(state) {
                continue;
            }
            let decoded = state_codec::decode(state)
                .map_err(|e| StoreError::Corrupt(format!("device {id}: {e}")))?;
            put.execute(params![id, state_codec::encode(&decoded)?])?;
            reencoded += 1;
        }
    }
    if let Some((last, _)) = rows.last() {
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [MIGRATION_CURSOR, last],
        )?;
    }
    Ok(MigrationStep {
        rows: rows.len() as u64,
        reencoded,
    })
}

fn schema_version_of(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Whether the file has a table or index (`kind`) of this name.
fn has_schema_object(conn: &Connection, kind: &str, name: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = ?1 AND name = ?2",
            [kind, name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// The migration from schema version 0: every device state still in JSON re-encoded in
/// the binary layout, resumably (see [`SqliteStore::migrate`]); leaves version 2.
fn reencode_json_states(conn: &mut Connection, path: &Path, batch: usize) -> Result<()> {
    let total: i64 = conn.query_row("SELECT count(*) FROM devices", [], |r| r.get(0))?;
    let started = std::time::Instant::now();
    if total > 0 {
        tracing::info!(
            path = %path.display(),
            devices = total,
            "migrating state.db to schema version 2: re-encoding device state"
        );
    }
    let (mut done, mut reencoded) = (0u64, 0u64);
    loop {
        let step = write_transaction(conn, |tx| migrate_batch(tx, batch))?;
        done += step.rows;
        reencoded += step.reencoded;
        if step.rows == 0 {
            break;
        }
        tracing::info!(
            done,
            devices = total,
            reencoded,
            "migrating device state: {done}/{total} rows"
        );
    }
    write_transaction(conn, |tx| {
        tx.execute("DELETE FROM settings WHERE key = ?1", [MIGRATION_CURSOR])?;
        tx.pragma_update(None, "user_version", 2)?;
        Ok(())
    })?;
    if total > 0 {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        tracing::info!(
            reencoded,
            seconds = started.elapsed().as_secs_f64(),
            "state.db is at schema version 2"
        );
    }
    Ok(())
}

/// The migration from schema version 2 to 3: `devices` copied in (group id, device id)
/// order into the clustered layout and put in the old table's place, in one
/// transaction. A file whose table is clustered already (made by this release and
/// marked older by hand, as the tests do) only has its version set.
fn cluster_devices(conn: &mut Connection, path: &Path) -> Result<()> {
    let keyed_by_id = has_schema_object(conn, "index", "devices_by_group")?;
    if !keyed_by_id {
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        return Ok(());
    }
    let total: i64 = conn.query_row("SELECT count(*) FROM devices", [], |r| r.get(0))?;
    let started = std::time::Instant::now();
    tracing::info!(
        path = %path.display(),
        devices = total,
        "migrating state.db to schema version 3: rewriting the devices table in (group, device) order"
    );
    write_transaction(conn, |tx| {
        tx.execute_batch(&DEVICES_TABLE.replace("{table}", "devices_clustered"))?;
        tx.execute(
            "INSERT INTO devices_clustered (group_id, device_id, sequence, reported_at, state)
             SELECT group_id, device_id, sequence, reported_at, state FROM devices ORDER BY group_id, device_id",
            [],
        )?;
        tx.execute_batch("DROP TABLE devices; ALTER TABLE devices_clustered RENAME TO devices;")?;
        tx.execute_batch(DEVICES_BY_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(())
    })?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    tracing::info!(
        devices = total,
        seconds = started.elapsed().as_secs_f64(),
        "state.db is at schema version {SCHEMA_VERSION}"
    );
    Ok(())
}

/// The body of [`SqliteStore::kb_commit`] (and `kb_import`), inside its transaction.
fn kb_commit_in(tx: &rusqlite::Transaction<'_>, change: &KbChange) -> Result<KbImportOutcome> {
    let (mut inserted, mut updated, mut unchanged) = (0, 0, 0);
    {
        let mut get =
            tx.prepare_cached("SELECT body FROM kb_records WHERE source = ?1 AND id = ?2")?;
        let mut put = tx.prepare_cached(
            "INSERT INTO kb_records (source, id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT(source, id) DO UPDATE SET body = excluded.body",
        )?;
        for r in &change.records {
            let old: Option<String> = get
                .query_row(params![r.source, r.id], |row| row.get(0))
                .optional()?;
            match old {
                Some(b) if b == r.body => unchanged += 1,
                Some(_) => {
                    put.execute(params![r.source, r.id, r.body])?;
                    updated += 1;
                }
                None => {
                    put.execute(params![r.source, r.id, r.body])?;
                    inserted += 1;
                }
            }
        }
    }
    let mut version = kb_version_of(tx)?;
    if inserted + updated > 0 {
        version += 1;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('kb_version', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [version.to_string()],
        )?;
    }
    let now = Utc::now().to_rfc3339();
    for f in &change.files {
        tx.execute(
            "INSERT OR IGNORE INTO kb_files (digest, file_name, imported_at, records) VALUES (?1, ?2, ?3, ?4)",
            params![f.digest, f.name, now, f.records as i64],
        )?;
    }
    for f in &change.feeds {
        let records: i64 = tx.query_row(
            "SELECT count(*) FROM kb_records WHERE source = ?1",
            [&f.feed],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO feed_sync (feed, cursor, last_sync, last_import, records) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(feed) DO UPDATE SET
               cursor = coalesce(excluded.cursor, feed_sync.cursor),
               last_sync = coalesce(excluded.last_sync, feed_sync.last_sync),
               last_import = coalesce(excluded.last_import, feed_sync.last_import),
               records = excluded.records",
            params![
                f.feed,
                f.cursor,
                f.synced_at.map(|t| t.to_rfc3339()),
                f.imported_at.map(|t| t.to_rfc3339()),
                records
            ],
        )?;
        tx.execute("DELETE FROM feed_staging WHERE feed = ?1", [&f.feed])?;
    }
    Ok(KbImportOutcome::of(
        change, inserted, updated, unchanged, version,
    ))
}

fn parse_time(feed: &str, what: &str, value: Option<String>) -> Result<Option<DateTime<Utc>>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| StoreError::Corrupt(format!("feed {feed} {what}: {e}")))
        })
        .transpose()
}

impl StateStore for SqliteStore {
    fn apply_reports(
        &self,
        reports: &[DeviceReport],
        received_at: DateTime<Utc>,
    ) -> Result<Vec<ApplyOutcome>> {
        let mut conn = self.writer.lock();
        let mut bulk_load = self.bulk_load.lock();
        let (outcomes, load) = write_transaction(&mut conn, |tx| {
            apply_in(tx, reports, received_at, bulk_load.as_ref())
        })?;
        // Only once committed: a batch rolled back wrote no key.
        if load.is_some() {
            *bulk_load = load;
        }
        Ok(outcomes)
    }

    /// Sets `devices_by_id` aside while the table is empty: a seed writes devices in the
    /// table's key order, so its rows land at the end of the file, but their device ids
    /// land all over the index, about one index page written per device at a million.
    /// The index built at the end is a sort. Meanwhile other processes' reports are
    /// refused (their upsert names the index); an interrupted load is made whole on the
    /// next open (`restore_device_index`).
    fn begin_bulk_load(&self) -> Result<bool> {
        let mut conn = self.writer.lock();
        let began = write_transaction(&mut conn, |tx| {
            let empty: bool =
                tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM devices)", [], |r| {
                    r.get(0)
                })?;
            if empty {
                tx.execute_batch("DROP INDEX IF EXISTS devices_by_id")?;
            }
            Ok(empty)
        })?;
        *self.bulk_load.lock() = began.then(BulkLoad::default);
        Ok(began)
    }

    fn end_bulk_load(&self) -> Result<()> {
        let mut conn = self.writer.lock();
        write_transaction(&mut conn, build_device_index)?;
        *self.bulk_load.lock() = None;
        Ok(())
    }

    fn device_count(&self) -> Result<u64> {
        let conn = self.writer.lock();
        Ok(conn.query_row("SELECT count(*) FROM devices", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn device(&self, id: &str) -> Result<Option<DeviceState>> {
        let conn = self.writer.lock();
        let state: Option<Vec<u8>> = conn
            .query_row(
                "SELECT state FROM devices WHERE device_id = ?1",
                [id],
                |r| state_bytes(r, 0),
            )
            .optional()?;
        Ok(match state {
            Some(s) => Some(state_codec::decode(&s)?),
            None => None,
        })
    }

    fn device_ids(&self) -> Result<Vec<String>> {
        let conn = self.reader()?;
        let mut stmt =
            conn.prepare("SELECT device_id FROM devices ORDER BY group_id, device_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<Vec<String>, _>>()?)
    }

    fn devices(&self, ids: &[String]) -> Result<Vec<DeviceState>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached("SELECT state FROM devices WHERE device_id = ?1")?;
        let mut raw = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(bytes) = stmt.query_row([id], |r| state_bytes(r, 0)).optional()? {
                raw.push(bytes);
            }
        }
        state_codec::decode_all(&raw)
    }

    fn checkpoint(&self) -> Result<()> {
        let conn = self.writer.lock();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn scan_state_bytes(&self, batch: usize, visit: &mut RawVisitor<'_>) -> Result<(), ScanError> {
        crate::read_ahead(|send| self.scan_rows(batch, send), visit)
    }

    fn kb_commit(&self, change: &KbChange) -> Result<KbImportOutcome> {
        let mut conn = self.writer.lock();
        write_transaction(&mut conn, |tx| kb_commit_in(tx, change))
    }

    fn feed_states(&self) -> Result<Vec<FeedState>> {
        let conn = self.writer.lock();
        let mut stmt = conn.prepare(
            "SELECT feed, cursor, last_sync, last_import, records FROM feed_sync ORDER BY feed",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (feed, cursor, last_sync, last_import, records) = row?;
            out.push(FeedState {
                last_sync: parse_time(&feed, "last_sync", last_sync)?,
                last_import: parse_time(&feed, "last_import", last_import)?,
                feed,
                cursor,
                records: records.max(0) as u64,
            });
        }
        Ok(out)
    }

    fn put_feed_cursor(&self, feed: &str, cursor: &str) -> Result<()> {
        let conn = self.writer.lock();
        conn.execute(
            "INSERT INTO feed_sync (feed, cursor) VALUES (?1, ?2)
             ON CONFLICT(feed) DO UPDATE SET cursor = excluded.cursor",
            [feed, cursor],
        )?;
        Ok(())
    }

    fn stage_feed_part(&self, feed: &str, part: u64, body: &[u8]) -> Result<()> {
        let conn = self.writer.lock();
        conn.execute(
            "INSERT INTO feed_staging (feed, part, body) VALUES (?1, ?2, ?3)
             ON CONFLICT(feed, part) DO UPDATE SET body = excluded.body",
            params![feed, part as i64, body],
        )?;
        Ok(())
    }

    fn staged_feed_parts(&self, feed: &str) -> Result<Vec<(u64, Vec<u8>)>> {
        let conn = self.reader()?;
        let mut stmt =
            conn.prepare("SELECT part, body FROM feed_staging WHERE feed = ?1 ORDER BY part")?;
        let rows = stmt.query_map([feed], |r| {
            Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get::<_, Vec<u8>>(1)?))
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    fn clear_feed_staging(&self, feed: &str) -> Result<()> {
        let conn = self.writer.lock();
        conn.execute("DELETE FROM feed_staging WHERE feed = ?1", [feed])?;
        Ok(())
    }

    fn kb_source_counts(&self) -> Result<Vec<(String, u64)>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare("SELECT source, count(*) FROM kb_records GROUP BY source ORDER BY source")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    fn kb_records(&self, source: &str) -> Result<Vec<KbRecord>> {
        let conn = self.reader()?;
        let mut stmt =
            conn.prepare("SELECT id, body FROM kb_records WHERE source = ?1 ORDER BY id")?;
        let rows = stmt.query_map([source], |r| {
            Ok(KbRecord {
                source: source.to_owned(),
                id: r.get(0)?,
                body: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    fn kb_version(&self) -> Result<u64> {
        let conn = self.writer.lock();
        kb_version_of(&conn)
    }

    fn snapshots(&self) -> Result<Vec<SnapshotMeta>> {
        let conn = self.writer.lock();
        let mut stmt = conn.prepare(
            "SELECT seq, time_path, generated_at, dir, kb_version, devices FROM snapshots ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, time_path, generated_at, dir, kb_version, devices) = row?;
            let generated_at = DateTime::parse_from_rfc3339(&generated_at)
                .map_err(|e| StoreError::Corrupt(format!("snapshot {seq} generated_at: {e}")))?
                .with_timezone(&Utc);
            out.push(SnapshotMeta {
                seq: seq as u64,
                time_path,
                generated_at,
                dir,
                kb_version: kb_version as u64,
                devices: devices as u64,
            });
        }
        Ok(out)
    }

    fn register_snapshot(&self, meta: &SnapshotMeta) -> Result<()> {
        let conn = self.writer.lock();
        conn.execute(
            "INSERT INTO snapshots (seq, time_path, generated_at, dir, kb_version, devices) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                meta.seq as i64,
                meta.time_path,
                meta.generated_at.to_rfc3339(),
                meta.dir,
                meta.kb_version as i64,
                meta.devices as i64
            ],
        )?;
        Ok(())
    }

    fn unregister_snapshot(&self, seq: u64) -> Result<()> {
        let conn = self.writer.lock();
        conn.execute("DELETE FROM snapshots WHERE seq = ?1", [seq as i64])?;
        Ok(())
    }

    fn get_setting(&self, key: &str) -> Result<Option<String>> {
        let conn = self.writer.lock();
        Ok(conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let conn = self.writer.lock();
        let mut stmt = conn.prepare(
            "SELECT key, value FROM settings WHERE key LIKE ?1 ESCAPE '\\' ORDER BY key",
        )?;
        let rows = stmt.query_map([format!("{}%", escape_like(prefix))], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    fn delete_setting(&self, key: &str) -> Result<bool> {
        let conn = self.writer.lock();
        Ok(conn.execute("DELETE FROM settings WHERE key = ?1", [key])? > 0)
    }

    fn ping(&self) -> Result<()> {
        // Reads the schema and a page of the registry: the file is there and readable.
        self.reader()?
            .query_row("SELECT count(*) FROM snapshots", [], |_| Ok(()))?;
        Ok(())
    }

    /// An exclusive `flock` on `<state.db>.lead-<role>` (see [`crate::lease`]).
    fn lead(&self, role: &str) -> Result<Option<Box<dyn crate::Leadership>>> {
        Ok(crate::lease::FileLease::try_take(&self.path, role)?
            .map(|l| Box::new(l) as Box<dyn crate::Leadership>))
    }

    fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let conn = self.writer.lock();
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn kb_version_of(conn: &Connection) -> Result<u64> {
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = 'kb_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    v.map_or(Ok(0), |s| {
        s.parse()
            .map_err(|_| StoreError::Corrupt(format!("kb_version {s:?}")))
    })
}

/// A state column's bytes, whether stored as a blob or (by earlier releases) as text.
fn state_bytes(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Vec<u8>> {
    Ok(row.get_ref(index)?.as_bytes()?.to_vec())
}

#[cfg(test)]
mod tests {
    // The behaviour of every StateStore method is tested against both stores in
    // tests/suite.rs; here only what is SQLite's own.
    use super::*;
    use model::DeviceId;

    fn report(seq: u64, at: &str, software: &[(&str, &str)]) -> DeviceReport {
        let at = at.parse().expect("an RFC 3339 time");
        testkit::reports::linux_report(1, seq, at, testkit::reports::packages(software))
    }

    /// A store at `path` of `n` devices (ids `0…0`, `0…1`, …), closed again; their states.
    fn stored_devices(path: &Path, n: u8) -> Vec<DeviceState> {
        let store = SqliteStore::open(path).unwrap();
        let reports: Vec<DeviceReport> = (0..n)
            .map(|i| {
                let mut r = report(1, "2026-01-01T00:00:00Z", &[("a", "1"), ("b", "2")]);
                r.device_id = DeviceId::parse(&format!("{i:040x}")).unwrap();
                r
            })
            .collect();
        store.apply_reports(&reports, Utc::now()).unwrap();
        reports
            .iter()
            .map(|r| store.device(r.device_id.as_str()).unwrap().unwrap())
            .collect()
    }

    /// A store of `n` devices whose rows are then put back the way releases before this
    /// one kept them: JSON text (before c70fe8a) and JSON bytes (c70fe8a), schema version 0.
    fn legacy_store(path: &Path, n: u8) -> Vec<DeviceState> {
        let states = stored_devices(path, n);
        let conn = Connection::open(path).unwrap();
        for (i, s) in states.iter().enumerate() {
            let id = s.report.device_id.as_str();
            if i % 2 == 0 {
                let text = serde_json::to_string(s).unwrap();
                conn.execute(
                    "UPDATE devices SET state = ?2 WHERE device_id = ?1",
                    [id, &text],
                )
                .unwrap();
            } else {
                let bytes = serde_json::to_vec(s).unwrap();
                conn.execute(
                    "UPDATE devices SET state = ?2 WHERE device_id = ?1",
                    params![id, bytes],
                )
                .unwrap();
            }
        }
        conn.pragma_update(None, "user_version", 0).unwrap();
        states
    }

    fn legacy_rows(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM devices WHERE hex(substr(CAST(state AS BLOB), 1, 1)) NOT IN ('01', '02')",
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[test]
    fn opening_migrates_json_rows_to_the_binary_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let states = legacy_store(&path, 7);
        assert_eq!(legacy_rows(&path), 7);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(legacy_rows(&path), 0);
        assert_eq!(store.get_setting(MIGRATION_CURSOR).unwrap(), None);
        for s in &states {
            assert_eq!(
                &store.device(s.report.device_id.as_str()).unwrap().unwrap(),
                s
            );
        }
        // Reports keep applying on the migrated rows (first-seen times carried over).
        let mut r = report(2, "2026-01-02T00:00:00Z", &[("a", "1"), ("c", "1")]);
        r.device_id = states[0].report.device_id.clone();
        store.apply_reports(&[r], Utc::now()).unwrap();
        let s = store
            .device(states[0].report.device_id.as_str())
            .unwrap()
            .unwrap();
        assert_eq!(s.first_seen, states[0].first_seen);
        assert_eq!(s.software_first_seen[0], states[0].software_first_seen[0]);
    }

    /// A migration stopped after some batches (killed, power lost) resumes after the
    /// last committed batch; rows this release wrote meanwhile are left as they are.
    #[test]
    fn an_interrupted_migration_resumes_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let states = legacy_store(&path, 9);
        {
            let mut conn = Connection::open(&path).unwrap();
            let step = write_transaction(&mut conn, |tx| migrate_batch(tx, 4)).unwrap();
            assert_eq!((step.rows, step.reencoded), (4, 4));
            assert_eq!(schema_version_of(&conn).unwrap(), 0);
        }
        assert_eq!(legacy_rows(&path), 5);
        let cursor: String = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [MIGRATION_CURSOR],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(cursor, states[3].report.device_id.as_str());
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(legacy_rows(&path), 0);
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(every_device_by_id(&store), states);
    }

    /// Every device the store's scan yields (in batches of 4), ordered by device id.
    fn every_device_by_id(store: &SqliteStore) -> Vec<DeviceState> {
        let mut scanned = Vec::new();
        store
            .scan_devices(4, &mut |b| {
                scanned.extend(b);
                Ok(())
            })
            .unwrap();
        scanned.sort_by(|a, b| a.report.device_id.cmp(&b.report.device_id));
        scanned
    }

    /// A file of schema version 1 (uncompressed binary rows) opens at once as version 2
    /// (no pass over the rows), reads every V1 row as it was, and compresses a row when
    /// its device reports again.
    #[test]
    fn a_version_1_file_opens_and_its_rows_are_compressed_as_devices_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let states = stored_devices(&path, 6);
        let conn = Connection::open(&path).unwrap();
        let rows: Vec<(String, Vec<u8>)> = conn
            .prepare("SELECT device_id, state FROM devices")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        for (id, row) in &rows {
            conn.execute(
                "UPDATE devices SET state = ?2 WHERE device_id = ?1",
                params![id, state_codec::uncompressed_v1(row).unwrap()],
            )
            .unwrap();
        }
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let first_byte = |id: &str| -> u8 {
            Connection::open(&path)
                .unwrap()
                .query_row(
                    "SELECT substr(state, 1, 1) FROM devices WHERE device_id = ?1",
                    [id],
                    |r| r.get::<_, Vec<u8>>(0),
                )
                .unwrap()[0]
        };
        let id0 = states[0].report.device_id.as_str().to_owned();
        assert_eq!(first_byte(&id0), state_codec::FORMAT_V1);

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(
            first_byte(&id0),
            state_codec::FORMAT_V1,
            "no pass over the rows"
        );
        assert_eq!(every_device_by_id(&store), states);
        let mut again = report(2, "2026-01-02T00:00:00Z", &[("a", "1")]);
        again.device_id = states[0].report.device_id.clone();
        store.apply_reports(&[again], Utc::now()).unwrap();
        assert_eq!(first_byte(&id0), state_codec::FORMAT_V2);
        let s = store.device(&id0).unwrap().unwrap();
        assert_eq!(s.first_seen, states[0].first_seen);
        assert_eq!(
            store
                .device(states[1].report.device_id.as_str())
                .unwrap()
                .unwrap(),
            states[1]
        );
    }

    /// A version 2 file (devices keyed by id, as releases up to this one's predecessor
    /// made it) is rewritten into the clustered layout on open: the same rows, the old
    /// index gone, devices found by id, reports applying (a group move included), and the
    /// scan in (group, device) order.
    #[test]
    fn a_version_2_file_is_clustered_by_group_and_device_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let states = stored_devices(&path, 8);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE devices_v2 (
                    device_id   TEXT PRIMARY KEY,
                    group_id    INTEGER NOT NULL,
                    sequence    INTEGER NOT NULL,
                    reported_at TEXT NOT NULL,
                    state       BLOB NOT NULL
                 ) WITHOUT ROWID;
                 INSERT INTO devices_v2 SELECT device_id, group_id, sequence, reported_at, state FROM devices;
                 DROP TABLE devices;
                 ALTER TABLE devices_v2 RENAME TO devices;
                 CREATE INDEX devices_by_group ON devices(group_id, device_id);
                 UPDATE devices SET group_id = 9 WHERE device_id IN (SELECT device_id FROM devices ORDER BY device_id LIMIT 3);",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
        }
        let index_names = || -> Vec<String> {
            Connection::open(&path)
                .unwrap()
                .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'devices' ORDER BY name")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<std::result::Result<_, _>>()
                .unwrap()
        };
        assert!(index_names().contains(&"devices_by_group".to_owned()));

        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert!(!index_names().contains(&"devices_by_group".to_owned()));
        assert!(index_names().contains(&"devices_by_id".to_owned()));
        assert_eq!(every_device_by_id(&store), states);
        // Scan order: group 0's five devices, then the three moved to group 9.
        let ids = store.device_ids().unwrap();
        let moved: Vec<&str> = states[..3]
            .iter()
            .map(|s| s.report.device_id.as_str())
            .collect();
        assert_eq!(&ids[5..], moved.as_slice());
        assert_eq!(
            Connection::open(&path)
                .unwrap()
                .query_row("SELECT count(*) FROM devices WHERE group_id = 9", [], |r| r
                    .get::<_, i64>(0))
                .unwrap(),
            3
        );
        // A report moves a device back to group 0 and updates it in place.
        let mut again = report(2, "2026-01-02T00:00:00Z", &[("a", "1")]);
        again.device_id = states[0].report.device_id.clone();
        store.apply_reports(&[again], Utc::now()).unwrap();
        assert_eq!(store.device_count().unwrap(), 8);
        assert_eq!(
            store.device_ids().unwrap()[0],
            states[0].report.device_id.as_str()
        );
        let s = store
            .device(states[0].report.device_id.as_str())
            .unwrap()
            .unwrap();
        assert_eq!(s.report.sequence, 2);
        assert_eq!(s.first_seen, states[0].first_seen);
        drop(store);
        // Opening again changes nothing.
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.device_count().unwrap(), 8);
    }

    #[test]
    fn a_file_from_a_newer_release_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(SqliteStore::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let e = SqliteStore::open(&path).err().expect("refused");
        assert!(e.to_string().contains("newer than this release"), "{e}");
    }

    #[test]
    fn raw_scan_returns_the_stored_bytes_in_scan_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
        let reports: Vec<DeviceReport> = (0..5u8)
            .map(|i| {
                let mut r = report(1, "2026-01-01T00:00:00Z", &[("a", "1")]);
                r.device_id = DeviceId::parse(&format!("{i:040x}")).unwrap();
                r
            })
            .collect();
        store.apply_reports(&reports, Utc::now()).unwrap();
        let (mut raw, mut decoded) = (Vec::new(), Vec::new());
        store
            .scan_state_bytes(2, &mut |b| {
                raw.extend(b.iter().cloned());
                Ok(())
            })
            .unwrap();
        store
            .scan_devices(2, &mut |b| {
                decoded.extend(b);
                Ok(())
            })
            .unwrap();
        assert_eq!(raw.len(), 5);
        assert!(raw.iter().all(|r| state_codec::is_current(r)));
        assert_eq!(state_codec::decode_all(&raw).unwrap(), decoded);
    }

    #[test]
    fn busy_and_locked_are_transient() {
        let busy_snapshot = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(517), None);
        assert!(StoreError::from(busy_snapshot).is_busy());
        let locked = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(6), None);
        assert!(StoreError::from(locked).is_busy());
        let constraint = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(19), None);
        assert!(!StoreError::from(constraint).is_busy());
    }
}
