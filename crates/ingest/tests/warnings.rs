//! `assessment_warnings`: a report's software that cannot be assessed, capped.

fn report() -> model::DeviceReport {
    let json = r#"{
      "deviceId": "00000000000000000000000000000000000000aa", "sequence": 1,
      "reportedAt": "2026-11-20T10:00:00Z",
      "os": {"kind": "linux", "platform": "Linux", "version": "6.1"},
      "software": [
        {"vendor": "acme", "name": "tool", "version": "1.0", "cpe": "cpe:2.3:a:acme:tool:1.0:*:*:*:*:*:*:*"},
        {"vendor": "acme", "name": "bare", "version": "1.0"},
        {"vendor": "pypi", "name": "requests", "version": "2.31.0", "ecosystem": "pip"},
        {"vendor": "pypi", "name": "flask", "version": "latest", "ecosystem": "PyPI"}
      ]
    }"#;
    model::DeviceReport::from_json(json.as_bytes()).unwrap()
}

#[test]
fn unassessable_software_is_listed_in_order_with_the_coverage_gap() {
    let r = report();
    let found = ingest::assessment_warnings(&r, 10);
    assert_eq!(found.omitted, 0);
    let paths: Vec<&str> = found.listed.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["software[1]", "software[2]", "software[3]"]);
    // The same classification as `posture coverage`.
    for w in &found.listed {
        let index: usize = w.path["software[".len()..w.path.len() - 1].parse().unwrap();
        assert_eq!(Some(w.gap), assess::coverage::gap(&r.software[index]));
    }
    assert!(
        found.listed[1].reason.contains("\"pip\""),
        "{:?}",
        found.listed[1]
    );
    assert!(
        found.listed[2].reason.contains("PEP 440"),
        "{:?}",
        found.listed[2]
    );
}

#[test]
fn beyond_the_cap_warnings_are_only_counted() {
    let found = ingest::assessment_warnings(&report(), 1);
    assert_eq!(found.listed.len(), 1);
    assert_eq!(found.listed[0].path, "software[1]");
    assert_eq!(found.omitted, 2);
    let none = ingest::assessment_warnings(&report(), 0);
    assert_eq!((none.listed.len(), none.omitted), (0, 3));
}
