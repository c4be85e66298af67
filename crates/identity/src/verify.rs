//! Verification of bearer tokens on every API request, and the permission check.

use crate::Identity;
use crate::roles::{granting_roles, granting_scopes, grants, scopes_may_grant};
use access::{ApiError, Authenticator, Permission, Principal, Route};
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::RwLock;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a request is `401 Unauthorized`. The message names the cause without
/// echoing the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    MissingHeader,
    NotBearer,
    Malformed(String),
    Algorithm(String),
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    Audience,
    Issuer,
    Claims(String),
    /// Signed by us, but its application has since been deleted or disabled.
    AppRevoked,
}

impl AuthFailure {
    pub fn message(&self) -> String {
        match self {
            AuthFailure::MissingHeader => "Authorization header is missing.".into(),
            AuthFailure::NotBearer => {
                "Authorization header must be 'Bearer <access token>'.".into()
            }
            AuthFailure::Malformed(why) => format!("The access token is malformed: {why}."),
            AuthFailure::Algorithm(alg) => {
                format!("The access token's algorithm {alg} is not accepted; RS256 is required.")
            }
            AuthFailure::UnknownKey => {
                "The access token was signed by an unknown key (kid).".into()
            }
            AuthFailure::BadSignature => "The access token's signature is invalid.".into(),
            AuthFailure::Expired => "The access token has expired.".into(),
            AuthFailure::NotYetValid => "The access token is not yet valid (nbf).".into(),
            AuthFailure::Audience => "The access token's audience is not accepted.".into(),
            AuthFailure::Issuer => "The access token's issuer is not accepted.".into(),
            AuthFailure::Claims(why) => format!("The access token is missing claims: {why}."),
            AuthFailure::AppRevoked => {
                "The access token's application has been deleted or disabled.".into()
            }
        }
    }
}

/// A verified token, as the API needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub app_id: String,
    pub tenant_id: String,
    /// `None`: every device group.
    pub groups: Option<Vec<u32>>,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub issuer: String,
    pub exp: i64,
    pub nbf: Option<i64>,
    /// Issued by this registry (not an external issuer): its application must still
    /// exist and be enabled.
    pub issued_here: bool,
}

/// How long an application's status (exists and enabled) is cached by verification.
pub const APP_STATUS_TTL: Duration = Duration::from_secs(5);

/// Whether applications exist and are enabled, as last read from the registry.
pub(crate) struct AppStatusCache {
    ttl: Duration,
    map: RwLock<HashMap<Box<str>, (bool, Instant)>>,
}

impl AppStatusCache {
    pub fn new(ttl: Duration) -> Self {
        AppStatusCache {
            ttl,
            map: RwLock::new(HashMap::new()),
        }
    }

    /// The cached status, if read less than the TTL ago.
    fn fresh(&self, app_id: &str, now: Instant) -> Option<bool> {
        let map = self.map.read();
        let (active, read_at) = map.get(app_id)?;
        (now.saturating_duration_since(*read_at) < self.ttl).then_some(*active)
    }

    fn stale(&self, app_id: &str) -> Option<bool> {
        self.map.read().get(app_id).map(|(active, _)| *active)
    }

    fn insert(&self, app_id: &str, active: bool, now: Instant) {
        self.map.write().insert(app_id.into(), (active, now));
    }

    /// Forgets an application (this process changed it): the next request reads again.
    pub fn forget(&self, app_id: &str) {
        self.map
            .write()
            .retain(|k, _| !k.eq_ignore_ascii_case(app_id));
    }
}

/// Verified tokens by their full text, bounded.
pub(crate) struct VerifyCache {
    cap: usize,
    map: RwLock<HashMap<Box<str>, Arc<Verified>>>,
}

impl VerifyCache {
    pub fn new(cap: usize) -> Self {
        VerifyCache {
            cap,
            map: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, token: &str) -> Option<Arc<Verified>> {
        if self.cap == 0 {
            return None;
        }
        self.map.read().get(token).cloned()
    }

    fn insert(&self, token: &str, v: Arc<Verified>, now: i64, leeway: i64) {
        if self.cap == 0 {
            return;
        }
        let mut map = self.map.write();
        if map.len() >= self.cap {
            map.retain(|_, v| v.exp + leeway >= now);
            if map.len() >= self.cap {
                map.clear();
            }
        }
        map.insert(token.into(), v);
    }
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, AuthFailure> {
    let v = headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthFailure::MissingHeader)?;
    let v = v.to_str().map_err(|_| AuthFailure::NotBearer)?;
    let (scheme, token) = v.trim().split_once(' ').ok_or(AuthFailure::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::NotBearer);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthFailure::NotBearer);
    }
    Ok(token)
}

/// The parts of a token read before its signature is checked: they only choose the
/// key and validation rules; nothing is trusted until the signature verifies.
pub(crate) struct Unverified {
    pub kid: Option<String>,
    pub iss: Option<String>,
    pub tid: Option<String>,
}

pub(crate) fn peek(token: &str) -> Result<Unverified, AuthFailure> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthFailure::Malformed(
            "expected three dot-separated parts".into(),
        ));
    };
    let header: Value = B64URL
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| AuthFailure::Malformed("the header is not base64url JSON".into()))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    if alg != "RS256" {
        return Err(AuthFailure::Algorithm(alg.to_owned()));
    }
    if s.is_empty() {
        return Err(AuthFailure::Malformed("the signature is empty".into()));
    }
    let payload: Value = B64URL
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| AuthFailure::Malformed("the payload is not base64url JSON".into()))?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Ok(Unverified {
        kid: s(&header, "kid"),
        iss: s(&payload, "iss"),
        tid: s(&payload, "tid"),
    })
}

/// Signature, algorithm, time, audience and issuer, by `jsonwebtoken`.
pub(crate) fn decode(
    token: &str,
    key: &DecodingKey,
    audiences: &[String],
    issuers: &[String],
    leeway: u64,
    require_nbf: bool,
) -> Result<Value, AuthFailure> {
    let mut v = Validation::new(Algorithm::RS256);
    v.leeway = leeway;
    v.validate_nbf = true;
    v.set_audience(audiences);
    v.set_issuer(issuers);
    let mut required = vec!["exp", "aud", "iss"];
    if require_nbf {
        required.push("nbf");
    }
    v.set_required_spec_claims(&required);
    jsonwebtoken::decode::<Value>(token, key, &v)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => AuthFailure::BadSignature,
            ErrorKind::ExpiredSignature => AuthFailure::Expired,
            ErrorKind::ImmatureSignature => AuthFailure::NotYetValid,
            ErrorKind::InvalidAudience => AuthFailure::Audience,
            ErrorKind::InvalidIssuer => AuthFailure::Issuer,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                AuthFailure::Algorithm("(unsupported)".into())
            }
            ErrorKind::MissingRequiredClaim(c) => AuthFailure::Claims(c.clone()),
            other => AuthFailure::Malformed(format!("{other:?}")),
        })
}

/// Reads a claim by a dotted path (`realm_access.roles`).
pub(crate) fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(claims, |v, k| v.get(k))
}

/// A list claim: a JSON array of strings, or a space-separated string (`scp`).
pub(crate) fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Numeric device-group ids from a claim (numbers or numeric strings; anything
/// else is dropped, which can only narrow what the caller sees).
pub(crate) fn group_list(v: &Value) -> Vec<u32> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out: Vec<u32> = items
        .into_iter()
        .filter_map(|i| match i {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl Identity {
    /// Verifies a bearer token (cached; expiry re-checked on every call).
    pub fn verify(&self, token: &str) -> Result<Arc<Verified>, AuthFailure> {
        let now = crate::unix_now();
        let leeway = self.config.leeway.as_secs() as i64;
        if let Some(v) = self.cache.get(token) {
            if v.exp + leeway < now {
                return Err(AuthFailure::Expired);
            }
            self.check_app_active(&v)?;
            return Ok(v);
        }
        let v = Arc::new(self.verify_uncached(token)?);
        self.cache.insert(token, v.clone(), now, leeway);
        self.check_app_active(&v)?;
        Ok(v)
    }

    /// Refuses a token of ours whose application was deleted or disabled (the
    /// registry's answer is cached for [`crate::IdentityConfig::app_status_ttl`]).
    fn check_app_active(&self, v: &Verified) -> Result<(), AuthFailure> {
        if !v.issued_here {
            return Ok(());
        }
        let now = Instant::now();
        let active = match self.app_status.fresh(&v.app_id, now) {
            Some(active) => active,
            None => match self.registry.app(&v.app_id) {
                Ok(row) => {
                    let active = row.is_some_and(|a| !a.disabled && self.is_tenant(&a.tenant_id));
                    self.app_status.insert(&v.app_id, active, now);
                    active
                }
                Err(e) => {
                    // Keep the last answer through a registry hiccup; refuse if none.
                    tracing::warn!(error = %e, "cannot read the application registry");
                    self.app_status.stale(&v.app_id).unwrap_or(false)
                }
            },
        };
        if active {
            Ok(())
        } else {
            Err(AuthFailure::AppRevoked)
        }
    }

    /// Verifies a bearer token without the cache (what a first request pays).
    pub fn verify_uncached(&self, token: &str) -> Result<Verified, AuthFailure> {
        let u = peek(token)?;
        let Some(kid) = u.kid.as_deref() else {
            return Err(AuthFailure::UnknownKey);
        };
        let mut ring = self.keyring();
        if !ring.verify.contains_key(kid) && !self.external.is_configured() {
            ring = self.refresh_keys_throttled();
        }
        if let Some(key) = ring.verify.get(kid) {
            return self.verify_local(token, &key.decoding);
        }
        if self.external.is_configured() {
            if let Some(v) = self.external.verify(token, kid, &u)? {
                return Ok(v);
            }
            // Not an external issuer's key either: maybe a key another process just
            // rotated in.
            ring = self.refresh_keys_throttled();
            if let Some(key) = ring.verify.get(kid) {
                return self.verify_local(token, &key.decoding);
            }
        }
        Err(AuthFailure::UnknownKey)
    }

    fn verify_local(&self, token: &str, key: &DecodingKey) -> Result<Verified, AuthFailure> {
        let issuers = [
            self.issuer(crate::TokenVersion::V2),
            self.issuer(crate::TokenVersion::V1),
        ];
        let claims = decode(
            token,
            key,
            &self.audiences,
            &issuers,
            self.config.leeway.as_secs(),
            true,
        )?;
        let str_claim = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let tid = str_claim("tid").ok_or_else(|| AuthFailure::Claims("tid".into()))?;
        if !self.is_tenant(&tid) {
            return Err(AuthFailure::Issuer);
        }
        let app_id = str_claim("appid")
            .or_else(|| str_claim("azp"))
            .ok_or_else(|| AuthFailure::Claims("appid".into()))?;
        Ok(Verified {
            app_id,
            tenant_id: self.tenant_id.clone(),
            groups: claims.get("groups").map(group_list),
            roles: string_list(claims.get("roles")),
            scopes: string_list(claims.get("scp")),
            issuer: str_claim("iss").unwrap_or_default(),
            exp: claims.get("exp").and_then(Value::as_i64).unwrap_or(0),
            nbf: claims.get("nbf").and_then(Value::as_i64),
            issued_here: true,
        })
    }
}

/// `403 Forbidden` unless the token's roles or scopes grant `p`.
pub(crate) fn authorize(v: &Verified, p: Permission) -> Result<(), ApiError> {
    let roles = granting_roles(p);
    let scopes = granting_scopes(p);
    if grants(&v.roles, &roles) || (scopes_may_grant(p) && grants(&v.scopes, &scopes)) {
        return Ok(());
    }
    let message = if v.scopes.is_empty() {
        format!(
            "Missing application roles. API required roles: {}, application roles: {}.",
            roles.join(","),
            if v.roles.is_empty() {
                "(none)".to_owned()
            } else {
                v.roles.join(",")
            }
        )
    } else {
        format!(
            "Missing delegated permissions. API required scopes: {} (or application roles {}), token scopes: {}.",
            scopes.join(","),
            roles.join(","),
            v.scopes.join(",")
        )
    };
    Err(ApiError::forbidden(message))
}

impl Authenticator for Identity {
    fn authenticate(&self, headers: &HeaderMap, route: &Route) -> Result<Principal, ApiError> {
        let verified = bearer(headers)
            .and_then(|t| self.verify(t))
            .map_err(|f| ApiError::unauthorized(f.message()))?;
        authorize(&verified, route.permission)?;
        Ok(Principal {
            app_id: verified.app_id.clone(),
            tenant_id: verified.tenant_id.clone(),
            groups: verified.groups.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), Err(AuthFailure::MissingHeader));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), Err(AuthFailure::NotBearer));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), Err(AuthFailure::NotBearer));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer a.b.c"),
        );
        assert_eq!(bearer(&h), Ok("a.b.c"));
    }

    #[test]
    fn peek_refuses_before_any_key_is_used() {
        let none = format!(
            "{}.{}.",
            B64URL.encode(r#"{"alg":"none","typ":"JWT"}"#),
            B64URL.encode(r#"{"aud":"x"}"#)
        );
        assert!(matches!(peek(&none), Err(AuthFailure::Algorithm(a)) if a == "none"));
        let hs = format!(
            "{}.{}.c2ln",
            B64URL.encode(r#"{"alg":"HS256"}"#),
            B64URL.encode("{}")
        );
        assert!(matches!(peek(&hs), Err(AuthFailure::Algorithm(a)) if a == "HS256"));
        assert!(matches!(peek("abc"), Err(AuthFailure::Malformed(_))));
        assert!(matches!(peek("a.b.c.d"), Err(AuthFailure::Malformed(_))));
        assert!(matches!(peek("!!.b.c"), Err(AuthFailure::Malformed(_))));
    }

    #[test]
    fn groups_and_lists() {
        let v: Value = serde_json::json!([5, "1", "x", 5, -1, "4294967296"]);
        assert_eq!(group_list(&v), vec![1, 5]);
        assert_eq!(
            string_list(Some(&serde_json::json!("Machine.Read  Software.Read"))),
            ["Machine.Read", "Software.Read"]
        );
        let c = serde_json::json!({"realm_access": {"roles": ["a"]}});
        assert_eq!(string_list(claim(&c, "realm_access.roles")), ["a"]);
    }
}
