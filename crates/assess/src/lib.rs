//! Assessment: a pure function of (device state, knowledge base) → rows.
pub mod catalog;
