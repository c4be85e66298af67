//! Argument groups shared by several subcommands (flattened into each).

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Sync the knowledge-base feeds this often (e.g. 6h; unset = never), as `kb sync`
    /// does with the `--nvd-url`.. options below; the next publish reassesses.
    #[arg(long, env = "POSTURE_KB_SYNC_EVERY", value_parser = agent::parse_duration)]
    pub kb_sync_every: Option<std::time::Duration>,
    #[command(flatten)]
    pub kb_sync: crate::cmd::kb::SyncArgs,
    /// A feed not synced or imported for longer than this makes `/healthz` answer
    /// `status: warn` naming it (and sets `posture_kb_feed_stale{feed}` to 1).
    #[arg(long, env = "POSTURE_KB_MAX_AGE", value_parser = agent::parse_duration, default_value = "48h")]
    pub kb_max_age: std::time::Duration,
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
    /// The JSON endpoints' limits per application and tenant, as `CALLS/WINDOW` items
    /// (MDE's: `30/1m,1000/1h`). Raise them only for clients that are not MDE's.
    #[arg(long, env = "POSTURE_JSON_LIMITS", default_value = "30/1m,1000/1h", value_parser = parse_limits)]
    pub json_limits: LimitList,
    /// The via-files endpoints' limits (the `...Export` and `InfoGatheringExport` calls), as `--json-limits`.
    #[arg(long, env = "POSTURE_FILE_LIMITS", default_value = "5/1m,20/1h", value_parser = parse_limits)]
    pub file_limits: LimitList,
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
    /// Snapshot pages (memory-mapped) the server keeps in its resident set, in MiB; past
    /// it, read pages are dropped from the process after a response (they stay in the page
    /// cache). 0: no budget.
    #[arg(long, env = "POSTURE_MAPPED_MEMORY_MB", default_value_t = snapshot::resident::DEFAULT_BUDGET_BYTES >> 20)]
    pub mapped_memory_mb: u64,
    /// Report uploads processed at once (default: half the cores, at least 1); others wait, then 503.
    #[arg(long, env = "POSTURE_MAX_CONCURRENT_INGEST")]
    pub max_concurrent_ingest: Option<usize>,
    /// On SIGTERM or SIGINT, keep serving this long with `/readyz` answering 503 (so a
    /// load balancer stops sending) before refusing new connections.
    #[arg(long, env = "POSTURE_DRAIN_DELAY", default_value = "0s", value_parser = parse_duration_or_zero)]
    pub drain_delay: std::time::Duration,
    /// Then wait at most this long for responses in flight (a page being streamed) to
    /// complete before exiting.
    #[arg(long, env = "POSTURE_DRAIN_TIMEOUT", default_value = "30s", value_parser = parse_duration_or_zero)]
    pub drain_timeout: std::time::Duration,
    #[command(flatten)]
    pub lead: LeadArgs,
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
        limits.drain_timeout = self.drain_timeout;
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
    /// Where snapshots live: the data directory (default), or object storage shared by
    /// several nodes: `file:///DIR`, `s3://BUCKET/PREFIX` (AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_REGION, optional AWS_ENDPOINT and AWS_ALLOW_HTTP) or
    /// `az://CONTAINER/PREFIX` (AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY,
    /// optional AZURE_ENDPOINT, AZURE_ALLOW_HTTP, AZURE_STORAGE_USE_EMULATOR). With object
    /// storage the data directory holds only a cache (`snapshot-cache/node-N`).
    #[arg(long, env = "POSTURE_SNAPSHOTS", value_name = "URL")]
    pub snapshots: Option<String>,
    /// Size of the local snapshot cache in MiB (object storage only): past it, whole
    /// snapshots no request is reading are evicted, oldest first (the latest always stays).
    #[arg(long, env = "POSTURE_SNAPSHOT_CACHE_MB", default_value_t = 16384)]
    pub snapshot_cache_mb: u64,
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

/// Publishers share one lease on the state store (see `crate::leader`).
#[derive(clap::Args, Debug, Clone)]
pub struct LeadArgs {
    /// While another process holds the publisher lease, try again this often: the
    /// bound on how long a publish waits after its leader died (e.g. 5s).
    #[arg(long, env = "POSTURE_LEAD_RETRY", default_value = "5s", value_parser = agent::parse_duration)]
    pub lead_retry: std::time::Duration,
}

/// Rate limits as `--json-limits` takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitList(pub Vec<identity::Limit>);

/// `30/1m,1000/1h`: each item at most CALLS calls in any WINDOW (`agent::parse_duration`).
fn parse_limits(s: &str) -> Result<LimitList, String> {
    let limits = s
        .split(',')
        .map(|item| {
            let (calls, window) = item.trim().split_once('/').ok_or_else(|| {
                format!("invalid limit {item:?}: expected CALLS/WINDOW, e.g. 30/1m")
            })?;
            let max = calls
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    format!("invalid limit {item:?}: CALLS must be a whole number from 1")
                })?;
            Ok(identity::Limit {
                max,
                window: agent::parse_duration(window)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(LimitList(limits))
}

impl ServeArgs {
    /// The rate limits `--limits`, `--json-limits` and `--file-limits` ask for.
    pub fn rate_limits(&self) -> identity::RateLimitConfig {
        identity::RateLimitConfig {
            enabled: self.limits == Switch::On,
            json: self.json_limits.0.clone(),
            files: self.file_limits.0.clone(),
        }
    }
}

/// A duration as `agent::parse_duration` reads it (`90s`, `5m`, `6h`), or zero (`0`, `0s`).
fn parse_duration_or_zero(s: &str) -> Result<std::time::Duration, String> {
    match s.trim().trim_end_matches(['s', 'm', 'h', 'd']) {
        "0" => Ok(std::time::Duration::ZERO),
        _ => agent::parse_duration(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity::Limit;
    use std::time::Duration;

    #[test]
    fn limits_read_as_calls_per_window() {
        assert_eq!(
            parse_limits("30/1m,1000/1h").unwrap().0,
            [Limit::per_minute(30), Limit::per_hour(1000)]
        );
        assert_eq!(
            parse_limits(" 600 / 90s ").unwrap().0,
            [Limit {
                max: 600,
                window: Duration::from_secs(90)
            }]
        );
        for bad in ["", "30", "0/1m", "-1/1m", "30/", "30/1x", "30/1m,,5/1h"] {
            assert!(parse_limits(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
