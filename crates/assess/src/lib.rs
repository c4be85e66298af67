//! Assessment: a pure function of (device state, knowledge base) → assessment facts.
//!
//! * [`vulnerabilities`]: per *distinct software version* (and OS kind, for
//!   platform-qualified feed configurations) → findings, each with its evidence.
//!   Callers cache by software, so cost grows with the catalogue, not the fleet.
//! * [`catalog`]: secure-configuration rules over reported settings.
//! * [`av`]: antivirus up-to-date flags against the newest versions known per OS kind.
//!
//! Nothing here does I/O: the snapshot builder feeds it state and a loaded
//! [`KnowledgeBase`], and writes what it returns.

pub mod av;
pub mod catalog;
pub mod coverage;
pub mod vulnerabilities;

pub use catalog::{Catalog, ConfigOutcome, Settings};
pub use vulnerabilities::{Evidence, Finding, KnowledgeBase};
