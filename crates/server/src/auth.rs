//! The single place authentication plugs in. Every API request passes through
//! [`Authenticator::authenticate`] before its handler runs; the principal it returns
//! says which device groups the caller may see.

use crate::endpoints::Endpoint;
use crate::error::ApiError;
use axum::http::HeaderMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Application (client) id, or "anonymous" when authentication is off.
    pub app_id: String,
    pub tenant_id: String,
    /// `None`: every device group; `Some(ids)`: only these groups.
    pub groups: Option<Vec<u32>>,
}

pub trait Authenticator: Send + Sync {
    fn authenticate(&self, headers: &HeaderMap, endpoint: &Endpoint)
    -> Result<Principal, ApiError>;
}

/// No authentication: every caller sees everything. The default until an identity
/// provider is configured.
pub struct OpenAccess;

impl Authenticator for OpenAccess {
    fn authenticate(
        &self,
        _headers: &HeaderMap,
        _endpoint: &Endpoint,
    ) -> Result<Principal, ApiError> {
        Ok(Principal {
            app_id: "anonymous".into(),
            tenant_id: "local".into(),
            groups: None,
        })
    }
}

/// Admits or refuses a request of an authenticated principal, after authentication
/// and before the handler; a refusal is `429 TooManyRequests` with `Retry-After`.
pub trait RateLimiter: Send + Sync {
    fn check(&self, principal: &Principal, endpoint: &Endpoint) -> Result<(), ApiError>;
}
