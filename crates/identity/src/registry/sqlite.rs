//! The registry in `identity.db` (SQLite, WAL) in the data directory.
//!
//! The file holds private keys, so it is created readable by its owner only. Several
//! processes may open it at once (`posture serve` and `posture apps ...`); the
//! `keys_version` counter in `meta` tells a running server that another process
//! rotated the keys.

use super::{AppRow, KeyRow, UserRow, json_list, to_json};
use crate::error::{Result, io_err};
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

pub(crate) struct SqliteRegistry {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (
    client_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    roles TEXT NOT NULL,
    groups TEXT,
    secret_hash BLOB NOT NULL,
    secret_hint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    secret_created_at INTEGER NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    object_id TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    groups TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY,
    pkcs8 BLOB NOT NULL,
    n BLOB NOT NULL,
    e BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);
";

impl SqliteRegistry {
    pub fn open(path: &Path) -> Result<SqliteRegistry> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let existed = path.exists();
        let conn = Connection::open(path)?;
        if !existed {
            restrict_permissions(path)?;
        }
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        // Registries created before applications could be disabled.
        let has_disabled: bool = conn.query_row(
            "SELECT count(*) FROM pragma_table_info('apps') WHERE name = 'disabled'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_disabled {
            conn.execute_batch("ALTER TABLE apps ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0")?;
        }
        Ok(SqliteRegistry {
            conn: Mutex::new(conn),
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        let conn = self.conn.lock();
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets `key` to `value` unless it is already set; returns the stored value.
    pub fn meta_init(&self, key: &str, value: &str) -> Result<String> {
        let conn = self.conn.lock();
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?)
    }

    pub fn keys_version(&self) -> Result<i64> {
        Ok(self
            .meta("keys_version")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    // ---- applications ----

    pub fn insert_app(&self, app: &AppRow) -> Result<()> {
        let conn = self.conn.lock();
        conn.execute(
            "INSERT INTO apps (client_id, tenant_id, name, roles, groups, secret_hash, secret_hint, created_at, secret_created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                app.client_id,
                app.tenant_id,
                app.name,
                to_json(&app.roles),
                app.groups.as_ref().map(to_json),
                app.secret_hash,
                app.secret_hint,
                app.created_at,
                app.secret_created_at
            ],
        )?;
        Ok(())
    }

    fn app_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(AppRow, String, Option<String>)> {
        Ok((
            AppRow {
                client_id: r.get(0)?,
                tenant_id: r.get(1)?,
                name: r.get(2)?,
                roles: Vec::new(),
                groups: None,
                secret_hash: r.get(5)?,
                secret_hint: r.get(6)?,
                created_at: r.get(7)?,
                secret_created_at: r.get(8)?,
                disabled: r.get(9)?,
            },
            r.get(3)?,
            r.get(4)?,
        ))
    }

    fn finish_app((mut app, roles, groups): (AppRow, String, Option<String>)) -> Result<AppRow> {
        app.roles = json_list(&roles, "apps.roles")?;
        app.groups = groups.map(|g| json_list(&g, "apps.groups")).transpose()?;
        Ok(app)
    }

    pub fn app(&self, client_id: &str) -> Result<Option<AppRow>> {
        let row = {
            let conn = self.conn.lock();
            conn.query_row(
                "SELECT client_id, tenant_id, name, roles, groups, secret_hash, secret_hint, created_at, secret_created_at, disabled
                 FROM apps WHERE client_id = ?1 COLLATE NOCASE",
                [client_id],
                Self::app_from_row,
            )
            .optional()?
        };
        row.map(Self::finish_app).transpose()
    }

    pub fn apps(&self) -> Result<Vec<AppRow>> {
        let rows = {
            let conn = self.conn.lock();
            let mut stmt = conn.prepare(
                "SELECT client_id, tenant_id, name, roles, groups, secret_hash, secret_hint, created_at, secret_created_at, disabled
                 FROM apps ORDER BY created_at, rowid",
            )?;
            stmt.query_map([], Self::app_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        rows.into_iter().map(Self::finish_app).collect()
    }

    pub fn set_app_secret(
        &self,
        client_id: &str,
        hash: &[u8],
        hint: &str,
        now: i64,
    ) -> Result<bool> {
        let conn = self.conn.lock();
        let n = conn.execute(
            "UPDATE apps SET secret_hash = ?2, secret_hint = ?3, secret_created_at = ?4 WHERE client_id = ?1 COLLATE NOCASE",
            params![client_id, hash, hint, now],
        )?;
        Ok(n == 1)
    }

    pub fn set_app_disabled(&self, client_id: &str, disabled: bool) -> Result<bool> {
        let conn = self.conn.lock();
        let n = conn.execute(
            "UPDATE apps SET disabled = ?2 WHERE client_id = ?1 COLLATE NOCASE",
            params![client_id, disabled],
        )?;
        Ok(n == 1)
    }

    pub fn delete_app(&self, client_id: &str) -> Result<bool> {
        let conn = self.conn.lock();
        let n = conn.execute(
            "DELETE FROM apps WHERE client_id = ?1 COLLATE NOCASE",
            [client_id],
        )?;
        Ok(n == 1)
    }

    // ---- users ----

    pub fn insert_user(&self, user: &UserRow) -> Result<bool> {
        let conn = self.conn.lock();
        let n = conn.execute(
            "INSERT OR IGNORE INTO users (name, object_id, password_hash, scopes, groups, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                user.name,
                user.object_id,
                user.password_hash,
                to_json(&user.scopes),
                user.groups.as_ref().map(to_json),
                user.created_at
            ],
        )?;
        Ok(n == 1)
    }

    fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(UserRow, String, Option<String>)> {
        Ok((
            UserRow {
                name: r.get(0)?,
                object_id: r.get(1)?,
                password_hash: r.get(2)?,
                scopes: Vec::new(),
                groups: None,
                created_at: r.get(5)?,
            },
            r.get(3)?,
            r.get(4)?,
        ))
    }

    fn finish_user((mut u, scopes, groups): (UserRow, String, Option<String>)) -> Result<UserRow> {
        u.scopes = json_list(&scopes, "users.scopes")?;
        u.groups = groups.map(|g| json_list(&g, "users.groups")).transpose()?;
        Ok(u)
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRow>> {
        let row = {
            let conn = self.conn.lock();
            conn.query_row(
                "SELECT name, object_id, password_hash, scopes, groups, created_at FROM users WHERE name = ?1",
                [name],
                Self::user_from_row,
            )
            .optional()?
        };
        row.map(Self::finish_user).transpose()
    }

    pub fn users(&self) -> Result<Vec<UserRow>> {
        let rows = {
            let conn = self.conn.lock();
            let mut stmt = conn.prepare(
                "SELECT name, object_id, password_hash, scopes, groups, created_at FROM users ORDER BY name",
            )?;
            stmt.query_map([], Self::user_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        rows.into_iter().map(Self::finish_user).collect()
    }

    pub fn delete_user(&self, name: &str) -> Result<bool> {
        let conn = self.conn.lock();
        Ok(conn.execute("DELETE FROM users WHERE name = ?1", [name])? == 1)
    }

    // ---- signing keys ----

    /// Every stored key and the current `keys_version`, after deleting retired keys
    /// whose tokens can no longer be alive (`retired_at + grace < now`).
    pub fn load_keys(&self, now: i64, grace: i64) -> Result<(i64, Vec<KeyRow>)> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let purged = tx.execute(
            "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at + ?1 < ?2",
            params![grace, now],
        )?;
        if purged > 0 {
            bump_keys_version(&tx)?;
        }
        let version: i64 = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'keys_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let rows = {
            let mut stmt = tx.prepare(
                "SELECT kid, pkcs8, n, e, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid",
            )?;
            stmt.query_map([], |r| {
                Ok(KeyRow {
                    kid: r.get(0)?,
                    pkcs8: r.get(1)?,
                    n: r.get(2)?,
                    e: r.get(3)?,
                    created_at: r.get(4)?,
                    retired_at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok((version, rows))
    }

    /// Stores `key` as the active key. With `retire_others`, every other active key
    /// is retired at `now` (rotation); without, the key is stored only if there is
    /// no active key yet (first start, possibly racing another process).
    pub fn add_key(&self, key: &KeyRow, retire_others: bool, now: i64) -> Result<()> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let active: i64 = tx.query_row(
            "SELECT count(*) FROM signing_keys WHERE retired_at IS NULL",
            [],
            |r| r.get(0),
        )?;
        if active > 0 && !retire_others {
            return Ok(());
        }
        tx.execute(
            "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL",
            [now],
        )?;
        tx.execute(
            "INSERT INTO signing_keys (kid, pkcs8, n, e, created_at, retired_at) VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
            params![key.kid, key.pkcs8, key.n, key.e, key.created_at],
        )?;
        bump_keys_version(&tx)?;
        tx.commit()?;
        Ok(())
    }
}

fn bump_keys_version(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('keys_version', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
        [],
    )?;
    Ok(())
}

#[cfg(unix)]
pub(crate) fn restrict_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err(path))
}

#[cfg(not(unix))]
pub(crate) fn restrict_permissions(_path: &Path) -> Result<()> {
    Ok(())
}
