//! `posture ingest-keys`: the credentials agents use for the report API.

use crate::datadir::{DataDir, Location};
use crate::output::print;
use anyhow::Result;
use clap::Subcommand;

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

pub fn run(data_dir: &Location, command: IngestKeyCommand, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
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
