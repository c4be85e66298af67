//! Per application + tenant rate limits, per endpoint family (decisions.md: JSON
//! endpoints 30/min and 1000/h, file endpoints 5/min and 20/h).
//!
//! Each (application, tenant, family) keeps a sliding-window log of its admitted
//! requests: a request is admitted when, for every limit, fewer than `max` requests
//! were admitted in the last `window`. This is exact — no 60-second window ever holds
//! a 31st JSON call — where a token bucket or GCRA with the same rate would admit up
//! to twice the limit across a window boundary. `Retry-After` is the time until the
//! oldest request that blocks admission leaves its window, rounded up to whole
//! seconds, so a client that honours it is admitted. Refused requests are not
//! counted. The log keeps at most the largest `max` timestamps per key (16 KB for
//! 1000/h); one mutex guards all keys and is held for a binary search and a push, so
//! concurrent requests can never be admitted beyond the limit.
//!
//! [`Limiter`] is one process's view. Nodes sharing a PostgreSQL state store use
//! [`SharedLimiter`] ([`RateLimitConfig::shared_limiter`]): the same windows, kept in
//! the database, so the limits hold across all nodes together.

mod shared;

pub use shared::{Admission, LEASE, MAX_BATCH, SharedLimiter};

use access::{ApiError, Principal, RateFamily, RateLimiter, Route};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// At most `max` requests in any `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn per_minute(max: u32) -> Self {
        Limit {
            max,
            window: Duration::from_secs(60),
        }
    }
    pub const fn per_hour(max: u32) -> Self {
        Limit {
            max,
            window: Duration::from_secs(3600),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `false`: no limits ([`RateLimitConfig::limiter`] gives `None`).
    pub enabled: bool,
    pub json: Vec<Limit>,
    pub files: Vec<Limit>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            json: vec![Limit::per_minute(30), Limit::per_hour(1000)],
            files: vec![Limit::per_minute(5), Limit::per_hour(20)],
        }
    }
}

impl RateLimitConfig {
    pub fn disabled() -> Self {
        RateLimitConfig {
            enabled: false,
            ..Self::default()
        }
    }

    /// The limiter for the API (`server::AppState::limiter`): `None` when disabled.
    pub fn limiter(&self) -> Option<Arc<dyn RateLimiter>> {
        self.enabled
            .then(|| Arc::new(Limiter::new(self.clone())) as Arc<dyn RateLimiter>)
    }

    /// The limiter shared by every node serving from the PostgreSQL database at `url`
    /// ([`SharedLimiter`]): `None` when disabled (nothing connects).
    pub fn shared_limiter(&self, url: &str) -> crate::Result<Option<Arc<dyn RateLimiter>>> {
        if !self.enabled {
            return Ok(None);
        }
        Ok(Some(
            Arc::new(SharedLimiter::open(url, self.clone())?) as Arc<dyn RateLimiter>
        ))
    }

    fn limits(&self, family: RateFamily) -> &[Limit] {
        match family {
            RateFamily::Json => &self.json,
            RateFamily::Files => &self.files,
        }
    }
}

type Key = (String, String, RateFamily);

/// The in-memory sliding-window limiter; implements [`access::RateLimiter`] (one
/// process's view: a shared implementation of the trait can replace it for several).
pub struct Limiter {
    config: RateLimitConfig,
    logs: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(config: RateLimitConfig) -> Self {
        Limiter {
            config,
            logs: Mutex::new(HashMap::new()),
        }
    }

    /// Admits (and records) a request of `app`/`tenant` in `family` at `now`, or
    /// returns the seconds to wait.
    pub fn admit(
        &self,
        app: &str,
        tenant: &str,
        family: RateFamily,
        now: Instant,
    ) -> Result<(), u64> {
        let limits = self.config.limits(family);
        if !self.config.enabled || limits.is_empty() {
            return Ok(());
        }
        let keep = limits.iter().map(|l| l.max as usize).max().unwrap_or(0);
        let longest = limits.iter().map(|l| l.window).max().unwrap_or_default();
        let mut logs = self.logs.lock();
        if logs.len() > 100_000 {
            logs.retain(|_, log| {
                log.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < longest)
            });
        }
        let log = logs
            .entry((app.to_owned(), tenant.to_owned(), family))
            .or_default();
        let mut wait = Duration::ZERO;
        for l in limits {
            if l.max == 0 {
                wait = wait.max(l.window);
                continue;
            }
            // Requests still inside this window are log[start..].
            let start = log.partition_point(|t| now.saturating_duration_since(*t) >= l.window);
            let in_window = log.len() - start;
            if in_window >= l.max as usize {
                // Admission needs log[len - max] to leave the window.
                let blocking = log[log.len() - l.max as usize];
                wait = wait.max((blocking + l.window).saturating_duration_since(now));
            }
        }
        if wait > Duration::ZERO {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(secs.max(1));
        }
        log.push_back(now);
        while log.len() > keep
            || log
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= longest)
        {
            log.pop_front();
        }
        Ok(())
    }
}

impl RateLimiter for Limiter {
    fn check(&self, principal: &Principal, route: &Route) -> Result<(), ApiError> {
        self.admit(
            &principal.app_id,
            &principal.tenant_id,
            route.family,
            Instant::now(),
        )
        .map_err(ApiError::too_many_requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_per_minute_then_retry_after() {
        let l = Limiter::new(RateLimitConfig::default());
        let t0 = Instant::now();
        for i in 0..30 {
            assert!(
                l.admit(
                    "a",
                    "t",
                    RateFamily::Json,
                    t0 + Duration::from_millis(i * 100)
                )
                .is_ok()
            );
        }
        let now = t0 + Duration::from_millis(3000);
        // 31st: wait until the first (t0) leaves the minute: 57 s.
        assert_eq!(l.admit("a", "t", RateFamily::Json, now), Err(57));
        // Refusals are not counted; other apps, tenants and families are separate.
        assert_eq!(l.admit("a", "t", RateFamily::Json, now), Err(57));
        assert!(l.admit("b", "t", RateFamily::Json, now).is_ok());
        assert!(l.admit("a", "u", RateFamily::Json, now).is_ok());
        assert!(l.admit("a", "t", RateFamily::Files, now).is_ok());
        // Honouring Retry-After admits.
        assert!(
            l.admit("a", "t", RateFamily::Json, now + Duration::from_secs(57))
                .is_ok()
        );
        // ...and the next must wait for the second-oldest.
        assert!(
            l.admit("a", "t", RateFamily::Json, now + Duration::from_secs(57))
                .is_err()
        );
    }

    #[test]
    fn hourly_limit_and_files_family() {
        let l = Limiter::new(RateLimitConfig::default());
        let t0 = Instant::now();
        let mut admitted = 0;
        let mut t = t0;
        // 5/min and 20/h: one every 13 s is under 5/min; the 21st within the hour fails.
        for _ in 0..21 {
            if l.admit("a", "t", RateFamily::Files, t).is_ok() {
                admitted += 1;
            }
            t += Duration::from_secs(13);
        }
        assert_eq!(admitted, 20);
        let wait = l.admit("a", "t", RateFamily::Files, t).unwrap_err();
        assert!(wait > 3000 && wait <= 3600, "{wait}");
        assert!(
            l.admit("a", "t", RateFamily::Files, t0 + Duration::from_secs(3600))
                .is_ok()
        );
    }

    #[test]
    fn never_more_than_max_in_any_window() {
        let l = Limiter::new(RateLimitConfig::default());
        let t0 = Instant::now();
        let mut admitted = Vec::new();
        for ms in (0..300_000u64).step_by(250) {
            let t = t0 + Duration::from_millis(ms);
            if l.admit("a", "t", RateFamily::Json, t).is_ok() {
                admitted.push(t);
            }
        }
        for (i, t) in admitted.iter().enumerate() {
            let n = admitted[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < Duration::from_secs(60))
                .count();
            assert!(n <= 30, "{n} in a minute");
        }
        assert_eq!(admitted.len(), 150);
    }

    #[test]
    fn disabled_admits_everything() {
        assert!(RateLimitConfig::disabled().limiter().is_none());
        let l = Limiter::new(RateLimitConfig::disabled());
        for _ in 0..100 {
            assert!(l.admit("a", "t", RateFamily::Json, Instant::now()).is_ok());
        }
    }
}
