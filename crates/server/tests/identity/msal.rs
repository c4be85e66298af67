//! The real MSAL Python library (PyPI `msal`) against Posture over HTTPS with the
//! self-signed CA: `ConfidentialClientApplication` with Posture as the authority
//! obtains a token and calls each seed endpoint.
//!
//! Needs `python3` with `msal` (`python3 -m pip install msal`); without it the test
//! prints a skip note and passes, unless `POSTURE_REQUIRE_TOOLS=1` (CI, which installs
//! it), which makes a missing tool a failure.

use crate::common::*;
use std::time::Duration;

fn msal_available() -> bool {
    testkit::tools::python_has(&["msal", "requests"])
}

#[tokio::test]
async fn msal_confidential_client_calls_each_seed_endpoint_over_https() {
    if !msal_available() {
        return testkit::tools::missing(
            "python3 with the msal and requests packages",
            "pip install msal requests",
        );
    }
    let w = world_with(Options {
        tls: true,
        ..Options::default()
    })
    .await;
    assert!(w.base.starts_with("https://"));
    // Plain Rust HTTPS client trusting the CA.
    let r = send(w.client.get(w.url("healthz"))).await;
    assert_eq!(r.status, 200);

    let app = w
        .identity
        .create_app(
            "msal client",
            &[
                "Vulnerability.Read.All",
                "Software.Read.All",
                "Machine.Read.All",
            ],
            None,
        )
        .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/identity/msal_client.py");
    let ca = w.ca_pem.clone().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("python3")
            .arg(script)
            .args([&w.base, &w.tenant(), &app.client_id, &app.secret])
            .env("REQUESTS_CA_BUNDLE", &ca)
            .env_remove("SSL_CERT_FILE")
            .env_remove("CURL_CA_BUNDLE")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("msal client timed out")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("msal client output: {stdout}");
    assert!(
        output.status.success(),
        "msal client failed:\n{stdout}\n{stderr}"
    );
    let out: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(out["http_authority"], "refused");
    assert_eq!(out["token_type"], "Bearer");
    assert_eq!(out["expires_in"], 3599);
    assert_eq!(out["same_token"], true);
    assert_eq!(out["second_call_source"], "cache");
    for (path, _) in ENDPOINTS {
        let e = &out["endpoints"][path];
        assert_eq!(e["status"], 200, "{path}: {e}");
        assert!(e["records"].as_u64().unwrap() > 0, "{path}: {e}");
        assert!(
            e["context"].as_str().unwrap().starts_with(&w.base),
            "{path}: {e}"
        );
    }
    assert_eq!(out["bad_secret_error"], "invalid_client");
    assert_eq!(out["bad_secret_codes"][0], 7000215);
}
