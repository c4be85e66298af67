//! `posture`: the command-line entry point: the top-level arguments, logging, and dispatch
//! to one module per subcommand (`cmd`). Each subcommand is a thin layer over the library
//! crates; `node` assembles the server for `serve` and `demo`. See ARCHITECTURE.md.

// mimalloc: publishing and ingesting allocate and free millions of small strings per
// batch; glibc malloc spent a fifth of publish time in malloc/free/consolidate.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod args;
mod cmd;
mod datadir;
mod leader;
mod logging;
mod node;
mod output;

use anyhow::Result;
use args::{FleetArgs, PublishArgs, ServeArgs};
use clap::{Parser, Subcommand};
use cmd::apps::AppCommand;
use cmd::ingest_keys::IngestKeyCommand;
use cmd::kb::KbCommand;
use cmd::keys::KeyCommand;
use cmd::users::UserCommand;
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
    /// State store: a `postgres://user:password@host:port/database` URL, or `sqlite`
    /// (the default: `<data-dir>/state.db`). With PostgreSQL the identity registry
    /// (applications, users, signing keys) and the rate-limit windows live there too;
    /// snapshots stay in the data directory unless `--snapshots` names object storage.
    #[arg(long, global = true, env = "POSTURE_STORE", hide_env_values = true)]
    pub store: Option<String>,
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
    /// Assess every device and publish a new snapshot (once, or with --schedule for ever),
    /// as the one publisher among the processes sharing the state store.
    Publish {
        #[command(flatten)]
        publish: PublishArgs,
        #[command(flatten)]
        when: cmd::publish::ScheduleArgs,
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
    Bench(cmd::bench::BenchArgs),
    /// Measure report ingestion through the HTTP API at scale (see README, "Benchmarks").
    BenchIngest(cmd::bench::IngestBenchArgs),
    /// Measure the knowledge base at NVD's size: import, publish against it and against
    /// the demo KB, an incremental sync (see README, "Benchmarks").
    BenchKb(cmd::bench::KbBenchArgs),
    /// Measure stateless nodes over a shared PostgreSQL and object storage against a
    /// local-directory node (see README, "Several nodes").
    BenchNodes(cmd::bench::NodesBenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log, cli.log_json);
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the parsed command.
fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    let data_dir = &datadir::Location {
        path: cli.data_dir,
        store: cli.store,
    };
    match cli.command {
        Command::Demo {
            fleet,
            serve,
            publish,
        } => cmd::demo::run(data_dir, &fleet, &serve, &publish, json),
        Command::Serve { serve, publish } => cmd::serve::run(data_dir, &serve, &publish),
        Command::Seed { fleet, no_kb } => cmd::seed::run(data_dir, &fleet, no_kb, json),
        Command::Publish { publish, when } => cmd::publish::run(data_dir, &publish, &when, json),
        Command::Kb { command } => cmd::kb::run(data_dir, command, json),
        Command::Snapshots => cmd::snapshots::run(data_dir, json),
        Command::Advance { hours, publish } => cmd::advance::run(data_dir, hours, &publish, json),
        Command::Coverage { device } => cmd::coverage::run(data_dir, device, json),
        Command::Agent(args) => agent::run(&args),
        Command::Apps { command } => cmd::apps::run(data_dir, command, json),
        Command::Users { command } => cmd::users::run(data_dir, command, json),
        Command::Keys { command } => cmd::keys::run(data_dir, command, json),
        Command::IngestKeys { command } => cmd::ingest_keys::run(data_dir, command, json),
        Command::Bench(args) => cmd::bench::run(data_dir, &args, json),
        Command::BenchIngest(args) => cmd::bench::run_ingest(data_dir, &args, json),
        Command::BenchKb(args) => cmd::bench::run_kb(data_dir, &args, json),
        Command::BenchNodes(args) => cmd::bench::run_nodes(data_dir, &args, json),
    }
}
