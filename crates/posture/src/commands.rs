//! The subcommands. Each prints a short human summary, or one JSON document with `--json`.

use crate::datadir::DataDir;
use crate::progress::{PublishProgress, bar};
use crate::{
    AppCommand, Cli, Command, FleetArgs, IngestKeyCommand, KbCommand, KeyCommand, PublishArgs,
    ServeArgs, Switch, TlsMode, UserCommand,
};
use anyhow::{Context, Result};
use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;
use server::{ApiConfig, AppState};
use snapshot::{BuildOptions, PublishReport, Snapshots};
use std::sync::Arc;
use std::time::Instant;

pub fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Demo {
            fleet,
            serve,
            publish,
        } => demo(&cli.data_dir, &fleet, &serve, &publish, json),
        Command::Serve { serve: s, publish } => {
            let dir = DataDir::open(&cli.data_dir)?;
            serve(&dir, &s, &publish, false)
        }
        Command::Seed { fleet, no_kb } => {
            let dir = DataDir::open(&cli.data_dir)?;
            let report = seed(&dir, &fleet, !no_kb, json)?;
            print(json, &report, || {
                format!(
                    "seeded {} devices (seed {}) in {:.1}s; knowledge base version {}",
                    report.devices, report.seed, report.seconds, report.kb_version
                )
            })
        }
        Command::Publish { publish: p } => {
            let dir = DataDir::open(&cli.data_dir)?;
            let (snapshots, _) =
                crate::datadir::open_snapshots(&dir, &p, &crate::datadir::default_base_url())?;
            let report = publish(&dir, &snapshots, &p, json)?;
            print(json, &report, || publish_summary(&report))
        }
        Command::Kb { command } => {
            let dir = DataDir::open(&cli.data_dir)?;
            match command {
                KbCommand::Import { files } => {
                    let mut done = Vec::new();
                    for f in files {
                        let import = ingest::import_feed_file(dir.store.as_ref(), &f)?;
                        if !json {
                            println!(
                                "{}: {:?} feed, {} records: {} new, {} updated, {} unchanged; KB version {}",
                                import.file,
                                import.kind,
                                import.outcome.records_in_file,
                                import.outcome.inserted,
                                import.outcome.updated,
                                import.outcome.unchanged,
                                import.outcome.kb_version
                            );
                        }
                        done.push(import);
                    }
                    if json {
                        println!("{}", serde_json::to_string_pretty(&done)?);
                    }
                    Ok(())
                }
                KbCommand::Status => {
                    let status = serde_json::json!({
                        "kbVersion": dir.store.kb_version()?,
                        "nvdRecords": dir.store.kb_records(ingest::SOURCE_NVD)?.len(),
                        "kevEntries": dir.store.kb_records(ingest::SOURCE_KEV)?.len(),
                    });
                    print(json, &status, || {
                        format!(
                            "KB version {}: {} NVD records, {} KEV entries",
                            status["kbVersion"], status["nvdRecords"], status["kevEntries"]
                        )
                    })
                }
            }
        }
        Command::Snapshots => {
            let dir = DataDir::open(&cli.data_dir)?;
            let list: Vec<_> = dir
                .snapshots(usize::MAX)?
                .list()
                .iter()
                .map(|s| s.manifest.clone())
                .collect();
            print(json, &list, || {
                let mut out = String::new();
                for m in &list {
                    let rows: Vec<String> = m
                        .exports
                        .iter()
                        .map(|(k, e)| format!("{k:?}={}", e.rows))
                        .collect();
                    out.push_str(&format!(
                        "#{} {} devices={} {}\n",
                        m.seq,
                        m.time_path,
                        m.devices,
                        rows.join(" ")
                    ));
                }
                if out.is_empty() {
                    "no snapshots".into()
                } else {
                    out.trim_end().to_owned()
                }
            })
        }
        Command::Advance { hours, publish: p } => {
            let dir = DataDir::open(&cli.data_dir)?;
            let (snapshots, _) =
                crate::datadir::open_snapshots(&dir, &p, &crate::datadir::default_base_url())?;
            let report = advance(&dir, &snapshots, hours, &p, json)?;
            print(json, &report, || {
                format!(
                    "advanced {} h to {} (step {}): {} devices reported, {} quiet; feed update {} new, {} revised\n{}",
                    hours,
                    report.advance.now,
                    report.advance.step,
                    report.advance.reports,
                    report.advance.quiet_devices,
                    report.advance.feed.outcome.inserted,
                    report.advance.feed.outcome.updated,
                    publish_summary(&report.publish)
                )
            })
        }
        Command::Agent(args) => agent::run(&args),
        Command::Apps { command } => apps(&DataDir::open(&cli.data_dir)?, command, json),
        Command::Users { command } => users(&DataDir::open(&cli.data_dir)?, command, json),
        Command::Keys { command } => keys(&DataDir::open(&cli.data_dir)?, command, json),
        Command::Coverage { device } => {
            let dir = DataDir::open(&cli.data_dir)?;
            let report = coverage(&dir, device.as_deref())?;
            print(json, &report, || {
                let mut out = format!(
                    "{} devices, {} installed software entries, {} cannot be assessed",
                    report.devices, report.software, report.unassessable
                );
                for (reason, n) in &report.by_reason {
                    out.push_str(&format!("\n  {n:>8}  {reason}"));
                }
                for d in report
                    .per_device
                    .iter()
                    .filter(|d| !d.gaps.is_empty())
                    .take(if device.is_some() { usize::MAX } else { 20 })
                {
                    out.push_str(&format!(
                        "\n{} ({}): {} of {}",
                        d.device_id,
                        d.device_name.as_deref().unwrap_or("-"),
                        d.gaps.len(),
                        d.software
                    ));
                    for g in &d.gaps {
                        out.push_str(&format!(
                            "\n    {} {} {}: {}",
                            g.vendor, g.name, g.version, g.reason
                        ));
                    }
                }
                out
            })
        }
        Command::IngestKeys { command } => {
            let dir = DataDir::open(&cli.data_dir)?;
            let store = dir.store.as_ref();
            match command {
                IngestKeyCommand::Create { name } => {
                    let key = ingest::keys::create_key(store, &name)?;
                    print(json, &key, || {
                        format!(
                            "ingest key {} ({}) created; store it now, it is not shown again:\n{}",
                            key.id, key.name, key.key
                        )
                    })
                }
                IngestKeyCommand::List => {
                    let keys = ingest::keys::list_keys(store)?;
                    print(json, &keys, || {
                        let lines: Vec<String> = keys
                            .iter()
                            .map(|k| format!("{}  {}  created {}", k.id, k.name, k.created_at))
                            .collect();
                        if lines.is_empty() {
                            "no ingest keys".into()
                        } else {
                            lines.join("\n")
                        }
                    })
                }
                IngestKeyCommand::Revoke { id } => {
                    if !ingest::keys::revoke_key(store, &id)? {
                        anyhow::bail!("no ingest key with id {id}");
                    }
                    print(json, &serde_json::json!({"revoked": id}), || {
                        format!("ingest key {id} revoked")
                    })
                }
            }
        }
        Command::Bench(args) => crate::bench::run(&cli.data_dir, &args, json),
        Command::BenchIngest(args) => crate::bench::run_ingest(&cli.data_dir, &args, json),
    }
}

fn print<T: Serialize>(json: bool, value: &T, text: impl FnOnce() -> String) -> Result<()> {
    let out = if json {
        serde_json::to_string_pretty(value)?
    } else {
        text()
    };
    write_stdout(&out)
}

/// Writes a command's output; a closed pipe (`posture ... | head`) ends the program quietly.
pub fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|_| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => Ok(other?),
    }
}

/// The synthetic fleet's clock: now, to the hour, so a re-seed within the hour is identical.
fn fleet_now() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedReport {
    pub devices: u32,
    pub seed: u64,
    pub seconds: f64,
    pub kb_version: u64,
    pub feeds: Vec<ingest::FeedImport>,
}

pub fn seed(dir: &DataDir, fleet: &FleetArgs, with_kb: bool, quiet: bool) -> Result<SeedReport> {
    let started = Instant::now();
    let cfg = fleet::FleetConfig::new(fleet.devices, fleet.seed, fleet_now());
    let progress = bar(fleet.devices as u64, "seeding devices", quiet);
    let outcome = ingest::seed_fleet(
        dir.store.as_ref(),
        &cfg,
        with_kb,
        Some(&dir.feeds_dir()),
        &|done| progress.set_position(done),
    )?;
    progress.finish_and_clear();
    Ok(SeedReport {
        devices: fleet.devices,
        seed: fleet.seed,
        seconds: started.elapsed().as_secs_f64(),
        kb_version: dir.store.kb_version()?,
        feeds: outcome.feeds,
    })
}

pub fn publish(
    dir: &DataDir,
    snapshots: &Snapshots,
    p: &PublishArgs,
    quiet: bool,
) -> Result<PublishReport> {
    let kb = ingest::load_knowledge_base(dir.store.as_ref())
        .context("cannot load the knowledge base")?;
    let devices = dir.store.device_count()?;
    let progress = PublishProgress(bar(devices, "publishing", quiet));
    let opts = BuildOptions {
        part_target_bytes: p.part_mib.max(1) << 20,
        ..BuildOptions::default()
    };
    snapshots.set_change_retention(chrono::Duration::days(i64::from(p.change_retention_days)));
    let now = ingest::service_now(dir.store.as_ref())?;
    let report = snapshots.publish(&kb, now, &opts, &progress)?;
    progress.0.finish_and_clear();
    Ok(report)
}

#[derive(Serialize)]
pub struct AdvanceReport {
    pub advance: ingest::AdvanceOutcome,
    pub publish: PublishReport,
}

pub fn advance(
    dir: &DataDir,
    snapshots: &Snapshots,
    hours: u32,
    p: &PublishArgs,
    quiet: bool,
) -> Result<AdvanceReport> {
    let devices = dir.store.device_count()?;
    let progress = bar(devices, "advancing fleet", quiet);
    let advance = ingest::advance_fleet(dir.store.as_ref(), hours, &|done| {
        progress.set_position(done)
    })?;
    progress.finish_and_clear();
    let publish = publish(dir, snapshots, p, quiet)?;
    Ok(AdvanceReport { advance, publish })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageReport {
    pub devices: u64,
    pub software: u64,
    pub unassessable: u64,
    pub by_reason: std::collections::BTreeMap<&'static str, u64>,
    pub per_device: Vec<DeviceCoverage>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCoverage {
    pub device_id: String,
    pub device_name: Option<String>,
    pub software: u64,
    pub gaps: Vec<CoverageGap>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageGap {
    pub vendor: String,
    pub name: String,
    pub version: String,
    pub reason: &'static str,
}

/// What the assessment cannot see, device by device (the coverage report).
fn coverage(dir: &DataDir, only: Option<&str>) -> Result<CoverageReport> {
    let mut report = CoverageReport {
        devices: 0,
        software: 0,
        unassessable: 0,
        by_reason: Default::default(),
        per_device: Vec::new(),
    };
    let mut visit = |state: &store::DeviceState| {
        let r = &state.report;
        let mut d = DeviceCoverage {
            device_id: r.device_id.to_string(),
            device_name: r.device_name.clone(),
            software: r.software.len() as u64,
            gaps: Vec::new(),
        };
        for sw in &r.software {
            if let Some(gap) = assess::coverage::gap(sw) {
                *report.by_reason.entry(gap.reason()).or_default() += 1;
                d.gaps.push(CoverageGap {
                    vendor: sw.vendor.clone(),
                    name: sw.name.clone(),
                    version: sw.version.clone(),
                    reason: gap.reason(),
                });
            }
        }
        report.devices += 1;
        report.software += d.software;
        report.unassessable += d.gaps.len() as u64;
        report.per_device.push(d);
    };
    match only {
        Some(id) => {
            let state = dir
                .store
                .device(id)?
                .with_context(|| format!("no device {id}"))?;
            visit(&state);
        }
        None => dir.store.scan_devices(2000, &mut |batch| {
            batch.iter().for_each(&mut visit);
            Ok(())
        })?,
    }
    Ok(report)
}

fn publish_summary(r: &PublishReport) -> String {
    let rows: Vec<String> = r.rows.iter().map(|(k, n)| format!("{k:?}={n}")).collect();
    let changes = r.changes.map_or(String::new(), |c| {
        format!(
            "; changes: {} new, {} fixed, {} updated (diff {:.1}s)",
            c.new, c.fixed, c.updated, r.diff_seconds
        )
    });
    format!(
        "published snapshot #{} ({}) in {:.1}s: {} devices, {} distinct software, {} findings; rows: {}{changes}",
        r.seq,
        r.time_path,
        r.seconds,
        r.devices,
        r.distinct_software,
        r.findings,
        rows.join(" ")
    )
}

fn demo(
    data_dir: &std::path::Path,
    fleet: &FleetArgs,
    s: &ServeArgs,
    p: &PublishArgs,
    json: bool,
) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    if dir.store.device_count()? == 0 {
        eprintln!(
            "Seeding a synthetic fleet of {} devices (seed {}) into {} ...",
            fleet.devices,
            fleet.seed,
            data_dir.display()
        );
        let report = seed(&dir, fleet, true, json)?;
        eprintln!("  done in {:.1}s", report.seconds);
    }
    let base = s
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", s.listen));
    let (snapshots, _) = crate::datadir::open_snapshots(&dir, p, &base)?;
    if snapshots.latest().is_none() {
        eprintln!("Publishing the first snapshot ...");
        let report = publish(&dir, &snapshots, p, json)?;
        eprintln!("  {}", publish_summary(&report));
    }
    drop(snapshots);
    serve(&dir, s, p, true)
}

/// A demo application with every read role; a restarted demo rotates its secret so the
/// printed credentials always work.
fn demo_app(id: &identity::Identity) -> Result<identity::CreatedApp> {
    let existing = id.list_apps()?.into_iter().find(|a| a.name == DEMO_APP);
    Ok(match existing {
        Some(a) => id.rotate_secret(&a.client_id)?,
        None => id.create_app(
            DEMO_APP,
            &[
                "Vulnerability.Read.All",
                "Software.Read.All",
                "Machine.Read.All",
            ],
            None,
        )?,
    })
}

const DEMO_APP: &str = "posture-demo";

fn serve(dir: &DataDir, s: &ServeArgs, p: &PublishArgs, demo: bool) -> Result<()> {
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
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(s.listen)
            .await
            .with_context(|| format!("cannot listen on {}", s.listen))?;
        let local = listener.local_addr()?;
        let tls = tls_files(dir, s, local)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = s.base_url.clone().unwrap_or_else(|| format!("{scheme}://{local}"));
        let identity = open_identity(dir, &base_url, s)?;
        let (snapshots, exports) = crate::datadir::open_snapshots(dir, p, &base_url)?;
        let snapshots = Arc::new(snapshots);
        let mut config = ApiConfig::new(base_url.clone());
        config.delta_window = chrono::Duration::days(i64::from(s.delta_window_days));
        let state = AppState {
            snapshots: snapshots.clone(),
            config: Arc::new(config),
            auth: match s.auth {
                Switch::On => identity.clone(),
                Switch::Off => Arc::new(access::OpenAccess),
            },
            limiter: match s.limits {
                Switch::On => identity::RateLimitConfig::default().limiter(),
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
        println!("{base_url}");
        if let Some(every) = s.publish_every {
            tokio::spawn(publish_loop(dir.clone(), snapshots.clone(), p.clone(), every));
        }
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
        let mut app = server::router(state)
            .merge(identity::oauth_router(identity.clone()))
            .merge(server::ingest_api::router(Arc::new(ingest_state(dir, s))));
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
            app = app.merge(crate::admin::admin_router(dir.clone(), snapshots.clone(), p.clone(), guard));
        }
        if demo && s.auth == Switch::On {
            let ca = tls.as_ref().and_then(|t| t.ca_pem.clone());
            tokio::spawn(print_demo_token(base_url.clone(), demo_app(&identity)?, ca));
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("shutting down");
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
    })
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

/// The identity provider for CLI commands: authorities are printed for the server's
/// public base URL (`POSTURE_BASE_URL`, default `http://127.0.0.1:8080`).
fn cli_identity(dir: &DataDir) -> Result<identity::Identity> {
    let base = std::env::var("POSTURE_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    identity::Identity::open(&dir.path, identity::IdentityConfig::new(base))
        .context("cannot open the identity store")
}

fn apps(dir: &DataDir, command: AppCommand, json: bool) -> Result<()> {
    let id = cli_identity(dir)?;
    let created = |app: identity::CreatedApp, what: &str| {
        print(json, &app, || {
            format!(
                "application {what}: {}\n  client id  {}\n  tenant id  {}\n  secret     {}   (shown once; store it now)\n  roles      {}\n  groups     {}\n  authority  {}\n  token      {}",
                app.name,
                app.client_id,
                app.tenant_id,
                app.secret,
                app.roles.join(","),
                app.groups.as_ref().map_or("all".into(), |g| g
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")),
                app.authority,
                app.token_endpoint
            )
        })
    };
    match command {
        AppCommand::Create {
            name,
            roles,
            groups,
        } => created(id.create_app(&name, &roles, groups.as_deref())?, "created"),
        AppCommand::RotateSecret { client_id } => {
            created(id.rotate_secret(&client_id)?, "secret rotated")
        }
        AppCommand::Disable { client_id } => {
            id.set_app_disabled(&client_id, true)?;
            print(json, &serde_json::json!({"disabled": client_id}), || {
                format!("application {client_id} disabled; its tokens are refused")
            })
        }
        AppCommand::Enable { client_id } => {
            id.set_app_disabled(&client_id, false)?;
            print(json, &serde_json::json!({"enabled": client_id}), || {
                format!("application {client_id} enabled")
            })
        }
        AppCommand::Delete { client_id } => {
            id.delete_app(&client_id)?;
            print(json, &serde_json::json!({"deleted": client_id}), || {
                format!("application {client_id} deleted")
            })
        }
        AppCommand::List => {
            let apps = id.list_apps()?;
            print(json, &apps, || {
                let lines: Vec<String> = apps
                    .iter()
                    .map(|a| {
                        let groups = a
                            .groups
                            .as_ref()
                            .map_or("all groups".into(), |g| format!("groups {g:?}"));
                        format!(
                            "{}  {}  {}  {groups}{}",
                            a.client_id,
                            a.name,
                            a.roles.join(","),
                            if a.disabled { "  (disabled)" } else { "" }
                        )
                    })
                    .collect();
                if lines.is_empty() {
                    "no applications".into()
                } else {
                    lines.join("\n")
                }
            })
        }
    }
}

fn users(dir: &DataDir, command: UserCommand, json: bool) -> Result<()> {
    let id = cli_identity(dir)?;
    match command {
        UserCommand::Create {
            name,
            scopes,
            groups,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                anyhow::bail!("give the password on standard input");
            }
            let user = id.create_user(&name, password, &scopes, groups.as_deref())?;
            print(json, &user, || format!("user {name} created"))
        }
        UserCommand::Delete { name } => {
            id.delete_user(&name)?;
            print(json, &serde_json::json!({"deleted": name}), || {
                format!("user {name} deleted")
            })
        }
        UserCommand::List => {
            let users = id.list_users()?;
            print(json, &users, || {
                serde_json::to_string_pretty(&users).unwrap_or_default()
            })
        }
    }
}

fn keys(dir: &DataDir, command: KeyCommand, json: bool) -> Result<()> {
    let id = cli_identity(dir)?;
    match command {
        KeyCommand::Rotate => {
            let key = id.rotate_signing_key()?;
            print(json, &key, || {
                format!(
                    "now signing with key {}; older keys verify until their tokens expire",
                    key.kid
                )
            })
        }
        KeyCommand::List => {
            let keys = id.signing_keys()?;
            print(json, &keys, || {
                serde_json::to_string_pretty(&keys).unwrap_or_default()
            })
        }
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
    Ok(Arc::new(
        identity::Identity::open(&dir.path, config).context("cannot open the identity store")?,
    ))
}

/// Fetches a token for the demo application from the running server and prints it
/// with a ready-to-paste call.
async fn print_demo_token(
    base_url: String,
    app: identity::CreatedApp,
    ca: Option<std::path::PathBuf>,
) {
    let mut client = reqwest::Client::builder();
    if let Some(pem) = ca
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| reqwest::Certificate::from_pem(&b).ok())
    {
        client = client.add_root_certificate(pem);
    }
    let Ok(client) = client.build() else { return };
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.secret.as_str()),
        ("scope", "https://api.securitycenter.microsoft.com/.default"),
    ];
    let token = match client.post(&app.token_endpoint).form(&form).send().await {
        Ok(r) => r
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_owned)),
        Err(_) => None,
    };
    eprintln!(
        "Demo application (all read roles): client id {}  tenant {}  secret {}\n  authority {}",
        app.client_id, app.tenant_id, app.secret, app.authority
    );
    eprintln!(
        "Get a token:\n  curl -s {} -d grant_type=client_credentials -d client_id={} -d client_secret={} -d scope=https://api.securitycenter.microsoft.com/.default",
        app.token_endpoint, app.client_id, app.secret
    );
    match token {
        Some(t) => eprintln!(
            "Call the API with this token (valid one hour):\n  curl -s -H 'Authorization: Bearer {t}' '{base_url}/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=2'"
        ),
        None => eprintln!("(could not fetch a demo token from {})", app.token_endpoint),
    }
}

async fn publish_loop(
    dir: DataDir,
    snapshots: Arc<Snapshots>,
    p: PublishArgs,
    every: std::time::Duration,
) {
    let dir = Arc::new(dir);
    loop {
        tokio::time::sleep(every).await;
        let (dir, snapshots, p) = (dir.clone(), snapshots.clone(), p.clone());
        let result = tokio::task::spawn_blocking(move || publish(&dir, &snapshots, &p, true)).await;
        match result {
            Ok(Ok(r)) => {
                metrics::histogram!("posture_publish_seconds").record(r.seconds);
                tracing::info!(snapshot = %r.time_path, devices = r.devices, seconds = r.seconds, "published")
            }
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "scheduled publish failed; the previous snapshot keeps serving")
            }
            Err(e) => tracing::error!(error = %e, "scheduled publish panicked"),
        }
    }
}
