//! Blob backends: where published export files live and how their URLs are signed.
//!
//! * `Local` (default): `root/<container>/<YYYY-MM-DD>/<HHMM>/...`, published by one
//!   directory rename, URLs signed with an HMAC key and served by Posture
//!   ([`crate::local`]).
//! * `Azure`: blobs `<YYYY-MM-DD>/<HHMM>/...` in the configured container, native
//!   service SAS URLs (`sv st se sr sp sig`) signed with the account key.
//! * `S3`: keys `<YYYY-MM-DD>/<HHMM>/...` in the configured bucket, native SigV4
//!   presigned URLs.
//!
//! For Azure and S3 the configured container or bucket takes the place of the index's
//! container. The location must be dedicated to one Posture instance:
//! [`BlobBackend::remove_except`] deletes every `YYYY-MM-DD/HHMM/` prefix it is not told
//! to keep (the clean-up of publishes that crashed before their commit point).

use crate::local::{LocalBackend, UrlSigner};
use crate::{ExportError, ExportIndex};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{Attribute, Attributes, ObjectStore};
use serde::{Deserialize, Serialize};
use snapshot::ExportKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A place export files are published to and downloaded from.
pub trait BlobBackend: Send + Sync + std::fmt::Debug {
    /// `local`, `azure` or `s3`.
    fn name(&self) -> &'static str;

    /// Makes every file of `index`, written under `staging/<container>/` by
    /// [`crate::write_exports`], available at its path. Completes only when all are.
    fn publish<'a>(
        &'a self,
        staging: &'a Path,
        index: &'a ExportIndex,
    ) -> BoxFuture<'a, Result<(), ExportError>>;

    /// Signed, expiring download URLs of `kind`'s files, in part order. `now` is the
    /// start of validity for local URLs; Azure and S3 sign with the clock of this host.
    fn signed_urls<'a>(
        &'a self,
        index: &'a ExportIndex,
        kind: ExportKind,
        valid: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<String>, ExportError>>;

    /// Deletes the files of `index` (retention). Files already gone are not an error.
    fn remove<'a>(&'a self, index: &'a ExportIndex) -> BoxFuture<'a, Result<(), ExportError>>;

    /// Deletes every `YYYY-MM-DD/HHMM` prefix of `container` that no index in `keep` has
    /// (left by publishes that never reached their commit point); returns the prefixes
    /// removed.
    fn remove_except<'a>(
        &'a self,
        container: &'a str,
        keep: &'a [ExportIndex],
    ) -> BoxFuture<'a, Result<Vec<String>, ExportError>>;

    /// The route serving downloads, for backends that Posture serves itself (local).
    fn download_router(&self) -> Option<axum::Router> {
        None
    }
}

/// Which backend, from configuration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum BackendConfig {
    Local {
        /// Files live under `root/<container>/`.
        root: PathBuf,
        /// Public URL prefix of downloads, e.g. `http://127.0.0.1:8080/files`.
        base_url: String,
        /// The HMAC key (hex), created with mode 0600 on first use.
        key_file: PathBuf,
    },
    Azure {
        account: String,
        container: String,
        access_key: String,
        /// Blob service URL; for Azurite `http://127.0.0.1:10000/devstoreaccount1`.
        #[serde(default)]
        endpoint: Option<String>,
    },
    S3 {
        bucket: String,
        region: String,
        /// For S3-compatible servers (moto, MinIO): `http://127.0.0.1:5000`.
        #[serde(default)]
        endpoint: Option<String>,
        access_key_id: String,
        secret_access_key: String,
    },
}

impl std::fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendConfig::Local { root, base_url, .. } => f
                .debug_struct("Local")
                .field("root", root)
                .field("base_url", base_url)
                .finish_non_exhaustive(),
            BackendConfig::Azure {
                account,
                container,
                endpoint,
                ..
            } => f
                .debug_struct("Azure")
                .field("account", account)
                .field("container", container)
                .field("endpoint", endpoint)
                .finish_non_exhaustive(),
            BackendConfig::S3 {
                bucket,
                region,
                endpoint,
                ..
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("region", region)
                .field("endpoint", endpoint)
                .finish_non_exhaustive(),
        }
    }
}

impl BackendConfig {
    /// The default: files under `data_dir/exports`, key in `data_dir/export-url.key`,
    /// downloads at `<public_base>/files`.
    pub fn local_default(data_dir: &Path, public_base: &str) -> BackendConfig {
        BackendConfig::Local {
            root: data_dir.join("exports"),
            base_url: format!("{}/files", public_base.trim_end_matches('/')),
            key_file: data_dir.join("export-url.key"),
        }
    }
}

/// Builds the configured backend.
pub fn open_backend(config: &BackendConfig) -> Result<Arc<dyn BlobBackend>, ExportError> {
    Ok(match config {
        BackendConfig::Local {
            root,
            base_url,
            key_file,
        } => Arc::new(LocalBackend::new(
            root,
            base_url,
            UrlSigner::load_or_create(key_file)?,
        )?),
        BackendConfig::Azure {
            account,
            container,
            access_key,
            endpoint,
        } => {
            let mut b = object_store::azure::MicrosoftAzureBuilder::new()
                .with_account(account)
                .with_container_name(container)
                .with_access_key(access_key);
            if let Some(ep) = endpoint {
                b = b
                    .with_endpoint(ep.trim_end_matches('/').to_owned())
                    .with_allow_http(ep.starts_with("http://"));
            }
            let store = Arc::new(b.build().map_err(store_err("azure"))?);
            Arc::new(CloudBackend {
                name: "azure",
                signer: store.clone(),
                store,
                concurrency: 8,
            })
        }
        BackendConfig::S3 {
            bucket,
            region,
            endpoint,
            access_key_id,
            secret_access_key,
        } => {
            let mut b = object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_region(region)
                .with_access_key_id(access_key_id)
                .with_secret_access_key(secret_access_key);
            if let Some(ep) = endpoint {
                b = b
                    .with_endpoint(ep.trim_end_matches('/'))
                    .with_allow_http(ep.starts_with("http://"));
            }
            let store = Arc::new(b.build().map_err(store_err("s3"))?);
            Arc::new(CloudBackend {
                name: "s3",
                signer: store.clone(),
                store,
                concurrency: 8,
            })
        }
    })
}

fn store_err(backend: &'static str) -> impl FnOnce(object_store::Error) -> ExportError {
    move |source| ExportError::Store { backend, source }
}

/// Azure Blob or S3 through `object_store`: uploads with bounded concurrency, native
/// signed URLs.
pub struct CloudBackend {
    name: &'static str,
    store: Arc<dyn ObjectStore>,
    signer: Arc<dyn Signer>,
    concurrency: usize,
}

impl std::fmt::Debug for CloudBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CloudBackend({})", self.store)
    }
}

impl CloudBackend {
    async fn upload(&self, local: PathBuf, key: String) -> Result<(), ExportError> {
        let mut attrs = Attributes::new();
        attrs.insert(Attribute::ContentType, "application/gzip".into());
        snapshot::remote::upload_file(
            &self.store,
            &local,
            &ObjectPath::from(key.as_str()),
            Some(attrs),
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            snapshot::remote::UploadError::Io { path, source } => ExportError::Io { path, source },
            snapshot::remote::UploadError::Store(source) => store_err(self.name)(source),
        })
    }

    async fn delete_all(&self, keys: Vec<ObjectPath>) -> Result<(), ExportError> {
        let results: Vec<_> = self
            .store
            .delete_stream(futures_util::stream::iter(keys.into_iter().map(Ok)).boxed())
            .collect()
            .await;
        for r in results {
            match r {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(store_err(self.name)(source)),
            }
        }
        Ok(())
    }
}

impl BlobBackend for CloudBackend {
    fn name(&self) -> &'static str {
        self.name
    }

    fn publish<'a>(
        &'a self,
        staging: &'a Path,
        index: &'a ExportIndex,
    ) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move {
            let base = staging.join(&index.container);
            let jobs: Vec<(PathBuf, String)> = index
                .all_files()
                .map(|f| (base.join(&f.path), f.path.clone()))
                .collect();
            futures_util::stream::iter(jobs)
                .map(|(local, key)| self.upload(local, key))
                .buffer_unordered(self.concurrency)
                .try_collect::<()>()
                .await
        })
    }

    fn signed_urls<'a>(
        &'a self,
        index: &'a ExportIndex,
        kind: ExportKind,
        valid: Duration,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<String>, ExportError>> {
        Box::pin(async move {
            let paths: Vec<ObjectPath> = index
                .files(kind)
                .iter()
                .map(|f| ObjectPath::from(f.path.as_str()))
                .collect();
            let urls = self
                .signer
                .signed_urls(http::Method::GET, &paths, valid)
                .await
                .map_err(store_err(self.name))?;
            Ok(urls.into_iter().map(String::from).collect())
        })
    }

    fn remove<'a>(&'a self, index: &'a ExportIndex) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move {
            let keys = index
                .all_files()
                .map(|f| ObjectPath::from(f.path.as_str()))
                .collect();
            self.delete_all(keys).await
        })
    }

    fn remove_except<'a>(
        &'a self,
        _container: &'a str,
        keep: &'a [ExportIndex],
    ) -> BoxFuture<'a, Result<Vec<String>, ExportError>> {
        Box::pin(async move {
            let mut removed = Vec::new();
            let dates = self
                .store
                .list_with_delimiter(None)
                .await
                .map_err(store_err(self.name))?;
            for date in dates.common_prefixes {
                let times = self
                    .store
                    .list_with_delimiter(Some(&date))
                    .await
                    .map_err(store_err(self.name))?;
                for time in times.common_prefixes {
                    let prefix = time.to_string();
                    if crate::writer::prefix_of(&format!("{prefix}/")).is_err()
                        || keep.iter().any(|k| k.prefix == prefix)
                    {
                        continue;
                    }
                    let keys: Vec<ObjectPath> = self
                        .store
                        .list(Some(&time))
                        .map_ok(|m| m.location)
                        .try_collect()
                        .await
                        .map_err(store_err(self.name))?;
                    self.delete_all(keys).await?;
                    removed.push(prefix);
                }
            }
            Ok(removed)
        })
    }
}
