//! One module per subcommand: its own arguments (where it has any beyond the shared
//! groups in `crate::args`) and a `run` function. Each prints a short human summary, or
//! one JSON document with `--json`.

pub mod advance;
pub mod apps;
pub mod bench;
pub mod coverage;
pub mod demo;
pub mod ingest_keys;
pub mod kb;
pub mod keys;
pub mod publish;
pub mod seed;
pub mod serve;
pub mod snapshots;
pub mod users;

use crate::datadir::DataDir;
use anyhow::Result;

/// The identity provider for CLI commands: authorities are printed for the server's
/// public base URL (`POSTURE_BASE_URL`, default `http://127.0.0.1:8080`).
fn cli_identity(dir: &DataDir) -> Result<identity::Identity> {
    let base = std::env::var("POSTURE_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    crate::datadir::open_identity(dir, identity::IdentityConfig::new(base))
}
