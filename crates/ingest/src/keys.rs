//! Ingest keys: the credential devices and agents present to the report API. They are
//! separate from the read API's credentials, shown once at creation, and stored only as
//! SHA-256 hashes (the secret is 256 random bits, so a fast hash is sufficient).
//!
//! Format: `posture_ik_<id>_<secret>` — `id` is 8 hex characters naming the key,
//! `secret` 64 hex characters.

use crate::IngestError;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::StateStore;

const PREFIX: &str = "ingest_key:";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestKey {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    secret_sha256: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    pub id: String,
    pub name: String,
    /// The full credential; shown once, never stored.
    pub key: String,
}

fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn invalid(id: &str, e: impl std::fmt::Display) -> IngestError {
    IngestError::StoredRecord {
        id: format!("{PREFIX}{id}"),
        reason: e.to_string(),
    }
}

pub fn create_key(store: &dyn StateStore, name: &str) -> Result<CreatedKey, IngestError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(IngestError::InvalidKeyName);
    }
    let mut rng = rand::rng();
    let id = format!("{:08x}", rng.random::<u32>());
    let secret: String = (0..32)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect();
    let record = IngestKey {
        id: id.clone(),
        name: name.to_owned(),
        created_at: Utc::now(),
        secret_sha256: hash(&secret),
    };
    store.put_setting(
        &format!("{PREFIX}{id}"),
        &serde_json::to_string(&record).map_err(|e| invalid(&id, e))?,
    )?;
    Ok(CreatedKey {
        id: id.clone(),
        name: name.to_owned(),
        key: format!("posture_ik_{id}_{secret}"),
    })
}

pub fn list_keys(store: &dyn StateStore) -> Result<Vec<IngestKey>, IngestError> {
    store
        .settings_with_prefix(PREFIX)?
        .into_iter()
        .map(|(k, v)| serde_json::from_str(&v).map_err(|e| invalid(&k, e)))
        .collect()
}

pub fn revoke_key(store: &dyn StateStore, id: &str) -> Result<bool, IngestError> {
    Ok(store.delete_setting(&format!("{PREFIX}{id}"))?)
}

/// The key a presented credential belongs to, if it is valid.
pub fn verify_key(
    store: &dyn StateStore,
    presented: &str,
) -> Result<Option<IngestKey>, IngestError> {
    let Some(rest) = presented.trim().strip_prefix("posture_ik_") else {
        return Ok(None);
    };
    let Some((id, secret)) = rest.split_once('_') else {
        return Ok(None);
    };
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(text) = store.get_setting(&format!("{PREFIX}{id}"))? else {
        return Ok(None);
    };
    let key: IngestKey = serde_json::from_str(&text).map_err(|e| invalid(id, e))?;
    // Constant-time comparison of the hashes.
    let (a, b) = (hash(secret), &key.secret_sha256);
    let same = a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0;
    Ok(same.then_some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_verify_only_when_exact_and_not_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let created = create_key(&store, "laptops").unwrap();
        assert!(verify_key(&store, &created.key).unwrap().is_some());
        let mut tampered = created.key.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert!(verify_key(&store, &tampered).unwrap().is_none());
        assert!(verify_key(&store, "posture_ik_zz_abc").unwrap().is_none());
        assert!(verify_key(&store, "Bearer x").unwrap().is_none());
        assert_eq!(list_keys(&store).unwrap().len(), 1);
        assert!(
            !list_keys(&store).unwrap()[0]
                .secret_sha256
                .contains(&created.key[20..])
        );
        assert!(revoke_key(&store, &created.id).unwrap());
        assert!(verify_key(&store, &created.key).unwrap().is_none());
        assert!(matches!(
            create_key(&store, "  "),
            Err(IngestError::InvalidKeyName)
        ));
    }
}
