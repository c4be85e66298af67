//! OS identity: os-release, the OSV ecosystem of the distribution's packages, host
//! and device names, architecture, the kernel, and the stable device id.

use crate::util::{Ctx, clean, first_line, parse_env_file, run_program};
use model::{InstalledSoftware, OsInfo, OsKind, report::Distro};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Salt of the device id hash: the machine id itself never leaves the device
/// (systemd asks applications to hash it with an application-specific key).
pub const DEVICE_ID_SALT: &[u8] = b"posture-agent/device-id/v1\0";

/// What os-release says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub id: String,
    pub id_like: Vec<String>,
    pub version_id: String,
    pub version: String,
    pub pretty_name: String,
}

impl OsRelease {
    pub fn parse(text: &str) -> Self {
        let mut r = OsRelease::default();
        for (k, v) in parse_env_file(text) {
            match k.as_str() {
                "ID" => r.id = v.to_ascii_lowercase(),
                "ID_LIKE" => {
                    r.id_like = v.split_whitespace().map(str::to_ascii_lowercase).collect()
                }
                "VERSION_ID" => r.version_id = v,
                "VERSION" => r.version = v,
                "PRETTY_NAME" => r.pretty_name = v,
                _ => {}
            }
        }
        r
    }

    /// The OSV ecosystem of the distribution's dpkg packages: `Debian:12`,
    /// `Ubuntu:22.04:LTS`, `Ubuntu:24.10`. `None` for other distributions.
    pub fn dpkg_ecosystem(&self) -> Option<String> {
        match self.id.as_str() {
            "debian" if self.version_id.is_empty() => Some("Debian".to_owned()),
            "debian" => Some(format!("Debian:{}", self.version_id)),
            "ubuntu" if self.version_id.is_empty() => Some("Ubuntu".to_owned()),
            "ubuntu" if self.version.contains("LTS") => {
                Some(format!("Ubuntu:{}:LTS", self.version_id))
            }
            "ubuntu" => Some(format!("Ubuntu:{}", self.version_id)),
            _ => None,
        }
    }

    /// The OSV ecosystem of the distribution's rpm packages: `Red Hat:enterprise_linux:9`,
    /// `Rocky Linux:9`, `AlmaLinux:9`. `None` for other distributions.
    pub fn rpm_ecosystem(&self) -> Option<String> {
        let major = self.version_id.split('.').next().unwrap_or("");
        if major.is_empty() {
            return None;
        }
        match self.id.as_str() {
            "rhel" => Some(format!("Red Hat:enterprise_linux:{major}")),
            "rocky" => Some(format!("Rocky Linux:{major}")),
            "almalinux" => Some(format!("AlmaLinux:{major}")),
            _ => None,
        }
    }
}

/// Reads `/etc/os-release`, falling back to `/usr/lib/os-release` (as systemd does).
pub(crate) fn os_release(ctx: &mut Ctx) -> OsRelease {
    if let Some(t) = ctx.read_opt("/etc/os-release") {
        return OsRelease::parse(&t);
    }
    if let Some(t) = ctx.read_opt("/usr/lib/os-release") {
        return OsRelease::parse(&t);
    }
    let p = ctx.path("/etc/os-release");
    ctx.warn(format!(
        "could not read {}: not found (nor /usr/lib/os-release); distribution unknown",
        p.display()
    ));
    OsRelease::default()
}

/// MDE's spelling of an architecture (`x64`, `x86`, `arm64`); others pass through.
pub fn mde_architecture(machine: &str) -> String {
    match machine.trim().to_ascii_lowercase().as_str() {
        "x86_64" | "amd64" | "x64" => "x64".to_owned(),
        "aarch64" | "arm64" => "arm64".to_owned(),
        "i386" | "i486" | "i586" | "i686" | "x86" => "x86".to_owned(),
        other => other.to_owned(),
    }
}

/// The machine architecture: the kernel's (`/proc/sys/kernel/arch`), else dpkg's
/// native one, else (collecting from `/` only) the agent's own build target.
pub(crate) fn architecture(ctx: &mut Ctx) -> Option<String> {
    if let Some(a) = ctx.read_opt("/proc/sys/kernel/arch") {
        let a = a.trim();
        if !a.is_empty() {
            return Some(mde_architecture(a));
        }
    }
    if let Some(a) = ctx.read_opt("/var/lib/dpkg/arch")
        && let Some(first) = a.lines().map(str::trim).find(|l| !l.is_empty())
    {
        return Some(mde_architecture(first));
    }
    if ctx.root() == std::path::Path::new("/") {
        return Some(mde_architecture(std::env::consts::ARCH));
    }
    ctx.warn(
        "could not determine the architecture: no /proc/sys/kernel/arch nor /var/lib/dpkg/arch",
    );
    None
}

/// The host name: the kernel's, else `/etc/hostname`.
pub(crate) fn hostname(ctx: &mut Ctx) -> Option<String> {
    for f in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Some(h) = ctx.read_opt(f) {
            let h = clean(first_line(&h), 253);
            if !h.is_empty() && h != "(none)" {
                return Some(h);
            }
        }
    }
    ctx.warn("could not read the host name: neither /proc/sys/kernel/hostname nor /etc/hostname");
    None
}

/// The fully qualified name when one is known: `/etc/hosts` (an entry that lists the
/// host name and whose canonical name extends it), else (collecting from `/`)
/// `hostname --fqdn`, which asks the resolver.
pub(crate) fn fqdn(ctx: &mut Ctx, host: &str) -> Option<String> {
    if host.contains('.') {
        return Some(host.to_owned());
    }
    let prefix = format!("{host}.");
    if let Some(hosts) = ctx.read_opt("/etc/hosts") {
        for line in hosts.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let _addr = fields.next();
            let names: Vec<&str> = fields.collect();
            if names.iter().any(|n| n.eq_ignore_ascii_case(host))
                && let Some(canon) = names.first()
                && canon
                    .to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
                && canon.len() > prefix.len()
            {
                return Some(canon.to_string());
            }
        }
    }
    let prog = ctx.host_program("hostname")?;
    match run_program(&prog, ["--fqdn"], Duration::from_secs(3)) {
        Ok(o) if o.success => {
            let name = clean(first_line(&o.stdout), 253);
            let ok = name
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase())
                && name.len() > prefix.len()
                && !name.contains(' ');
            ok.then_some(name)
        }
        // Not resolvable is the common case on a laptop: no warning.
        _ => None,
    }
}

/// The running kernel as a software entry (`linux` / `linux_kernel`). `version` is
/// the kernel release (`uname -r`); the CPE carries the upstream version, which for
/// distribution kernels differs from the release string (Debian's `6.1.0-26-amd64`
/// is upstream 6.1.112, given in `/proc/version`; Ubuntu's is in
/// `/proc/version_signature`), so that NVD ranges match the code actually running.
pub(crate) fn kernel(ctx: &mut Ctx) -> Option<InstalledSoftware> {
    let release = match ctx.read_expected("/proc/sys/kernel/osrelease") {
        Some(r) => clean(first_line(&r), 200),
        None => return None,
    };
    if release.is_empty() {
        return None;
    }
    let proc_version = ctx.read_opt("/proc/version").unwrap_or_default();
    let signature = ctx.read_opt("/proc/version_signature").unwrap_or_default();
    let upstream = kernel_upstream_version(&release, &proc_version, &signature);
    Some(InstalledSoftware {
        vendor: "linux".to_owned(),
        name: "linux_kernel".to_owned(),
        version: release,
        cpe: Some(format!(
            "cpe:2.3:o:linux:linux_kernel:{}:*:*:*:*:*:*:*",
            cpe_escape(&upstream)
        )),
        ecosystem: None,
        disk_paths: Vec::new(),
        registry_paths: Vec::new(),
        end_of_support: None,
        source: None,
    })
}

/// The upstream kernel version behind a release string.
pub fn kernel_upstream_version(release: &str, proc_version: &str, signature: &str) -> String {
    // Ubuntu: "Ubuntu 5.15.0-91.101-generic 5.15.131"
    if let Some(last) = signature.split_whitespace().last()
        && signature.starts_with("Ubuntu")
        && is_dotted_numeric(last)
    {
        return last.to_owned();
    }
    // Debian: "... #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)"
    let words: Vec<&str> = proc_version.split_whitespace().collect();
    for w in words.windows(2) {
        if w[0] == "Debian" {
            let v = w[1].split(['-', '+', '~']).next().unwrap_or("");
            if is_dotted_numeric(v) {
                return v.to_owned();
            }
        }
    }
    // Otherwise the leading dotted number of the release: "6.18.44-fc-v470" -> 6.18.44.
    let lead: String = release
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let lead = lead.trim_end_matches('.');
    if is_dotted_numeric(lead) {
        lead.to_owned()
    } else {
        release.to_owned()
    }
}

fn is_dotted_numeric(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Escapes a value for a CPE 2.3 formatted string: letters, digits, `_`, `-` and `.`
/// stand as they are; every other printable character takes a backslash.
pub fn cpe_escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            s.push(c);
        } else if c.is_ascii_graphic() {
            s.push('\\');
            s.push(c);
        }
    }
    if s.is_empty() { "-".to_owned() } else { s }
}

/// The device id: SHA-256 of the salt and the machine id, first 20 bytes in hex.
/// Falls back to the host name (with a warning) when no machine id is readable.
pub(crate) fn device_id(ctx: &mut Ctx, host: Option<&str>) -> model::DeviceId {
    let mut machine = None;
    for f in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
        if let Some(t) = ctx.read_opt(f) {
            let t = t.trim().to_owned();
            if !t.is_empty() {
                machine = Some(t);
                break;
            }
        }
    }
    let basis = match machine {
        Some(m) => format!("machine-id:{m}"),
        None => {
            let h = host.unwrap_or("localhost");
            ctx.warn(format!(
                "could not read {}: no machine id; the device id is derived from the host name {h:?} and changes with it",
                ctx.path("/etc/machine-id").display()
            ));
            format!("hostname:{}", h.to_ascii_lowercase())
        }
    };
    device_id_from(&basis)
}

pub(crate) fn device_id_from(basis: &str) -> model::DeviceId {
    let mut h = Sha256::new();
    h.update(DEVICE_ID_SALT);
    h.update(basis.as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
    model::DeviceId::parse(&hex).expect("40 lower-case hex characters")
}

/// The device id a machine id gives (for tests and for operators matching ids).
pub fn device_id_for_machine_id(machine_id: &str) -> model::DeviceId {
    device_id_from(&format!("machine-id:{}", machine_id.trim()))
}

pub(crate) fn os_info(rel: &OsRelease, architecture: Option<String>) -> OsInfo {
    let distro = (!rel.id.is_empty()).then(|| Distro {
        id: rel.id.clone(),
        version_id: rel.version_id.clone(),
    });
    OsInfo {
        kind: OsKind::Linux,
        platform: "Linux".to_owned(),
        version: rel.version_id.clone(),
        architecture,
        distro,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems() {
        let deb = OsRelease::parse("ID=debian\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\n");
        assert_eq!(deb.dpkg_ecosystem().as_deref(), Some("Debian:12"));
        let lts = OsRelease::parse(
            "ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\n",
        );
        assert_eq!(lts.dpkg_ecosystem().as_deref(), Some("Ubuntu:22.04:LTS"));
        let interim = OsRelease::parse(
            "ID=ubuntu\nVERSION_ID=\"24.10\"\nVERSION=\"24.10 (Oracular Oriole)\"\n",
        );
        assert_eq!(interim.dpkg_ecosystem().as_deref(), Some("Ubuntu:24.10"));
        let rocky = OsRelease::parse("ID=\"rocky\"\nVERSION_ID=\"9.4\"\n");
        assert_eq!(rocky.rpm_ecosystem().as_deref(), Some("Rocky Linux:9"));
        let rhel = OsRelease::parse("ID=\"rhel\"\nVERSION_ID=\"8.10\"\n");
        assert_eq!(
            rhel.rpm_ecosystem().as_deref(),
            Some("Red Hat:enterprise_linux:8")
        );
    }

    #[test]
    fn kernel_versions() {
        let deb = "Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)";
        assert_eq!(
            kernel_upstream_version("6.1.0-26-amd64", deb, ""),
            "6.1.112"
        );
        assert_eq!(
            kernel_upstream_version(
                "5.15.0-91-generic",
                "",
                "Ubuntu 5.15.0-91.101-generic 5.15.131\n"
            ),
            "5.15.131"
        );
        assert_eq!(
            kernel_upstream_version("6.18.44-fc-v470", "Linux version 6.18.44-fc-v470", ""),
            "6.18.44"
        );
        assert_eq!(cpe_escape("5.14.0-427.el9+x"), "5.14.0-427.el9\\+x");
    }

    #[test]
    fn architectures() {
        assert_eq!(mde_architecture("x86_64"), "x64");
        assert_eq!(mde_architecture("aarch64"), "arm64");
        assert_eq!(mde_architecture("i686"), "x86");
        assert_eq!(mde_architecture("riscv64"), "riscv64");
    }
}
