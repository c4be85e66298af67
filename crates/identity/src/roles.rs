//! Permission names: the application roles and delegated scopes an application or
//! user may be given, and the rule that decides whether a token's `roles`/`scp`
//! satisfy an endpoint's [`Permission`] (a `*.ReadWrite*` grant satisfies the
//! matching `*.Read*`).

use crate::error::IdentityError;
use access::Permission;

/// Application roles Posture knows (`roles` claim of app-only tokens).
pub const APP_ROLES: &[&str] = &[
    "Vulnerability.Read.All",
    "Vulnerability.ReadWrite.All",
    "Software.Read.All",
    "Software.ReadWrite.All",
    "Machine.Read.All",
    "Machine.ReadWrite.All",
    // The emulator's admin endpoint; only ever granted explicitly (`--roles`).
    "Posture.Admin",
];

/// Delegated scopes Posture knows (`scp` claim of user tokens).
pub const DELEGATED_SCOPES: &[&str] = &[
    "Vulnerability.Read",
    "Vulnerability.ReadWrite",
    "Software.Read",
    "Software.ReadWrite",
    "Machine.Read",
    "Machine.ReadWrite",
];

/// The canonical spelling of an application role (input matched case-insensitively).
pub fn canonical_role(name: &str) -> Result<&'static str, IdentityError> {
    let name = name.trim();
    APP_ROLES
        .iter()
        .find(|r| r.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| IdentityError::UnknownRole {
            name: name.to_owned(),
            known: APP_ROLES.join(", "),
        })
}

/// The canonical spelling of a delegated scope (input matched case-insensitively).
pub fn canonical_scope(name: &str) -> Result<&'static str, IdentityError> {
    let name = name.trim();
    DELEGATED_SCOPES
        .iter()
        .find(|r| r.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| IdentityError::UnknownScope {
            name: name.to_owned(),
            known: DELEGATED_SCOPES.join(", "),
        })
}

/// Validates and canonicalises a role list, dropping duplicates, keeping order.
pub fn parse_roles<S: AsRef<str>>(roles: &[S]) -> Result<Vec<String>, IdentityError> {
    let mut out: Vec<String> = Vec::new();
    for r in roles {
        for part in r.as_ref().split(',').filter(|p| !p.trim().is_empty()) {
            let c = canonical_role(part)?;
            if !out.iter().any(|o| o == c) {
                out.push(c.to_owned());
            }
        }
    }
    if out.is_empty() {
        return Err(IdentityError::NoRoles);
    }
    Ok(out)
}

/// Validates and canonicalises a scope list (comma or space separated).
pub fn parse_scopes<S: AsRef<str>>(scopes: &[S]) -> Result<Vec<String>, IdentityError> {
    let mut out: Vec<String> = Vec::new();
    for s in scopes {
        for part in s
            .as_ref()
            .split([',', ' '])
            .filter(|p| !p.trim().is_empty())
        {
            let c = canonical_scope(part)?;
            if !out.iter().any(|o| o == c) {
                out.push(c.to_owned());
            }
        }
    }
    if out.is_empty() {
        return Err(IdentityError::NoScopes);
    }
    Ok(out)
}

/// The application roles that grant `p`: `X.Read.All` and `X.ReadWrite.All`.
pub fn granting_roles(p: Permission) -> [String; 2] {
    let read = p.app_role();
    [read.to_owned(), read.replacen(".Read.", ".ReadWrite.", 1)]
}

/// The delegated scopes that grant `p`: `X.Read` and `X.ReadWrite` (none for
/// [`Permission::Admin`], see [`scopes_may_grant`]).
pub fn granting_scopes(p: Permission) -> [String; 2] {
    let read = p.delegated_scope();
    [read.to_owned(), format!("{read}Write")]
}

/// Whether a delegated (user) token can hold `p` at all: not the admin role.
pub fn scopes_may_grant(p: Permission) -> bool {
    p != Permission::Admin
}

/// Whether any of `held` (roles or scopes) grants `p`. Case-insensitive: role values
/// from other issuers (Keycloak realm roles) are not always cased as Entra's.
pub fn grants<S: AsRef<str>>(held: &[S], wanted: &[String; 2]) -> bool {
    held.iter().any(|h| {
        let h = h.as_ref();
        wanted.iter().any(|w| w.eq_ignore_ascii_case(h))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_validated_and_canonicalised() {
        assert_eq!(
            parse_roles(&[
                "vulnerability.read.all,Software.Read.All",
                "Machine.Read.All"
            ])
            .unwrap(),
            [
                "Vulnerability.Read.All",
                "Software.Read.All",
                "Machine.Read.All"
            ]
        );
        let e = parse_roles(&["Alert.Read.All"]).unwrap_err().to_string();
        assert!(
            e.contains("Alert.Read.All") && e.contains("Machine.Read.All"),
            "{e}"
        );
        assert!(matches!(
            parse_roles::<&str>(&[]),
            Err(IdentityError::NoRoles)
        ));
        assert_eq!(
            parse_scopes(&["Machine.Read Software.read"]).unwrap(),
            ["Machine.Read", "Software.Read"]
        );
    }

    #[test]
    fn only_the_admin_role_grants_admin() {
        let admin = granting_roles(Permission::Admin);
        assert!(grants(&["posture.admin"], &admin));
        for p in [
            Permission::Vulnerability,
            Permission::Software,
            Permission::Machine,
        ] {
            assert!(!grants(&granting_roles(p), &admin), "{p:?}");
            assert!(!grants(&["Posture.Admin"], &granting_roles(p)), "{p:?}");
        }
        assert!(!scopes_may_grant(Permission::Admin));
        assert_eq!(parse_roles(&["posture.admin"]).unwrap(), ["Posture.Admin"]);
        assert!(parse_scopes(&["Posture.Admin"]).is_err());
    }

    #[test]
    fn readwrite_satisfies_read() {
        for p in [
            Permission::Vulnerability,
            Permission::Software,
            Permission::Machine,
        ] {
            let roles = granting_roles(p);
            assert!(grants(&[roles[1].clone()], &roles));
            assert!(grants(&[p.app_role()], &roles));
            let scopes = granting_scopes(p);
            assert!(grants(&[scopes[1].clone()], &scopes));
            assert!(!grants(&[p.app_role()], &scopes));
        }
        assert_eq!(
            granting_roles(Permission::Machine),
            ["Machine.Read.All", "Machine.ReadWrite.All"]
        );
        assert_eq!(
            granting_scopes(Permission::Software),
            ["Software.Read", "Software.ReadWrite"]
        );
    }
}
