//! Matching installed software against CVE configurations.
//!
//! [`Matcher::new`] indexes a slice of [`CveRecord`]s by the lower-cased
//! `(vendor, product)` of every `vulnerable: true` cpeMatch (criteria whose
//! vendor or product is not a plain value go into a small list that every
//! query checks). [`Matcher::match_software`] then evaluates only the records
//! filed under the software's own vendor and product.
//!
//! # Semantics
//!
//! For one installed `software` CPE and the device's `platform` CPEs (its
//! operating system names):
//!
//! * **A `vulnerable: true` cpeMatch** is satisfied when its criteria matches
//!   the software on every component but `version` and `update` (as in
//!   [`Cpe::matches_except_version`]: ANY matches all, NA only NA/ANY, values
//!   case-insensitively, and an ANY in the software means "unknown" and never
//!   rejects), and the version test passes:
//!   * criteria version ANY, no range → any software version;
//!   * criteria version ANY with `versionStart/End Including/Excluding` →
//!     the software has a concrete version inside every given bound
//!     (compared with [`version::compare`]);
//!   * criteria version a value `V` → the software has a concrete version
//!     equal to `V` ([`version::compare`] is `Equal`) and inside the bounds if
//!     any are given, and the `update` components agree:
//!     * criteria update ANY: any software update;
//!     * criteria update NA (`-`): software update NA or ANY;
//!     * criteria update value `U`, software update value: equal, ignoring case;
//!     * criteria update value `U`, software update ANY: the software version
//!       must equal `V-U` instead of `V`. Inventories carry the qualifier in
//!       the version string, so `2.0-beta9` (or `2.0beta9`) matches
//!       `log4j:2.0:beta9`, while a plain `6.8` does **not** match
//!       `linux_kernel:6.8:rc1` (the release is not the release candidate);
//!   * criteria version NA → the software version is NA or ANY;
//!   * for criteria versions ANY/NA, `update` matches like any other component;
//!   * a software version of ANY/NA never satisfies a range or a concrete
//!     criteria version (unknown versions are not reported).
//! * **A `vulnerable: false` cpeMatch** (a platform condition) is satisfied when
//!   it matches *any* of the platform CPEs by the same rules, with one
//!   relaxation: a criteria version NA (`-`, as in NVD's
//!   `cpe:2.3:o:microsoft:windows:-:*:...`) accepts every platform version.
//!   The software itself never satisfies a platform condition. Note that CPE
//!   products must be equal: `microsoft:windows` does not match
//!   `microsoft:windows_11`, so callers should list the generic family name
//!   (`cpe:2.3:o:microsoft:windows:...`, `apple:macos`, `linux:linux_kernel`)
//!   among the platform CPEs.
//! * **Target software.** A criteria `target_sw` that names an operating system
//!   (`windows`, `macos`, `linux`, `android`, ...; see [`TargetOs::named_by`])
//!   is compared, when the software's own `target_sw` is ANY (an inventory
//!   rarely knows it), with the device's OS instead: the device's OS kind is
//!   the software's `target_sw`, as in MDE's mapping. So Zoom's
//!   `zoom:zoom:*:*:*:*:*:windows:*:*` criteria match on a Windows device and
//!   not on macOS or Linux, and an `android` criterion matches none of them.
//!   With the device's OS unknown, and for a `target_sw` naming no OS, the
//!   component matches like any other.
//! * **A node** is satisfied when any (operator OR) or all (AND) of its
//!   cpeMatches are; `negate` inverts that.
//! * **A configuration** is satisfied when any (operator absent or OR) or all
//!   (AND) of its nodes are; `negate` inverts that.
//! * **A record matches** when some configuration is satisfied *and* inside it a
//!   `vulnerable: true` cpeMatch was satisfied by the software, in a node that
//!   is itself satisfied and not negated. A platform alone never makes
//!   software vulnerable.
//!
//! One [`Match`] is reported per record, with the evidence of the first such
//! cpeMatch (configurations, nodes and cpeMatches in feed order). Matches are
//! returned in record order.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::cpe::{Component, Cpe, TargetOs, eq_ignore_case};
use crate::nvd::{Configuration, CpeMatch, CveRecord, Node, Operator};
use crate::version;

/// Why a record matched.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Evidence {
    /// The feed of the record (`"nvd"`, or `"osv"` for [`crate::osv`] matches).
    pub feed: String,
    /// The record id (the CVE id; for OSV the record id, e.g. `DSA-5514-1`).
    pub record_id: String,
    /// The matching criteria, as the feed wrote it (for OSV
    /// `"<ecosystem>/<package>"`, e.g. `"Debian:12/glibc"`).
    pub criteria: String,
    /// The version condition: bounds joined by `", "` (`">= 2.0.1, < 2.3.2"`),
    /// an exact version (`"= 2.0"`, with ` update beta9` when the criteria
    /// has an update value, `"= -"` for NA), or `"*"` (every version). For
    /// OSV, the matching interval (`"introduced 0, fixed 2.31.0"`) or
    /// `"listed version V"`.
    pub range: String,
}

/// One matching record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Match {
    /// Index of the record in the slice the matcher was built from.
    pub record_index: usize,
    pub cve_id: String,
    pub evidence: Evidence,
    /// The `versionEndExcluding` of the matching cpeMatch, if any.
    pub fixed_version: Option<String>,
}

#[derive(Clone, Debug)]
struct Entry {
    cve_id: String,
    source: String,
    configurations: Vec<Configuration>,
}

/// An index over CVE records for matching installed software. It owns a copy
/// of the configurations it needs, so it has no lifetime tie to the records.
#[derive(Clone, Debug)]
pub struct Matcher {
    entries: Vec<Entry>,
    by_product: HashMap<(String, String), Vec<usize>>,
    /// Records with a vulnerable criteria whose vendor or product is not a value.
    wildcard: Vec<usize>,
}

impl Matcher {
    /// Indexes `records` (see the [module documentation](self)).
    pub fn new(records: &[CveRecord]) -> Matcher {
        let mut by_product: HashMap<(String, String), Vec<usize>> = HashMap::new();
        let mut wildcard = Vec::new();
        for (i, r) in records.iter().enumerate() {
            for cm in r
                .configurations
                .iter()
                .flat_map(|c| &c.nodes)
                .flat_map(|n| &n.cpe_match)
                .filter(|cm| cm.vulnerable)
            {
                let list = match (cm.criteria.vendor.key(), cm.criteria.product.key()) {
                    (Some(v), Some(p)) => by_product.entry((v, p)).or_default(),
                    _ => &mut wildcard,
                };
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        let entries = records
            .iter()
            .map(|r| Entry {
                cve_id: r.id.clone(),
                source: r.source.clone(),
                configurations: r.configurations.clone(),
            })
            .collect();
        Matcher {
            entries,
            by_product,
            wildcard,
        }
    }

    /// Number of records indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when built from no records.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Indexes of the records that have a vulnerable criteria for this vendor
    /// and product (case-insensitive), in record order.
    pub fn candidates(&self, vendor: &str, product: &str) -> &[usize] {
        self.by_product
            .get(&(vendor.to_lowercase(), product.to_lowercase()))
            .map_or(&[], Vec::as_slice)
    }

    /// The records that `software` is vulnerable to on a device whose
    /// operating system CPEs are `platform` (see the [module documentation](self)).
    /// The device's OS, for criteria whose `target_sw` names one, is the one `platform`
    /// names ([`TargetOs::of_platform`]).
    pub fn match_software(&self, software: &Cpe, platform: &[Cpe]) -> Vec<Match> {
        self.match_software_on(software, platform, TargetOs::of_platform(platform))
    }

    /// [`match_software`](Self::match_software) on a device running `device` (`None`:
    /// unknown, so an OS-restricted criterion is not rejected for the OS).
    pub fn match_software_on(
        &self,
        software: &Cpe,
        platform: &[Cpe],
        device: Option<TargetOs>,
    ) -> Vec<Match> {
        let on = Device {
            platform,
            os: device,
        };
        let mut out = Vec::new();
        let mut check = |i: usize| {
            if let Some(entry) = self.entries.get(i)
                && let Some(cm) = match_record(entry, software, &on)
            {
                out.push(Match {
                    record_index: i,
                    cve_id: entry.cve_id.clone(),
                    evidence: Evidence {
                        feed: entry.source.clone(),
                        record_id: entry.cve_id.clone(),
                        criteria: cm.criteria_text.clone(),
                        range: describe_range(cm),
                    },
                    fixed_version: cm.version_end_excluding.clone(),
                });
            }
        };
        match (software.vendor.value(), software.product.value()) {
            (Some(v), Some(p)) => {
                let listed = self.candidates(v, p);
                if self.wildcard.is_empty() {
                    listed.iter().for_each(|&i| check(i));
                } else {
                    let mut all: Vec<usize> =
                        listed.iter().chain(&self.wildcard).copied().collect();
                    all.sort_unstable();
                    all.dedup();
                    all.into_iter().for_each(check);
                }
            }
            // Vendor or product unknown: every record is a candidate.
            _ => (0..self.entries.len()).for_each(check),
        }
        out
    }
}

/// The device a software is matched on.
struct Device<'p> {
    /// Its operating system CPEs (for `vulnerable: false` platform nodes).
    platform: &'p [Cpe],
    /// Its OS, standing in for a software `target_sw` of ANY.
    os: Option<TargetOs>,
}

/// The first vulnerable cpeMatch that makes `entry` match, if any.
fn match_record<'e>(entry: &'e Entry, software: &Cpe, on: &Device<'_>) -> Option<&'e CpeMatch> {
    entry
        .configurations
        .iter()
        .find_map(|c| match_configuration(c, software, on))
}

fn match_configuration<'c>(
    config: &'c Configuration,
    software: &Cpe,
    on: &Device<'_>,
) -> Option<&'c CpeMatch> {
    let mut hit: Option<&CpeMatch> = None;
    let mut any = false;
    let mut all = true;
    for node in &config.nodes {
        let (ok, node_hit) = eval_node(node, software, on);
        if hit.is_none() && ok && !node.negate {
            hit = node_hit;
        }
        any |= ok;
        all &= ok;
    }
    let satisfied = match config.operator {
        Some(Operator::And) => all && !config.nodes.is_empty(),
        _ => any,
    };
    if satisfied != config.negate {
        hit
    } else {
        None
    }
}

/// Evaluates a node: (satisfied, first vulnerable cpeMatch the software satisfied).
fn eval_node<'n>(node: &'n Node, software: &Cpe, on: &Device<'_>) -> (bool, Option<&'n CpeMatch>) {
    let mut hit = None;
    let mut any = false;
    let mut all = true;
    for cm in &node.cpe_match {
        let ok = if cm.vulnerable {
            let ok = software_matches(cm, software, on.os);
            if ok && hit.is_none() {
                hit = Some(cm);
            }
            ok
        } else {
            on.platform.iter().any(|p| platform_matches(cm, p))
        };
        any |= ok;
        all &= ok;
    }
    let ok = match node.operator {
        Operator::Or => any,
        Operator::And => all && !node.cpe_match.is_empty(),
    };
    (ok != node.negate, hit)
}

/// Does the software, on a device running `device`, satisfy this (vulnerable) cpeMatch?
pub(crate) fn software_matches(cm: &CpeMatch, software: &Cpe, device: Option<TargetOs>) -> bool {
    others_match(&cm.criteria, software)
        && TargetOs::target_sw_matches(&cm.criteria.target_sw, &software.target_sw, device)
        && version_ok(cm, software, false)
}

/// Does this platform CPE satisfy this (platform) cpeMatch?
pub(crate) fn platform_matches(cm: &CpeMatch, platform: &Cpe) -> bool {
    others_match(&cm.criteria, platform)
        && cm.criteria.target_sw.matches(&platform.target_sw)
        && version_ok(cm, platform, true)
}

/// Every component except `version` and `update` (those two are judged
/// together by [`version_ok`]) and `target_sw` (judged with the device's OS).
fn others_match(criteria: &Cpe, target: &Cpe) -> bool {
    const VERSION: usize = 3;
    const UPDATE: usize = 4;
    const TARGET_SW: usize = 8;
    let c = criteria.components();
    let t = target.components();
    (0..11)
        .filter(|&i| i != VERSION && i != UPDATE && i != TARGET_SW)
        .all(|i| c[i].matches(t[i]))
}

/// The `version` and `update` test (see the module documentation).
fn version_ok(cm: &CpeMatch, target: &Cpe, na_is_any: bool) -> bool {
    use std::cmp::Ordering::Equal;
    let c = &cm.criteria;
    match &c.version {
        Component::Value(want) => {
            let Some(have) = target.version.value() else {
                return false;
            };
            let same = || version::compare(have, want) == Equal;
            let update_and_version = match (&c.update, &target.update) {
                (Component::Any, _) => same(),
                (Component::NotApplicable, Component::NotApplicable | Component::Any) => same(),
                (Component::Value(u), Component::Value(t)) => eq_ignore_case(u, t) && same(),
                // Inventory versions carry their qualifier in the version
                // string: `2.0-beta9` is log4j `2.0` update `beta9`, and a
                // plain `6.8` is not `6.8` update `rc1`.
                (Component::Value(u), Component::Any) => {
                    version::compare(have, &format!("{want}-{u}")) == Equal
                }
                _ => false,
            };
            update_and_version && in_range(cm, have)
        }
        other => {
            let version = match other {
                Component::Any if !cm.has_range() => true,
                Component::Any => target.version.value().is_some_and(|v| in_range(cm, v)),
                _ if na_is_any => true,
                _ => !matches!(target.version, Component::Value(_)),
            };
            version && c.update.matches(&target.update)
        }
    }
}

fn in_range(cm: &CpeMatch, v: &str) -> bool {
    use std::cmp::Ordering::*;
    let cmp = |bound: &Option<String>| bound.as_deref().map(|b| version::compare(v, b));
    !matches!(cmp(&cm.version_start_including), Some(Less))
        && !matches!(cmp(&cm.version_start_excluding), Some(Less | Equal))
        && !matches!(cmp(&cm.version_end_including), Some(Greater))
        && !matches!(cmp(&cm.version_end_excluding), Some(Greater | Equal))
}

/// Human-readable version condition of a cpeMatch (see [`Evidence::range`]).
pub fn describe_range(cm: &CpeMatch) -> String {
    let mut parts: Vec<String> = Vec::new();
    match &cm.criteria.version {
        Component::Any => {}
        Component::NotApplicable => parts.push("= -".to_owned()),
        Component::Value(v) => match &cm.criteria.update {
            Component::Value(u) => parts.push(format!("= {v} update {u}")),
            _ => parts.push(format!("= {v}")),
        },
    }
    let bounds = [
        (">=", &cm.version_start_including),
        (">", &cm.version_start_excluding),
        ("<=", &cm.version_end_including),
        ("<", &cm.version_end_excluding),
    ];
    for (op, b) in bounds {
        if let Some(b) = b {
            parts.push(format!("{op} {b}"));
        }
    }
    if parts.is_empty() {
        "*".to_owned()
    } else {
        parts.join(", ")
    }
}
