//! The record types as schemas: JSON Schema components (for OpenAPI) and the OData v4
//! CSDL document served at `$metadata`, both generated from the [`crate::wire`] types'
//! `JsonSchema` derives. Those derives read serde's attributes, so property names,
//! nullability and types here are the serialised ones, with no second spelling.
//!
//! Type mapping: `string` → `Edm.String` (`Edm.DateTimeOffset` only for fields the wire
//! types mark `format: date-time`, which hold strict ISO 8601 values; MDE's
//! space-separated stamps stay strings), `boolean` → `Edm.Boolean`, integers up to 16
//! bits and `int32` → `Edm.Int32`, wider ones → `Edm.Int64`, `number` → `Edm.Double`,
//! string enums → `Edm.String`, arrays of those → `Collection(..)`. A property is
//! nullable exactly when its schema admits `null` (an `Option` field).

use crate::wire::{
    AssetConfiguration, AssetNonCpeSoftware, AssetSoftware, AssetVulnerability,
    DeltaAssetVulnerability, DeviceAvInfo, ErrorBody, ExportFilesResponse, NAMESPACE, WireRecord,
};
use serde_json::{Map, Value};
use std::fmt::Write;

#[derive(Debug, thiserror::Error)]
pub enum CsdlError {
    #[error("{record}.{property}: cannot map to an EDM type: {reason}")]
    Unsupported {
        record: String,
        property: String,
        reason: String,
    },
    #[error("{record}: key property {property} is not a non-nullable primitive property")]
    BadKey { record: String, property: String },
    #[error("{record}: schema has no properties")]
    NoProperties { record: String },
}

/// One record type served on the wire: its OData name, key and JSON Schema.
#[derive(Clone, Debug)]
pub struct RecordType {
    pub name: &'static str,
    /// Key properties; empty for a complex type.
    pub key: &'static [&'static str],
    /// The root JSON Schema (with its own `$defs`).
    pub schema: Value,
}

impl RecordType {
    fn of<T: WireRecord>() -> RecordType {
        RecordType {
            name: T::ENTITY,
            key: T::KEY,
            schema: schemars::schema_for!(T).to_value(),
        }
    }

    /// An entity type has a key; a complex type (the export-files response) has none.
    pub fn is_entity(&self) -> bool {
        !self.key.is_empty()
    }

    /// The OData properties in the schema's order. `@`-prefixed members are OData
    /// control information (`@odata.context`), not properties.
    pub fn properties(&self) -> Result<Vec<Property>, CsdlError> {
        let props = self
            .schema
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| CsdlError::NoProperties {
                record: self.name.to_owned(),
            })?;
        let defs = self.schema.get("$defs").and_then(Value::as_object);
        props
            .iter()
            .filter(|(name, _)| !name.starts_with('@'))
            .map(|(name, schema)| {
                property(name, schema, defs).map_err(|reason| CsdlError::Unsupported {
                    record: self.name.to_owned(),
                    property: name.clone(),
                    reason,
                })
            })
            .collect()
    }
}

/// Every record type Posture serves, in endpoint order.
pub fn record_types() -> Vec<RecordType> {
    vec![
        RecordType::of::<AssetConfiguration>(),
        RecordType::of::<AssetSoftware>(),
        RecordType::of::<AssetNonCpeSoftware>(),
        RecordType::of::<AssetVulnerability>(),
        RecordType::of::<DeltaAssetVulnerability>(),
        RecordType::of::<DeviceAvInfo>(),
        RecordType::of::<ExportFilesResponse>(),
    ]
}

/// JSON Schemas of every record type and of the error body, keyed by type name, for
/// OpenAPI `components/schemas`: nested `$defs` are hoisted beside them and their refs
/// rewritten to `#/components/schemas/<name>`.
pub fn component_schemas() -> Map<String, Value> {
    let mut roots: Vec<(String, Value)> = record_types()
        .into_iter()
        .map(|t| (t.name.to_owned(), t.schema))
        .collect();
    roots.push((
        "Error".to_owned(),
        schemars::schema_for!(ErrorBody).to_value(),
    ));
    let mut out = Map::new();
    for (name, mut schema) in roots {
        if let Some(root) = schema.as_object_mut() {
            root.remove("$schema");
            root.remove("title");
            if let Some(Value::Object(defs)) = root.remove("$defs") {
                for (def_name, mut def) in defs {
                    rewrite_refs(&mut def);
                    out.insert(def_name, def);
                }
            }
        }
        rewrite_refs(&mut schema);
        out.insert(name, schema);
    }
    out
}

fn rewrite_refs(schema: &mut Value) {
    match schema {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/components/schemas/{name}");
            }
            o.values_mut().for_each(rewrite_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// The primitive EDM types the wire records use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdmType {
    String,
    Boolean,
    Int32,
    Int64,
    Double,
    DateTimeOffset,
}

impl EdmType {
    pub fn as_str(self) -> &'static str {
        match self {
            EdmType::String => "Edm.String",
            EdmType::Boolean => "Edm.Boolean",
            EdmType::Int32 => "Edm.Int32",
            EdmType::Int64 => "Edm.Int64",
            EdmType::Double => "Edm.Double",
            EdmType::DateTimeOffset => "Edm.DateTimeOffset",
        }
    }
}

/// One structural property of a record type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub edm: EdmType,
    /// A collection of `edm` values (JSON array).
    pub collection: bool,
    /// Whether the value (or, for a collection, an item) may be `null`.
    pub nullable: bool,
}

impl Property {
    /// The CSDL `Type` attribute: `Edm.String` or `Collection(Edm.String)`.
    pub fn type_name(&self) -> String {
        if self.collection {
            format!("Collection({})", self.edm.as_str())
        } else {
            self.edm.as_str().to_owned()
        }
    }
}

fn property(
    name: &str,
    schema: &Value,
    defs: Option<&Map<String, Value>>,
) -> Result<Property, String> {
    let (edm, collection, nullable) = match primitive(schema, defs)? {
        Shape::Primitive(edm, nullable) => (edm, false, nullable),
        Shape::Array(items) => match primitive(items, defs)? {
            Shape::Primitive(edm, nullable) => (edm, true, nullable),
            Shape::Array(_) => return Err("nested arrays".into()),
        },
    };
    Ok(Property {
        name: name.to_owned(),
        edm,
        collection,
        nullable,
    })
}

enum Shape<'a> {
    Primitive(EdmType, bool),
    Array(&'a Value),
}

fn primitive<'a>(
    schema: &'a Value,
    defs: Option<&'a Map<String, Value>>,
) -> Result<Shape<'a>, String> {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r
                .strip_prefix("#/$defs/")
                .ok_or_else(|| format!("unresolvable $ref {r}"))?;
            defs.and_then(|d| d.get(name))
                .ok_or_else(|| format!("missing definition {name}"))?
        }
        None => schema,
    };
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        // A unit-variant enum (ChangeStatus) is a string enum.
        None if schema
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|e| e.iter().all(Value::is_string)) =>
        {
            vec!["string"]
        }
        _ => return Err(format!("no JSON type in {schema}")),
    };
    let nullable = types.contains(&"null");
    let concrete: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    let [ty] = concrete.as_slice() else {
        return Err(format!("not exactly one non-null type in {schema}"));
    };
    let format = schema.get("format").and_then(Value::as_str);
    let edm = match *ty {
        "string" if format == Some("date-time") => EdmType::DateTimeOffset,
        "string" => EdmType::String,
        "boolean" => EdmType::Boolean,
        "integer" => match format {
            Some("int8" | "int16" | "int32" | "uint8" | "uint16") => EdmType::Int32,
            _ => EdmType::Int64,
        },
        "number" => EdmType::Double,
        "array" if !nullable => {
            let items = schema
                .get("items")
                .ok_or_else(|| "array without items".to_owned())?;
            return Ok(Shape::Array(items));
        }
        other => return Err(format!("unsupported JSON type {other}")),
    };
    Ok(Shape::Primitive(edm, nullable))
}

/// What the entity container declares: entity sets and function imports. The server
/// derives it from its endpoint table; the types come from [`record_types`].
#[derive(Clone, Debug, Default)]
pub struct Container {
    pub name: String,
    /// (entity set name, entity type name).
    pub entity_sets: Vec<(String, String)>,
    pub functions: Vec<Function>,
}

/// An unbound function (and its import) returning a record type or a collection of one.
#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    pub returns: String,
    pub collection: bool,
}

/// The OData v4 CSDL XML (EDMX 4.0) of every record type in [`NAMESPACE`], with `container`.
pub fn document(container: &Container) -> Result<String, CsdlError> {
    let mut x = String::with_capacity(16 << 10);
    x.push_str(concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        "\n",
        r#"<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">"#,
        "\n<edmx:DataServices>\n",
    ));
    let _ = writeln!(
        x,
        r#"<Schema Namespace="{}" xmlns="http://docs.oasis-open.org/odata/ns/edm">"#,
        escape(NAMESPACE)
    );
    for record in record_types() {
        let properties = record.properties()?;
        for key in record.key {
            let ok = properties
                .iter()
                .any(|p| p.name == *key && !p.nullable && !p.collection);
            if !ok {
                return Err(CsdlError::BadKey {
                    record: record.name.to_owned(),
                    property: (*key).to_owned(),
                });
            }
        }
        let element = if record.is_entity() {
            "EntityType"
        } else {
            "ComplexType"
        };
        let _ = writeln!(x, r#"<{element} Name="{}">"#, escape(record.name));
        if record.is_entity() {
            x.push_str("<Key>");
            for key in record.key {
                let _ = write!(x, r#"<PropertyRef Name="{}"/>"#, escape(key));
            }
            x.push_str("</Key>\n");
        }
        for p in &properties {
            let _ = write!(
                x,
                r#"<Property Name="{}" Type="{}""#,
                escape(&p.name),
                p.type_name()
            );
            if !p.nullable {
                x.push_str(r#" Nullable="false""#);
            }
            // Times carry milliseconds (`2022-08-02T18:40:15.882Z`); CSDL's default precision is 0.
            if p.edm == EdmType::DateTimeOffset {
                x.push_str(r#" Precision="3""#);
            }
            x.push_str("/>\n");
        }
        let _ = writeln!(x, "</{element}>");
    }
    for f in &container.functions {
        let returns = format!("{NAMESPACE}.{}", f.returns);
        let returns = if f.collection {
            format!("Collection({returns})")
        } else {
            returns
        };
        let _ = writeln!(
            x,
            r#"<Function Name="{}"><ReturnType Type="{}" Nullable="false"/></Function>"#,
            escape(&f.name),
            escape(&returns)
        );
    }
    let _ = writeln!(x, r#"<EntityContainer Name="{}">"#, escape(&container.name));
    for (set, ty) in &container.entity_sets {
        let _ = writeln!(
            x,
            r#"<EntitySet Name="{}" EntityType="{}.{}"/>"#,
            escape(set),
            NAMESPACE,
            escape(ty)
        );
    }
    for f in &container.functions {
        let _ = writeln!(
            x,
            r#"<FunctionImport Name="{}" Function="{NAMESPACE}.{}"/>"#,
            escape(&f.name),
            escape(&f.name)
        );
    }
    x.push_str("</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n");
    Ok(x)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(name: &str) -> Vec<Property> {
        record_types()
            .into_iter()
            .find(|t| t.name == name)
            .expect("record type")
            .properties()
            .expect("mappable")
    }

    fn prop(name: &str, property: &str) -> Property {
        props(name)
            .into_iter()
            .find(|p| p.name == property)
            .unwrap_or_else(|| panic!("{name}.{property} missing"))
    }

    #[test]
    fn types_follow_the_serialised_fields() {
        let sw = prop("AssetSoftware", "diskPaths");
        assert_eq!(
            (sw.type_name().as_str(), sw.nullable),
            ("Collection(Edm.String)", false)
        );
        let eos = prop("AssetSoftware", "endOfSupportDate");
        assert_eq!((eos.edm, eos.nullable), (EdmType::DateTimeOffset, true));
        // MDE's space-separated stamps are not OData date-times.
        assert_eq!(
            prop("AssetSoftware", "softwareFirstSeenTimestamp").edm,
            EdmType::String
        );
        assert_eq!(
            prop("AssetConfiguration", "configurationImpact").edm,
            EdmType::Int32
        );
        assert_eq!(
            prop("AssetConfiguration", "rbacGroupId").edm,
            EdmType::Int64
        );
        assert_eq!(
            prop("AssetSoftware", "numberOfWeaknesses").edm,
            EdmType::Int64
        );
        let cvss = prop("AssetVulnerability", "cvssScore");
        assert_eq!((cvss.edm, cvss.nullable), (EdmType::Double, true));
        let device_name = prop("AssetVulnerability", "deviceName");
        assert_eq!(
            (device_name.edm, device_name.nullable),
            (EdmType::String, true)
        );
        assert!(!prop("AssetVulnerability", "deviceId").nullable);
        assert_eq!(
            prop("DeviceAvInfo", "lastSeenTime").edm,
            EdmType::DateTimeOffset
        );
        assert_eq!(prop("DeviceAvInfo", "avMode").edm, EdmType::String);
        assert_eq!(
            prop("ExportFilesResponse", "generatedTime").edm,
            EdmType::DateTimeOffset
        );
        // The delta record is the vulnerability record plus status and eventTimestamp.
        let delta = props("DeltaAssetVulnerability");
        assert_eq!(delta.len(), props("AssetVulnerability").len() + 2);
        assert_eq!(
            prop("DeltaAssetVulnerability", "status").edm,
            EdmType::String
        );
        assert!(
            props("ExportFilesResponse")
                .iter()
                .all(|p| !p.name.starts_with('@'))
        );
    }

    #[test]
    fn every_serialised_field_is_a_property() {
        let record = crate::wire::AssetNonCpeSoftware {
            device_id: "d".into(),
            rbac_group_id: 1,
            rbac_group_name: "g".into(),
            device_name: None,
            os_platform: "Linux".into(),
            software_vendor: "v".into(),
            software_name: "n".into(),
            software_version: "1".into(),
            software_last_seen_timestamp: "t".into(),
        };
        let value = serde_json::to_value(&record).expect("serialises");
        let mut wire: Vec<String> = value.as_object().expect("object").keys().cloned().collect();
        let mut declared: Vec<String> = props("AssetNonCpeSoftware")
            .into_iter()
            .map(|p| p.name)
            .collect();
        wire.sort();
        declared.sort();
        assert_eq!(wire, declared);
    }

    #[test]
    fn document_declares_every_type_and_the_container() {
        let container = Container {
            name: "Posture".into(),
            entity_sets: vec![("DeviceAvInfo".into(), "DeviceAvInfo".into())],
            functions: vec![Function {
                name: "SoftwareVulnerabilitiesByMachine".into(),
                returns: "AssetVulnerability".into(),
                collection: true,
            }],
        };
        let xml = document(&container).expect("generates");
        assert!(xml.contains(r#"<edmx:Edmx Version="4.0""#));
        for t in record_types() {
            assert!(
                xml.contains(&format!(r#"Type Name="{}">"#, t.name)),
                "{}",
                t.name
            );
        }
        assert!(xml.contains(r#"<ComplexType Name="ExportFilesResponse">"#));
        assert!(xml.contains(r#"<Key><PropertyRef Name="id"/></Key>"#));
        assert!(xml.contains(
            r#"<ReturnType Type="Collection(microsoft.windowsDefenderATP.api.AssetVulnerability)""#
        ));
        assert!(xml.contains(r#"<EntitySet Name="DeviceAvInfo" EntityType="microsoft.windowsDefenderATP.api.DeviceAvInfo"/>"#));
    }

    #[test]
    fn components_hoist_definitions() {
        let c = component_schemas();
        assert!(
            c.contains_key("ChangeStatus"),
            "{:?}",
            c.keys().collect::<Vec<_>>()
        );
        assert!(c.contains_key("Error"));
        let text = Value::Object(c).to_string();
        assert!(!text.contains("#/$defs/"));
    }
}
