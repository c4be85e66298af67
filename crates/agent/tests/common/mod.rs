//! A fixture device tree for `collect()`.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use std::path::{Path, PathBuf};

pub const MACHINE_ID: &str = "5f2b6a9c1d0e4f8a9b7c6d5e4f3a2b1c";

pub fn write(root: &Path, rel: &str, body: &str) -> PathBuf {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}

pub fn set_mtime(p: &Path, t: DateTime<Utc>) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(std::time::SystemTime::from(t)).unwrap();
}

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub const DPKG_STATUS: &str = "\
Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 341
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 12.4+deb12u8
Replaces: base, dpkg (<= 1.15.0), miscutils
Provides: base
Conffiles:
 /etc/debian_version a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8
 /etc/host.conf 4eb63731c9f5e30903ac4fc07a7fe3d6
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system, and
 several important miscellaneous files.

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u9
Description: GNU C Library: Shared libraries

Package: libc6
Status: install ok installed
Architecture: i386
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u9
Description: GNU C Library: Shared libraries

Package: libssl3
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.15-1~deb12u1
Description: Secure Sockets Layer toolkit - shared libraries

Package: openssh-server
Status: install ok installed
Architecture: amd64
Source: openssh
Version: 1:9.2p1-2+deb12u6
Description: secure shell (SSH) server, for secure access from remote machines

Package: telnetd
Status: deinstall ok config-files
Architecture: amd64
Source: netkit-telnet
Version: 0.17+2.4-2+deb12u1
Description: old package, only its configuration files remain

Package: vim-tiny
Status: hold ok installed
Architecture: amd64
Source: vim (2:9.0.1378-2)
Version: 2:9.0.1378-2+b1
Description: Vi IMproved - enhanced vi editor - compact version

Package: broken-thing
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0-1
Description: half-installed, not reported

Package: unattended-upgrades
Status: install ok installed
Architecture: all
Version: 2.9.1+nmu3
Description: automatic installation of security upgrades

Package: clamav
Status: install ok installed
Architecture: amd64
Version: 1.4.6+dfsg-0+deb12u1
Description: anti-virus utility for Unix - command-line interface

Package: libclamav12
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: clamav
Version: 1.4.6+dfsg-0+deb12u1
Description: anti-virus utility for Unix - library
";

/// The times the fixture stamps on files.
pub struct Times {
    pub clamav_installed: DateTime<Utc>,
    pub libclamav_installed: DateTime<Utc>,
    pub daily_written: DateTime<Utc>,
    pub daily_built: DateTime<Utc>,
}

pub fn times() -> Times {
    Times {
        clamav_installed: t("2025-10-01T08:00:00Z"),
        libclamav_installed: t("2025-10-01T08:00:01Z"),
        daily_written: t("2025-11-21T10:05:00Z"),
        daily_built: Utc.timestamp_opt(1_763_716_893, 0).unwrap(),
    }
}

/// A Debian 12 device: dpkg, Python packages in several site directories, sshd with
/// an Include directory, ufw, unattended-upgrades, ClamAV with a daily database and a
/// scan log, proc-like files.
pub fn build(root: &Path) {
    let tm = times();
    write(
        root,
        "/etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
    );
    write(root, "/etc/machine-id", &format!("{MACHINE_ID}\n"));
    write(root, "/etc/hostname", "web01\n");
    write(
        root,
        "/etc/hosts",
        "127.0.0.1\tlocalhost\n127.0.1.1\tweb01.example.org\tweb01\n# ::1 ip6-localhost\n",
    );
    write(root, "/proc/sys/kernel/hostname", "web01\n");
    write(root, "/proc/sys/kernel/osrelease", "6.1.0-26-amd64\n");
    write(root, "/proc/sys/kernel/arch", "x86_64\n");
    write(
        root,
        "/proc/version",
        "Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)\n",
    );
    write(root, "/proc/sys/fs/suid_dumpable", "0\n");
    write(root, "/proc/sys/kernel/randomize_va_space", "2\n");
    write(root, "/proc/1/comm", "systemd\n");
    write(root, "/proc/812/comm", "clamd\n");

    write(root, "/var/lib/dpkg/status", DPKG_STATUS);
    write(root, "/var/lib/dpkg/arch", "amd64\ni386\n");
    let l = write(
        root,
        "/var/lib/dpkg/info/clamav.list",
        "/usr/bin/clamscan\n",
    );
    set_mtime(&l, tm.clamav_installed);
    let l = write(
        root,
        "/var/lib/dpkg/info/libclamav12:amd64.list",
        "/usr/lib/x86_64-linux-gnu/libclamav.so.12\n",
    );
    set_mtime(&l, tm.libclamav_installed);

    // Python: dist-info, an egg-info directory, a bare egg-info file, a duplicate in
    // a second site directory, a user's ~/.local, a pyenv interpreter.
    let meta = |name: &str, version: &str| {
        format!(
            "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n\nName: NotThis\n"
        )
    };
    write(
        root,
        "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA",
        &meta("PyYAML", "6.0"),
    );
    write(
        root,
        "/usr/lib/python3/dist-packages/PyGObject-3.42.2.egg-info/PKG-INFO",
        &meta("PyGObject", "3.42.2"),
    );
    write(
        root,
        "/usr/lib/python3/dist-packages/distro_info-1.5.egg-info",
        &meta("distro-info", "1.5"),
    );
    write(root, "/usr/lib/python3/dist-packages/yaml/__init__.py", "");
    write(
        root,
        "/usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
        &meta("requests", "2.31.0"),
    );
    write(
        root,
        "/usr/local/lib/python3.11/dist-packages/PyYAML-6.0.dist-info/METADATA",
        &meta("PyYAML", "6.0"),
    );
    write(
        root,
        "/home/alice/.local/lib/python3.11/site-packages/Zope.Interface-6.1.dist-info/METADATA",
        &meta("zope.interface", "6.1"),
    );
    write(
        root,
        "/root/.pyenv/versions/3.12.1/lib/python3.12/site-packages/pip-23.3.1.dist-info/METADATA",
        &meta("pip", "23.3.1"),
    );
    // Python 2 is not searched.
    write(
        root,
        "/usr/lib/python2.7/dist-packages/six-1.16.0.egg-info",
        &meta("six", "1.16.0"),
    );

    // sshd: the Debian layout, Include first; a Match block; a non-.conf file ignored.
    write(root, "/usr/sbin/sshd", "");
    write(
        root,
        "/etc/ssh/sshd_config",
        "# Debian default\nInclude /etc/ssh/sshd_config.d/*.conf\n\nPermitRootLogin yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM yes\nSubsystem sftp /usr/lib/openssh/sftp-server\nMatch User backup\n    PermitRootLogin no\n",
    );
    write(
        root,
        "/etc/ssh/sshd_config.d/10-hardening.conf",
        "passwordauthentication=no\n",
    );
    write(
        root,
        "/etc/ssh/sshd_config.d/20-match.conf",
        "Match Address 10.0.0.0/8\n  PermitRootLogin without-password\n",
    );
    write(
        root,
        "/etc/ssh/sshd_config.d/README",
        "PermitRootLogin no\n",
    );

    write(
        root,
        "/etc/ufw/ufw.conf",
        "# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n",
    );
    write(
        root,
        "/etc/apt/apt.conf.d/20auto-upgrades",
        "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n",
    );
    write(
        root,
        "/etc/apt/apt.conf.d/50unattended-upgrades",
        "Unattended-Upgrade::Origins-Pattern {\n        \"origin=Debian,codename=${distro_codename},label=Debian-Security\";\n};\n// Unattended-Upgrade::Mail \"\";\n",
    );
    write(
        root,
        "/etc/apt/apt.conf.d/99off.dpkg-old",
        "APT::Periodic::Unattended-Upgrade \"0\";\n",
    );

    // ClamAV: programs, a daily database header, a scan log.
    write(root, "/usr/bin/clamscan", "");
    let mut header = format!(
        "ClamAV-VDB:21 Nov 2025 09-21 +0000:27452:2076543:90:0123456789abcdef0123456789abcdef:sig:raynman:{}",
        tm.daily_built.timestamp()
    );
    while header.len() < 512 {
        header.push(' ');
    }
    let d = write(root, "/var/lib/clamav/daily.cld", &header);
    set_mtime(&d, tm.daily_written);
    write(
        root,
        "/var/log/clamav/scan.log",
        "\n-------------------------------------------------------------------------------\n\n\n----------- SCAN SUMMARY -----------\nKnown viruses: 8698823\nEngine version: 1.4.6\nScanned directories: 1\nScanned files: 2\nInfected files: 0\nData scanned: 0.00 MB\nData read: 0.00 MB (ratio 0.00:1)\nTime: 12.030 sec (0 m 12 s)\nStart Date: 2025:11:20 03:00:00\nEnd Date:   2025:11:20 03:00:12\n\n-------------------------------------------------------------------------------\n\n\n----------- SCAN SUMMARY -----------\nKnown viruses: 8698830\nEngine version: 1.4.6\nScanned directories: 40\nScanned files: 1200\nInfected files: 1\nData scanned: 80.00 MB\nData read: 60.00 MB (ratio 1.33:1)\nTime: 30.000 sec (0 m 30 s)\nStart Date: 2025:11:21 03:00:00\nEnd Date:   2025:11:21 03:00:30\n",
    );
    write(
        root,
        "/var/log/clamav/freshclam.log",
        "ClamAV update process started at Fri Nov 21 10:05:00 2025\ndaily.cld database is up-to-date (version: 27452, sigs: 2076543, f-level: 90, builder: raynman)\n",
    );
}
