//! Trusting an external issuer: a mock issuer on loopback (its own thread and
//! runtime, as a remote Keycloak or Entra would be) serves OpenID discovery and a
//! JWKS; Posture fetches the keys, caches them by kid, refetches on rotation.

use crate::common::*;
use access::Authenticator;
use identity::{ExternalIssuer, Identity, IdentityConfig};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const AUDIENCE: &str = "api://posture";

struct MockIssuer {
    base: String,
    issuer: String,
    keys: Arc<Identity>,
    jwks_fetches: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for MockIssuer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn mock_issuer() -> MockIssuer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = format!("{base}/realms/test");
    let dir = tempfile::tempdir().unwrap();
    // An Identity is a convenient RSA key store with a JWKS.
    let keys = Arc::new(Identity::open(dir.path(), IdentityConfig::new(base.clone())).unwrap());
    let jwks_fetches = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = {
        let issuer = issuer.clone();
        let base = base.clone();
        let keys = keys.clone();
        let fetches = jwks_fetches.clone();
        axum::Router::new()
            .route(
                "/realms/test/.well-known/openid-configuration",
                axum::routing::get(move || {
                    let doc = json!({
                        "issuer": issuer,
                        "jwks_uri": format!("{base}/realms/test/protocol/openid-connect/certs"),
                        "token_endpoint": format!("{base}/realms/test/protocol/openid-connect/token"),
                    });
                    async move { axum::Json(doc) }
                }),
            )
            .route(
                "/realms/test/protocol/openid-connect/certs",
                axum::routing::get(move || {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let mut jwks = keys.jwks();
                    // Keycloak also publishes an encryption key; it must be ignored.
                    if let Some(list) = jwks["keys"].as_array_mut() {
                        let mut enc = list[0].clone();
                        enc["use"] = json!("enc");
                        enc["kid"] = json!("encryption-key");
                        enc["alg"] = json!("RSA-OAEP");
                        list.push(enc);
                    }
                    async move { axum::Json(jwks) }
                }),
            )
    };
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    MockIssuer {
        base,
        issuer,
        keys,
        jwks_fetches,
        _dir: dir,
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn kc_claims(m: &MockIssuer, overrides: Value) -> Value {
    let now = now();
    testkit::claims::Claims::from_object(json!({
        "iss": m.issuer,
        "aud": AUDIENCE,
        "azp": "kc-client",
        "sub": "service-account-kc-client",
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": ["Machine.Read.All", "offline_access"]},
        "posture_groups": ["3", 7],
    }))
    .overridden(&overrides)
    .build()
}

#[tokio::test]
async fn tokens_from_a_trusted_external_issuer_are_accepted() {
    let mock = mock_issuer();
    let discovery = format!("{}/realms/test/.well-known/openid-configuration", mock.base);
    let w = world_with(Options {
        configure: Box::new(move |cfg: &mut IdentityConfig| {
            let mut ext = ExternalIssuer::new(discovery, vec![AUDIENCE.into()]);
            ext.roles_claim = "realm_access.roles".into();
            ext.groups_claim = Some("posture_groups".into());
            ext.tenant = Some("keycloak".into());
            ext.min_refetch_interval = Duration::from_secs(2);
            cfg.external_issuers.push(ext);
        }),
        ..Options::default()
    })
    .await;

    let token = mock.keys.sign_claims(&kc_claims(&mock, json!({}))).unwrap();
    let r = w.api("deviceavinfo?$top=3", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut h = axum::http::HeaderMap::new();
    h.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let ep = server::endpoints::lookup("/api/deviceavinfo")
        .unwrap()
        .route();
    let p = w.identity.authenticate(&h, &ep).unwrap();
    assert_eq!(p.app_id, "kc-client");
    assert_eq!(p.tenant_id, "keycloak");
    assert_eq!(p.groups, Some(vec![3, 7]));
    let fetched = mock.jwks_fetches.load(Ordering::SeqCst);
    assert!(fetched >= 1);

    // Role missing: 403; wrong audience, expired, or an issuer nobody trusts: 401.
    let sign = |o: Value| mock.keys.sign_claims(&kc_claims(&mock, o)).unwrap();
    let r = w
        .api("machines/SoftwareInventoryByMachine", Some(&token))
        .await;
    assert_eq!(r.status, 403);
    for (name, t, needle) in [
        ("audience", sign(json!({"aud": "api://other"})), "audience"),
        (
            "expired",
            sign(json!({"iat": now() - 3600, "exp": now() - 600})),
            "expired",
        ),
        (
            "issuer",
            sign(json!({"iss": format!("{}/realms/other", mock.base)})),
            "unknown key",
        ),
        ("no iss", sign(json!({"iss": null})), "unknown key"),
    ] {
        let r = w.api("deviceavinfo", Some(&t)).await;
        assert_eq!(r.status, 401, "{name}: {}", r.body);
        assert!(r.mde_error().1.contains(needle), "{name}: {}", r.body);
    }
    // Posture's own issuer string does not let an external key in.
    let forged = sign(
        json!({"iss": w.identity.issuer(identity::TokenVersion::V2), "aud": MDE_AUDIENCE, "tid": w.tenant()}),
    );
    assert_eq!(w.api("deviceavinfo", Some(&forged)).await.status, 401);

    // Groups configured but absent: no group at all (fail closed).
    let no_groups = sign(json!({"posture_groups": null}));
    h.insert(
        "authorization",
        format!("Bearer {no_groups}").parse().unwrap(),
    );
    assert_eq!(
        w.identity.authenticate(&h, &ep).unwrap().groups,
        Some(vec![])
    );

    // The issuer rotates its key: the unknown kid triggers one refetch.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let before = mock.jwks_fetches.load(Ordering::SeqCst);
    mock.keys.rotate_signing_key().unwrap();
    let rotated = mock.keys.sign_claims(&kc_claims(&mock, json!({}))).unwrap();
    assert_ne!(header(&rotated)["kid"], header(&token)["kid"]);
    let r = w.api("deviceavinfo?$top=1", Some(&rotated)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(mock.jwks_fetches.load(Ordering::SeqCst), before + 1);

    // A flood of unknown kids refetches at most once per min_refetch_interval.
    let before = mock.jwks_fetches.load(Ordering::SeqCst);
    for i in 0..20 {
        let mut parts: Vec<String> = rotated.split('.').map(str::to_owned).collect();
        use base64::Engine;
        parts[0] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            json!({"alg": "RS256", "typ": "JWT", "kid": format!("forged-{i}")}).to_string(),
        );
        let r = w.api("deviceavinfo", Some(&parts.join("."))).await;
        assert_eq!(r.status, 401);
    }
    assert!(mock.jwks_fetches.load(Ordering::SeqCst) <= before + 1);
    // Posture's own tokens still work beside the external issuer.
    let own = w.app_token(&["Machine.Read.All"], None).await;
    assert_eq!(w.api("deviceavinfo?$top=1", Some(&own)).await.status, 200);
    assert!(w.identity.external_issuer_errors().is_empty());
}

#[tokio::test]
async fn an_unreachable_external_issuer_does_not_block_requests() {
    // Nothing listens on this port (bound then dropped).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w = world_with(Options {
        configure: Box::new(move |cfg: &mut IdentityConfig| {
            let mut ext = ExternalIssuer::new(
                format!("http://127.0.0.1:{port}/.well-known/openid-configuration"),
                vec![AUDIENCE.into()],
            );
            ext.fetch_timeout = Duration::from_secs(2);
            cfg.external_issuers.push(ext);
        }),
        ..Options::default()
    })
    .await;
    let own = w.app_token(&["Machine.Read.All"], None).await;
    let started = std::time::Instant::now();
    assert_eq!(w.api("deviceavinfo?$top=1", Some(&own)).await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    // A token for the unreachable issuer: 401, after at most the fetch timeout.
    let other_dir = tempfile::tempdir().unwrap();
    let other =
        Identity::open(other_dir.path(), IdentityConfig::new("http://127.0.0.1:1")).unwrap();
    let t = other
        .sign_claims(&json!({"iss": "http://x", "aud": AUDIENCE, "exp": now() + 60, "azp": "x"}))
        .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(w.api("deviceavinfo", Some(&t)).await.status, 401);
    assert!(started.elapsed() < Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!w.identity.external_issuer_errors().is_empty());
}
