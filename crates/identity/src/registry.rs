//! The application registry: the tenant id, applications (client ids, roles, groups,
//! secret hashes), users (password hashes, scopes, groups) and the signing keys, with
//! a `keys_version` counter that tells a running server another process rotated the
//! keys. It lives in `identity.db` (SQLite, [`sqlite`]) in the data directory, or in
//! the `identity_*` tables of the PostgreSQL state store ([`postgres`]), where every
//! node of a deployment shares it. Both behave alike; callers see one [`Registry`].

mod postgres;
mod sqlite;

use crate::RegistryLocation;
use crate::error::{IdentityError, Result};

pub(crate) enum Registry {
    Sqlite(sqlite::SqliteRegistry),
    Postgres(Box<postgres::PostgresRegistry>),
}

#[derive(Clone, Debug)]
pub(crate) struct AppRow {
    pub client_id: String,
    pub tenant_id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub groups: Option<Vec<u32>>,
    pub secret_hash: Vec<u8>,
    pub secret_hint: String,
    pub created_at: i64,
    pub secret_created_at: i64,
    /// Disabled: no new tokens, and its tokens are refused.
    pub disabled: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct UserRow {
    pub name: String,
    pub object_id: String,
    pub password_hash: String,
    pub scopes: Vec<String>,
    pub groups: Option<Vec<u32>>,
    pub created_at: i64,
}

pub(crate) struct KeyRow {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

pub(super) fn json_list<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| IdentityError::Corrupt(format!("{what}: {e}")))
}

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Calls the same method on whichever backend holds the registry.
macro_rules! dispatch {
    ($self:ident.$method:ident($($arg:expr),*)) => {
        match $self {
            Registry::Sqlite(r) => r.$method($($arg),*),
            Registry::Postgres(r) => r.$method($($arg),*),
        }
    };
}

impl Registry {
    /// Opens (creating on first use) the registry at `location`: `identity.db` in the
    /// data directory, or the PostgreSQL database's identity tables.
    pub fn open(location: &RegistryLocation) -> Result<Registry> {
        Ok(match location {
            RegistryLocation::Sqlite(data_dir) => {
                Registry::Sqlite(sqlite::SqliteRegistry::open(&data_dir.join("identity.db"))?)
            }
            RegistryLocation::Postgres(url) => {
                Registry::Postgres(Box::new(postgres::PostgresRegistry::open(url)?))
            }
        })
    }

    /// Sets `key` to `value` unless it is already set; returns the stored value.
    pub fn meta_init(&self, key: &str, value: &str) -> Result<String> {
        dispatch!(self.meta_init(key, value))
    }

    /// The signing keys' change counter (0 before any key was stored).
    pub fn keys_version(&self) -> Result<i64> {
        dispatch!(self.keys_version())
    }

    pub fn insert_app(&self, app: &AppRow) -> Result<()> {
        dispatch!(self.insert_app(app))
    }

    /// The application with this client id (compared case-insensitively).
    pub fn app(&self, client_id: &str) -> Result<Option<AppRow>> {
        dispatch!(self.app(client_id))
    }

    /// Every application, oldest first.
    pub fn apps(&self) -> Result<Vec<AppRow>> {
        dispatch!(self.apps())
    }

    pub fn set_app_secret(
        &self,
        client_id: &str,
        hash: &[u8],
        hint: &str,
        now: i64,
    ) -> Result<bool> {
        dispatch!(self.set_app_secret(client_id, hash, hint, now))
    }

    pub fn set_app_disabled(&self, client_id: &str, disabled: bool) -> Result<bool> {
        dispatch!(self.set_app_disabled(client_id, disabled))
    }

    pub fn delete_app(&self, client_id: &str) -> Result<bool> {
        dispatch!(self.delete_app(client_id))
    }

    /// Stores a new user; `false` when a user of that name (in any case) exists.
    pub fn insert_user(&self, user: &UserRow) -> Result<bool> {
        dispatch!(self.insert_user(user))
    }

    /// The user with this name (compared case-insensitively).
    pub fn user(&self, name: &str) -> Result<Option<UserRow>> {
        dispatch!(self.user(name))
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserRow>> {
        dispatch!(self.users())
    }

    pub fn delete_user(&self, name: &str) -> Result<bool> {
        dispatch!(self.delete_user(name))
    }

    /// Every stored key and the current `keys_version`, after deleting retired keys
    /// whose tokens can no longer be alive (`retired_at + grace < now`).
    pub fn load_keys(&self, now: i64, grace: i64) -> Result<(i64, Vec<KeyRow>)> {
        dispatch!(self.load_keys(now, grace))
    }

    /// Stores `key` as the active key. With `retire_others`, every other active key
    /// is retired at `now` (rotation); without, the key is stored only if there is
    /// no active key yet (first start, possibly racing another process).
    pub fn add_key(&self, key: &KeyRow, retire_others: bool, now: i64) -> Result<()> {
        dispatch!(self.add_key(key, retire_others, now))
    }
}
