//! PostgreSQL support shared by the registry ([`crate::registry`]) and the shared rate
//! limiter ([`crate::limits::SharedLimiter`]) when the state store is PostgreSQL: a
//! small bounded pool of synchronous `postgres` connections (each with its prepared
//! statements), the identity schema's migration, and the rule that the synchronous
//! client never blocks an async runtime's worker thread (`pgclient::off_runtime`, shared
//! with the store, as are error descriptions and password scrubbing).
//!
//! The URL's password never appears in a message: errors name the server as
//! `postgres://user@host:port/database` ([`Target`]), rebuilt from the parsed URL.

use crate::error::{IdentityError, Result};
use parking_lot::{Condvar, Mutex};
use pgclient::passwords_in;
pub(crate) use pgclient::{describe, off_runtime};
use postgres::config::Host;
use postgres::{Client, Config, NoTls, Statement};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// How a pool's connections behave.
pub(crate) struct PoolSettings {
    /// Connections open at most.
    pub max: usize,
    /// Connect timeout when the URL names none.
    pub connect_timeout: Duration,
    /// Lock timeout (PostgreSQL interval text) when neither the URL, the role nor the
    /// database sets one.
    pub lock_timeout: &'static str,
    /// `statement_timeout` set on each connection, if any.
    pub statement_timeout: Option<&'static str>,
    /// How long a caller waits for a connection when all are in use.
    pub acquire_timeout: Duration,
    /// Commit without waiting for the WAL flush (`synchronous_commit = off`): a
    /// database crash may forget the last fraction of a second of commits, which the
    /// rate-limit windows can afford and the registry cannot.
    pub async_commit: bool,
}

/// Advisory lock keys ("identy" and a number): the identity schema's migration and
/// signing-key changes. The store's keys are "postur..."; these never collide.
const LOCK_MIGRATE: i64 = 0x6964_656e_7479_0001;
pub(crate) const LOCK_KEYS: i64 = 0x6964_656e_7479_0002;

/// The identity schema's migrations, in order (a release only ever appends). The
/// applied version is `schema_version` in `identity_meta`.
const MIGRATIONS: &[(i64, &str)] = &[(1, MIGRATION_1), (2, MIGRATION_2)];

const MIGRATION_1: &str = r#"
CREATE TABLE IF NOT EXISTS identity_apps (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    client_id text PRIMARY KEY,
    tenant_id text NOT NULL,
    name text NOT NULL,
    roles text NOT NULL,
    groups text,
    secret_hash bytea NOT NULL,
    secret_hint text NOT NULL,
    created_at bigint NOT NULL,
    secret_created_at bigint NOT NULL,
    disabled boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX IF NOT EXISTS identity_apps_client_id_nocase ON identity_apps (lower(client_id));
CREATE TABLE IF NOT EXISTS identity_users (
    name text PRIMARY KEY,
    object_id text NOT NULL,
    password_hash text NOT NULL,
    scopes text NOT NULL,
    groups text,
    created_at bigint NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS identity_users_name_nocase ON identity_users (lower(name));
CREATE TABLE IF NOT EXISTS identity_signing_keys (
    kid text PRIMARY KEY,
    pkcs8 bytea NOT NULL,
    n bytea NOT NULL,
    e bytea NOT NULL,
    created_at bigint NOT NULL,
    retired_at bigint
);
CREATE UNIQUE INDEX IF NOT EXISTS identity_signing_keys_one_active
    ON identity_signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- The shared rate-limit windows. Per (application, tenant, family) a head row, locked by
-- every admission, counts the calls admitted so far; the times of the last `keep` of them
-- (microseconds since the epoch, the database's clock) are a ring of small rows, call k
-- in slot k % keep. So an admission reads and writes a few small rows whatever the
-- window's length (an array of 1,000 times rewritten per call cost 2-3 times more).
CREATE TABLE IF NOT EXISTS identity_rate_windows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id text NOT NULL,
    tenant_id text NOT NULL,
    family text NOT NULL,
    keep int NOT NULL,
    admitted_total bigint NOT NULL,
    last_call_us bigint NOT NULL,
    UNIQUE (app_id, tenant_id, family)
) WITH (fillfactor = 80);
CREATE TABLE IF NOT EXISTS identity_rate_calls (
    window_id bigint NOT NULL REFERENCES identity_rate_windows ON DELETE CASCADE,
    slot int NOT NULL,
    at_us bigint NOT NULL,
    PRIMARY KEY (window_id, slot)
) WITH (fillfactor = 80);

-- One admission: admitted when, for every limit i, fewer than p_maxes[i] calls were
-- admitted in the last p_windows[i] microseconds (the p_maxes[i]-th newest call is older);
-- then the call is recorded. Refused calls are not recorded; retry_us is when the oldest
-- call that blocks admission leaves its window. The head row's lock makes concurrent
-- admissions (from any node) one at a time; each statement after it reads their writes.
CREATE OR REPLACE FUNCTION identity_rate_admit(
    p_app text, p_tenant text, p_family text, p_maxes int[], p_windows bigint[], p_keep int,
    OUT admitted boolean, OUT retry_us bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_head identity_rate_windows%ROWTYPE;
    v_now bigint;
    v_at bigint;
BEGIN
    SELECT * INTO v_head FROM identity_rate_windows
     WHERE app_id = p_app AND tenant_id = p_tenant AND family = p_family FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO identity_rate_windows (app_id, tenant_id, family, keep, admitted_total, last_call_us)
        VALUES (p_app, p_tenant, p_family, p_keep, 0, 0) ON CONFLICT DO NOTHING;
        SELECT * INTO STRICT v_head FROM identity_rate_windows
         WHERE app_id = p_app AND tenant_id = p_tenant AND family = p_family FOR UPDATE;
    END IF;
    IF v_head.keep <> p_keep THEN
        -- Other limits than the ring was laid out for: start the window afresh.
        DELETE FROM identity_rate_calls WHERE window_id = v_head.id;
        v_head.admitted_total := 0;
    END IF;
    v_now := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    retry_us := 0;
    FOR i IN 1 .. coalesce(array_length(p_maxes, 1), 0) LOOP
        IF p_maxes[i] <= 0 THEN
            retry_us := greatest(retry_us, p_windows[i]);
        ELSIF v_head.admitted_total >= p_maxes[i] THEN
            SELECT at_us INTO v_at FROM identity_rate_calls
             WHERE window_id = v_head.id AND slot = (v_head.admitted_total - p_maxes[i]) % p_keep;
            IF FOUND AND v_now - v_at < p_windows[i] THEN
                retry_us := greatest(retry_us, v_at + p_windows[i] - v_now);
            END IF;
        END IF;
    END LOOP;
    admitted := retry_us <= 0;
    IF admitted THEN
        INSERT INTO identity_rate_calls (window_id, slot, at_us)
        VALUES (v_head.id, v_head.admitted_total % p_keep, v_now)
        ON CONFLICT (window_id, slot) DO UPDATE SET at_us = EXCLUDED.at_us;
        UPDATE identity_rate_windows
           SET admitted_total = v_head.admitted_total + 1, keep = p_keep, last_call_us = v_now
         WHERE id = v_head.id;
    ELSIF v_head.keep <> p_keep THEN
        UPDATE identity_rate_windows SET admitted_total = 0, keep = p_keep WHERE id = v_head.id;
    END IF;
END
$$;
"#;

/// Reservations: a node may take several calls of a window in one round trip
/// ([`crate::limits::SharedLimiter`]), replacing the one-call admission (nodes of the
/// previous release refuse a database at version 2, so none calls it any more).
const MIGRATION_2: &str = r#"
DROP FUNCTION IF EXISTS identity_rate_admit(text, text, text, int[], bigint[], int);

-- One reservation of up to p_want calls (at least one) of a window. The calls are used by
-- the node from now (v_now) until v_now + p_lease_us, so each is recorded at that latest
-- time and room is judged from the earliest: k calls fit when, for every limit i, fewer
-- than p_maxes[i] - k + 1 recorded calls are newer than v_now - p_windows[i] (the
-- (p_maxes[i] - k + 1)-th newest is older). Then no window of any length p_windows[i]
-- ever holds more than p_maxes[i] calls as used, whatever the nodes. When p_want calls do
-- not fit, one is tried. granted is how many were recorded (0: refused, nothing recorded,
-- retry_us is when the oldest call that blocks one more leaves its window). The head row's
-- lock makes concurrent reservations (from any node) one at a time.
CREATE OR REPLACE FUNCTION identity_rate_reserve(
    p_app text, p_tenant text, p_family text, p_maxes int[], p_windows bigint[], p_keep int,
    p_want int, p_lease_us bigint,
    OUT granted int, OUT retry_us bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_head identity_rate_windows%ROWTYPE;
    v_now bigint;
    v_at bigint;
    v_need bigint;
BEGIN
    SELECT * INTO v_head FROM identity_rate_windows
     WHERE app_id = p_app AND tenant_id = p_tenant AND family = p_family FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO identity_rate_windows (app_id, tenant_id, family, keep, admitted_total, last_call_us)
        VALUES (p_app, p_tenant, p_family, p_keep, 0, 0) ON CONFLICT DO NOTHING;
        SELECT * INTO STRICT v_head FROM identity_rate_windows
         WHERE app_id = p_app AND tenant_id = p_tenant AND family = p_family FOR UPDATE;
    END IF;
    IF v_head.keep <> p_keep THEN
        -- Other limits than the ring was laid out for: start the window afresh.
        DELETE FROM identity_rate_calls WHERE window_id = v_head.id;
        v_head.admitted_total := 0;
    END IF;
    v_now := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    granted := least(greatest(p_want, 1), greatest(p_keep, 1));
    LOOP
        retry_us := 0;
        FOR i IN 1 .. coalesce(array_length(p_maxes, 1), 0) LOOP
            v_need := p_maxes[i] - granted + 1;
            IF p_maxes[i] <= 0 THEN
                retry_us := greatest(retry_us, p_windows[i]);
            ELSIF v_need <= 0 THEN
                retry_us := greatest(retry_us, 1);
            ELSIF v_head.admitted_total >= v_need THEN
                SELECT at_us INTO v_at FROM identity_rate_calls
                 WHERE window_id = v_head.id AND slot = (v_head.admitted_total - v_need) % p_keep;
                IF FOUND AND v_now - v_at < p_windows[i] THEN
                    retry_us := greatest(retry_us, v_at + p_windows[i] - v_now);
                END IF;
            END IF;
        END LOOP;
        EXIT WHEN retry_us <= 0 OR granted = 1;
        granted := 1;
    END LOOP;
    IF retry_us > 0 THEN
        granted := 0;
        IF v_head.keep <> p_keep THEN
            UPDATE identity_rate_windows SET admitted_total = 0, keep = p_keep WHERE id = v_head.id;
        END IF;
        RETURN;
    END IF;
    -- Never before the newest recorded call, so the ring stays in time order whatever
    -- lease another node's limits give it, or if the clock steps back (recording later
    -- than a call was used only errs on the safe side).
    v_at := greatest(v_now + p_lease_us, v_head.last_call_us);
    INSERT INTO identity_rate_calls (window_id, slot, at_us)
    SELECT v_head.id, (v_head.admitted_total + g) % p_keep, v_at
      FROM generate_series(0, granted - 1) AS g
    ON CONFLICT (window_id, slot) DO UPDATE SET at_us = EXCLUDED.at_us;
    UPDATE identity_rate_windows
       SET admitted_total = v_head.admitted_total + granted, keep = p_keep,
           last_call_us = v_at
     WHERE id = v_head.id;
END
$$;
"#;

/// Where a pool connects, for messages: `postgres://user@host:port/database`, without
/// the password (rebuilt from the parsed URL, never the URL's text).
#[derive(Clone, Debug)]
pub(crate) struct Target(String);

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Target {
    fn of(config: &Config) -> Target {
        let user = config
            .get_user()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let host = match h {
                    Host::Tcp(name) => name.clone(),
                    #[cfg(unix)]
                    Host::Unix(path) => path.display().to_string(),
                };
                match config.get_ports().get(i).or(config.get_ports().first()) {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                }
            })
            .collect();
        let db = config.get_dbname().unwrap_or_default();
        Target(format!("postgres://{user}{}/{db}", hosts.join(",")))
    }
}

/// Parses a `postgres://` URL (or libpq key=value string) for the identity's
/// connections. The error never contains the password.
pub(crate) fn parse_url(url: &str) -> Result<(Config, Target)> {
    parse_url_with(url, Duration::from_secs(10))
}

fn parse_url_with(url: &str, connect_timeout: Duration) -> Result<(Config, Target)> {
    let mut config = Config::from_str(url).map_err(|e| {
        let mut reason = describe(&e);
        for p in passwords_in(url) {
            reason = reason.replace(&p, "***");
        }
        IdentityError::PostgresUrl { reason }
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(connect_timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("posture-identity");
    }
    let target = Target::of(&config);
    Ok((config, target))
}

/// One connection and the statements prepared on it.
pub(crate) struct Conn {
    pub client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    /// `sql` prepared on this connection (once; later calls reuse it), so executing it
    /// costs one round trip.
    pub fn prepared(
        &mut self,
        sql: &'static str,
    ) -> std::result::Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

/// A bounded pool: at most `max` connections open, idle ones reused, a broken one
/// dropped and replaced on the next use.
pub(crate) struct Pool {
    config: Config,
    pub target: Target,
    settings: PoolSettings,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

/// A connection taken from the pool; given back (or, if broken, forgotten) on drop.
struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    /// Taken from the idle list (it may have broken since its last use).
    reused: bool,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut state = self.pool.state.lock();
        match self.conn.take() {
            Some(conn) if !conn.client.is_closed() => state.idle.push(conn),
            _ => state.open = state.open.saturating_sub(1),
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}

impl Drop for Pool {
    /// A client closes through its own runtime, which must not happen (nor the runtime
    /// drop) on an async runtime's thread: the identity may be dropped in async code.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.state.get_mut().idle);
        if !idle.is_empty() {
            off_runtime(move || drop(idle));
        }
    }
}

impl Pool {
    /// A pool for `url` (nothing connects yet).
    pub fn new(url: &str, settings: PoolSettings) -> Result<Pool> {
        let (config, target) = parse_url_with(url, settings.connect_timeout)?;
        Ok(Pool {
            config,
            target,
            settings,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        })
    }

    fn connect(&self) -> Result<Conn> {
        let mut client =
            self.config
                .connect(NoTls)
                .map_err(|error| IdentityError::PostgresConnect {
                    target: self.target.to_string(),
                    reason: describe(&error),
                })?;
        // Like SQLite's busy timeout: never wait for a lock forever.
        let mut settings = format!(
            "SELECT set_config('lock_timeout', '{}', false) \
             WHERE current_setting('lock_timeout') = '0'",
            self.settings.lock_timeout
        );
        if let Some(timeout) = self.settings.statement_timeout {
            settings.push_str(&format!("; SET statement_timeout = '{timeout}'"));
        }
        if self.settings.async_commit {
            settings.push_str("; SET synchronous_commit = off");
        }
        client
            .simple_query(&settings)
            .map_err(|error| IdentityError::PostgresConnect {
                target: self.target.to_string(),
                reason: describe(&error),
            })?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn lease(&self) -> Result<Lease<'_>> {
        let deadline = Instant::now() + self.settings.acquire_timeout;
        let mut state = self.state.lock();
        loop {
            while let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open = state.open.saturating_sub(1);
                    continue;
                }
                return Ok(Lease {
                    pool: self,
                    conn: Some(conn),
                    reused: true,
                });
            }
            if state.open < self.settings.max.max(1) {
                state.open += 1;
                drop(state);
                // The slot is counted: a failed connect gives it back through the lease.
                let mut lease = Lease {
                    pool: self,
                    conn: None,
                    reused: false,
                };
                lease.conn = Some(self.connect()?);
                return Ok(lease);
            }
            if self.freed.wait_until(&mut state, deadline).timed_out() {
                return Err(IdentityError::PostgresBusy {
                    target: self.target.to_string(),
                    connections: self.settings.max,
                });
            }
        }
    }

    /// Runs `work` on a pooled connection, off any async runtime's worker thread. If
    /// a reused connection turns out to be broken (the server restarted, the network
    /// dropped it), `work` runs once more on a new connection.
    pub fn with<T: Send>(&self, mut work: impl FnMut(&mut Conn) -> Result<T> + Send) -> Result<T> {
        off_runtime(|| {
            let mut retried = false;
            loop {
                let mut lease = self.lease()?;
                let Some(conn) = lease.conn.as_mut() else {
                    return Err(IdentityError::PostgresConnect {
                        target: self.target.to_string(),
                        reason: "no connection".into(),
                    });
                };
                let result = work(conn);
                let broken = result.is_err() && conn.client.is_closed();
                if broken && lease.reused && !retried {
                    retried = true;
                    continue;
                }
                return result;
            }
        })
    }
}

/// Brings the identity schema up to date, serialised across processes by a
/// transaction-scoped advisory lock (several nodes may start at once).
pub(crate) fn migrate(pool: &Pool) -> Result<()> {
    pool.with(|conn| {
        let mut tx = conn.client.transaction()?;
        // The pool's short timeouts (the limiter's) are not for waiting on another
        // node's migration.
        tx.batch_execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '30s'")?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_MIGRATE])?;
        let encoding: String = tx.query_one("SHOW server_encoding", &[])?.get(0);
        if encoding != "UTF8" {
            return Err(IdentityError::PostgresEncoding(encoding));
        }
        // No "already exists, skipping" notice in the log of every start.
        tx.batch_execute(
            "SET LOCAL client_min_messages = warning;
             CREATE TABLE IF NOT EXISTS identity_meta (key text PRIMARY KEY, value text NOT NULL)",
        )?;
        let found: i64 = tx
            .query_opt(
                "SELECT value FROM identity_meta WHERE key = 'schema_version'",
                &[],
            )?
            .map(|r| r.get::<_, String>(0))
            .map(|v| {
                v.parse().map_err(|_| {
                    IdentityError::Corrupt(format!("identity_meta.schema_version {v:?}"))
                })
            })
            .transpose()?
            .unwrap_or(0);
        let supported = MIGRATIONS.last().map_or(0, |m| m.0);
        if found > supported {
            return Err(IdentityError::SchemaTooNew { found, supported });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO identity_meta (key, value) VALUES ('schema_version', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&version.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_parse_errors_never_show_the_password() {
        let (_, target) = parse_url("postgres://posture:s3cr%40t@db.example:5433/posture").unwrap();
        assert_eq!(
            target.to_string(),
            "postgres://posture@db.example:5433/posture"
        );
        let (_, target) = parse_url("host=h user=u password=hunter2 dbname=d").unwrap();
        assert_eq!(target.to_string(), "postgres://u@h/d");
        for bad in [
            "postgres://u:hunter2@h:notaport/d",
            "postgresql://u@h/d?password=hunter2&sslmode=bogus",
            "host=h password=hunter2 port=x",
        ] {
            let e = parse_url(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
        assert_eq!(
            passwords_in("postgres://u:p%40ss@h/d?password=q"),
            ["p%40ss", "q", "p@ss"]
        );
    }
}
