//! The secure-configuration catalogue: which configurations exist, for which OS,
//! and the rule that decides applicability and compliance from reported settings.
//!
//! The catalogue ships with Posture as data (`catalog/configurations.json`,
//! embedded at build time). A rule is a small JSON expression over the device's
//! reported settings:
//!
//! ```json
//! {"setting": "Firewall.Public.Enabled", "eq": "1"}
//! {"setting": "Password.MinimumLength", "gte": 14}         (numeric; a non-number fails)
//! {"setting": "sshd.PermitRootLogin", "in": ["no", "prohibit-password"]}
//! {"setting": "Telnet.ServerInstalled", "present": true}
//! {"all": [...]}  {"any": [...]}  {"not": {...}}
//! ```
//! A comparison on a setting the device did not report is false: a configuration
//! the device says nothing about is applicable but not compliant, as in MDE.

use model::OsKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const EMBEDDED: &str = include_str!("../catalog/configurations.json");

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    pub catalog: String,
    pub version: String,
    pub configurations: Vec<Configuration>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Configuration {
    pub id: String,
    pub name: String,
    pub category: String,
    pub subcategory: String,
    pub impact: u8,
    pub expected_user_impact: bool,
    pub os: Vec<OsKind>,
    #[serde(default)]
    pub applies_when: Option<Rule>,
    pub compliant_when: Rule,
    /// Setting values used by the synthetic fleet; not used in assessment.
    #[serde(default)]
    pub samples: Option<Samples>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Samples {
    pub compliant: BTreeMap<String, String>,
    pub noncompliant: BTreeMap<String, String>,
    pub compliance_rate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rule {
    All { all: Vec<Rule> },
    Any { any: Vec<Rule> },
    Not { not: Box<Rule> },
    Setting(SettingTest),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingTest {
    pub setting: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ne: Option<String>,
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub in_: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("configuration catalogue is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("configuration {id}: {reason}")]
    Invalid { id: String, reason: String },
}

impl Catalog {
    /// The catalogue shipped with Posture.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        Self::from_json(EMBEDDED)
    }

    pub fn from_json(text: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog = serde_json::from_str(text)?;
        let mut seen = std::collections::HashSet::new();
        for c in &catalog.configurations {
            let invalid = |reason: &str| CatalogError::Invalid {
                id: c.id.clone(),
                reason: reason.into(),
            };
            if !seen.insert(c.id.as_str()) {
                return Err(invalid("duplicate id"));
            }
            if !c.id.starts_with("scid-") {
                return Err(invalid("id must look like scid-N"));
            }
            if !(1..=10).contains(&c.impact) {
                return Err(invalid("impact must be 1..10"));
            }
            for rule in std::iter::once(&c.compliant_when).chain(c.applies_when.as_ref()) {
                rule.check().map_err(|r| invalid(&r))?;
            }
        }
        Ok(catalog)
    }

    pub fn for_os(&self, kind: OsKind) -> impl Iterator<Item = (usize, &Configuration)> {
        self.configurations
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.os.contains(&kind))
    }
}

/// The outcome of one configuration on one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigOutcome {
    pub applicable: bool,
    pub compliant: bool,
}

/// A device's reported settings, by name: what a rule reads.
pub trait Settings {
    fn setting(&self, name: &str) -> Option<&str>;
}

impl Settings for BTreeMap<String, String> {
    fn setting(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// Settings as (name, value) pairs strictly ascending by name, as a stored state's view
/// holds them (`store::DeviceView::settings`): found by binary search.
impl Settings for [(&str, &str)] {
    fn setting(&self, name: &str) -> Option<&str> {
        self.binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .map(|i| self[i].1)
    }
}

impl Configuration {
    pub fn evaluate<S: Settings + ?Sized>(&self, settings: &S) -> ConfigOutcome {
        let applicable = self.applies_when.as_ref().is_none_or(|r| r.eval(settings));
        ConfigOutcome {
            applicable,
            compliant: applicable && self.compliant_when.eval(settings),
        }
    }
}

impl Rule {
    pub fn eval<S: Settings + ?Sized>(&self, settings: &S) -> bool {
        match self {
            Rule::All { all } => all.iter().all(|r| r.eval(settings)),
            Rule::Any { any } => any.iter().any(|r| r.eval(settings)),
            Rule::Not { not } => !not.eval(settings),
            Rule::Setting(t) => t.eval(settings.setting(&t.setting).map(str::trim)),
        }
    }

    fn check(&self) -> Result<(), String> {
        match self {
            Rule::All { all: rules } | Rule::Any { any: rules } => {
                if rules.is_empty() {
                    return Err("all/any needs at least one rule".into());
                }
                rules.iter().try_for_each(Rule::check)
            }
            Rule::Not { not } => not.check(),
            Rule::Setting(t) => {
                let tests = [
                    t.eq.is_some(),
                    t.ne.is_some(),
                    t.in_.is_some(),
                    t.gte.is_some(),
                    t.lte.is_some(),
                    t.present.is_some(),
                ];
                match tests.iter().filter(|b| **b).count() {
                    1 => Ok(()),
                    _ => Err(format!(
                        "setting test on {:?} needs exactly one of eq, ne, in, gte, lte, present",
                        t.setting
                    )),
                }
            }
        }
    }
}

impl SettingTest {
    fn eval(&self, value: Option<&str>) -> bool {
        if let Some(want) = self.present {
            return value.is_some() == want;
        }
        let Some(v) = value else { return false };
        let number = || v.parse::<f64>().ok();
        if let Some(x) = &self.eq {
            return v == x;
        }
        if let Some(x) = &self.ne {
            return v != x;
        }
        if let Some(xs) = &self.in_ {
            return xs.iter().any(|x| x == v);
        }
        if let Some(min) = self.gte {
            return number().is_some_and(|n| n >= min);
        }
        if let Some(max) = self.lte {
            return number().is_some_and(|n| n <= max);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn embedded_catalogue_is_valid_and_samples_agree_with_rules() {
        let c = Catalog::embedded().unwrap();
        assert!(c.configurations.len() >= 30);
        for kind in [OsKind::Windows, OsKind::Mac, OsKind::Linux] {
            assert!(c.for_os(kind).count() >= 5, "{kind:?}");
        }
        // The fleet's sample values must really be (non-)compliant under the rule,
        // or the synthetic compliance rates would be fiction.
        for conf in &c.configurations {
            let s = conf.samples.as_ref().unwrap();
            let mut ok = s.compliant.clone();
            let mut bad = s.noncompliant.clone();
            if let Some(Rule::Setting(t)) = &conf.applies_when {
                let v = t.eq.clone().unwrap();
                ok.insert(t.setting.clone(), v.clone());
                bad.insert(t.setting.clone(), v);
            }
            assert_eq!(
                conf.evaluate(&ok),
                ConfigOutcome {
                    applicable: true,
                    compliant: true
                },
                "{}",
                conf.id
            );
            assert_eq!(
                conf.evaluate(&bad),
                ConfigOutcome {
                    applicable: true,
                    compliant: false
                },
                "{}",
                conf.id
            );
            // A stored state's view holds the same settings as ascending pairs.
            for map in [&ok, &bad] {
                let pairs: Vec<(&str, &str)> =
                    map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                assert_eq!(
                    conf.evaluate(pairs.as_slice()),
                    conf.evaluate(map),
                    "{}",
                    conf.id
                );
            }
        }
    }

    #[test]
    fn ascending_pairs_find_every_setting_and_only_those() {
        let pairs = [("a", "1"), ("b.c", "2"), ("b.d", "3"), ("z", "4")];
        for (k, v) in pairs {
            assert_eq!(pairs.as_slice().setting(k), Some(v));
        }
        for missing in ["", "0", "b", "b.e", "zz"] {
            assert_eq!(pairs.as_slice().setting(missing), None, "{missing}");
        }
        assert_eq!([].as_slice().setting("a"), None);
    }

    #[test]
    fn rules() {
        let r: Rule =
            serde_json::from_str(r#"{"all":[{"setting":"a","gte":1},{"setting":"a","lte":10}]}"#)
                .unwrap();
        assert!(r.eval(&settings(&[("a", "5")])));
        assert!(!r.eval(&settings(&[("a", "0")])));
        assert!(!r.eval(&settings(&[("a", "x")])));
        assert!(!r.eval(&settings(&[])));
        let r: Rule = serde_json::from_str(r#"{"not":{"setting":"t","eq":"1"}}"#).unwrap();
        assert!(r.eval(&settings(&[])));
        let r: Rule = serde_json::from_str(r#"{"setting":"p","present":false}"#).unwrap();
        assert!(r.eval(&settings(&[])));
        let r: Rule = serde_json::from_str(
            r#"{"any":[{"setting":"a","in":["x","y"]},{"setting":"b","ne":"0"}]}"#,
        )
        .unwrap();
        assert!(r.eval(&settings(&[("a", "y")])));
        assert!(r.eval(&settings(&[("b", " 2 ")])));
        assert!(!r.eval(&settings(&[("b", "0")])));
    }

    #[test]
    fn applicability_gates_compliance() {
        let c = Catalog::embedded().unwrap();
        let bitlocker = c
            .configurations
            .iter()
            .find(|c| c.id == "scid-2500")
            .unwrap();
        let out = bitlocker.evaluate(&settings(&[("BitLocker.OsVolumeProtected", "1")]));
        assert_eq!(
            out,
            ConfigOutcome {
                applicable: false,
                compliant: false
            }
        );
    }

    #[test]
    fn bad_catalogues_are_refused() {
        let bad = r#"{"catalog":"x","version":"1","configurations":[{"id":"scid-1","name":"n","category":"OS","subcategory":"","impact":11,"expectedUserImpact":false,"os":["linux"],"compliantWhen":{"setting":"a","eq":"1"}}]}"#;
        assert!(
            Catalog::from_json(bad)
                .unwrap_err()
                .to_string()
                .contains("impact")
        );
        let bad = bad
            .replace("\"impact\":11", "\"impact\":3")
            .replace(r#""eq":"1""#, r#""eq":"1","ne":"2""#);
        assert!(
            Catalog::from_json(&bad)
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
    }
}
