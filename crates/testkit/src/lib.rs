//! Shared test support for Posture's crates. A dev-dependency only (`publish = false`;
//! `crates/testkit/tests/layout.rs` fails if a crate lists it as a normal dependency).
//!
//! - [`tools`]: the one switch for tests that need an outside tool or the shared data
//!   (`POSTURE_REQUIRE_TOOLS=1` turns a missing one into a failure).
//! - [`reports`]: device reports (Linux device `n` and its packages) for store tests.
//! - [`postgres`]: a throwaway PostgreSQL cluster (one per test binary, a fresh
//!   database per test) for the tests that run against the PostgreSQL store.
//! - `world` (feature `world`, on by default): a seeded SQLite store with its snapshot
//!   registry, publishing at a fixed time, and the API served on a free loopback port.
//! - `recount` (feature `world`): the summary figures recounted from API records.
//! - `claims` (feature `world`): the claims of a test access token, for identity tests.

pub mod objects;
pub mod postgres;
pub mod reports;
pub mod tools;

#[cfg(feature = "world")]
pub mod claims;
#[cfg(feature = "world")]
pub mod recount;
#[cfg(feature = "world")]
pub mod world;

pub use tools::{require_shared_data, require_tool, tools_required};

/// A loopback port free at the moment of asking (for a server a test starts; another
/// process may take it before, which the caller's start then reports).
pub fn free_port() -> std::io::Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}
