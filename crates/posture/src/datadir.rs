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
    /// The PostgreSQL state store's URL (`--store postgres://...`), where the identity
    /// registry and the rate-limit windows live too; `None` for the directory's SQLite.
    pub store_url: Option<String>,
    /// The tenant id, read from the identity registry once (every publish names it in
    /// the export files' paths) and shared by the clones.
    tenant: Arc<std::sync::OnceLock<String>>,
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
        let store_url = match &store {
            StoreLocation::Postgres(url) => Some(url.clone()),
            StoreLocation::Sqlite(_) => None,
        };
        Ok(DataDir {
            path: path.to_owned(),
            store: opened,
            store_url,
            tenant: Arc::default(),
        })
    }

    /// The tenant id of this data directory's identity registry (opened on first use).
    pub fn tenant_id(&self, public_base: &str) -> Result<String> {
        if let Some(t) = self.tenant.get() {
            return Ok(t.clone());
        }
        let tenant = open_identity(self, identity::IdentityConfig::new(public_base))?
            .tenant_id()
            .to_owned();
        Ok(self.tenant.get_or_init(|| tenant).clone())
    }

    pub fn snapshots(&self, retain: usize) -> Result<Snapshots> {
        Snapshots::open(&self.path, self.store.clone(), retain).context("cannot open snapshots")
    }

    pub fn feeds_dir(&self) -> PathBuf {
        self.path.join("feeds")
    }
}

/// The identity provider of `dir` (tenant id, applications, users, signing keys): in the
/// PostgreSQL state store's database with `--store postgres://...`, so every node
/// serving from it shares them; else `identity.db` in the data directory.
pub fn open_identity(
    dir: &DataDir,
    config: identity::IdentityConfig,
) -> Result<identity::Identity> {
    let location = match &dir.store_url {
        Some(url) => identity::RegistryLocation::Postgres(url.clone()),
        None => identity::RegistryLocation::Sqlite(dir.path.clone()),
    };
    // A PostgreSQL error names the server without the URL's password.
    identity::Identity::open_at(&location, config).context("cannot open the identity store")
}

/// The API's rate limiter with `config`: kept in the PostgreSQL state store's database
/// with `--store postgres://...` (the limits hold across every node), else in memory.
pub fn rate_limiter(
    dir: &DataDir,
    config: identity::RateLimitConfig,
) -> Result<Option<Arc<dyn access::RateLimiter>>> {
    match &dir.store_url {
        Some(url) => config
            .shared_limiter(url)
            .context("cannot open the shared rate limits"),
        None => Ok(config.limiter()),
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
    let tenant = dir.tenant_id(public_base)?;
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
    let snapshots = match &p.snapshots {
        None => dir.snapshots(p.retain)?,
        Some(url) => {
            let objects = snapshot::ObjectSnapshots::open(url).context("bad --snapshots")?;
            Snapshots::open_remote(
                &dir.path.join("snapshot-cache"),
                dir.store.clone(),
                p.retain,
                Arc::new(objects),
                p.snapshot_cache_mb << 20,
            )
            .with_context(|| format!("cannot open the snapshots in {url}"))?
        }
    };
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
