//! Applications and users: the operator API behind `posture apps ...` and
//! `posture users ...`.
//!
//! Client secrets are 240 random bits (40 base64url characters), shown once and
//! stored as SHA-256: with that much entropy a slow hash adds nothing, and the token
//! endpoint stays cheap. User passwords are chosen by people, so they are stored as
//! Argon2id PHC strings.

use crate::Identity;
use crate::error::{IdentityError, Result};
use crate::registry::{AppRow, UserRow};
use crate::roles::{parse_roles, parse_scopes};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use ring::rand::SecureRandom;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What `posture apps create` prints: the secret is shown here and never again.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApp {
    pub client_id: String,
    pub tenant_id: String,
    pub secret: String,
    pub name: String,
    pub roles: Vec<String>,
    /// `None`: every device group.
    pub groups: Option<Vec<u32>>,
    /// `<base>/<tenant>`: the MSAL authority.
    pub authority: String,
    /// `<base>/<tenant>/oauth2/v2.0/token`.
    pub token_endpoint: String,
}

/// An application as `posture apps list` shows it (no secret, a 3-character hint).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub client_id: String,
    pub tenant_id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub groups: Option<Vec<u32>>,
    pub secret_hint: String,
    pub created_at: DateTime<Utc>,
    pub secret_created_at: DateTime<Utc>,
    /// Disabled applications get no tokens and their tokens are refused.
    pub disabled: bool,
}

/// A user who may obtain delegated tokens (ROPC).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub name: String,
    pub object_id: String,
    pub scopes: Vec<String>,
    pub groups: Option<Vec<u32>>,
    pub created_at: DateTime<Utc>,
}

/// A signing key as `posture keys list` would show it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub kid: String,
    pub created_at: DateTime<Utc>,
    /// When it stopped signing; it still verifies until its last token expires.
    pub retired_at: Option<DateTime<Utc>>,
    pub active: bool,
}

pub(crate) fn time(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| IdentityError::KeyGeneration("the system random source failed".into()))?;
    Ok(buf)
}

fn new_secret() -> Result<(String, Vec<u8>, String)> {
    let secret = B64URL.encode(random_bytes::<30>()?);
    let hint: String = secret.chars().take(3).collect();
    Ok((secret.clone(), secret_hash(&secret), hint))
}

pub(crate) fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Constant-time comparison of two digests.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(IdentityError::InvalidName(name.to_owned()));
    }
    Ok(name.to_owned())
}

fn normalise_groups(groups: Option<&[u32]>) -> Option<Vec<u32>> {
    groups.map(|g| {
        let mut g = g.to_vec();
        g.sort_unstable();
        g.dedup();
        g
    })
}

impl From<AppRow> for AppInfo {
    fn from(a: AppRow) -> Self {
        AppInfo {
            client_id: a.client_id,
            tenant_id: a.tenant_id,
            name: a.name,
            roles: a.roles,
            groups: a.groups,
            secret_hint: a.secret_hint,
            created_at: time(a.created_at),
            secret_created_at: time(a.secret_created_at),
            disabled: a.disabled,
        }
    }
}

impl From<UserRow> for UserInfo {
    fn from(u: UserRow) -> Self {
        UserInfo {
            name: u.name,
            object_id: u.object_id,
            scopes: u.scopes,
            groups: u.groups,
            created_at: time(u.created_at),
        }
    }
}

impl Identity {
    /// Registers an application. `roles` are application roles (comma-separated
    /// entries allowed, matched case-insensitively, unknown names refused);
    /// `groups` limits the device groups its tokens see (`None`: all groups).
    pub fn create_app<S: AsRef<str>>(
        &self,
        name: &str,
        roles: &[S],
        groups: Option<&[u32]>,
    ) -> Result<CreatedApp> {
        let name = check_name(name)?;
        let roles = parse_roles(roles)?;
        let groups = normalise_groups(groups);
        let (secret, hash, hint) = new_secret()?;
        let now = crate::unix_now();
        let row = AppRow {
            client_id: uuid::Uuid::new_v4().to_string(),
            tenant_id: self.tenant_id.clone(),
            name,
            roles,
            groups,
            secret_hash: hash,
            secret_hint: hint,
            created_at: now,
            secret_created_at: now,
            disabled: false,
        };
        self.registry.insert_app(&row)?;
        Ok(self.created(row, secret))
    }

    fn created(&self, row: AppRow, secret: String) -> CreatedApp {
        CreatedApp {
            authority: format!("{}/{}", self.base, row.tenant_id),
            token_endpoint: format!("{}/{}/oauth2/v2.0/token", self.base, row.tenant_id),
            client_id: row.client_id,
            tenant_id: row.tenant_id,
            secret,
            name: row.name,
            roles: row.roles,
            groups: row.groups,
        }
    }

    pub fn list_apps(&self) -> Result<Vec<AppInfo>> {
        Ok(self
            .registry
            .apps()?
            .into_iter()
            .map(AppInfo::from)
            .collect())
    }

    /// Replaces the application's secret; the old one stops working at once (tokens
    /// already issued stay valid until they expire, as in Entra ID).
    pub fn rotate_secret(&self, client_id: &str) -> Result<CreatedApp> {
        let mut row = self
            .registry
            .app(client_id.trim())?
            .ok_or_else(|| IdentityError::NoSuchApp(client_id.to_owned()))?;
        let (secret, hash, hint) = new_secret()?;
        let now = crate::unix_now();
        if !self
            .registry
            .set_app_secret(&row.client_id, &hash, &hint, now)?
        {
            return Err(IdentityError::NoSuchApp(client_id.to_owned()));
        }
        row.secret_hash = hash;
        row.secret_hint = hint;
        Ok(self.created(row, secret))
    }

    /// Deletes the application: no new tokens, and the tokens already issued are
    /// refused (at once by this process, within [`crate::IdentityConfig::app_status_ttl`]
    /// by a server running in another process).
    pub fn delete_app(&self, client_id: &str) -> Result<()> {
        let deleted = self.registry.delete_app(client_id.trim())?;
        self.app_status.forget(client_id.trim());
        if deleted {
            Ok(())
        } else {
            Err(IdentityError::NoSuchApp(client_id.to_owned()))
        }
    }

    /// Disables (or re-enables) the application: while disabled it gets no tokens
    /// and its tokens are refused, as after [`Identity::delete_app`].
    pub fn set_app_disabled(&self, client_id: &str, disabled: bool) -> Result<()> {
        let changed = self.registry.set_app_disabled(client_id.trim(), disabled)?;
        self.app_status.forget(client_id.trim());
        if changed {
            Ok(())
        } else {
            Err(IdentityError::NoSuchApp(client_id.to_owned()))
        }
    }

    /// Registers a user for delegated (ROPC) tokens: `scopes` are delegated scopes,
    /// `groups` the device groups the user may see (`None`: all).
    pub fn create_user<S: AsRef<str>>(
        &self,
        name: &str,
        password: &str,
        scopes: &[S],
        groups: Option<&[u32]>,
    ) -> Result<UserInfo> {
        let name = check_name(name)?;
        if password.chars().count() < 8 {
            return Err(IdentityError::InvalidPassword(
                "use at least 8 characters".into(),
            ));
        }
        let scopes = parse_scopes(scopes)?;
        let row = UserRow {
            name: name.clone(),
            object_id: uuid::Uuid::new_v4().to_string(),
            password_hash: hash_password(password)?,
            scopes,
            groups: normalise_groups(groups),
            created_at: crate::unix_now(),
        };
        if !self.registry.insert_user(&row)? {
            return Err(IdentityError::UserExists(name));
        }
        Ok(row.into())
    }

    pub fn list_users(&self) -> Result<Vec<UserInfo>> {
        Ok(self
            .registry
            .users()?
            .into_iter()
            .map(UserInfo::from)
            .collect())
    }

    pub fn delete_user(&self, name: &str) -> Result<()> {
        if self.registry.delete_user(name.trim())? {
            Ok(())
        } else {
            Err(IdentityError::NoSuchUser(name.to_owned()))
        }
    }
}

pub(crate) fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| IdentityError::PasswordHash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| IdentityError::PasswordHash(e.to_string()))
}

pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let (a, ha, hint) = new_secret().unwrap();
        let (b, _, _) = new_secret().unwrap();
        assert_eq!(a.len(), 40);
        assert_ne!(a, b);
        assert!(a.starts_with(&hint));
        assert!(ct_eq(&ha, &secret_hash(&a)));
        assert!(!ct_eq(&ha, &secret_hash(&b)));
    }
}
