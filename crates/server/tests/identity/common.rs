//! The test world: real snapshot data (SQLite store, seeded fleet, published
//! snapshot), a real `Identity` in its own data directory, and the real API router
//! merged with the OAuth routes, served on a loopback port chosen by the OS — over
//! HTTP or HTTPS with the self-signed CA.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::Utc;
use identity::{Identity, IdentityConfig, RateLimitConfig};
use serde_json::Value;
use snapshot::Snapshots;
use std::sync::{Arc, OnceLock};

pub const DEVICES: u32 = 80;

pub const ENDPOINTS: [(&str, &str); 5] = [
    (
        "machines/SecureConfigurationsAssessmentByMachine",
        "Vulnerability",
    ),
    ("machines/SoftwareVulnerabilitiesByMachine", "Vulnerability"),
    ("machines/SoftwareInventoryByMachine", "Software"),
    (
        "machines/SoftwareInventoryNoProductCodeByMachine",
        "Software",
    ),
    ("deviceavinfo", "Machine"),
];

pub use testkit::claims::MDE_AUDIENCE;

/// Snapshot data shared by every test of a binary (built once; read-only).
pub fn data() -> Arc<Snapshots> {
    static DATA: OnceLock<(tempfile::TempDir, Arc<Snapshots>)> = OnceLock::new();
    DATA.get_or_init(|| {
        let w = testkit::world::seeded(DEVICES, 11, testkit::world::utc(2026, 11, 20, 12), 4);
        testkit::world::publish_at(
            &w.snapshots,
            testkit::world::utc(2026, 11, 20, 18),
            &testkit::world::small_parts(30_000, 13),
        );
        (w.dir, w.snapshots)
    })
    .1
    .clone()
}

pub struct Options {
    pub tls: bool,
    pub limits: RateLimitConfig,
    pub auth: bool,
    pub configure: Box<dyn FnOnce(&mut IdentityConfig) + Send>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tls: false,
            limits: RateLimitConfig::disabled(),
            auth: true,
            configure: Box::new(|_| {}),
        }
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub base: String,
    pub identity: Arc<Identity>,
    /// A registered application the test claims name (tokens of unknown applications
    /// are refused).
    pub app_id: String,
    pub client: reqwest::Client,
    pub ca_pem: Option<std::path::PathBuf>,
    pub server: tokio::task::JoinHandle<()>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn world() -> World {
    world_with(Options::default()).await
}

pub async fn world_with(opts: Options) -> World {
    let snapshots = data();
    let dir = tempfile::tempdir().unwrap();
    let (listener, _) = testkit::world::bind_loopback(0).await;
    let addr = listener.local_addr().unwrap();
    let scheme = if opts.tls { "https" } else { "http" };
    let base = format!("{scheme}://{addr}");
    let mut cfg = IdentityConfig::new(base.clone());
    (opts.configure)(&mut cfg);
    let identity = Arc::new(Identity::open(dir.path(), cfg).unwrap());
    let app_id = identity
        .create_app(
            "test claims",
            &[
                "Vulnerability.Read.All",
                "Software.Read.All",
                "Machine.Read.All",
            ],
            None,
        )
        .unwrap()
        .client_id;
    let mut state = testkit::world::api_state(snapshots, &base);
    if opts.auth {
        state.auth = identity.clone();
    }
    state.limiter = opts.limits.limiter();
    let app = server::router(state).merge(identity::oauth_router(identity.clone()));
    let mut client = reqwest::Client::builder();
    let mut ca_pem = None;
    let server = if opts.tls {
        let files = identity::tls::self_signed(dir.path(), addr, &[]).unwrap();
        let config = identity::tls::server_config(&files.cert_pem, &files.key_pem).unwrap();
        let pem = std::fs::read(&files.ca_pem_path).unwrap();
        client = client
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .https_only(true);
        ca_pem = Some(files.ca_pem_path.clone());
        tokio::spawn(async move {
            identity::tls::serve_https(listener, app, config)
                .await
                .unwrap();
        })
    } else {
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        })
    };
    World {
        dir,
        base,
        identity,
        app_id,
        client: client.build().unwrap(),
        ca_pem,
        server,
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// The MDE error body's code and message.
    pub fn mde_error(&self) -> (String, String) {
        let j = self.json();
        (
            j["error"]["code"].as_str().unwrap_or_default().to_owned(),
            j["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }
}

impl World {
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub fn tenant(&self) -> String {
        self.identity.tenant_id().to_owned()
    }

    /// GET `/api/<path>` with an optional bearer token.
    pub async fn api(&self, path: &str, token: Option<&str>) -> Reply {
        let mut rb = self.client.get(self.url(&format!("api/{path}")));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        send(rb).await
    }

    pub async fn api_with_header(&self, path: &str, authorization: &str) -> Reply {
        send(
            self.client
                .get(self.url(&format!("api/{path}")))
                .header("Authorization", authorization),
        )
        .await
    }

    /// POSTs a form to a token endpoint path (`<tenant>/oauth2/v2.0/token`).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        send(self.client.post(self.url(path)).form(form)).await
    }

    /// A client-credentials token from the v2 endpoint.
    pub async fn token(&self, client_id: &str, secret: &str) -> String {
        let r = self
            .post_form(
                &format!("{}/oauth2/v2.0/token", self.tenant()),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", &format!("{MDE_AUDIENCE}/.default")),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates an app with `roles` and returns a token for it.
    pub async fn app_token(&self, roles: &[&str], groups: Option<&[u32]>) -> String {
        let app = self.identity.create_app("test app", roles, groups).unwrap();
        self.token(&app.client_id, &app.secret).await
    }
}

pub async fn send(rb: reqwest::RequestBuilder) -> Reply {
    let r = rb.send().await.unwrap();
    Reply {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

pub fn header(token: &str) -> Value {
    let h = token.split('.').next().unwrap();
    serde_json::from_slice(&B64URL.decode(h).unwrap()).unwrap()
}

pub fn payload(token: &str) -> Value {
    let p = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64URL.decode(p).unwrap()).unwrap()
}

pub fn now() -> i64 {
    Utc::now().timestamp()
}
