//! The claims of a test access token: an application token for the MDE audience with
//! the three read roles, valid for an hour from now, which identity tests adjust
//! (remove a claim, change the roles, expire it) and sign with `Identity::sign_claims`.

use serde_json::{Map, Value, json};

/// The MDE API's audience.
pub const MDE_AUDIENCE: &str = "https://api.securitycenter.microsoft.com";

/// The application id of the test claims.
pub const TEST_APP_ID: &str = "11111111-2222-3333-4444-555555555555";

/// Builds test token claims; `build` gives the JSON object to sign.
#[derive(Clone, Debug)]
pub struct Claims {
    claims: Map<String, Value>,
}

impl Claims {
    /// An application token of tenant `tenant` from issuer `issuer`, issued now, valid
    /// for 3599 s, with `Vulnerability.Read.All`, `Software.Read.All` and `Machine.Read.All`.
    pub fn application(issuer: &str, tenant: &str) -> Claims {
        let now = chrono::Utc::now().timestamp();
        let Value::Object(claims) = json!({
            "aud": MDE_AUDIENCE,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + 3599,
            "tid": tenant,
            "appid": TEST_APP_ID,
            "azp": TEST_APP_ID,
            "roles": ["Vulnerability.Read.All", "Software.Read.All", "Machine.Read.All"],
            "ver": "2.0",
        }) else {
            unreachable!("a JSON object literal")
        };
        Claims { claims }
    }

    /// Any claims (an external issuer's shape); members of a non-object are ignored.
    pub fn from_object(claims: Value) -> Claims {
        match claims {
            Value::Object(claims) => Claims { claims },
            _ => Claims { claims: Map::new() },
        }
    }

    /// Sets claim `name` to `value`.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Claims {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes claim `name`.
    pub fn without(mut self, name: &str) -> Claims {
        self.claims.remove(name);
        self
    }

    /// Applies every member of the object `overrides`: a `null` removes the claim,
    /// anything else sets it.
    pub fn overridden(mut self, overrides: &Value) -> Claims {
        if let Some(members) = overrides.as_object() {
            for (name, value) in members {
                if value.is_null() {
                    self.claims.remove(name);
                } else {
                    self.claims.insert(name.clone(), value.clone());
                }
            }
        }
        self
    }

    /// The claims as the JSON object to sign.
    pub fn build(self) -> Value {
        Value::Object(self.claims)
    }
}
