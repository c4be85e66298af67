//! The PostgreSQL implementation of [`StateStore`], selected by a `postgres://` URL.
//!
//! * Client: the synchronous `postgres` crate (tokio-postgres driven by its own small
//!   runtime per connection), because the trait is synchronous and called from blocking
//!   threads; a small pool of idle connections ([`Pool`]) avoids a connect per call.
//! * Schema: numbered migrations (`migrations/postgres/NNNN_*.sql`) applied at open in one
//!   transaction and recorded in `schema_migrations`; a database newer than the binary
//!   is refused ([`StoreError::SchemaTooNew`]).
//! * Writers: a batch of reports (and a KB change) is one transaction holding a
//!   transaction-scoped advisory lock, so report writers are serialised across processes
//!   exactly as SQLite's single writer is (KB writers have their own lock and do not wait
//!   for ingest). The batch reads the stored sequences and states it needs in one query,
//!   merges in memory with the shared rules of [`crate::apply`], then writes new rows
//!   with binary `COPY` and changed rows with one `UPDATE ... FROM unnest(...)` when the
//!   batch is large (per-row statements below [`COPY_MIN_ROWS`]). The outcome is
//!   returned only after `COMMIT` succeeded.
//! * Scans: `scan_devices` reads in one `REPEATABLE READ, READ ONLY` transaction through
//!   a server-side cursor, fetching `batch` rows at a time: one consistent snapshot
//!   while reports keep arriving, in bounded memory.
//! * Busy: serialization failures and deadlocks are retried a few times; those, lock
//!   timeouts (`lock_timeout` is 30 s unless the role or URL sets one) and "too many
//!   connections" make [`StoreError::is_busy`] true.

use crate::RegistryChange;
use crate::{
    ApplyOutcome, DeviceState, FeedState, KbChange, KbImportOutcome, KbRecord, Result, ScanError,
    SnapshotMeta, StateStore, StoreError, apply, state_codec,
};
use ::postgres::binary_copy::BinaryCopyInWriter;
use ::postgres::error::SqlState;
use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, Config, IsolationLevel, NoTls, Transaction};
use apply::{BulkLoad, Stored};
use chrono::{DateTime, Utc};
use model::DeviceReport;
use parking_lot::Mutex;
/// `url` with its password replaced by `***` (shared with the identity registry).
pub use pgclient::redact_url;
use pgclient::{describe, off_runtime, passwords_in};
use rayon::prelude::*;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// The numbered migrations, in order. A release only ever appends to this list.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_initial.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_compressed_state.sql"),
    ),
];

/// Advisory lock keys ("postur" and a number): migrations, report writers, KB writers.
const LOCK_MIGRATE: i64 = 0x706f_7374_7572_0001;
const LOCK_DEVICES: i64 = 0x706f_7374_7572_0002;
const LOCK_KB: i64 = 0x706f_7374_7572_0003;
/// Leadership leases: "postl" and 24 bits of the role's SHA-256 (see [`lease_key`]).
const LOCK_LEASE_BASE: i64 = 0x706f_7374_6c00_0000;
/// How long [`PgLease::still_leading`] waits for its connection to answer.
const LEASE_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Batches with at least this many new (or changed) rows are written with `COPY`
/// (or one array `UPDATE`); smaller ones row by row, which costs fewer round trips.
pub const COPY_MIN_ROWS: usize = 32;
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;
/// Attempts of a write transaction that met a serialization failure or a deadlock.
const WRITE_ATTEMPTS: u32 = 5;
/// Connect timeout when the URL names none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Lock timeout when neither the URL (`options=-c lock_timeout=...`) nor the role or
/// database sets one: like SQLite's busy timeout.
const LOCK_TIMEOUT: &str = "30s";

/// PostgreSQL's transient conditions: worth retrying later.
pub(crate) fn is_busy(e: &::postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::LOCK_NOT_AVAILABLE
            || *c == SqlState::TOO_MANY_CONNECTIONS
    })
}

/// Conflicts a whole write transaction is retried on.
fn is_retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Postgres(e) => e.code().is_some_and(|c| {
            *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
        }),
        _ => false,
    }
}

/// A few connections kept open between calls.
struct Pool {
    config: Config,
    /// The URL with its password redacted, for messages.
    url: String,
    idle: Mutex<Vec<Client>>,
}

struct Pooled<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a pooled connection until dropped")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a pooled connection until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && !client.is_closed()
        {
            let mut idle = self.pool.idle.lock();
            if idle.len() < MAX_IDLE {
                idle.push(client);
            }
        }
    }
}

impl Pool {
    fn connect(&self) -> Result<Client> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|error| StoreError::Connect {
                url: self.url.clone(),
                error,
            })?;
        let lock_timeout: String = client
            .query_one("SELECT current_setting('lock_timeout')", &[])?
            .get(0);
        if lock_timeout == "0" {
            client.batch_execute(&format!("SET lock_timeout = '{LOCK_TIMEOUT}'"))?;
        }
        Ok(client)
    }

    fn get(&self) -> Result<Pooled<'_>> {
        let idle = self.idle.lock().pop();
        let client = match idle {
            Some(c) if !c.is_closed() => c,
            _ => self.connect()?,
        };
        Ok(Pooled {
            pool: self,
            client: Some(client),
        })
    }
}

pub struct PostgresStore {
    inner: Inner,
}

/// The store's connections and settings; its `StateStore` methods talk to the server
/// directly and must not run on an async runtime's thread (see [`off_runtime`]).
struct Inner {
    pool: Pool,
    copy_min_rows: usize,
    /// This handle's bulk load, while one runs (see `begin_bulk_load`).
    bulk_load: Mutex<Option<BulkLoad>>,
}

/// The advisory lock key of a leadership role: [`LOCK_LEASE_BASE`] and the first 24
/// bits of the role's SHA-256 (distinct from the writers' keys, stable across releases).
fn lease_key(role: &str) -> i64 {
    let digest = crate::digest(role.as_bytes());
    let bits = i64::from_str_radix(&digest[..6], 16).unwrap_or(0);
    LOCK_LEASE_BASE | bits
}

/// One change to the snapshot registry on `client`: a pooled connection, or a leader's
/// lease session ([`PgLease`]).
fn change_registry(client: &mut Client, change: RegistryChange<'_>) -> Result<()> {
    match change {
        RegistryChange::Register(meta) => client.execute(
            "INSERT INTO snapshots (seq, time_path, generated_at, dir, kb_version, devices) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &(meta.seq as i64),
                &meta.time_path,
                &meta.generated_at.to_rfc3339(),
                &meta.dir,
                &(meta.kb_version as i64),
                &(meta.devices as i64),
            ],
        )?,
        RegistryChange::Unregister(seq) => {
            client.execute("DELETE FROM snapshots WHERE seq = $1", &[&(seq as i64)])?
        }
    };
    Ok(())
}

/// PostgreSQL's leadership lease: a session-level advisory lock held on a connection
/// of its own. The server drops the lock the moment that connection ends, so a killed
/// leader's lease is free at once (a vanished machine's, once the server's TCP
/// keepalive gives up on it: 5 s idle, then 3 probes 2 s apart).
pub(crate) struct PgLease {
    role: String,
    key: i64,
    client: Mutex<Option<Client>>,
}

impl crate::Leadership for PgLease {
    fn role(&self) -> &str {
        &self.role
    }

    /// An empty query on the lease's connection, within [`LEASE_CHECK_TIMEOUT`]: while
    /// the session lives, so does its lock. Once it fails the lease is given up for good
    /// (what is left of the session is closed).
    fn still_leading(&self) -> bool {
        off_runtime(|| {
            let mut slot = self.client.lock();
            let alive = slot
                .as_mut()
                .is_some_and(|c| !c.is_closed() && c.is_valid(LEASE_CHECK_TIMEOUT).is_ok());
            if !alive && let Some(lost) = slot.take() {
                tracing::warn!(role = %self.role, "the leadership lease's connection is lost");
                drop(lost);
            }
            alive
        })
    }

    /// On the lease's session: committed only while it holds the lock. A failure that
    /// ended the session loses the lease for good, as in `still_leading`.
    fn change_registry(&self, change: RegistryChange<'_>) -> Option<Result<()>> {
        Some(off_runtime(|| {
            let mut slot = self.client.lock();
            let Some(client) = slot.as_mut() else {
                return Err(StoreError::NotLeading {
                    role: self.role.clone(),
                });
            };
            let done = change_registry(client, change);
            if done.is_err()
                && (client.is_closed() || client.is_valid(LEASE_CHECK_TIMEOUT).is_err())
            {
                tracing::warn!(role = %self.role, "the leadership lease's connection is lost");
                slot.take();
                return Err(StoreError::NotLeading {
                    role: self.role.clone(),
                });
            }
            done
        }))
    }
}

impl Drop for PgLease {
    fn drop(&mut self) {
        // Unlock explicitly (ending the session releases it too, but asynchronously),
        // then close; the client owns a runtime, which must not drop on an async thread.
        let client = self.client.get_mut().take();
        let key = self.key;
        off_runtime(move || {
            if let Some(mut c) = client
                && !c.is_closed()
            {
                let _ = c.execute("SELECT pg_advisory_unlock($1)", &[&key]);
            }
        });
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.inner.pool.url)
            .finish()
    }
}

impl PostgresStore {
    /// Connects to the database named by `url` (`postgres://user:password@host:port/db`,
    /// or libpq's key=value form) and brings its schema up to date. Errors name the URL
    /// with its password redacted.
    pub fn open(url: &str) -> Result<Self> {
        let redacted = redact_url(url);
        let mut config = Config::from_str(url).map_err(|e| {
            let mut reason = describe(&e);
            for p in passwords_in(url) {
                reason = reason.replace(&p, "***");
            }
            StoreError::BadUrl {
                url: redacted.clone(),
                reason,
            }
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("posture");
        }
        let store = Inner {
            pool: Pool {
                config,
                url: redacted,
                idle: Mutex::new(Vec::new()),
            },
            copy_min_rows: COPY_MIN_ROWS,
            bulk_load: Mutex::new(None),
        };
        off_runtime(|| store.prepare())?;
        Ok(PostgresStore { inner: store })
    }
}

impl Inner {
    /// Checks the database and brings its schema up to date.
    fn prepare(&self) -> Result<()> {
        let store = self;
        let mut conn = store.pool.get()?;
        let encoding: String = conn.query_one("SHOW server_encoding", &[])?.get(0);
        if encoding != "UTF8" {
            return Err(StoreError::BadUrl {
                url: store.pool.url.clone(),
                reason: format!(
                    "the database's encoding is {encoding}; posture needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')"
                ),
            });
        }
        migrate(&mut conn)?;
        drop(conn);
        // A bulk load killed before it ended (see `begin_bulk_load`).
        self.write(Some(LOCK_DEVICES), restore_primary_key)
    }
}

impl PostgresStore {
    /// The smallest batch written with `COPY` (for measuring the bulk path against
    /// row-by-row statements; `usize::MAX` turns `COPY` off).
    #[doc(hidden)]
    pub fn with_copy_min_rows(mut self, rows: usize) -> Self {
        self.inner.copy_min_rows = rows.max(1);
        self
    }

    /// The schema version this binary migrates to.
    pub fn schema_version() -> i64 {
        MIGRATIONS.last().map_or(0, |m| m.0)
    }
}

impl Inner {
    /// Runs `work` in a write transaction holding the advisory lock `lock`, retrying
    /// the whole transaction on a serialization failure or deadlock.
    fn write<T>(
        &self,
        lock: Option<i64>,
        mut work: impl FnMut(&mut Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut attempt = 1;
        loop {
            let result = (|| {
                let mut conn = self.pool.get()?;
                let mut tx = conn.transaction()?;
                if let Some(key) = lock {
                    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])?;
                }
                let value = work(&mut tx)?;
                tx.commit()?;
                Ok(value)
            })();
            match result {
                Err(e) if is_retryable(&e) && attempt < WRITE_ATTEMPTS => {
                    std::thread::sleep(Duration::from_millis(20 << attempt));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Applies the missing migrations in one transaction, serialised across processes.
fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_MIGRATE])?;
    // Checked first (under the lock) rather than `IF NOT EXISTS`, whose notice every
    // open would log.
    let exists: bool = tx
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        tx.batch_execute(
            "CREATE TABLE schema_migrations (
                 version    bigint PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )?;
    }
    let found: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0);
    let supported = PostgresStore::schema_version();
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The body of [`PostgresStore::apply_reports`], inside its transaction.
///
/// In a bulk load (the primary key on `device_id` set aside), a device is found, and its
/// row replaced, by its (group id, device id) key through `devices_by_group`, and a key
/// past every key the load wrote is new without a look. Returns the outcomes and the
/// load's highest key once this batch is written.
fn apply_in(
    tx: &mut Transaction<'_>,
    reports: &[DeviceReport],
    received_at: DateTime<Utc>,
    copy_min_rows: usize,
    bulk_load: Option<&BulkLoad>,
) -> Result<(Vec<ApplyOutcome>, Option<BulkLoad>)> {
    let group_of = |r: &DeviceReport| r.group.as_ref().map_or(0, |g| g.id);
    probe_by_key(tx)?;
    // Each device's group and the highest sequence it reaches in the batch: stored
    // states are fetched only for devices some report will replace.
    let mut wanted: HashMap<&str, (i64, i64)> = HashMap::with_capacity(reports.len());
    for r in reports {
        let w = wanted
            .entry(r.device_id.as_str())
            .or_insert((i64::from(group_of(r)), i64::MIN));
        w.1 = w.1.max(r.sequence as i64);
    }
    if let Some(load) = bulk_load {
        wanted.retain(|id, (g, _)| !load.is_new(*g as u32, id));
    }
    let ids: Vec<&str> = wanted.keys().copied().collect();
    let groups: Vec<i64> = wanted.values().map(|w| w.0).collect();
    let seqs: Vec<i64> = wanted.values().map(|w| w.1).collect();
    let rows = match (bulk_load, ids.is_empty()) {
        (_, true) => Vec::new(),
        (None, false) => tx.query(
            "SELECT d.device_id, d.sequence, CASE WHEN d.sequence < u.sequence THEN d.state END
             FROM devices d JOIN unnest($1::text[], $2::int8[]) AS u(device_id, sequence)
               ON d.device_id = u.device_id",
            &[&ids, &seqs],
        )?,
        (Some(_), false) => tx.query(
            "SELECT d.device_id, d.sequence, CASE WHEN d.sequence < u.sequence THEN d.state END
             FROM devices d
             JOIN unnest($1::text[], $2::int8[], $3::int8[]) AS u(device_id, group_id, sequence)
               ON d.group_id = u.group_id AND d.device_id = u.device_id",
            &[&ids, &groups, &seqs],
        )?,
    };
    let stored: HashMap<String, Stored> = rows
        .into_iter()
        .map(|r| {
            let stored = Stored {
                sequence: r.get(1),
                state: r.get(2),
            };
            (r.get(0), stored)
        })
        .collect();
    let (outcomes, rows) = apply::merge_batch(reports, &stored, received_at)?;
    drop(stored);
    let group = |r: &DeviceReport| i64::from(group_of(r));
    let (updates, inserts): (Vec<&apply::NewRow<'_>>, Vec<&apply::NewRow<'_>>) =
        rows.iter().partition(|r| r.existed);
    // In a bulk load a row is found by its whole key (no index on the device id alone):
    // the group it was found under, which the update then sets to the report's (a batch
    // may move a device it found to another group).
    let found_in = |r: &DeviceReport| wanted.get(r.device_id.as_str()).map_or(0, |w| w.0);
    let (by_key, by_key_one) = match bulk_load {
        None => ("", ""),
        Some(_) => (" AND d.group_id = u.found_in", " AND d.group_id = $6"),
    };
    if inserts.len() >= copy_min_rows {
        let sink = tx.copy_in(
            "COPY devices (device_id, group_id, sequence, reported_at, state) FROM STDIN (FORMAT binary)",
        )?;
        let mut writer = BinaryCopyInWriter::new(
            sink,
            &[
                Type::TEXT,
                Type::INT8,
                Type::INT8,
                Type::TIMESTAMPTZ,
                Type::BYTEA,
            ],
        );
        for row in &inserts {
            let r = row.report;
            writer.write(&[
                &r.device_id.as_str(),
                &group(r),
                &(r.sequence as i64),
                &r.reported_at,
                &row.state.as_slice(),
            ])?;
        }
        writer.finish()?;
    } else if !inserts.is_empty() {
        let put = tx.prepare(
            "INSERT INTO devices (device_id, group_id, sequence, reported_at, state) VALUES ($1, $2, $3, $4, $5)",
        )?;
        for row in &inserts {
            let r = row.report;
            tx.execute(
                &put,
                &[
                    &r.device_id.as_str(),
                    &group(r),
                    &(r.sequence as i64),
                    &r.reported_at,
                    &row.state.as_slice(),
                ],
            )?;
        }
    }
    if updates.len() >= copy_min_rows {
        let ids: Vec<&str> = updates
            .iter()
            .map(|r| r.report.device_id.as_str())
            .collect();
        let groups: Vec<i64> = updates.iter().map(|r| group(r.report)).collect();
        let seqs: Vec<i64> = updates.iter().map(|r| r.report.sequence as i64).collect();
        let times: Vec<DateTime<Utc>> = updates.iter().map(|r| r.report.reported_at).collect();
        let states: Vec<&[u8]> = updates.iter().map(|r| r.state.as_slice()).collect();
        let found: Vec<i64> = updates.iter().map(|r| found_in(r.report)).collect();
        tx.execute(
            &format!(
                "UPDATE devices d SET group_id = u.group_id, sequence = u.sequence,
                    reported_at = u.reported_at, state = u.state
             FROM unnest($1::text[], $2::int8[], $3::int8[], $4::timestamptz[], $5::bytea[], $6::int8[])
                  AS u(device_id, group_id, sequence, reported_at, state, found_in)
             WHERE d.device_id = u.device_id{by_key}"
            ),
            &[&ids, &groups, &seqs, &times, &states, &found],
        )?;
    } else if !updates.is_empty() {
        let put = tx.prepare(&format!(
            "UPDATE devices d SET group_id = $2, sequence = $3, reported_at = $4, state = $5 WHERE d.device_id = $1{by_key_one}"
        ))?;
        for row in &updates {
            let r = row.report;
            let (id, group, sequence, state, found) = (
                r.device_id.as_str(),
                group(r),
                r.sequence as i64,
                row.state.as_slice(),
                found_in(r),
            );
            let mut params: Vec<&(dyn ToSql + Sync)> =
                vec![&id, &group, &sequence, &r.reported_at, &state];
            if bulk_load.is_some() {
                params.push(&found);
            }
            tx.execute(&put, &params)?;
        }
    }
    let bulk_load = bulk_load.map(|load| {
        let written = rows
            .iter()
            .map(|r| (group_of(r.report), r.report.device_id.as_str()));
        load.past(written)
    });
    Ok((outcomes, bulk_load))
}

/// Has the rest of `tx` find a batch's devices by probing the key indexes, device by
/// device. A batch is a few thousand devices; below about a million, the planner,
/// pricing a random page read at four sequential ones, instead reads the whole table
/// into a hash (at 100,000 devices 35 ms for a batch's read and 74 ms for its update,
/// where probing takes a few): every batch would cost in proportion to the fleet.
fn probe_by_key(tx: &mut Transaction<'_>) -> Result<()> {
    tx.batch_execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL enable_seqscan = off")?;
    Ok(())
}

/// Builds the primary key on `device_id` if a bulk load set it aside. A load that wrote a
/// device under two groups left two rows for it; as a report moving a device to another
/// group does, the row of the higher sequence is kept (a sort, paid only by such a load).
fn restore_primary_key(tx: &mut Transaction<'_>) -> Result<()> {
    let keyed: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'devices'::regclass AND contype = 'p')",
            &[],
        )?
        .get(0);
    if keyed {
        return Ok(());
    }
    const ADD_KEY: &str = "ALTER TABLE devices ADD CONSTRAINT devices_pkey PRIMARY KEY (device_id)";
    let mut attempt = tx.transaction()?;
    match attempt.batch_execute(ADD_KEY) {
        Ok(()) => return Ok(attempt.commit()?),
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => drop(attempt),
        Err(e) => return Err(e.into()),
    }
    let dropped = tx.execute(
        "DELETE FROM devices d USING (
           SELECT ctid, row_number() OVER (
             PARTITION BY device_id ORDER BY sequence DESC, group_id DESC) AS rank
           FROM devices) r
         WHERE d.ctid = r.ctid AND r.rank > 1",
        &[],
    )?;
    tracing::warn!(
        rows = dropped,
        "the bulk load wrote devices under two groups: kept each one's latest row"
    );
    tx.batch_execute(ADD_KEY)?;
    Ok(())
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The body of [`PostgresStore::kb_commit`], inside its transaction.
fn kb_commit_in(
    tx: &mut Transaction<'_>,
    change: &KbChange,
    copy_min_rows: usize,
) -> Result<KbImportOutcome> {
    let records = &change.records;
    // Each distinct key's last occurrence (its body is what the KB ends with).
    let mut last: HashMap<(&str, &str), usize> = HashMap::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        last.insert((r.source.as_str(), r.id.as_str()), i);
    }
    let (sources, ids): (Vec<&str>, Vec<&str>) = last.keys().copied().unzip();
    // Digests of the stored bodies (not the bodies: a full NVD re-import is ~1 GB).
    let mut current: HashMap<(String, String), [u8; 32]> = tx
        .query(
            "SELECT k.source, k.id, sha256(convert_to(k.body, 'UTF8'))
             FROM kb_records k JOIN unnest($1::text[], $2::text[]) AS u(source, id)
               ON k.source = u.source AND k.id = u.id",
            &[&sources, &ids],
        )?
        .into_iter()
        .map(|row| {
            let digest: Vec<u8> = row.get(2);
            let digest: [u8; 32] = digest
                .try_into()
                .map_err(|_| StoreError::Corrupt("sha256 of a KB record is not 32 bytes".into()))?;
            Ok(((row.get(0), row.get(1)), digest))
        })
        .collect::<Result<_>>()?;
    let stored_keys: std::collections::HashSet<(String, String)> =
        current.keys().cloned().collect();
    let stored_digests = current.clone();
    let digests: Vec<[u8; 32]> = records
        .par_iter()
        .map(|r| sha256(r.body.as_bytes()))
        .collect();
    // Count in order, as applying the records one by one would.
    let (mut inserted, mut updated, mut unchanged) = (0, 0, 0);
    for (r, d) in records.iter().zip(&digests) {
        let key = (r.source.clone(), r.id.clone());
        match current.get(&key) {
            Some(old) if old == d => unchanged += 1,
            Some(_) => {
                updated += 1;
                current.insert(key, *d);
            }
            None => {
                inserted += 1;
                current.insert(key, *d);
            }
        }
    }
    // Write each key's final body where it differs from what is stored.
    let mut new_rows: Vec<&KbRecord> = Vec::new();
    let mut changed_rows: Vec<&KbRecord> = Vec::new();
    let mut finals: Vec<usize> = last.values().copied().collect();
    finals.sort_unstable();
    for i in finals {
        let r = &records[i];
        let key = (r.source.clone(), r.id.clone());
        if !stored_keys.contains(&key) {
            new_rows.push(r);
        } else if stored_digests.get(&key) != Some(&digests[i]) {
            changed_rows.push(r);
        }
    }
    if new_rows.len() >= copy_min_rows {
        let sink = tx.copy_in("COPY kb_records (source, id, body) FROM STDIN (FORMAT binary)")?;
        let mut writer = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::TEXT, Type::TEXT]);
        for r in &new_rows {
            writer.write(&[&r.source, &r.id, &r.body])?;
        }
        writer.finish()?;
    } else if !new_rows.is_empty() {
        let put = tx.prepare("INSERT INTO kb_records (source, id, body) VALUES ($1, $2, $3)")?;
        for r in &new_rows {
            tx.execute(&put, &[&r.source, &r.id, &r.body])?;
        }
    }
    if changed_rows.len() >= copy_min_rows {
        let sources: Vec<&str> = changed_rows.iter().map(|r| r.source.as_str()).collect();
        let ids: Vec<&str> = changed_rows.iter().map(|r| r.id.as_str()).collect();
        let bodies: Vec<&str> = changed_rows.iter().map(|r| r.body.as_str()).collect();
        tx.execute(
            "UPDATE kb_records k SET body = u.body
             FROM unnest($1::text[], $2::text[], $3::text[]) AS u(source, id, body)
             WHERE k.source = u.source AND k.id = u.id",
            &[&sources, &ids, &bodies],
        )?;
    } else if !changed_rows.is_empty() {
        let put = tx.prepare("UPDATE kb_records SET body = $3 WHERE source = $1 AND id = $2")?;
        for r in &changed_rows {
            tx.execute(&put, &[&r.source, &r.id, &r.body])?;
        }
    }
    let mut version = kb_version_in(tx)?;
    if inserted + updated > 0 {
        version += 1;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('kb_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&version.to_string()],
        )?;
    }
    for f in &change.files {
        tx.execute(
            "INSERT INTO kb_files (digest, file_name, imported_at, records) VALUES ($1, $2, now(), $3)
             ON CONFLICT (digest) DO NOTHING",
            &[&f.digest, &f.name, &(f.records as i64)],
        )?;
    }
    for f in &change.feeds {
        let records: i64 = tx
            .query_one(
                "SELECT count(*) FROM kb_records WHERE source = $1",
                &[&f.feed],
            )?
            .get(0);
        tx.execute(
            "INSERT INTO feed_sync (feed, cursor, last_sync, last_import, records) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (feed) DO UPDATE SET
               cursor = coalesce(excluded.cursor, feed_sync.cursor),
               last_sync = coalesce(excluded.last_sync, feed_sync.last_sync),
               last_import = coalesce(excluded.last_import, feed_sync.last_import),
               records = excluded.records",
            &[
                &f.feed,
                &f.cursor,
                &f.synced_at.map(|t| t.to_rfc3339()),
                &f.imported_at.map(|t| t.to_rfc3339()),
                &records,
            ],
        )?;
        tx.execute("DELETE FROM feed_staging WHERE feed = $1", &[&f.feed])?;
    }
    Ok(KbImportOutcome::of(
        change, inserted, updated, unchanged, version,
    ))
}

fn kb_version_in(tx: &mut Transaction<'_>) -> Result<u64> {
    let v: Option<String> = tx
        .query_opt("SELECT value FROM settings WHERE key = 'kb_version'", &[])?
        .map(|r| r.get(0));
    parse_kb_version(v)
}

fn parse_kb_version(v: Option<String>) -> Result<u64> {
    v.map_or(Ok(0), |s| {
        s.parse()
            .map_err(|_| StoreError::Corrupt(format!("kb_version {s:?}")))
    })
}

fn parse_time(what: &str, value: Option<String>) -> Result<Option<DateTime<Utc>>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
        })
        .transpose()
}

impl Inner {
    /// Every device's stored state bytes in scan order (group id, device id), `batch`
    /// rows at a time, from one REPEATABLE READ snapshot while reports keep arriving.
    fn scan_state_rows(
        &self,
        batch: usize,
        visit: &mut dyn FnMut(Vec<Vec<u8>>) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        let batch = batch.clamp(1, i32::MAX as usize);
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(StoreError::from)?;
        tx.batch_execute(
            "DECLARE device_scan NO SCROLL CURSOR FOR
             SELECT state FROM devices ORDER BY group_id, device_id",
        )
        .map_err(StoreError::from)?;
        let fetch = format!("FETCH FORWARD {batch} FROM device_scan");
        loop {
            let rows = tx.query(fetch.as_str(), &[]).map_err(StoreError::from)?;
            let done = rows.len() < batch;
            if !rows.is_empty() {
                let raw: Vec<Vec<u8>> = rows.into_iter().map(|r| r.get(0)).collect();
                visit(raw)?;
            }
            if done {
                break;
            }
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(())
    }
}

impl Inner {
    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<::postgres::Row>> {
        Ok(self.pool.get()?.query(sql, params)?)
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        Ok(self.pool.get()?.execute(sql, params)?)
    }
}

impl StateStore for Inner {
    fn apply_reports(
        &self,
        reports: &[DeviceReport],
        received_at: DateTime<Utc>,
    ) -> Result<Vec<ApplyOutcome>> {
        if reports.is_empty() {
            return Ok(Vec::new());
        }
        let mut bulk_load = self.bulk_load.lock();
        let (outcomes, load) = self.write(Some(LOCK_DEVICES), |tx| {
            apply_in(
                tx,
                reports,
                received_at,
                self.copy_min_rows,
                bulk_load.as_ref(),
            )
        })?;
        // Only once committed: a batch rolled back wrote no key.
        if load.is_some() {
            *bulk_load = load;
        }
        Ok(outcomes)
    }

    /// Sets the primary key on `device_id` aside while `devices` is empty: a seed writes
    /// in (group id, device id) order, so the heap and `devices_by_group` take each row
    /// at their end, but the device ids land all over the primary key's index. Built at
    /// the end, it is one sort. Meanwhile other processes' lookups by device id scan the
    /// table; an interrupted load is made whole on the next open (`restore_primary_key`).
    fn begin_bulk_load(&self) -> Result<bool> {
        let mut bulk_load = self.bulk_load.lock();
        let began = self.write(Some(LOCK_DEVICES), |tx| {
            let empty: bool = tx
                .query_one("SELECT NOT EXISTS (SELECT 1 FROM devices)", &[])?
                .get(0);
            if empty {
                tx.batch_execute("ALTER TABLE devices DROP CONSTRAINT IF EXISTS devices_pkey")?;
            }
            Ok(empty)
        })?;
        *bulk_load = began.then(BulkLoad::default);
        Ok(began)
    }

    fn end_bulk_load(&self) -> Result<()> {
        let mut bulk_load = self.bulk_load.lock();
        self.write(Some(LOCK_DEVICES), restore_primary_key)?;
        *bulk_load = None;
        Ok(())
    }

    fn device_count(&self) -> Result<u64> {
        let n: i64 = self.query("SELECT count(*) FROM devices", &[])?[0].get(0);
        Ok(n.max(0) as u64)
    }

    fn device(&self, id: &str) -> Result<Option<DeviceState>> {
        let rows = self.query("SELECT state FROM devices WHERE device_id = $1", &[&id])?;
        rows.first()
            .map(|r| state_codec::decode(r.get::<_, &[u8]>(0)))
            .transpose()
    }

    fn device_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .query(
                "SELECT device_id FROM devices ORDER BY group_id, device_id",
                &[],
            )?
            .into_iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn devices(&self, ids: &[String]) -> Result<Vec<DeviceState>> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction()?;
        probe_by_key(&mut tx)?;
        let rows = tx.query(
            "SELECT device_id, state FROM devices WHERE device_id = ANY($1)",
            &[&ids],
        )?;
        tx.commit()?;
        let mut found: HashMap<String, Vec<u8>> =
            rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
        // In the order asked for, missing ones skipped (a repeated id is repeated).
        let mut raw = Vec::with_capacity(ids.len());
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            if seen.insert(id.as_str()) {
                if let Some(b) = found.remove(id) {
                    raw.push((id.as_str(), b));
                }
            } else if let Some((_, b)) = raw.iter().find(|(i, _)| *i == id.as_str()) {
                raw.push((id.as_str(), b.clone()));
            }
        }
        raw.par_iter()
            .map(|(_, b)| state_codec::decode(b))
            .collect()
    }

    fn checkpoint(&self) -> Result<()> {
        // Nothing to fold back (the server checkpoints by itself); fresh statistics
        // after a bulk load keep the planner on the indexes.
        self.pool
            .get()?
            .batch_execute("ANALYZE devices, kb_records")?;
        Ok(())
    }

    fn scan_state_bytes(
        &self,
        batch: usize,
        visit: &mut crate::RawVisitor<'_>,
    ) -> Result<(), ScanError> {
        crate::read_ahead(|send| self.scan_state_rows(batch, send), visit)
    }

    fn kb_commit(&self, change: &KbChange) -> Result<KbImportOutcome> {
        self.write(Some(LOCK_KB), |tx| {
            kb_commit_in(tx, change, self.copy_min_rows)
        })
    }

    fn feed_states(&self) -> Result<Vec<FeedState>> {
        self.query(
            "SELECT feed, cursor, last_sync, last_import, records FROM feed_sync ORDER BY feed",
            &[],
        )?
        .into_iter()
        .map(|r| {
            let feed: String = r.get(0);
            Ok(FeedState {
                cursor: r.get(1),
                last_sync: parse_time(&format!("feed {feed} last_sync"), r.get(2))?,
                last_import: parse_time(&format!("feed {feed} last_import"), r.get(3))?,
                records: r.get::<_, i64>(4).max(0) as u64,
                feed,
            })
        })
        .collect()
    }

    fn put_feed_cursor(&self, feed: &str, cursor: &str) -> Result<()> {
        self.execute(
            "INSERT INTO feed_sync (feed, cursor) VALUES ($1, $2)
             ON CONFLICT (feed) DO UPDATE SET cursor = excluded.cursor",
            &[&feed, &cursor],
        )?;
        Ok(())
    }

    fn stage_feed_part(&self, feed: &str, part: u64, body: &[u8]) -> Result<()> {
        self.execute(
            "INSERT INTO feed_staging (feed, part, body) VALUES ($1, $2, $3)
             ON CONFLICT (feed, part) DO UPDATE SET body = excluded.body",
            &[&feed, &(part as i64), &body],
        )?;
        Ok(())
    }

    fn staged_feed_parts(&self, feed: &str) -> Result<Vec<(u64, Vec<u8>)>> {
        Ok(self
            .query(
                "SELECT part, body FROM feed_staging WHERE feed = $1 ORDER BY part",
                &[&feed],
            )?
            .into_iter()
            .map(|r| (r.get::<_, i64>(0).max(0) as u64, r.get(1)))
            .collect())
    }

    fn clear_feed_staging(&self, feed: &str) -> Result<()> {
        self.execute("DELETE FROM feed_staging WHERE feed = $1", &[&feed])?;
        Ok(())
    }

    fn kb_source_counts(&self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .query(
                "SELECT source, count(*) FROM kb_records GROUP BY source ORDER BY source",
                &[],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
            .collect())
    }

    fn kb_records(&self, source: &str) -> Result<Vec<KbRecord>> {
        Ok(self
            .query(
                "SELECT id, body FROM kb_records WHERE source = $1 ORDER BY id",
                &[&source],
            )?
            .into_iter()
            .map(|r| KbRecord {
                source: source.to_owned(),
                id: r.get(0),
                body: r.get(1),
            })
            .collect())
    }

    fn kb_version(&self) -> Result<u64> {
        let v = self
            .query("SELECT value FROM settings WHERE key = 'kb_version'", &[])?
            .first()
            .map(|r| r.get(0));
        parse_kb_version(v)
    }

    fn snapshots(&self) -> Result<Vec<SnapshotMeta>> {
        self.query(
            "SELECT seq, time_path, generated_at, dir, kb_version, devices FROM snapshots ORDER BY seq",
            &[],
        )?
        .into_iter()
        .map(|r| {
            let seq: i64 = r.get(0);
            let generated_at =
                parse_time(&format!("snapshot {seq} generated_at"), Some(r.get(2)))?
                    .ok_or_else(|| StoreError::Corrupt(format!("snapshot {seq} generated_at")))?;
            Ok(SnapshotMeta {
                seq: seq as u64,
                time_path: r.get(1),
                generated_at,
                dir: r.get(3),
                kb_version: r.get::<_, i64>(4) as u64,
                devices: r.get::<_, i64>(5) as u64,
            })
        })
        .collect()
    }

    fn register_snapshot(&self, meta: &SnapshotMeta) -> Result<()> {
        change_registry(&mut *self.pool.get()?, RegistryChange::Register(meta))
    }

    fn unregister_snapshot(&self, seq: u64) -> Result<()> {
        change_registry(&mut *self.pool.get()?, RegistryChange::Unregister(seq))
    }

    fn get_setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .query("SELECT value FROM settings WHERE key = $1", &[&key])?
            .first()
            .map(|r| r.get(0)))
    }

    fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .query(
                "SELECT key, value FROM settings WHERE starts_with(key, $1) ORDER BY key",
                &[&prefix],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn delete_setting(&self, key: &str) -> Result<bool> {
        Ok(self.execute("DELETE FROM settings WHERE key = $1", &[&key])? > 0)
    }

    fn ping(&self) -> Result<()> {
        self.query("SELECT 1", &[])?;
        Ok(())
    }

    /// `pg_try_advisory_lock` on a new connection the lease keeps (see [`PgLease`]).
    fn lead(&self, role: &str) -> Result<Option<Box<dyn crate::Leadership>>> {
        crate::lease::check_role(role)?;
        let key = lease_key(role);
        let mut client = self.pool.connect()?;
        // The server notices a vanished leader's machine within about 11 s (on TCP
        // connections; Unix sockets ignore these). Best effort: some platforms refuse.
        for setting in [
            "SET tcp_keepalives_idle = 5",
            "SET tcp_keepalives_interval = 2",
            "SET tcp_keepalives_count = 3",
        ] {
            if let Err(e) = client.batch_execute(setting) {
                tracing::debug!(error = %describe(&e), setting, "lease connection keepalive");
            }
        }
        client.execute(
            "SELECT set_config('application_name', $1, false)",
            &[&format!("posture lease {role}")],
        )?;
        let led: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])?
            .get(0);
        if !led {
            return Ok(None);
        }
        Ok(Some(Box::new(PgLease {
            role: role.to_owned(),
            key,
            client: Mutex::new(Some(client)),
        })))
    }
}

/// Every method off the async runtime's threads ([`off_runtime`]), then [`Inner`]'s.
impl StateStore for PostgresStore {
    fn apply_reports(
        &self,
        reports: &[DeviceReport],
        received_at: DateTime<Utc>,
    ) -> Result<Vec<ApplyOutcome>> {
        off_runtime(|| self.inner.apply_reports(reports, received_at))
    }
    fn begin_bulk_load(&self) -> Result<bool> {
        off_runtime(|| self.inner.begin_bulk_load())
    }
    fn end_bulk_load(&self) -> Result<()> {
        off_runtime(|| self.inner.end_bulk_load())
    }
    fn device_count(&self) -> Result<u64> {
        off_runtime(|| self.inner.device_count())
    }
    fn device(&self, id: &str) -> Result<Option<DeviceState>> {
        off_runtime(|| self.inner.device(id))
    }
    fn device_ids(&self) -> Result<Vec<String>> {
        off_runtime(|| self.inner.device_ids())
    }
    fn devices(&self, ids: &[String]) -> Result<Vec<DeviceState>> {
        off_runtime(|| self.inner.devices(ids))
    }
    fn checkpoint(&self) -> Result<()> {
        off_runtime(|| self.inner.checkpoint())
    }
    fn scan_state_bytes(
        &self,
        batch: usize,
        visit: &mut crate::RawVisitor<'_>,
    ) -> Result<(), ScanError> {
        scan_off_runtime(|| self.inner.scan_state_bytes(batch, visit))
    }
    fn kb_commit(&self, change: &KbChange) -> Result<KbImportOutcome> {
        off_runtime(|| self.inner.kb_commit(change))
    }
    fn feed_states(&self) -> Result<Vec<FeedState>> {
        off_runtime(|| self.inner.feed_states())
    }
    fn put_feed_cursor(&self, feed: &str, cursor: &str) -> Result<()> {
        off_runtime(|| self.inner.put_feed_cursor(feed, cursor))
    }
    fn stage_feed_part(&self, feed: &str, part: u64, body: &[u8]) -> Result<()> {
        off_runtime(|| self.inner.stage_feed_part(feed, part, body))
    }
    fn staged_feed_parts(&self, feed: &str) -> Result<Vec<(u64, Vec<u8>)>> {
        off_runtime(|| self.inner.staged_feed_parts(feed))
    }
    fn clear_feed_staging(&self, feed: &str) -> Result<()> {
        off_runtime(|| self.inner.clear_feed_staging(feed))
    }
    fn kb_source_counts(&self) -> Result<Vec<(String, u64)>> {
        off_runtime(|| self.inner.kb_source_counts())
    }
    fn kb_records(&self, source: &str) -> Result<Vec<KbRecord>> {
        off_runtime(|| self.inner.kb_records(source))
    }
    fn kb_version(&self) -> Result<u64> {
        off_runtime(|| self.inner.kb_version())
    }
    fn snapshots(&self) -> Result<Vec<SnapshotMeta>> {
        off_runtime(|| self.inner.snapshots())
    }
    fn register_snapshot(&self, meta: &SnapshotMeta) -> Result<()> {
        off_runtime(|| self.inner.register_snapshot(meta))
    }
    fn unregister_snapshot(&self, seq: u64) -> Result<()> {
        off_runtime(|| self.inner.unregister_snapshot(seq))
    }
    fn get_setting(&self, key: &str) -> Result<Option<String>> {
        off_runtime(|| self.inner.get_setting(key))
    }
    fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        off_runtime(|| self.inner.put_setting(key, value))
    }
    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        off_runtime(|| self.inner.settings_with_prefix(prefix))
    }
    fn delete_setting(&self, key: &str) -> Result<bool> {
        off_runtime(|| self.inner.delete_setting(key))
    }
    fn ping(&self) -> Result<()> {
        off_runtime(|| self.inner.ping())
    }
    fn lead(&self, role: &str) -> Result<Option<Box<dyn crate::Leadership>>> {
        off_runtime(|| self.inner.lead(role))
    }
}

/// Runs a scan (whose visitor is not `Send`, so only `block_in_place` can take it off
/// the runtime) where the sync client may block.
fn scan_off_runtime(scan: impl FnOnce() -> Result<(), ScanError>) -> Result<(), ScanError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => scan(),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(scan)
        }
        Ok(_) => Err(ScanError::Store(StoreError::Corrupt(
            "a scan was called on a single-threaded async runtime; call it from a blocking thread"
                .into(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_url_is_an_error_naming_the_redacted_url() {
        let e = PostgresStore::open("postgres://u:hunter2@h:notaport/d").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("postgres://u:***@h:notaport/d"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }
}
