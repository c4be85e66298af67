//! `collect()` on the machine running the tests (`--root /`), checked against the
//! package tools themselves, and ClamAV with a database built by its own sigtool.

mod common;

use agent::{CollectOptions, collect};
use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};
use std::collections::BTreeSet;
use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(cmd).args(args).output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn this_machine() {
    let started = std::time::Instant::now();
    let c = collect(&CollectOptions::new("/"));
    let took = started.elapsed();
    let r = &c.report;
    r.validate().unwrap();
    assert_eq!(r.os.kind, model::OsKind::Linux);
    assert_eq!(r.os.platform, "Linux");

    let by_eco = |pred: &dyn Fn(Option<&str>) -> bool| -> BTreeSet<(String, String)> {
        r.software
            .iter()
            .filter(|s| pred(s.ecosystem.as_deref()))
            .map(|s| (s.name.clone(), s.version.clone()))
            .collect()
    };
    let distro = by_eco(&|e| e.is_some_and(|e| e != "PyPI"));
    let python = by_eco(&|e| e == Some("PyPI"));

    // dpkg: exactly what dpkg-query calls installed.
    if let Some(q) = output(
        "dpkg-query",
        &["-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n"],
    ) {
        let expected: BTreeSet<(String, String)> = q
            .lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                let (n, v, s) = (f.next()?, f.next()?, f.next()?.as_bytes());
                let installed = matches!(s.first(), Some(b'i' | b'h'))
                    && matches!(s.get(1), Some(b'i' | b't' | b'W'))
                    && s.get(2).is_none_or(|b| *b == b' ');
                installed.then(|| (n.to_owned(), v.to_owned()))
            })
            .collect();
        assert!(
            expected.len() >= 100,
            "only {} dpkg packages",
            expected.len()
        );
        assert_eq!(distro, expected);
    } else if std::path::Path::new("/var/lib/dpkg/status").exists() {
        panic!("dpkg-query missing on a dpkg system");
    }

    // Python: every distribution pip reports for python3 (its site-packages).
    if let Some(list) = output(
        "python3",
        &[
            "-m",
            "pip",
            "list",
            "--format=json",
            "--disable-pip-version-check",
        ],
    ) {
        let list: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
        assert!(!list.is_empty());
        for p in &list {
            let name = agent::python::normalize_name(p["name"].as_str().unwrap());
            let version = p["version"].as_str().unwrap().to_owned();
            assert!(
                python.contains(&(name.clone(), version.clone())),
                "pip's {name} {version} not collected"
            );
        }
        println!(
            "pip list (python3): {} distributions, all collected",
            list.len()
        );
    }

    let kernel = r
        .software
        .iter()
        .find(|s| s.name == "linux_kernel")
        .unwrap();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(kernel.version, release.trim());

    println!(
        "collected in {took:?}: device {} ({:?}), os {} {} {:?}",
        r.device_id,
        r.device_name,
        r.os.distro.as_ref().map(|d| d.id.as_str()).unwrap_or("?"),
        r.os.version,
        r.os.architecture
    );
    println!(
        "software: {} total, {} distribution packages, {} python, kernel {} ({})",
        r.software.len(),
        distro.len(),
        python.len(),
        kernel.version,
        kernel.cpe.as_deref().unwrap_or("")
    );
    println!("settings: {:?}", r.settings);
    println!("av: {:?}", r.av);
    println!("facts: {:?}", r.facts);
    for w in &c.warnings {
        println!("warning: {w}");
    }
}

/// With ClamAV installed (`apt-get install clamav`): the live engine version, and a
/// fixture root holding a daily database built by sigtool and a log written by a
/// real clamscan run.
#[test]
fn clamav_for_real() {
    let Some(version_line) = testkit::require_tool(
        "clamscan (ClamAV)",
        "apt-get install -y clamav",
        output("clamscan", &["--version"]),
    ) else {
        return;
    };
    let (version, _) = agent::clamav::parse_version_line(version_line.trim()).unwrap();

    // Live: the engine the machine runs.
    let live = collect(&CollectOptions::new("/")).report;
    let av = live.av.expect("ClamAV is installed, so av is reported");
    assert_eq!(av.engine_version.as_deref(), Some(version.as_str()));
    assert_eq!(av.platform_version.as_deref(), Some(version.as_str()));

    // A database built by sigtool.
    let dir = tempfile::tempdir().unwrap();
    let build = dir.path().join("build");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(
        build.join("daily.ndb"),
        "Posture.Test.Marker:0:*:706f73747572652d746573742d6d61726b6572\n",
    )
    .unwrap();
    std::fs::write(build.join("COPYING"), "test database\n").unwrap();
    let mut child = Command::new("sigtool")
        .current_dir(&build)
        .args(["--build=daily.cvd", "--unsigned", "--cvd-version=27999"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"posture-tests\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let cvd = build.join("daily.cvd");
    assert!(
        cvd.exists(),
        "sigtool --build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = output("sigtool", &[&format!("--info={}", cvd.display())]).unwrap_or_else(|| {
        // sigtool --info exits non-zero on an unsigned database but prints the header.
        let o = Command::new("sigtool")
            .arg(format!("--info={}", cvd.display()))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    });
    let field = |k: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("{k} not in sigtool --info: {info}"))
    };
    let sig_version = field("Version:");
    let build_time = DateTime::parse_from_str(&field("Build time:"), "%d %b %Y %H:%M %z")
        .unwrap()
        .with_timezone(&Utc);

    let root = dir.path().join("root");
    common::build(&root);
    std::fs::remove_file(root.join("var/lib/clamav/daily.cld")).unwrap();
    std::fs::remove_file(root.join("var/log/clamav/scan.log")).unwrap();
    std::fs::copy(&cvd, root.join("var/lib/clamav/daily.cvd")).unwrap();

    // A real scan, logged where the agent looks (with the plain signature file: an
    // unsigned CVD cannot be loaded for scanning).
    let sample = dir.path().join("sample.txt");
    std::fs::write(&sample, "posture-test-marker\n").unwrap();
    let log = root.join("var/log/clamav/manual-scan.log");
    let o = Command::new("clamscan")
        .arg("-d")
        .arg(build.join("daily.ndb"))
        .arg("-l")
        .arg(&log)
        .arg(&sample)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Posture.Test.Marker"), "clamscan: {stdout}");
    let text = std::fs::read_to_string(&log).unwrap();
    let end = text
        .lines()
        .find_map(|l| l.strip_prefix("End Date:"))
        .expect("the log has an End Date");
    let end = NaiveDateTime::parse_from_str(end.trim(), "%Y:%m:%d %H:%M:%S").unwrap();
    let end = Local
        .from_local_datetime(&end)
        .earliest()
        .unwrap()
        .with_timezone(&Utc);

    let c = collect(&CollectOptions::new(&root));
    let av = c.report.av.as_ref().unwrap();
    assert_eq!(av.signature_version.as_deref(), Some(sig_version.as_str()));
    let published = av.signature_published_at.unwrap();
    assert_eq!(
        published.timestamp() / 60,
        build_time.timestamp() / 60,
        "same minute as sigtool says"
    );
    let scan = av.quick_scan.as_ref().unwrap();
    assert_eq!((scan.status.as_str(), scan.time), ("Completed", end));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    c.report.validate().unwrap();
    println!("ClamAV {version}: daily {sig_version} built {build_time}, last scan {end}");
}
