//! Posture's benchmarks, kept out of the library crates they measure.
//!
//! `auth`: token verification and API throughput with authentication off and on
//! (`cargo bench -p bench --bench auth`).
//! `exports`: the via-files exports against compression alone, pigz and DuckDB (`posture
//! bench --exports`, `cargo run --release -p bench --example export_bench`). `scale`: seed,
//! publish, paging and delta at scale (`posture bench`). `ingest`: report ingestion through
//! the HTTP API (`posture bench-ingest`). `console`: the console's page times (a stage of
//! `posture bench`). `child` runs `posture serve` as the measured server.

pub mod auth;
pub mod child;
pub mod console;
pub mod error;
pub mod exports;
pub mod ingest;
pub mod scale;
