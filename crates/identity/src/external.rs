//! Trusting other issuers (a real Entra tenant, Keycloak): their tokens are verified
//! against keys fetched from the issuer's JWKS, found through its OpenID discovery
//! document, and cached by `kid`.
//!
//! Fetching runs on one background thread with its own small runtime, so the
//! synchronous authentication hook never needs the server's runtime. Keys are
//! fetched at start-up, refreshed every [`ExternalIssuer::refresh_interval`], and
//! refetched when a token names an unknown `kid` — at most once per
//! [`ExternalIssuer::min_refetch_interval`], so a flood of forged `kid`s cannot turn
//! Posture into a request amplifier. A request that triggers a refetch waits for it
//! (up to [`ExternalIssuer::fetch_timeout`]).

use crate::verify::{AuthFailure, Unverified, Verified, claim, decode, group_list, string_list};
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{JwkSet, PublicKeyUse};
use parking_lot::{Condvar, Mutex};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// An issuer whose tokens are accepted besides Posture's own.
#[derive(Clone, Debug)]
pub struct ExternalIssuer {
    /// `https://login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration`,
    /// `https://keycloak.example/realms/<realm>/.well-known/openid-configuration`, ...
    pub discovery_url: String,
    /// Accepted `aud` values for this issuer's tokens.
    pub audiences: Vec<String>,
    /// Issuer strings accepted besides the discovery document's `issuer` (Entra v1
    /// tokens say `https://sts.windows.net/<tenant>/`). `{tenantid}` is replaced by
    /// the token's `tid`.
    pub extra_issuers: Vec<String>,
    /// Claim holding application roles (dotted path allowed: `realm_access.roles`).
    pub roles_claim: String,
    /// Claim holding delegated scopes (space-separated string or array).
    pub scopes_claim: String,
    /// Claim holding numeric device-group ids. When set and absent from a token, the
    /// caller sees no group (fail closed); when unset, callers see every group.
    pub groups_claim: Option<String>,
    /// Claims naming the application, first present wins.
    pub app_claims: Vec<String>,
    /// Claim naming the tenant (`tid`); [`Self::tenant`] (or the issuer) otherwise.
    pub tenant_claim: String,
    pub tenant: Option<String>,
    /// Extra CA certificate (PEM) to trust for the discovery and JWKS requests.
    pub ca_pem: Option<PathBuf>,
    pub refresh_interval: Duration,
    pub min_refetch_interval: Duration,
    pub fetch_timeout: Duration,
}

impl ExternalIssuer {
    pub fn new(discovery_url: impl Into<String>, audiences: Vec<String>) -> Self {
        ExternalIssuer {
            discovery_url: discovery_url.into(),
            audiences,
            extra_issuers: Vec::new(),
            roles_claim: "roles".into(),
            scopes_claim: "scp".into(),
            groups_claim: None,
            app_claims: vec![
                "appid".into(),
                "azp".into(),
                "client_id".into(),
                "sub".into(),
            ],
            tenant_claim: "tid".into(),
            tenant: None,
            ca_pem: None,
            refresh_interval: Duration::from_secs(3600),
            min_refetch_interval: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Default)]
struct SlotState {
    /// The discovery document's `issuer`.
    issuer: Option<String>,
    keys: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
    in_flight: bool,
    last_error: Option<String>,
}

struct Slot {
    cfg: ExternalIssuer,
    state: Mutex<SlotState>,
    done: Condvar,
}

pub(crate) struct External {
    slots: Arc<Vec<Slot>>,
    tx: Mutex<Option<mpsc::Sender<usize>>>,
    leeway: u64,
}

impl External {
    pub fn new(issuers: &[ExternalIssuer], leeway: Duration) -> Self {
        let slots: Vec<Slot> = issuers
            .iter()
            .map(|cfg| Slot {
                cfg: cfg.clone(),
                state: Mutex::new(SlotState::default()),
                done: Condvar::new(),
            })
            .collect();
        let ext = External {
            slots: Arc::new(slots),
            tx: Mutex::new(None),
            leeway: leeway.as_secs(),
        };
        // Prefetch, so the first request usually finds the keys in place.
        for i in 0..ext.slots.len() {
            ext.request(i, true);
        }
        ext
    }

    pub fn is_configured(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Asks the fetcher thread (started on first use) to fetch slot `i`, unless a
    /// fetch is running or (without `force`) one ran too recently.
    fn request(&self, i: usize, force: bool) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        {
            let mut st = slot.state.lock();
            if st.in_flight
                || (!force
                    && st
                        .attempted
                        .is_some_and(|t| t.elapsed() < slot.cfg.min_refetch_interval))
            {
                return;
            }
            st.in_flight = true;
            st.attempted = Some(Instant::now());
        }
        let mut tx = self.tx.lock();
        if tx.is_none() {
            let (s, r) = mpsc::channel();
            let slots = self.slots.clone();
            let spawned = std::thread::Builder::new()
                .name("posture-jwks".into())
                .spawn(move || fetcher(slots, r));
            match spawned {
                Ok(_) => *tx = Some(s),
                Err(e) => {
                    let mut st = slot.state.lock();
                    st.in_flight = false;
                    st.last_error = Some(format!("cannot start the key fetcher: {e}"));
                    return;
                }
            }
        }
        if let Some(s) = tx.as_ref()
            && s.send(i).is_err()
        {
            slot.state.lock().in_flight = false;
        }
    }

    /// Waits (bounded) for a running fetch of slot `i` to finish.
    fn wait(&self, i: usize) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let deadline = Instant::now() + slot.cfg.fetch_timeout;
        let mut st = slot.state.lock();
        while st.in_flight {
            if slot.done.wait_until(&mut st, deadline).timed_out() {
                break;
            }
        }
    }

    /// Verifies a token if it claims one of the external issuers. `Ok(None)`: no
    /// external issuer matches its `iss`.
    pub fn verify(
        &self,
        token: &str,
        kid: &str,
        u: &Unverified,
    ) -> Result<Option<Verified>, AuthFailure> {
        let Some(iss) = u.iss.as_deref() else {
            return Ok(None);
        };
        for (i, slot) in self.slots.iter().enumerate() {
            if slot.state.lock().fetched.is_none() {
                self.request(i, false);
                self.wait(i);
            }
            let Some(matched) = self.matching_issuer(slot, iss, u.tid.as_deref()) else {
                continue;
            };
            let mut key = slot.state.lock().keys.get(kid).cloned();
            if key.is_none() {
                self.request(i, false);
                self.wait(i);
                key = slot.state.lock().keys.get(kid).cloned();
            }
            let Some(key) = key else {
                return Err(AuthFailure::UnknownKey);
            };
            let claims = decode(
                token,
                &key,
                &slot.cfg.audiences,
                std::slice::from_ref(&matched),
                self.leeway,
                false,
            )?;
            return verified(&slot.cfg, &claims, matched).map(Some);
        }
        Ok(None)
    }

    fn matching_issuer(&self, slot: &Slot, iss: &str, tid: Option<&str>) -> Option<String> {
        let discovered = slot.state.lock().issuer.clone();
        discovered
            .into_iter()
            .chain(slot.cfg.extra_issuers.iter().cloned())
            .map(|c| match tid {
                Some(t) => c.replace("{tenantid}", t),
                None => c,
            })
            .find(|c| !c.contains("{tenantid}") && c == iss)
    }

    /// The last fetch error of each issuer (for health reporting).
    pub fn errors(&self) -> Vec<(String, String)> {
        self.slots
            .iter()
            .filter_map(|s| {
                s.state
                    .lock()
                    .last_error
                    .clone()
                    .map(|e| (s.cfg.discovery_url.clone(), e))
            })
            .collect()
    }
}

fn verified(cfg: &ExternalIssuer, claims: &Value, issuer: String) -> Result<Verified, AuthFailure> {
    let s = |k: &str| claim(claims, k).and_then(Value::as_str).map(str::to_owned);
    let app_id = cfg
        .app_claims
        .iter()
        .find_map(|k| s(k))
        .ok_or_else(|| AuthFailure::Claims(cfg.app_claims.join("/")))?;
    let tenant_id = s(&cfg.tenant_claim)
        .or_else(|| cfg.tenant.clone())
        .unwrap_or_else(|| issuer.clone());
    let groups = cfg
        .groups_claim
        .as_deref()
        .map(|g| claim(claims, g).map(group_list).unwrap_or_default());
    Ok(Verified {
        app_id,
        tenant_id,
        groups,
        roles: string_list(claim(claims, &cfg.roles_claim)),
        scopes: string_list(claim(claims, &cfg.scopes_claim)),
        issuer,
        exp: claims.get("exp").and_then(Value::as_i64).unwrap_or(0),
        nbf: claims.get("nbf").and_then(Value::as_i64),
        issued_here: false,
    })
}

/// The fetcher thread: serves fetch requests and periodic refreshes until the
/// [`External`] that owns the sender is dropped.
fn fetcher(slots: Arc<Vec<Slot>>, rx: mpsc::Receiver<usize>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            for s in slots.iter() {
                let mut st = s.state.lock();
                st.in_flight = false;
                st.last_error = Some(format!("cannot start the key fetcher runtime: {e}"));
                s.done.notify_all();
            }
            return;
        }
    };
    let clients: Vec<Result<reqwest::Client, String>> =
        slots.iter().map(|s| client(&s.cfg)).collect();
    loop {
        let wait = slots
            .iter()
            .map(|s| {
                let st = s.state.lock();
                match st.fetched {
                    Some(t) => s.cfg.refresh_interval.saturating_sub(t.elapsed()),
                    None => s.cfg.refresh_interval,
                }
            })
            .min()
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_secs(1));
        let due: Vec<usize> = match rx.recv_timeout(wait) {
            Ok(i) => vec![i],
            Err(mpsc::RecvTimeoutError::Timeout) => (0..slots.len())
                .filter(|&i| {
                    let st = slots[i].state.lock();
                    st.fetched
                        .is_none_or(|t| t.elapsed() >= slots[i].cfg.refresh_interval)
                })
                .collect(),
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        for i in due {
            let (Some(slot), Some(c)) = (slots.get(i), clients.get(i)) else {
                continue;
            };
            let result = match c {
                Ok(c) => rt.block_on(fetch(c, &slot.cfg.discovery_url)),
                Err(e) => Err(e.clone()),
            };
            let mut st = slot.state.lock();
            match result {
                Ok((issuer, keys)) => {
                    tracing::info!(issuer = %issuer, keys = keys.len(), "fetched external issuer keys");
                    st.issuer = Some(issuer);
                    st.keys = keys;
                    st.fetched = Some(Instant::now());
                    st.last_error = None;
                }
                Err(e) => {
                    tracing::warn!(discovery = %slot.cfg.discovery_url, error = %e, "fetching external issuer keys failed");
                    st.last_error = Some(e);
                }
            }
            st.in_flight = false;
            slot.done.notify_all();
        }
    }
}

fn client(cfg: &ExternalIssuer) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder().timeout(cfg.fetch_timeout);
    if let Some(path) = &cfg.ca_pem {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let cert =
            reqwest::Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        b = b.add_root_certificate(cert);
    }
    b.build().map_err(|e| e.to_string())
}

async fn fetch(
    c: &reqwest::Client,
    discovery_url: &str,
) -> Result<(String, HashMap<String, DecodingKey>), String> {
    let doc: Value = c
        .get(discovery_url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("discovery: {e}"))?
        .json()
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    let issuer = doc
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or("discovery document has no issuer")?
        .to_owned();
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or("discovery document has no jwks_uri")?;
    let set: JwkSet = c
        .get(jwks_uri)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("jwks: {e}"))?
        .json()
        .await
        .map_err(|e| format!("jwks: {e}"))?;
    let keys = set
        .keys
        .iter()
        .filter(|k| !matches!(&k.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature))
        .filter_map(|k| {
            let kid = k.common.key_id.clone()?;
            DecodingKey::from_jwk(k).ok().map(|d| (kid, d))
        })
        .collect();
    Ok((issuer, keys))
}
