//! Integration tests of the public API (one test binary).

mod accept;
mod common;
mod fuzz;
mod query_options;
mod reject;
