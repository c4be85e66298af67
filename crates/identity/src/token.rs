//! The token endpoint's logic, independent of HTTP: grant validation and access
//! token claims. Error codes and statuses follow Entra ID (the `AADSTS` numbers in
//! `error_codes`), so clients that match on them behave as they do against Entra.

use crate::Identity;
use crate::apps::{ct_eq, secret_hash, verify_password};
use crate::oauth::OAuthError;
use crate::registry::AppRow;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Which token endpoint: v1 (`/oauth2/token`, `resource=`) or v2
/// (`/oauth2/v2.0/token`, `scope=<resource>/.default`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenVersion {
    V1,
    V2,
}

impl TokenVersion {
    pub fn ver_claim(self) -> &'static str {
        match self {
            TokenVersion::V1 => "1.0",
            TokenVersion::V2 => "2.0",
        }
    }
}

/// A successful token response.
#[derive(Debug)]
pub(crate) struct Issued {
    pub access_token: String,
    pub iat: i64,
    pub exp: i64,
    pub resource: String,
    /// Delegated scopes granted (password grant only).
    pub scope: Option<String>,
}

const RESERVED_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];

/// A form-encoded request body, each parameter at most once.
pub(crate) type Params = HashMap<String, String>;

fn missing(name: &str) -> OAuthError {
    OAuthError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{name}'."),
    )
}

fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.get(name).map(|s| s.as_str()).filter(|s| !s.is_empty())
}

/// Who a token is for.
enum Subject<'a> {
    App(&'a AppRow),
    User {
        app: &'a AppRow,
        name: &'a str,
        object_id: &'a str,
        scopes: Vec<String>,
        groups: Option<Vec<u32>>,
    },
}

impl Identity {
    /// Handles one token request for `tenant` on the endpoint of `version`.
    /// `basic` is the client id and secret from an `Authorization: Basic` header.
    pub(crate) fn token_request(
        &self,
        tenant: &str,
        version: TokenVersion,
        p: &Params,
        basic: Option<(String, String)>,
    ) -> Result<Issued, OAuthError> {
        if !self.is_tenant(tenant) {
            return Err(OAuthError::tenant_not_found(tenant, "invalid_request"));
        }
        let grant = param(p, "grant_type").ok_or_else(|| missing("grant_type"))?;
        if grant != "client_credentials" && grant != "password" {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                format!(
                    "The app requested an unsupported grant type '{grant}'. Posture supports client_credentials and password."
                ),
            ));
        }
        let (basic_id, basic_secret) = match basic {
            Some((id, secret)) => (Some(id), Some(secret)),
            None => (None, None),
        };
        let client_id = match (param(p, "client_id"), basic_id.as_deref()) {
            (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    900144,
                    "The client_id in the body and in the Authorization header differ.",
                ));
            }
            (Some(a), _) => a.to_owned(),
            (None, Some(b)) => b.to_owned(),
            (None, None) => return Err(missing("client_id")),
        };
        if p.contains_key("client_assertion") {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000216,
                "Client assertions are not supported by Posture; authenticate with client_secret.",
            ));
        }
        let secret = param(p, "client_secret")
            .map(str::to_owned)
            .or(basic_secret);

        // The resource (audience) and, on v2, the requested scope names.
        let (resource, requested) = match version {
            TokenVersion::V1 => {
                let r = param(p, "resource").ok_or_else(|| missing("resource"))?;
                (r.trim().to_owned(), None)
            }
            TokenVersion::V2 => {
                let s = param(p, "scope").ok_or_else(|| missing("scope"))?;
                let (r, names) = parse_v2_scope(s, grant == "client_credentials")?;
                (r, Some(names))
            }
        };
        let audience = self.accepted_resource(&resource).ok_or_else(|| {
            OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                500011,
                format!(
                    "The resource principal named {resource} was not found in the tenant named {tenant}. Accepted resources: {}.",
                    self.audiences.join(", ")
                ),
            )
        })?;

        let app = self
            .registry
            .app(&client_id)
            .map_err(OAuthError::server)?
            .filter(|a| self.is_tenant(&a.tenant_id))
            .ok_or_else(|| {
                OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    700016,
                    format!(
                        "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
                    ),
                )
            })?;
        if app.disabled {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                7000112,
                format!("Application '{}' is disabled.", app.client_id),
            ));
        }
        let secret_ok = secret
            .as_deref()
            .map(|s| ct_eq(&secret_hash(s), &app.secret_hash));
        let bad_secret = || {
            OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value for app '{}'.",
                    app.client_id
                ),
            )
        };

        let issued = if grant == "client_credentials" {
            match secret_ok {
                None => {
                    return Err(OAuthError::new(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        7000216,
                        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
                    ));
                }
                Some(false) => return Err(bad_secret()),
                Some(true) => self.mint(version, &audience, Subject::App(&app), None)?,
            }
        } else {
            // Resource-owner password: the client secret is optional (public
            // clients), but a wrong one is refused.
            if secret_ok == Some(false) {
                return Err(bad_secret());
            }
            let username = param(p, "username").ok_or_else(|| missing("username"))?;
            let password = param(p, "password").ok_or_else(|| missing("password"))?;
            let user = self.registry.user(username).map_err(OAuthError::server)?;
            let invalid = || {
                OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    50126,
                    "Error validating credentials due to invalid username or password.",
                )
            };
            let Some(user) = user else {
                // Same work for an unknown user, so timing does not reveal names.
                let _ = verify_password(password, DUMMY_PHC);
                return Err(invalid());
            };
            if !verify_password(password, &user.password_hash) {
                return Err(invalid());
            }
            let scopes: Vec<String> = match requested.as_deref() {
                None | Some([]) => user.scopes.clone(),
                Some(names) if names.iter().any(|n| n == ".default") => user.scopes.clone(),
                Some(names) => user
                    .scopes
                    .iter()
                    .filter(|s| names.iter().any(|n| n.eq_ignore_ascii_case(s)))
                    .cloned()
                    .collect(),
            };
            if scopes.is_empty() {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    65001,
                    "The user has not been granted any of the requested scopes.",
                ));
            }
            let groups = match (&user.groups, &app.groups) {
                (None, None) => None,
                (Some(g), None) | (None, Some(g)) => Some(g.clone()),
                (Some(u), Some(a)) => Some(u.iter().copied().filter(|g| a.contains(g)).collect()),
            };
            let scope = scopes.join(" ");
            self.mint(
                version,
                &audience,
                Subject::User {
                    app: &app,
                    name: &user.name,
                    object_id: &user.object_id,
                    scopes,
                    groups,
                },
                Some(scope),
            )?
        };
        Ok(issued)
    }

    /// The accepted audience matching a requested resource (case-insensitive, a
    /// trailing `/` ignored), in its configured spelling.
    pub(crate) fn accepted_resource(&self, resource: &str) -> Option<String> {
        let r = resource.trim().trim_end_matches('/');
        self.audiences
            .iter()
            .find(|a| a.trim_end_matches('/').eq_ignore_ascii_case(r))
            .cloned()
    }

    fn mint(
        &self,
        version: TokenVersion,
        audience: &str,
        subject: Subject<'_>,
        scope: Option<String>,
    ) -> Result<Issued, OAuthError> {
        // Pick up a rotation done by another process before signing.
        let ring = self.refresh_keys().map_err(OAuthError::server)?;
        let now = crate::unix_now();
        let exp = now + self.config.token_lifetime.as_secs() as i64;
        let claims = self.claims(version, audience, &subject, now, exp);
        let access_token = ring.signer.sign(&claims).map_err(OAuthError::server)?;
        Ok(Issued {
            access_token,
            iat: now,
            exp,
            resource: audience.to_owned(),
            scope,
        })
    }

    fn claims(
        &self,
        version: TokenVersion,
        audience: &str,
        subject: &Subject<'_>,
        now: i64,
        exp: i64,
    ) -> Value {
        let iss = self.issuer(version);
        let uti = uuid::Uuid::new_v4().simple().to_string();
        let mut c = json!({
            "aud": audience,
            "iss": iss,
            "iat": now,
            "nbf": now,
            "exp": exp,
            "tid": self.tenant_id,
            "ver": version.ver_claim(),
            "uti": uti,
        });
        let Some(obj) = c.as_object_mut() else {
            return c;
        };
        let (app, groups) = match subject {
            Subject::App(app) => {
                obj.insert("idtyp".into(), json!("app"));
                obj.insert("sub".into(), json!(app.client_id));
                obj.insert("oid".into(), json!(app.client_id));
                obj.insert("roles".into(), json!(app.roles));
                obj.insert("appidacr".into(), json!("1"));
                obj.insert("azpacr".into(), json!("1"));
                (*app, app.groups.clone())
            }
            Subject::User {
                app,
                name,
                object_id,
                scopes,
                groups,
            } => {
                obj.insert("idtyp".into(), json!("user"));
                obj.insert("sub".into(), json!(object_id));
                obj.insert("oid".into(), json!(object_id));
                obj.insert("name".into(), json!(name));
                obj.insert("unique_name".into(), json!(name));
                obj.insert("upn".into(), json!(name));
                obj.insert("amr".into(), json!(["pwd"]));
                obj.insert("scp".into(), json!(scopes.join(" ")));
                obj.insert("appidacr".into(), json!("0"));
                obj.insert("azpacr".into(), json!("0"));
                (*app, groups.clone())
            }
        };
        obj.insert("appid".into(), json!(app.client_id));
        obj.insert("azp".into(), json!(app.client_id));
        obj.insert("app_displayname".into(), json!(app.name));
        obj.insert("idp".into(), json!(self.issuer(TokenVersion::V1)));
        if let Some(g) = groups {
            obj.insert("groups".into(), json!(g));
        }
        c
    }
}

/// An Argon2id hash of a random password, verified against for unknown users.
pub(crate) const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jr4BRKbC7pPEYb9nbdhr0F1t5vQBuwSmHH2dJ4mqtR0";

/// Splits a v2 `scope` parameter into the resource and the scope names under it.
/// Reserved OpenID scopes are ignored. Client credentials need exactly
/// `<resource>/.default`.
fn parse_v2_scope(
    scope: &str,
    client_credentials: bool,
) -> Result<(String, Vec<String>), OAuthError> {
    let invalid = |detail: &str| {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!("The provided value for scope {scope} is not valid. {detail}"),
        )
    };
    let items: Vec<&str> = scope
        .split_whitespace()
        .filter(|s| !RESERVED_SCOPES.iter().any(|r| r.eq_ignore_ascii_case(s)))
        .collect();
    let mut resource: Option<String> = None;
    let mut names = Vec::new();
    for item in &items {
        let Some((r, name)) = item.rsplit_once('/') else {
            return Err(invalid(
                "A scope must be <resource>/<name>, e.g. https://api.securitycenter.microsoft.com/.default.",
            ));
        };
        if r.is_empty() || name.is_empty() {
            return Err(invalid("A scope must be <resource>/<name>."));
        }
        match &resource {
            Some(prev) if !prev.eq_ignore_ascii_case(r) => {
                return Err(invalid("All scopes must be for the same resource."));
            }
            _ => resource = Some(r.to_owned()),
        }
        names.push(name.to_owned());
    }
    let Some(resource) = resource else {
        return Err(invalid("No resource scope was requested."));
    };
    if client_credentials && (names.len() != 1 || names[0] != ".default") {
        return Err(invalid(
            "Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
        ));
    }
    Ok((resource, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_scopes() {
        assert_eq!(
            parse_v2_scope("https://api.securitycenter.microsoft.com/.default", true).unwrap(),
            (
                "https://api.securitycenter.microsoft.com".to_owned(),
                vec![".default".to_owned()]
            )
        );
        // MSAL may add the reserved OpenID scopes.
        assert!(
            parse_v2_scope(
                "openid profile offline_access https://api.securitycenter.microsoft.com/.default",
                true
            )
            .is_ok()
        );
        for bad in [
            "https://api.securitycenter.microsoft.com",
            "https://api.securitycenter.microsoft.com/Machine.Read",
            "openid",
            "https://a.example/.default https://b.example/.default",
        ] {
            let e = parse_v2_scope(bad, true).unwrap_err();
            assert_eq!(
                (e.status, e.error),
                (StatusCode::BAD_REQUEST, "invalid_scope"),
                "{bad}"
            );
        }
        assert!(
            parse_v2_scope(
                "https://api.securitycenter.microsoft.com/Machine.Read https://api.securitycenter.microsoft.com/Software.Read",
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn dummy_hash_is_a_valid_phc_string() {
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_PHC).is_ok());
    }
}
