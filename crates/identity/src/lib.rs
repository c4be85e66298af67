//! Identity, permissions and limits for Posture: an Entra-compatible token issuer,
//! JWT verification with role, scope and group checks on every API route, and
//! per-application rate limits. Clients written for Microsoft Defender for Endpoint
//! (MSAL, `Invoke-RestMethod`, `curl`) work against Posture unchanged: point their
//! authority at `<base>/<tenant>` instead of `https://login.microsoftonline.com/<tenant>`.
//!
//! # Flows
//!
//! **Client credentials** (app-only, the documented way to call the export API):
//! `posture apps create --name N --roles ...` registers an application
//! ([`Identity::create_app`]) and prints its client id, the tenant id and a secret.
//! The client posts `grant_type=client_credentials` with `client_id`,
//! `client_secret` and `scope=<audience>/.default` to
//! `<base>/<tenant>/oauth2/v2.0/token` (or `resource=<audience>` to the v1
//! `<base>/<tenant>/oauth2/token`) and receives an RS256 access token with the
//! application's `roles` ([`oauth_router`]). MSAL Python finds the token endpoint
//! through `<base>/<tenant>/v2.0/.well-known/openid-configuration`.
//!
//! **Resource-owner password** (delegated, as MDE's "user context" sample):
//! `grant_type=password` with `username`/`password` of a user created with
//! [`Identity::create_user`] gives a token with `scp` (delegated scopes) and the
//! user's device groups.
//!
//! **Every API request** passes [`access::Authenticator::authenticate`], which
//! [`Identity`] implements: the bearer token is verified (signature against the key
//! set, `alg` pinned to RS256, `exp`/`nbf` with [`IdentityConfig::leeway`], accepted
//! audience and issuer) and any failure is `401 Unauthorized`; then the endpoint's
//! permission is checked against `roles` (application) or `scp` (delegated), a
//! `*.ReadWrite*` grant satisfying `*.Read*`, and a miss is `403 Forbidden` naming
//! the required roles. The returned `Principal` carries the device groups the caller
//! may see. [`limits::Limiter`] then applies the per application + tenant limits
//! ([`SharedLimiter`] for several nodes sharing a PostgreSQL store: the same windows,
//! kept in the database).
//!
//! # Tokens
//!
//! | | v2 endpoint | v1 endpoint |
//! |---|---|---|
//! | `iss` | `<base>/<tenant>/v2.0` | `<base>/<tenant>/` (Entra: `https://sts.windows.net/<tenant>/`) |
//! | `ver` | `2.0` | `1.0` |
//! | `aud` | the scope's resource (`https://api.securitycenter.microsoft.com`) | the `resource` |
//!
//! Both carry `tid`, `appid`, `azp`, `roles` or `scp`, `iat`, `nbf`, `exp`
//! (lifetime 3599 s), `sub`, `oid`, `idtyp`, `uti`, and `groups` (numeric device
//! group ids) when the application or user is limited to groups. `<base>` is the
//! configured public base URL, so discovery documents and verification agree.
//! Accepted audiences: [`DEFAULT_AUDIENCES`] plus the base URL.
//!
//! # Security decisions
//!
//! - Signing keys are RSA-2048, generated on first start and stored in the
//!   registry: `identity.db` (mode 0600), or the PostgreSQL state store's
//!   `identity_signing_keys` ([`RegistryLocation`]). Signing uses `ring`
//!   (constant-time private-key operations); the `rsa` crate only generates keys.
//!   `jsonwebtoken` verifies,
//!   with RS256 signatures checked by `ring` (a process-wide `jsonwebtoken`
//!   crypto provider installed by [`Identity::open`]; RSA keys under 2048 bits are
//!   refused).
//! - Rotation ([`Identity::rotate_signing_key`]) keeps the old key in the JWKS and
//!   the verification set until every token it signed has expired (lifetime +
//!   leeway), then purges it. Another process's rotation is picked up through a
//!   version counter in the database.
//! - `alg` is pinned to RS256: `none`, `HS256` (the public-key-as-HMAC-secret
//!   attack) and any other algorithm are refused before any key is used.
//! - Client secrets are 240-bit random strings stored as SHA-256 and compared in
//!   constant time; user passwords are Argon2id.
//! - Verified tokens are cached (bounded, keyed by the whole token string) so a
//!   request pays one hash-map lookup and the expiry check instead of an RSA
//!   verification; expiry is re-checked on every hit.
//! - Tokens from external issuers ([`ExternalIssuer`]: Entra, Keycloak) are
//!   accepted when their signature verifies against the issuer's JWKS (fetched
//!   through its discovery document, cached by `kid`, refetched on an unknown
//!   `kid` at most every [`ExternalIssuer::min_refetch_interval`]) and their `iss`
//!   and `aud` match its configuration.
//!   A request that needs a refetch waits for it on its worker thread (bounded by
//!   [`ExternalIssuer::fetch_timeout`]); an unreachable issuer never delays
//!   requests with Posture's own tokens.
//! - Deleting or disabling an application revokes its tokens: verification asks
//!   the registry whether the token's application still exists and is enabled, and
//!   caches the answer for [`IdentityConfig::app_status_ttl`] (5 s), so the check
//!   costs a hash-map lookup per request and another process's `apps delete` takes
//!   effect within 5 s (at once in the process that deletes). Rotating a secret
//!   stops new tokens only; existing ones live out their hour, as in Entra ID. A
//!   cached external token whose key the issuer withdraws also lives out its time.
//! - Sign-in throttling ([`throttle`]): failed sign-ins are counted per client id
//!   or user name and source address, per source, and per subject; past an
//!   allowance each failure doubles a lock (`429` with `Retry-After`, in the OAuth
//!   error format, before any credential is checked). Each failure is logged with
//!   the client id or user name and the source address, never the secret. Password
//!   verifications (Argon2) run on blocking threads, at most
//!   [`SignInThrottleConfig::max_concurrent_password_checks`] at once.
//! - Group scoping: an application created with groups, or a user with groups, gets
//!   a `groups` claim (for a user of a limited application, the intersection); the
//!   claim becomes `Principal::groups`. No claim means every group.
//!
//! # Serving
//!
//! MSAL refuses an `http://` authority, so clients using it need HTTPS:
//! [`tls::self_signed`] creates a local CA and server certificate under
//! `<data_dir>/tls/` ([`tls::server_config`] for configured files) and
//! [`tls::serve_https`] serves any router with it. MSAL Python then needs
//! `instance_discovery=False` (a non-Microsoft authority) and
//! `REQUESTS_CA_BUNDLE=<data_dir>/tls/ca.pem` (which `requests` prefers to any
//! `verify` argument MSAL passes).
//!
//! Nodes sharing a PostgreSQL state store open the identity with
//! [`Identity::open_at`] and [`RegistryLocation::Postgres`] (the store's URL), so they
//! share the tenant, applications, users and signing keys, and use
//! [`RateLimitConfig::shared_limiter`] on the same URL.
//!
//! The API (`server`) takes the [`Identity`] as its `auth` and
//! [`RateLimitConfig::limiter`] as its `limiter` (`server::AppState`), and merges
//! [`oauth_router`] into its router; this crate does not depend on `server`, only on
//! the contract in `access`. Serving the OAuth routes alone over HTTPS:
//!
//! ```no_run
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let listen: std::net::SocketAddr = "127.0.0.1:8443".parse()?;
//! let base = format!("https://{listen}");
//! let data_dir = std::path::Path::new("./posture-data");
//! let id = Arc::new(identity::Identity::open(data_dir, identity::IdentityConfig::new(base))?);
//! // The API's hooks: `Arc<Identity>` is an `access::Authenticator`.
//! let _auth: Arc<dyn access::Authenticator> = id.clone();
//! let _limiter: Option<Arc<dyn access::RateLimiter>> =
//!     identity::RateLimitConfig::default().limiter();
//! let app = identity::oauth_router(id.clone());
//! let files = identity::tls::self_signed(data_dir, listen, &[])?;
//! let tls = identity::tls::server_config(&files.cert_pem, &files.key_pem)?;
//! let listener = tokio::net::TcpListener::bind(listen).await?;
//! identity::tls::serve_https(listener, app, tls).await?;
//! # Ok(()) }
//! ```

pub mod apps;
mod crypto;
pub mod error;
pub mod external;
mod keys;
pub mod limits;
pub mod oauth;
mod pg;
mod registry;
pub mod roles;
pub mod sign_in;
pub mod throttle;
pub mod tls;
mod token;
mod verify;

pub use apps::{AppInfo, CreatedApp, KeyInfo, UserInfo};
pub use error::{IdentityError, Result};
pub use external::ExternalIssuer;
pub use limits::{Admission, Limit, Limiter, RateLimitConfig, SharedLimiter};
pub use oauth::oauth_router;
pub use sign_in::{SignInRefused, SignedInUser};
pub use throttle::SignInThrottleConfig;
pub use token::TokenVersion;
pub use verify::{AuthFailure, Verified};

use crate::keys::{KeyRing, Signer, VerifyKey};
use crate::registry::{KeyRow, Registry};
use jsonwebtoken::DecodingKey;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Audiences accepted in access tokens besides the configured base URL
/// (decisions.md "Tokens"; the last is WindowsDefenderATP's application id, which
/// v2 tokens may carry).
pub const DEFAULT_AUDIENCES: &[&str] = &[
    "https://api.securitycenter.microsoft.com",
    "https://api.security.microsoft.com",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
    "fc780465-2017-40d4-a0c5-307022471b92",
];

/// Where the registry (tenant id, applications, users, signing keys) lives.
#[derive(Clone)]
pub enum RegistryLocation {
    /// `identity.db` (SQLite) in this data directory.
    Sqlite(PathBuf),
    /// The identity tables of this PostgreSQL database (`postgres://...`, the state
    /// store's URL): every node serving from the database shares them.
    Postgres(String),
}

impl std::fmt::Debug for RegistryLocation {
    /// Never shows a URL's password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryLocation::Sqlite(dir) => f.debug_tuple("Sqlite").field(dir).finish(),
            RegistryLocation::Postgres(url) => f
                .debug_tuple("Postgres")
                .field(
                    &pg::parse_url(url)
                        .map_or_else(|_| "<invalid URL>".to_owned(), |(_, t)| t.to_string()),
                )
                .finish(),
        }
    }
}

/// The identity configuration. Every field has a default ([`IdentityConfig::new`]).
#[derive(Clone, Debug)]
pub struct IdentityConfig {
    /// Public base URL (`https://posture.example:8443`, no trailing `/`): issuer
    /// strings, discovery documents and the extra accepted audience derive from it.
    pub base_url: String,
    /// The tenant id to create the registry with; `None` generates a UUID. Ignored
    /// once the registry has one, except that a different value is an error.
    pub tenant_id: Option<String>,
    /// Accepted token audiences; the base URL is always accepted too.
    pub audiences: Vec<String>,
    /// Access-token lifetime (3599 s, as Entra answers `expires_in`).
    pub token_lifetime: Duration,
    /// Clock skew tolerated on `exp` and `nbf` (60 s).
    pub leeway: Duration,
    /// RSA modulus size of generated signing keys (2048).
    pub key_bits: usize,
    /// Other issuers whose tokens are accepted (Entra, Keycloak, ...).
    pub external_issuers: Vec<ExternalIssuer>,
    /// Verified-token cache capacity; 0 disables the cache.
    pub verify_cache_entries: usize,
    /// Back-off after failed sign-ins and the bound on concurrent password checks.
    pub sign_in: SignInThrottleConfig,
    /// How long a token's application is known to exist before the registry is asked
    /// again (tokens of deleted or disabled applications are refused within it).
    pub app_status_ttl: Duration,
}

impl IdentityConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        IdentityConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            tenant_id: None,
            audiences: DEFAULT_AUDIENCES.iter().map(|s| (*s).to_owned()).collect(),
            token_lifetime: Duration::from_secs(3599),
            leeway: Duration::from_secs(60),
            key_bits: 2048,
            external_issuers: Vec::new(),
            verify_cache_entries: 10_000,
            sign_in: SignInThrottleConfig::default(),
            app_status_ttl: verify::APP_STATUS_TTL,
        }
    }
}

/// The identity provider and verifier: one per process, shared as `Arc<Identity>`
/// between the OAuth routes ([`oauth_router`]) and the API's authentication hook
/// (it implements [`access::Authenticator`]).
pub struct Identity {
    config: IdentityConfig,
    base: String,
    tenant_id: String,
    audiences: Vec<String>,
    registry: Registry,
    ring: RwLock<Arc<KeyRing>>,
    last_key_check: Mutex<Option<Instant>>,
    cache: verify::VerifyCache,
    external: external::External,
    sign_in: throttle::SignInThrottle,
    app_status: verify::AppStatusCache,
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn valid_tenant(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 100
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

impl Identity {
    /// Opens (creating on first use) `<data_dir>/identity.db`, generating the tenant
    /// id and the first signing key when there are none.
    pub fn open(data_dir: &Path, config: IdentityConfig) -> Result<Identity> {
        Identity::open_at(&RegistryLocation::Sqlite(data_dir.to_owned()), config)
    }

    /// Opens (creating on first use) the registry at `location`, generating the tenant
    /// id and the first signing key when there are none. Several processes may open
    /// the same registry at once, and agree on one tenant id and one active key.
    pub fn open_at(location: &RegistryLocation, config: IdentityConfig) -> Result<Identity> {
        crypto::install();
        let base = config.base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://"))
            || base.contains(['?', '#', ' '])
        {
            return Err(IdentityError::InvalidBaseUrl(config.base_url.clone()));
        }
        let registry = Registry::open(location)?;
        let proposed = match &config.tenant_id {
            Some(t) if !valid_tenant(t) => return Err(IdentityError::InvalidTenant(t.clone())),
            Some(t) => t.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let tenant_id = registry.meta_init("tenant_id", &proposed)?;
        if let Some(t) = &config.tenant_id
            && !t.eq_ignore_ascii_case(&tenant_id)
        {
            return Err(IdentityError::TenantMismatch {
                stored: tenant_id,
                configured: t.clone(),
            });
        }
        let mut audiences = config.audiences.clone();
        if !audiences.iter().any(|a| a == &base) {
            audiences.push(base.clone());
        }
        let ring = load_ring(&registry, &config)?;
        let external = external::External::new(&config.external_issuers, config.leeway);
        Ok(Identity {
            cache: verify::VerifyCache::new(config.verify_cache_entries),
            sign_in: throttle::SignInThrottle::new(config.sign_in.clone()),
            app_status: verify::AppStatusCache::new(config.app_status_ttl),
            config,
            base,
            tenant_id,
            audiences,
            registry,
            ring: RwLock::new(Arc::new(ring)),
            last_key_check: Mutex::new(None),
            external,
        })
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    /// The MSAL authority for this tenant: `<base>/<tenant>`.
    pub fn authority(&self) -> String {
        format!("{}/{}", self.base, self.tenant_id)
    }

    /// The issuer string of tokens of `version` (see the crate docs).
    pub fn issuer(&self, version: TokenVersion) -> String {
        match version {
            TokenVersion::V1 => format!("{}/{}/", self.base, self.tenant_id),
            TokenVersion::V2 => format!("{}/{}/v2.0", self.base, self.tenant_id),
        }
    }

    /// Accepted audiences (configured ones plus the base URL).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    pub(crate) fn is_tenant(&self, t: &str) -> bool {
        t.eq_ignore_ascii_case(&self.tenant_id)
    }

    pub(crate) fn keyring(&self) -> Arc<KeyRing> {
        self.ring.read().clone()
    }

    /// Reloads the key ring if another process (or this one) changed the keys.
    pub(crate) fn refresh_keys(&self) -> Result<Arc<KeyRing>> {
        let current = self.keyring();
        let version = self.registry.keys_version()?;
        if version == current.version {
            return Ok(current);
        }
        let ring = Arc::new(load_ring(&self.registry, &self.config)?);
        *self.ring.write() = ring.clone();
        Ok(ring)
    }

    /// [`Self::refresh_keys`] at most once a second (used on an unknown `kid`).
    pub(crate) fn refresh_keys_throttled(&self) -> Arc<KeyRing> {
        {
            let mut last = self.last_key_check.lock();
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                return self.keyring();
            }
            *last = Some(Instant::now());
        }
        self.refresh_keys().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reloading signing keys failed");
            self.keyring()
        })
    }

    /// Generates a new signing key and makes it the active one. The previous key
    /// stays published and verifying until the tokens it signed have expired.
    pub fn rotate_signing_key(&self) -> Result<KeyInfo> {
        let k = keys::generate(self.config.key_bits)?;
        let now = unix_now();
        self.registry.add_key(
            &KeyRow {
                kid: k.kid.clone(),
                pkcs8: k.pkcs8,
                n: k.n,
                e: k.e,
                created_at: now,
                retired_at: None,
            },
            true,
            now,
        )?;
        self.refresh_keys()?;
        Ok(KeyInfo {
            kid: k.kid,
            created_at: apps::time(now),
            retired_at: None,
            active: true,
        })
    }

    /// The signing keys in force, active first.
    pub fn signing_keys(&self) -> Result<Vec<KeyInfo>> {
        let (_, rows) = self
            .registry
            .load_keys(unix_now(), key_grace(&self.config))?;
        let active = self.keyring().signer.kid.clone();
        let mut out: Vec<KeyInfo> = rows
            .into_iter()
            .map(|r| KeyInfo {
                active: r.retired_at.is_none() && r.kid == active,
                kid: r.kid,
                created_at: apps::time(r.created_at),
                retired_at: r.retired_at.map(apps::time),
            })
            .collect();
        out.sort_by_key(|k| !k.active);
        Ok(out)
    }

    /// The public JWK set (what `/{tenant}/discovery/v2.0/keys` serves).
    pub fn jwks(&self) -> serde_json::Value {
        let ring = self.refresh_keys().unwrap_or_else(|_| self.keyring());
        ring.jwks()
    }

    /// The last key-fetch error of each external issuer that has one
    /// (discovery URL, error), for health reporting.
    pub fn external_issuer_errors(&self) -> Vec<(String, String)> {
        self.external.errors()
    }

    /// Signs arbitrary claims with the active key. For tests and tooling: whoever
    /// can call this holds the data directory and so the keys anyway.
    pub fn sign_claims(&self, claims: &serde_json::Value) -> Result<String> {
        self.keyring().signer.sign(claims)
    }
}

/// How long a retired key must keep verifying: its last token's lifetime plus the
/// leeway, plus a margin for processes that noticed the rotation late.
fn key_grace(config: &IdentityConfig) -> i64 {
    (config.token_lifetime + config.leeway).as_secs() as i64 + 300
}

fn load_ring(registry: &Registry, config: &IdentityConfig) -> Result<KeyRing> {
    for _ in 0..2 {
        let (version, rows) = registry.load_keys(unix_now(), key_grace(config))?;
        let Some(active) = rows.iter().find(|r| r.retired_at.is_none()) else {
            // First start: generate outside any transaction (it takes a moment), then
            // store it unless another process got there first, and load again.
            let k = keys::generate(config.key_bits)?;
            let now = unix_now();
            registry.add_key(
                &KeyRow {
                    kid: k.kid,
                    pkcs8: k.pkcs8,
                    n: k.n,
                    e: k.e,
                    created_at: now,
                    retired_at: None,
                },
                false,
                now,
            )?;
            continue;
        };
        let signer = Signer::from_pkcs8(&active.kid, &active.pkcs8)?;
        let verify: HashMap<String, VerifyKey> = rows
            .iter()
            .map(|r| {
                (
                    r.kid.clone(),
                    VerifyKey {
                        n: r.n.clone(),
                        e: r.e.clone(),
                        decoding: DecodingKey::from_rsa_raw_components(&r.n, &r.e),
                        retired_at: r.retired_at,
                    },
                )
            })
            .collect();
        return Ok(KeyRing {
            version,
            signer,
            verify,
        });
    }
    Err(IdentityError::KeyGeneration(
        "no active signing key after generating one".into(),
    ))
}
