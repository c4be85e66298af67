use kb::{ImportError, parse_kev};

use crate::common::{fixture, kev_catalog, line_col};

#[test]
fn parses_the_subset() {
    let k = kev_catalog();
    assert_eq!(k.version, "2025.02.13");
    assert_eq!(
        k.date_released.as_deref(),
        Some("2025-02-13T17:59:30.3638Z")
    );
    assert_eq!(k.entries.len(), 19);

    let first = &k.entries[0];
    assert_eq!(first.cve_id, "CVE-2024-57727");
    // "SimpleHelp " in the catalogue: trimmed
    assert_eq!(first.vendor_project, "SimpleHelp");
    assert_eq!(first.date_added.to_string(), "2025-02-13");
    assert!(!first.ransomware);

    let win = k.get("CVE-2024-30088").expect("entry");
    assert_eq!(win.product, "Windows"); // "Windows " in the catalogue
    assert_eq!(win.vendor_project, "Microsoft");

    let ransomware: Vec<&str> = k
        .entries
        .iter()
        .filter(|e| e.ransomware)
        .map(|e| e.cve_id.as_str())
        .collect();
    assert_eq!(ransomware, ["CVE-2024-21338", "CVE-2023-38831"]);

    let winrar = k.get("CVE-2023-38831").expect("entry");
    assert_eq!(winrar.vendor_project, "RARLAB");
    assert_eq!(
        winrar.vulnerability_name,
        "RARLAB WinRAR Code Execution Vulnerability"
    );
    assert!(winrar.due_date.is_some());

    let idx = k.index();
    assert_eq!(idx.len(), 19);
    assert!(idx.contains_key("CVE-2025-0411"));
    assert!(k.get("CVE-2023-2033").is_none());

    let json = serde_json::to_string(&k).expect("serialise");
    assert_eq!(
        serde_json::from_str::<kb::KevCatalog>(&json).expect("back"),
        k
    );
}

fn err(bytes: &[u8]) -> ImportError {
    match parse_kev(bytes, "kev.json") {
        Ok(k) => panic!("expected an error, got {} entries", k.entries.len()),
        Err(e) => e,
    }
}

#[test]
fn truncated_catalogue_is_refused() {
    let text = String::from_utf8(fixture("kev-subset.json")).expect("utf8");
    let t = &text[..text.len() / 2];
    let e = err(t.as_bytes());
    let lines = t.split('\n').count();
    let last = t.rsplit('\n').next().map_or(0, str::len);
    assert_eq!((e.line, e.column), (lines, last), "{e}");
    assert!(e.reason.starts_with("truncated JSON"), "{e}");
}

#[test]
fn semantic_errors_are_positioned() {
    let text = String::from_utf8(fixture("kev-subset.json")).expect("utf8");
    let bad = text.replacen(
        "\"dateAdded\": \"2025-02-11\"",
        "\"dateAdded\": \"11/02/2025\"",
        1,
    );
    assert_ne!(bad, text);
    let e = err(bad.as_bytes());
    assert!(
        e.reason.contains("vulnerabilities[1] (CVE-2025-21418)"),
        "{e}"
    );
    assert!(e.reason.contains("`dateAdded` is not a date"), "{e}");
    let at = bad.find("\"dateAdded\": \"11/02").expect("key");
    assert_eq!((e.line, e.column), line_col(&bad, at));

    let bad = text.replacen("\"cveID\": \"CVE-2025-0411\"", "\"cveID\": \"CVE-2025\"", 1);
    let e = err(bad.as_bytes());
    assert!(e.reason.contains("vulnerabilities[2]"), "{e}");
    assert!(e.reason.contains("is not a CVE id"), "{e}");

    let e = err(br#"{"title": "x", "vulnerabilities": []}"#);
    assert!(e.reason.contains("catalogVersion"), "{e}");
    let e = err(br#"{"catalogVersion": "1"}"#);
    assert!(e.reason.contains("`vulnerabilities`"), "{e}");
    let ok = parse_kev(br#"{"catalogVersion": " 1 ", "vulnerabilities": []}"#, "k").expect("ok");
    assert_eq!(ok.version, "1");
}
