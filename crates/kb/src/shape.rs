//! The shape of a set of NVD records: how many records, configurations and CPE match
//! criteria, and in which proportions (version ranges and their bounds, exact
//! versions, any-version criteria, `AND` configurations, `vulnerable: false` platform
//! criteria). Measured on the real NVD sample to calibrate the emulator's NVD-sized
//! synthetic knowledge base, and on that knowledge base to check it.

use serde::Serialize;
use std::collections::HashSet;

use crate::cpe::Component;
use crate::nvd::{CveRecord, Operator};

/// Counts over a set of records; [`ShapeStats::add`] accumulates, [`ShapeStats::merge`]
/// joins two counts (vendor/product sets are united).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeStats {
    pub records: u64,
    /// Records with at least one configuration.
    pub configured_records: u64,
    pub configurations: u64,
    /// Configurations with operator `AND`.
    pub and_configurations: u64,
    /// Every cpeMatch.
    pub criteria: u64,
    /// `vulnerable: false` cpeMatches (platform conditions).
    pub platform_criteria: u64,
    /// Vulnerable cpeMatches with a version range (any of the four bounds).
    pub range_criteria: u64,
    /// Vulnerable cpeMatches naming one version (no range).
    pub exact_criteria: u64,
    /// Vulnerable cpeMatches with version `*` or `-` and no range.
    pub any_version_criteria: u64,
    pub start_including: u64,
    pub start_excluding: u64,
    pub end_including: u64,
    pub end_excluding: u64,
    /// Distinct vendors and (vendor, product) pairs of vulnerable criteria.
    #[serde(skip)]
    vendor_set: HashSet<String>,
    #[serde(skip)]
    product_set: HashSet<(String, String)>,
    pub vendors: u64,
    pub products: u64,
}

/// The proportions of a [`ShapeStats`], each a fraction in 0..1 (criteria per record
/// is a mean).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Proportions {
    pub criteria_per_record: f64,
    /// Of all records: records with no configuration (not yet analysed, rejected).
    pub unconfigured_records: f64,
    /// Of configurations: `AND` ones.
    pub and_configurations: f64,
    /// Of all criteria: `vulnerable: false` ones.
    pub platform_criteria: f64,
    /// Of vulnerable criteria: ranges, exact versions, any version.
    pub ranges: f64,
    pub exact: f64,
    pub any_version: f64,
    /// Of ranges: how many carry each bound.
    pub start_including: f64,
    pub start_excluding: f64,
    pub end_including: f64,
    pub end_excluding: f64,
}

impl ShapeStats {
    /// Stats of `records`.
    pub fn of(records: &[CveRecord]) -> ShapeStats {
        let mut s = ShapeStats::default();
        records.iter().for_each(|r| s.add(r));
        s
    }

    /// Counts one record.
    pub fn add(&mut self, r: &CveRecord) {
        self.records += 1;
        if !r.configurations.is_empty() {
            self.configured_records += 1;
        }
        for c in &r.configurations {
            self.configurations += 1;
            if c.operator == Some(Operator::And) {
                self.and_configurations += 1;
            }
            for cm in c.nodes.iter().flat_map(|n| &n.cpe_match) {
                self.criteria += 1;
                if !cm.vulnerable {
                    self.platform_criteria += 1;
                    continue;
                }
                if let (Some(v), Some(p)) = (cm.criteria.vendor.key(), cm.criteria.product.key()) {
                    if !self.vendor_set.contains(&v) {
                        self.vendor_set.insert(v.clone());
                    }
                    self.product_set.insert((v, p));
                }
                if cm.has_range() {
                    self.range_criteria += 1;
                    self.start_including += u64::from(cm.version_start_including.is_some());
                    self.start_excluding += u64::from(cm.version_start_excluding.is_some());
                    self.end_including += u64::from(cm.version_end_including.is_some());
                    self.end_excluding += u64::from(cm.version_end_excluding.is_some());
                } else if matches!(cm.criteria.version, Component::Value(_)) {
                    self.exact_criteria += 1;
                } else {
                    self.any_version_criteria += 1;
                }
            }
        }
        self.vendors = self.vendor_set.len() as u64;
        self.products = self.product_set.len() as u64;
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: ShapeStats) {
        self.records += other.records;
        self.configured_records += other.configured_records;
        self.configurations += other.configurations;
        self.and_configurations += other.and_configurations;
        self.criteria += other.criteria;
        self.platform_criteria += other.platform_criteria;
        self.range_criteria += other.range_criteria;
        self.exact_criteria += other.exact_criteria;
        self.any_version_criteria += other.any_version_criteria;
        self.start_including += other.start_including;
        self.start_excluding += other.start_excluding;
        self.end_including += other.end_including;
        self.end_excluding += other.end_excluding;
        self.vendor_set.extend(other.vendor_set);
        self.product_set.extend(other.product_set);
        self.vendors = self.vendor_set.len() as u64;
        self.products = self.product_set.len() as u64;
    }

    /// Vulnerable criteria.
    pub fn vulnerable_criteria(&self) -> u64 {
        self.criteria - self.platform_criteria
    }

    /// The proportions of these counts.
    pub fn proportions(&self) -> Proportions {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let vulnerable = self.vulnerable_criteria();
        Proportions {
            criteria_per_record: ratio(self.criteria, self.records),
            unconfigured_records: ratio(self.records - self.configured_records, self.records),
            and_configurations: ratio(self.and_configurations, self.configurations),
            platform_criteria: ratio(self.platform_criteria, self.criteria),
            ranges: ratio(self.range_criteria, vulnerable),
            exact: ratio(self.exact_criteria, vulnerable),
            any_version: ratio(self.any_version_criteria, vulnerable),
            start_including: ratio(self.start_including, self.range_criteria),
            start_excluding: ratio(self.start_excluding, self.range_criteria),
            end_including: ratio(self.end_including, self.range_criteria),
            end_excluding: ratio(self.end_excluding, self.range_criteria),
        }
    }
}

impl std::fmt::Display for Proportions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} criteria/record, {:.1}% unconfigured records, {:.1}% AND configurations, \
             {:.1}% platform criteria; of vulnerable criteria {:.1}% ranges, {:.1}% exact, \
             {:.1}% any version; of ranges {:.0}% startIncluding, {:.0}% startExcluding, \
             {:.0}% endIncluding, {:.0}% endExcluding",
            self.criteria_per_record,
            100.0 * self.unconfigured_records,
            100.0 * self.and_configurations,
            100.0 * self.platform_criteria,
            100.0 * self.ranges,
            100.0 * self.exact,
            100.0 * self.any_version,
            100.0 * self.start_including,
            100.0 * self.start_excluding,
            100.0 * self.end_including,
            100.0 * self.end_excluding,
        )
    }
}
