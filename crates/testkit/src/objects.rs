//! Real object stores for tests: moto's S3 server and Azurite's Blob service, each
//! started on a free loopback port and stopped when dropped. A missing program is
//! skipped, or fails under `POSTURE_REQUIRE_TOOLS=1` (see [`crate::tools`]).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Azurite's well-known development account and key.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub const MOTO_INSTALL: &str = "pip install 'moto[server]==5.2.1'";
pub const AZURITE_INSTALL: &str = "npm install -g azurite@3.35.0";

/// A running object-store server.
pub struct ObjectServer {
    child: Child,
    port: u16,
    kind: Kind,
    _location: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Moto,
    Azurite,
}

impl Drop for ObjectServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(port: u16) {
    for _ in 0..300 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing listening on port {port} after 30 s");
}

fn spawn(program: &str, args: &[&str]) -> Option<Child> {
    match Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => Some(c),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("{program}: {e}"),
    }
}

/// moto's S3 server, or `None` (skipped) when `moto_server` is not installed.
pub fn moto() -> Option<ObjectServer> {
    let port = crate::free_port().expect("a free loopback port");
    let Some(child) = spawn("moto_server", &["-H", "127.0.0.1", "-p", &port.to_string()]) else {
        crate::tools::missing("moto_server", MOTO_INSTALL);
        return None;
    };
    wait_for_port(port);
    Some(ObjectServer {
        child,
        port,
        kind: Kind::Moto,
        _location: None,
    })
}

/// Azurite's Blob service, or `None` (skipped) when `azurite-blob` is not installed.
pub fn azurite() -> Option<ObjectServer> {
    let port = crate::free_port().expect("a free loopback port");
    let location = tempfile::tempdir().expect("a temporary directory");
    let loc = location.path().display().to_string();
    let args = [
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        &port.to_string(),
        "--location",
        &loc,
        "--silent",
        "--skipApiVersionCheck",
    ];
    let Some(child) = spawn("azurite-blob", &args) else {
        crate::tools::missing("azurite-blob", AZURITE_INSTALL);
        return None;
    };
    wait_for_port(port);
    Some(ObjectServer {
        child,
        port,
        kind: Kind::Azurite,
        _location: Some(location),
    })
}

impl ObjectServer {
    /// The service's base URL (Azurite's includes the account).
    pub fn endpoint(&self) -> String {
        match self.kind {
            Kind::Moto => format!("http://127.0.0.1:{}", self.port),
            Kind::Azurite => format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.port),
        }
    }

    /// Creates a bucket (moto) or container (Azurite).
    pub fn create_bucket(&self, name: &str) {
        let path = match self.kind {
            // moto accepts unsigned requests.
            Kind::Moto => format!("/{name}"),
            Kind::Azurite => format!(
                "/{AZURITE_ACCOUNT}/{name}?restype=container&{}",
                azurite_account_sas()
            ),
        };
        let status = put(self.port, &path);
        assert!(
            (200..300).contains(&status),
            "creating {name} answered {status}"
        );
    }

    /// The environment a Posture process needs to reach this server through
    /// `--snapshots s3://...` or `az://...` (object_store's variables).
    pub fn env(&self) -> Vec<(String, String)> {
        let pairs: Vec<(&str, String)> = match self.kind {
            Kind::Moto => vec![
                ("AWS_ACCESS_KEY_ID", "testing".into()),
                ("AWS_SECRET_ACCESS_KEY", "testing".into()),
                ("AWS_REGION", "us-east-1".into()),
                ("AWS_ENDPOINT", self.endpoint()),
                ("AWS_ALLOW_HTTP", "true".into()),
            ],
            Kind::Azurite => vec![
                ("AZURE_STORAGE_ACCOUNT_NAME", AZURITE_ACCOUNT.into()),
                ("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY.into()),
                ("AZURE_STORAGE_USE_EMULATOR", "true".into()),
                (
                    "AZURITE_BLOB_STORAGE_URL",
                    format!("http://127.0.0.1:{}", self.port),
                ),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// Sets [`ObjectServer::env`] in this process (for in-process clients).
    pub fn export_env(&self) {
        for (k, v) in self.env() {
            // SAFETY: tests set these before starting any thread that reads the environment.
            unsafe { std::env::set_var(k, v) };
        }
    }
}

/// A bodiless HTTP/1.1 PUT on loopback; returns the status.
fn put(port: u16, path: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the object store");
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nx-ms-version: 2020-08-04\r\nConnection: close\r\n\r\n"
    );
    s.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// An account SAS for Azurite allowing container creation (object_store cannot create
/// containers), valid for an hour.
pub fn azurite_account_sas() -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use hmac::{Hmac, Mac};
    let fmt = "%Y-%m-%dT%H:%M:%SZ";
    let now = chrono::Utc::now();
    let st = (now - chrono::Duration::minutes(5)).format(fmt).to_string();
    let se = (now + chrono::Duration::hours(1)).format(fmt).to_string();
    let (sv, ss, srt, sp) = ("2020-08-04", "b", "sco", "rwdlac");
    let to_sign = format!("{AZURITE_ACCOUNT}\n{sp}\n{ss}\n{srt}\n{st}\n{se}\n\n\n{sv}\n");
    let key = B64.decode(AZURITE_KEY).expect("the Azurite key is base64");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(to_sign.as_bytes());
    let sig = B64.encode(mac.finalize().into_bytes());
    let enc = model::percent::encode;
    format!(
        "sv={sv}&ss={ss}&srt={srt}&sp={sp}&st={}&se={}&sig={}",
        enc(&st),
        enc(&se),
        enc(&sig)
    )
}
