//! Fault injection for the emulator (off by default): lets client authors test their
//! retry logic against the failures the real service produces.
//!
//! A [`FaultConfig`] is a list of rules, read from JSON (`posture serve --faults FILE`):
//!
//! ```json
//! {"seed": 7, "rules": [
//!   {"endpoint": "machines/SoftwareVulnerabilitiesByMachine", "tooManyRequests": 0.1, "retryAfter": 2},
//!   {"serverError": 0.02, "unavailable": 0.02, "latencyMs": 250, "latencyProbability": 0.5},
//!   {"endpoint": "machines/SoftwareVulnerabilitiesByMachine", "expireSkipToken": 0.05},
//!   {"endpoint": "machines/SoftwareVulnerabilitiesExport", "expireFileUrls": 0.2}
//! ]}
//! ```
//! A rule without `endpoint` applies to every API endpoint (matched case-insensitively
//! on the path after `/api/`). For each request the first matching rule is rolled:
//! latency is added first, then at most one fault fires: 429 `TooManyRequests` with
//! `Retry-After`, 500 `InternalServerError`, 503 `ServiceUnavailable`, or — for a
//! request that carries a `$skiptoken` — the token is treated as expired (400
//! `InvalidInput`, as when its snapshot has been removed). On a via-files endpoint,
//! `expireFileUrls` hands out URLs that have already expired (their download is 403, as
//! when a client waits too long). Faults never change data.

use crate::endpoints::Endpoint;
use access::ApiError;
use axum::http::StatusCode;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of the fault dice, for reproducible runs; random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    pub rules: Vec<FaultRule>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Endpoint path after `/api/` (e.g. `deviceavinfo`); all endpoints when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub too_many_requests: f64,
    /// `Retry-After` seconds of injected 429s (default 1).
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub server_error: f64,
    #[serde(default)]
    pub unavailable: f64,
    #[serde(default)]
    pub latency_ms: u64,
    /// Chance the latency is added (default 1 when `latencyMs` is set).
    #[serde(default)]
    pub latency_probability: Option<f64>,
    #[serde(default)]
    pub expire_skip_token: f64,
    #[serde(default)]
    pub expire_file_urls: f64,
}

/// What a request must do differently because of a rolled fault that still lets it succeed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Sign file URLs that have already expired.
    pub expire_file_urls: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultConfigError {
    #[error("fault configuration is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("fault rule {index}: {reason}")]
    Invalid { index: usize, reason: String },
}

impl FaultConfig {
    pub fn from_json(text: &str) -> Result<FaultConfig, FaultConfigError> {
        let config: FaultConfig = serde_json::from_str(text)?;
        for (index, r) in config.rules.iter().enumerate() {
            let invalid = |reason: String| FaultConfigError::Invalid { index, reason };
            for (name, p) in [
                ("tooManyRequests", r.too_many_requests),
                ("serverError", r.server_error),
                ("unavailable", r.unavailable),
                ("expireSkipToken", r.expire_skip_token),
                ("expireFileUrls", r.expire_file_urls),
                ("latencyProbability", r.latency_probability.unwrap_or(0.0)),
            ] {
                if !(0.0..=1.0).contains(&p) {
                    return Err(invalid(format!(
                        "{name} must be a probability from 0 to 1, got {p}"
                    )));
                }
            }
            if r.too_many_requests + r.server_error + r.unavailable > 1.0 {
                return Err(invalid(
                    "tooManyRequests + serverError + unavailable exceed 1".into(),
                ));
            }
            if let Some(e) = &r.endpoint
                && crate::endpoints::lookup(&format!("/api/{e}")).is_none()
            {
                return Err(invalid(format!("unknown endpoint {e:?}")));
            }
        }
        Ok(config)
    }
}

/// The rolled outcome for one request.
pub struct Faults {
    config: FaultConfig,
    rng: Mutex<StdRng>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Faults {
        let rng = match config.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        Faults {
            config,
            rng: Mutex::new(rng),
        }
    }

    /// Rolls the dice for a request; sleeps the injected latency; returns the fault to answer with, if any.
    pub async fn apply(
        &self,
        endpoint: &Endpoint,
        has_skip_token: bool,
    ) -> Result<Effects, ApiError> {
        let Some(rule) = self.config.rules.iter().find(|r| {
            r.endpoint
                .as_deref()
                .is_none_or(|e| e.eq_ignore_ascii_case(endpoint.path))
        }) else {
            return Ok(Effects::default());
        };
        let (delay, dice, token_dice, url_dice) = {
            let mut rng = self.rng.lock();
            let delay = rule.latency_ms > 0
                && rng.random::<f64>() < rule.latency_probability.unwrap_or(1.0);
            (
                delay,
                rng.random::<f64>(),
                rng.random::<f64>(),
                rng.random::<f64>(),
            )
        };
        if delay {
            tokio::time::sleep(Duration::from_millis(rule.latency_ms)).await;
        }
        metrics::counter!("posture_faults_rolled_total").increment(1);
        let mut edge = rule.too_many_requests;
        if dice < edge {
            return Err(injected(ApiError::too_many_requests(
                rule.retry_after.unwrap_or(1),
            )));
        }
        edge += rule.server_error;
        if dice < edge {
            return Err(injected(ApiError::internal(
                "Injected fault: internal server error; retry the operation.",
            )));
        }
        edge += rule.unavailable;
        if dice < edge {
            let mut e = ApiError::internal(
                "Injected fault: the service is temporarily unavailable; retry later.",
            );
            e.status = StatusCode::SERVICE_UNAVAILABLE;
            e.code = "ServiceUnavailable";
            return Err(injected(e));
        }
        if has_skip_token && token_dice < rule.expire_skip_token {
            return Err(injected(ApiError::invalid_input(
                "Invalid value for $skiptoken: the snapshot has expired; start the export again without $skiptoken.",
            )));
        }
        let expire_file_urls = url_dice < rule.expire_file_urls;
        if expire_file_urls {
            metrics::counter!("posture_faults_injected_total", "code" => "ExpiredFileUrls")
                .increment(1);
        }
        Ok(Effects { expire_file_urls })
    }
}

fn injected(e: ApiError) -> ApiError {
    metrics::counter!("posture_faults_injected_total", "code" => e.code).increment(1);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_is_validated() {
        assert!(FaultConfig::from_json(r#"{"rules":[{"tooManyRequests":1.5}]}"#).is_err());
        assert!(FaultConfig::from_json(r#"{"rules":[{"endpoint":"nope"}]}"#).is_err());
        assert!(
            FaultConfig::from_json(r#"{"rules":[{"tooManyRequests":0.6,"serverError":0.6}]}"#)
                .is_err()
        );
        assert!(FaultConfig::from_json(r#"{"rules":[{"surprise":1}]}"#).is_err());
        let ok = FaultConfig::from_json(
            r#"{"seed":1,"rules":[{"endpoint":"DeviceAvInfo","latencyMs":5}]}"#,
        )
        .unwrap();
        assert_eq!(ok.rules.len(), 1);
    }
}
