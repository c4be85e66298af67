//! `collect()` over fixture trees: the exact report, and the warnings for what is
//! missing or unreadable.

mod common;

use agent::{CollectOptions, collect};
use chrono::{Local, NaiveDateTime, TimeZone, Utc};
use common::{MACHINE_ID, build, t, times, write};
use model::DeviceReport;
use serde_json::json;

fn opts(root: &std::path::Path) -> CollectOptions {
    let mut o = CollectOptions::new(root);
    o.now = t("2025-11-21T12:00:00Z");
    o.sequence = 42;
    o
}

fn local(s: &str) -> String {
    let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    Local
        .from_local_datetime(&n)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
        .to_rfc3339()
}

#[test]
fn fixture_tree_gives_exactly_the_expected_report() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    build(root);
    let tm = times();
    let c = collect(&opts(root));
    assert_eq!(c.warnings, Vec::<String>::new());

    let deb = |name: &str, version: &str| json!({"vendor": "debian", "name": name, "version": version, "ecosystem": "Debian:12"});
    // A binary package built from another source carries it (Debian advisories are keyed by source).
    let deb_src = |name: &str, version: &str, src: &str, src_version: &str| {
        json!({"vendor": "debian", "name": name, "version": version, "ecosystem": "Debian:12",
               "source": {"name": src, "version": src_version}})
    };
    let py = |name: &str, version: &str, dirs: &[&str]| json!({"vendor": "pypi", "name": name, "version": version, "ecosystem": "PyPI", "diskPaths": dirs});
    let expected = json!({
        "deviceId": agent::osinfo::device_id_for_machine_id(MACHINE_ID).as_str(),
        "sequence": 42,
        "reportedAt": "2025-11-21T12:00:00Z",
        "deviceName": "web01.example.org",
        "os": {"kind": "linux", "platform": "Linux", "version": "12", "architecture": "x64",
               "distro": {"id": "debian", "versionId": "12"}},
        "software": [
            deb("base-files", "12.4+deb12u8"),
            deb("clamav", "1.4.6+dfsg-0+deb12u1"),
            deb_src("libc6", "2.36-9+deb12u9", "glibc", "2.36-9+deb12u9"),
            deb_src("libclamav12", "1.4.6+dfsg-0+deb12u1", "clamav", "1.4.6+dfsg-0+deb12u1"),
            deb_src("libssl3", "3.0.15-1~deb12u1", "openssl", "3.0.15-1~deb12u1"),
            deb_src("openssh-server", "1:9.2p1-2+deb12u6", "openssh", "1:9.2p1-2+deb12u6"),
            deb("unattended-upgrades", "2.9.1+nmu3"),
            deb_src("vim-tiny", "2:9.0.1378-2+b1", "vim", "2:9.0.1378-2"),
            {"vendor": "linux", "name": "linux_kernel", "version": "6.1.0-26-amd64",
             "cpe": "cpe:2.3:o:linux:linux_kernel:6.1.112:*:*:*:*:*:*:*"},
            py("distro-info", "1.5", &["/usr/lib/python3/dist-packages"]),
            py("pip", "23.3.1", &["/root/.pyenv/versions/3.12.1/lib/python3.12/site-packages"]),
            py("pygobject", "3.42.2", &["/usr/lib/python3/dist-packages"]),
            py("pyyaml", "6.0", &["/usr/lib/python3/dist-packages", "/usr/local/lib/python3.11/dist-packages"]),
            py("requests", "2.31.0", &["/usr/local/lib/python3.11/dist-packages"]),
            py("zope-interface", "6.1", &["/home/alice/.local/lib/python3.11/site-packages"]),
        ],
        "settings": {
            "Firewall.Active": "1",
            "Kernel.FsSuidDumpable": "0",
            "Kernel.RandomizeVaSpace": "2",
            "Telnet.ServerInstalled": "0",
            "Updates.AutomaticSecurityUpdates": "1",
            "sshd.Installed": "1",
            "sshd.PasswordAuthentication": "no",
            "sshd.PermitRootLogin": "yes",
        },
        "av": {
            "mode": 0,
            "engineVersion": "1.4.6",
            "platformVersion": "1.4.6",
            "signatureVersion": "27452",
            "engineUpdatedAt": tm.libclamav_installed,
            "platformUpdatedAt": tm.clamav_installed,
            "signatureUpdatedAt": tm.daily_written,
            "signaturePublishedAt": tm.daily_built,
            "quickScan": {"status": "Completed", "time": local("2025-11-21 03:00:30")},
        },
        "facts": {"LocalCveScannerExecuted": "Posture agent 0.1.0", "AvProduct": "ClamAV"},
    });
    let expected: DeviceReport = serde_json::from_value(expected).unwrap();
    assert_eq!(c.report, expected);
    c.report.validate().unwrap();
    // The wire form round-trips through the server's parser.
    let bytes = serde_json::to_vec(&c.report).unwrap();
    assert_eq!(DeviceReport::from_json(&bytes).unwrap(), c.report);
}

#[test]
fn same_machine_same_device_id_and_settings_follow_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    build(root);
    let first = collect(&opts(root)).report;
    // Flip settings: ufw off, no firewall tooling left; unattended-upgrades disabled
    // by a later file; an Include'd file now sets PermitRootLogin first; telnet via inetd.
    write(root, "/etc/ufw/ufw.conf", "ENABLED=no\n");
    write(
        root,
        "/etc/apt/apt.conf.d/99local",
        "APT { Periodic { Unattended-Upgrade \"0\"; }; };\n",
    );
    write(
        root,
        "/etc/ssh/sshd_config.d/05-root.conf",
        "PermitRootLogin prohibit-password\n",
    );
    write(
        root,
        "/etc/inetd.conf",
        "#telnet stream tcp nowait root /usr/sbin/tcpd /usr/sbin/in.telnetd\ntelnet stream tcp nowait telnetd /usr/sbin/tcpd /usr/sbin/in.telnetd\n",
    );
    write(root, "/proc/sys/fs/suid_dumpable", "2\n");
    std::fs::remove_file(root.join("proc/812/comm")).unwrap();
    let second = collect(&opts(root));
    assert_eq!(second.warnings, Vec::<String>::new());
    let r = second.report;
    assert_eq!(r.device_id, first.device_id);
    let s = |k: &str| r.settings.get(k).map(String::as_str);
    assert_eq!(s("Firewall.Active"), Some("0"));
    assert_eq!(s("Updates.AutomaticSecurityUpdates"), Some("0"));
    assert_eq!(s("sshd.PermitRootLogin"), Some("prohibit-password"));
    assert_eq!(s("Telnet.ServerInstalled"), Some("1"));
    assert_eq!(s("Kernel.FsSuidDumpable"), Some("2"));
    assert_eq!(r.av.as_ref().unwrap().mode, Some(1), "no clamd: passive");
}

#[test]
fn sshd_defaults_when_the_config_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    build(root);
    write(
        root,
        "/etc/ssh/sshd_config",
        "Include sshd_config.d/*.conf\nUsePAM yes\n",
    );
    let r = collect(&opts(root)).report;
    assert_eq!(r.settings["sshd.PermitRootLogin"], "prohibit-password");
    assert_eq!(
        r.settings["sshd.PasswordAuthentication"], "no",
        "from the .d file (relative Include)"
    );
    // Without the Include the .d directory is not read, as sshd does.
    write(root, "/etc/ssh/sshd_config", "UsePAM yes\n");
    let r = collect(&opts(root)).report;
    assert_eq!(r.settings["sshd.PasswordAuthentication"], "yes");
    std::fs::remove_dir_all(root.join("etc/ssh")).unwrap();
    std::fs::remove_file(root.join("usr/sbin/sshd")).unwrap();
    let r = collect(&opts(root)).report;
    assert_eq!(r.settings["sshd.Installed"], "0");
    assert!(!r.settings.contains_key("sshd.PermitRootLogin"));
}

#[test]
fn what_cannot_be_read_becomes_warnings_not_failures() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    build(root);
    std::fs::remove_file(root.join("etc/machine-id")).unwrap();
    std::fs::remove_file(root.join("etc/os-release")).unwrap();
    std::fs::remove_file(root.join("var/lib/clamav/daily.cld")).unwrap();
    std::fs::remove_dir_all(root.join("proc")).unwrap();
    // A file that exists but cannot be read as one.
    std::fs::remove_file(root.join("etc/ssh/sshd_config")).unwrap();
    std::fs::create_dir(root.join("etc/ssh/sshd_config")).unwrap();
    // A firewall tool whose ruleset a fixture cannot show.
    write(root, "/etc/ufw/ufw.conf", "ENABLED=no\n");
    write(root, "/usr/sbin/nft", "");
    // Metadata without a version.
    write(
        root,
        "/usr/lib/python3/dist-packages/broken-0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: broken\n",
    );
    let c = collect(&opts(root));
    let w = c.warnings.join("\n");
    for needle in [
        "etc/os-release: not found",
        "etc/machine-id: no machine id; the device id is derived from the host name \"web01\"",
        "proc/sys/kernel/osrelease: No such file or directory",
        "sshd_config: Is a directory",
        "nftables ruleset (needs root or CAP_NET_ADMIN): Firewall.Active is not reported",
        "no daily.cld or daily.cvd",
        "the ClamAV mode (active or passive) is unknown",
        "broken-0.dist-info/METADATA: no Name and Version headers",
        "proc/sys/fs/suid_dumpable: No such file or directory",
    ] {
        assert!(w.contains(needle), "missing warning {needle:?} in:\n{w}");
    }
    for line in &c.warnings {
        assert!(
            line.starts_with("could not ") || line.contains("unknown") || line.contains("no OSV"),
            "{line}"
        );
    }
    let r = &c.report;
    r.validate().unwrap();
    assert_eq!(
        r.device_name.as_deref(),
        Some("web01.example.org"),
        "from /etc/hostname"
    );
    assert_eq!(r.device_id, collect(&opts(root)).report.device_id, "stable");
    assert_ne!(
        r.device_id,
        agent::osinfo::device_id_for_machine_id(MACHINE_ID)
    );
    assert!(!r.settings.contains_key("Firewall.Active"));
    assert!(!r.settings.contains_key("sshd.PermitRootLogin"));
    assert_eq!(r.settings["sshd.Installed"], "1");
    let av = r.av.as_ref().unwrap();
    assert_eq!((av.mode, av.signature_version.as_deref()), (None, None));
    assert_eq!(av.engine_version.as_deref(), Some("1.4.6"));
    // Without os-release the packages still come, without an ecosystem.
    assert!(
        r.software
            .iter()
            .any(|s| s.name == "libssl3" && s.ecosystem.is_none())
    );
    // The warnings travel in the report too.
    let facts = r.facts["CollectionWarnings"].as_array().unwrap();
    assert_eq!(facts.len(), c.warnings.len());
}

#[test]
fn an_empty_root_still_gives_a_valid_report() {
    let dir = tempfile::tempdir().unwrap();
    let c = collect(&opts(dir.path()));
    c.report.validate().unwrap();
    assert!(c.report.software.is_empty());
    assert!(c.report.av.is_none());
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("no package database found"))
    );
    assert_eq!(
        c.report.settings["Firewall.Active"], "0",
        "no firewall tooling at all"
    );
}

#[test]
fn ubuntu_lts_ecosystem() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    build(root);
    write(
        root,
        "/etc/os-release",
        "NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n",
    );
    let r = collect(&opts(root)).report;
    let ssl = r.software.iter().find(|s| s.name == "libssl3").unwrap();
    assert_eq!(
        (ssl.vendor.as_str(), ssl.ecosystem.as_deref()),
        ("ubuntu", Some("Ubuntu:22.04:LTS"))
    );
    assert_eq!(r.os.version, "22.04");
}

/// A real rpm database (built with rpmbuild and rpm --justdb) read through the host's
/// rpm program. Skipped when rpm or rpmbuild is missing (CI: `apt-get install rpm`).
#[test]
fn rpm_database_under_the_root() {
    let have = |p: &str| {
        std::process::Command::new(p)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !have("rpm") || !have("rpmbuild") {
        return testkit::tools::missing("rpm and rpmbuild", "apt-get install -y rpm");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let top = dir.path().join("top");
    std::fs::create_dir_all(&root).unwrap();
    write(
        &root,
        "/etc/os-release",
        "NAME=\"Rocky Linux\"\nVERSION=\"9.4 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n",
    );
    write(
        &root,
        "/etc/machine-id",
        "0123456789abcdef0123456789abcdef\n",
    );
    let specs = [
        ("openssl-libs", "1", "3.0.7", "27.el9"),
        ("bash", "0", "5.1.8", "9.el9"),
        ("dnf-automatic", "0", "4.14.0", "9.el9"),
    ];
    let mut rpms = Vec::new();
    for (name, epoch, version, release) in specs {
        let spec = dir.path().join(format!("{name}.spec"));
        std::fs::write(
            &spec,
            format!("Name: {name}\nVersion: {version}\nRelease: {release}\nEpoch: {epoch}\nSummary: t\nLicense: MIT\nBuildArch: noarch\nVendor: Rocky Enterprise Software Foundation\n%description\nt\n%files\n"),
        )
        .unwrap();
        testkit::tools::run_ok(
            std::process::Command::new("rpmbuild")
                .arg("-bb")
                .arg("--define")
                .arg(format!("_topdir {}", top.display()))
                .arg(&spec),
            "rpmbuild",
        );
        rpms.push(top.join(format!("RPMS/noarch/{name}-{version}-{release}.noarch.rpm")));
    }
    let db = root.join("var/lib/rpm");
    std::fs::create_dir_all(&db).unwrap();
    let st = std::process::Command::new("rpm")
        .arg("--dbpath")
        .arg(&db)
        .args([
            "-i",
            "--justdb",
            "--nodeps",
            "--noscripts",
            "--ignorearch",
            "--ignoreos",
        ])
        .args(&rpms)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    write(
        &root,
        "/etc/dnf/automatic.conf",
        "[commands]\nupgrade_type = security\napply_updates = yes\n",
    );

    let c = collect(&opts(&root));
    let pkgs: Vec<(String, String, Option<String>)> = c
        .report
        .software
        .iter()
        .map(|s| (s.name.clone(), s.version.clone(), s.ecosystem.clone()))
        .collect();
    let eco = Some("Rocky Linux:9".to_owned());
    assert_eq!(
        pkgs,
        vec![
            ("bash".into(), "5.1.8-9.el9".into(), eco.clone()),
            ("dnf-automatic".into(), "4.14.0-9.el9".into(), eco.clone()),
            ("openssl-libs".into(), "1:3.0.7-27.el9".into(), eco.clone()),
        ]
    );
    assert!(
        c.report
            .software
            .iter()
            .all(|s| s.vendor == "rocky" && s.cpe.is_none())
    );
    assert_eq!(c.report.settings["Updates.AutomaticSecurityUpdates"], "1");
    assert!(
        !c.warnings.iter().any(|w| w.contains("rpm")),
        "{:?}",
        c.warnings
    );
    c.report.validate().unwrap();
}
