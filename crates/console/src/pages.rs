//! The pages. Overview, vulnerabilities, software, configuration and coverage read the
//! summary tables only; the CVE and device pages read the latest snapshot's rows of
//! that CVE or device. Every page applies the viewer's groups.

use crate::chart::{self, Series};
use crate::view::{api_link, enc, kev_badge, severity, shell, svg};
use crate::{Console, PageError, Params, Viewer};
use maud::{Markup, html};
use model::timefmt;
use serde_json::Value;
use snapshot::summary::{Counts, SEVERITIES, Summary};
use snapshot::{ExportKind, Snapshot};
use std::collections::{BTreeMap, BTreeSet};

const VULN_PATH: &str = "/api/machines/SoftwareVulnerabilitiesByMachine";
const SCA_PATH: &str = "/api/machines/SecureConfigurationsAssessmentByMachine";
const INVENTORY_PATH: &str = "/api/machines/SoftwareInventoryByMachine";
const NONCPE_PATH: &str = "/api/machines/SoftwareInventoryNoProductCodeByMachine";
/// Rows listed at most on one page.
const LIST_LIMIT: usize = 200;

/// Runs `f` with the latest snapshot and its summary.
fn with_latest<T>(
    c: &Console,
    f: impl FnOnce(&Snapshot, &Summary) -> Result<T, PageError>,
) -> Result<T, PageError> {
    let s = c.snapshots.latest().ok_or(PageError::NoSnapshot)?;
    let summary = s.summary().ok_or(PageError::NoSnapshot)?;
    f(&s, summary)
}

/// `?asOf=<snapshot time>`: pins an API request to the snapshot shown.
fn as_of(s: &Snapshot) -> String {
    format!(
        "asOf={}",
        enc(&timefmt::generated(&s.manifest.generated_at))
    )
}

fn group_names(summary: &Summary) -> BTreeMap<u32, &str> {
    summary
        .groups
        .iter()
        .map(|g| (g.id, g.name.as_str()))
        .collect()
}

fn snapshot_line(s: &Snapshot) -> Markup {
    html! {
        p.meta {
            "Snapshot " code { (s.time_path()) } " generated "
            time datetime=(timefmt::iso_z(&s.manifest.generated_at)) { (timefmt::generated(&s.manifest.generated_at)) }
        }
    }
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

pub(crate) fn overview(c: &Console, v: &Viewer) -> Result<Markup, PageError> {
    with_latest(c, |s, summary| {
        let allowed = v.groups();
        let now = summary.counts(allowed);
        // Trends: the summaries of the retained snapshots, oldest first.
        let mut labels = Vec::new();
        let mut history: Vec<Counts> = Vec::new();
        for snap in c.snapshots.list() {
            if let Some(sum) = snap.summary() {
                labels.push(snap.manifest.generated_at.format("%m-%d %H:%M").to_string());
                history.push(sum.counts(allowed));
            }
        }
        let series = |label: &'static str, color, f: &dyn Fn(&Counts) -> f64| Series {
            label,
            values: history.iter().map(f).collect(),
            color,
        };
        let at = as_of(s);
        let av_filter = enc(
            "avIsSignatureUpToDate eq 'False' or avIsEngineUpToDate eq 'False' or avIsPlatformUpToDate eq 'False'",
        );
        let top = summary.cves(allowed);
        let feeds = c.feeds.as_ref().map(|f| f.feeds()).unwrap_or_default();
        let exports = export::index_of(s);
        let card = |id: &str,
                    title: &str,
                    value: String,
                    sub: Markup,
                    link: Markup,
                    chart: Option<String>| {
            html! {
                section.card aria-labelledby=(format!("h-{id}")) {
                    h2 id=(format!("h-{id}")) { (title) }
                    div.value data-figure=(id) { (value) }
                    div.sub { (sub) " " (link) }
                    (svg(chart))
                }
            }
        };
        let body = html! {
            (snapshot_line(s))
            p.meta {
                "Last publish: " (timefmt::generated(&s.manifest.generated_at))
                " · knowledge base version " (s.manifest.kb_version)
                " · retained snapshots: " (c.snapshots.list().len())
                " · exports: "
                @match &exports {
                    Some(ix) => { (ix.exports.values().map(|e| e.files.len()).sum::<usize>()) " files written" }
                    None => { "none for this snapshot" }
                }
            }
            p.meta {
                "Last feed sync: "
                @if feeds.is_empty() { "no feed imported yet" }
                @for (i, f) in feeds.iter().enumerate() {
                    @if i > 0 { " · " }
                    (f.feed) " "
                    @match &f.last { Some(t) => { (timefmt::generated(t)) } None => { "never" } }
                }
            }
            div.cards {
                (card("devices", "Devices", now.devices.to_string(), html!{ "reporting devices" },
                    api_link(c, "/api/deviceavinfo?$top=10000", "the device count (count the records)"),
                    chart::trend("Devices", &labels, &[series("devices", chart::BLUE, &|c| c.devices as f64)])))
                (card("exposed-devices", "Exposed devices", now.exposed_devices.to_string(),
                    html!{ (pct(now.exposed_devices, now.devices)) " of devices have a CVE" },
                    api_link(c, &format!("{VULN_PATH}?{at}"), "exposed devices (distinct deviceId of records with a cveId)"),
                    chart::trend("Exposed devices", &labels, &[series("exposed devices", chart::RED, &|c| c.exposed_devices as f64)])))
                (card("vulnerabilities", "Vulnerabilities", now.vulnerability_total().to_string(),
                    html!{
                        @for (i, sev) in SEVERITIES.iter().enumerate() {
                            @if let Some(n) = now.vulnerabilities.get(*sev) {
                                @if i > 0 { " " }
                                span data-figure=(format!("severity-{sev}")) { (sev) " " (n) }
                            }
                        }
                    },
                    api_link(c, &format!("{VULN_PATH}?{at}"), "vulnerabilities by severity (records with a cveId, by vulnerabilitySeverityLevel)"),
                    chart::trend("Vulnerabilities by severity", &labels, &[
                        series("Critical", chart::RED, &|c| c.vulnerabilities.get("Critical").copied().unwrap_or(0) as f64),
                        series("High", chart::ORANGE, &|c| c.vulnerabilities.get("High").copied().unwrap_or(0) as f64),
                        series("Medium", chart::OCHRE, &|c| c.vulnerabilities.get("Medium").copied().unwrap_or(0) as f64),
                        series("Low", chart::GREEN, &|c| c.vulnerabilities.get("Low").copied().unwrap_or(0) as f64),
                    ])))
                (card("kev-devices", "KEV-listed exposure", now.kev_devices.to_string(),
                    html!{ "devices; " span data-figure="kev-vulnerabilities" { (now.kev_vulnerabilities) } " records" },
                    api_link(c, &format!("{VULN_PATH}?{at}"), "KEV exposure (records with exploitabilityLevel ExploitIsVerified or ExploitIsInKit)"),
                    chart::trend("KEV-listed exposure", &labels, &[series("devices", chart::RED, &|c| c.kev_devices as f64)])))
                (card("av-out-of-date", "Antivirus out of date", now.av_out_of_date.to_string(),
                    html!{ (now.av_unknown) " unknown" },
                    api_link(c, &format!("/api/deviceavinfo?$top=10000&$filter={av_filter}"), "antivirus out of date"),
                    chart::trend("Antivirus out of date", &labels, &[series("devices", chart::ORANGE, &|c| c.av_out_of_date as f64)])))
                (card("compliance", "Configuration compliance", format!("{:.1}%", now.compliance_percent()),
                    html!{ span data-figure="config-compliant" { (now.config_compliant) } " of " span data-figure="config-applicable" { (now.config_applicable) } " applicable checks pass" },
                    api_link(c, &format!("{SCA_PATH}?{at}"), "configuration compliance (isCompliant of isApplicable records)"),
                    chart::trend("Configuration compliance", &labels, &[series("percent", chart::GREEN, &|c| c.compliance_percent())])))
            }
            h2 { "Most exposed CVEs" }
            (cve_table(c, s, summary, &top.iter().take(10).cloned().collect::<Vec<_>>()))
            p { a href="/console/vulnerabilities" { "All vulnerabilities" } }
        };
        Ok(shell(v, "/console", "Overview", body))
    })
}

fn cve_table(
    c: &Console,
    s: &Snapshot,
    summary: &Summary,
    rows: &[snapshot::summary::CveExposure],
) -> Markup {
    let at = as_of(s);
    html! {
        table {
            thead { tr {
                th scope="col" { "CVE" } th scope="col" { "Severity" } th.num scope="col" { "CVSS" }
                th scope="col" { "Exploit" } th.num scope="col" { "Exposed devices" } th.num scope="col" { "Records" }
                th scope="col" { "Software" } th scope="col" { "API" }
            } }
            tbody {
                @for e in rows {
                    @let info = summary.cves.get(&e.cve);
                    tr {
                        td { a href=(format!("/console/vulnerabilities/{}", enc(&e.cve))) data-cve=(e.cve) { (e.cve) } }
                        td { (severity(info.and_then(|i| i.severity.as_deref()))) }
                        td.num { @if let Some(score) = info.and_then(|i| i.cvss) { (format!("{score:.1}")) } }
                        td { (info.map_or("", |i| i.exploitability.as_str())) " " (kev_badge(info.is_some_and(|i| i.kev))) }
                        td.num data-cve-devices=(e.cve) { (e.devices) }
                        td.num { (e.records) }
                        td { (info.map(|i| i.software.join(", ")).unwrap_or_default()) }
                        td { (api_link(c, &format!("{VULN_PATH}?{at}"), &format!("{} (records with cveId {})", e.cve, e.cve))) }
                    }
                }
            }
        }
    }
}

pub(crate) fn vulnerabilities(c: &Console, v: &Viewer, q: &Params) -> Result<Markup, PageError> {
    with_latest(c, |s, summary| {
        let sev = q
            .get("severity")
            .map(String::as_str)
            .filter(|x| !x.is_empty());
        if let Some(x) = sev
            && !SEVERITIES.contains(&x)
        {
            return Err(PageError::BadRequest(format!("Unknown severity '{x}'.")));
        }
        let kev_only = q.get("kev").is_some_and(|x| x == "on" || x == "true");
        let software = q
            .get("software")
            .map(|x| x.trim().to_lowercase())
            .filter(|x| !x.is_empty());
        let group: Option<u32> = match q.get("group").map(String::as_str).filter(|x| !x.is_empty())
        {
            None => None,
            Some(g) => Some(
                g.parse()
                    .map_err(|_| PageError::BadRequest(format!("Unknown group '{g}'.")))?,
            ),
        };
        let names = group_names(summary);
        let visible: Vec<u32> = names.keys().copied().filter(|g| v.sees(*g)).collect();
        let allowed: Vec<u32> = match group {
            Some(g) if visible.contains(&g) => vec![g],
            Some(g) => return Err(PageError::BadRequest(format!("Unknown group '{g}'."))),
            None => visible.clone(),
        };
        let rows: Vec<_> = summary
            .cves(Some(&allowed))
            .into_iter()
            .filter(|e| {
                let info = summary.cves.get(&e.cve);
                sev.is_none_or(|x| info.and_then(|i| i.severity.as_deref()).unwrap_or("None") == x)
                    && (!kev_only || info.is_some_and(|i| i.kev))
                    && software.as_ref().is_none_or(|w| {
                        info.is_some_and(|i| {
                            i.software.iter().any(|n| n.to_lowercase().contains(w))
                        })
                    })
            })
            .collect();
        let shown: Vec<_> = rows.iter().take(LIST_LIMIT).cloned().collect();
        let body = html! {
            (snapshot_line(s))
            form.filters method="get" action="/console/vulnerabilities" aria-label="Filter vulnerabilities" {
                label for="f-severity" { "Severity"
                    select id="f-severity" name="severity" {
                        option value="" selected[sev.is_none()] { "Any" }
                        @for x in SEVERITIES { option value=(x) selected[sev == Some(x)] { (x) } }
                    }
                }
                label for="f-group" { "Device group"
                    select id="f-group" name="group" {
                        option value="" selected[group.is_none()] { "All visible groups" }
                        @for g in &visible { option value=(g) selected[group == Some(*g)] { (names.get(g).copied().unwrap_or("")) } }
                    }
                }
                label for="f-software" { "Software"
                    input id="f-software" name="software" type="search" value=(q.get("software").cloned().unwrap_or_default());
                }
                label for="f-kev" { "KEV only"
                    input id="f-kev" name="kev" type="checkbox" checked[kev_only];
                }
                button type="submit" { "Filter" }
            }
            p.meta { span data-figure="cve-count" { (rows.len()) } " CVEs"
                @if rows.len() > shown.len() { ", the " (shown.len()) " with most exposed devices shown" } }
            (cve_table(c, s, summary, &shown))
        };
        Ok(shell(
            v,
            "/console/vulnerabilities",
            "Vulnerabilities",
            body,
        ))
    })
}

/// One decoded vulnerability record.
fn record(s: &Snapshot, kind: ExportKind, row: u64, buf: &mut Vec<u8>) -> Value {
    buf.clear();
    s.render(kind, row, buf);
    serde_json::from_slice(buf).unwrap_or(Value::Null)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// `{"deviceId":..,"rbacGroupName":..,"deviceName":..,"osPlatform":..,` as JSON.
fn device_head(s: &Snapshot, d: u32) -> Value {
    let head = s.device_head(d);
    let mut text = head.to_vec();
    if text.last() == Some(&b',') {
        text.pop();
    }
    text.push(b'}');
    serde_json::from_slice(&text).unwrap_or(Value::Null)
}

fn secs_text(secs: u32) -> String {
    chrono::DateTime::from_timestamp(i64::from(secs), 0)
        .map(|t| timefmt::generated(&t))
        .unwrap_or_default()
}

pub(crate) fn cve(c: &Console, v: &Viewer, id: &str) -> Result<Markup, PageError> {
    with_latest(c, |s, summary| {
        let id = id.trim().to_ascii_uppercase();
        let allowed = v.groups();
        let exposure = summary.cves(allowed).into_iter().find(|e| e.cve == id);
        let (Some(info), Some(exposure)) = (summary.cves.get(&id), exposure) else {
            return Err(PageError::NotFound(format!(
                "{id} is not found on any device you can see in this snapshot."
            )));
        };
        // The findings of this CVE (one per affected software version).
        let findings: BTreeSet<u32> = (0..s.finding_count() as u32)
            .filter(|f| s.finding_cve(*f) == Some(id.as_str()))
            .collect();
        // One pass over the vulnerability rows with a bitmap of the CVE's findings.
        let mut is_finding = vec![false; s.finding_count()];
        for f in &findings {
            if let Some(slot) = is_finding.get_mut(*f as usize) {
                *slot = true;
            }
        }
        // The CVE's rows device by device, merged from the index written at publish; a
        // snapshot published before the index is scanned whole.
        let merged = s.vuln_rows_of_findings(findings.iter().copied());
        // A viewer of every group reads only the rows of the devices shown: the counts
        // come from the summary and the index's list lengths.
        let counted = allowed.is_none() && merged.is_some();
        let candidates: Box<dyn Iterator<Item = u64>> = match merged {
            Some(rows) => Box::new(rows),
            None => Box::new(0..s.rows(ExportKind::Vulnerabilities)),
        };
        // Rows per software version, and the devices shown: (device, first seen, software).
        let mut versions: BTreeMap<u32, u64> = BTreeMap::new();
        let mut shown: Vec<(u32, u32, u32)> = Vec::new();
        let mut device_count = 0u64;
        let mut last_device = None;
        for (n, i) in candidates.enumerate() {
            // A CVE on much of a large fleet reads rows across the whole row file: keep
            // the mapped pages within the budget during the pass, not only after it.
            if n % crate::TRIM_EVERY_ROWS == crate::TRIM_EVERY_ROWS - 1 {
                snapshot::resident::trim_if_over_budget();
            }
            let Some(r) = s.vuln_row(i) else { break };
            if !is_finding.get(r.finding as usize).copied().unwrap_or(false)
                || !v.sees(s.device_group(r.device))
            {
                continue;
            }
            let software = s.finding_software(r.finding);
            if last_device != Some(r.device) {
                // Rows come in device order, each device's rows together.
                if counted && shown.len() == LIST_LIMIT {
                    break;
                }
                last_device = Some(r.device);
                device_count += 1;
                if shown.len() < LIST_LIMIT {
                    shown.push((r.device, r.first_seen, software));
                }
            } else if let Some(last) = shown.last_mut().filter(|last| last.0 == r.device) {
                last.1 = last.1.min(r.first_seen);
            }
            if !counted {
                *versions.entry(software).or_default() += 1;
            }
        }
        if counted {
            device_count = exposure.devices;
            for f in &findings {
                let rows = s.vuln_row_count_of_finding(*f).unwrap_or(0);
                if rows > 0 {
                    *versions.entry(s.finding_software(*f)).or_default() += rows;
                }
            }
        }
        let version_name =
            |software: u32| String::from_utf8_lossy(s.software_key(software)).replace('\0', " ");
        let mut versions: Vec<(String, u64)> = versions
            .into_iter()
            .map(|(software, rows)| (version_name(software), rows))
            .collect();
        versions.sort();
        let evidence = evidence_of(s, &findings);
        let at = as_of(s);
        let body = html! {
            (snapshot_line(s))
            dl.facts {
                dt { "Severity" } dd { (severity(info.severity.as_deref())) }
                dt { "CVSS" } dd { @if let Some(x) = info.cvss { (format!("{x:.1}")) } @else { "—" } }
                dt { "Exploitability" } dd { (info.exploitability) " " (kev_badge(info.kev)) }
                dt { "Exposed devices" } dd data-figure="cve-devices" { (exposure.devices) }
                dt { "Records" } dd data-figure="cve-records" { (exposure.records) }
                dt { "API" } dd { (api_link(c, &format!("{VULN_PATH}?{at}"), &format!("the records of {id}"))) }
            }
            h2 { "Affected software versions" }
            table {
                thead { tr { th scope="col" { "Vendor, product, version" } th.num scope="col" { "Devices" } } }
                tbody { @for (k, n) in &versions { tr { td { (k) } td.num { (n) } } } }
            }
            h2 { "Evidence" }
            table {
                thead { tr { th scope="col" { "Software" } th scope="col" { "Feed" } th scope="col" { "Record" } th scope="col" { "Criteria" } th scope="col" { "Range" } } }
                tbody {
                    @for e in &evidence {
                        tr {
                            td { (e["software"].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(" ")).unwrap_or_default()) }
                            td { (str_of(&e["evidence"], "feed")) }
                            td { (str_of(&e["evidence"], "recordId")) }
                            td { code { (str_of(&e["evidence"], "criteria")) } }
                            td { (range_text(&e["evidence"]["range"])) }
                        }
                    }
                }
            }
            h2 { "Devices" }
            p.meta { (device_count) " devices"
                @if device_count > LIST_LIMIT as u64 { ", the first " (LIST_LIMIT) " shown" } }
            table {
                thead { tr { th scope="col" { "Device" } th scope="col" { "Group" } th scope="col" { "Software" } th scope="col" { "First seen" } } }
                tbody {
                    @for (d, first, software) in &shown {
                        @let head = device_head(s, *d);
                        tr {
                            td { a href=(format!("/console/devices/{}", enc(str_of(&head, "deviceId")))) data-device=(str_of(&head, "deviceId")) {
                                (head["deviceName"].as_str().unwrap_or(str_of(&head, "deviceId"))) } }
                            td { (str_of(&head, "rbacGroupName")) }
                            td { (version_name(*software)) }
                            td { (secs_text(*first)) }
                        }
                    }
                }
            }
        };
        Ok(shell(v, "/console/vulnerabilities", &id, body))
    })
}

fn range_text(r: &Value) -> String {
    match r {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                format!(
                    "{k} {}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The evidence lines of `findings` (from `evidence.ndjson`).
fn evidence_of(s: &Snapshot, findings: &BTreeSet<u32>) -> Vec<Value> {
    let Some(text) = s.read_file("evidence.ndjson") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        if !findings.contains(&(i as u32)) {
            continue;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(line) {
            out.push(v);
        }
    }
    out
}

pub(crate) fn software(c: &Console, v: &Viewer, _q: &Params) -> Result<Markup, PageError> {
    with_latest(c, |s, summary| {
        let versions = summary.software(v.groups());
        // Products: versions added up.
        #[derive(Default)]
        struct Product {
            devices: u64,
            exposed: u64,
            versions: u64,
            eos: u64,
        }
        let mut products: BTreeMap<(String, String), Product> = BTreeMap::new();
        for x in &versions {
            let p = products
                .entry((x.vendor.clone(), x.name.clone()))
                .or_default();
            p.devices += x.devices;
            p.exposed += x.exposed_devices;
            p.versions += 1;
            p.eos += u64::from(x.end_of_support.is_some());
        }
        let mut products: Vec<_> = products.into_iter().collect();
        products.sort_by(|a, b| {
            b.1.exposed
                .cmp(&a.1.exposed)
                .then(b.1.devices.cmp(&a.1.devices))
        });
        let at = as_of(s);
        let body = html! {
            (snapshot_line(s))
            p.meta { (products.len()) " products, " (versions.len()) " versions installed. "
                (api_link(c, &format!("{INVENTORY_PATH}?{at}"), "the software inventory")) }
            h2 { "Most exposed products" }
            table {
                thead { tr { th scope="col" { "Vendor" } th scope="col" { "Product" } th.num scope="col" { "Devices" }
                    th.num scope="col" { "Exposed devices" } th.num scope="col" { "Versions" } th.num scope="col" { "End-of-support versions" } } }
                tbody {
                    @for ((vendor, name), p) in products.iter().take(50) {
                        tr {
                            td { (vendor) }
                            td { a href=(format!("/console/vulnerabilities?software={}", enc(name))) { (name) } }
                            td.num { (p.devices) } td.num { (p.exposed) } td.num { (p.versions) } td.num { (p.eos) }
                        }
                    }
                }
            }
            h2 { "Most exposed versions" }
            table {
                thead { tr { th scope="col" { "Vendor" } th scope="col" { "Product" } th scope="col" { "Version" } th.num scope="col" { "Devices" }
                    th.num scope="col" { "Exposed devices" } th.num scope="col" { "CVEs" } th scope="col" { "End of support" } } }
                tbody {
                    @for x in versions.iter().take(100) {
                        tr {
                            td { (x.vendor) } td { (x.name) } td { (x.version) }
                            td.num { (x.devices) } td.num { (x.exposed_devices) } td.num { (x.cves) }
                            td { (x.end_of_support.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        };
        Ok(shell(v, "/console/software", "Software", body))
    })
}

pub(crate) fn devices(c: &Console, v: &Viewer, q: &Params) -> Result<Markup, PageError> {
    with_latest(c, |s, _summary| {
        let query = q
            .get("q")
            .map(|x| x.trim().to_lowercase())
            .unwrap_or_default();
        if query.len() > 200 {
            return Err(PageError::BadRequest("The search is too long.".into()));
        }
        let mut found = Vec::new();
        let mut total = 0usize;
        // Without a query every device is listed; the search (made once per snapshot)
        // is not needed for that.
        let search;
        let matches = match query.is_empty() {
            true => snapshot::Matches::Every(0..s.device_count()),
            false => {
                search = c.search.of(s);
                search.matches(query.as_bytes())
            }
        };
        for d in matches.filter(|&d| v.sees(s.device_group(d))) {
            total += 1;
            if found.len() < LIST_LIMIT {
                found.push(d);
            }
        }
        let body = html! {
            (snapshot_line(s))
            form.filters method="get" action="/console/devices" role="search" aria-label="Find devices" {
                label for="f-q" { "Device name or id"
                    input id="f-q" name="q" type="search" value=(q.get("q").cloned().unwrap_or_default());
                }
                button type="submit" { "Search" }
            }
            p.meta { span data-figure="device-matches" { (total) } " devices"
                @if total > found.len() { ", the first " (found.len()) " shown" } }
            table {
                thead { tr { th scope="col" { "Device" } th scope="col" { "Id" } th scope="col" { "Group" } th scope="col" { "OS" } th.num scope="col" { "Vulnerabilities" } } }
                tbody {
                    @for d in &found {
                        @let head = device_head(s, *d);
                        @let id = str_of(&head, "deviceId");
                        tr {
                            td { a href=(format!("/console/devices/{}", enc(id))) data-device=(id) { (head["deviceName"].as_str().unwrap_or(id)) } }
                            td { code { (id) } }
                            td { (str_of(&head, "rbacGroupName")) }
                            td { (str_of(&head, "osPlatform")) }
                            td.num { (s.vuln_rows_of(*d).end - s.vuln_rows_of(*d).start) }
                        }
                    }
                }
            }
        };
        Ok(shell(v, "/console/devices", "Devices", body))
    })
}

/// The CVE ids of a device in a snapshot.
fn device_cves(s: &Snapshot, d: u32) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for i in s.vuln_rows_of(d) {
        if let Some(r) = s.vuln_row(i)
            && let Some(c) = s.finding_cve(r.finding)
        {
            out.insert(c.to_owned());
        }
    }
    out
}

pub(crate) fn device(c: &Console, v: &Viewer, id: &str) -> Result<Markup, PageError> {
    with_latest(c, |s, _summary| {
        let id = id.trim().to_ascii_lowercase();
        let not_found =
            || PageError::NotFound(format!("No device {id} you can see in this snapshot."));
        let d = s.find_device(&id).ok_or_else(not_found)?;
        if !v.sees(s.device_group(d)) {
            return Err(not_found());
        }
        let mut buf = Vec::new();
        let av = record(s, ExportKind::DeviceAv, u64::from(d), &mut buf);
        let vulns: Vec<Value> = s
            .vuln_rows_of(d)
            .map(|i| record(s, ExportKind::Vulnerabilities, i, &mut buf))
            .collect();
        let software: Vec<Value> = s
            .rows_of(ExportKind::SoftwareInventory, d)
            .map(|i| record(s, ExportKind::SoftwareInventory, i, &mut buf))
            .collect();
        let noncpe: Vec<Value> = s
            .rows_of(ExportKind::NonCpeSoftware, d)
            .map(|i| record(s, ExportKind::NonCpeSoftware, i, &mut buf))
            .collect();
        let failed: Vec<Value> = s
            .rows_of(ExportKind::SecureConfiguration, d)
            .map(|i| record(s, ExportKind::SecureConfiguration, i, &mut buf))
            .filter(|r| {
                r["isApplicable"].as_bool() == Some(true)
                    && r["isCompliant"].as_bool() == Some(false)
            })
            .collect();
        // What changed in each retained snapshot: the device's CVEs against the previous one.
        let mut changes = Vec::new();
        let mut previous: Option<BTreeSet<String>> = None;
        for snap in c.snapshots.list() {
            let cves = snap
                .find_device(&id)
                .filter(|x| v.sees(snap.device_group(*x)))
                .map(|x| device_cves(&snap, x));
            let (new, fixed) = match (&previous, &cves) {
                (Some(p), Some(n)) => (
                    n.difference(p).cloned().collect(),
                    p.difference(n).cloned().collect(),
                ),
                (None, Some(n)) => (n.iter().cloned().collect::<Vec<_>>(), Vec::new()),
                (Some(p), None) => (Vec::new(), p.iter().cloned().collect()),
                (None, None) => (Vec::new(), Vec::new()),
            };
            changes.push((
                snap.manifest.generated_at,
                cves.as_ref().map(BTreeSet::len),
                new,
                fixed,
            ));
            previous = cves;
        }
        let name = av["computerDnsName"].as_str().unwrap_or(&id).to_owned();
        let machine = enc(&format!("machineId eq '{id}'"));
        let at = as_of(s);
        let body = html! {
            (snapshot_line(s))
            dl.facts {
                dt { "Device id" } dd { code data-figure="device-id" { (id) } }
                dt { "Group" } dd { (str_of(&av, "rbacGroupName")) }
                dt { "OS" } dd { (str_of(&av, "osPlatform")) " " (str_of(&av, "osVersion")) }
                dt { "Last seen" } dd { (str_of(&av, "lastSeenTime")) }
                dt { "Vulnerabilities" } dd data-figure="device-vulnerabilities" { (vulns.len()) }
            }
            h2 { "Antivirus" " " (api_link(c, &format!("/api/deviceavinfo?$filter={machine}"), "this device's antivirus state")) }
            dl.facts {
                dt { "Mode" } dd { (str_of(&av, "avMode")) }
                dt { "Signature" } dd { (str_of(&av, "avSignatureVersion")) " — up to date: " span data-figure="av-signature" { (str_of(&av, "avIsSignatureUpToDate")) } }
                dt { "Engine" } dd { (str_of(&av, "avEngineVersion")) " — up to date: " (str_of(&av, "avIsEngineUpToDate")) }
                dt { "Platform" } dd { (str_of(&av, "avPlatformVersion")) " — up to date: " (str_of(&av, "avIsPlatformUpToDate")) }
                dt { "Quick scan" } dd { (str_of(&av, "quickScanResult")) " " (str_of(&av, "quickScanTime")) }
            }
            h2 { "Vulnerabilities " (api_link(c, &format!("{VULN_PATH}?{at}"), "this device's vulnerabilities (records with its deviceId)")) }
            table {
                thead { tr { th scope="col" { "CVE" } th scope="col" { "Severity" } th scope="col" { "Exploit" } th scope="col" { "Software" } th scope="col" { "First seen" } th scope="col" { "Recommended update" } } }
                tbody {
                    @for r in &vulns {
                        tr {
                            td { @if let Some(cve) = r["cveId"].as_str() { a href=(format!("/console/vulnerabilities/{}", enc(cve))) { (cve) } } @else { "end of support" } }
                            td { (severity(r["vulnerabilitySeverityLevel"].as_str())) }
                            td { (str_of(r, "exploitabilityLevel")) }
                            td { (str_of(r, "softwareVendor")) " " (str_of(r, "softwareName")) " " (str_of(r, "softwareVersion")) }
                            td { (str_of(r, "firstSeenTimestamp")) }
                            td { (str_of(r, "recommendedSecurityUpdate")) }
                        }
                    }
                }
            }
            h2 { "Failed configurations " (api_link(c, &format!("{SCA_PATH}?{at}"), "this device's configuration records")) }
            table {
                thead { tr { th scope="col" { "Configuration" } th scope="col" { "Name" } th scope="col" { "Category" } th.num scope="col" { "Impact" } } }
                tbody { @for r in &failed { tr {
                    td { code { (str_of(r, "configurationId")) } } td { (str_of(r, "configurationName")) }
                    td { (str_of(r, "configurationCategory")) } td.num { (r["configurationImpact"].to_string()) } } } }
            }
            h2 { "Software " (api_link(c, &format!("{INVENTORY_PATH}?{at}"), "this device's software inventory")) }
            table {
                thead { tr { th scope="col" { "Vendor" } th scope="col" { "Name" } th scope="col" { "Version" } th.num scope="col" { "Weaknesses" } th scope="col" { "End of support" } } }
                tbody {
                    @for r in &software { tr {
                        td { (str_of(r, "softwareVendor")) } td { (str_of(r, "softwareName")) } td { (str_of(r, "softwareVersion")) }
                        td.num { (r["numberOfWeaknesses"].to_string()) } td { (str_of(r, "endOfSupportStatus")) } } }
                    @for r in &noncpe { tr {
                        td { (str_of(r, "softwareVendor")) } td { (str_of(r, "softwareName")) " (no CPE)" } td { (str_of(r, "softwareVersion")) }
                        td.num { "—" } td { } } }
                }
            }
            h2 { "Changes per retained snapshot" }
            table {
                thead { tr { th scope="col" { "Snapshot" } th.num scope="col" { "CVEs" } th scope="col" { "New" } th scope="col" { "Fixed" } } }
                tbody {
                    @for (t, n, new, fixed) in &changes { tr {
                        td { (timefmt::generated(t)) }
                        td.num { @match n { Some(n) => { (n) } None => { "absent" } } }
                        td { (list_text(new)) } td { (list_text(fixed)) } } }
                }
            }
        };
        Ok(shell(v, "/console/devices", &name, body))
    })
}

fn list_text(items: &[String]) -> String {
    const MAX: usize = 8;
    if items.len() > MAX {
        format!("{} and {} more", items[..MAX].join(", "), items.len() - MAX)
    } else {
        items.join(", ")
    }
}

pub(crate) fn configuration(c: &Console, v: &Viewer) -> Result<Markup, PageError> {
    with_latest(c, |s, summary| {
        let mut rows = summary.configurations(v.groups());
        rows.retain(|r| r.failing > 0);
        let info = |i: u32| summary.configurations.get(i as usize);
        rows.sort_by(|a, b| {
            let ia = info(a.index).map_or(0, |x| x.impact);
            let ib = info(b.index).map_or(0, |x| x.impact);
            ib.cmp(&ia).then(b.failing.cmp(&a.failing))
        });
        let at = as_of(s);
        let body = html! {
            (snapshot_line(s))
            p.meta { "Failing settings, highest impact first. " (api_link(c, &format!("{SCA_PATH}?{at}"), "the configuration records")) }
            table {
                thead { tr { th scope="col" { "Configuration" } th scope="col" { "Name" } th scope="col" { "Category" } th.num scope="col" { "Impact" }
                    th.num scope="col" { "Failing devices" } th.num scope="col" { "Applicable" } th.num scope="col" { "Failing" } } }
                tbody {
                    @for r in &rows {
                        @let i = info(r.index);
                        tr {
                            td { code { (i.map_or("", |x| x.id.as_str())) } }
                            td { (i.map_or("", |x| x.name.as_str())) }
                            td { (i.map_or("", |x| x.category.as_str())) }
                            td.num { (i.map_or(0, |x| x.impact)) }
                            td.num { (r.failing) } td.num { (r.applicable) } td.num { (pct(r.failing, r.applicable)) }
                        }
                    }
                }
            }
            h2 { "By group" }
            table {
                thead { tr { th scope="col" { "Group" } th.num scope="col" { "Devices" } th.num scope="col" { "Applicable checks" } th.num scope="col" { "Failing checks" } th.num scope="col" { "Compliance" } } }
                tbody {
                    @for g in summary.groups_in(v.groups()) {
                        tr {
                            td { (g.name) } td.num { (g.counts.devices) } td.num { (g.counts.config_applicable) }
                            td.num { (g.counts.config_applicable - g.counts.config_compliant) }
                            td.num { (format!("{:.1}%", g.counts.compliance_percent())) }
                        }
                    }
                }
            }
        };
        Ok(shell(v, "/console/configuration", "Configuration", body))
    })
}

pub(crate) fn coverage(c: &Console, v: &Viewer) -> Result<Markup, PageError> {
    with_latest(c, |s, summary| {
        let rows = summary.coverage(v.groups());
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for r in &rows {
            *by_reason.entry(&r.reason).or_default() += r.installs;
        }
        let at = as_of(s);
        let body = html! {
            (snapshot_line(s))
            p.meta { "Installed software the assessment can say nothing about, and why. "
                (api_link(c, &format!("{NONCPE_PATH}?{at}"), "the software without a CPE")) }
            table {
                thead { tr { th scope="col" { "Reason" } th.num scope="col" { "Installs" } } }
                tbody { @for (reason, n) in &by_reason { tr { td { (reason) } td.num { (n) } } } }
            }
            h2 { "Products" }
            table {
                thead { tr { th scope="col" { "Vendor" } th scope="col" { "Product" } th scope="col" { "Reason" } th.num scope="col" { "Installs" } } }
                tbody { @for r in rows.iter().take(LIST_LIMIT) { tr { td { (r.vendor) } td { (r.name) } td { (r.reason) } td.num { (r.installs) } } } }
            }
        };
        Ok(shell(v, "/console/coverage", "Coverage", body))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConsoleAccess;
    use std::collections::BTreeSet;

    /// A synthetic fleet of `devices` (of `seed`), published, and an open console on it.
    fn published(
        devices: u32,
        seed: u64,
    ) -> (testkit::world::World, Console, std::sync::Arc<Snapshot>) {
        let t0 = testkit::world::utc(2026, 11, 20, 12);
        let world = testkit::world::seeded(devices, seed, t0, 2);
        testkit::world::publish_at(
            &world.snapshots,
            t0,
            &testkit::world::small_parts(60_000, 64),
        );
        let console = Console::new(world.snapshots.clone(), ConsoleAccess::Open, "http://api");
        let snapshot = world.snapshots.latest().expect("a snapshot");
        (world, console, snapshot)
    }

    /// What the CVE page must say, read from every vulnerability row of the snapshot:
    /// the devices with the CVE (in device order), and rows per software version.
    fn from_every_row(
        s: &Snapshot,
        cve: &str,
        groups: Option<&[u32]>,
    ) -> (Vec<String>, BTreeMap<String, u64>) {
        let mut devices = BTreeSet::new();
        let mut versions = BTreeMap::new();
        for i in 0..s.rows(ExportKind::Vulnerabilities) {
            let r = s.vuln_row(i).expect("a row");
            let group = s.device_group(r.device);
            if s.finding_cve(r.finding) != Some(cve) || groups.is_some_and(|g| !g.contains(&group))
            {
                continue;
            }
            devices.insert(r.device);
            let key = String::from_utf8_lossy(s.software_key(s.finding_software(r.finding)))
                .replace('\0', " ");
            *versions.entry(key).or_default() += 1;
        }
        let ids = devices
            .into_iter()
            .map(|d| String::from_utf8_lossy(s.device_id(d)).into_owned())
            .collect();
        (ids, versions)
    }

    fn between<'p>(page: &'p str, from: &str, to: &str) -> &'p str {
        let start = page.find(from).expect(from) + from.len();
        let end = start + page[start..].find(to).expect(to);
        &page[start..end]
    }

    /// The page's device count, the devices it lists, and its software versions table.
    fn read_page(page: &str) -> (u64, Vec<String>, BTreeMap<String, u64>) {
        let count = between(page, "<h2>Devices</h2><p class=\"meta\">", " devices")
            .parse()
            .expect("a device count");
        let devices = page
            .split("data-device=\"")
            .skip(1)
            .map(|rest| rest[..rest.find('"').expect("attribute end")].to_owned())
            .collect();
        let table = between(page, "Affected software versions", "Evidence");
        let versions = table
            .split("<tr><td>")
            .skip(1)
            .map(|row| {
                let name = &row[..row.find("</td>").expect("cell end")];
                let n = between(row, "<td class=\"num\">", "</td>");
                (name.to_owned(), n.parse().expect("a count"))
            })
            .collect();
        (count, devices, versions)
    }

    /// Mounting the console makes the latest snapshot's device search in the
    /// background, before anyone searches.
    #[test]
    fn the_router_makes_the_device_search_ahead_of_the_first_search() {
        let (_world, console, s) = published(60, 3);
        let console = std::sync::Arc::new(console);
        let seq = s.manifest.seq;
        assert!(!console.search.made_for(seq));
        let _routes = crate::router(console.clone());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !console.search.made_for(seq) {
            assert!(
                std::time::Instant::now() < deadline,
                "no device search made in 20 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Only the latest snapshot's search is kept: a retained older snapshot's is dropped
    /// when a newer one's is made (each is about 70 MB at a million devices).
    #[test]
    fn the_console_keeps_only_the_latest_snapshots_device_search() {
        let (world, console, first) = published(40, 5);
        console.search.of(&first);
        testkit::world::publish_at(
            &world.snapshots,
            testkit::world::utc(2026, 11, 20, 18),
            &testkit::world::small_parts(60_000, 64),
        );
        let second = world.snapshots.latest().expect("a snapshot");
        assert_ne!(first.manifest.seq, second.manifest.seq);
        let search = console.search.of(&second);
        assert!(console.search.made_for(second.manifest.seq));
        assert!(!console.search.made_for(first.manifest.seq));
        assert_eq!(search.matches(b"").count(), second.device_count() as usize);
    }

    /// Device search reads each device's id and name, whatever else its records hold.
    #[test]
    fn device_search_matches_ids_and_names_in_any_case() {
        let (_world, console, s) = published(120, 7);
        let viewer = Viewer {
            name: None,
            groups: None,
            csrf: String::new(),
        };
        let heads: Vec<(String, String, Value)> = (0..s.device_count())
            .map(|d| {
                let head = device_head(&s, d);
                let name = head["deviceName"].as_str().unwrap_or_default().to_owned();
                (str_of(&head, "deviceId").to_owned(), name, head)
            })
            .collect();
        let (id, name, head) = &heads[0];
        assert!(!name.is_empty(), "the seeded devices have names");
        let platform = str_of(head, "osPlatform").to_owned();
        for query in [name.to_uppercase(), id[..9].to_owned(), platform.clone()] {
            let lower = query.to_lowercase();
            let want = heads
                .iter()
                .filter(|(i, n, _)| i.contains(&lower) || n.to_lowercase().contains(&lower))
                .count();
            let params: Params = [("q".to_owned(), query.clone())].into();
            let Ok(page) = devices(&console, &viewer, &params) else {
                panic!("no search page for {query}")
            };
            let page = page.into_string();
            let count = between(&page, "data-figure=\"device-matches\">", "<");
            assert_eq!(count, want.to_string(), "{query}");
        }
        // A viewer limited to a group finds only the matches in it.
        let group = s.device_group(0);
        let limited = Viewer {
            groups: Some([group].into()),
            ..viewer
        };
        let want = (0..s.device_count())
            .filter(|&d| s.device_group(d) == group)
            .filter(|&d| {
                let (i, n, _) = &heads[d as usize];
                i.contains('a') || n.to_lowercase().contains('a')
            })
            .count();
        let all = heads
            .iter()
            .filter(|(i, n, _)| i.contains('a') || n.to_lowercase().contains('a'))
            .count();
        assert!(want > 0 && want < all, "{want} of {all} in group {group}");
        let params: Params = [("q".to_owned(), "A".to_owned())].into();
        let Ok(page) = devices(&console, &limited, &params) else {
            panic!("no search page for a group's viewer")
        };
        let page = page.into_string();
        let count = between(&page, "data-figure=\"device-matches\">", "<");
        assert_eq!(count, want.to_string(), "group {group}");
        // The platform is in every head of the devices on it; the search does not read it.
        let on_platform = heads
            .iter()
            .filter(|(_, _, h)| str_of(h, "osPlatform") == platform)
            .count();
        let named = heads
            .iter()
            .filter(|(_, n, _)| n.to_lowercase().contains(&platform.to_lowercase()))
            .count();
        assert!(
            named < on_platform,
            "{named} named, {on_platform} on {platform}"
        );
    }

    /// A viewer of every group reads only the listed devices' rows (the counts come from
    /// the summary and the index); a viewer of some groups reads all the CVE's rows. Both
    /// must say what every row of the snapshot says.
    #[test]
    fn the_cve_page_agrees_with_every_row_for_all_groups_and_for_one() {
        let (_world, console, s) = published(600, 5);
        let summary = s.summary().expect("a summary");
        let top = summary.cves(None).into_iter().next().expect("a CVE");
        assert!(
            top.devices > LIST_LIMIT as u64,
            "the fleet must put the top CVE on more devices than a page lists"
        );
        let group = s.device_group(0);
        for groups in [None, Some(vec![group])] {
            let viewer = Viewer {
                name: None,
                groups: groups.clone(),
                csrf: String::new(),
            };
            let Ok(page) = cve(&console, &viewer, &top.cve) else {
                panic!("no CVE page for {}", top.cve)
            };
            let page = page.into_string();
            let (devices, versions) = from_every_row(&s, &top.cve, groups.as_deref());
            let (count, listed, table) = read_page(&page);
            assert_eq!(count, devices.len() as u64, "{groups:?}");
            let first: Vec<String> = devices.into_iter().take(LIST_LIMIT).collect();
            assert_eq!(listed, first, "{groups:?}");
            assert_eq!(table, versions, "{groups:?}");
        }
    }
}
