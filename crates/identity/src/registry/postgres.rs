//! The registry in the PostgreSQL state store's database: tables `identity_meta`,
//! `identity_apps`, `identity_users` and `identity_signing_keys` (schema in
//! [`crate::pg`]), shared by every node that serves from that database.
//!
//! Same behaviour as the SQLite file: client ids and user names are compared
//! case-insensitively (unique indexes on `lower(...)`), the tenant id is set once
//! (`INSERT ... ON CONFLICT DO NOTHING`, then read back, so nodes starting together
//! agree), key changes are serialised by an advisory lock and bump `keys_version`,
//! which every node polls as it polls the SQLite file's.

use super::{AppRow, KeyRow, UserRow, json_list, to_json};
use crate::error::Result;
use crate::pg::{self, Conn, LOCK_KEYS, Pool, PoolSettings};
use std::time::Duration;

/// The registry's connections: a few (token requests and the application-status
/// checks each hold one briefly), durable commits, SQLite-like waits.
fn settings() -> PoolSettings {
    PoolSettings {
        max: 4,
        connect_timeout: Duration::from_secs(10),
        lock_timeout: "30s",
        statement_timeout: None,
        acquire_timeout: Duration::from_secs(30),
        async_commit: false,
    }
}

pub(crate) struct PostgresRegistry {
    pool: Pool,
}

const SELECT_APP: &str = "SELECT client_id, tenant_id, name, roles, groups, secret_hash, secret_hint, created_at, secret_created_at, disabled
     FROM identity_apps WHERE lower(client_id) = lower($1)";
const SELECT_APPS: &str = "SELECT client_id, tenant_id, name, roles, groups, secret_hash, secret_hint, created_at, secret_created_at, disabled
     FROM identity_apps ORDER BY created_at, seq";

fn app_from_row(r: &postgres::Row) -> Result<AppRow> {
    let roles: String = r.try_get(3)?;
    let groups: Option<String> = r.try_get(4)?;
    Ok(AppRow {
        client_id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        name: r.try_get(2)?,
        roles: json_list(&roles, "identity_apps.roles")?,
        groups: groups
            .map(|g| json_list(&g, "identity_apps.groups"))
            .transpose()?,
        secret_hash: r.try_get(5)?,
        secret_hint: r.try_get(6)?,
        created_at: r.try_get(7)?,
        secret_created_at: r.try_get(8)?,
        disabled: r.try_get(9)?,
    })
}

fn user_from_row(r: &postgres::Row) -> Result<UserRow> {
    let scopes: String = r.try_get(3)?;
    let groups: Option<String> = r.try_get(4)?;
    Ok(UserRow {
        name: r.try_get(0)?,
        object_id: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        scopes: json_list(&scopes, "identity_users.scopes")?,
        groups: groups
            .map(|g| json_list(&g, "identity_users.groups"))
            .transpose()?,
        created_at: r.try_get(5)?,
    })
}

/// `keys_version` as stored (text, as in SQLite's `meta`); 0 when unset.
fn parse_version(value: Option<String>) -> i64 {
    value.and_then(|v| v.parse().ok()).unwrap_or(0)
}

const SELECT_META: &str = "SELECT value FROM identity_meta WHERE key = $1";
const BUMP_KEYS_VERSION: &str =
    "INSERT INTO identity_meta (key, value) VALUES ('keys_version', '1')
     ON CONFLICT (key) DO UPDATE SET value = (identity_meta.value::bigint + 1)::text";

impl PostgresRegistry {
    /// Connects and brings the identity tables up to date.
    pub fn open(url: &str) -> Result<PostgresRegistry> {
        let pool = Pool::new(url, settings())?;
        pg::migrate(&pool)?;
        Ok(PostgresRegistry { pool })
    }

    fn with<T: Send>(&self, work: impl FnMut(&mut Conn) -> Result<T> + Send) -> Result<T> {
        self.pool.with(work)
    }

    pub fn meta_init(&self, key: &str, value: &str) -> Result<String> {
        self.with(|c| {
            // Two statements, each its own snapshot: a row another node inserted
            // concurrently (our insert waited for it, then did nothing) is read back.
            let insert = c.prepared(
                "INSERT INTO identity_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )?;
            c.client.execute(&insert, &[&key, &value])?;
            let select = c.prepared(SELECT_META)?;
            Ok(c.client.query_one(&select, &[&key])?.try_get(0)?)
        })
    }

    pub fn keys_version(&self) -> Result<i64> {
        self.with(|c| {
            let select = c.prepared(SELECT_META)?;
            let value = c.client.query_opt(&select, &[&"keys_version"])?;
            Ok(parse_version(value.map(|r| r.try_get(0)).transpose()?))
        })
    }

    // ---- applications ----

    pub fn insert_app(&self, app: &AppRow) -> Result<()> {
        let roles = to_json(&app.roles);
        let groups = app.groups.as_ref().map(to_json);
        self.with(|c| {
            let insert = c.prepared(
                "INSERT INTO identity_apps (client_id, tenant_id, name, roles, groups, secret_hash, secret_hint, created_at, secret_created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )?;
            c.client.execute(
                &insert,
                &[
                    &app.client_id,
                    &app.tenant_id,
                    &app.name,
                    &roles,
                    &groups,
                    &app.secret_hash,
                    &app.secret_hint,
                    &app.created_at,
                    &app.secret_created_at,
                ],
            )?;
            Ok(())
        })
    }

    pub fn app(&self, client_id: &str) -> Result<Option<AppRow>> {
        self.with(|c| {
            let select = c.prepared(SELECT_APP)?;
            c.client
                .query_opt(&select, &[&client_id])?
                .map(|r| app_from_row(&r))
                .transpose()
        })
    }

    pub fn apps(&self) -> Result<Vec<AppRow>> {
        self.with(|c| {
            let select = c.prepared(SELECT_APPS)?;
            c.client
                .query(&select, &[])?
                .iter()
                .map(app_from_row)
                .collect()
        })
    }

    pub fn set_app_secret(
        &self,
        client_id: &str,
        hash: &[u8],
        hint: &str,
        now: i64,
    ) -> Result<bool> {
        self.with(|c| {
            let update = c.prepared(
                "UPDATE identity_apps SET secret_hash = $2, secret_hint = $3, secret_created_at = $4
                 WHERE lower(client_id) = lower($1)",
            )?;
            Ok(c.client
                .execute(&update, &[&client_id, &hash, &hint, &now])?
                == 1)
        })
    }

    pub fn set_app_disabled(&self, client_id: &str, disabled: bool) -> Result<bool> {
        self.with(|c| {
            let update = c.prepared(
                "UPDATE identity_apps SET disabled = $2 WHERE lower(client_id) = lower($1)",
            )?;
            Ok(c.client.execute(&update, &[&client_id, &disabled])? == 1)
        })
    }

    pub fn delete_app(&self, client_id: &str) -> Result<bool> {
        self.with(|c| {
            let delete =
                c.prepared("DELETE FROM identity_apps WHERE lower(client_id) = lower($1)")?;
            Ok(c.client.execute(&delete, &[&client_id])? == 1)
        })
    }

    // ---- users ----

    pub fn insert_user(&self, user: &UserRow) -> Result<bool> {
        let scopes = to_json(&user.scopes);
        let groups = user.groups.as_ref().map(to_json);
        self.with(|c| {
            // Any unique index conflicts: the name, or the same name in another case.
            let insert = c.prepared(
                "INSERT INTO identity_users (name, object_id, password_hash, scopes, groups, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )?;
            Ok(c.client.execute(
                &insert,
                &[
                    &user.name,
                    &user.object_id,
                    &user.password_hash,
                    &scopes,
                    &groups,
                    &user.created_at,
                ],
            )? == 1)
        })
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRow>> {
        self.with(|c| {
            let select = c.prepared(
                "SELECT name, object_id, password_hash, scopes, groups, created_at
                 FROM identity_users WHERE lower(name) = lower($1)",
            )?;
            c.client
                .query_opt(&select, &[&name])?
                .map(|r| user_from_row(&r))
                .transpose()
        })
    }

    pub fn users(&self) -> Result<Vec<UserRow>> {
        self.with(|c| {
            let select = c.prepared(
                "SELECT name, object_id, password_hash, scopes, groups, created_at
                 FROM identity_users ORDER BY lower(name) COLLATE \"C\", name COLLATE \"C\"",
            )?;
            c.client
                .query(&select, &[])?
                .iter()
                .map(user_from_row)
                .collect()
        })
    }

    pub fn delete_user(&self, name: &str) -> Result<bool> {
        self.with(|c| {
            let delete = c.prepared("DELETE FROM identity_users WHERE lower(name) = lower($1)")?;
            Ok(c.client.execute(&delete, &[&name])? == 1)
        })
    }

    // ---- signing keys ----

    pub fn load_keys(&self, now: i64, grace: i64) -> Result<(i64, Vec<KeyRow>)> {
        self.with(|c| {
            let mut tx = c.client.transaction()?;
            let purged = tx.execute(
                "DELETE FROM identity_signing_keys WHERE retired_at IS NOT NULL AND retired_at + $1 < $2",
                &[&grace, &now],
            )?;
            if purged > 0 {
                tx.execute(BUMP_KEYS_VERSION, &[])?;
            }
            // The version before the keys (each statement reads the latest commits): a
            // rotation between the two leaves a version older than the keys read, so
            // the next poll loads again, never the reverse.
            let version = parse_version(
                tx.query_opt(SELECT_META, &[&"keys_version"])?
                    .map(|r| r.try_get(0))
                    .transpose()?,
            );
            let rows = tx
                .query(
                    "SELECT kid, pkcs8, n, e, created_at, retired_at FROM identity_signing_keys
                     ORDER BY created_at DESC, kid",
                    &[],
                )?
                .iter()
                .map(|r| {
                    Ok(KeyRow {
                        kid: r.try_get(0)?,
                        pkcs8: r.try_get(1)?,
                        n: r.try_get(2)?,
                        e: r.try_get(3)?,
                        created_at: r.try_get(4)?,
                        retired_at: r.try_get(5)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            tx.commit()?;
            Ok((version, rows))
        })
    }

    pub fn add_key(&self, key: &KeyRow, retire_others: bool, now: i64) -> Result<()> {
        self.with(|c| {
            let mut tx = c.client.transaction()?;
            // Key changes of every node, one at a time (SQLite: an IMMEDIATE transaction).
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEYS])?;
            let active: i64 = tx
                .query_one(
                    "SELECT count(*) FROM identity_signing_keys WHERE retired_at IS NULL",
                    &[],
                )?
                .try_get(0)?;
            if active > 0 && !retire_others {
                return Ok(());
            }
            tx.execute(
                "UPDATE identity_signing_keys SET retired_at = $1 WHERE retired_at IS NULL",
                &[&now],
            )?;
            tx.execute(
                "INSERT INTO identity_signing_keys (kid, pkcs8, n, e, created_at, retired_at)
                 VALUES ($1, $2, $3, $4, $5, NULL)",
                &[&key.kid, &key.pkcs8, &key.n, &key.e, &key.created_at],
            )?;
            tx.execute(BUMP_KEYS_VERSION, &[])?;
            tx.commit()?;
            Ok(())
        })
    }
}
