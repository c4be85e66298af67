//! The crate's error type for the operator-facing API (CLI, start-up). Request-time
//! failures are not errors of this type: they become OAuth2 error responses
//! ([`crate::oauth`]) or MDE error bodies ([`access::ApiError`]).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("identity database: {0}")]
    Db(#[from] rusqlite::Error),
    /// A statement on the PostgreSQL registry or rate-limit windows failed.
    #[error("identity database (PostgreSQL): {}", crate::pg::describe(.0))]
    Postgres(#[from] postgres::Error),
    /// The `--store` URL does not parse (the reason never holds its password).
    #[error("invalid PostgreSQL URL: {reason}")]
    PostgresUrl { reason: String },
    /// `target` is the URL without its password.
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    PostgresConnect { target: String, reason: String },
    #[error("all {connections} identity connections to PostgreSQL at {target} stayed busy")]
    PostgresBusy { target: String, connections: usize },
    #[error(
        "the database's encoding is {0}; posture needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')"
    )]
    PostgresEncoding(String),
    #[error(
        "the identity tables are at schema version {found}, newer than this binary's {supported}: upgrade posture"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown role {name:?}; known application roles: {known}")]
    UnknownRole { name: String, known: String },
    #[error("unknown scope {name:?}; known delegated scopes: {known}")]
    UnknownScope { name: String, known: String },
    #[error("an application needs at least one role (e.g. --roles Vulnerability.Read.All)")]
    NoRoles,
    #[error("a user needs at least one scope (e.g. --scopes Vulnerability.Read)")]
    NoScopes,
    #[error("invalid name {0:?}: use 1 to 200 printable characters")]
    InvalidName(String),
    #[error("no application with client id {0}")]
    NoSuchApp(String),
    #[error("no user named {0}")]
    NoSuchUser(String),
    #[error("a user named {0} already exists")]
    UserExists(String),
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    #[error(
        "the identity database belongs to tenant {stored}, but the configuration names tenant {configured}"
    )]
    TenantMismatch { stored: String, configured: String },
    #[error("invalid tenant id {0:?}: use letters, digits, '-', '.' and '_' only")]
    InvalidTenant(String),
    #[error("invalid base URL {0:?}: expected http://host[:port] or https://host[:port]")]
    InvalidBaseUrl(String),
    #[error("key generation: {0}")]
    KeyGeneration(String),
    #[error("stored signing key {kid} is unusable: {reason}")]
    BadStoredKey { kid: String, reason: String },
    #[error("signing: {0}")]
    Signing(String),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("password hashing: {0}")]
    PasswordHash(String),
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> IdentityError {
    let path = path.into();
    move |source| IdentityError::Io { path, source }
}
