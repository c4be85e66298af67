//! What a route requires: the permission a caller needs, and the rate-limit family
//! its calls count against.

/// A data permission of the MDE API, granted as an application role or a delegated
/// scope (a `*.ReadWrite*` grant also satisfies the matching `*.Read*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `Vulnerability.Read.All` (app) / `Vulnerability.Read` (delegated).
    Vulnerability,
    /// `Software.Read.All` / `Software.Read`.
    Software,
    /// `Machine.Read.All` / `Machine.Read`.
    Machine,
    /// `Posture.Admin`: the emulator's admin endpoint (time travel). An application
    /// role only, never granted by default; no delegated scope grants it.
    Admin,
}

impl Permission {
    pub fn app_role(self) -> &'static str {
        match self {
            Permission::Vulnerability => "Vulnerability.Read.All",
            Permission::Software => "Software.Read.All",
            Permission::Machine => "Machine.Read.All",
            Permission::Admin => "Posture.Admin",
        }
    }
    /// The delegated scope of a data permission. [`Permission::Admin`] has none: the
    /// name returned for it is the role's, and providers must not grant it to users.
    pub fn delegated_scope(self) -> &'static str {
        match self {
            Permission::Vulnerability => "Vulnerability.Read",
            Permission::Software => "Software.Read",
            Permission::Machine => "Machine.Read",
            Permission::Admin => "Posture.Admin",
        }
    }
}

/// Rate-limit family (decisions.md): JSON endpoints 30/min & 1000/h, file endpoints 5/min & 20/h.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateFamily {
    Json,
    Files,
}

/// What an [`crate::Authenticator`] and a [`crate::RateLimiter`] are told about the
/// route being called; the API's endpoint table provides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// Path after `/api/`, as documented (for messages and metrics).
    pub path: &'static str,
    pub permission: Permission,
    pub family: RateFamily,
}
