//! `posture apps`: API applications (OAuth2 client credentials), their roles and groups.

use crate::datadir::{DataDir, Location};
use crate::output::print;
use anyhow::Result;
use clap::Subcommand;

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

pub fn run(data_dir: &Location, command: AppCommand, json: bool) -> Result<()> {
    apps(&DataDir::open(data_dir)?, command, json)
}

fn apps(dir: &DataDir, command: AppCommand, json: bool) -> Result<()> {
    let id = super::cli_identity(dir)?;
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
