//! `posture`: the command-line entry point. Each subcommand is a thin layer over the
//! library crates; see ARCHITECTURE.md for the data flow.

// mimalloc: publishing and ingesting allocate and free millions of small strings per
// batch; glibc malloc spent a fifth of publish time in malloc/free/consolidate.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod bench;
mod commands;
mod datadir;
mod logging;
mod progress;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "posture",
    version,
    about = "Device-posture export service: a faithful, fast implementation of the MDE export API"
)]
pub struct Cli {
    /// Data directory (state database, snapshots). Created when missing.
    #[arg(
        long,
        global = true,
        env = "POSTURE_DATA_DIR",
        default_value = "posture-data"
    )]
    pub data_dir: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log filter (tracing EnvFilter syntax), e.g. `info`, `posture=debug`.
    #[arg(long, global = true, env = "POSTURE_LOG", default_value = "info")]
    pub log: String,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args, Debug, Clone)]
pub struct FleetArgs {
    /// Number of synthetic devices.
    #[arg(long, default_value_t = 1000)]
    pub devices: u32,
    /// Seed of the synthetic fleet and knowledge base.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "POSTURE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL used in @odata.context, nextLinks and file URLs (default http://<listen>).
    #[arg(long, env = "POSTURE_BASE_URL")]
    pub base_url: Option<String>,
    /// Publish a new snapshot this often (e.g. 6h, 30m; unset = never). MDE publishes every 6 hours.
    #[arg(long, env = "POSTURE_PUBLISH_EVERY", value_parser = agent::parse_duration)]
    pub publish_every: Option<std::time::Duration>,
    /// How far back `sinceTime` may reach on the delta endpoint, in days (MDE: 14).
    #[arg(long, env = "POSTURE_DELTA_WINDOW_DAYS", default_value_t = 14)]
    pub delta_window_days: u32,
    /// Enable the emulator's admin endpoint `POST /admin/advance?hours=H` (time travel).
    /// Off by default; never expose it beyond a trusted network.
    #[arg(long, env = "POSTURE_ADMIN")]
    pub admin: bool,
    /// With `--auth off`, let anyone call the admin endpoint (otherwise it answers 403;
    /// with `--auth on` it needs a token with the `Posture.Admin` role). Trusted machines only.
    #[arg(long, env = "POSTURE_ADMIN_WITHOUT_AUTH", requires = "admin")]
    pub admin_without_auth: bool,
    /// Fault injection rules for client testing (JSON; see README "Fault injection"). Off by default.
    #[arg(long, env = "POSTURE_FAULTS")]
    pub faults: Option<PathBuf>,
    /// Require OAuth2 bearer tokens on the API (`off` lets every caller see everything).
    #[arg(long, env = "POSTURE_AUTH", value_enum, default_value_t = Switch::On)]
    pub auth: Switch,
    /// Per-application rate limits (JSON endpoints 30/min and 1000/h, file endpoints 5/min and 20/h).
    #[arg(long, env = "POSTURE_LIMITS", value_enum, default_value_t = Switch::On)]
    pub limits: Switch,
    /// Serve HTTPS with a local CA and server certificate created on first start
    /// (`self-signed`); the CA is written to <data-dir>/tls/ca.pem for clients to trust.
    #[arg(long, env = "POSTURE_TLS", value_enum)]
    pub tls: Option<TlsMode>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        env = "POSTURE_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert.
    #[arg(long, env = "POSTURE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Extra DNS names for the self-signed certificate (the listen address is always included).
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_names: Vec<String>,
    /// Also accept tokens from this external OpenID issuer (its discovery URL), e.g. an Entra
    /// tenant or a Keycloak realm; repeatable.
    #[arg(long = "trust-issuer", value_name = "DISCOVERY_URL")]
    pub trust_issuers: Vec<String>,
    /// Audiences accepted from external issuers (default: the MDE API audiences).
    #[arg(long = "trust-audience", value_name = "AUD")]
    pub trust_audiences: Vec<String>,
    /// Connections served at once; more wait in the listen backlog (default: 3/4 of the
    /// open-files limit left after 256 reserved, 64..16384).
    #[arg(long, env = "POSTURE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Time a client has to send a request head (e.g. 10s); also closes idle HTTP/1 connections.
    #[arg(long, env = "POSTURE_HEADER_TIMEOUT", default_value = "10s", value_parser = agent::parse_duration)]
    pub header_timeout: std::time::Duration,
    /// A connection with no traffic for this long is closed.
    #[arg(long, env = "POSTURE_IDLE_TIMEOUT", default_value = "60s", value_parser = agent::parse_duration)]
    pub idle_timeout: std::time::Duration,
    /// Requests served on one connection before it is closed.
    #[arg(
        long,
        env = "POSTURE_MAX_REQUESTS_PER_CONNECTION",
        default_value_t = 10_000
    )]
    pub max_requests_per_connection: u64,
    /// Report uploads processed at once (default: half the cores, at least 1); others wait, then 503.
    #[arg(long, env = "POSTURE_MAX_CONCURRENT_INGEST")]
    pub max_concurrent_ingest: Option<usize>,
}

impl ServeArgs {
    /// The connection limits of the listener.
    pub fn serve_limits(&self) -> server::listener::ServeLimits {
        let mut limits = server::listener::ServeLimits::default();
        if let Some(n) = self.max_connections {
            limits.max_connections = n;
        }
        limits.header_read_timeout = self.header_timeout;
        limits.idle_timeout = self.idle_timeout;
        limits.max_requests_per_connection = self.max_requests_per_connection;
        limits
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    SelfSigned,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PublishArgs {
    /// Snapshots to keep; older ones are removed after a publish.
    #[arg(long, env = "POSTURE_RETAIN", default_value_t = 8)]
    pub retain: usize,
    /// Target uncompressed size of one export part file, in MiB.
    #[arg(long, env = "POSTURE_PART_MIB", default_value_t = 256)]
    pub part_mib: u64,
    /// Days of change logs (delta history) to keep.
    #[arg(long, env = "POSTURE_CHANGE_RETENTION_DAYS", default_value_t = 14)]
    pub change_retention_days: u32,
    /// Write the via-files exports (gzip NDJSON) at publish.
    #[arg(long, env = "POSTURE_EXPORTS", value_enum, default_value_t = Switch::On)]
    pub exports: Switch,
    /// Where export files go: `local` (the data directory, downloads served by Posture),
    /// `azure` (POSTURE_AZURE_ACCOUNT, POSTURE_AZURE_CONTAINER, POSTURE_AZURE_ACCESS_KEY,
    /// optional POSTURE_AZURE_ENDPOINT) or `s3` (POSTURE_S3_BUCKET, POSTURE_S3_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional POSTURE_S3_ENDPOINT).
    #[arg(long, env = "POSTURE_EXPORT_BACKEND", value_enum, default_value_t = ExportBackend::Local)]
    pub export_backend: ExportBackend,
    /// gzip level of export files (1 = fastest).
    #[arg(long, env = "POSTURE_EXPORT_LEVEL", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub export_level: u32,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportBackend {
    Local,
    Azure,
    S3,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Seed a synthetic fleet (if the data directory is empty), publish, and serve the API.
    Demo {
        #[command(flatten)]
        fleet: FleetArgs,
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        publish: PublishArgs,
    },
    /// Serve the API from the data directory's snapshots.
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        publish: PublishArgs,
    },
    /// Write a deterministic synthetic fleet through the report path, and import its synthetic knowledge base.
    Seed {
        #[command(flatten)]
        fleet: FleetArgs,
        /// Do not generate and import the synthetic NVD/KEV feeds.
        #[arg(long)]
        no_kb: bool,
    },
    /// Assess every device and publish a new snapshot.
    Publish {
        #[command(flatten)]
        publish: PublishArgs,
    },
    /// Knowledge-base commands.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// List the retained snapshots.
    Snapshots,
    /// Time travel for the emulator: move the synthetic fleet forward and publish.
    Advance {
        /// Hours to move the emulator clock forward.
        #[arg(long, default_value_t = 6)]
        hours: u32,
        #[command(flatten)]
        publish: PublishArgs,
    },
    /// List installed software that cannot be assessed (no CPE or ecosystem, empty version, ...), per device.
    Coverage {
        /// Only this device.
        #[arg(long)]
        device: Option<String>,
    },
    /// Collect this Linux device's posture (packages, Python, ClamAV, hardening) and post it to a Posture server.
    Agent(agent::AgentArgs),
    /// API applications (OAuth2 client credentials) and their roles and groups.
    Apps {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Users for delegated (password grant) tokens, limited to scopes and groups.
    Users {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Ingest keys: the credentials agents and devices use for `POST /ingest/v1/reports`.
    IngestKeys {
        #[command(subcommand)]
        command: IngestKeyCommand,
    },
    /// Measure seed, assessment, publish and paging at scale (see README, "Benchmarks").
    Bench(bench::BenchArgs),
    /// Measure report ingestion through the HTTP API at scale (see README, "Benchmarks").
    BenchIngest(bench::IngestBenchArgs),
}

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Create an application; its client id, tenant id and secret are printed once.
    Create {
        #[arg(long)]
        name: String,
        /// Application roles, e.g. Vulnerability.Read.All,Software.Read.All,Machine.Read.All
        /// (Posture.Admin for the admin endpoint: only ever granted here, explicitly).
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// Limit the application to these device groups (RBAC group ids).
        #[arg(long, value_delimiter = ',')]
        groups: Option<Vec<u32>>,
    },
    List,
    /// Replace an application's secret; the new one is printed once.
    RotateSecret {
        client_id: String,
    },
    /// Delete an application; its tokens are refused from then on.
    Delete {
        client_id: String,
    },
    /// Disable an application: no new tokens, and its tokens are refused.
    Disable {
        client_id: String,
    },
    /// Enable a disabled application again.
    Enable {
        client_id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        name: String,
        /// Delegated scopes, e.g. Vulnerability.Read,Machine.Read.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        groups: Option<Vec<u32>>,
    },
    List,
    Delete {
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Start signing with a new key; the old one keeps verifying until its tokens expire.
    Rotate,
    List,
}

#[derive(Subcommand, Debug)]
pub enum IngestKeyCommand {
    /// Create a key; the secret is printed once.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List keys (ids and names, never secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum KbCommand {
    /// Import NVD CVE API 2.0 JSON or CISA KEV JSON files (atomically, each file whole).
    Import {
        /// Feed files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show the knowledge base version and record counts.
    Status,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log, cli.log_json);
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
