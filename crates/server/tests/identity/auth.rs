//! Tokens, verification, permissions, groups and key rotation over real HTTP: the
//! real API router with the `Identity` as its authenticator, merged with the OAuth
//! routes, on a loopback port.

use crate::common::*;
use access::Authenticator;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64URL};
use identity::{Identity, IdentityConfig, TokenVersion};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The test claims of `w`'s v2 issuer, tenant and registered application, with
/// `overrides` applied.
fn claims(w: &World, overrides: Value) -> Value {
    testkit::claims::Claims::application(&w.identity.issuer(TokenVersion::V2), &w.tenant())
        .with("appid", w.app_id.as_str())
        .with("azp", w.app_id.as_str())
        .overridden(&overrides)
        .build()
}

#[tokio::test]
async fn client_credentials_token_calls_every_seed_endpoint() {
    let w = world().await;
    let app = w
        .identity
        .create_app(
            "SIEM connector",
            &[
                "Vulnerability.Read.All,Software.Read.All",
                "Machine.Read.All",
            ],
            None,
        )
        .unwrap();
    assert_eq!(app.tenant_id, w.tenant());
    assert_eq!(app.authority, format!("{}/{}", w.base, w.tenant()));

    // Discovery: what MSAL and other OpenID clients read.
    let d = send(w.client.get(w.url(&format!(
        "{}/v2.0/.well-known/openid-configuration",
        w.tenant()
    ))))
    .await;
    assert_eq!(d.status, 200);
    let d = d.json();
    let issuer_v2 = format!("{}/{}/v2.0", w.base, w.tenant());
    assert_eq!(d["issuer"], issuer_v2.as_str());
    assert_eq!(
        d["token_endpoint"],
        format!("{}/{}/oauth2/v2.0/token", w.base, w.tenant()).as_str()
    );
    assert!(d["authorization_endpoint"].is_string());
    let d1 = send(
        w.client
            .get(w.url(&format!("{}/.well-known/openid-configuration", w.tenant()))),
    )
    .await
    .json();
    assert_eq!(d1["issuer"], format!("{}/{}/", w.base, w.tenant()).as_str());
    assert_eq!(
        d1["token_endpoint"],
        format!("{}/{}/oauth2/token", w.base, w.tenant()).as_str()
    );

    // v2 token: claims as decisions.md lists them.
    let token = w.token(&app.client_id, &app.secret).await;
    let h = header(&token);
    assert_eq!(h["alg"], "RS256");
    let kid = h["kid"].as_str().unwrap().to_owned();
    let p = payload(&token);
    assert_eq!(p["aud"], MDE_AUDIENCE);
    assert_eq!(p["iss"], issuer_v2.as_str());
    assert_eq!(p["tid"], w.tenant().as_str());
    assert_eq!(p["appid"], app.client_id.as_str());
    assert_eq!(p["azp"], app.client_id.as_str());
    assert_eq!(p["ver"], "2.0");
    assert_eq!(
        p["roles"],
        json!([
            "Vulnerability.Read.All",
            "Software.Read.All",
            "Machine.Read.All"
        ])
    );
    assert_eq!(
        p["exp"].as_i64().unwrap() - p["iat"].as_i64().unwrap(),
        3599
    );
    assert!(p["nbf"].as_i64().unwrap() <= now());
    assert!(p.get("groups").is_none() && p.get("scp").is_none());

    // The JWKS named by discovery publishes the kid.
    let jwks = send(w.client.get(d["jwks_uri"].as_str().unwrap()))
        .await
        .json();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid.as_str() && k["kty"] == "RSA" && k["use"] == "sig")
    );
    let jwks1 = send(w.client.get(d1["jwks_uri"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(jwks, jwks1);

    for (path, _) in ENDPOINTS {
        let r = w.api(path, Some(&token)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(
            r.json()["value"].as_array().is_some_and(|v| !v.is_empty()),
            "{path}"
        );
    }
    // Also under /api/v1.0 and with a lower-case scheme.
    let r = w
        .api_with_header("v1.0/deviceavinfo", &format!("bearer {token}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // v1 endpoint (resource=...), answering strings as Entra's v1 does.
    let r = w
        .post_form(
            &format!("{}/oauth2/token", w.tenant()),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.client_id),
                ("client_secret", &app.secret),
                (
                    "resource",
                    "https://securitycenter.onmicrosoft.com/windowsatpservice",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    let j = r.json();
    assert_eq!(j["token_type"], "Bearer");
    assert_eq!(j["expires_in"], "3599");
    assert_eq!(
        j["resource"],
        "https://securitycenter.onmicrosoft.com/windowsatpservice"
    );
    let v1 = j["access_token"].as_str().unwrap();
    let p1 = payload(v1);
    assert_eq!(p1["ver"], "1.0");
    assert_eq!(p1["iss"], format!("{}/{}/", w.base, w.tenant()).as_str());
    assert_eq!(
        p1["aud"],
        "https://securitycenter.onmicrosoft.com/windowsatpservice"
    );
    let r = w
        .api("machines/SoftwareInventoryByMachine?$top=3", Some(v1))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // v2 with HTTP Basic client authentication, and the base URL as audience.
    let r = send(
        w.client
            .post(w.url(&format!("{}/oauth2/v2.0/token", w.tenant())))
            .basic_auth(&app.client_id, Some(&app.secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", &format!("{}/.default", w.base)),
            ]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["expires_in"], 3599);
    assert_eq!(j["ext_expires_in"], 3599);
    let t = j["access_token"].as_str().unwrap();
    assert_eq!(payload(t)["aud"], w.base.as_str());
    assert_eq!(w.api("deviceavinfo", Some(t)).await.status, 200);
}

#[tokio::test]
async fn each_cause_of_401() {
    let w = world().await;
    let good = w.identity.sign_claims(&claims(&w, json!({}))).unwrap();
    assert_eq!(w.api("deviceavinfo", Some(&good)).await.status, 200);
    let kid = header(&good)["kid"].as_str().unwrap().to_owned();

    // A token signed by another key under our kid: a different signature.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Identity::open(other_dir.path(), IdentityConfig::new(w.base.clone())).unwrap();
    let foreign = other.sign_claims(&claims(&w, json!({}))).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let swapped_sig = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        foreign.split('.').nth(2).unwrap()
    );
    // Payload changed after signing (a role added).
    let tampered_payload =
        B64URL.encode(claims(&w, json!({"roles": ["Machine.ReadWrite.All"]})).to_string());
    let tampered = format!("{}.{}.{}", parts[0], tampered_payload, parts[2]);
    // alg none, and HS256 keyed with the public modulus (the key-confusion attack).
    let none = format!(
        "{}.{}.",
        B64URL.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string()),
        parts[1]
    );
    let n = w.identity.jwks()["keys"][0]["n"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims(&w, json!({})),
        &jsonwebtoken::EncodingKey::from_secret(n.as_bytes()),
    )
    .unwrap();
    let sign = |o: Value| w.identity.sign_claims(&claims(&w, o)).unwrap();
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("missing header", None, "missing"),
        (
            "basic scheme",
            Some(format!("Basic {}", STANDARD.encode("a:b"))),
            "Bearer",
        ),
        ("empty bearer", Some("Bearer ".into()), "Bearer"),
        ("not a JWT", Some("Bearer abc".into()), "malformed"),
        ("garbage parts", Some("Bearer a.b.c".into()), "malformed"),
        (
            "bad signature (other key)",
            Some(format!("Bearer {swapped_sig}")),
            "signature",
        ),
        (
            "bad signature (tampered)",
            Some(format!("Bearer {tampered}")),
            "signature",
        ),
        (
            "unknown kid",
            Some(format!("Bearer {foreign}")),
            "unknown key",
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                sign(json!({"iat": now() - 7200, "nbf": now() - 7200, "exp": now() - 3600}))
            )),
            "expired",
        ),
        (
            "not yet valid",
            Some(format!("Bearer {}", sign(json!({"nbf": now() + 3600})))),
            "not yet valid",
        ),
        (
            "wrong audience",
            Some(format!(
                "Bearer {}",
                sign(json!({"aud": "https://graph.microsoft.com"}))
            )),
            "audience",
        ),
        (
            "wrong issuer",
            Some(format!(
                "Bearer {}",
                sign(json!({"iss": "https://login.microsoftonline.com/x/v2.0"}))
            )),
            "issuer",
        ),
        (
            "issuer of another tenant",
            Some(format!(
                "Bearer {}",
                sign(
                    json!({"iss": format!("{}/other-tenant/v2.0", w.base), "tid": "other-tenant"})
                )
            )),
            "issuer",
        ),
        (
            "no exp",
            Some(format!("Bearer {}", sign(json!({"exp": null})))),
            "exp",
        ),
        ("alg none", Some(format!("Bearer {none}")), "algorithm none"),
        (
            "alg HS256",
            Some(format!("Bearer {hs256}")),
            "algorithm HS256",
        ),
    ];
    for (name, auth, needle) in cases {
        let r = match &auth {
            None => w.api("deviceavinfo", None).await,
            Some(a) => w.api_with_header("deviceavinfo", a).await,
        };
        assert_eq!(r.status, 401, "{name}: {}", r.body);
        let (code, message) = r.mde_error();
        assert_eq!(code, "Unauthorized", "{name}");
        assert!(
            message.to_lowercase().contains(&needle.to_lowercase()),
            "{name}: {message:?} should mention {needle:?}"
        );
        assert!(
            r.json()["error"]["target"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        assert_eq!(
            r.headers["content-type"], "application/json; charset=utf-8",
            "{name}"
        );
        // No data in the body.
        assert!(r.json().get("value").is_none());
    }
    // An expired token that was cached while valid is refused too.
    // (exp 58 s ago: valid for 2 more seconds within the 60 s leeway.)
    let short = sign(json!({"exp": now() - 58}));
    assert_eq!(w.api("deviceavinfo", Some(&short)).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let r = w.api("deviceavinfo", Some(&short)).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.mde_error().1.contains("expired"));
}

#[tokio::test]
async fn each_missing_permission_is_403_naming_the_roles() {
    let w = world().await;
    let vuln = w.app_token(&["Vulnerability.Read.All"], None).await;
    let soft = w.app_token(&["Software.Read.All"], None).await;
    let machine = w.app_token(&["Machine.Read.All"], None).await;
    for (path, perm) in ENDPOINTS {
        for (token, held) in [
            (&vuln, "Vulnerability"),
            (&soft, "Software"),
            (&machine, "Machine"),
        ] {
            let r = w.api(&format!("{path}?$top=2"), Some(token)).await;
            if held == perm {
                assert_eq!(r.status, 200, "{path} with {held}: {}", r.body);
            } else {
                assert_eq!(r.status, 403, "{path} with {held}: {}", r.body);
                let (code, message) = r.mde_error();
                assert_eq!(code, "Forbidden");
                assert!(
                    message.contains(&format!("{perm}.Read.All"))
                        && message.contains(&format!("{perm}.ReadWrite.All"))
                        && message.contains(&format!("{held}.Read.All")),
                    "{path} with {held}: {message}"
                );
                assert!(r.json().get("value").is_none());
            }
        }
    }
    // ReadWrite satisfies Read.
    let rw = w
        .app_token(
            &[
                "Vulnerability.ReadWrite.All",
                "Software.ReadWrite.All",
                "Machine.ReadWrite.All",
            ],
            None,
        )
        .await;
    for (path, _) in ENDPOINTS {
        let r = w.api(&format!("{path}?$top=2"), Some(&rw)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    // A token with no roles at all.
    let none = w
        .identity
        .sign_claims(&claims(&w, json!({"roles": null})))
        .unwrap();
    let r = w.api("deviceavinfo", Some(&none)).await;
    assert_eq!(r.status, 403);
    assert!(r.mde_error().1.contains("Machine.Read.All"));
    // Unknown role names are refused when the application is created.
    let e = w
        .identity
        .create_app("x", &["Alert.Read.All"], None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown role") && e.contains("Alert.Read.All"),
        "{e}"
    );
}

#[tokio::test]
async fn oauth2_errors_are_entra_shaped() {
    let w = world().await;
    let app = w
        .identity
        .create_app("app", &["Machine.Read.All"], None)
        .unwrap();
    let t = w.tenant();
    let v2 = format!("{t}/oauth2/v2.0/token");
    let v1 = format!("{t}/oauth2/token");
    let scope = format!("{MDE_AUDIENCE}/.default");
    let cc = "client_credentials";
    let id = app.client_id.as_str();
    let secret = app.secret.as_str();
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing grant_type",
            v2.clone(),
            vec![
                ("client_id", id),
                ("client_secret", secret),
                ("scope", &scope),
            ],
            400,
            "invalid_request",
        ),
        (
            "unsupported grant",
            v2.clone(),
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", &scope),
            ],
            400,
            "unsupported_grant_type",
        ),
        (
            "missing client_id",
            v2.clone(),
            vec![
                ("grant_type", cc),
                ("client_secret", secret),
                ("scope", &scope),
            ],
            400,
            "invalid_request",
        ),
        (
            "unknown client",
            v2.clone(),
            vec![
                ("grant_type", cc),
                ("client_id", "00000000-0000-0000-0000-000000000000"),
                ("client_secret", secret),
                ("scope", &scope),
            ],
            400,
            "unauthorized_client",
        ),
        (
            "wrong secret",
            v2.clone(),
            vec![
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", "nope"),
                ("scope", &scope),
            ],
            401,
            "invalid_client",
        ),
        (
            "missing secret",
            v2.clone(),
            vec![("grant_type", cc), ("client_id", id), ("scope", &scope)],
            401,
            "invalid_client",
        ),
        (
            "missing scope",
            v2.clone(),
            vec![
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", secret),
            ],
            400,
            "invalid_request",
        ),
        (
            "scope without .default",
            v2.clone(),
            vec![
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", secret),
                (
                    "scope",
                    "https://api.securitycenter.microsoft.com/Machine.Read.All",
                ),
            ],
            400,
            "invalid_scope",
        ),
        (
            "scope of no resource",
            v2.clone(),
            vec![
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", "openid"),
            ],
            400,
            "invalid_scope",
        ),
        (
            "unknown resource (v2)",
            v2.clone(),
            vec![
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
            400,
            "invalid_resource",
        ),
        (
            "missing resource (v1)",
            v1.clone(),
            vec![
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", secret),
            ],
            400,
            "invalid_request",
        ),
        (
            "unknown resource (v1)",
            v1.clone(),
            vec![
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", secret),
                ("resource", "https://graph.microsoft.com"),
            ],
            400,
            "invalid_resource",
        ),
        (
            "unknown tenant",
            "00000000-0000-0000-0000-00000000dead/oauth2/v2.0/token".into(),
            vec![
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", &scope),
            ],
            400,
            "invalid_request",
        ),
        (
            "password grant, wrong password",
            v1.clone(),
            vec![
                ("grant_type", "password"),
                ("client_id", id),
                ("resource", MDE_AUDIENCE),
                ("username", "nobody"),
                ("password", "secret12"),
            ],
            400,
            "invalid_grant",
        ),
    ];
    for (name, path, form, status, error) in cases {
        let r = w.post_form(&path, &form).await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
        let j = r.json();
        assert_eq!(j["error"], error, "{name}");
        assert!(
            j["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS"),
            "{name}"
        );
        assert!(j["error_codes"][0].as_u64().is_some(), "{name}");
        assert!(
            j["trace_id"].is_string() && j["timestamp"].is_string(),
            "{name}"
        );
        assert!(j.get("access_token").is_none());
    }
    // Not a form.
    let r = send(
        w.client
            .post(w.url(&v2))
            .json(&json!({"grant_type": cc, "client_id": id})),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // A parameter twice.
    let r = send(
        w.client
            .post(w.url(&v2))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type={cc}&grant_type={cc}&client_id={id}")),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // GET on the token endpoint.
    let r = send(w.client.get(w.url(&v2))).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // Wrong Basic credentials: 401 with a Basic challenge.
    let r = send(
        w.client
            .post(w.url(&v2))
            .basic_auth(id, Some("wrong"))
            .form(&[("grant_type", cc), ("scope", &scope)]),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    // Discovery and keys of an unknown tenant.
    for p in [
        "nope/v2.0/.well-known/openid-configuration",
        "nope/.well-known/openid-configuration",
        "nope/discovery/v2.0/keys",
    ] {
        let r = send(w.client.get(w.url(p))).await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (400, Some("invalid_tenant")),
            "{p}"
        );
    }
    // Interactive sign-in is not offered.
    let r = send(w.client.get(w.url(&format!("{t}/oauth2/v2.0/authorize")))).await;
    assert_eq!(r.status, 400);
    // A rotated secret: the old one stops working, the new one works.
    let rotated = w.identity.rotate_secret(id).unwrap();
    assert_eq!(rotated.client_id, app.client_id);
    let r = w
        .post_form(
            &v2,
            &[
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", &scope),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    let _ = w.token(id, &rotated.secret).await;
    // A deleted application gets no tokens.
    w.identity.delete_app(id).unwrap();
    let r = w
        .post_form(
            &v2,
            &[
                ("grant_type", cc),
                ("client_id", id),
                ("client_secret", &rotated.secret),
                ("scope", &scope),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    // Only the world's own test application is left.
    let left: Vec<String> = w
        .identity
        .list_apps()
        .unwrap()
        .into_iter()
        .map(|a| a.client_id)
        .collect();
    assert_eq!(left, std::slice::from_ref(&w.app_id));
}

#[tokio::test]
async fn signing_key_rotation_keeps_old_tokens_valid() {
    let w = world().await;
    let app = w
        .identity
        .create_app("app", &["Machine.Read.All"], None)
        .unwrap();
    let old = w.token(&app.client_id, &app.secret).await;
    let old_kid = header(&old)["kid"].as_str().unwrap().to_owned();

    let info = w.identity.rotate_signing_key().unwrap();
    assert_ne!(info.kid, old_kid);
    let new = w.token(&app.client_id, &app.secret).await;
    assert_eq!(header(&new)["kid"], info.kid.as_str());
    // Both verify; the JWKS publishes both, the active key first.
    assert_eq!(w.api("deviceavinfo", Some(&old)).await.status, 200);
    assert_eq!(w.api("deviceavinfo", Some(&new)).await.status, 200);
    let jwks = send(
        w.client
            .get(w.url(&format!("{}/discovery/v2.0/keys", w.tenant()))),
    )
    .await
    .json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [info.kid.as_str(), old_kid.as_str()]);
    let keys = w.identity.signing_keys().unwrap();
    assert!(keys[0].active && keys[0].kid == info.kid);
    assert!(!keys[1].active && keys[1].retired_at.is_some());
    // A fresh (uncached) verification of the old token still succeeds.
    assert!(w.identity.verify_uncached(&old).is_ok());

    // Another process (the CLI) rotates: the running server picks it up for new
    // tokens and accepts tokens signed with it.
    let cli = Identity::open(w.dir.path(), IdentityConfig::new(w.base.clone())).unwrap();
    assert_eq!(cli.tenant_id(), w.tenant());
    let third = cli.rotate_signing_key().unwrap();
    let by_cli = cli
        .sign_claims(&json!({
            "aud": MDE_AUDIENCE, "iss": w.identity.issuer(TokenVersion::V1), "tid": w.tenant(),
            "appid": w.app_id, "roles": ["Machine.Read.All"], "iat": now(), "nbf": now(), "exp": now() + 600
        }))
        .unwrap();
    assert_eq!(header(&by_cli)["kid"], third.kid.as_str());
    assert_eq!(w.api("deviceavinfo", Some(&by_cli)).await.status, 200);
    let newest = w.token(&app.client_id, &app.secret).await;
    assert_eq!(header(&newest)["kid"], third.kid.as_str());
    for t in [&old, &new, &newest] {
        assert!(w.identity.verify_uncached(t).is_ok());
    }
}

#[tokio::test]
async fn groups_reach_the_principal_and_scope_the_data() {
    let w = world().await;
    let all = w
        .app_token(&["Vulnerability.Read.All", "Machine.Read.All"], None)
        .await;
    // Which groups hold data?
    let r = w
        .api(
            "machines/SoftwareVulnerabilitiesByMachine?pageSize=200000",
            Some(&all),
        )
        .await;
    assert_eq!(r.status, 200);
    let rows = r.json()["value"].as_array().unwrap().clone();
    let groups: BTreeSet<i64> = rows
        .iter()
        .map(|v| v["rbacGroupId"].as_i64().unwrap())
        .collect();
    assert!(groups.len() >= 2, "{groups:?}");
    let chosen = *groups.iter().next().unwrap() as u32;

    let app = w
        .identity
        .create_app(
            "limited",
            &["Vulnerability.Read.All", "Machine.Read.All"],
            Some(&[chosen, 9999]),
        )
        .unwrap();
    let limited = w.token(&app.client_id, &app.secret).await;
    assert_eq!(payload(&limited)["groups"], json!([chosen, 9999]));
    // The principal the server receives.
    let mut h = axum::http::HeaderMap::new();
    h.insert(
        "authorization",
        format!("Bearer {limited}").parse().unwrap(),
    );
    let endpoint = server::endpoints::lookup("/api/deviceavinfo")
        .unwrap()
        .route();
    let p = w.identity.authenticate(&h, &endpoint).unwrap();
    assert_eq!(p.groups, Some(vec![chosen, 9999]));
    assert_eq!(p.app_id, app.client_id);
    assert_eq!(p.tenant_id, w.tenant());
    h.insert("authorization", format!("Bearer {all}").parse().unwrap());
    assert_eq!(w.identity.authenticate(&h, &endpoint).unwrap().groups, None);

    // Over HTTP: only the chosen group's rows.
    let r = w
        .api(
            "machines/SoftwareVulnerabilitiesByMachine?pageSize=200000",
            Some(&limited),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = r.json()["value"].as_array().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|v| v["rbacGroupId"] == chosen));
    let expected = rows.iter().filter(|v| v["rbacGroupId"] == chosen).count();
    assert_eq!(seen.len(), expected);
    let r = w.api("deviceavinfo?$top=10000", Some(&limited)).await;
    assert!(
        r.json()["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["rbacGroupId"] == chosen)
    );
}

#[tokio::test]
async fn delegated_password_grant_with_scopes_and_groups() {
    let w = world().await;
    let app = w
        .identity
        .create_app("native client", &["Machine.Read.All"], Some(&[2, 5]))
        .unwrap();
    let user = w
        .identity
        .create_user(
            "analyst@contoso.test",
            "correct horse battery",
            &["Vulnerability.Read"],
            Some(&[1, 5]),
        )
        .unwrap();
    assert_eq!(user.scopes, ["Vulnerability.Read"]);
    assert!(
        w.identity
            .create_user(
                "Analyst@contoso.test",
                "another password",
                &["Machine.Read"],
                None
            )
            .is_err()
    );

    let r = w
        .post_form(
            &format!("{}/oauth2/token", w.tenant()),
            &[
                ("grant_type", "password"),
                ("client_id", &app.client_id),
                ("resource", MDE_AUDIENCE),
                ("username", "analyst@contoso.test"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let p = payload(&token);
    assert_eq!(p["scp"], "Vulnerability.Read");
    assert!(p.get("roles").is_none());
    assert_eq!(p["idtyp"], "user");
    assert_eq!(p["upn"], "analyst@contoso.test");
    assert_eq!(p["appid"], app.client_id.as_str());
    // User groups {1,5} within the application's {2,5}.
    assert_eq!(p["groups"], json!([5]));

    let r = w
        .api(
            "machines/SoftwareVulnerabilitiesByMachine?$top=5",
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w.api("deviceavinfo", Some(&token)).await;
    assert_eq!(r.status, 403);
    let (code, message) = r.mde_error();
    assert_eq!(code, "Forbidden");
    assert!(
        message.contains("Machine.Read") && message.contains("Machine.Read.All"),
        "{message}"
    );

    let mut h = axum::http::HeaderMap::new();
    h.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let ep = server::endpoints::lookup("/api/machines/SoftwareVulnerabilitiesByMachine")
        .unwrap()
        .route();
    assert_eq!(
        w.identity.authenticate(&h, &ep).unwrap().groups,
        Some(vec![5])
    );

    // v2 with named scopes, and the errors.
    let r = w
        .post_form(
            &format!("{}/oauth2/v2.0/token", w.tenant()),
            &[
                ("grant_type", "password"),
                ("client_id", &app.client_id),
                (
                    "scope",
                    &format!("openid {MDE_AUDIENCE}/Vulnerability.Read"),
                ),
                ("username", "analyst@contoso.test"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["scope"], "Vulnerability.Read");
    for (user, pass, client_secret) in [
        ("analyst@contoso.test", "wrong password", None),
        ("nobody@contoso.test", "correct horse battery", None),
        (
            "analyst@contoso.test",
            "correct horse battery",
            Some("wrong secret"),
        ),
    ] {
        let mut form = vec![
            ("grant_type", "password"),
            ("client_id", app.client_id.as_str()),
            ("resource", MDE_AUDIENCE),
            ("username", user),
            ("password", pass),
        ];
        if let Some(s) = client_secret {
            form.push(("client_secret", s));
        }
        let r = w
            .post_form(&format!("{}/oauth2/token", w.tenant()), &form)
            .await;
        let expected = if client_secret.is_some() {
            (401, "invalid_client")
        } else {
            (400, "invalid_grant")
        };
        assert_eq!(
            (r.status, r.json()["error"].as_str().unwrap()),
            expected,
            "{user}"
        );
    }
    assert_eq!(w.identity.list_users().unwrap().len(), 1);
    w.identity.delete_user("analyst@contoso.test").unwrap();
    assert!(w.identity.list_users().unwrap().is_empty());
}

#[tokio::test]
async fn apps_are_listed_without_secrets() {
    let w = world().await;
    let a = w
        .identity
        .create_app("one", &["Machine.Read.All"], Some(&[5, 1, 5]))
        .unwrap();
    let b = w
        .identity
        .create_app("two", &["software.read.all"], None)
        .unwrap();
    assert_eq!(a.groups, Some(vec![1, 5]));
    assert_eq!(b.roles, ["Software.Read.All"]);
    let list: Vec<_> = w
        .identity
        .list_apps()
        .unwrap()
        .into_iter()
        .filter(|app| app.client_id != w.app_id)
        .collect();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].client_id, a.client_id);
    assert_eq!(list[0].secret_hint, &a.secret[..3]);
    let text = serde_json::to_string(&list).unwrap();
    assert!(!text.contains(&a.secret) && !text.contains(&b.secret));
    let created = serde_json::to_value(&a).unwrap();
    for k in [
        "clientId",
        "tenantId",
        "secret",
        "authority",
        "tokenEndpoint",
    ] {
        assert!(created.get(k).is_some(), "{k}");
    }
    assert!(w.identity.rotate_secret("nope").is_err());
    assert!(w.identity.delete_app("nope").is_err());
    // identity.db is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.dir.path().join("identity.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
    // A configured tenant id that differs from the stored one is refused.
    let mut cfg = IdentityConfig::new(w.base.clone());
    cfg.tenant_id = Some("another-tenant".into());
    assert!(Identity::open(w.dir.path(), cfg).is_err());
}

#[tokio::test]
async fn auth_off_is_open_access() {
    let w = world_with(Options {
        auth: false,
        ..Options::default()
    })
    .await;
    for (path, _) in ENDPOINTS {
        assert_eq!(
            w.api(&format!("{path}?$top=1"), None).await.status,
            200,
            "{path}"
        );
    }
}
