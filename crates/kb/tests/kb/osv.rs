//! The OSV importer (single records, arrays, `all.zip`) and `OsvIndex`.

use std::io::Write;

use kb::{Ecosystem, OsvIndex, OsvRecord, RangeKind, parse_osv, parse_osv_zip};

use crate::common::{fixture, line_col};

const FIXTURES: &[&str] = &[
    "PYSEC-2021-437.json",
    "PYSEC-2023-228.json",
    "PYSEC-2023-212.json",
    "GHSA-35jh-r3h4-6jhm.json",
    "USN-6719-1.json",
    "DSA-5514-1.json",
    "DEBIAN-CVE-2023-4911.json",
];

fn osv_fixture(name: &str) -> Vec<u8> {
    fixture(&format!("osv/{name}"))
}

fn parse_one(name: &str) -> OsvRecord {
    let mut recs = parse_osv(&osv_fixture(name), name).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(recs.len(), 1);
    recs.remove(0)
}

fn all_fixtures() -> Vec<OsvRecord> {
    FIXTURES.iter().map(|f| parse_one(f)).collect()
}

fn ids(m: &[kb::OsvMatch]) -> Vec<&str> {
    m.iter().map(|x| x.id.as_str()).collect()
}

#[test]
fn fixtures_parse_with_derived_fields() {
    let pip = parse_one("PYSEC-2023-228.json");
    assert_eq!(pip.id, "PYSEC-2023-228");
    assert_eq!(pip.aliases, vec!["CVE-2023-5752"]);
    assert_eq!(pip.cve_ids(), vec!["CVE-2023-5752"]);
    assert_eq!(pip.modified.to_string(), "2023-11-03 16:28:41.538340");
    let sev = pip.severity.as_ref().expect("severity");
    assert_eq!(
        (sev.source.as_str(), sev.score, sev.level.as_str()),
        ("CVSS_V3", Some(3.3), "Low")
    );
    assert_eq!(sev.cvss().map(|c| c.version), Some("3.1".to_owned()));
    let a = &pip.affected[0];
    assert_eq!(
        (a.ecosystem.clone(), a.name.as_str()),
        (Ecosystem::PyPI, "pip")
    );
    assert_eq!(a.ranges[0].kind, RangeKind::Ecosystem);
    assert_eq!(a.versions.len(), 134);
    let mut renamed = a.clone();
    renamed.name = "Flask_SQLAlchemy".into();
    assert_eq!(renamed.normalized_name(), "flask-sqlalchemy");

    let old_pip = parse_one("PYSEC-2021-437.json");
    assert!(old_pip.severity.is_none(), "no severity in the record");

    let urllib3 = parse_one("PYSEC-2023-212.json");
    let kinds: Vec<RangeKind> = urllib3.affected[0].ranges.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, vec![RangeKind::Git, RangeKind::Ecosystem]);
    assert_eq!(urllib3.severity.as_ref().and_then(|s| s.score), Some(4.2));

    let lodash = parse_one("GHSA-35jh-r3h4-6jhm.json");
    assert_eq!(lodash.affected.len(), 2);
    assert_eq!(lodash.affected[0].ecosystem, Ecosystem::Npm);
    assert_eq!(lodash.severity.as_ref().and_then(|s| s.score), Some(7.2));
    assert_eq!(lodash.description(), "Command Injection in lodash");

    let usn = parse_one("USN-6719-1.json");
    assert_eq!(usn.upstream, vec!["UBUNTU-CVE-2024-28085"]);
    assert_eq!(usn.cve_ids(), vec!["CVE-2024-28085"]);
    assert_eq!(usn.affected[1].ecosystem.to_string(), "Ubuntu:22.04:LTS");
    assert_eq!(usn.affected[1].binaries.len(), 14);
    assert!(usn.affected[1].binaries.contains(&"libmount1".to_owned()));
    assert!(usn.severity.is_none());

    let dsa = parse_one("DSA-5514-1.json");
    assert_eq!(dsa.cve_ids(), vec!["CVE-2023-4911"]);
    let dcve = parse_one("DEBIAN-CVE-2023-4911.json");
    assert_eq!(dcve.cve_ids(), vec!["CVE-2023-4911"]);
    assert_eq!(
        dcve.severity.as_ref().map(|s| s.level.as_str()),
        Some("High")
    );
    assert_eq!(
        dcve.description(),
        "A buffer overflow was discovered in the GNU C Library's dynamic loader ld.so while processing the GLIBC_TUNABLES environment variable. This issue could allow a local attacker to use maliciously crafted GLIBC_TUNABLES environment variables when launching binaries with SUID permission to execute code with elevated privileges."
    );

    // Round trip through JSON, as the store keeps them.
    let recs = all_fixtures();
    let json = serde_json::to_string(&recs).expect("serialise");
    let back: Vec<OsvRecord> = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, recs);
}

#[test]
fn array_documents() {
    let body = format!(
        "[{}, {}]",
        String::from_utf8_lossy(&osv_fixture("PYSEC-2023-228.json")),
        String::from_utf8_lossy(&osv_fixture("GHSA-35jh-r3h4-6jhm.json"))
    );
    let recs = parse_osv(body.as_bytes(), "two.json").expect("parses");
    assert_eq!(
        recs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec!["PYSEC-2023-228", "GHSA-35jh-r3h4-6jhm"]
    );
    assert_eq!(parse_osv(b"[]", "empty.json").map(|r| r.len()), Ok(0));
}

#[test]
fn pypi_verdicts_match_the_index() {
    let recs = all_fixtures();
    let idx = OsvIndex::new(&recs);
    let pypi = Ecosystem::PyPI;
    let m = idx.match_package(&pypi, "pip", "23.2.1");
    assert_eq!(ids(&m), vec!["PYSEC-2023-228"]);
    assert_eq!(m[0].evidence.feed, "osv");
    assert_eq!(m[0].evidence.criteria, "PyPI/pip");
    assert_eq!(m[0].evidence.range, "introduced 0, fixed 23.3");
    assert_eq!(m[0].fixed_version.as_deref(), Some("23.3"));
    assert_eq!(m[0].cve_ids, vec!["CVE-2023-5752"]);
    assert_eq!(
        ids(&idx.match_package(&pypi, "pip", "21.0")),
        vec!["PYSEC-2021-437", "PYSEC-2023-228"]
    );
    assert!(idx.match_package(&pypi, "pip", "23.3").is_empty());
    // PEP 440 specifics: pre-releases of the fix are still affected, names fold.
    assert_eq!(
        ids(&idx.match_package(&pypi, "PIP", "23.3rc1")),
        vec!["PYSEC-2023-228"]
    );
    assert!(idx.match_package(&pypi, "pip", "23.3.0").is_empty());
    // urllib3: two unsorted intervals in one range; the GIT range is ignored.
    let u = idx.match_package(&pypi, "urllib3", "1.26.17");
    assert_eq!(u[0].evidence.range, "introduced 0, fixed 1.26.18");
    let u = idx.match_package(&pypi, "urllib3", "2.0.6");
    assert_eq!(u[0].evidence.range, "introduced 2.0.0, fixed 2.0.7");
    assert_eq!(u[0].fixed_version.as_deref(), Some("2.0.7"));
    assert!(idx.match_package(&pypi, "urllib3", "1.26.18").is_empty());
    assert!(idx.match_package(&pypi, "urllib3", "2.7.0").is_empty());
    // Another ecosystem with the same name does not match.
    assert!(
        idx.match_package(&Ecosystem::Npm, "pip", "1.0.0")
            .is_empty()
    );
}

#[test]
fn npm_semver_matching() {
    let recs = all_fixtures();
    let idx = OsvIndex::new(&recs);
    let npm = Ecosystem::Npm;
    let m = idx.match_package(&npm, "lodash", "4.17.20");
    assert_eq!(ids(&m), vec!["GHSA-35jh-r3h4-6jhm"]);
    assert_eq!(m[0].evidence.criteria, "npm/lodash");
    assert_eq!(m[0].fixed_version.as_deref(), Some("4.17.21"));
    assert_eq!(
        ids(&idx.match_package(&npm, "lodash-es", "4.17.21-rc.1")),
        vec!["GHSA-35jh-r3h4-6jhm"]
    );
    assert!(idx.match_package(&npm, "lodash", "4.17.21").is_empty());
    assert!(
        idx.match_package(&npm, "lodash", "4.17.21+build.5")
            .is_empty()
    );
    // npm names are exact.
    assert!(idx.match_package(&npm, "Lodash", "4.17.20").is_empty());
}

#[test]
fn distro_records_use_dpkg_order_and_release_scope() {
    let recs = all_fixtures();
    let idx = OsvIndex::new(&recs);
    let bookworm = Ecosystem::for_distro("debian", "12").expect("debian");
    assert_eq!(bookworm.to_string(), "Debian:12");
    let m = idx.match_package(&bookworm, "glibc", "2.36-9+deb12u2");
    assert_eq!(ids(&m), vec!["DSA-5514-1", "DEBIAN-CVE-2023-4911"]);
    assert_eq!(m[0].evidence.criteria, "Debian:12/glibc");
    assert_eq!(m[0].evidence.range, "introduced 0, fixed 2.36-9+deb12u3");
    assert_eq!(m[0].aliases, vec!["CVE-2023-4911", "DEBIAN-CVE-2023-4911"]);
    // dpkg order: deb12u10 > deb12u3 (a plain string order would say otherwise).
    assert!(
        idx.match_package(&bookworm, "glibc", "2.36-9+deb12u10")
            .is_empty()
    );
    assert!(
        idx.match_package(&bookworm, "glibc", "2.36-9+deb12u3")
            .is_empty()
    );
    // The bullseye fix is not borrowed for bookworm and vice versa.
    let bullseye = Ecosystem::parse("Debian:11");
    let m = idx.match_package(&bullseye, "glibc", "2.31-13+deb11u6");
    assert_eq!(m[0].fixed_version.as_deref(), Some("2.31-13+deb11u7"));
    assert!(
        idx.match_package(&bullseye, "glibc", "2.31-13+deb11u7")
            .is_empty()
    );
    // Backport: upstream 2.36 is "vulnerable" by CPE ranges, but the distro
    // says the package is fixed, and it knows the package, so it decides.
    assert!(idx.supersedes_cpe(&bookworm, "glibc"));
    assert!(!idx.supersedes_cpe(&bookworm, "nginx"));
    assert!(
        !idx.supersedes_cpe(&Ecosystem::PyPI, "pip"),
        "PyPI is not a distribution"
    );
    // Debian:13 only in the per-CVE record.
    let trixie = Ecosystem::parse("Debian:13");
    assert_eq!(
        ids(&idx.match_package(&trixie, "glibc", "2.37-11")),
        vec!["DEBIAN-CVE-2023-4911"]
    );

    // Ubuntu: source or binary name, release-scoped, versions list honoured.
    let jammy = Ecosystem::for_distro("ubuntu", "22.04").expect("ubuntu");
    assert_eq!(jammy.to_string(), "Ubuntu:22.04:LTS");
    let m = idx.match_package(&jammy, "util-linux", "2.37.2-4ubuntu3");
    assert_eq!(ids(&m), vec!["USN-6719-1"]);
    assert_eq!(m[0].evidence.criteria, "Ubuntu:22.04:LTS/util-linux");
    assert_eq!(m[0].cve_ids, vec!["CVE-2024-28085"]);
    assert_eq!(
        ids(&idx.match_package(&jammy, "libmount1", "2.37.2-4ubuntu3")),
        vec!["USN-6719-1"]
    );
    assert!(
        idx.match_package(&jammy, "util-linux", "2.37.2-4ubuntu3.3")
            .is_empty()
    );
    let focal = Ecosystem::parse("Ubuntu:20.04:LTS");
    assert_eq!(
        idx.match_package(&focal, "util-linux", "2.34-0.1ubuntu9.4")[0]
            .fixed_version
            .as_deref(),
        Some("2.34-0.1ubuntu9.5")
    );
    assert!(
        idx.match_package(&Ecosystem::parse("Ubuntu:24.04:LTS"), "util-linux", "2.0-1")
            .is_empty()
    );
    assert!(
        idx.match_package(
            &Ecosystem::parse("Ubuntu:Pro:22.04:LTS"),
            "util-linux",
            "2.0-1"
        )
        .is_empty()
    );
}

#[test]
fn versions_list_withdrawn_limit_and_other_orders() {
    let doc = r#"[
      {"id": "TEST-VERSIONS-1", "modified": "2024-01-01T00:00:00Z",
       "affected": [{"package": {"ecosystem": "Debian:12", "name": "demo"},
                     "versions": ["1.0-1", "1.0-2"]}]},
      {"id": "TEST-WITHDRAWN-1", "modified": "2024-01-01T00:00:00Z", "withdrawn": "2024-02-01T00:00:00Z",
       "affected": [{"package": {"ecosystem": "Debian:12", "name": "demo"},
                     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]},
      {"id": "TEST-LIMIT-1", "modified": "2024-01-01T00:00:00Z",
       "affected": [{"package": {"ecosystem": "Debian", "name": "demo"},
                     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"limit": "1.0-2"}]}]}]},
      {"id": "ALPINE-CVE-TEST-1", "modified": "2024-01-01T00:00:00Z", "upstream": ["CVE-2099-0001"],
       "affected": [{"package": {"ecosystem": "Alpine:v3.19", "name": "busybox"},
                     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.36.1-r16"}]}]}]},
      {"id": "RHSA-TEST-1", "modified": "2024-01-01T00:00:00Z",
       "affected": [{"package": {"ecosystem": "Red Hat:enterprise_linux:9::appstream", "name": "openssl"},
                     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:3.0.7-25.el9_3"}]}]}]},
      {"id": "TEST-PYPI-LIST-1", "modified": "2024-01-01T00:00:00Z",
       "affected": [{"package": {"ecosystem": "PyPI", "name": "listed"}, "versions": ["1.0.0", "2.0rc1"]}]},
      {"id": "TEST-LAST-1", "modified": "2024-01-01T00:00:00Z",
       "affected": [{"package": {"ecosystem": "PyPI", "name": "Some_Package"},
                     "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.4.2"}]}]}]}
    ]"#;
    let recs = parse_osv(doc.as_bytes(), "inline.json").expect("parses");
    let idx = OsvIndex::new(&recs);
    let deb = Ecosystem::parse("Debian:12");
    let m = idx.match_package(&deb, "demo", "1.0-1");
    assert_eq!(ids(&m), vec!["TEST-VERSIONS-1", "TEST-LIMIT-1"]);
    assert_eq!(m[0].evidence.range, "listed version 1.0-1");
    assert_eq!(m[1].evidence.range, "introduced 0, limit 1.0-2");
    assert_eq!(
        ids(&idx.match_package(&deb, "demo", "1.0-2")),
        vec!["TEST-VERSIONS-1"]
    );
    assert!(idx.match_package(&deb, "demo", "1.0-3").is_empty());
    assert!(idx.knows_package(&deb, "demo"));

    let alpine = Ecosystem::for_distro("alpine", "3.19.1").expect("alpine");
    assert_eq!(alpine.to_string(), "Alpine:v3.19");
    // apk order: r9 < r16 (numeric), _p suffix after the release.
    assert_eq!(
        ids(&idx.match_package(&alpine, "busybox", "1.36.1-r9")),
        vec!["ALPINE-CVE-TEST-1"]
    );
    assert!(
        idx.match_package(&alpine, "busybox", "1.36.1-r16")
            .is_empty()
    );
    assert!(
        idx.match_package(&alpine, "busybox", "1.36.1_p1-r0")
            .is_empty()
    );
    assert_eq!(
        ids(&idx.match_package(&alpine, "busybox", "1.36.1_rc1-r20")),
        vec!["ALPINE-CVE-TEST-1"]
    );
    assert_eq!(recs[3].cve_ids(), vec!["CVE-2099-0001"]);

    let rhel = Ecosystem::for_distro("rhel", "9.3").expect("rhel");
    assert_eq!(
        ids(&idx.match_package(&rhel, "openssl", "1:3.0.7-24.el9")),
        vec!["RHSA-TEST-1"]
    );
    assert!(
        idx.match_package(&rhel, "openssl", "1:3.0.7-25.el9_3")
            .is_empty()
    );
    assert!(
        idx.match_package(&rhel, "openssl", "2:1.0-1").is_empty(),
        "epoch wins"
    );
    assert!(
        idx.match_package(
            &Ecosystem::for_distro("rhel", "8.9").expect("rhel 8"),
            "openssl",
            "1.0"
        )
        .is_empty()
    );

    let pypi = Ecosystem::PyPI;
    // PyPI versions lists compare in PEP 440 terms (1.0 == 1.0.0, case-insensitive).
    let m = idx.match_package(&pypi, "listed", "1.0");
    assert_eq!(ids(&m), vec!["TEST-PYPI-LIST-1"]);
    assert_eq!(m[0].evidence.range, "listed version 1.0");
    assert_eq!(
        ids(&idx.match_package(&pypi, "Listed", "2.0RC1")),
        vec!["TEST-PYPI-LIST-1"]
    );
    assert!(idx.match_package(&pypi, "listed", "2.0").is_empty());
    let m = idx.match_package(&pypi, "some.package", "1.4.2");
    assert_eq!(m[0].evidence.range, "introduced 1.0.0, last_affected 1.4.2");
    assert_eq!(m[0].fixed_version, None);
    assert!(idx.match_package(&pypi, "some-package", "1.4.3").is_empty());
    assert!(idx.match_package(&pypi, "some-package", "0.9.0").is_empty());
}

#[test]
fn refused_documents_name_the_position() {
    let good = String::from_utf8(osv_fixture("PYSEC-2023-228.json")).expect("utf-8");
    // Truncated.
    let cut = &good[..good.len() / 2];
    let e = parse_osv(cut.as_bytes(), "cut.json").expect_err("truncated");
    assert!(e.reason.starts_with("truncated JSON"), "{e}");
    assert_eq!(e.file, "cut.json");
    let last = cut.rsplit('\n').next().map_or(0, str::len);
    assert_eq!((e.line, e.column), (cut.split('\n').count(), last));
    // Malformed.
    let bad = good.replacen("\"aliases\": [", "\"aliases\": [,", 1);
    let e = parse_osv(bad.as_bytes(), "bad.json").expect_err("malformed");
    assert!(e.reason.starts_with("malformed JSON"), "{e}");
    let pos = bad.find("[,").expect("marker") + 1;
    assert_eq!((e.line, e.column), line_col(&bad, pos));
    // Semantic errors carry the record and the place.
    let two_keys = good.replacen(
        "\"fixed\": \"23.3\"",
        "\"fixed\": \"23.3\", \"introduced\": \"1\"",
        1,
    );
    let e = parse_osv(two_keys.as_bytes(), "ev.json").expect_err("bad event");
    assert!(
        e.reason
            .contains("record (PYSEC-2023-228): affected[0].ranges[0].events[1]"),
        "{e}"
    );
    let ev_pos = two_keys.find("\"fixed\": \"23.3\"").expect("marker");
    let obj = two_keys[..ev_pos].rfind('{').expect("event object");
    assert_eq!((e.line, e.column), line_col(&two_keys, obj));
    let kind = good.replacen("\"type\": \"ECOSYSTEM\"", "\"type\": \"RANGE\"", 1);
    let e = parse_osv(kind.as_bytes(), "kind.json").expect_err("bad type");
    assert!(e.reason.contains("not `RANGE`"), "{e}");
    assert_eq!(
        (e.line, e.column),
        line_col(&kind, kind.find("\"type\"").expect("type"))
    );
    let no_mod = good.replacen("\"modified\"", "\"modified_\"", 1);
    let e = parse_osv(no_mod.as_bytes(), "m.json").expect_err("no modified");
    assert!(e.reason.contains("missing `modified`"), "{e}");
    let bad_time = good.replacen("2023-10-25T18:17:00Z", "yesterday", 1);
    let e = parse_osv(bad_time.as_bytes(), "t.json").expect_err("bad time");
    assert!(e.reason.contains("`published` is not a timestamp"), "{e}");
    let no_name = good.replacen("\"name\": \"pip\"", "\"name\": \"\"", 1);
    assert!(
        parse_osv(no_name.as_bytes(), "n.json")
            .expect_err("no name")
            .reason
            .contains("`name`")
    );
    // One bad record refuses the whole array.
    let arr = format!("[{good}, {{\"id\": \"X-1\"}}]");
    let e = parse_osv(arr.as_bytes(), "arr.json").expect_err("second record");
    assert!(e.reason.contains("[1] (X-1): missing `modified`"), "{e}");
    // Not OSV at all.
    for doc in ["", "   ", "42", "\"x\"", "{}", "[1]", "{\"id\": 5}"] {
        assert!(parse_osv(doc.as_bytes(), "x.json").is_err(), "{doc:?}");
    }
    let e = parse_osv(b"", "x.json").expect_err("empty");
    assert_eq!((e.line, e.column), (1, 0));
    assert!(e.reason.starts_with("truncated JSON"), "{e}");
    let e = parse_osv(b"  42", "x.json").expect_err("number");
    assert_eq!((e.line, e.column), (1, 3));
    assert!(e.reason.contains("not an OSV document"), "{e}");
}

fn build_zip(entries: &[(&str, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, body) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, opts).expect("dir");
        } else {
            w.start_file(*name, opts).expect("start");
            w.write_all(body).expect("write");
        }
    }
    w.finish().expect("finish").into_inner()
}

fn fixture_entries() -> Vec<(&'static str, Vec<u8>)> {
    FIXTURES.iter().map(|f| (*f, osv_fixture(f))).collect()
}

#[test]
fn all_zip_layout() {
    for method in [
        zip::CompressionMethod::Deflated,
        zip::CompressionMethod::Stored,
    ] {
        let mut entries = fixture_entries();
        entries.push(("docs/", Vec::new()));
        entries.push(("README.txt", b"not a record".to_vec()));
        let bytes = build_zip(&entries, method);
        let recs = parse_osv_zip(&bytes, "all.zip").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(recs, all_fixtures(), "{method:?}");
        let idx = OsvIndex::new(&recs);
        assert_eq!(
            ids(&idx.match_package(&Ecosystem::PyPI, "pip", "23.2.1")),
            vec!["PYSEC-2023-228"]
        );
    }
}

#[test]
fn all_zip_refusals() {
    // A bad entry names itself and the position inside it.
    let mut entries = fixture_entries();
    entries.push((
        "BAD-1.json",
        b"{\n  \"id\": \"BAD-1\",\n  \"modified\": \n}".to_vec(),
    ));
    let bytes = build_zip(&entries, zip::CompressionMethod::Deflated);
    let e = parse_osv_zip(&bytes, "all.zip").expect_err("bad entry");
    assert_eq!(e.file, "all.zip!BAD-1.json");
    assert_eq!((e.line, e.column), (4, 1));
    assert!(e.reason.starts_with("malformed JSON"), "{e}");
    assert!(e.to_string().starts_with("all.zip!BAD-1.json:4:1: "), "{e}");

    // A truncated archive.
    let good = build_zip(&fixture_entries(), zip::CompressionMethod::Deflated);
    let e = parse_osv_zip(&good[..good.len() / 2], "all.zip").expect_err("truncated");
    assert_eq!((e.file.as_str(), e.line, e.column), ("all.zip", 0, 0));
    assert!(e.reason.contains("not a readable zip archive"), "{e}");
    assert!(parse_osv_zip(b"", "empty.zip").is_err());
    assert!(parse_osv_zip(b"PK\x03\x04garbage", "g.zip").is_err());

    // A corrupted entry body (CRC or inflate failure).
    let stored = build_zip(&fixture_entries(), zip::CompressionMethod::Stored);
    let mut corrupt = stored.clone();
    let at = stored
        .windows(b"PYSEC-2023-228\",".len())
        .position(|w| w == b"PYSEC-2023-228\",")
        .expect("record text in a stored entry");
    corrupt[at] = b'Q';
    let e = parse_osv_zip(&corrupt, "all.zip").expect_err("crc");
    assert_eq!(e.file, "all.zip!PYSEC-2023-228.json");
    assert!(e.reason.contains("corrupt or truncated zip entry"), "{e}");
}

#[test]
fn shared_pypi_sample_verdicts() {
    let Some(dir) = testkit::require_shared_data("osv/pypi") else {
        return;
    };
    let mut recs = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    for p in &names {
        let bytes = std::fs::read(p).expect("read");
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        recs.extend(parse_osv(&bytes, name).unwrap_or_else(|e| panic!("{e}")));
    }
    assert_eq!(recs.len(), 15);
    let idx = OsvIndex::new(&recs);
    // (package, installed version, ids affecting it) from shared/data/osv/INDEX.md:
    // the python3 column, then the /usr/bin/python3 column.
    let table: &[(&str, &str, &[&str])] = &[
        ("cryptography", "48.0.0", &[]),
        ("cryptography", "38.0.4", &["PYSEC-2023-254"]),
        ("flask", "3.1.3", &[]),
        ("idna", "3.13", &[]),
        ("ipython", "8.12.3", &[]),
        ("Jinja2", "3.1.6", &[]),
        ("orjson", "3.8.3", &["PYSEC-2024-40"]),
        ("pip", "23.2.1", &["PYSEC-2023-228"]),
        ("pip", "23.0.1", &["PYSEC-2023-228"]),
        ("Pygments", "2.20.0", &[]),
        ("pygments", "2.14.0", &["PYSEC-2023-117"]),
        ("PyYAML", "6.0.3", &[]),
        ("pyyaml", "6.0", &[]),
        ("requests", "2.34.2", &[]),
        ("setuptools", "65.5.0", &["PYSEC-2022-43012"]),
        ("setuptools", "66.1.1", &[]),
        ("urllib3", "2.7.0", &[]),
        ("Werkzeug", "3.1.8", &[]),
    ];
    for (pkg, ver, want) in table {
        let got = idx.match_package(&Ecosystem::PyPI, pkg, ver);
        assert_eq!(ids(&got), want.to_vec(), "{pkg} {ver}");
    }
    // Every record's own fix is not affected; the version before the fix is.
    let e = &idx.match_package(&Ecosystem::PyPI, "setuptools", "65.5.0")[0];
    assert_eq!(e.evidence.range, "introduced 0, fixed 65.5.1");
    assert_eq!(e.fixed_version.as_deref(), Some("65.5.1"));
    let with_cvss = recs.iter().filter(|r| r.severity.is_some()).count();
    assert_eq!(with_cvss, 5);
}
