//! Fetching one URL: HTTP(S) through reqwest or `file://` from disk, with a rolling
//! rate limit and retries with exponential back-off.

use crate::FeedError;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// At most `max` requests in any rolling `window`. `margin` is added to the wait so
/// the server, which sees requests a little later than they leave, never counts more.
#[derive(Clone, Debug)]
pub struct RateLimit {
    pub max: usize,
    pub window: Duration,
    pub margin: Duration,
}

/// Retries of a request that met 403, 429, 5xx, a timeout or a broken connection.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Attempts in all (the first included).
    pub attempts: u32,
    /// The first back-off; doubled at each further attempt.
    pub base_delay: Duration,
    /// The longest back-off (and the cap on a server's `Retry-After`).
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 6,
            base_delay: Duration::from_secs(6),
            max_delay: Duration::from_secs(120),
        }
    }
}

/// The sending times of recent requests, for [`RateLimit`].
pub(crate) struct RateLimiter {
    limit: RateLimit,
    sent: VecDeque<Instant>,
}

/// The process's limiters, one per endpoint and limit, so successive syncs (the
/// serve schedule, tests) share one rolling window with the service.
type Limiters = Mutex<HashMap<String, Arc<tokio::sync::Mutex<RateLimiter>>>>;
static LIMITERS: OnceLock<Limiters> = OnceLock::new();

impl RateLimiter {
    /// The process-wide limiter of `endpoint` under `limit`.
    pub fn shared(endpoint: &str, limit: &RateLimit) -> Arc<tokio::sync::Mutex<RateLimiter>> {
        let key = format!("{endpoint} {} {:?}", limit.max, limit.window);
        let mut map = LIMITERS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(key)
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(RateLimiter {
                    limit: limit.clone(),
                    sent: VecDeque::new(),
                }))
            })
            .clone()
    }

    /// Waits until one more request fits in the window, and counts it.
    pub async fn acquire(&mut self) {
        let span = self.limit.window + self.limit.margin;
        loop {
            let now = Instant::now();
            while self.sent.front().is_some_and(|t| now - *t >= span) {
                self.sent.pop_front();
            }
            if self.sent.len() < self.limit.max.max(1) {
                self.sent.push_back(now);
                return;
            }
            if let Some(oldest) = self.sent.front() {
                tokio::time::sleep_until(*oldest + span).await;
            }
        }
    }
}

pub(crate) struct Fetcher {
    client: reqwest::Client,
    retry: Retry,
}

/// Whether a status is worth another attempt (rate limiting and server trouble).
fn retryable(status: u16) -> bool {
    matches!(status, 403 | 429) || (500..600).contains(&status)
}

impl Fetcher {
    pub fn new(retry: Retry, timeout: Duration) -> Result<Self, FeedError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("posture/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FeedError::Transport {
                url: String::new(),
                reason: e.to_string(),
            })?;
        Ok(Fetcher { client, retry })
    }

    /// A `file://` URL's path.
    fn file_path(url: &str) -> Option<&str> {
        url.strip_prefix("file://")
    }

    fn read_file(path: &str) -> Result<Option<Vec<u8>>, FeedError> {
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(FeedError::File {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The body at `url` (query parameters ignored for `file://`), retrying transient
    /// failures; every attempt waits for `limiter` first.
    pub async fn get(
        &self,
        url: &str,
        query: &[(&str, String)],
        headers: &[(&str, String)],
        limiter: Option<&mut RateLimiter>,
    ) -> Result<Vec<u8>, FeedError> {
        match self.fetch(url, query, headers, limiter).await? {
            Some(b) => Ok(b),
            None => Err(FeedError::Status {
                url: url.to_owned(),
                status: 404,
                body: "not found".into(),
            }),
        }
    }

    /// Like [`Fetcher::get`], but a 404 (or a missing file) is `None`.
    pub async fn get_optional(&self, url: &str) -> Result<Option<Vec<u8>>, FeedError> {
        self.fetch(url, &[], &[], None).await
    }

    async fn fetch(
        &self,
        url: &str,
        query: &[(&str, String)],
        headers: &[(&str, String)],
        mut limiter: Option<&mut RateLimiter>,
    ) -> Result<Option<Vec<u8>>, FeedError> {
        if let Some(path) = Self::file_path(url) {
            return Self::read_file(path);
        }
        let mut attempt = 1;
        loop {
            if let Some(l) = limiter.as_deref_mut() {
                l.acquire().await;
            }
            let mut request = self.client.get(url).query(query);
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            let (error, retry_after) = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    if status == 404 {
                        return Ok(None);
                    }
                    match response.bytes().await {
                        Ok(body) if status == 200 => return Ok(Some(body.to_vec())),
                        Ok(body) => {
                            let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
                            let e = FeedError::Status {
                                url: url.to_owned(),
                                status,
                                body: text.trim().to_owned(),
                            };
                            if !retryable(status) {
                                return Err(e);
                            }
                            (e, retry_after)
                        }
                        Err(e) => (transport(url, &e), None),
                    }
                }
                Err(e) => (transport(url, &e), None),
            };
            if attempt >= self.retry.attempts {
                return Err(error);
            }
            let backoff = self
                .retry
                .base_delay
                .saturating_mul(1 << (attempt - 1).min(16))
                .max(retry_after.unwrap_or_default())
                .min(self.retry.max_delay);
            tracing::info!(url, attempt, ?backoff, error = %error, "retrying feed request");
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
    }
}

fn transport(url: &str, e: &reqwest::Error) -> FeedError {
    let reason = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        reason
    };
    FeedError::Transport {
        url: url.to_owned(),
        reason,
    }
}
