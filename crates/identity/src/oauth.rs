//! The OAuth2 / OpenID routes, for any tenant path segment (only the registry's
//! tenant answers; others get Entra's "tenant not found"):
//!
//! | route | what |
//! |---|---|
//! | `POST /{tenant}/oauth2/v2.0/token` | client credentials (`scope=<aud>/.default`), password |
//! | `POST /{tenant}/oauth2/token` | v1: client credentials (`resource=<aud>`), password |
//! | `GET /{tenant}/v2.0/.well-known/openid-configuration` | v2 discovery (what MSAL reads) |
//! | `GET /{tenant}/.well-known/openid-configuration` | v1 discovery |
//! | `GET /{tenant}/discovery/v2.0/keys`, `/{tenant}/discovery/keys` | the JWK set |
//! | `/{tenant}/oauth2/[v2.0/]authorize` | listed in discovery; interactive sign-in is not offered |
//!
//! Token requests are form-encoded; client authentication by `client_secret` in the
//! body (MSAL) or HTTP Basic. Errors are OAuth2 JSON as Entra answers them:
//! `{"error","error_description","error_codes","timestamp","trace_id","correlation_id"}`.

use crate::Identity;
use crate::throttle::{Subject, retry_after_secs};
use crate::token::{Issued, Params, TokenVersion};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

/// An OAuth2 error response.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    /// Entra's `AADSTS` number for the same condition.
    pub code: u32,
    pub description: String,
    /// Answer with `WWW-Authenticate: Basic` (the client authenticated with Basic).
    basic_challenge: bool,
    /// Seconds for `Retry-After` (a throttled sign-in).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        OAuthError {
            status,
            error,
            code,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
        }
    }

    /// `429` with `Retry-After`: too many failed sign-ins, or too many password
    /// checks waiting.
    pub(crate) fn throttled(retry_after: u64, description: impl Into<String>) -> Self {
        let mut e = OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            50196,
            description,
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// A wrong credential: an unknown application, a wrong client secret, an unknown
    /// user or a wrong password (what sign-in throttling counts).
    fn is_credential_failure(&self) -> bool {
        matches!(self.code, 700016 | 7000215 | 50126)
    }

    /// Entra answers `invalid_request` at the token endpoint and `invalid_tenant` at
    /// discovery for the same AADSTS90002.
    pub(crate) fn tenant_not_found(tenant: &str, error: &'static str) -> Self {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            error,
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        )
    }

    pub(crate) fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "token endpoint failure");
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            90033,
            "A transient error has occurred. Please try again.",
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let trace = uuid::Uuid::new_v4().to_string();
        let timestamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace} Correlation ID: {trace} Timestamp: {timestamp}",
                self.code, self.description
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace,
            "correlation_id": trace,
        });
        let mut r = (self.status, axum::Json(body)).into_response();
        no_store(r.headers_mut());
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.basic_challenge && self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"posture\""),
            );
        }
        r
    }
}

fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The OAuth2/OpenID routes; merge them with `server::router(...)`.
pub fn oauth_router(identity: Arc<Identity>) -> Router {
    Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token_v2).get(token_wrong_method),
        )
        .route(
            "/{tenant}/oauth2/token",
            post(token_v1).get(token_wrong_method),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/{tenant}/discovery/keys", get(keys))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize).post(authorize),
        )
        .route("/{tenant}/oauth2/authorize", get(authorize).post(authorize))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(identity)
}

async fn token_v2(
    State(id): State<Arc<Identity>>,
    Path(tenant): Path<String>,
    Source(source): Source,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(id, tenant, TokenVersion::V2, source, headers, body).await
}

async fn token_v1(
    State(id): State<Arc<Identity>>,
    Path(tenant): Path<String>,
    Source(source): Source,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(id, tenant, TokenVersion::V1, source, headers, body).await
}

/// The peer address, when the server provides it (`ConnectInfo<SocketAddr>` in the
/// request's extensions, as `server::listener` and axum's `connect_info` services
/// do). Without it, every caller shares one "unknown source" for throttling.
struct Source(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Source(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

async fn token_wrong_method() -> Response {
    OAuthError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900561,
        "The endpoint only accepts POST, OPTIONS requests. Received a GET request.",
    )
    .into_response()
}

async fn authorize() -> Response {
    OAuthError::new(
        StatusCode::BAD_REQUEST,
        "unsupported_response_type",
        70000,
        "Interactive sign-in is not offered by Posture: use the client credentials grant (or the password grant for users) at the token endpoint.",
    )
    .into_response()
}

fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false);
    if !form {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body is not valid form-encoded data.",
        )
    })?;
    let mut params = Params::new();
    for (k, v) in pairs {
        if params.insert(k.clone(), v).is_some() {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90015,
                format!("The parameter '{k}' was given more than once."),
            ));
        }
    }
    Ok(params)
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || {
        let mut e = OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "The Authorization header is not valid HTTP Basic client authentication.",
        );
        e.basic_challenge = true;
        e
    };
    let v = v.to_str().map_err(|_| bad())?;
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| -> Result<String, OAuthError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&format!("v={s}")).map_err(|_| bad())?;
        pairs.into_iter().next().map(|(_, v)| v).ok_or_else(bad)
    };
    Ok(Some((decode(id)?, decode(secret)?)))
}

async fn token(
    id: Arc<Identity>,
    tenant: String,
    version: TokenVersion,
    source: Option<IpAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let basic = match basic_credentials(&headers) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let used_basic = basic.is_some();
    let params = match parse_form(&headers, &body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let attempt = SignInAttempt::of(&params, basic.as_ref(), source);
    // Locked out: refused before any credential is checked (no hashing, no database).
    let _pending = match id
        .sign_in
        .check(&attempt.subjects(), source, Instant::now())
    {
        Ok(guard) => guard,
        Err(wait) => {
            let secs = retry_after_secs(wait);
            tracing::debug!(client_id = %attempt.client_id, user = %attempt.user, source = %attempt.source_text(), retry_after = secs, "sign-in throttled");
            return OAuthError::throttled(
                secs,
                format!("Too many failed sign-ins; retry after {secs} seconds."),
            )
            .into_response();
        }
    };
    // Argon2 costs tens of milliseconds and ~20 MB: a bounded number at once, so a
    // password flood cannot take every core and blocking thread from the API.
    let _slot = if params.get("grant_type").is_some_and(|g| g == "password") {
        match id.sign_in.password_slot().await {
            Ok(slot) => Some(slot),
            Err(_busy) => {
                tracing::debug!(source = %attempt.source_text(), "password check queue full");
                return OAuthError::throttled(
                    1,
                    "Too many sign-ins are being checked; retry after 1 second.",
                )
                .into_response();
            }
        }
    } else {
        None
    };
    // Database reads, RSA signing and (password grant) Argon2 run off the async
    // workers.
    let worker = id.clone();
    let result =
        tokio::task::spawn_blocking(move || worker.token_request(&tenant, version, &params, basic))
            .await
            .unwrap_or_else(|e| Err(OAuthError::server(e)));
    match result {
        Ok(issued) => {
            id.sign_in.record_success(&attempt.subject(), source);
            token_response(version, issued)
        }
        Err(mut e) => {
            e.basic_challenge = used_basic;
            if e.is_credential_failure() {
                // The password grant's subject is the user unless the client failed.
                let subject = if e.code == 50126 {
                    attempt.subject()
                } else {
                    Subject::app(&attempt.client_id)
                };
                id.sign_in.record_failure(&subject, source, Instant::now());
                tracing::warn!(
                    client_id = %attempt.client_id,
                    user = %attempt.user,
                    source = %attempt.source_text(),
                    error = e.error,
                    code = e.code,
                    "sign-in failed"
                );
            } else {
                tracing::info!(error = e.error, code = e.code, "token request refused");
            }
            e.into_response()
        }
    }
}

/// Who a token request claims to be, for throttling and the sign-in log (never the
/// secret or password).
struct SignInAttempt {
    /// The client id as sent (body or Basic), cut for the log.
    client_id: String,
    /// The user name of a password grant, or empty.
    user: String,
    source: Option<IpAddr>,
}

impl SignInAttempt {
    fn of(params: &Params, basic: Option<&(String, String)>, source: Option<IpAddr>) -> Self {
        let cut = |s: &str| s.chars().take(128).collect::<String>();
        let client_id = params
            .get("client_id")
            .map(String::as_str)
            .or(basic.map(|(id, _)| id.as_str()))
            .map(cut)
            .unwrap_or_default();
        let user = match params.get("grant_type").map(String::as_str) {
            Some("password") => params.get("username").map(|u| cut(u)).unwrap_or_default(),
            _ => String::new(),
        };
        SignInAttempt {
            client_id,
            user,
            source,
        }
    }

    /// The keys a lock may be under: the application, and the user of a password grant.
    fn subjects(&self) -> Vec<Subject> {
        let mut out = vec![Subject::app(&self.client_id)];
        if !self.user.is_empty() {
            out.push(Subject::user(&self.user));
        }
        out
    }

    /// Who signs in: the user of a password grant, else the application.
    fn subject(&self) -> Subject {
        if self.user.is_empty() {
            Subject::app(&self.client_id)
        } else {
            Subject::user(&self.user)
        }
    }

    fn source_text(&self) -> String {
        self.source
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

fn token_response(version: TokenVersion, t: Issued) -> Response {
    let lifetime = (t.exp - t.iat).max(0);
    let mut body = match version {
        // v2 answers numbers...
        TokenVersion::V2 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": t.access_token,
        }),
        // ...and v1 strings, as Entra's v1 endpoint does.
        TokenVersion::V1 => json!({
            "token_type": "Bearer",
            "expires_in": lifetime.to_string(),
            "ext_expires_in": lifetime.to_string(),
            "expires_on": t.exp.to_string(),
            "not_before": t.iat.to_string(),
            "resource": t.resource,
            "access_token": t.access_token,
        }),
    };
    if let (Some(scope), Some(obj)) = (t.scope, body.as_object_mut()) {
        obj.insert("scope".into(), json!(scope));
    }
    let mut r = axum::Json(body).into_response();
    no_store(r.headers_mut());
    r
}

async fn discovery_v2(State(id): State<Arc<Identity>>, Path(tenant): Path<String>) -> Response {
    discovery(&id, &tenant, TokenVersion::V2)
}

async fn discovery_v1(State(id): State<Arc<Identity>>, Path(tenant): Path<String>) -> Response {
    discovery(&id, &tenant, TokenVersion::V1)
}

fn discovery(id: &Identity, tenant: &str, version: TokenVersion) -> Response {
    if !id.is_tenant(tenant) {
        return OAuthError::tenant_not_found(tenant, "invalid_tenant").into_response();
    }
    let b = id.base_url();
    let t = id.tenant_id();
    let (v, keys) = match version {
        TokenVersion::V2 => ("/v2.0", "discovery/v2.0/keys"),
        TokenVersion::V1 => ("", "discovery/keys"),
    };
    let host = b.split_once("://").map(|(_, h)| h).unwrap_or(b);
    let doc = json!({
        "issuer": id.issuer(version),
        "authorization_endpoint": format!("{b}/{t}/oauth2{v}/authorize"),
        "token_endpoint": format!("{b}/{t}/oauth2{v}/token"),
        "jwks_uri": format!("{b}/{t}/{keys}"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["client_credentials", "password"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "aud", "iss", "iat", "nbf", "exp", "tid", "appid", "azp", "roles", "scp",
            "sub", "oid", "ver", "groups"
        ],
        "request_uri_parameter_supported": false,
        "http_logout_supported": false,
        "frontchannel_logout_supported": false,
        "tenant_region_scope": null,
        "cloud_instance_name": host,
        "cloud_graph_host_name": host,
        "msgraph_host": host,
        "rbac_url": b,
    });
    axum::Json(doc).into_response()
}

async fn keys(State(id): State<Arc<Identity>>, Path(tenant): Path<String>) -> Response {
    if !id.is_tenant(&tenant) {
        return OAuthError::tenant_not_found(&tenant, "invalid_tenant").into_response();
    }
    let jwks = tokio::task::spawn_blocking(move || id.jwks())
        .await
        .unwrap_or_else(|_| json!({"keys": []}));
    let mut r = axum::Json(jwks).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    r
}
