//! The contract between the API and whoever decides access.
//!
//! The API (`server`) knows routes and renders data; an access provider (`identity`,
//! or [`OpenAccess`]) decides who the caller is and whether the call is allowed. They
//! meet here, so neither depends on the other:
//!
//! - [`Route`]: what the provider is told about the route being called (its path,
//!   the [`Permission`] it needs and its [`RateFamily`]);
//! - [`Authenticator`]: request headers and route → [`Principal`] (who, and which
//!   device groups it may see), or an [`ApiError`];
//! - [`RateLimiter`]: admits or refuses a principal's call (`429` with `Retry-After`),
//!   so a shared implementation (e.g. in PostgreSQL) can replace the in-memory one;
//! - [`ApiError`]: every refusal or failure as the MDE error body
//!   `{"error":{"code","message","target"}}` with its documented status.

pub mod error;
pub mod permission;

pub use error::ApiError;
pub use permission::{Permission, RateFamily, Route};

use http::HeaderMap;

/// Who is calling, as the [`Authenticator`] established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Application (client) id, or "anonymous" when authentication is off.
    pub app_id: String,
    pub tenant_id: String,
    /// `None`: every device group; `Some(ids)`: only these groups.
    pub groups: Option<Vec<u32>>,
}

/// The single place authentication plugs in. Every API request passes through
/// [`Authenticator::authenticate`] before its handler runs; the principal it returns
/// says which device groups the caller may see.
pub trait Authenticator: Send + Sync {
    fn authenticate(&self, headers: &HeaderMap, route: &Route) -> Result<Principal, ApiError>;
}

/// No authentication: every caller sees everything. The default until an identity
/// provider is configured.
pub struct OpenAccess;

impl Authenticator for OpenAccess {
    fn authenticate(&self, _headers: &HeaderMap, _route: &Route) -> Result<Principal, ApiError> {
        Ok(Principal {
            app_id: "anonymous".into(),
            tenant_id: "local".into(),
            groups: None,
        })
    }
}

/// Admits or refuses a request of an authenticated principal, after authentication
/// and before the handler; a refusal is [`ApiError::too_many_requests`]
/// (`429 TooManyRequests` with `Retry-After`). Limits are kept per application and
/// tenant, separately for each [`RateFamily`].
pub trait RateLimiter: Send + Sync {
    fn check(&self, principal: &Principal, route: &Route) -> Result<(), ApiError>;
    /// Whether [`RateLimiter::check`] waits on something outside the process (a shared
    /// database): the API then runs it on a blocking thread beside the handler, and
    /// answers only once it admitted the call.
    fn is_remote(&self) -> bool {
        false
    }
    /// A refusal this process already knows of without asking (a window it saw full,
    /// until its `Retry-After`); checked before a remote [`RateLimiter::check`], so a
    /// client past its limit costs no page.
    fn known_refusal(&self, _principal: &Principal, _route: &Route) -> Result<(), ApiError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_access_admits_anyone_to_every_group() {
        let route = Route {
            path: "deviceavinfo",
            permission: Permission::Machine,
            family: RateFamily::Json,
        };
        let principal = OpenAccess
            .authenticate(&HeaderMap::new(), &route)
            .expect("open access refuses no one");
        assert_eq!(principal.app_id, "anonymous");
        assert_eq!(principal.groups, None);
    }
}
