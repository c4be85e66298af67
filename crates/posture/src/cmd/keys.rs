//! `posture keys`: the token signing keys.

use crate::datadir::{DataDir, Location};
use crate::output::print;
use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Start signing with a new key; the old one keeps verifying until its tokens expire.
    Rotate,
    List,
}

pub fn run(data_dir: &Location, command: KeyCommand, json: bool) -> Result<()> {
    keys(&DataDir::open(data_dir)?, command, json)
}

fn keys(dir: &DataDir, command: KeyCommand, json: bool) -> Result<()> {
    let id = super::cli_identity(dir)?;
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
