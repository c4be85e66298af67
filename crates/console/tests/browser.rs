//! The console in a real headless Chromium, driven through chromedriver (WebDriver) by
//! fantoccini, against a real served console and API over a seeded store with three
//! published snapshots:
//! - a wrong password is refused with a clear message; sign-in and sign-out work;
//! - every page opens, with no error in the browser's console log, no serious or
//!   critical axe-core violation, and Tab reaching the page's controls; a screenshot of
//!   each is written to `target/console-screenshots/`;
//! - the overview's figures equal the figures recounted from the API's records of the
//!   same snapshot; overview → CVE → device, with the CVE's and device's numbers equal
//!   to the API's;
//! - a user limited to one group sees only that group's devices and counts everywhere.
//!
//! Needs `chromium` and `chromium-driver` (Debian) and `npm install -g axe-core`;
//! without them the test skips, and fails under `POSTURE_REQUIRE_TOOLS=1`.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use testkit::recount::Recount;

const INSTALL: &str =
    "apt-get install -y chromium chromium-driver nodejs npm && npm install -g axe-core";

fn axe_script() -> Option<String> {
    let root = match std::env::var_os("POSTURE_NODE_MODULES") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let out = Command::new("npm").args(["root", "-g"]).output().ok()?;
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    std::fs::read_to_string(root.join("axe-core").join("axe.min.js")).ok()
}

struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Chromium's browser-log entries since the last call (chromedriver's log endpoint).
#[derive(Debug)]
struct GetLog;
impl fantoccini::wd::WebDriverCompatibleCommand for GetLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

async fn browser_errors(c: &Client) -> Vec<String> {
    let logs = c.issue_cmd(GetLog).await.expect("the browser log");
    logs.as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["level"].as_str() == Some("SEVERE"))
                .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

struct Checker {
    client: Client,
    axe: String,
    shots: PathBuf,
}

impl Checker {
    /// Opens `path`, screenshots it as `name`, and checks the log, axe-core and Tab.
    async fn open(&self, base: &str, path: &str, name: &str) -> String {
        let c = &self.client;
        c.goto(&format!("{base}{path}"))
            .await
            .expect("open the page");
        let png = c.screenshot().await.expect("a screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write the screenshot");
        let errors = browser_errors(c).await;
        assert!(
            errors.is_empty(),
            "{path}: browser console errors: {errors:?}"
        );
        // axe-core: no serious or critical violation.
        c.execute(&self.axe, vec![]).await.expect("inject axe-core");
        let violations = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                    .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join('; ') + ')')))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        let violations: Vec<String> = serde_json::from_value(violations).unwrap_or_default();
        assert!(
            violations.is_empty(),
            "{path}: accessibility: {violations:?}"
        );
        // Keyboard: Tab moves the focus through the page's links and controls.
        let focusable: i64 = c
            .execute(
                "return document.querySelectorAll('a[href], button, input:not([type=hidden]), select').length;",
                vec![],
            )
            .await
            .expect("count controls")
            .as_i64()
            .unwrap_or(0);
        let body = c.find(Locator::Css("body")).await.expect("the body");
        let mut reached = BTreeSet::new();
        for _ in 0..focusable.min(12) {
            body.send_keys("\u{E004}").await.expect("press Tab");
            let tag = c
                .execute(
                    "const e = document.activeElement; return e ? e.tagName + ' ' + (e.textContent || e.name || '').trim().slice(0, 30) : '';",
                    vec![],
                )
                .await
                .expect("the focused element");
            reached.insert(tag.as_str().unwrap_or_default().to_owned());
        }
        assert!(
            reached
                .iter()
                .any(|t| t.starts_with('A') || t.starts_with("BUTTON") || t.starts_with("INPUT")),
            "{path}: Tab reached no control: {reached:?}"
        );
        c.source().await.expect("the page source")
    }

    async fn figure(&self, id: &str) -> String {
        self.client
            .find(Locator::Css(&format!("[data-figure=\"{id}\"]")))
            .await
            .unwrap_or_else(|e| panic!("figure {id}: {e}"))
            .text()
            .await
            .expect("the figure's text")
            .trim()
            .to_owned()
    }

    async fn sign_in(&self, base: &str, user: &str, password: &str) {
        let c = &self.client;
        c.goto(&format!("{base}/console/signin"))
            .await
            .expect("the sign-in page");
        c.find(Locator::Id("username"))
            .await
            .expect("user field")
            .send_keys(user)
            .await
            .expect("type");
        c.find(Locator::Id("password"))
            .await
            .expect("password field")
            .send_keys(password)
            .await
            .expect("type");
        c.find(Locator::Css("form.signin button"))
            .await
            .expect("sign-in button")
            .click()
            .await
            .expect("click");
        // A click returns before the form's navigation completes: wait for its result
        // (the console, or the sign-in form again with its error), not for a fixed time.
        self.wait_until("the sign-in result", async || {
            let on_signin = self.path().await.ends_with("/console/signin");
            !on_signin || c.find(Locator::Id("signin-error")).await.is_ok()
        })
        .await;
    }

    async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    /// Polls `done` until it holds, for at most 15 s (a slow CI machine's page load).
    async fn wait_until(&self, what: &str, mut done: impl AsyncFnMut() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !done().await {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: still waiting after 15 s, at {}",
                self.path().await
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn sign_out(&self) {
        self.client
            .find(Locator::Css("header form button"))
            .await
            .expect("the sign-out button")
            .click()
            .await
            .expect("click");
        self.wait_until("the sign-in form after sign-out", async || {
            self.path().await.ends_with("/console/signin")
        })
        .await;
    }
}

/// Every record of a paged API export, following nextLinks.
async fn api_records(http: &reqwest::Client, first: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(url) = next {
        let page: Value = http
            .get(&url)
            .send()
            .await
            .expect("API call")
            .json()
            .await
            .expect("JSON page");
        out.extend(page["value"].as_array().cloned().unwrap_or_default());
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let Some(chromium) = testkit::require_tool(
        "chromium (headless browser for the console tests)",
        INSTALL,
        testkit::tools::which("chromium"),
    ) else {
        return;
    };
    let Some(chromedriver) = testkit::require_tool(
        "chromedriver (Debian chromium-driver)",
        INSTALL,
        testkit::tools::which("chromedriver"),
    ) else {
        return;
    };
    let Some(axe) =
        testkit::require_tool("axe-core (npm install -g axe-core)", INSTALL, axe_script())
    else {
        return;
    };

    // A fleet with three published snapshots (trends), each six hours apart.
    let t0 = testkit::world::utc(2026, 11, 20, 12);
    let world = testkit::world::seeded(160, 21, t0, 5);
    let opts = testkit::world::small_parts(60_000, 64);
    testkit::world::publish_at(&world.snapshots, t0, &opts);
    for step in 1..3 {
        let at = t0 + chrono::Duration::hours(6 * step);
        emulator::advance_fleet(world.store.as_ref(), 6, at, &|_| {}).expect("advance the fleet");
        testkit::world::publish_at(&world.snapshots, at, &opts);
    }
    let snap = world.snapshots.latest().expect("a snapshot");
    let summary = snap.summary().expect("a summary").clone();
    let limited_group = summary.groups[0].id;

    // API (open access) and console (users of a real identity store) in one server.
    let (listener, base) = testkit::world::bind_loopback(0).await;
    let identity = Arc::new(
        identity::Identity::open(
            world.dir.path(),
            identity::IdentityConfig::new(base.clone()),
        )
        .expect("the identity store"),
    );
    identity
        .create_user(
            "analyst",
            "correct horse battery",
            &["Vulnerability.Read"],
            None,
        )
        .expect("a user");
    identity
        .create_user(
            "limited",
            "staple battery horse",
            &["Vulnerability.Read"],
            Some(&[limited_group]),
        )
        .expect("a limited user");
    let console = console::Console::new(
        world.snapshots.clone(),
        console::ConsoleAccess::Users(identity.clone()),
        &base,
    );
    let app = server::router(testkit::world::api_state(world.snapshots.clone(), &base))
        .merge(console::router(Arc::new(console)));
    let _served = testkit::world::serve_router(listener, base.clone(), app);

    // The API's records of the latest snapshot, recounted.
    let http = reqwest::Client::new();
    let as_of = model::percent::encode(&model::timefmt::generated(&snap.manifest.generated_at));
    let vulns = api_records(
        &http,
        &format!("{base}/api/machines/SoftwareVulnerabilitiesByMachine?asOf={as_of}"),
    )
    .await;
    let sca = api_records(
        &http,
        &format!("{base}/api/machines/SecureConfigurationsAssessmentByMachine?asOf={as_of}"),
    )
    .await;
    let av = api_records(&http, &format!("{base}/api/deviceavinfo?$top=10000")).await;
    let all = Recount::of(&vulns, &av, &sca);
    let in_group = |v: &Value| v["rbacGroupId"].as_i64() == Some(i64::from(limited_group));
    let only = |rows: &[Value]| {
        rows.iter()
            .filter(|v| in_group(v))
            .cloned()
            .collect::<Vec<_>>()
    };
    let limited = Recount::of(&only(&vulns), &only(&av), &only(&sca));
    let other_devices: BTreeSet<String> = av
        .iter()
        .filter(|v| !in_group(v))
        .map(|v| v["machineId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!other_devices.is_empty() && limited.devices > 0);

    // chromedriver and a headless Chromium (the WebDriver client's TLS needs a provider).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = testkit::free_port().expect("a free port");
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"]
        },
        "goog:loggingPrefs": {"browser": "ALL"}
    }))
    .expect("capabilities");
    let mut client = None;
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .expect("a WebDriver client")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let checker = Checker {
        client: client.expect("a browser session"),
        axe,
        shots: screenshots_dir(),
    };
    let c = &checker.client;

    // Signed out: every page leads to the sign-in form; a wrong password is refused clearly.
    c.goto(&format!("{base}/console/devices"))
        .await
        .expect("open");
    assert!(
        c.current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/console/signin")
    );
    checker.open(&base, "/console/signin", "signin").await;
    checker.sign_in(&base, "analyst", "not the password").await;
    let message = c
        .find(Locator::Id("signin-error"))
        .await
        .expect("an error message")
        .text()
        .await
        .expect("text");
    assert_eq!(message, "Wrong user name or password.");
    // (The refused sign-in's 401 is a network error in Chromium's log; start clean.)
    let _ = browser_errors(c).await;
    checker
        .open(&base, "/console/signin", "signin-wrong-password")
        .await;

    // Signed in with every group.
    checker
        .sign_in(&base, "analyst", "correct horse battery")
        .await;
    checker.open(&base, "/console", "overview").await;
    assert_eq!(checker.figure("devices").await, all.devices.to_string());
    assert_eq!(
        checker.figure("exposed-devices").await,
        all.exposed_devices.to_string()
    );
    let total: u64 = all.vulnerabilities.values().sum();
    assert_eq!(checker.figure("vulnerabilities").await, total.to_string());
    for (severity, n) in &all.vulnerabilities {
        assert_eq!(
            checker.figure(&format!("severity-{severity}")).await,
            format!("{severity} {n}")
        );
    }
    assert_eq!(
        checker.figure("kev-devices").await,
        all.kev_devices.to_string()
    );
    assert_eq!(
        checker.figure("kev-vulnerabilities").await,
        all.kev_vulnerabilities.to_string()
    );
    assert_eq!(
        checker.figure("av-out-of-date").await,
        all.av_out_of_date.to_string()
    );
    assert_eq!(
        checker.figure("config-applicable").await,
        all.config_applicable.to_string()
    );
    assert_eq!(
        checker.figure("config-compliant").await,
        all.config_compliant.to_string()
    );
    let charts = c.find_all(Locator::Css(".card svg")).await.expect("charts");
    assert_eq!(charts.len(), 6, "one trend chart per figure");

    // Overview → CVE → device, numbers equal to the API's.
    let first = c
        .find(Locator::Css("a[data-cve]"))
        .await
        .expect("a CVE link");
    let cve = first
        .attr("data-cve")
        .await
        .expect("attr")
        .expect("a CVE id");
    first.click().await.expect("open the CVE");
    let cve_path = c.current_url().await.expect("url").path().to_owned();
    assert_eq!(
        checker.figure("cve-devices").await,
        all.cve_devices[&cve].to_string(),
        "{cve}"
    );
    let cve_path = checker.open(&base, &cve_path, "cve").await;
    assert!(cve_path.contains("Evidence"));
    let device_link = c
        .find(Locator::Css("a[data-device]"))
        .await
        .expect("a device link");
    let device = device_link
        .attr("data-device")
        .await
        .expect("attr")
        .expect("a device id");
    device_link.click().await.expect("open the device");
    let device_path = c.current_url().await.expect("url").path().to_owned();
    let device_vulns = vulns
        .iter()
        .filter(|v| v["deviceId"] == device.as_str())
        .count();
    assert_eq!(
        checker.figure("device-vulnerabilities").await,
        device_vulns.to_string()
    );
    assert!(
        vulns
            .iter()
            .any(|v| v["deviceId"] == device.as_str() && v["cveId"] == cve.as_str()),
        "the device has the CVE"
    );
    checker.open(&base, &device_path, "device").await;

    for (path, name) in [
        ("/console/vulnerabilities", "vulnerabilities"),
        (
            "/console/vulnerabilities?severity=High&kev=on",
            "vulnerabilities-filtered",
        ),
        ("/console/software", "software"),
        ("/console/devices", "devices"),
        (
            &*format!("/console/devices?q={}", &device[..8]),
            "devices-search",
        ),
        ("/console/configuration", "configuration"),
        ("/console/coverage", "coverage"),
    ] {
        checker.open(&base, path, name).await;
        if name == "devices-search" {
            assert_eq!(checker.figure("device-matches").await, "1");
        }
    }
    checker.sign_out().await;

    // A user limited to one group: that group's counts and devices only.
    checker
        .sign_in(&base, "limited", "staple battery horse")
        .await;
    let mut pages = vec![
        "/console".to_owned(),
        "/console/vulnerabilities".into(),
        "/console/software".into(),
        "/console/devices".into(),
        "/console/configuration".into(),
        "/console/coverage".into(),
    ];
    let own_cve = limited
        .cve_devices
        .keys()
        .next()
        .expect("a CVE in the group")
        .clone();
    pages.push(format!("/console/vulnerabilities/{own_cve}"));
    for (i, path) in pages.iter().enumerate() {
        let source = checker.open(&base, path, &format!("limited-{i}")).await;
        for d in &other_devices {
            assert!(
                !source.contains(d.as_str()),
                "{path} shows device {d} of another group"
            );
        }
        if path == "/console" {
            assert_eq!(checker.figure("devices").await, limited.devices.to_string());
            assert_eq!(
                checker.figure("exposed-devices").await,
                limited.exposed_devices.to_string()
            );
            assert_eq!(
                checker.figure("av-out-of-date").await,
                limited.av_out_of_date.to_string()
            );
            assert_eq!(
                checker.figure("config-applicable").await,
                limited.config_applicable.to_string()
            );
        }
        if path.starts_with("/console/vulnerabilities/") {
            assert_eq!(
                checker.figure("cve-devices").await,
                limited.cve_devices[&own_cve].to_string()
            );
        }
        if path == "/console/devices" {
            let rows = c
                .find_all(Locator::Css("a[data-device]"))
                .await
                .expect("device links");
            assert_eq!(rows.len() as u64, limited.devices.min(200));
        }
    }
    // Another group's device and a CVE seen only elsewhere are not found.
    let other = other_devices.iter().next().expect("another group's device");
    c.goto(&format!("{base}/console/devices/{other}"))
        .await
        .expect("open");
    let text = c
        .find(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    assert!(text.contains("No device"), "{text}");
    if let Some(elsewhere) = all
        .cve_devices
        .keys()
        .find(|k| !limited.cve_devices.contains_key(*k))
    {
        c.goto(&format!("{base}/console/vulnerabilities/{elsewhere}"))
            .await
            .expect("open");
        let text = c
            .find(Locator::Css("main"))
            .await
            .expect("main")
            .text()
            .await
            .expect("text");
        assert!(text.contains("not found"), "{text}");
    }
    let _ = browser_errors(c).await;
    checker.sign_out().await;
    checker
        .client
        .clone()
        .close()
        .await
        .expect("close the browser");
}
