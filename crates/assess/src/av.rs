//! Antivirus health: the "True"/"False"/"Unknown" up-to-date flags of deviceavinfo.
//!
//! The reference is the newest engine, platform and signature releases known for
//! each (OS kind, AV product) — Defender and ClamAV version lines are never compared — learned from every device's report in the same publish (a fleet
//! where the newest client already runs a release knows that release exists).
//! Rules, per OS kind:
//! * engine / platform: up to date when the version is the newest or the one before
//!   it (MDE's N-1 tolerance for monthly releases);
//! * signatures: up to date when published no more than 3 days before the newest
//!   known signature (falling back to the update time when the publish time is absent);
//! * no AV state, or no version reported: "Unknown".

use chrono::{DateTime, Duration, Utc};
use kb::version::Version;
use model::wire::UpToDate;
use model::{AvState, OsKind};
use std::collections::{BTreeSet, HashMap};

pub const SIGNATURE_TOLERANCE: Duration = Duration::days(3);

/// The product a report's AV state belongs to when it does not name one.
pub const DEFENDER: &str = "Microsoft Defender";

/// The AV product of a report: its `AvProduct` fact, or Defender.
pub fn product_of(facts: &std::collections::BTreeMap<String, serde_json::Value>) -> &str {
    facts
        .get("AvProduct")
        .and_then(|v| v.as_str())
        .unwrap_or(DEFENDER)
}

#[derive(Default, Clone, Debug)]
struct KindReference {
    engines: BTreeSet<Version>,
    platforms: BTreeSet<Version>,
    newest_signature: Option<DateTime<Utc>>,
}

#[derive(Default, Clone, Debug)]
pub struct AvReference {
    kinds: HashMap<(OsKind, String), KindReference>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvHealth {
    pub signature: UpToDate,
    pub engine: UpToDate,
    pub platform: UpToDate,
}

fn signature_time(av: &AvState) -> Option<DateTime<Utc>> {
    av.signature_published_at.or(av.signature_updated_at)
}

impl AvReference {
    /// `product` names the AV engine (the report's `AvProduct` fact; Defender when absent).
    pub fn observe(&mut self, kind: OsKind, product: &str, av: &AvState) {
        let k = self.kinds.entry((kind, product.to_owned())).or_default();
        if let Some(v) = &av.engine_version {
            k.engines.insert(Version::new(v));
        }
        if let Some(v) = &av.platform_version {
            k.platforms.insert(Version::new(v));
        }
        if let Some(t) = signature_time(av) {
            k.newest_signature = Some(k.newest_signature.map_or(t, |n| n.max(t)));
        }
    }

    pub fn health(&self, kind: OsKind, product: &str, av: Option<&AvState>) -> AvHealth {
        let unknown = AvHealth {
            signature: UpToDate::Unknown,
            engine: UpToDate::Unknown,
            platform: UpToDate::Unknown,
        };
        let (Some(av), Some(k)) = (av, self.kinds.get(&(kind, product.to_owned()))) else {
            return unknown;
        };
        let n_minus_1 = |set: &BTreeSet<Version>, v: &Option<String>| match v {
            None => UpToDate::Unknown,
            Some(v) => {
                let floor = set.iter().rev().nth(1).or_else(|| set.iter().next_back());
                match floor {
                    Some(f) if Version::new(v) >= *f => UpToDate::True,
                    Some(_) => UpToDate::False,
                    None => UpToDate::Unknown,
                }
            }
        };
        let signature = match (signature_time(av), k.newest_signature) {
            (Some(t), Some(newest)) if newest - t <= SIGNATURE_TOLERANCE => UpToDate::True,
            (Some(_), Some(_)) => UpToDate::False,
            _ => UpToDate::Unknown,
        };
        AvHealth {
            signature,
            engine: n_minus_1(&k.engines, &av.engine_version),
            platform: n_minus_1(&k.platforms, &av.platform_version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn av(engine: &str, sig_days_ago: i64, now: DateTime<Utc>) -> AvState {
        AvState {
            mode: Some(0),
            engine_version: Some(engine.into()),
            platform_version: None,
            signature_version: Some("1.419.1.0".into()),
            engine_updated_at: None,
            platform_updated_at: None,
            signature_updated_at: None,
            signature_published_at: Some(now - Duration::days(sig_days_ago)),
            cloud_protection: None,
            quick_scan: None,
            full_scan: None,
        }
    }

    #[test]
    fn n_minus_one_and_signature_age() {
        let now = Utc::now();
        let mut r = AvReference::default();
        for (e, d) in [("1.1.24090.11", 0), ("1.1.24080.9", 1), ("1.1.24070.5", 10)] {
            r.observe(OsKind::Windows, DEFENDER, &av(e, d, now));
        }
        let h = r.health(OsKind::Windows, DEFENDER, Some(&av("1.1.24080.9", 2, now)));
        assert_eq!(
            (h.engine, h.signature, h.platform),
            (UpToDate::True, UpToDate::True, UpToDate::Unknown)
        );
        let h = r.health(OsKind::Windows, DEFENDER, Some(&av("1.1.24070.5", 10, now)));
        assert_eq!((h.engine, h.signature), (UpToDate::False, UpToDate::False));
        assert_eq!(
            r.health(OsKind::Windows, DEFENDER, None).engine,
            UpToDate::Unknown
        );
        assert_eq!(
            r.health(OsKind::Mac, DEFENDER, Some(&av("1", 0, now)))
                .engine,
            UpToDate::Unknown
        );
    }
}
