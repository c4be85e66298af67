//! `posture demo`: seed a synthetic fleet if the data directory is empty, publish, and
//! serve with a ready-made application whose token is printed.

use crate::args::{FleetArgs, PublishArgs, ServeArgs};
use crate::cmd::publish::{publish, publish_summary};
use crate::cmd::seed::seed;
use crate::datadir::DataDir;
use anyhow::Result;

pub fn run(
    data_dir: &crate::datadir::Location,
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
            data_dir.path.display()
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
    crate::node::serve(&dir, s, p, true)
}

/// A demo application with every read role; a restarted demo rotates its secret so the
/// printed credentials always work.
pub(crate) fn demo_app(id: &identity::Identity) -> Result<identity::CreatedApp> {
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
const DEMO_CONSOLE_USER: &str = "console-demo";

/// A console user seeing every group, with a fresh random password on every start
/// (the user is re-created), for `demo` to print.
pub(crate) fn demo_console_user(id: &identity::Identity) -> Result<(String, String)> {
    if id.list_users()?.iter().any(|u| u.name == DEMO_CONSOLE_USER) {
        id.delete_user(DEMO_CONSOLE_USER)?;
    }
    let bytes: [u8; 12] = rand::random();
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    id.create_user(
        DEMO_CONSOLE_USER,
        &password,
        &["Vulnerability.Read", "Software.Read", "Machine.Read"],
        None,
    )?;
    Ok((DEMO_CONSOLE_USER.to_owned(), password))
}

/// Fetches a token for the demo application from the running server and prints it
/// with a ready-to-paste call.
pub(crate) async fn print_demo_token(
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
