use kb::{Component, CveRecord, ImportError, Operator, parse_nvd, parse_nvd_reader};

use crate::common::{fixture, line_col, nvd_records, record};

const FIXTURE_IDS: [&str; 17] = [
    "CVE-2011-4607",
    "CVE-2020-14002",
    "CVE-2021-44832",
    "CVE-2022-29072",
    "CVE-2023-0286",
    "CVE-2023-2033",
    "CVE-2023-21608",
    "CVE-2023-27533",
    "CVE-2023-28597",
    "CVE-2023-36741",
    "CVE-2023-38831",
    "CVE-2023-40031",
    "CVE-2023-40477",
    "CVE-2024-0069",
    "CVE-2024-1086",
    "CVE-2024-11477",
    "CVE-2025-27516",
];

#[test]
fn parses_every_fixture_record_in_order() {
    let recs = nvd_records();
    let ids: Vec<&str> = recs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, FIXTURE_IDS);
    assert!(recs.iter().all(|r| r.source == "nvd"));
}

#[test]
fn basic_fields() {
    let recs = nvd_records();
    let r = record(&recs, "CVE-2023-2033");
    assert_eq!(r.vuln_status, "Modified");
    assert_eq!(r.published.to_string(), "2023-04-14 19:15:09.453");
    assert!(
        r.description
            .starts_with("Type confusion in V8 in Google Chrome")
    );
    assert_eq!(r.cwes, ["CWE-843"]);
    assert_eq!(
        r.cisa_exploit_add.map(|d| d.to_string()).as_deref(),
        Some("2023-04-17")
    );

    let rejected = record(&recs, "CVE-2024-0069");
    assert_eq!(rejected.vuln_status, "Rejected");
    assert!(rejected.cvss.is_none());
    assert!(rejected.configurations.is_empty());

    let received = record(&recs, "CVE-2023-36741");
    assert_eq!(received.vuln_status, "Received");
    assert!(received.configurations.is_empty());
    assert!(received.description.contains("Microsoft Edge"));
    assert!(received.cvss.is_some());
}

#[test]
fn cvss_pick_and_severity() {
    let recs = nvd_records();
    let cvss = |id: &str| record(&recs, id).cvss.clone();

    // v2 only
    let c = cvss("CVE-2011-4607").expect("v2 metric");
    assert_eq!(
        (
            c.version.as_str(),
            c.base_score,
            c.severity.as_str(),
            c.vector.as_str()
        ),
        ("2.0", 2.1, "Low", "AV:L/AC:L/Au:N/C:P/I:N/A:N")
    );
    // v3.1 preferred over v2
    let c = cvss("CVE-2022-29072").expect("metric");
    assert_eq!(
        (c.version.as_str(), c.base_score, c.severity.as_str()),
        ("3.1", 7.8, "High")
    );
    assert_eq!(c.vector, "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H");
    // v3.1 preferred over v3.0
    let c = cvss("CVE-2024-11477").expect("metric");
    assert_eq!(c.version, "3.1");
    // v3.0 only (a Secondary metric: the first is used when no Primary exists)
    let c = cvss("CVE-2023-40477").expect("metric");
    assert_eq!((c.version.as_str(), c.base_score), ("3.0", 7.8));
    assert!(c.vector.starts_with("CVSS:3.0/"));
    // Primary (7.5) preferred over Secondary (8.3)
    let c = cvss("CVE-2023-28597").expect("metric");
    assert_eq!((c.base_score, c.severity.as_str()), (7.5, "High"));
    // Secondary listed first, Primary second
    let c = cvss("CVE-2024-1086").expect("metric");
    assert_eq!(c.base_score, 7.8);
    // Medium
    let c = cvss("CVE-2021-44832").expect("metric");
    assert_eq!((c.version.as_str(), c.severity.as_str()), ("3.1", "Medium"));
    // CVSS v4.0 only: not used
    assert!(cvss("CVE-2025-27516").is_none());
}

#[test]
fn cvss_none_severity_and_critical() {
    let doc = |metrics: &str| {
        format!(
            r#"{{"id":"CVE-2024-0001","published":"2024-01-01T00:00:00.000","lastModified":"2024-01-01T00:00:00.000","metrics":{metrics}}}"#
        )
    };
    let v31 = |score: f64, sev: &str| {
        doc(&format!(
            r#"{{"cvssMetricV31":[{{"type":"Primary","cvssData":{{"version":"3.1","vectorString":"CVSS:3.1/x","baseScore":{score},"baseSeverity":"{sev}"}}}}]}}"#
        ))
    };
    let one = |s: String| -> CveRecord {
        parse_nvd(s.as_bytes(), "t.json")
            .expect("parses")
            .pop()
            .expect("one record")
    };
    assert!(one(v31(0.0, "NONE")).cvss.is_none());
    assert_eq!(
        one(v31(9.8, "CRITICAL")).cvss.expect("cvss").severity,
        "Critical"
    );
    // Missing/unknown severity derived from the score.
    assert_eq!(
        one(v31(9.1, "weird")).cvss.expect("cvss").severity,
        "Critical"
    );
    let v2 = doc(
        r#"{"cvssMetricV2":[{"type":"Primary","cvssData":{"version":"2.0","vectorString":"AV:N","baseScore":10.0}}]}"#,
    );
    let c = one(v2).cvss.expect("cvss");
    assert_eq!((c.version.as_str(), c.severity.as_str()), ("2.0", "High"));
    // null lists and missing metrics are fine
    assert!(one(doc("null")).cvss.is_none());
    assert!(one(doc(r#"{"cvssMetricV31":null}"#)).cvss.is_none());
}

#[test]
fn configurations_are_typed() {
    let recs = nvd_records();

    // 7-Zip: AND of an application node and a vulnerable:false Windows node.
    let r = record(&recs, "CVE-2022-29072");
    assert!(r.exploit_referenced);
    let c = &r.configurations[0];
    assert_eq!(c.operator, Some(Operator::And));
    assert!(!c.negate);
    assert_eq!(c.nodes.len(), 2);
    assert_eq!(c.nodes[0].operator, Operator::Or);
    let app = &c.nodes[0].cpe_match[0];
    assert!(app.vulnerable);
    assert_eq!(app.version_end_including.as_deref(), Some("21.07"));
    assert_eq!(
        app.match_criteria_id.as_deref(),
        Some("DBC63F2C-807C-48BC-849A-40A0ED9AC93B")
    );
    let platform = &c.nodes[1].cpe_match[0];
    assert!(!platform.vulnerable);
    assert_eq!(
        platform.criteria_text,
        "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*"
    );
    assert_eq!(platform.criteria.version, Component::NotApplicable);

    // log4j: ranges, then exact versions with update values.
    let r = record(&recs, "CVE-2021-44832");
    assert_eq!(r.configurations[0].operator, None);
    let m = &r.configurations[0].nodes[0].cpe_match;
    assert_eq!(m[0].version_start_including.as_deref(), Some("2.0.1"));
    assert_eq!(m[0].version_end_excluding.as_deref(), Some("2.3.2"));
    assert_eq!(m[3].criteria.update, Component::NotApplicable);
    assert_eq!(
        m[6].criteria_text,
        "cpe:2.3:a:apache:log4j:2.0:beta9:*:*:*:*:*:*"
    );
    assert_eq!(m[6].criteria.update, Component::Value("beta9".into()));

    // Escaped product name.
    let r = record(&recs, "CVE-2023-40031");
    let m = &r.configurations[0].nodes[0].cpe_match[0];
    assert_eq!(m.criteria.product, Component::Value("notepad++".into()));
    assert_eq!(
        m.criteria_text,
        "cpe:2.3:a:notepad-plus-plus:notepad\\+\\+:*:*:*:*:*:*:*:*"
    );
}

#[test]
fn exploit_reference_flag() {
    let recs = nvd_records();
    assert!(record(&recs, "CVE-2022-29072").exploit_referenced);
    assert!(record(&recs, "CVE-2023-38831").exploit_referenced);
    assert!(!record(&recs, "CVE-2023-2033").exploit_referenced);
    assert!(!record(&recs, "CVE-2011-4607").exploit_referenced);
}

#[test]
fn bare_cve_file_and_reader() {
    let bare = parse_nvd(&fixture("CVE-2011-4607.json"), "CVE-2011-4607.json").expect("parses");
    assert_eq!(bare.len(), 1);
    let recs = nvd_records();
    assert_eq!(&bare[0], record(&recs, "CVE-2011-4607"));

    // `{"cve": {...}}` item on its own
    let text = String::from_utf8(fixture("CVE-2011-4607.json")).expect("utf8");
    let wrapped = format!("{{\"cve\": {text}}}");
    assert_eq!(
        parse_nvd(wrapped.as_bytes(), "w.json").expect("parses"),
        bare
    );

    let via_reader =
        parse_nvd_reader(&fixture("nvd-sample.json")[..], "nvd-sample.json").expect("parses");
    assert_eq!(via_reader, recs);
}

#[test]
fn records_round_trip_through_json() {
    let recs = nvd_records();
    let json = serde_json::to_string(&recs).expect("serialise");
    let back: Vec<CveRecord> = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, recs);
}

#[test]
fn empty_feed_is_fine() {
    let recs = parse_nvd(br#"{"resultsPerPage":0,"vulnerabilities":[]}"#, "e.json").expect("ok");
    assert!(recs.is_empty());
}

fn err(bytes: &[u8]) -> ImportError {
    match parse_nvd(bytes, "feed.json") {
        Ok(r) => panic!("expected an error, got {} records", r.len()),
        Err(e) => e,
    }
}

#[test]
fn truncated_file_is_refused_with_its_end_position() {
    let text = String::from_utf8(fixture("nvd-sample.json")).expect("utf8");
    for cut in [text.len() / 2, text.len() / 3, text.len() - 3, 1] {
        let t = &text[..cut];
        let e = err(t.as_bytes());
        let lines = t.split('\n').count();
        let last = t.rsplit('\n').next().map_or(0, str::len);
        assert_eq!(e.file, "feed.json");
        assert_eq!((e.line, e.column), (lines, last), "cut at {cut}: {e}");
        assert!(e.reason.starts_with("truncated JSON"), "{e}");
        assert_eq!(
            e.to_string(),
            format!("feed.json:{}:{}: {}", e.line, e.column, e.reason)
        );
    }
}

#[test]
fn malformed_file_is_refused_at_the_error() {
    let text = String::from_utf8(fixture("nvd-sample.json")).expect("utf8");
    // Drop the comma after the third record's vulnStatus.
    let key = "\"vulnStatus\": \"Modified\",";
    let third = text.match_indices(key).nth(2).map(|(i, _)| i).expect("key");
    let comma = third + key.len() - 1;
    let broken = format!("{}{}", &text[..comma], &text[comma + 1..]);
    let next = comma + broken[comma..].find('"').expect("next key");
    let e = err(broken.as_bytes());
    assert_eq!((e.line, e.column), line_col(&broken, next), "{e}");
    assert!(e.reason.starts_with("malformed JSON"), "{e}");

    // A stray character at the top level.
    let e = err(b"{\"vulnerabilities\": []}\nx");
    assert_eq!((e.line, e.column), (2, 1), "{e}");
}

#[test]
fn wrong_types_are_refused_with_absolute_positions() {
    let text = String::from_utf8(fixture("nvd-sample.json")).expect("utf8");
    let key = "\"vulnerable\": true";
    let (at, _) = text.match_indices(key).nth(40).expect("key");
    let broken = format!(
        "{}\"vulnerable\": \"yes\"{}",
        &text[..at],
        &text[at + key.len()..]
    );
    let value_end = at + "\"vulnerable\": \"yes\"".len() - 1;
    let e = err(broken.as_bytes());
    assert_eq!((e.line, e.column), line_col(&broken, value_end), "{e}");
    assert!(e.reason.contains("vulnerabilities["), "{e}");
    assert!(e.reason.contains("expected a boolean"), "{e}");
}

#[test]
fn semantic_errors_name_the_record() {
    let good = r#"{"cve": {"id": "CVE-2020-0001", "published": "2020-01-01T00:00:00.000", "lastModified": "2020-01-01T00:00:00.000"}}"#;

    // A cve without an id.
    let doc = format!(
        "{{\"vulnerabilities\": [\n  {good},\n  {{\"cve\": {{\"published\": \"2020-01-01T00:00:00\"}}}}\n]}}"
    );
    let e = err(doc.as_bytes());
    assert_eq!((e.line, e.column), (3, 3), "{e}");
    assert!(e.reason.contains("vulnerabilities[1]"), "{e}");
    assert!(e.reason.contains("without an `id`"), "{e}");

    // An id that is not a CVE id.
    let bad_id = good.replace("CVE-2020-0001", "CVE-20-1");
    let doc = format!("{{\"vulnerabilities\": [{good}, {bad_id}]}}");
    let e = err(doc.as_bytes());
    assert!(e.reason.contains("vulnerabilities[1]"), "{e}");
    assert!(e.reason.contains("`CVE-20-1` is not a CVE id"), "{e}");
    let id_at = doc.rfind("\"id\"").expect("id");
    assert_eq!((e.line, e.column), line_col(&doc, id_at));

    // An item without a cve object.
    let e = err(format!("{{\"vulnerabilities\": [{good}, {{}}]}}").as_bytes());
    assert!(
        e.reason.contains("vulnerabilities[1]: missing `cve`"),
        "{e}"
    );

    // A bad timestamp.
    let bad_time = good.replace(
        "\"published\": \"2020-01-01T00:00:00.000\"",
        "\"published\": \"soon\"",
    );
    let e = err(format!("{{\"vulnerabilities\": [{bad_time}]}}").as_bytes());
    assert!(
        e.reason.contains("vulnerabilities[0] (CVE-2020-0001)"),
        "{e}"
    );
    assert!(e.reason.contains("`published` is not a timestamp"), "{e}");

    // An unparsable criteria CPE: the position is the criteria string.
    let cfg = r#""configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [
        {"vulnerable": true, "criteria": "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*"},
        {"vulnerable": true, "criteria": "cpe:2.3:a:apache"}]}]}]"#;
    let with_cfg = good.replace("\"lastModified\"", &format!("{cfg}, \"lastModified\""));
    let doc = format!("{{\"vulnerabilities\": [\n{good},\n{good},\n{with_cfg}]}}");
    let e = err(doc.as_bytes());
    assert!(
        e.reason.contains("vulnerabilities[2] (CVE-2020-0001)"),
        "{e}"
    );
    assert!(e.reason.contains("configurations[0]"), "{e}");
    assert!(e.reason.contains("invalid CPE `cpe:2.3:a:apache`"), "{e}");
    let at = doc.find("\"cpe:2.3:a:apache\"").expect("criteria");
    assert_eq!((e.line, e.column), line_col(&doc, at), "{e}");

    // A bad operator.
    let bad_op = with_cfg
        .replace("cpe:2.3:a:apache\"", "cpe:2.3:a:apache:x\"")
        .replace("\"OR\"", "\"XOR\"");
    let e = err(format!("{{\"vulnerabilities\": [{bad_op}]}}").as_bytes());
    assert!(
        e.reason.contains("operator must be AND or OR, not `XOR`"),
        "{e}"
    );
}

#[test]
fn other_refusals() {
    let e = err(b"");
    assert_eq!((e.line, e.column), (1, 0));
    assert!(e.reason.starts_with("truncated JSON"), "{e}");

    let e = err(b"[1, 2]");
    assert!(e.reason.starts_with("unexpected JSON content"), "{e}");

    let e = err(b"  {\"resultsPerPage\": 0}");
    assert!(e.reason.contains("not an NVD CVE document"), "{e}");
    assert_eq!((e.line, e.column), (1, 3));

    let e = err(b"{\"vulnerabilities\": [\xff]}");
    assert!(e.reason.contains("invalid UTF-8"), "{e}");
    assert_eq!((e.line, e.column), (1, 22));
}

mod never_panics {
    use proptest::prelude::*;

    use crate::common::fixture;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any prefix of a valid feed that is not the whole document is refused.
        #[test]
        fn every_cut_is_refused(frac in 0.0f64..1.0) {
            let bytes = fixture("CVE-2011-4607.json");
            let cut = ((bytes.len() - 1) as f64 * frac) as usize;
            prop_assert!(kb::parse_nvd(&bytes[..cut], "cut.json").is_err());
        }

        /// Random byte edits either parse or give an error; never a panic.
        #[test]
        fn random_edits(edits in prop::collection::vec((0.0f64..1.0, any::<u8>()), 1..4)) {
            let mut bytes = fixture("CVE-2011-4607.json");
            for (at, b) in edits {
                let i = ((bytes.len() - 1) as f64 * at) as usize;
                bytes[i] = b;
            }
            let _ = kb::parse_nvd(&bytes, "edit.json");
            let _ = kb::parse_kev(&bytes, "edit.json");
        }
    }
}
