//! Benchmark code, outside the library crates it measures. Each module is one
//! benchmark, run by `cargo bench -p bench --bench <name>` (and callable from
//! `posture bench`).

pub mod auth;
