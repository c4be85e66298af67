//! HTTPS for `posture serve`/`demo`: a certificate and key from configuration, or a
//! self-signed local CA ([`self_signed`]) whose PEM clients trust
//! (`REQUESTS_CA_BUNDLE=<data_dir>/tls/ca.pem` for MSAL Python / `requests`,
//! `curl --cacert`, ...).
//!
//! Files under `<data_dir>/tls/`: `ca.pem`, `ca.key` (0600), `server.pem` (server
//! certificate then the CA), `server.key` (0600), `server.json` (the names and expiry
//! of the server certificate). The CA is created once and kept, so clients keep
//! trusting it; the server certificate is reissued from it when the names change or
//! it nears expiry.
//!
//! TLS is rustls with the `ring` provider; ALPN offers h2 and http/1.1.

use chrono::{Datelike, Duration as ChronoDuration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The files of a self-signed setup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// Server certificate chain (PEM).
    pub cert_pem: PathBuf,
    /// Server private key (PEM, PKCS#8).
    pub key_pem: PathBuf,
    /// The local CA certificate clients must trust.
    pub ca_pem_path: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct ServerMeta {
    names: Vec<String>,
    not_after: i64,
}

const CA_NAME: &str = "Posture local CA";

/// The CA's parameters. Rebuilt identically on every start: an [`Issuer`] needs
/// only the subject, key usages and key-identifier method, all fixed here.
fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    dn.push(DnType::OrganizationName, "Posture");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p
}

/// The names a certificate for `listen` must carry: the listen IP (or, for an
/// unspecified address, the loopback addresses), `localhost`, and `extra_names`.
pub fn names_for(listen: SocketAddr, extra_names: &[String]) -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    let ip = listen.ip();
    if ip.is_unspecified() {
        names.push(IpAddr::V4(Ipv4Addr::LOCALHOST).to_string());
        names.push(IpAddr::V6(Ipv6Addr::LOCALHOST).to_string());
    } else {
        names.push(ip.to_string());
        if ip.is_loopback() {
            names.push(IpAddr::V4(Ipv4Addr::LOCALHOST).to_string());
        }
    }
    for n in extra_names {
        let n = n.trim().trim_start_matches('[').trim_end_matches(']');
        if !n.is_empty() {
            names.push(n.to_ascii_lowercase());
        }
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp).map_err(io_err(&tmp))?;
        f.write_all(contents.as_bytes()).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn write_public(path: &Path, contents: &str) -> Result<(), TlsError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Creates (first start) or reuses a local CA and a server certificate for
/// `listen` and `extra_names` under `<data_dir>/tls/`.
pub fn self_signed(
    data_dir: &Path,
    listen: SocketAddr,
    extra_names: &[String],
) -> Result<TlsFiles, TlsError> {
    let dir = data_dir.join("tls");
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let files = TlsFiles {
        cert_pem: dir.join("server.pem"),
        key_pem: dir.join("server.key"),
        ca_pem_path: dir.join("ca.pem"),
    };
    let ca_key_path = dir.join("ca.key");
    let meta_path = dir.join("server.json");
    let now = Utc::now();
    let date =
        |t: chrono::DateTime<Utc>| rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8);

    // The CA: created once.
    let (ca_key, ca_pem, ca_new) = if files.ca_pem_path.exists() && ca_key_path.exists() {
        let key_pem = std::fs::read_to_string(&ca_key_path).map_err(io_err(&ca_key_path))?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| TlsError::Pem {
            path: ca_key_path.clone(),
            reason: e.to_string(),
        })?;
        let pem =
            std::fs::read_to_string(&files.ca_pem_path).map_err(io_err(&files.ca_pem_path))?;
        (key, pem, false)
    } else {
        let key = KeyPair::generate()?;
        let mut p = ca_params();
        p.not_before = date(now - ChronoDuration::days(1));
        p.not_after = date(now + ChronoDuration::days(3650));
        p.serial_number = Some(SerialNumber::from_slice(&serial()));
        let cert = p.self_signed(&key)?;
        write_private(&ca_key_path, &key.serialize_pem())?;
        write_public(&files.ca_pem_path, &cert.pem())?;
        (key, cert.pem(), true)
    };

    // The server certificate: reused while it carries the same names and has more
    // than 30 days left.
    let names = names_for(listen, extra_names);
    let wanted_after = now + ChronoDuration::days(30);
    let current: Option<ServerMeta> = std::fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let reusable = !ca_new
        && files.cert_pem.exists()
        && files.key_pem.exists()
        && current
            .as_ref()
            .is_some_and(|m| m.names == names && m.not_after > wanted_after.timestamp());
    if reusable {
        return Ok(files);
    }
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(names.clone())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names.get(1).cloned().unwrap_or_else(|| "localhost".into()),
    );
    dn.push(DnType::OrganizationName, "Posture");
    p.distinguished_name = dn;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.use_authority_key_identifier_extension = true;
    let not_after = now + ChronoDuration::days(397);
    p.not_before = date(now - ChronoDuration::days(1));
    p.not_after = date(not_after);
    p.serial_number = Some(SerialNumber::from_slice(&serial()));
    let issuer = Issuer::new(ca_params(), &ca_key);
    let cert = p.signed_by(&key, &issuer)?;
    write_private(&files.key_pem, &key.serialize_pem())?;
    write_public(&files.cert_pem, &format!("{}{}", cert.pem(), ca_pem))?;
    let meta = ServerMeta {
        names,
        not_after: not_after.timestamp(),
    };
    write_public(
        &meta_path,
        &serde_json::to_string_pretty(&meta).unwrap_or_default(),
    )?;
    Ok(files)
}

fn serial() -> [u8; 16] {
    let mut s = crate::apps::random_bytes::<16>().unwrap_or_else(|_| {
        let t = Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&t.to_be_bytes());
        b
    });
    s[0] &= 0x7f; // positive
    s[0] |= 0x01; // no leading zero byte
    s
}

/// A rustls server configuration from a certificate chain and private key (PEM).
pub fn server_config(cert_pem: &Path, key_pem: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| TlsError::Pem {
            path: cert_pem.to_owned(),
            reason: e.to_string(),
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            path: cert_pem.to_owned(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: cert_pem.to_owned(),
            reason: "no CERTIFICATE block".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| TlsError::Pem {
        path: key_pem.to_owned(),
        reason: e.to_string(),
    })?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// An `axum::serve` listener that terminates TLS. Handshakes run on their own tasks
/// (with a 10 s limit), so a slow or silent client never holds up `accept`.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Must be called inside a Tokio runtime.
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let tls = TlsAcceptor::from(config);
        let acceptor = tokio::spawn(async move {
            loop {
                let (tcp, addr) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let tls = tls.clone();
                let sender = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), tls.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = sender.send((stream, addr)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %addr, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(TlsListener {
            rx,
            local,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The acceptor task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Serves `router` over HTTPS on `listener` until the future is dropped or fails.
pub async fn serve_https(
    listener: TcpListener,
    router: axum::Router,
    config: Arc<ServerConfig>,
) -> io::Result<()> {
    axum::serve(TlsListener::new(listener, config)?, router).await
}

/// [`serve_https`] with graceful shutdown when `signal` completes.
pub async fn serve_https_with_shutdown<F>(
    listener: TcpListener,
    router: axum::Router,
    config: Arc<ServerConfig>,
    signal: F,
) -> io::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    axum::serve(TlsListener::new(listener, config)?, router)
        .with_graceful_shutdown(signal)
        .await
}

/// Serves `router` over HTTPS through [`server::listener::serve_with`]: the same
/// connection limits, timeouts and `TCP_NODELAY` as plain TCP, the TLS handshake within
/// [`server::listener::ServeLimits::handshake_timeout`].
pub async fn serve_https_with_limits<F>(
    listener: TcpListener,
    router: axum::Router,
    config: Arc<ServerConfig>,
    limits: server::listener::ServeLimits,
    signal: F,
) -> io::Result<()>
where
    F: std::future::Future<Output = ()> + Send,
{
    let tls = TlsAcceptor::from(config);
    server::listener::serve_with(listener, router, limits, signal, move |tcp| {
        let tls = tls.clone();
        async move { tls.accept(tcp).await }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_the_listen_address() {
        let n = names_for("0.0.0.0:8443".parse().unwrap(), &["Posture.Example".into()]);
        assert_eq!(n, ["localhost", "127.0.0.1", "::1", "posture.example"]);
        let n = names_for("127.0.0.1:8443".parse().unwrap(), &[]);
        assert_eq!(n, ["localhost", "127.0.0.1"]);
        let n = names_for("[::1]:8443".parse().unwrap(), &["[::1]".into()]);
        assert_eq!(n, ["localhost", "::1", "127.0.0.1"]);
        let n = names_for("10.1.2.3:8443".parse().unwrap(), &[]);
        assert_eq!(n, ["localhost", "10.1.2.3"]);
    }

    #[test]
    fn self_signed_is_created_once_and_reissued_for_new_names() {
        let dir = tempfile::tempdir().unwrap();
        let listen: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        let a = self_signed(dir.path(), listen, &[]).unwrap();
        let ca1 = std::fs::read(&a.ca_pem_path).unwrap();
        let cert1 = std::fs::read(&a.cert_pem).unwrap();
        assert!(server_config(&a.cert_pem, &a.key_pem).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&a.key_pem).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "server key must be private");
            let mode = std::fs::metadata(dir.path().join("tls/ca.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "CA key must be private");
        }
        // Same names: nothing changes.
        let b = self_signed(dir.path(), listen, &[]).unwrap();
        assert_eq!(a, b);
        assert_eq!(std::fs::read(&b.cert_pem).unwrap(), cert1);
        // New names: same CA, new server certificate.
        let c = self_signed(dir.path(), listen, &["posture.test".into()]).unwrap();
        assert_eq!(std::fs::read(&c.ca_pem_path).unwrap(), ca1);
        assert_ne!(std::fs::read(&c.cert_pem).unwrap(), cert1);
        assert!(server_config(&c.cert_pem, &c.key_pem).is_ok());
    }
}
