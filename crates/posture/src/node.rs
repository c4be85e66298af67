//! The serving node, shared by `serve` and `demo`: the API, OAuth2, report API and
//! download routers; TLS and identity wiring; the snapshot refresh watcher; the publish
//! schedule; the emulator's admin endpoint; graceful shutdown.

use crate::args::{PublishArgs, ServeArgs, Switch, TlsMode};
use crate::cmd::demo::{demo_app, print_demo_token};
use crate::datadir::DataDir;
use anyhow::{Context, Result};
use server::{ApiConfig, AppState};
use snapshot::Snapshots;
use std::sync::Arc;

pub fn serve(dir: &DataDir, s: &ServeArgs, p: &PublishArgs, demo: bool) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let faults = match &s.faults {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let config = server::faults::FaultConfig::from_json(&text)
                .with_context(|| format!("in {}", path.display()))?;
            eprintln!(
                "Fault injection on: {} rule(s) from {}",
                config.rules.len(),
                path.display()
            );
            Some(Arc::new(server::faults::Faults::new(config)))
        }
    };
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(s.listen)
            .await
            .with_context(|| format!("cannot listen on {}", s.listen))?;
        let local = listener.local_addr()?;
        let tls = tls_files(dir, s, local)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = s.base_url.clone().unwrap_or_else(|| format!("{scheme}://{local}"));
        let identity = open_identity(dir, &base_url, s)?;
        let (snapshots, exports) = crate::leader::open_for_serving(dir, p, &base_url, s.lead.lead_retry)?;
        let snapshots = Arc::new(snapshots);
        let mut config = ApiConfig::new(base_url.clone());
        config.delta_window = chrono::Duration::days(i64::from(s.delta_window_days));
        let kb_max_age = chrono::Duration::from_std(s.kb_max_age)
            .context("--kb-max-age is too long")?;
        config.kb_max_age = kb_max_age;
        let drain = config.drain.clone();
        let state = AppState {
            snapshots: snapshots.clone(),
            config: Arc::new(config),
            auth: match s.auth {
                Switch::On => identity.clone(),
                Switch::Off => Arc::new(access::OpenAccess),
            },
            limiter: match s.limits {
                Switch::On => crate::datadir::rate_limiter(dir, s.rate_limits())?,
                Switch::Off => None,
            },
            faults,
            exports: exports.clone(),
            metrics: server::metrics_handle(),
        };
        match snapshots.latest() {
            Some(snap) => eprintln!("Serving snapshot {} ({} devices)", snap.time_path(), snap.manifest.devices),
            None => eprintln!("No snapshot yet: run `posture publish`; API calls answer 404 until then."),
        }
        eprintln!("Posture API listening on {scheme}://{local} (base URL {base_url})");
        if let Some(t) = &tls {
            eprintln!("TLS on; clients trust {}", t.ca_hint);
        }
        match s.auth {
            Switch::On => eprintln!(
                "Authentication on: tokens from {}/{}/oauth2/v2.0/token (create an application with `posture apps create`)",
                base_url,
                identity.tenant_id()
            ),
            Switch::Off => eprintln!("Authentication OFF: every caller sees every device. Do not expose this server."),
        }
        // SIGTERM and SIGINT are caught from here on (before the URL tells anyone we serve).
        let signalled = shutdown_signal();
        println!("{base_url}");
        if let Some(every) = s.publish_every {
            tokio::spawn(publish_loop(
                dir.clone(),
                snapshots.clone(),
                p.clone(),
                every,
                base_url.clone(),
                s.lead.lead_retry,
            ));
        }
        tokio::spawn(kb_sync_loop(dir.clone(), s.kb_sync.clone(), s.kb_sync_every, kb_max_age));
        // Snapshots published by other processes (`posture publish`, `advance`) become visible here.
        let watched = snapshots.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
            loop {
                tick.tick().await;
                let s = watched.clone();
                match tokio::task::spawn_blocking(move || s.refresh()).await {
                    Ok(Ok(true)) => {
                        if let Some(l) = watched.latest() {
                            tracing::info!(snapshot = %l.time_path(), "now serving a newer snapshot");
                        }
                    }
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot refresh snapshots"),
                    Err(e) => tracing::warn!(error = %e, "snapshot refresh panicked"),
                }
            }
        });
        let mut app: axum::Router = server::router(state)
            .merge(identity::oauth_router(identity.clone()))
            .merge(server::ingest_api::router(Arc::new(ingest_state(dir, s))));
        // The web console: a reader of the same snapshots, scoped like the API.
        let mut console = console::Console::new(
            snapshots.clone(),
            match s.auth {
                Switch::On => console::ConsoleAccess::Users(identity.clone()),
                Switch::Off => console::ConsoleAccess::Open,
            },
            &base_url,
        )
        .with_feeds(Arc::new(StoreFeeds(dir.store.clone())));
        console.secure_cookies = tls.is_some();
        app = app.merge(console::router(Arc::new(console)));
        match s.auth {
            Switch::On => eprintln!(
                "Console at {base_url}/console: sign in as a user created with `posture users create --name NAME --scopes Vulnerability.Read [--groups 1,2]` (password on standard input)"
            ),
            Switch::Off => eprintln!("Console at {base_url}/console (no sign-in: --auth off)"),
        }
        if demo && s.auth == Switch::On {
            match crate::cmd::demo::demo_console_user(&identity) {
                Ok((name, password)) => eprintln!(
                    "Demo console user: sign in at {base_url}/console as {name} with password {password}"
                ),
                Err(e) => eprintln!("(could not create the demo console user: {e:#})"),
            }
        }
        if let Some(download) = exports.as_ref().and_then(|b| b.download_router()) {
            // Outside the API's authentication: the signed URL is the authorisation.
            app = app.merge(download);
        }
        if s.admin {
            let access = match (s.auth, s.admin_without_auth) {
                (Switch::On, _) => crate::admin::AdminAccess::Tokens(identity.clone()),
                (Switch::Off, true) => crate::admin::AdminAccess::Open,
                (Switch::Off, false) => crate::admin::AdminAccess::Refused,
            };
            match &access {
                crate::admin::AdminAccess::Tokens(_) => eprintln!(
                    "Admin endpoint enabled: POST {base_url}/admin/advance?hours=6 with a token of an application with the Posture.Admin role"
                ),
                crate::admin::AdminAccess::Open => eprintln!(
                    "Admin endpoint enabled WITHOUT authentication (--admin-without-auth): POST {base_url}/admin/advance?hours=6. Do not expose this server."
                ),
                crate::admin::AdminAccess::Refused => eprintln!(
                    "Admin endpoint refused: it needs --auth on (or --admin-without-auth on a trusted machine)"
                ),
            }
            let guard = crate::admin::AdminGuard::new(access, &base_url);
            app = app.merge(crate::admin::admin_router(
                dir.clone(),
                snapshots.clone(),
                p.clone(),
                guard,
            ));
        }
        if demo && s.auth == Switch::On {
            let ca = tls.as_ref().and_then(|t| t.ca_pem.clone());
            tokio::spawn(print_demo_token(base_url.clone(), demo_app(&identity)?, ca));
        }
        snapshot::resident::set_budget(s.mapped_memory_mb << 20);
        let drain_delay = s.drain_delay;
        let shutdown = async move {
            signalled.await;
            // Readiness fails first, so a load balancer stops sending; then the listener
            // stops accepting and responses in flight complete (within --drain-timeout).
            drain.start();
            eprintln!(
                "shutting down: /readyz answers 503; refusing new connections in {}s, then waiting up to {}s for responses in flight",
                drain_delay.as_secs(),
                s.drain_timeout.as_secs()
            );
            tokio::time::sleep(drain_delay).await;
        };
        match tls {
            Some(t) => {
                let config = identity::tls::server_config(&t.cert, &t.key).context("cannot load the TLS certificate")?;
                {
                    // TLS through the same accept loop as plain TCP: the same limits and timeouts.
                    let tls = tokio_rustls::TlsAcceptor::from(config);
                    server::listener::serve_with(listener, app, s.serve_limits(), shutdown, move |tcp| {
                        let tls = tls.clone();
                        async move { tls.accept(tcp).await }
                    })
                    .await
                    .context("server failed")
                }
            }
            None => server::listener::serve(listener, app, s.serve_limits(), shutdown).await.context("server failed"),
        }
    });
    // A publish or feed sync still running on a blocking thread is abandoned: a publish
    // that never registered is removed by the next publisher.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    if served.is_ok() {
        eprintln!("stopped");
    }
    served
}

/// Catches SIGTERM and SIGINT (Ctrl-C) from now on; the future completes on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let caught = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        match caught {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            (term, int) => {
                let e = term
                    .err()
                    .or(int.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                tracing::warn!(error = %e, "cannot catch SIGTERM; shutting down on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// The feeds' last sync or import, read from the store for the console's overview.
struct StoreFeeds(Arc<dyn ingest::StateStore>);

impl console::FeedStatus for StoreFeeds {
    fn feeds(&self) -> Vec<console::FeedLine> {
        ingest::feed_states(self.0.as_ref())
            .map(|states| {
                states
                    .into_iter()
                    .map(|f| console::FeedLine {
                        last: f.last_sync.max(f.last_import),
                        feed: f.feed,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn ingest_state(dir: &DataDir, s: &ServeArgs) -> server::ingest_api::IngestState {
    let state = server::ingest_api::IngestState::new(dir.store.clone());
    match s.max_concurrent_ingest {
        Some(n) => state.with_max_concurrent(n),
        None => state,
    }
}

struct Tls {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    ca_pem: Option<std::path::PathBuf>,
    ca_hint: String,
}

/// The certificate to serve: a self-signed one for the listen address (created on first
/// start, with its CA in the data directory), or files from configuration.
fn tls_files(dir: &DataDir, s: &ServeArgs, local: std::net::SocketAddr) -> Result<Option<Tls>> {
    match (&s.tls, &s.tls_cert, &s.tls_key) {
        (Some(TlsMode::SelfSigned), _, _) => {
            let f = identity::tls::self_signed(&dir.path, local, &s.tls_names)
                .context("cannot create the self-signed certificate")?;
            let hint = format!(
                "{} (e.g. REQUESTS_CA_BUNDLE={0}, curl --cacert {0})",
                f.ca_pem_path.display()
            );
            Ok(Some(Tls {
                cert: f.cert_pem,
                key: f.key_pem,
                ca_pem: Some(f.ca_pem_path),
                ca_hint: hint,
            }))
        }
        (None, Some(cert), Some(key)) => Ok(Some(Tls {
            cert: cert.clone(),
            key: key.clone(),
            ca_pem: None,
            ca_hint: "the certificate's issuer".into(),
        })),
        _ => Ok(None),
    }
}

/// The data directory's identity provider (apps, users, signing keys), for `base_url`.
fn open_identity(dir: &DataDir, base_url: &str, s: &ServeArgs) -> Result<Arc<identity::Identity>> {
    let mut config = identity::IdentityConfig::new(base_url);
    let audiences = if s.trust_audiences.is_empty() {
        identity::DEFAULT_AUDIENCES
            .iter()
            .map(|a| a.to_string())
            .collect()
    } else {
        s.trust_audiences.clone()
    };
    config.external_issuers = s
        .trust_issuers
        .iter()
        .map(|url| identity::ExternalIssuer::new(url.clone(), audiences.clone()))
        .collect();
    Ok(Arc::new(crate::datadir::open_identity(dir, config)?))
}

/// `serve --publish-every`: a scheduled publisher among every process sharing the
/// state store (`crate::leader`): when the newest snapshot is `every` old, try to lead
/// and publish through this node's registry (retrying every `lead_retry` while another
/// process leads), so what was published is served at once.
async fn publish_loop(
    dir: DataDir,
    snapshots: Arc<Snapshots>,
    p: PublishArgs,
    every: std::time::Duration,
    base_url: String,
    lead_retry: std::time::Duration,
) {
    let dir = Arc::new(dir);
    let mut schedule = crate::leader::Schedule::new(every, lead_retry);
    loop {
        let (d, pp, base, serving) = (dir.clone(), p.clone(), base_url.clone(), snapshots.clone());
        // Publishes through this node's own registry: served at once, one cache.
        let turn = tokio::task::spawn_blocking(move || {
            let turn = schedule.turn(&d, &pp, &base, Some(&serving));
            (schedule, turn)
        })
        .await;
        let pause = match turn {
            Ok((kept, (_, pause))) => {
                schedule = kept;
                pause
            }
            Err(e) => {
                tracing::error!(error = %e, "scheduled publish panicked");
                schedule = crate::leader::Schedule::new(every, lead_retry);
                lead_retry
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// Exports each feed's age (`posture_kb_feed_age_seconds{feed}`, from its last sync or
/// import) and whether it is older than `--kb-max-age` (`posture_kb_feed_stale{feed}`,
/// 0 or 1; the figures `/healthz` shows, from `server::health`) every minute and, with
/// `--kb-sync-every`, syncs the feeds on that schedule. A sync changes only the KB (one
/// KB version); the next publish loads that version and reassesses every device.
async fn kb_sync_loop(
    dir: DataDir,
    args: crate::cmd::kb::SyncArgs,
    every: Option<std::time::Duration>,
    max_age: chrono::Duration,
) {
    let dir = Arc::new(dir);
    let mut next_sync = every.map(|e| tokio::time::Instant::now() + e);
    loop {
        let d = dir.clone();
        if let Ok(Ok(feeds)) = tokio::task::spawn_blocking(move || {
            server::health::feed_health(d.store.as_ref(), chrono::Utc::now(), max_age)
        })
        .await
        {
            for f in feeds {
                metrics::gauge!("posture_kb_feed_age_seconds", "feed" => f.feed.clone())
                    .set(f.age_seconds as f64);
                metrics::gauge!("posture_kb_feed_stale", "feed" => f.feed.clone())
                    .set(if f.stale { 1.0 } else { 0.0 });
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        let (Some(at), Some(every)) = (next_sync, every) else {
            continue;
        };
        if tokio::time::Instant::now() < at {
            continue;
        }
        next_sync = Some(at + every);
        let (d, a) = (dir.clone(), args.clone());
        let result = tokio::task::spawn_blocking(move || -> anyhow::Result<feeds::SyncReport> {
            let config = a.config(d.store.as_ref())?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            Ok(runtime.block_on(feeds::sync(
                d.store.as_ref(),
                &config,
                chrono::Utc::now(),
                &feeds::NoProgress,
            ))?)
        })
        .await;
        match result {
            Ok(Ok(r)) if r.failures.is_empty() => tracing::info!(
                kb_version = r.kb_version,
                changed = r.changed(),
                "feeds synced"
            ),
            Ok(Ok(r)) => {
                tracing::warn!(report = %r, "feed sync partly failed; failed feeds keep their previous records")
            }
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "feed sync failed; the KB is unchanged")
            }
            Err(e) => tracing::error!(error = %e, "feed sync panicked"),
        }
    }
}
