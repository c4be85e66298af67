//! The rate limits of every node serving from one PostgreSQL database: the same exact
//! sliding windows as [`super::Limiter`], kept in the database so that "30 calls a
//! minute" means 30 across all nodes.
//!
//! Each (application, tenant, family) has a row in `identity_rate_windows` counting its
//! admitted calls, and the times of the last `keep` of them (the most any limit needs,
//! 1,000 for the default JSON limits) in `identity_rate_calls`, a ring of small rows;
//! times are the database's clock, so the nodes' clocks need not agree. The database is
//! asked with one prepared statement, one round trip, calling `identity_rate_reserve`
//! (schema in [`crate::pg`]): it locks the window's row, reads for each limit the call
//! that would be one too many if still inside its window, and records the calls only if
//! every limit has room; it returns how many it recorded and, if none, the time until
//! the oldest blocking call leaves its window (`Retry-After`). The row lock makes
//! concurrent admissions from any number of nodes exact. Commits do not wait for the WAL
//! flush (`synchronous_commit = off` on these connections): a database crash may forget
//! the last fraction of a second of admissions.
//!
//! **Reservations.** A round trip per call costs a busy node more than the page it
//! guards, so where the limits are large a node reserves several calls at once: as
//! many as this node admitted for the window in the last [`LEASE`] (its recent rate), at
//! most 1/32 of the family's smallest limit and [`MAX_BATCH`]. It admits them locally
//! within [`LEASE`] of asking, and the database records them at the end of that lease
//! while judging room from its start, so no window ever holds more calls than its limit
//! as the calls were really admitted. Reserved calls a node does not use before its lease
//! ends stay counted: a client may be refused up to that many calls early (at most 1/32
//! of the limit per node, and only after a burst). Where 1/32 of the smallest limit is
//! under two calls (MDE's own limits: 30 a minute, 5 a minute) every call is one round
//! trip and exact, as before.
//!
//! If the database cannot be reached, each node falls back to its own in-memory
//! [`super::Limiter`] (with the same limits, so at most nodes × limit in total) and
//! tries the database again five seconds later; the failure is logged. Every wait on
//! the database (connecting, a connection of the pool, a row lock, the statement) is
//! bounded by two seconds.

use super::{Limiter, RateLimitConfig};
use crate::error::Result;
use crate::pg::{self, Pool, PoolSettings};
use access::{ApiError, Principal, RateFamily, RateLimiter, Route};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// After a failed admission, how long the in-memory limiter decides alone.
const FALLBACK_FOR: Duration = Duration::from_secs(5);

/// The admissions' connections: each is held for one statement; an admission is on
/// every API request's path, so a database that does not answer within two seconds is
/// treated as down (the node then limits alone) rather than waited for.
fn settings() -> PoolSettings {
    PoolSettings {
        max: 8,
        connect_timeout: Duration::from_secs(2),
        lock_timeout: "2s",
        statement_timeout: Some("2s"),
        acquire_timeout: Duration::from_secs(2),
        async_commit: true,
    }
}
/// How often a node deletes windows whose calls have all expired.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

const RESERVE: &str = "SELECT granted, retry_us
     FROM identity_rate_reserve($1, $2, $3, $4::int[], $5::bigint[], $6::int, $7::int, $8::bigint)";

/// How long a node may use the calls it reserved (see the module notes): long enough
/// that a node serving a few hundred pages a second asks the database a few times a
/// second, short enough that unused reservations lapse soon after a burst.
pub const LEASE: Duration = Duration::from_millis(250);

/// The most calls one round trip reserves.
pub const MAX_BATCH: u32 = 512;

/// Windows a node keeps in memory before it forgets idle ones.
const MIN_WINDOWS_KEPT: usize = 10_000;

/// Reservations take at most this fraction (1/N) of a family's smallest limit.
const BATCH_SHARE_OF_LIMIT: u32 = 32;

/// Windows whose last admitted call left the longest window (their rows of calls go
/// with them).
const SWEEP: &str = "DELETE FROM identity_rate_windows
     WHERE last_call_us < (extract(epoch FROM clock_timestamp()) * 1000000)::bigint - $1::bigint";

/// The outcome of one admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Admitted, and counted.
    Admitted,
    /// Refused (not counted): retry after this many seconds (at least 1).
    Refused { retry_after: u64 },
}

/// One family's limits as the statement takes them.
struct FamilyLimits {
    name: &'static str,
    maxes: Vec<i32>,
    windows_us: Vec<i64>,
    /// The most calls any limit needs to remember (the ring's size).
    keep: i32,
    /// The most calls one round trip may reserve (1: every call asks the database).
    batch_cap: u32,
    /// How long reserved calls are usable, in microseconds (0 when `batch_cap` is 1:
    /// each call is recorded when it is admitted).
    lease_us: i64,
}

impl FamilyLimits {
    fn new(name: &'static str, limits: &[super::Limit]) -> FamilyLimits {
        FamilyLimits {
            name,
            maxes: limits
                .iter()
                .map(|l| i32::try_from(l.max).unwrap_or(i32::MAX))
                .collect(),
            windows_us: limits
                .iter()
                .map(|l| i64::try_from(l.window.as_micros()).unwrap_or(i64::MAX))
                .collect(),
            keep: limits
                .iter()
                .map(|l| i32::try_from(l.max).unwrap_or(i32::MAX))
                .max()
                .unwrap_or(0)
                .max(1),
            batch_cap: Self::batch_cap(limits),
            lease_us: if Self::batch_cap(limits) > 1 {
                i64::try_from(LEASE.as_micros()).unwrap_or(i64::MAX)
            } else {
                0
            },
        }
    }

    fn batch_cap(limits: &[super::Limit]) -> u32 {
        let smallest = limits.iter().map(|l| l.max).min().unwrap_or(0);
        (smallest / BATCH_SHARE_OF_LIMIT).clamp(1, MAX_BATCH)
    }
}

/// An application's window: (application, tenant, rate family).
type WindowKey = (String, String, RateFamily);

/// What this node knows of one shared window, between round trips.
#[derive(Debug, Default)]
struct NodeWindow {
    /// Calls reserved in the database and not yet admitted here.
    reserved: u32,
    /// Until when they may be admitted (the lease's end, by this node's clock: from
    /// before the round trip that reserved them).
    reserved_until: Option<Instant>,
    /// Calls asked for by this node's round trips still in flight (concurrent misses
    /// size their reservations net of them).
    asking: u32,
    /// Calls admitted here in the current [`LEASE`]-long interval, and in the one
    /// before: the rate a reservation is sized for.
    recent: u32,
    previous: u32,
    interval_started: Option<Instant>,
    /// A refusal the database gave: the next calls are refused without a round trip
    /// (and without a page rendered for nothing).
    refusal: Option<KnownRefusal>,
}

impl NodeWindow {
    /// Counts a call now; returns this node's calls in about the last [`LEASE`].
    fn count_call(&mut self, now: Instant) -> u32 {
        match self.interval_started {
            Some(start) if now.saturating_duration_since(start) < LEASE => {}
            Some(start) if now.saturating_duration_since(start) < 2 * LEASE => {
                self.previous = self.recent;
                self.recent = 0;
                self.interval_started = Some(now);
            }
            _ => {
                self.previous = 0;
                self.recent = 0;
                self.interval_started = Some(now);
            }
        }
        self.recent = self.recent.saturating_add(1);
        self.recent.max(self.previous)
    }

    /// Takes one reserved call, if one is left and its lease has not ended.
    fn take_reserved(&mut self, now: Instant) -> bool {
        match self.reserved_until {
            Some(until) if self.reserved > 0 && now < until => {
                self.reserved -= 1;
                if self.reserved == 0 {
                    self.reserved_until = None;
                }
                true
            }
            _ => {
                self.reserved = 0;
                self.reserved_until = None;
                false
            }
        }
    }

    /// Adds calls reserved by a round trip sent at `asked`.
    fn add_reserved(&mut self, calls: u32, asked: Instant) {
        if calls == 0 {
            return;
        }
        let until = asked + LEASE;
        let now = Instant::now();
        match self.reserved_until {
            // Both leases' calls are usable until the earlier end.
            Some(held) if self.reserved > 0 && held > now => {
                self.reserved = self.reserved.saturating_add(calls);
                self.reserved_until = Some(held.min(until));
            }
            _ => {
                self.reserved = calls;
                self.reserved_until = Some(until);
            }
        }
    }
}

/// A refusal the database gave, remembered by this node.
#[derive(Clone, Copy, Debug)]
struct KnownRefusal {
    /// When the window has room again (the `Retry-After` the database gave).
    retry_at: Instant,
    /// Until when the node trusts it without asking: briefly, because a window can
    /// also empty early (other limits reset it).
    trust_until: Instant,
}

/// How long a node refuses on a remembered refusal before asking the database again.
const TRUST_REFUSAL_FOR: Duration = Duration::from_secs(5);

/// The PostgreSQL-backed sliding-window limiter; implements [`access::RateLimiter`].
/// Open one per process with [`SharedLimiter::open`] (or
/// [`RateLimitConfig::shared_limiter`]) on the state store's database.
pub struct SharedLimiter {
    config: RateLimitConfig,
    pool: Pool,
    json: FamilyLimits,
    files: FamilyLimits,
    /// The longest window of any family, in microseconds (what a sweep keeps).
    longest_us: i64,
    fallback: Limiter,
    /// Until when the in-memory fallback decides (the database failed).
    down_until: Mutex<Option<Instant>>,
    /// This node's reservations, recent rates and remembered refusals, per window.
    windows: Mutex<HashMap<WindowKey, NodeWindow>>,
    /// Round trips to the database (admissions that were not served from a
    /// reservation), for tests and tooling.
    round_trips: AtomicU64,
    /// The map's size past which idle windows are forgotten ([`MIN_WINDOWS_KEPT`] or
    /// twice what the last clean-up kept).
    forget_at: AtomicUsize,
    last_sweep: Mutex<Instant>,
}

impl std::fmt::Debug for SharedLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimiter")
            .field("database", &self.pool.target.to_string())
            .field("config", &self.config)
            .finish()
    }
}

impl SharedLimiter {
    /// Connects to the database named by `url` (the PostgreSQL state store's URL) and
    /// brings the identity tables up to date. Errors never show the URL's password.
    pub fn open(url: &str, config: RateLimitConfig) -> Result<SharedLimiter> {
        let pool = Pool::new(url, settings())?;
        pg::migrate(&pool)?;
        let json = FamilyLimits::new("json", &config.json);
        let files = FamilyLimits::new("files", &config.files);
        let longest_us = json
            .windows_us
            .iter()
            .chain(&files.windows_us)
            .copied()
            .max()
            .unwrap_or(0);
        Ok(SharedLimiter {
            fallback: Limiter::new(config.clone()),
            config,
            pool,
            json,
            files,
            longest_us,
            down_until: Mutex::new(None),
            windows: Mutex::new(HashMap::new()),
            round_trips: AtomicU64::new(0),
            forget_at: AtomicUsize::new(MIN_WINDOWS_KEPT),
            last_sweep: Mutex::new(Instant::now()),
        })
    }

    /// Admits (and records) a call of `app`/`tenant` in `family` now, counting every
    /// node's calls: from this node's reservation when it holds one, otherwise one
    /// statement in the database (which may reserve more calls for the next ones). An
    /// error means the database could not decide (the [`access::RateLimiter`] hook then
    /// falls back to this node's own window).
    pub fn admit(&self, app: &str, tenant: &str, family: RateFamily) -> Result<Admission> {
        let limits = self.limits(family);
        if !self.config.enabled || limits.maxes.is_empty() {
            return Ok(Admission::Admitted);
        }
        let key = (app.to_owned(), tenant.to_owned(), family);
        loop {
            let want = {
                let now = Instant::now();
                let mut windows = self.windows.lock();
                self.forget_idle_windows(&mut windows, now);
                let window = windows.entry(key.clone()).or_default();
                let rate = window.count_call(now);
                if window.take_reserved(now) {
                    return Ok(Admission::Admitted);
                }
                // Net of what concurrent misses on this node are already asking for.
                let want = rate
                    .saturating_sub(window.asking)
                    .clamp(1, limits.batch_cap);
                window.asking = window.asking.saturating_add(want);
                want
            };
            let asked = Instant::now();
            let answer = self.reserve(app, tenant, limits, want);
            let mut windows = self.windows.lock();
            let window = windows.entry(key.clone()).or_default();
            window.asking = window.asking.saturating_sub(want);
            let (granted, retry_us) = answer?;
            if granted == 0 {
                return Ok(Admission::Refused {
                    retry_after: whole_seconds(retry_us),
                });
            }
            // The calls were recorded at the lease's end: an answer that came later than
            // that cannot admit this call (its calls stay counted, which only errs on
            // the safe side); ask again.
            if limits.lease_us > 0 && asked.elapsed() >= LEASE {
                continue;
            }
            window.add_reserved(granted - 1, asked);
            return Ok(Admission::Admitted);
        }
    }

    /// Drops windows with nothing reserved, refused or recent once the map has grown
    /// past twice its size after the last clean-up (so a busy node does not scan it on
    /// every call).
    fn forget_idle_windows(&self, windows: &mut HashMap<WindowKey, NodeWindow>, now: Instant) {
        let threshold = self.forget_at.load(Ordering::Relaxed);
        if windows.len() <= threshold {
            return;
        }
        windows.retain(|_, w| {
            w.asking > 0
                || w.reserved_until.is_some_and(|t| t > now)
                || w.refusal.is_some_and(|r| r.trust_until > now)
                || w.interval_started
                    .is_some_and(|t| now.saturating_duration_since(t) < 2 * LEASE)
        });
        self.forget_at
            .store((windows.len() * 2).max(MIN_WINDOWS_KEPT), Ordering::Relaxed);
    }

    /// One round trip: reserves up to `want` calls (at least one); returns how many were
    /// recorded (0: refused) and, if none, the microseconds until one fits.
    fn reserve(
        &self,
        app: &str,
        tenant: &str,
        limits: &FamilyLimits,
        want: u32,
    ) -> Result<(u32, i64)> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        if self.sweep_due() {
            // Housekeeping, before the admission (so it never delays the answer): a
            // failure here must not refuse or fail the call.
            if let Err(e) = self.delete_expired_windows() {
                tracing::warn!(error = %e, "shared rate limits: deleting expired windows failed");
            }
        }
        let want = i32::try_from(want).unwrap_or(1);
        let lease_us = limits.lease_us;
        self.pool.with(|c| {
            let reserve = c.prepared(RESERVE)?;
            let row = c.client.query_one(
                &reserve,
                &[
                    &app,
                    &tenant,
                    &limits.name,
                    &limits.maxes,
                    &limits.windows_us,
                    &limits.keep,
                    &want,
                    &lease_us,
                ],
            )?;
            let granted: i32 = row.try_get(0)?;
            let retry_us: i64 = row.try_get(1)?;
            Ok((u32::try_from(granted).unwrap_or(0), retry_us))
        })
    }

    fn limits(&self, family: RateFamily) -> &FamilyLimits {
        match family {
            RateFamily::Json => &self.json,
            RateFamily::Files => &self.files,
        }
    }

    /// The calls this node holds reserved for a window, usable now.
    #[doc(hidden)]
    pub fn reserved_calls(&self, app: &str, tenant: &str, family: RateFamily) -> u32 {
        let key = (app.to_owned(), tenant.to_owned(), family);
        let now = Instant::now();
        self.windows
            .lock()
            .get(&key)
            .filter(|w| w.reserved_until.is_some_and(|t| now < t))
            .map_or(0, |w| w.reserved)
    }

    /// How many admissions asked the database (the rest came from reservations).
    #[doc(hidden)]
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Deletes the windows whose calls have all left the longest window (admissions do
    /// it every ten minutes); returns how many. For tests and tooling.
    #[doc(hidden)]
    pub fn delete_expired_windows(&self) -> Result<u64> {
        self.pool.with(|c| Ok(sweep_windows(c, self.longest_us)?))
    }

    /// Whether this call should also delete expired windows (every [`SWEEP_EVERY`]).
    fn sweep_due(&self) -> bool {
        let mut last = self.last_sweep.lock();
        if last.elapsed() < SWEEP_EVERY {
            return false;
        }
        *last = Instant::now();
        true
    }

    /// The admission, and whether the database gave it (not the in-memory fallback).
    fn admit_or_fall_back(&self, app: &str, tenant: &str, family: RateFamily) -> (Admission, bool) {
        let now = Instant::now();
        let down = (*self.down_until.lock()).is_some_and(|until| now < until);
        if !down {
            match self.admit(app, tenant, family) {
                Ok(admission) => {
                    if self.down_until.lock().take().is_some() {
                        tracing::info!(database = %self.pool.target, "shared rate limits: the database answers again");
                    }
                    return (admission, true);
                }
                Err(e) => {
                    let mut until = self.down_until.lock();
                    if until.is_none() {
                        tracing::warn!(error = %e, "shared rate limits: the database failed; this node limits alone until it answers");
                    }
                    *until = Some(Instant::now() + FALLBACK_FOR);
                }
            }
        }
        let admission = match self.fallback.admit(app, tenant, family, now) {
            Ok(()) => Admission::Admitted,
            Err(retry_after) => Admission::Refused { retry_after },
        };
        (admission, false)
    }
}

fn sweep_windows(c: &mut crate::pg::Conn, longest_us: i64) -> Result<u64, postgres::Error> {
    let delete = c.prepared(SWEEP)?;
    c.client.execute(&delete, &[&longest_us])
}

/// Microseconds to wait as whole seconds, rounded up, at least 1 (as the in-memory
/// limiter's `Retry-After`).
fn whole_seconds(us: i64) -> u64 {
    let us = u64::try_from(us).unwrap_or(0);
    us.div_ceil(1_000_000).max(1)
}

impl RateLimiter for SharedLimiter {
    fn check(&self, principal: &Principal, route: &Route) -> Result<(), ApiError> {
        let (admission, from_database) =
            self.admit_or_fall_back(&principal.app_id, &principal.tenant_id, route.family);
        match admission {
            Admission::Admitted => Ok(()),
            Admission::Refused { retry_after } => {
                // Only the shared window's refusals are remembered: the fallback's counts
                // this node's calls alone.
                if from_database {
                    let now = Instant::now();
                    let retry_at = now + Duration::from_secs(retry_after);
                    let mut windows = self.windows.lock();
                    let key = (
                        principal.app_id.clone(),
                        principal.tenant_id.clone(),
                        route.family,
                    );
                    windows.entry(key).or_default().refusal = Some(KnownRefusal {
                        retry_at,
                        trust_until: retry_at.min(now + TRUST_REFUSAL_FOR),
                    });
                }
                Err(ApiError::too_many_requests(retry_after))
            }
        }
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn known_refusal(&self, principal: &Principal, route: &Route) -> Result<(), ApiError> {
        let windows = self.windows.lock();
        let key = (
            principal.app_id.clone(),
            principal.tenant_id.clone(),
            route.family,
        );
        let now = Instant::now();
        match windows.get(&key).and_then(|w| w.refusal) {
            Some(known) if known.trust_until > now => {
                let left = known.retry_at.saturating_duration_since(now);
                Err(ApiError::too_many_requests(whole_seconds(
                    i64::try_from(left.as_micros()).unwrap_or(i64::MAX),
                )))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(1), 1);
        assert_eq!(whole_seconds(1_000_000), 1);
        assert_eq!(whole_seconds(1_000_001), 2);
        assert_eq!(whole_seconds(56_999_999), 57);
        assert_eq!(whole_seconds(-5), 1);
    }

    #[test]
    fn a_new_reservation_gets_its_own_lease() {
        let mut w = NodeWindow::default();
        let first = Instant::now();
        w.add_reserved(1, first);
        assert!(w.take_reserved(first));
        // Used up: the next reservation's calls last a lease from when it was asked,
        // not until the end of the first one's.
        let second = first + LEASE / 2;
        w.add_reserved(3, second);
        assert_eq!(w.reserved_until, Some(second + LEASE));
        assert!(!w.take_reserved(second + LEASE));
        assert_eq!(w.reserved, 0);
    }

    #[test]
    fn limits_as_the_statement_takes_them() {
        let f = FamilyLimits::new("json", &RateLimitConfig::default().json);
        assert_eq!(f.maxes, [30, 1000]);
        assert_eq!(f.windows_us, [60_000_000, 3_600_000_000]);
        assert_eq!(f.keep, 1000);
    }
}
