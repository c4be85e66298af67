//! The crate's error type for the operator-facing API (CLI, start-up). Request-time
//! failures are not errors of this type: they become OAuth2 error responses
//! ([`crate::oauth`]) or MDE error bodies ([`access::ApiError`]).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("identity database: {0}")]
    Db(#[from] rusqlite::Error),
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
