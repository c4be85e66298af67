//! `posture users`: users for delegated (password grant) tokens.

use crate::datadir::{DataDir, Location};
use crate::output::print;
use anyhow::{Context, Result};
use clap::Subcommand;

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

pub fn run(data_dir: &Location, command: UserCommand, json: bool) -> Result<()> {
    users(&DataDir::open(data_dir)?, command, json)
}

fn users(dir: &DataDir, command: UserCommand, json: bool) -> Result<()> {
    let id = super::cli_identity(dir)?;
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
