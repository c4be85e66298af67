//! Posture's benchmarks, kept out of the library crates they measure.
//!
//! `auth`: token verification and API throughput with authentication off and on
//! (`cargo bench -p bench --bench auth`).
//! `exports`: the via-files exports against compression alone, pigz and DuckDB (`posture
//! bench --exports`, `cargo run --release -p bench --example export_bench`). `scale`: seed,
//! publish, paging and delta at scale (`posture bench`), with `state_scan`, the
//! store's raw and decoded state scan rates. `ingest`: report ingestion through
//! the HTTP API (`posture bench-ingest`). `kbscale`: an NVD-sized knowledge base (import,
//! publish against it and against the demo KB, an incremental sync; `posture bench-kb`).
//! `console`: the console's page times (a stage of `posture bench`).
//! `child` runs `posture serve` as the measured server.

pub mod auth;
pub mod child;
pub mod console;
pub mod error;
pub mod exports;
pub mod ingest;
pub mod kbscale;
pub mod nodes;
pub mod scale;
pub mod state_scan;
