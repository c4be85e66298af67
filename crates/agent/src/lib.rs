//! `posture agent`: the Linux device agent.
//!
//! It collects one [`DeviceReport`] from a filesystem root (`/` on a device, a
//! fixture tree in tests) and posts it to the ingest API
//! (`POST <server>/ingest/v1/reports`, see [`post()`]).
//!
//! # What it collects
//!
//! * **Identity**: device id = SHA-256 of a fixed salt and `/etc/machine-id` (else
//!   `/var/lib/dbus/machine-id`, else the host name, with a warning), first 20 bytes
//!   in hex; `deviceName` = FQDN (from `/etc/hosts`, else `hostname --fqdn`) or the
//!   host name; `os` from os-release (`kind: linux`, `platform: Linux`, `version` =
//!   `VERSION_ID`, `distro`), architecture in MDE spelling (`x64`, `x86`, `arm64`).
//! * **Kernel**: a software entry `linux` / `linux_kernel`, version = the kernel
//!   release, CPE with the upstream version ([`osinfo::kernel_upstream_version`]).
//! * **dpkg** (`/var/lib/dpkg/status`) and **rpm** (`rpm --dbpath … -qa`) packages:
//!   `vendor` = distribution id, `name` = binary package, `version` = full package
//!   version, `ecosystem` = the OSV ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`,
//!   `Rocky Linux:9`, …), no CPE (non-CPE inventory, assessed through OSV).
//! * **Python** distributions ([`python`]): `vendor: pypi`, PEP 503 name,
//!   `ecosystem: PyPI`, `diskPaths` = the site directories holding them.
//! * **ClamAV** ([`clamav`]): the report's `av` (deviceavinfo), when installed.
//! * **Hardening settings** ([`hardening`]), named as the configuration catalogue
//!   names them.
//! * **Facts**: `LocalCveScannerExecuted` (`Posture agent <version>`), `AvProduct`
//!   (`ClamAV`) and `CollectionWarnings` (what could not be read).
//!
//! Nothing needs root: every source that cannot be read becomes a warning ("could
//! not read X: reason"), printed on stderr and carried in the report's facts.
//! After a post, the server's own warnings (software it stored but cannot assess:
//! no CPE or ecosystem, unsupported ecosystem, unparsable CPE or version) are printed
//! on stderr too, one line each (`server warning: software[3] (vendor name version)
//! cannot be assessed: reason`, see [`PostOutcome::warning_lines`]).
//!
//! # Binary and source packages
//!
//! Entries carry the *binary* package (`libssl3`), as installed and as MDE lists
//! Linux software. Debian's OSV advisories are keyed by *source* package
//! (`openssl`) and source version, so an entry whose source differs in name or
//! version carries it in `source`; assessment matches distribution advisories on it.
//!
//! # Tests
//!
//! `tests/fixture.rs` builds device trees and checks the exact report;
//! `tests/machine.rs` collects from `/` and checks it against `dpkg-query` and
//! `pip list`, and ClamAV against a database built by its own `sigtool`;
//! `tests/post.rs` runs the protocol against a small axum server. The ClamAV and
//! rpm tests need Debian's `clamav` and `rpm` packages and skip (saying so) without.

pub mod clamav;
pub mod dpkg;
pub mod hardening;
pub mod osinfo;
pub mod post;
pub mod python;
pub mod rpm;
pub mod state;
mod util;

pub use post::{
    AgentError, PostOutcome, Refusal, ReportResult, Sender, ServerWarning, encode_body, post,
};
pub use state::StateDir;

use anyhow::Context;
use chrono::{DateTime, Utc};
use model::{DeviceReport, GroupRef, InstalledSoftware};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use util::Ctx;

pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `posture agent`: collect this device's posture and post it to a Posture server.
#[derive(clap::Args, Debug, Clone)]
pub struct AgentArgs {
    /// Base URL of the Posture server (reports go to `<URL>/ingest/v1/reports`).
    #[arg(long, env = "POSTURE_SERVER")]
    pub server: Option<String>,
    /// Ingest key (sent as `Authorization: Bearer <key>`).
    #[arg(long, env = "POSTURE_INGEST_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Collect and post once, then exit (the default).
    #[arg(long, conflicts_with = "interval")]
    pub once: bool,
    /// Keep running: collect and post every DURATION (e.g. 1h, 30m, 90s, 1d).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<Duration>,
    /// Print the report JSON on stdout instead of posting it (no state is changed).
    #[arg(long)]
    pub print: bool,
    /// Filesystem root to read from (a mounted image or a fixture tree).
    #[arg(long, value_name = "PATH", default_value = "/")]
    pub root: PathBuf,
    /// State directory (last sequence, unacknowledged report)
    /// [default: $XDG_STATE_HOME/posture-agent or ~/.local/state/posture-agent].
    #[arg(long, value_name = "PATH", env = "POSTURE_AGENT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// RBAC group id to report the device in (with --group-name).
    #[arg(long, requires = "group_name")]
    pub group_id: Option<u32>,
    /// RBAC group name to report the device in (with --group-id).
    #[arg(long, requires = "group_id")]
    pub group_name: Option<String>,
    /// Extra PEM root certificate to trust (a self-hosted server's private CA).
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Option<PathBuf>,
}

/// Parses `90s`, `30m`, `1h`, `1d` (a number alone is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 1h, 30m, 90s"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("invalid duration unit in {s:?}: use s, m, h or d")),
    };
    if secs == 0 {
        return Err("the interval must be more than 0".into());
    }
    Ok(Duration::from_secs(secs))
}

/// What to collect from, and the report's envelope.
#[derive(Clone, Debug)]
pub struct CollectOptions {
    /// Filesystem root to read from.
    pub root: PathBuf,
    /// The invoking user's home (its `~/.local` and `~/.pyenv` Python packages);
    /// `/root` and `/home/*` under the root are searched anyway.
    pub home: Option<PathBuf>,
    /// Run host programs (`hostname --fqdn`, `clamscan --version`, `nft`,
    /// `iptables-save`). Only meaningful when the root is the running system.
    pub run_commands: bool,
    pub now: DateTime<Utc>,
    pub sequence: u64,
    pub group: Option<GroupRef>,
}

impl CollectOptions {
    /// Options for a root: host programs and `$HOME` only when the root is `/`;
    /// `now` = the current time, `sequence` = its unix milliseconds.
    pub fn new(root: impl Into<PathBuf>) -> CollectOptions {
        let root = root.into();
        let live = is_live_root(&root);
        let now = Utc::now();
        CollectOptions {
            home: if live {
                std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .map(PathBuf::from)
            } else {
                None
            },
            run_commands: live,
            sequence: now.timestamp_millis().max(1) as u64,
            now,
            group: None,
            root,
        }
    }
}

fn is_live_root(root: &Path) -> bool {
    root.canonicalize()
        .map(|r| r == Path::new("/"))
        .unwrap_or(false)
}

/// A collected report and what could not be read.
#[derive(Clone, Debug)]
pub struct Collected {
    pub report: DeviceReport,
    /// One line per source that could not be read, and why.
    pub warnings: Vec<String>,
}

/// Collects the device's state under `opts.root` into one valid report.
pub fn collect(opts: &CollectOptions) -> Collected {
    let mut ctx = Ctx::new(&opts.root, opts.run_commands);
    let rel = osinfo::os_release(&mut ctx);
    let host = osinfo::hostname(&mut ctx);
    let device_name = host
        .as_ref()
        .map(|h| osinfo::fqdn(&mut ctx, h).unwrap_or_else(|| h.clone()));
    let device_id = osinfo::device_id(&mut ctx, host.as_deref());
    let architecture = osinfo::architecture(&mut ctx);
    if rel.version_id.is_empty() && !rel.id.is_empty() {
        ctx.warn(format!(
            "os-release has no VERSION_ID (distribution {:?}): os.version is empty",
            rel.id
        ));
    }

    let mut software: Vec<InstalledSoftware> = Vec::new();
    if let Some(k) = osinfo::kernel(&mut ctx) {
        software.push(k);
    }
    let vendor = if rel.id.is_empty() {
        "linux".to_owned()
    } else {
        rel.id.clone()
    };
    let mut installed: BTreeMap<String, String> = BTreeMap::new();
    let dpkg = dpkg::collect(&mut ctx);
    if let Some(pkgs) = &dpkg {
        let eco = rel.dpkg_ecosystem();
        if eco.is_none() && !pkgs.is_empty() {
            ctx.warn(format!(
                "no OSV ecosystem is known for distribution {:?}: dpkg packages are reported without one",
                rel.id
            ));
        }
        for p in pkgs {
            installed
                .entry(p.name.clone())
                .or_insert_with(|| p.version.clone());
            software.push(dpkg::to_software(p, &vendor, eco.as_deref()));
        }
    }
    let rpm = rpm::collect(&mut ctx);
    if let Some(pkgs) = &rpm {
        let eco = rel.rpm_ecosystem();
        if eco.is_none() && !pkgs.is_empty() {
            ctx.warn(format!(
                "no OSV ecosystem is known for distribution {:?}: rpm packages are reported without one",
                rel.id
            ));
        }
        for p in pkgs {
            installed
                .entry(p.name.clone())
                .or_insert_with(|| p.version.clone());
            software.push(rpm::to_software(p, &vendor, eco.as_deref()));
        }
    }
    if dpkg.is_none() && rpm.is_none() {
        ctx.warn(format!(
            "no package database found under {} (neither /var/lib/dpkg/status nor an rpm database): no distribution packages reported",
            opts.root.display()
        ));
    }
    software.extend(python::collect(&mut ctx, opts.home.as_deref()));

    let is_installed = |n: &str| installed.contains_key(n);
    let mut settings = BTreeMap::new();
    hardening::collect(&mut ctx, &is_installed, &mut settings);

    let av = if clamav::present(&ctx, &is_installed) {
        let names: Vec<String> = dpkg.iter().flatten().map(|p| p.name.clone()).collect();
        let lookup = |n: &str| installed.get(n).cloned();
        Some(clamav::collect(&mut ctx, &lookup, &names))
    } else {
        None
    };

    // Deterministic order; identical entries (the same package in two databases) once.
    software.sort_by(|a, b| {
        (&a.vendor, &a.name, &a.version, &a.ecosystem).cmp(&(
            &b.vendor,
            &b.name,
            &b.version,
            &b.ecosystem,
        ))
    });
    software.dedup();
    if software.len() > model::report::MAX_SOFTWARE {
        ctx.warn(format!(
            "{} software entries found; only the first {} are reported",
            software.len(),
            model::report::MAX_SOFTWARE
        ));
        software.truncate(model::report::MAX_SOFTWARE);
    }

    let mut facts = BTreeMap::new();
    facts.insert(
        "LocalCveScannerExecuted".to_owned(),
        serde_json::Value::String(format!("Posture agent {AGENT_VERSION}")),
    );
    if av.is_some() {
        facts.insert(
            "AvProduct".to_owned(),
            serde_json::Value::String("ClamAV".into()),
        );
    }

    let mut report = DeviceReport {
        device_id,
        sequence: opts.sequence,
        reported_at: opts.now,
        device_name,
        os: osinfo::os_info(&rel, architecture),
        group: opts.group.clone(),
        software,
        settings,
        av,
        facts,
    };
    make_valid(&mut report, &mut ctx);
    if !ctx.warnings.is_empty() {
        let list: Vec<serde_json::Value> = ctx
            .warnings
            .iter()
            .take(50)
            .map(|w| serde_json::Value::String(util::clean(w, 500)))
            .collect();
        report.facts.insert(
            "CollectionWarnings".to_owned(),
            serde_json::Value::Array(list),
        );
    }
    Collected {
        report,
        warnings: ctx.warnings,
    }
}

/// Drops whatever `validate()` refuses (one software entry or setting at a time),
/// with a warning, so one odd package never costs the whole report.
fn make_valid(report: &mut DeviceReport, ctx: &mut Ctx) {
    for _ in 0..1000 {
        let Err(e) = report.validate() else { return };
        if let Some(rest) = e.path.strip_prefix("software[")
            && let Some(i) = rest.split(']').next().and_then(|i| i.parse::<usize>().ok())
            && i < report.software.len()
        {
            let sw = report.software.remove(i);
            ctx.warn(format!(
                "software entry {:?} {:?} left out: {e}",
                util::clean(&sw.name, 100),
                util::clean(&sw.version, 100)
            ));
            continue;
        }
        if let Some(k) = e.path.strip_prefix("settings.")
            && report.settings.remove(k).is_some()
        {
            ctx.warn(format!("setting left out: {e}"));
            continue;
        }
        if e.path == "deviceName" {
            report.device_name = None;
            ctx.warn(format!("device name left out: {e}"));
            continue;
        }
        if e.path.starts_with("os.architecture") {
            report.os.architecture = None;
            ctx.warn(format!("architecture left out: {e}"));
            continue;
        }
        ctx.warn(format!("the report does not validate: {e}"));
        return;
    }
}

/// Counts for the one-line summary.
fn summary(r: &DeviceReport) -> String {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &r.software {
        let k = match s.ecosystem.as_deref() {
            Some("PyPI") => "python",
            Some(_) => "packages",
            None if s.cpe.is_some() => "kernel",
            None => "packages",
        };
        *kinds.entry(k).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!(
        "device {} ({}) sequence {}: {} software ({}), {} settings, AV {}",
        r.device_id,
        r.device_name.as_deref().unwrap_or("?"),
        r.sequence,
        r.software.len(),
        kinds.join(", "),
        r.settings.len(),
        if r.av.is_some() { "yes" } else { "none" }
    )
}

/// The `posture agent` command.
pub fn run(args: &AgentArgs) -> anyhow::Result<()> {
    let group = match (&args.group_id, &args.group_name) {
        (Some(id), Some(name)) => Some(GroupRef {
            id: *id,
            name: name.clone(),
        }),
        _ => None,
    };
    if args.print {
        let mut opts = CollectOptions::new(&args.root);
        opts.group = group;
        let c = collect(&opts);
        print_warnings(&c.warnings);
        c.report
            .validate()
            .context("the collected report does not validate")?;
        let json = serde_json::to_string_pretty(&c.report)?;
        println!("{json}");
        eprintln!("posture agent: {}", summary(&c.report));
        return Ok(());
    }
    let server = args
        .server
        .as_deref()
        .context("--server (or POSTURE_SERVER) is required unless --print is given")?;
    let key = args
        .key
        .as_deref()
        .context("--key (or POSTURE_INGEST_KEY) is required unless --print is given")?;
    if server.trim().starts_with("http://") {
        eprintln!(
            "posture agent: warning: {server} is plain HTTP; the ingest key and the report travel unencrypted"
        );
    }
    let sender = Sender::new(server, key, args.ca_cert.as_deref())?;
    let dir = args
        .state_dir
        .clone()
        .or_else(state::default_state_dir)
        .context("no state directory: give --state-dir (neither XDG_STATE_HOME nor HOME is set)")?;
    let state = StateDir::open(&dir)?;
    let Some(interval) = args.interval else {
        return cycle(args, &group, &sender, &state);
    };
    loop {
        if let Err(e) = cycle(args, &group, &sender, &state) {
            eprintln!("posture agent: error: {e:#}");
        }
        std::thread::sleep(interval);
    }
}

fn print_warnings(w: &[String]) {
    for w in w {
        eprintln!("posture agent: warning: {w}");
    }
}

/// Delays between attempts at one body (no answer, 408, 429, 5xx).
const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(3)];

fn send_with_retries(sender: &Sender, body: &[u8]) -> Result<PostOutcome, AgentError> {
    let mut attempt = 0;
    loop {
        match sender.post_body(body) {
            Err(e) if e.is_retryable() && attempt < RETRY_DELAYS.len() => {
                eprintln!(
                    "posture agent: attempt {} failed ({e}); retrying in {}s",
                    attempt + 1,
                    RETRY_DELAYS[attempt].as_secs()
                );
                std::thread::sleep(RETRY_DELAYS[attempt]);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Sends `body` (the pending one); `Ok(None)` when acknowledged, `Ok(Some(reason))`
/// when the server refused it for good (it is then dropped), `Err` when it stays
/// pending. The server's warnings (software it stored but cannot assess) are printed,
/// one line each; `reports` (the body's reports, when known) name the items.
fn deliver(
    sender: &Sender,
    state: &StateDir,
    body: &[u8],
    reports: &[DeviceReport],
) -> anyhow::Result<Option<String>> {
    match send_with_retries(sender, body) {
        Ok(outcome) => {
            state.clear_pending()?;
            for line in outcome.warning_lines(reports) {
                eprintln!("posture agent: server warning: {line}");
            }
            Ok(outcome
                .refused
                .first()
                .map(|r| format!("{}: {}", r.path.as_deref().unwrap_or("$"), r.reason)))
        }
        Err(e @ AgentError::Refused { .. }) => {
            state.clear_pending()?;
            Ok(Some(e.to_string()))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "the report is kept in {} and will be sent again",
            state.path().display()
        ))),
    }
}

fn cycle(
    args: &AgentArgs,
    group: &Option<GroupRef>,
    sender: &Sender,
    state: &StateDir,
) -> anyhow::Result<()> {
    if let Some(body) = state.pending()? {
        eprintln!("posture agent: sending the unacknowledged report again");
        if let Some(reason) = deliver(sender, state, &body, &[])? {
            eprintln!("posture agent: the server refused the earlier report, dropped: {reason}");
        }
    }
    let mut opts = CollectOptions::new(&args.root);
    opts.group = group.clone();
    opts.sequence = state.next_sequence(opts.now.timestamp_millis().max(1) as u64)?;
    let c = collect(&opts);
    print_warnings(&c.warnings);
    let body = encode_body(std::slice::from_ref(&c.report));
    state.commit_sequence(opts.sequence, c.report.device_id.as_str())?;
    state.set_pending(&body)?;
    if let Some(reason) = deliver(sender, state, &body, std::slice::from_ref(&c.report))? {
        anyhow::bail!("the server refused the report: {reason}");
    }
    eprintln!("posture agent: sent {}", summary(&c.report));
    Ok(())
}
