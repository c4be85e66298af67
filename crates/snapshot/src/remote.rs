//! Snapshots in object storage: `--snapshots file:///DIR | s3://BUCKET/PREFIX |
//! az://CONTAINER/PREFIX` (through `object_store`).
//!
//! A publisher builds a snapshot in its local cache as always, then uploads the
//! directory to `<prefix>/snapshots/<dir>/` (and its change log to
//! `<prefix>/changes/<dir>/`) with the completion marker (`manifest.json`,
//! `meta.json`) last, and only then registers it in the state store, the commit point.
//! A serving node fetches what its cache lacks: whole files, large ones as parallel
//! range reads. Nothing in the bucket is ever modified; it is only added and deleted.
//!
//! Credentials and endpoints come from the environment as `object_store` reads them:
//! S3 `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`,
//! `AWS_ALLOW_HTTP`; Azure `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`,
//! `AZURE_STORAGE_USE_EMULATOR` (with `AZURITE_BLOB_STORAGE_URL`), `AZURE_ENDPOINT`,
//! `AZURE_ALLOW_HTTP`.

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("bad snapshot store URL `{url}`: {reason}")]
    Url { url: String, reason: String },
    #[error("snapshot store {url}: {source}")]
    Store {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("snapshot store {url}: `{dir}` has no objects")]
    Missing { url: String, dir: String },
    #[error("snapshot store {url} did not answer within {after:?}")]
    Timeout {
        url: String,
        after: std::time::Duration,
    },
    #[error("snapshot store work panicked")]
    Panicked,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RemoteError + '_ {
    move |source| RemoteError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Objects up to this size are fetched with one GET; larger ones as parallel ranges.
const RANGE_BYTES: u64 = 16 << 20;
/// Concurrent requests of one upload or fetch.
const CONCURRENCY: usize = 8;

/// Counters of this process's snapshot cache, read by `/metrics`.
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub fetched_bytes: AtomicU64,
    pub fetched_snapshots: AtomicU64,
    pub evictions: AtomicU64,
    pub uploaded_bytes: AtomicU64,
}

static STATS: CacheStats = CacheStats {
    hits: AtomicU64::new(0),
    misses: AtomicU64::new(0),
    fetched_bytes: AtomicU64::new(0),
    fetched_snapshots: AtomicU64::new(0),
    evictions: AtomicU64::new(0),
    uploaded_bytes: AtomicU64::new(0),
};

pub fn stats() -> &'static CacheStats {
    &STATS
}

/// Where snapshots live in object storage.
pub struct ObjectSnapshots {
    url: String,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// The directory of a `file://` store: deleting its objects leaves their directories,
    /// which listing would still show, so they are removed too.
    local_root: Option<PathBuf>,
    /// Runs the object store's futures; owned so callers need no runtime (the CLI has
    /// none, `serve` calls from blocking threads and async handlers alike).
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for ObjectSnapshots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectSnapshots({})", self.url)
    }
}

impl Drop for ObjectSnapshots {
    fn drop(&mut self) {
        // Dropping a runtime inside async code panics; shutting it down in the background does not.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Splits `scheme://first/rest...` into (scheme, first, rest).
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (first, rest) = rest.split_once('/').unwrap_or((rest, ""));
    Some((scheme, first, rest.trim_matches('/')))
}

impl ObjectSnapshots {
    pub fn open(url: &str) -> Result<ObjectSnapshots, RemoteError> {
        let bad = |reason: &str| RemoteError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let store_err = |source| RemoteError::Store {
            url: url.to_owned(),
            source,
        };
        let (scheme, first, rest) = split_url(url).ok_or_else(|| {
            bad("expected file:///DIR, s3://BUCKET/PREFIX or az://CONTAINER/PREFIX")
        })?;
        let mut local_root = None;
        let (store, prefix): (Arc<dyn ObjectStore>, &str) = match scheme {
            "file" => {
                // file:///abs/dir: `first` is empty and `rest` the path without its leading slash.
                if !first.is_empty() {
                    return Err(bad("a file URL names an absolute directory: file:///DIR"));
                }
                let dir = PathBuf::from(format!("/{rest}"));
                std::fs::create_dir_all(&dir).map_err(io(&dir))?;
                local_root = Some(dir.clone());
                (
                    Arc::new(
                        object_store::local::LocalFileSystem::new_with_prefix(&dir)
                            .map_err(store_err)?,
                    ),
                    "",
                )
            }
            "s3" => {
                if first.is_empty() {
                    return Err(bad("no bucket: s3://BUCKET/PREFIX"));
                }
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(first)
                    .build()
                    .map_err(store_err)?;
                (Arc::new(store), rest)
            }
            "az" | "azure" => {
                if first.is_empty() {
                    return Err(bad("no container: az://CONTAINER/PREFIX"));
                }
                let store = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(first)
                    .build()
                    .map_err(store_err)?;
                (Arc::new(store), rest)
            }
            other => return Err(bad(&format!("unknown scheme `{other}`"))),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("snapshot-io")
            .enable_all()
            .build()
            .map_err(io(Path::new("tokio runtime")))?;
        Ok(ObjectSnapshots {
            url: url.to_owned(),
            store,
            prefix: ObjectPath::from(prefix),
            local_root,
            runtime: Some(runtime),
        })
    }

    /// The URL it was opened with (no secrets: credentials come from the environment).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn key(&self, dir: &str) -> ObjectPath {
        key_under(&self.prefix, dir)
    }

    fn store_err(&self) -> impl FnOnce(object_store::Error) -> RemoteError + '_ {
        move |source| RemoteError::Store {
            url: self.url.clone(),
            source,
        }
    }

    /// Runs `work` to completion on the store's runtime, from any thread (a scoped thread
    /// blocks on it, so calling from async code does not block a runtime inside a runtime).
    fn run<T: Send>(
        &self,
        work: impl std::future::Future<Output = Result<T, RemoteError>> + Send,
    ) -> Result<T, RemoteError> {
        let handle = self
            .runtime
            .as_ref()
            .map(|r| r.handle().clone())
            .ok_or(RemoteError::Panicked)?;
        std::thread::scope(|scope| {
            scope
                .spawn(move || handle.block_on(work))
                .join()
                .map_err(|_| RemoteError::Panicked)?
        })
    }

    /// Uploads every file under `local` to `<prefix>/<dir>/`, the file named `last`
    /// (the completion marker) after all others. Returns the bytes uploaded.
    pub fn upload_dir(&self, local: &Path, dir: &str, last: &str) -> Result<u64, RemoteError> {
        let mut files = Vec::new();
        list_files(local, local, &mut files)?;
        let (marker, others): (Vec<_>, Vec<_>) = files.into_iter().partition(|r| r == last);
        let base = self.key(dir);
        let upload = |rel: String| {
            let key = key_under(&base, &rel);
            let path = local.join(&rel);
            async move {
                upload_file(&self.store, &path, &key, None)
                    .await
                    .map_err(|e| e.into_remote(&self.url))
            }
        };
        self.run(async {
            let sizes: Vec<u64> = futures_util::stream::iter(others.into_iter().map(upload))
                .buffer_unordered(CONCURRENCY)
                .try_collect()
                .await?;
            let mut total: u64 = sizes.iter().sum();
            for rel in marker {
                total += upload(rel).await?;
            }
            STATS.uploaded_bytes.fetch_add(total, Ordering::Relaxed);
            Ok(total)
        })
    }

    /// The objects under `base` (the key of `dir`); none is an error naming `dir`.
    async fn objects_under(
        &self,
        base: &ObjectPath,
        dir: &str,
    ) -> Result<Vec<object_store::ObjectMeta>, RemoteError> {
        let objects: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(base))
            .try_collect()
            .await
            .map_err(self.store_err())?;
        if objects.is_empty() {
            return Err(RemoteError::Missing {
                url: self.url.clone(),
                dir: dir.to_owned(),
            });
        }
        Ok(objects)
    }

    /// Fetches `<prefix>/<dir>/` into `local` (which must not exist): into a temporary
    /// sibling first, renamed into place when complete. Returns the bytes fetched.
    pub fn fetch_dir(&self, dir: &str, local: &Path) -> Result<u64, RemoteError> {
        let base = self.key(dir);
        let parent = local.parent().unwrap_or(Path::new("."));
        let tmp = parent.join(format!(".fetch-{}", uuid::Uuid::new_v4()));
        let result = self.run(async {
            let objects = self.objects_under(&base, dir).await?;
            // Every file created at its full length first, so ranges can be written in any order.
            let mut jobs = Vec::new();
            for meta in &objects {
                let path = tmp.join(relative(&base, &meta.location).unwrap_or_default());
                if let Some(p) = path.parent() {
                    std::fs::create_dir_all(p).map_err(io(p))?;
                }
                let file = std::fs::File::create(&path).map_err(io(&path))?;
                file.set_len(meta.size).map_err(io(&path))?;
                let file = Arc::new(file);
                let mut at = 0;
                while at < meta.size {
                    let end = (at + RANGE_BYTES).min(meta.size);
                    jobs.push((meta.location.clone(), at..end, file.clone(), path.clone()));
                    at = end;
                }
            }
            let fetched: Vec<u64> = futures_util::stream::iter(jobs.into_iter().map(
                |(key, range, file, path)| async move {
                    let bytes = self
                        .store
                        .get_range(&key, range.clone())
                        .await
                        .map_err(self.store_err())?;
                    let n = bytes.len() as u64;
                    tokio::task::spawn_blocking(move || {
                        use std::os::unix::fs::FileExt;
                        file.write_all_at(&bytes, range.start).map_err(io(&path))
                    })
                    .await
                    .map_err(|_| RemoteError::Panicked)??;
                    STATS.fetched_bytes.fetch_add(n, Ordering::Relaxed);
                    Ok::<u64, RemoteError>(n)
                },
            ))
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
            Ok(fetched.iter().sum())
        });
        let finish = result.and_then(|bytes| {
            sync_tree(&tmp)?;
            std::fs::rename(&tmp, local).map_err(io(local))?;
            crate::format::sync_dir(parent).map_err(|e| RemoteError::Io {
                path: e.path,
                source: e.source,
            })?;
            Ok(bytes)
        });
        if finish.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        } else {
            STATS.fetched_snapshots.fetch_add(1, Ordering::Relaxed);
        }
        finish
    }

    /// Prepares `local` to serve `<prefix>/<dir>/` lazily ([`crate::lazy`]): small files
    /// and the JSON ones (read whole at open) are fetched now, every other file is
    /// created sparse at its length. Returns the source of the missing ranges.
    pub fn prepare_lazy(
        self: &Arc<Self>,
        dir: &str,
        local: &Path,
    ) -> Result<(Arc<dyn crate::lazy::RangeSource>, Vec<PathBuf>), RemoteError> {
        let base = self.key(dir);
        let mut sparse = Vec::new();
        if local.exists() {
            std::fs::remove_dir_all(local).map_err(io(local))?;
        }
        std::fs::create_dir_all(local).map_err(io(local))?;
        let sparse_files = &mut sparse;
        self.run(async {
            let objects = self.objects_under(&base, dir).await?;
            let mut whole = Vec::new();
            for meta in &objects {
                let Some(rel) = relative(&base, &meta.location) else {
                    continue;
                };
                let path = local.join(&rel);
                // Mapped files, and the large files only some readers read whole
                // (`Snapshot::read_file`), arrive piece by piece.
                let mapped = [".rows", ".frag", ".fidx", ".by_finding"]
                    .iter()
                    .any(|ext| rel.ends_with(ext))
                    || crate::lazy::READ_WHOLE_LATER.contains(&rel.as_str());
                if mapped && meta.size > crate::lazy::CHUNK {
                    let file = std::fs::File::create(&path).map_err(io(&path))?;
                    file.set_len(meta.size).map_err(io(&path))?;
                    sparse_files.push(path);
                } else {
                    whole.push((meta.location.clone(), path));
                }
            }
            futures_util::stream::iter(whole.into_iter().map(|(key, path)| async move {
                let bytes = self
                    .store
                    .get(&key)
                    .await
                    .map_err(self.store_err())?
                    .bytes()
                    .await
                    .map_err(self.store_err())?;
                STATS
                    .fetched_bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                tokio::fs::write(&path, &bytes).await.map_err(io(&path))
            }))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
            Ok(())
        })?;
        Ok((
            Arc::new(DirSource {
                objects: self.clone(),
                base,
            }),
            sparse,
        ))
    }

    /// Whether the store answers: one listing of the snapshots' prefix, bounded by
    /// `timeout` (readiness checks must not hang on an unreachable store).
    pub fn ping(&self, timeout: std::time::Duration) -> Result<(), RemoteError> {
        let base = self.key("snapshots");
        self.run(async {
            match tokio::time::timeout(timeout, self.store.list_with_delimiter(Some(&base))).await {
                Ok(listed) => listed.map(|_| ()).map_err(self.store_err()),
                Err(_) => Err(RemoteError::Timeout {
                    url: self.url.clone(),
                    after: timeout,
                }),
            }
        })
    }

    /// The directories directly under `<prefix>/<under>/`.
    pub fn list_dirs(&self, under: &str) -> Result<Vec<String>, RemoteError> {
        let base = self.key(under);
        self.run(async {
            let listed = self
                .store
                .list_with_delimiter(Some(&base))
                .await
                .map_err(self.store_err())?;
            Ok(listed
                .common_prefixes
                .iter()
                .filter_map(|p| p.filename().map(str::to_owned))
                .collect())
        })
    }

    /// Deletes every object under `<prefix>/<dir>/`.
    pub fn delete_dir(&self, dir: &str) -> Result<(), RemoteError> {
        let base = self.key(dir);
        self.run(async {
            let keys = self.store.list(Some(&base)).map_ok(|m| m.location).boxed();
            let results: Vec<_> = self.store.delete_stream(keys).collect().await;
            for r in results {
                match r {
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(source) => {
                        return Err(RemoteError::Store {
                            url: self.url.clone(),
                            source,
                        });
                    }
                }
            }
            Ok(())
        })?;
        if let Some(root) = &self.local_root {
            let dir = base
                .parts()
                .fold(root.clone(), |p, part| p.join(part.as_ref()));
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&dir)(e)),
            }
        }
        Ok(())
    }
}

/// The missing ranges of one lazily served snapshot directory.
struct DirSource {
    objects: Arc<ObjectSnapshots>,
    base: ObjectPath,
}

impl crate::lazy::RangeSource for DirSource {
    fn fetch(&self, name: &str, ranges: &[std::ops::Range<u64>]) -> Result<Vec<Vec<u8>>, String> {
        let key = self.base.clone().join(name);
        let objects = &self.objects;
        objects
            .run(async {
                let got = objects
                    .store
                    .get_ranges(&key, ranges)
                    .await
                    .map_err(objects.store_err())?;
                let n: u64 = got.iter().map(|b| b.len() as u64).sum();
                STATS.fetched_bytes.fetch_add(n, Ordering::Relaxed);
                Ok(got.into_iter().map(|b| b.to_vec()).collect())
            })
            .map_err(|e| e.to_string())
    }
}

/// `base` followed by the `/`-separated parts of `rel`.
fn key_under(base: &ObjectPath, rel: &str) -> ObjectPath {
    rel.split('/')
        .filter(|p| !p.is_empty())
        .fold(base.clone(), |k, part| k.join(part))
}

/// The part of `location` under `base`, `/`-separated (the local relative path).
fn relative(base: &ObjectPath, location: &ObjectPath) -> Option<String> {
    let parts: Vec<String> = location
        .prefix_match(base)?
        .map(|p| p.as_ref().to_owned())
        .collect();
    Some(parts.join("/"))
}

/// Every regular file under `dir`, as `/`-separated paths relative to `root`.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), RemoteError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            list_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
    }
    Ok(())
}

/// Fsyncs every file and directory under `dir`.
fn sync_tree(dir: &Path) -> Result<(), RemoteError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io(&path))?;
        }
    }
    crate::format::sync_dir(dir).map_err(|e| RemoteError::Io {
        path: e.path,
        source: e.source,
    })
}

/// Why an upload failed: the local file or the store.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] object_store::Error),
}

impl UploadError {
    fn into_remote(self, url: &str) -> RemoteError {
        match self {
            UploadError::Io { path, source } => RemoteError::Io { path, source },
            UploadError::Store(source) => RemoteError::Store {
                url: url.to_owned(),
                source,
            },
        }
    }
}

/// Bytes read from a local file per part of an upload.
const UPLOAD_CHUNK: usize = 8 << 20;

/// Uploads one local file to `key` (multipart past one chunk), with `attributes` (a
/// content type, say). The one upload path of snapshots and export files. Returns the
/// bytes uploaded.
pub async fn upload_file(
    store: &Arc<dyn ObjectStore>,
    local: &Path,
    key: &ObjectPath,
    attributes: Option<object_store::Attributes>,
) -> Result<u64, UploadError> {
    use tokio::io::AsyncReadExt;
    let ioe = |source| UploadError::Io {
        path: local.to_owned(),
        source,
    };
    let mut file = tokio::fs::File::open(local).await.map_err(ioe)?;
    let len = file.metadata().await.map_err(ioe)?.len();
    if len <= UPLOAD_CHUNK as u64 {
        let mut buf = Vec::with_capacity(len as usize);
        file.read_to_end(&mut buf).await.map_err(ioe)?;
        let mut opts = object_store::PutOptions::default();
        if let Some(a) = attributes {
            opts.attributes = a;
        }
        store.put_opts(key, PutPayload::from(buf), opts).await?;
        return Ok(len);
    }
    let mut w =
        object_store::buffered::BufWriter::with_capacity(store.clone(), key.clone(), UPLOAD_CHUNK);
    if let Some(a) = attributes {
        w = w.with_attributes(a);
    }
    loop {
        let mut buf = Vec::with_capacity(UPLOAD_CHUNK);
        let n = (&mut file)
            .take(UPLOAD_CHUNK as u64)
            .read_to_end(&mut buf)
            .await
            .map_err(ioe)?;
        if n == 0 {
            break;
        }
        if let Err(source) = w.put(buf.into()).await {
            let _ = w.abort().await;
            return Err(source.into());
        }
    }
    tokio::io::AsyncWriteExt::shutdown(&mut w)
        .await
        .map_err(ioe)?;
    Ok(len)
}
