//! The data directory (`state.db`, the SQLite state store by default; `snapshots/`,
//! exports, identity files) and the state store it is opened with (`--store`).

use anyhow::{Context, Result};
use snapshot::Snapshots;
use std::path::PathBuf;
use std::sync::Arc;
use store::{StateStore, StoreLocation};

/// Where a command keeps its data: the data directory, and the state store when it is
/// not the directory's own SQLite file (`--store postgres://...`).
#[derive(Clone, Debug)]
pub struct Location {
    pub path: PathBuf,
    pub store: Option<String>,
}

#[derive(Clone)]
pub struct DataDir {
    pub path: PathBuf,
    pub store: Arc<dyn StateStore>,
}

impl DataDir {
    pub fn open(location: &Location) -> Result<DataDir> {
        let path = &location.path;
        std::fs::create_dir_all(path)
            .with_context(|| format!("cannot create data directory {}", path.display()))?;
        // Absolute from here on: relative paths break as soon as a component asks for a parent.
        let path = &std::fs::canonicalize(path)
            .with_context(|| format!("cannot resolve data directory {}", path.display()))?;
        let store = StoreLocation::parse(location.store.as_deref(), &path.join("state.db"))
            .context("bad --store")?;
        // A PostgreSQL error names the (redacted) URL itself.
        let opened = store.open().with_context(|| match &store {
            StoreLocation::Sqlite(db) => format!("cannot open state store {}", db.display()),
            StoreLocation::Postgres(_) => "cannot open the state store".to_owned(),
        })?;
        Ok(DataDir {
            path: path.to_owned(),
            store: opened,
        })
    }

    pub fn snapshots(&self, retain: usize) -> Result<Snapshots> {
        Snapshots::open(&self.path, self.store.clone(), retain).context("cannot open snapshots")
    }

    pub fn feeds_dir(&self) -> PathBuf {
        self.path.join("feeds")
    }
}

/// The export backend a publish writes to and a server signs URLs for.
pub fn export_backend(
    dir: &DataDir,
    p: &crate::args::PublishArgs,
    public_base: &str,
) -> Result<Option<(Arc<dyn export::BlobBackend>, export::ExportOptions)>> {
    if p.exports == crate::args::Switch::Off {
        return Ok(None);
    }
    let env = |k: &str| {
        std::env::var(k).with_context(|| {
            format!(
                "{k} is required for the {:?} export backend",
                p.export_backend
            )
        })
    };
    let config = match p.export_backend {
        crate::args::ExportBackend::Local => {
            export::BackendConfig::local_default(&dir.path, public_base)
        }
        crate::args::ExportBackend::Azure => export::BackendConfig::Azure {
            account: env("POSTURE_AZURE_ACCOUNT")?,
            container: env("POSTURE_AZURE_CONTAINER")?,
            access_key: env("POSTURE_AZURE_ACCESS_KEY")?,
            endpoint: std::env::var("POSTURE_AZURE_ENDPOINT").ok(),
        },
        crate::args::ExportBackend::S3 => export::BackendConfig::S3 {
            bucket: env("POSTURE_S3_BUCKET")?,
            region: env("POSTURE_S3_REGION")?,
            endpoint: std::env::var("POSTURE_S3_ENDPOINT").ok(),
            access_key_id: env("AWS_ACCESS_KEY_ID")?,
            secret_access_key: env("AWS_SECRET_ACCESS_KEY")?,
        },
    };
    let backend = export::open_backend(&config).context("cannot open the export backend")?;
    // OrgId= in file paths is the tenant of this data directory.
    let tenant = identity::Identity::open(&dir.path, identity::IdentityConfig::new(public_base))
        .context("cannot open the identity store")?
        .tenant_id()
        .to_owned();
    let mut options = export::ExportOptions::new(tenant);
    options.level = p.export_level;
    Ok(Some((backend, options)))
}

/// The snapshots of `dir`, with the exports attached to their lifecycle when enabled.
pub fn open_snapshots(
    dir: &DataDir,
    p: &crate::args::PublishArgs,
    public_base: &str,
) -> Result<(Snapshots, Option<Arc<dyn export::BlobBackend>>)> {
    let snapshots = dir.snapshots(p.retain)?;
    let backend = match export_backend(dir, p, public_base)? {
        None => None,
        Some((backend, options)) => {
            let hook =
                export::ExportHook::new(backend.clone(), options, dir.path.join("export-staging"))?;
            snapshots
                .set_hook(Arc::new(hook))
                .context("cannot reconcile export files")?;
            Some(backend)
        }
    };
    Ok((snapshots, backend))
}

/// The public base URL for commands that run without a server.
pub fn default_base_url() -> String {
    std::env::var("POSTURE_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into())
}
