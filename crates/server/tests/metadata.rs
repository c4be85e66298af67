//! `$metadata` against real OData CSDL consumers: the served document must be accepted by
//! `odata-csdl` (CSDL XML → CSDL JSON, strict) and `odata-openapi` (CSDL → OpenAPI), and
//! every property of every record Posture serves, taken from real served pages, must be
//! declared there with a compatible type; every `@odata.context` must resolve.
//!
//! The tools are npm packages. Install them where this test finds them:
//!   `npm install -g odata-csdl@0.11.2 odata-openapi@0.29.0`
//! (found through `npm root -g`), or `npm install --prefix DIR ...` and set
//! `POSTURE_NODE_MODULES=DIR/node_modules`. Without node or the packages the test skips
//! with a note, and fails when `POSTURE_REQUIRE_TOOLS=1`.

use chrono::{Duration, Utc};
use serde_json::Value;
use server::{ApiConfig, Clock};
use snapshot::Snapshots;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const NAMESPACE: &str = "microsoft.windowsDefenderATP.api";

/// `None` (after a note) when the tools are missing and not required.
fn node_modules() -> Option<PathBuf> {
    const INSTALL: &str =
        "apt-get install -y nodejs npm && npm install -g odata-csdl@0.11.2 odata-openapi@0.29.0";
    let missing = |what: String| {
        testkit::tools::missing(&what, INSTALL);
        None
    };
    if Command::new("node").arg("--version").output().is_err() {
        return missing("node (the CSDL consumer checks)".into());
    }
    let root = match std::env::var_os("POSTURE_NODE_MODULES") {
        Some(dir) => PathBuf::from(dir),
        None => match Command::new("npm").args(["root", "-g"]).output() {
            Ok(out) if out.status.success() => {
                PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
            }
            _ => return missing("npm (POSTURE_NODE_MODULES is unset)".into()),
        },
    };
    for package in ["odata-csdl", "odata-openapi"] {
        if !root.join(package).join("package.json").is_file() {
            return missing(format!("{package} in {}", root.display()));
        }
    }
    Some(root)
}

/// Runs both converters on `xml_path`; returns (CSDL JSON, OpenAPI document).
fn convert(modules: &Path, xml_path: &Path, work: &Path) -> (Value, Value) {
    let script = work.join("convert.js");
    std::fs::write(
        &script,
        r#"
const fs = require("fs");
const path = require("path");
const modules = process.argv[2];
const { xml2json } = require(path.join(modules, "odata-csdl"));
const { csdl2openapi } = require(path.join(modules, "odata-openapi"));
const xml = fs.readFileSync(process.argv[3], "utf8");
const csdlMessages = [];
// strict: invalid CSDL throws instead of being repaired.
const csdl = xml2json(xml, { strict: true, messages: csdlMessages });
const openapiMessages = [];
const openapi = csdl2openapi(csdl, { openapiVersion: "3.0.2", messages: openapiMessages });
process.stdout.write(JSON.stringify({ csdl, openapi, csdlMessages, openapiMessages }));
"#,
    )
    .unwrap();
    let out = testkit::tools::run_ok(
        Command::new("node").arg(&script).arg(modules).arg(xml_path),
        "a CSDL consumer of $metadata",
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("converter output is JSON");
    assert_eq!(
        v["csdlMessages"],
        Value::Array(vec![]),
        "odata-csdl warnings"
    );
    (v["csdl"].clone(), v["openapi"].clone())
}

/// Whether a served JSON value fits a CSDL JSON property (`$Type` defaults to
/// Edm.String, `$Nullable` to false, `$Collection` to false in CSDL JSON).
fn compatible(value: &Value, prop: &Value) -> Result<(), String> {
    let ty = prop["$Type"].as_str().unwrap_or("Edm.String");
    let nullable = prop["$Nullable"].as_bool().unwrap_or(false);
    let collection = prop["$Collection"].as_bool().unwrap_or(false);
    let scalar = |v: &Value| -> Result<(), String> {
        let ok = match (v, ty) {
            (Value::Null, _) => nullable,
            (Value::String(_), "Edm.String") => true,
            (Value::String(s), "Edm.DateTimeOffset") => {
                chrono::DateTime::parse_from_rfc3339(s).is_ok()
            }
            (Value::Bool(_), "Edm.Boolean") => true,
            (Value::Number(n), "Edm.Int32") => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
            (Value::Number(n), "Edm.Int64") => n.as_i64().is_some(),
            (Value::Number(_), "Edm.Double") => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{v} is not a {ty} (nullable {nullable})"))
        }
    };
    if collection {
        match value {
            Value::Array(items) => items.iter().try_for_each(scalar),
            other => Err(format!("{other} is not a collection of {ty}")),
        }
    } else {
        scalar(value)
    }
}

/// Checks one served record against its declared type, in CSDL JSON and in OpenAPI.
fn check_record(csdl: &Value, openapi: &Value, type_name: &str, record: &Value) {
    let declared = &csdl[NAMESPACE][type_name];
    assert!(declared.is_object(), "{type_name} is not declared");
    let openapi_props =
        &openapi["components"]["schemas"][format!("{NAMESPACE}.{type_name}")]["properties"];
    let members = record.as_object().expect("a record is an object");
    for (name, value) in members {
        if name.starts_with('@') {
            continue;
        }
        let prop = &declared[name.as_str()];
        assert!(prop.is_object(), "{type_name}.{name} is not declared");
        compatible(value, prop).unwrap_or_else(|e| panic!("{type_name}.{name}: {e}"));
        assert!(
            openapi_props.get(name.as_str()).is_some(),
            "{type_name}.{name} is not in odata-openapi's output"
        );
    }
    // And no declared property is missing from the record (the wire types serialise all).
    let declared_names: Vec<&String> = declared
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .filter(|k| !k.starts_with('$'))
        .collect();
    for name in declared_names {
        assert!(
            members.contains_key(name),
            "{type_name}.{name} declared but not served"
        );
    }
}

/// Resolves `<base>/api/$metadata#<fragment>` to a declared type name.
fn resolve_context(csdl: &Value, context: &str) -> String {
    let fragment = context
        .split_once("/api/$metadata#")
        .unwrap_or_else(|| panic!("{context} does not point at $metadata"))
        .1;
    let qualified = fragment
        .strip_prefix("Collection(")
        .and_then(|f| f.strip_suffix(')'))
        .unwrap_or(fragment);
    let name = match qualified.strip_prefix(&format!("{NAMESPACE}.")) {
        Some(name) => name.to_owned(),
        None => {
            // An entity set of the container.
            let container = csdl["$EntityContainer"].as_str().expect("a container");
            let (ns, container_name) = container.rsplit_once('.').expect("qualified");
            let set = &csdl[ns][container_name][qualified];
            assert_eq!(set["$Collection"], true, "{qualified} is not an entity set");
            let ty = set["$Type"].as_str().expect("entity set type");
            ty.strip_prefix(&format!("{NAMESPACE}."))
                .unwrap_or(ty)
                .to_owned()
        }
    };
    assert!(
        csdl[NAMESPACE][name.as_str()].is_object(),
        "{context} names undeclared {name}"
    );
    name
}

struct Served {
    _dir: tempfile::TempDir,
    snapshots: Arc<Snapshots>,
    first_publish: chrono::DateTime<Utc>,
    latest_publish: chrono::DateTime<Utc>,
}

/// A seeded fleet published twice (with export files), so that every endpoint has rows.
fn published() -> Served {
    let t0 = testkit::world::utc(2026, 11, 18, 0);
    let testkit::world::World {
        dir,
        store,
        snapshots,
    } = testkit::world::seeded(30, 5, t0, 4);
    let backend = Arc::new(
        export::local::LocalBackend::new(
            &dir.path().join("files"),
            "http://127.0.0.1:9/files",
            export::local::UrlSigner::from_key(&[7u8; 32]).unwrap(),
        )
        .unwrap(),
    );
    let hook = export::ExportHook::new(
        backend,
        export::ExportOptions::default(),
        dir.path().join("staging"),
    )
    .unwrap();
    snapshots.set_hook(Arc::new(hook)).unwrap();
    let opts = testkit::world::small_parts(30_000, 7);
    let mut times = Vec::new();
    for k in 0..2 {
        if k > 0 {
            emulator::advance_fleet(store.as_ref(), 6, t0, &|_| {}).unwrap();
        }
        testkit::world::publish_at(&snapshots, t0 + Duration::hours(6 * (k + 1)), &opts);
        times.push(snapshots.latest().unwrap().manifest.generated_at);
    }
    Served {
        _dir: dir,
        snapshots,
        first_publish: times[0],
        latest_publish: times[1],
    }
}

#[test]
fn metadata_is_valid_csdl_that_declares_every_served_record() {
    let served = published();
    let backend: Arc<dyn export::BlobBackend> = Arc::new(
        export::local::LocalBackend::new(
            &served._dir.path().join("files"),
            "http://127.0.0.1:9/files",
            export::local::UrlSigner::from_key(&[7u8; 32]).unwrap(),
        )
        .unwrap(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let base = testkit::world::serve_api(served.snapshots.clone(), 0, |state| {
            let mut config = ApiConfig::new(state.config.base_url.clone());
            config.clock = Clock::Fixed(served.latest_publish + Duration::hours(1));
            state.config = Arc::new(config);
            state.exports = Some(backend);
        })
        .await
        .base;
        let client = reqwest::Client::new();

        // Served as XML, at both prefixes, in any case.
        let mut xml = String::new();
        for path in ["/api/$metadata", "/api/v1.0/$metadata", "/API/$METADATA"] {
            let r = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(
                r.headers()["content-type"].to_str().unwrap(),
                "application/xml",
                "{path}"
            );
            let body = r.text().await.unwrap();
            assert!(body.contains(r#"<edmx:Edmx Version="4.0""#));
            assert!(xml.is_empty() || xml == body, "{path} differs");
            xml = body;
        }

        // A real page of every endpoint.
        let since = model::timefmt::iso_z(&served.first_publish);
        let mut pages: Vec<(String, Value)> = Vec::new();
        for e in server::endpoints::ENDPOINTS {
            let query = match e.handler {
                server::endpoints::Handler::Assessment { .. } => "?$top=40".to_owned(),
                server::endpoints::Handler::Delta => format!("?sinceTime={since}&$top=40"),
                server::endpoints::Handler::DeviceAv => "?$top=40".to_owned(),
                server::endpoints::Handler::Files { .. } => String::new(),
            };
            let r = client
                .get(format!("{base}/api/{}{query}", e.path))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", e.path);
            let page: Value = r.json().await.unwrap();
            pages.push((e.path.to_owned(), page));
        }

        let Some(modules) = node_modules() else {
            return;
        };
        let xml_path = work.path().join("metadata.xml");
        std::fs::write(&xml_path, &xml).unwrap();
        let (csdl, openapi) = convert(&modules, &xml_path, work.path());
        assert!(
            openapi["paths"].as_object().is_some_and(|p| !p.is_empty()),
            "odata-openapi produced no paths"
        );

        for (path, page) in &pages {
            let context = page["@odata.context"]
                .as_str()
                .unwrap_or_else(|| panic!("{path}: no @odata.context"));
            let type_name = resolve_context(&csdl, context);
            match page.get("value") {
                Some(Value::Array(records)) => {
                    assert!(!records.is_empty(), "{path}: an empty page checks nothing");
                    for record in records {
                        check_record(&csdl, &openapi, &type_name, record);
                    }
                }
                // The export-files response is itself the record.
                _ => {
                    assert!(
                        page["exportFiles"]
                            .as_array()
                            .is_some_and(|f| !f.is_empty()),
                        "{path}: no export files"
                    );
                    check_record(&csdl, &openapi, &type_name, page);
                }
            }
        }
    });
    drop(rt);
}
