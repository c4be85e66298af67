//! The rate limits of every node serving from one PostgreSQL database: the same exact
//! sliding windows as [`super::Limiter`], kept in the database so that "30 calls a
//! minute" means 30 across all nodes.
//!
//! Each (application, tenant, family) has a row in `identity_rate_windows` counting its
//! admitted calls, and the times of the last `keep` of them (the most any limit needs,
//! 1,000 for the default JSON limits) in `identity_rate_calls`, a ring of small rows;
//! times are the database's clock, so the nodes' clocks need not agree. An admission is
//! one prepared statement, one round trip, calling `identity_rate_admit` (schema in
//! [`crate::pg`]): it locks the window's row, reads for each limit the call that would
//! be one too many if still inside its window, and records the call only if every
//! limit has room; it returns whether it did and, if not, the time until the oldest
//! blocking call leaves its window (`Retry-After`). The row lock makes concurrent
//! admissions from any number of nodes exact. Commits do not wait for the WAL flush
//! (`synchronous_commit = off` on these connections): a database crash may forget the
//! last fraction of a second of admissions.
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

const ADMIT: &str = "SELECT admitted, retry_us
     FROM identity_rate_admit($1, $2, $3, $4::int[], $5::bigint[], $6::int)";

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
        }
    }
}

/// An application's window: (application, tenant, rate family).
type WindowKey = (String, String, RateFamily);

/// A refusal the database gave, remembered by this node so the next calls are refused
/// without a round trip (and without a page rendered for nothing).
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
    /// Windows this node saw full, until their `Retry-After`: calls only age out of a
    /// window, so it stays full at least that long whichever node is asked.
    full_until: Mutex<std::collections::HashMap<WindowKey, KnownRefusal>>,
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
            full_until: Mutex::new(std::collections::HashMap::new()),
            last_sweep: Mutex::new(Instant::now()),
        })
    }

    /// Admits (and records) a call of `app`/`tenant` in `family` now, counting every
    /// node's calls: one statement in the database. An error means the database could
    /// not decide (the [`access::RateLimiter`] hook then falls back to this node's
    /// own window).
    pub fn admit(&self, app: &str, tenant: &str, family: RateFamily) -> Result<Admission> {
        let limits = match family {
            RateFamily::Json => &self.json,
            RateFamily::Files => &self.files,
        };
        if !self.config.enabled || limits.maxes.is_empty() {
            return Ok(Admission::Admitted);
        }
        let sweep = self.sweep_due();
        self.pool.with(|c| {
            let admit = c.prepared(ADMIT)?;
            let row = c.client.query_one(
                &admit,
                &[
                    &app,
                    &tenant,
                    &limits.name,
                    &limits.maxes,
                    &limits.windows_us,
                    &limits.keep,
                ],
            )?;
            let admitted: bool = row.try_get(0)?;
            let retry_us: i64 = row.try_get(1)?;
            if sweep {
                // Housekeeping: a failure here must not refuse or fail the call.
                if let Err(e) = sweep_windows(c, self.longest_us) {
                    tracing::warn!(error = %crate::pg::describe(&e), "shared rate limits: deleting expired windows failed");
                }
            }
            Ok(if admitted {
                Admission::Admitted
            } else {
                Admission::Refused {
                    retry_after: whole_seconds(retry_us),
                }
            })
        })
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
                    let mut full = self.full_until.lock();
                    // Bounded: stale entries go when the map grows (one per refused app).
                    if full.len() > 10_000 {
                        full.retain(|_, known| known.trust_until > now);
                    }
                    full.insert(
                        (
                            principal.app_id.clone(),
                            principal.tenant_id.clone(),
                            route.family,
                        ),
                        KnownRefusal {
                            retry_at,
                            trust_until: retry_at.min(now + TRUST_REFUSAL_FOR),
                        },
                    );
                }
                Err(ApiError::too_many_requests(retry_after))
            }
        }
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn known_refusal(&self, principal: &Principal, route: &Route) -> Result<(), ApiError> {
        let full = self.full_until.lock();
        if full.is_empty() {
            return Ok(());
        }
        let key = (
            principal.app_id.clone(),
            principal.tenant_id.clone(),
            route.family,
        );
        let now = Instant::now();
        match full.get(&key) {
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
    fn limits_as_the_statement_takes_them() {
        let f = FamilyLimits::new("json", &RateLimitConfig::default().json);
        assert_eq!(f.maxes, [30, 1000]);
        assert_eq!(f.windows_us, [60_000_000, 3_600_000_000]);
        assert_eq!(f.keep, 1000);
    }
}
