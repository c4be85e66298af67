//! The binary as a user runs it: real processes, a real data directory.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

fn posture(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_posture"));
    c.arg("--data-dir").arg(dir).arg("--log").arg("warn");
    c
}

/// Starts `posture serve` on a free port; returns the child and the base URL line it prints.
/// Authentication and limits are off: these tests are about the data path (both have their own tests).
fn serve(dir: &Path) -> (std::process::Child, String) {
    serve_with(dir, &["--auth", "off", "--limits", "off"])
}

/// Starts `posture serve` on a free port with extra arguments.
fn serve_with(dir: &Path, extra: &[&str]) -> (std::process::Child, String) {
    let mut child = posture(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (child, line)
}

fn json(out: std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn kill_dash_nine_during_publish_leaves_the_previous_snapshot_serving() {
    let dir = tempfile::tempdir().unwrap();
    json(
        posture(dir.path())
            .args(["--json", "seed", "--devices", "3000", "--seed", "5"])
            .output()
            .unwrap(),
    );
    let first = json(
        posture(dir.path())
            .args(["--json", "publish"])
            .output()
            .unwrap(),
    );
    // Kill a second publish as soon as it has started writing its temporary directory.
    let mut child = posture(dir.path())
        .args(["publish"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let snapshots = dir.path().join("snapshots");
    let started = std::time::Instant::now();
    while started.elapsed().as_secs() < 60 {
        let tmp = std::fs::read_dir(&snapshots)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"));
        if tmp {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    // SIGKILL: no destructor, no clean-up runs.
    child.kill().unwrap();
    child.wait().unwrap();
    let list = json(
        posture(dir.path())
            .args(["--json", "snapshots"])
            .output()
            .unwrap(),
    );
    let list = list.as_array().unwrap();
    assert_eq!(
        list.len(),
        1,
        "the killed publish must not be visible: {list:?}"
    );
    assert_eq!(list[0]["timePath"], first["timePath"]);
    assert!(
        !std::fs::read_dir(&snapshots)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
    );
    // And the next publish works.
    let next = json(
        posture(dir.path())
            .args(["--json", "publish"])
            .output()
            .unwrap(),
    );
    assert_ne!(next["timePath"], first["timePath"]);
}

#[test]
fn kb_import_reports_position_of_a_broken_file_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.json");
    std::fs::write(
        &file,
        br#"{"format":"NVD_CVE","version":"2.0","vulnerabilities":[{"cve":{"id":"CVE-2024-0001","#,
    )
    .unwrap();
    let out = posture(dir.path())
        .args(["kb", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.json:1:"), "{err}");
    let status = json(
        posture(dir.path())
            .args(["--json", "kb", "status"])
            .output()
            .unwrap(),
    );
    assert_eq!(status["kbVersion"], 0);
}

/// Issue 11 item 6: several files make ONE KB version; the help names every format;
/// `kb status` shows OSV per ecosystem and each feed's last import; `kb sync` of a
/// `file://` mirror records the feed's last sync.
#[test]
fn kb_import_of_several_files_is_one_version_and_status_shows_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kb/tests/fixtures");
    let help = posture(dir.path())
        .args(["kb", "import", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for format in ["NVD CVE API 2.0", "CISA KEV", "OSV", "all.zip", "EPSS"] {
        assert!(help.contains(format), "{format} missing from:\n{help}");
    }
    let imported = json(
        posture(dir.path())
            .args(["--json", "kb", "import"])
            .arg(fixtures.join("nvd-sample.json"))
            .arg(fixtures.join("kev-subset.json"))
            .arg(fixtures.join("osv/PYSEC-2023-228.json"))
            .arg(fixtures.join("osv/DSA-5514-1.json"))
            .output()
            .unwrap(),
    );
    assert_eq!(imported["kbVersion"], 1, "{imported}");
    assert_eq!(imported["files"].as_array().unwrap().len(), 4);
    let status = json(
        posture(dir.path())
            .args(["--json", "kb", "status"])
            .output()
            .unwrap(),
    );
    assert_eq!(status["kbVersion"], 1);
    assert_eq!(status["osvEcosystems"]["PyPI"], 1, "{status}");
    assert_eq!(status["osvEcosystems"]["Debian:12"], 1, "{status}");
    let feeds = status["feeds"].as_array().unwrap();
    for feed in ["nvd", "kev", "osv"] {
        let f = feeds.iter().find(|f| f["feed"] == feed).unwrap();
        assert!(f["lastImport"].is_string(), "{f}");
        assert!(f["records"].as_u64().unwrap() > 0, "{f}");
    }
    let out = testkit::tools::run_ok(
        posture(dir.path())
            .args(["--json", "kb", "sync", "--feed", "kev", "--kev-url"])
            .arg(format!(
                "file://{}",
                fixtures.join("kev-subset.json").display()
            )),
        "posture",
    );
    let synced: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        synced["kbVersion"], 1,
        "identical content: same version: {synced}"
    );
    let status = json(
        posture(dir.path())
            .args(["--json", "kb", "status"])
            .output()
            .unwrap(),
    );
    let kev = status["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feed"] == "kev")
        .unwrap()
        .clone();
    assert!(kev["lastSync"].is_string(), "{kev}");
}

#[test]
fn demo_serves_with_authentication_and_prints_a_working_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = posture(dir.path())
        .args(["demo", "--devices", "50", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line.trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let api = format!("{base}/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=3");
    // Without a token: 401 in the API's error format.
    let r = reqwest::blocking::get(&api).unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // The demo prints a curl line with a token; it works.
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let token = std::io::BufRead::lines(stderr)
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("Authorization: Bearer ")
                .nth(1)
                .and_then(|t| t.split('\'').next())
                .map(str::to_owned)
        })
        .expect("the demo prints a token");
    let body = reqwest::blocking::Client::new()
        .get(&api)
        .bearer_auth(&token)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 3, "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
    // The demo application reads everything but cannot use the admin endpoint.
    let apps = json(
        posture(dir.path())
            .args(["--json", "apps", "list"])
            .output()
            .unwrap(),
    );
    let roles = apps[0]["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 3, "{apps}");
    assert!(!roles.iter().any(|r| r == "Posture.Admin"), "{apps}");
}

#[test]
fn reports_acknowledged_before_a_kill_dash_nine_are_all_present_after_restart() {
    acknowledged_reports_survive_a_kill_dash_nine(None);
}

/// The same against a real PostgreSQL server (`--store postgres://...`).
#[test]
fn reports_acknowledged_before_a_kill_dash_nine_are_all_present_after_restart_on_postgres() {
    let Some(url) = testkit::postgres::fresh_database() else {
        return;
    };
    acknowledged_reports_survive_a_kill_dash_nine(Some(&url));
}

fn acknowledged_reports_survive_a_kill_dash_nine(store: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let posture = |dir: &Path| {
        let mut c = posture(dir);
        if let Some(url) = store {
            c.arg("--store").arg(url);
        }
        c
    };
    let key = json(
        posture(dir.path())
            .args(["--json", "ingest-keys", "create", "--name", "agents"])
            .output()
            .unwrap(),
    );
    let key = key["key"].as_str().unwrap().to_owned();
    let mut server = posture(dir.path());
    server
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--auth",
            "off",
            "--limits",
            "off",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut server = server.spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = format!("{}/ingest/v1/reports", line.trim());
    let cfg = emulator::FleetConfig::new(40, 77, chrono::Utc::now());
    let client = reqwest::blocking::Client::new();
    let mut acknowledged = Vec::new();
    for batch in 0..4u32 {
        let reports: Vec<model::DeviceReport> = (batch * 10..batch * 10 + 10)
            .map(|i| emulator::device_report(&cfg, i))
            .collect();
        let body: String = reports
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        let r = client
            .post(&url)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let answer: serde_json::Value = r.json().unwrap();
        assert_eq!(answer["accepted"], 10);
        acknowledged.extend(reports.into_iter().map(|r| r.device_id.to_string()));
    }
    // SIGKILL right after the last acknowledgement: no shutdown code runs.
    server.kill().unwrap();
    server.wait().unwrap();
    let opened = store::StoreLocation::parse(store, &dir.path().join("state.db"))
        .and_then(|l| l.open())
        .unwrap();
    assert_eq!(opened.device_count().unwrap(), acknowledged.len() as u64);
    for id in &acknowledged {
        assert!(
            opened.device(id).unwrap().is_some(),
            "acknowledged report of {id} lost"
        );
    }
    if store.is_some() {
        assert!(
            !dir.path().join("state.db").exists(),
            "with --store postgres:// the data directory holds no SQLite store"
        );
    }
}

/// The ecosystem of this machine's distribution, from os-release (`Debian:12`).
fn local_ecosystem() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(|v| v.trim_matches('"').to_owned())
    };
    let (id, version) = (field("ID")?, field("VERSION_ID")?);
    (id == "debian").then(|| format!("Debian:{version}"))
}

#[test]
fn the_agent_ingests_this_machines_dpkg_inventory_and_advisories_match_exactly() {
    let (Some(ecosystem), Ok(out)) = (
        local_ecosystem(),
        Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "dpkg"])
            .output(),
    ) else {
        return testkit::tools::missing(
            "dpkg-query on a Debian machine (the agent end-to-end test)",
            "run on Debian or Ubuntu with dpkg installed",
        );
    };
    let installed = String::from_utf8(out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Two advisories of real OSV shape for a package this machine has: one whose range
    // includes the installed version (fixed in a later revision), one that excludes it
    // (fixed in exactly the installed version).
    let record = |n: u32, fixed: &str| {
        serde_json::json!({
            "schema_version": "1.6.0",
            "id": format!("DEBIAN-CVE-2026-999000{n}"),
            "modified": "2026-11-01T00:00:00Z",
            "published": "2026-10-01T00:00:00Z",
            "upstream": [format!("CVE-2026-999000{n}")],
            "summary": "[TEST] advisory written by Posture's end-to-end test",
            "affected": [{
                "package": {"ecosystem": ecosystem, "name": "dpkg", "purl": "pkg:deb/debian/dpkg?arch=source"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
            }]
        })
    };
    let feed = dir.path().join("osv.json");
    std::fs::write(
        &feed,
        serde_json::to_vec(&[
            record(1, &format!("{installed}+posture1")),
            record(2, &installed),
        ])
        .unwrap(),
    )
    .unwrap();
    json(
        posture(dir.path())
            .args(["--json", "kb", "import"])
            .arg(&feed)
            .output()
            .unwrap(),
    );
    let key = json(
        posture(dir.path())
            .args(["--json", "ingest-keys", "create", "--name", "this-machine"])
            .output()
            .unwrap(),
    );
    let key = key["key"].as_str().unwrap().to_owned();
    let (mut server, line) = serve(dir.path());
    let base = line.trim().to_owned();
    let agent = posture(dir.path())
        .args([
            "agent",
            "--once",
            "--server",
            &base,
            "--key",
            &key,
            "--state-dir",
        ])
        .arg(dir.path().join("agent-state"))
        .output()
        .unwrap();
    assert!(
        agent.status.success(),
        "agent failed: {}",
        String::from_utf8_lossy(&agent.stderr)
    );
    let published = json(
        posture(dir.path())
            .args(["--json", "publish"])
            .output()
            .unwrap(),
    );
    assert_eq!(published["devices"], 1);
    // The running server picks up the new snapshot; then the API returns exactly one row.
    let started = std::time::Instant::now();
    let rows = loop {
        let page: serde_json::Value = reqwest::blocking::get(format!(
            "{base}/api/machines/SoftwareVulnerabilitiesByMachine"
        ))
        .unwrap()
        .json()
        .unwrap();
        if page.get("value").is_some() || started.elapsed().as_secs() > 20 {
            break page["value"].as_array().cloned().unwrap_or_default();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    server.kill().unwrap();
    server.wait().unwrap();
    // Expected: one row per installed binary package built from source `dpkg` at the
    // installed version (dpkg's own mapping), all for the including advisory only.
    let map = Command::new("dpkg-query")
        .args([
            "-W",
            "-f=${Package} ${source:Package} ${source:Version} ${db:Status-Abbrev}\n",
        ])
        .output()
        .unwrap();
    let mut expected: Vec<String> = String::from_utf8(map.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[1] == "dpkg" && f[2] == installed && f[3].starts_with("ii"))
                .then(|| f[0].to_owned())
        })
        .collect();
    expected.sort();
    expected.dedup();
    let mut got: Vec<String> = rows
        .iter()
        .map(|r| r["softwareName"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    assert_eq!(got, expected, "{rows:?}");
    assert!(expected.contains(&"dpkg".to_owned()));
    for r in &rows {
        assert_eq!(r["cveId"], "CVE-2026-9990001");
        assert_eq!(r["securityUpdateAvailable"], true);
    }
    let dpkg_row = rows.iter().find(|r| r["softwareName"] == "dpkg").unwrap();
    assert_eq!(dpkg_row["softwareVersion"], installed.as_str());
    assert_eq!(
        dpkg_row["recommendedSecurityUpdate"],
        format!("Update dpkg to version {installed}+posture1 or later")
    );
    // The real inventory arrived: hundreds of packages in the non-CPE inventory.
    assert!(
        published["rows"]["NonCpeSoftware"].as_u64().unwrap() > 100,
        "{published}"
    );
}

#[test]
fn via_files_exports_are_written_at_publish_and_downloadable_by_signed_url() {
    let dir = tempfile::tempdir().unwrap();
    json(
        posture(dir.path())
            .args(["--json", "seed", "--devices", "300", "--seed", "9"])
            .output()
            .unwrap(),
    );
    let published = json(
        posture(dir.path())
            .args(["--json", "publish", "--part-mib", "1"])
            .output()
            .unwrap(),
    );
    let (mut server, line) = serve(dir.path());
    let base = line.trim().to_owned();
    let client = reqwest::blocking::Client::new();
    for (path, kind) in [
        ("machines/SoftwareVulnerabilitiesExport", "Vulnerabilities"),
        (
            "machines/SecureConfigurationsAssessmentExport",
            "SecureConfiguration",
        ),
        ("machines/SoftwareInventoryExport", "SoftwareInventory"),
        ("machines/SoftwareInventoryNonCpeExport", "NonCpeSoftware"),
        ("machines/InfoGatheringExport", "InfoGathering"),
    ] {
        let answer: serde_json::Value = client
            .get(format!("{base}/api/{path}?$sasValidHours=2"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(
            answer["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("#microsoft.windowsDefenderATP.api.ExportFilesResponse")
        );
        assert_eq!(
            answer["generatedTime"].as_str().unwrap().len(),
            "2021-01-11T11:01:00Z".len()
        );
        let urls: Vec<String> = answer["exportFiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_owned())
            .collect();
        assert!(!urls.is_empty(), "{path}");
        let mut lines = 0u64;
        for url in &urls {
            assert!(
                url.contains("/json/OrgId=")
                    && url.contains("/_RbacGroupId=")
                    && url.contains("&sig="),
                "{url}"
            );
            let body = client.get(url).send().unwrap();
            assert_eq!(body.status().as_u16(), 200, "{url}");
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&body.bytes().unwrap()[..]),
                &mut text,
            )
            .unwrap();
            for l in text.lines() {
                serde_json::from_str::<serde_json::Value>(l).unwrap();
                lines += 1;
            }
        }
        assert_eq!(lines, published["rows"][kind].as_u64().unwrap(), "{path}");
        // A tampered signature is refused without detail.
        let tampered = urls[0].replace("&sig=", "&sig=AAAA");
        assert_eq!(client.get(&tampered).send().unwrap().status().as_u16(), 403);
    }
    // `asOf` selects the files of an earlier retained snapshot, as it selects pages.
    let second = json(
        posture(dir.path())
            .args(["--json", "publish", "--part-mib", "1"])
            .output()
            .unwrap(),
    );
    let export_list = |query: &str| -> serde_json::Value {
        client
            .get(format!(
                "{base}/api/machines/SoftwareVulnerabilitiesExport{query}"
            ))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    // Minute precision: `2026-11-20T13:01`.
    let minute = |v: &serde_json::Value| v.as_str().unwrap_or_default()[..16].to_owned();
    let started = std::time::Instant::now();
    while minute(&export_list("")["generatedTime"]) != minute(&second["generatedAt"])
        && started.elapsed().as_secs() < 10
    {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        minute(&export_list("")["generatedTime"]),
        minute(&second["generatedAt"])
    );
    let first_time = published["generatedAt"].as_str().unwrap();
    let old = export_list(&format!("?asOf={first_time}"));
    assert_eq!(
        minute(&old["generatedTime"]),
        minute(&published["generatedAt"]),
        "{old}"
    );
    let first_path = published["timePath"].as_str().unwrap();
    for url in old["exportFiles"].as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(url.contains(first_path), "{url} is not of {first_path}");
        assert_eq!(client.get(url).send().unwrap().status().as_u16(), 200);
    }
    let too_old = client
        .get(format!(
            "{base}/api/machines/SoftwareVulnerabilitiesExport?asOf=2000-01-01"
        ))
        .send()
        .unwrap();
    assert_eq!(too_old.status().as_u16(), 400);
    // Fault injection: URLs handed out already expired are refused at download.
    let faults = dir.path().join("faults.json");
    std::fs::write(
        &faults,
        r#"{"seed":1,"rules":[{"endpoint":"machines/InfoGatheringExport","expireFileUrls":1.0}]}"#,
    )
    .unwrap();
    let faults_arg = faults.to_str().unwrap();
    let (mut faulty, faulty_base) = serve_with(
        dir.path(),
        &["--auth", "off", "--limits", "off", "--faults", faults_arg],
    );
    let answer: serde_json::Value = client
        .get(format!(
            "{}/api/machines/InfoGatheringExport",
            faulty_base.trim()
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let url = answer["exportFiles"][0].as_str().unwrap().to_owned();
    assert_eq!(
        client.get(&url).send().unwrap().status().as_u16(),
        403,
        "{url}"
    );
    faulty.kill().unwrap();
    faulty.wait().unwrap();
    let r = client
        .get(format!(
            "{base}/api/machines/SoftwareVulnerabilitiesExport?sasValidHours=25"
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn an_application_limited_to_a_group_sees_only_that_groups_rows_and_files() {
    let dir = tempfile::tempdir().unwrap();
    json(
        posture(dir.path())
            .args(["--json", "seed", "--devices", "200", "--seed", "13"])
            .output()
            .unwrap(),
    );
    json(
        posture(dir.path())
            .args(["--json", "publish", "--part-mib", "1"])
            .output()
            .unwrap(),
    );
    let app = json(
        posture(dir.path())
            .args([
                "--json",
                "apps",
                "create",
                "--name",
                "servers-only",
                "--roles",
                "Vulnerability.Read.All",
                "--groups",
                "86",
            ])
            .output()
            .unwrap(),
    );
    let (mut server, base) = serve_with(dir.path(), &["--limits", "off"]);
    let base = base.trim().to_owned();
    let client = reqwest::blocking::Client::new();
    let bearer = common::token(&base, &app);
    let get = |path: &str| {
        client
            .get(format!("{base}/api/{path}"))
            .bearer_auth(&bearer)
            .send()
            .unwrap()
    };
    let files: serde_json::Value = get("machines/SoftwareVulnerabilitiesExport")
        .json()
        .unwrap();
    let urls = files["exportFiles"].as_array().unwrap();
    assert!(!urls.is_empty());
    assert!(
        urls.iter()
            .all(|u| u.as_str().unwrap().contains("/_RbacGroupId=86/")),
        "{urls:?}"
    );
    let page: serde_json::Value = get("machines/SoftwareVulnerabilitiesByMachine?pageSize=100000")
        .json()
        .unwrap();
    let rows = page["value"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r["rbacGroupId"] == 86));
    // A role the application lacks: 403 naming what is required.
    let r = get("machines/SoftwareInventoryByMachine");
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().unwrap().contains("Software.Read.All"));
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn time_travel_by_command_and_admin_endpoint_produces_deltas() {
    let dir = tempfile::tempdir().unwrap();
    json(
        posture(dir.path())
            .args(["--json", "seed", "--devices", "300", "--seed", "21"])
            .output()
            .unwrap(),
    );
    let first = json(
        posture(dir.path())
            .args(["--json", "publish", "--exports", "off"])
            .output()
            .unwrap(),
    );
    let advanced = json(
        posture(dir.path())
            .args(["--json", "advance", "--hours", "12", "--exports", "off"])
            .output()
            .unwrap(),
    );
    assert_eq!(advanced["advance"]["step"], 1);
    let changes = &advanced["publish"]["changes"];
    assert!(
        changes["new"].as_u64().unwrap() > 0 && changes["fixed"].as_u64().unwrap() > 0,
        "{advanced}"
    );
    // The admin endpoint is off by default ...
    let (mut plain, base) = serve(dir.path());
    let client = reqwest::blocking::Client::new();
    let r = client
        .post(format!("{}/admin/advance?hours=6", base.trim()))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    plain.kill().unwrap();
    plain.wait().unwrap();
    // With authentication on it needs the Posture.Admin role: no token (a browser form
    // posted from another site carries none) is 401, a data role 403, in MDE's body.
    let token_of = |roles: &str| {
        let app = json(
            posture(dir.path())
                .args([
                    "--json", "apps", "create", "--name", roles, "--roles", roles,
                ])
                .output()
                .unwrap(),
        );
        (
            app["clientId"].as_str().unwrap().to_owned(),
            app["secret"].as_str().unwrap().to_owned(),
        )
    };
    let reader = token_of("Vulnerability.Read.All,Machine.ReadWrite.All");
    let admin_app = token_of("Posture.Admin");
    let (mut guarded, base) = serve_with(dir.path(), &["--admin", "--exports", "off"]);
    let base = base.trim().to_owned();
    let tenant = json(
        posture(dir.path())
            .args(["--json", "apps", "list"])
            .output()
            .unwrap(),
    )[0]["tenantId"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = |(id, secret): &(String, String)| -> String {
        let r: serde_json::Value = client
            .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
                ("scope", "https://api.securitycenter.microsoft.com/.default"),
            ])
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["access_token"].as_str().unwrap().to_owned()
    };
    let advance = format!("{base}/admin/advance?hours=6");
    let form_post = client
        .post(&advance)
        .header("Origin", "https://evil.example")
        .form(&[("x", "1")])
        .send()
        .unwrap();
    assert_eq!(form_post.status().as_u16(), 403);
    let r = client.post(&advance).send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "Unauthorized");
    let r = client
        .post(&advance)
        .bearer_auth(token(&reader))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().unwrap().contains("Posture.Admin"));
    let r = client
        .post(&advance)
        .bearer_auth(token(&admin_app))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let report: serde_json::Value = r.json().unwrap();
    assert_eq!(report["advance"]["step"], 2);
    guarded.kill().unwrap();
    guarded.wait().unwrap();
    // With --auth off it stays refused unless explicitly opened ...
    let no_auth = [
        "--auth",
        "off",
        "--limits",
        "off",
        "--admin",
        "--exports",
        "off",
    ];
    let (mut refused, base) = serve_with(dir.path(), &no_auth);
    let r = client
        .post(format!("{}/admin/advance?hours=6", base.trim()))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    refused.kill().unwrap();
    refused.wait().unwrap();
    // ... and advances and publishes when it is.
    let open: Vec<&str> = no_auth
        .iter()
        .copied()
        .chain(["--admin-without-auth"])
        .collect();
    let (mut admin, base) = serve_with(dir.path(), &open);
    let base = base.trim().to_owned();
    let r = client
        .post(format!("{base}/admin/advance?hours=6"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let report: serde_json::Value = r.json().unwrap();
    assert_eq!(report["advance"]["step"], 3);
    let bad = client
        .post(format!("{base}/admin/advance?hours=0"))
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    // The delta since the first snapshot holds both later publishes' changes.
    let since = first["generatedAt"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    let delta = loop {
        let page: serde_json::Value = client
            .get(format!(
                "{base}/api/machines/SoftwareVulnerabilityChangesByMachine"
            ))
            .query(&[("sinceTime", since.as_str()), ("pageSize", "200000")])
            .send()
            .unwrap()
            .json()
            .unwrap();
        let n = page["value"].as_array().map_or(0, Vec::len) as u64;
        let expected = changes["new"].as_u64().unwrap()
            + changes["fixed"].as_u64().unwrap()
            + changes["updated"].as_u64().unwrap();
        if n > expected || started.elapsed().as_secs() > 10 {
            break page;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let statuses: std::collections::BTreeSet<&str> = delta["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains("New") && statuses.contains("Fixed"),
        "{statuses:?}"
    );
    admin.kill().unwrap();
    admin.wait().unwrap();
}

#[test]
fn bench_and_bench_ingest_run_end_to_end_at_small_scale() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("scale");
    let report = json(
        posture(&data)
            .args(["--json", "bench", "--devices", "60", "--page-size", "500"])
            .output()
            .unwrap(),
    );
    let rows = report["vulnerabilityRows"].as_u64().unwrap();
    assert!(rows > 0, "{report}");
    let pages = report["pages"].as_u64().unwrap();
    assert!(
        (rows.div_ceil(500)..=rows.div_ceil(500) + 1).contains(&pages),
        "{report}"
    );
    assert_eq!(report["devices"], 60);
    assert!(report["seedSeconds"].as_f64().is_some(), "{report}");
    for figure in [
        "snapshotBytes",
        "publishPeakRssMb",
        "seedPeakRssMb",
        "serverPeakAnonMb",
        "ttfbFirstPageMedianMs",
        "ttfbLastPageMedianMs",
        "ttfbMedianLastOverFirst",
    ] {
        assert!(report[figure].as_f64().unwrap() > 0.0, "{figure}: {report}");
    }
    // The walk's peak is measured apart from the console stage's.
    assert!(
        report["serverConsolePeakRssMb"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    assert!(
        report["serverPeakRssMb"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    // The default 6 h advance published a second snapshot and served its delta.
    assert!(report["deltaPublishSeconds"].as_f64().is_some(), "{report}");
    assert!(report["deltaRecords"].as_u64().is_some(), "{report}");
    // Each stage's storage traffic, where the kernel counts it (it does on Linux).
    if std::path::Path::new("/proc/self/io").exists() {
        for stage in ["seed", "publish", "stateScan", "walks", "advance"] {
            let io = &report["diskIo"][stage];
            for counter in ["readMb", "writtenMb"] {
                assert!(io[counter].as_f64().is_some(), "{stage}: {report}");
            }
        }
        assert!(report["deltaDiffReadMb"].as_f64().is_some(), "{report}");
    }

    // A second run on the same directory is refused unless it reuses the data.
    let again = posture(&data)
        .args(["bench", "--devices", "60"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("bench needs a fresh --data-dir"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let reused = posture(&data)
        .args([
            "bench",
            "--reuse",
            "--devices",
            "60",
            "--advance-hours",
            "0",
        ])
        .output()
        .unwrap();
    assert!(
        reused.status.success(),
        "{}",
        String::from_utf8_lossy(&reused.stderr)
    );
    // Reused: nothing seeded or published this time; the walk is of the advanced snapshot.
    let text = String::from_utf8_lossy(&reused.stdout);
    assert!(
        text.starts_with("devices 60  vulnerability rows "),
        "{text}"
    );
    assert!(
        text.contains("\nseed+ingest -  publish -  assessment -  scan+render+write -\n"),
        "{text}"
    );

    let ingested = json(
        posture(&dir.path().join("ingest"))
            .args([
                "--json",
                "bench-ingest",
                "--reports",
                "40",
                "--software",
                "20",
                "--settings",
                "10",
                "--batch",
                "15",
                "--concurrency",
                "2",
                "--gzip",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(ingested["reports"], 40);
    assert!(ingested["requestBytes"].as_u64().unwrap() > 0, "{ingested}");
    assert!(
        ingested["directSeconds"].as_f64().unwrap() > 0.0,
        "{ingested}"
    );
    assert!(
        ingested["apiOverDirect"].as_f64().unwrap() > 0.0,
        "{ingested}"
    );
}

/// `bench-ingest --store postgres://…` loads the same reports a second time into a
/// sibling database it creates, and compares the two rates.
#[test]
fn bench_ingest_compares_the_api_with_the_store_on_postgres() {
    let Some(url) = testkit::postgres::fresh_database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ingested = json(
        posture(dir.path())
            .args(["--store", &url, "--json", "bench-ingest", "--reports", "30"])
            .args(["--software", "10", "--settings", "5", "--batch", "10"])
            .output()
            .unwrap(),
    );
    assert_eq!(ingested["reports"], 30, "{ingested}");
    assert!(
        ingested["apiOverDirect"].as_f64().unwrap() > 0.0,
        "{ingested}"
    );
}

/// `--store postgres://...` on seed, publish, snapshots and kb status: the same fleet
/// publishes the same rows from PostgreSQL as from SQLite.
#[test]
fn the_same_fleet_publishes_the_same_rows_from_postgres_and_sqlite() {
    let Some(url) = testkit::postgres::fresh_database() else {
        return;
    };
    let mut published = Vec::new();
    for store in [None, Some(url.as_str())] {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let mut c = posture(dir.path());
            if let Some(url) = store {
                c.arg("--store").arg(url);
            }
            json(c.arg("--json").args(args).output().unwrap())
        };
        run(&["seed", "--devices", "300", "--seed", "9"]);
        let report = run(&["publish"]);
        let list = run(&["snapshots"]);
        assert_eq!(list.as_array().unwrap().len(), 1);
        let kb = run(&["kb", "status"]);
        assert_eq!(
            dir.path().join("state.db").exists(),
            store.is_none(),
            "the SQLite file only without --store"
        );
        published.push((report, kb));
    }
    let ((sqlite, sqlite_kb), (pg, pg_kb)) = (&published[0], &published[1]);
    for field in ["devices", "distinctSoftware", "findings", "rows"] {
        assert_eq!(sqlite[field], pg[field], "{field}");
    }
    assert_eq!(sqlite_kb["kbVersion"], pg_kb["kbVersion"]);
    assert_eq!(sqlite_kb["records"], pg_kb["records"]);
    assert_eq!(pg["devices"], 300);
}

#[test]
fn a_bad_or_unreachable_store_is_a_clear_error_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    for (url, expect) in [
        (
            "postgres://posture:hunter2@127.0.0.1:1/posture",
            "cannot connect to PostgreSQL at postgres://posture:***@127.0.0.1:1/posture",
        ),
        (
            "postgres://posture:hunter2@127.0.0.1:notaport/posture",
            "invalid store URL postgres://posture:***@127.0.0.1:notaport/posture",
        ),
        (
            "mysql://posture:hunter2@127.0.0.1/posture",
            "invalid store URL mysql://posture:***@127.0.0.1/posture",
        ),
    ] {
        for env in [false, true] {
            let mut c = posture(dir.path());
            if env {
                c.env("POSTURE_STORE", url);
            } else {
                c.args(["--store", url]);
            }
            let out = c.arg("snapshots").output().unwrap();
            assert!(!out.status.success());
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.starts_with("error: "), "{err}");
            assert!(err.contains(expect), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}
