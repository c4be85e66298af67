//! Sign-in throttling at the token endpoint: exponential back-off after repeated
//! failed sign-ins, and a bound on concurrent password (Argon2) verifications.
//!
//! Failures are counted under three keys, each with its own allowance of free
//! failures before back-off starts:
//!
//! | key | free failures (default) | why |
//! |---|---|---|
//! | subject (client id or user name) and source address | 5 | one source guessing one secret or password |
//! | source address | 20 | one source spraying many subjects |
//! | subject, any source | 100 | a distributed guess; high, so that failures elsewhere rarely lock out the owner |
//!
//! Past its allowance, each failure locks the key for `base_delay * 2^(n-1)` (the
//! n-th failure beyond the allowance), capped at `max_delay`. A request touching a
//! locked key is refused before any credential is checked (`429` with `Retry-After`,
//! the longest remaining lock); refused requests are not counted, so a client that
//! honours `Retry-After` sees the delay double with each further failure. A
//! successful sign-in clears the subject's keys and its source's. A key's count is
//! forgotten after `forget_after` without failures.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Sign-in throttling settings ([`crate::IdentityConfig::sign_in`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInThrottleConfig {
    /// `false`: no back-off (the bound on password verifications stays).
    pub enabled: bool,
    pub free_failures_per_subject_and_source: u32,
    pub free_failures_per_source: u32,
    pub free_failures_per_subject: u32,
    /// The first lock; each further failure doubles it.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A key's failures are forgotten after this long without a new one.
    pub forget_after: Duration,
    /// Password verifications (Argon2, ~20 MB and tens of ms each) running at once;
    /// the rest wait, so a password flood cannot take every core or blocking thread.
    pub max_concurrent_password_checks: usize,
    /// Password requests allowed to wait for a slot; beyond it they are refused (429).
    pub max_waiting_password_checks: usize,
    /// How long a password request waits for a slot before it is refused (429).
    pub password_wait: Duration,
}

impl Default for SignInThrottleConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        SignInThrottleConfig {
            enabled: true,
            free_failures_per_subject_and_source: 5,
            free_failures_per_source: 20,
            free_failures_per_subject: 100,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(60 * 60),
            max_concurrent_password_checks: (cores / 2).max(1),
            max_waiting_password_checks: 64,
            password_wait: Duration::from_secs(10),
        }
    }
}

/// Who is signing in: an application (client id) or a user (name); compared
/// case-insensitively, as the registry does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    App(String),
    User(String),
}

/// Attacker-chosen names are cut to this many bytes before they become keys.
const MAX_SUBJECT_LEN: usize = 256;
/// Keys kept before idle ones are dropped.
const MAX_KEYS: usize = 100_000;

impl Subject {
    pub fn app(client_id: &str) -> Subject {
        Subject::App(key_text(client_id))
    }
    pub fn user(name: &str) -> Subject {
        Subject::User(key_text(name))
    }
}

fn key_text(s: &str) -> String {
    let s = s.trim();
    let mut end = s.len().min(MAX_SUBJECT_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_lowercase()
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Pair(Subject, Option<IpAddr>),
    Source(Option<IpAddr>),
    Subject(Subject),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

/// The throttle state of one process.
pub(crate) struct SignInThrottle {
    config: SignInThrottleConfig,
    entries: Mutex<HashMap<Key, Entry>>,
    password_slots: Semaphore,
    password_waiting: AtomicUsize,
}

/// Too many password verifications are running and waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Busy;

impl SignInThrottle {
    pub fn new(config: SignInThrottleConfig) -> Self {
        SignInThrottle {
            password_slots: Semaphore::new(config.max_concurrent_password_checks.max(1)),
            password_waiting: AtomicUsize::new(0),
            entries: Mutex::new(HashMap::new()),
            config,
        }
    }

    /// The keys an attempt by `subjects` from `source` touches.
    fn keys(subjects: &[Subject], source: Option<IpAddr>) -> Vec<Key> {
        let mut keys = vec![Key::Source(source)];
        keys.extend(subjects.iter().map(|s| Key::Pair(s.clone(), source)));
        keys.extend(subjects.iter().map(|s| Key::Subject(s.clone())));
        keys
    }

    fn allowance(&self, key: &Key) -> u32 {
        match key {
            Key::Pair(..) => self.config.free_failures_per_subject_and_source,
            Key::Source(_) => self.config.free_failures_per_source,
            Key::Subject(_) => self.config.free_failures_per_subject,
        }
    }

    /// `Err(wait)` when any key of the attempt is locked: the longest remaining lock.
    pub fn check(
        &self,
        subjects: &[Subject],
        source: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Duration> {
        if !self.config.enabled {
            return Ok(());
        }
        let entries = self.entries.lock();
        let wait = Self::keys(subjects, source)
            .iter()
            .filter_map(|k| entries.get(k)?.locked_until)
            .map(|until| until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// Counts a failed sign-in of `subject` from `source`.
    pub fn record_failure(&self, subject: &Subject, source: Option<IpAddr>, now: Instant) {
        if !self.config.enabled {
            return;
        }
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_KEYS {
            let forget = self.config.forget_after;
            entries.retain(|_, e| {
                e.locked_until.is_some_and(|t| t > now)
                    || now.saturating_duration_since(e.last_failure) < forget
            });
            if entries.len() >= MAX_KEYS {
                entries.retain(|_, e| e.locked_until.is_some_and(|t| t > now));
            }
        }
        for key in Self::keys(std::slice::from_ref(subject), source) {
            let allowance = self.allowance(&key);
            let e = entries.entry(key).or_insert(Entry {
                failures: 0,
                last_failure: now,
                locked_until: None,
            });
            if now.saturating_duration_since(e.last_failure) >= self.config.forget_after {
                e.failures = 0;
            }
            e.failures = e.failures.saturating_add(1);
            e.last_failure = now;
            if e.failures > allowance {
                let doublings = (e.failures - allowance - 1).min(30);
                let delay = self
                    .config
                    .base_delay
                    .saturating_mul(1u32 << doublings)
                    .min(self.config.max_delay);
                e.locked_until = Some(now + delay);
            }
        }
    }

    /// A successful sign-in: the subject's and the source's back-off are cleared.
    pub fn record_success(&self, subject: &Subject, source: Option<IpAddr>) {
        if !self.config.enabled {
            return;
        }
        let mut entries = self.entries.lock();
        for key in Self::keys(std::slice::from_ref(subject), source) {
            entries.remove(&key);
        }
    }

    /// A slot for one password verification, waiting at most `password_wait` behind
    /// at most `max_waiting_password_checks` others.
    pub async fn password_slot(&self) -> Result<SemaphorePermit<'_>, Busy> {
        if let Ok(permit) = self.password_slots.try_acquire() {
            return Ok(permit);
        }
        let waiting = self.password_waiting.fetch_add(1, Ordering::AcqRel);
        let result = if waiting >= self.config.max_waiting_password_checks {
            Err(Busy)
        } else {
            match tokio::time::timeout(self.config.password_wait, self.password_slots.acquire())
                .await
            {
                Ok(Ok(permit)) => Ok(permit),
                _ => Err(Busy),
            }
        };
        self.password_waiting.fetch_sub(1, Ordering::AcqRel);
        result
    }
}

/// Whole seconds to announce in `Retry-After` (rounded up, at least 1).
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SignInThrottleConfig {
        SignInThrottleConfig {
            free_failures_per_subject_and_source: 2,
            free_failures_per_source: 4,
            free_failures_per_subject: 6,
            ..SignInThrottleConfig::default()
        }
    }

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    #[test]
    fn back_off_doubles_per_failure_and_success_clears_it() {
        let t = SignInThrottle::new(config());
        let now = Instant::now();
        let app = Subject::app("Client-1");
        for _ in 0..2 {
            t.record_failure(&app, A, now);
        }
        assert_eq!(t.check(std::slice::from_ref(&app), A, now), Ok(()));
        let mut locks = Vec::new();
        for _ in 0..3 {
            t.record_failure(&app, A, now);
            locks.push(t.check(std::slice::from_ref(&app), A, now).unwrap_err());
        }
        assert_eq!(
            locks,
            [1, 2, 4].map(Duration::from_secs),
            "each failure past the allowance doubles the lock"
        );
        // Another source, another subject: not locked by this pair (the source A is
        // at its allowance of 4, the subject below 6).
        assert_eq!(t.check(&[Subject::app("client-2")], B, now), Ok(()));
        assert_eq!(t.check(std::slice::from_ref(&app), B, now), Ok(()));
        // Case does not make a new subject.
        assert!(t.check(&[Subject::app("CLIENT-1")], A, now).is_err());
        t.record_success(&app, A);
        assert_eq!(t.check(&[app], A, now), Ok(()));
    }

    #[test]
    fn a_source_spraying_subjects_is_locked_and_old_failures_are_forgotten() {
        let t = SignInThrottle::new(config());
        let now = Instant::now();
        for i in 0..5 {
            t.record_failure(&Subject::user(&format!("user{i}")), A, now);
        }
        assert_eq!(
            t.check(&[Subject::user("someone-else")], A, now),
            Err(Duration::from_secs(1))
        );
        assert_eq!(t.check(&[Subject::user("someone-else")], B, now), Ok(()));
        let later = now + Duration::from_secs(2 * 3600);
        t.record_failure(&Subject::user("user0"), A, later);
        assert_eq!(t.check(&[Subject::user("user0")], A, later), Ok(()));
    }

    #[test]
    fn disabled_never_refuses_and_retry_after_rounds_up() {
        let t = SignInThrottle::new(SignInThrottleConfig {
            enabled: false,
            ..config()
        });
        let now = Instant::now();
        for _ in 0..50 {
            t.record_failure(&Subject::app("x"), A, now);
        }
        assert_eq!(t.check(&[Subject::app("x")], A, now), Ok(()));
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_secs(Duration::from_secs(4)), 4);
    }

    #[tokio::test]
    async fn password_slots_are_bounded_and_a_full_queue_refuses() {
        let t = SignInThrottle::new(SignInThrottleConfig {
            max_concurrent_password_checks: 1,
            max_waiting_password_checks: 0,
            password_wait: Duration::from_millis(50),
            ..config()
        });
        let held = t.password_slot().await.unwrap();
        assert_eq!(t.password_slot().await.err(), Some(Busy));
        drop(held);
        assert!(t.password_slot().await.is_ok());
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let long = "é".repeat(300);
        let Subject::User(k) = Subject::user(&long) else {
            unreachable!()
        };
        assert!(k.len() <= MAX_SUBJECT_LEN && k.starts_with('é'));
    }
}
