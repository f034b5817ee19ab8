//! Calling a hosted provider: one shared client (no redirects, fixed hosts), per-attempt and
//! total timeouts, retries with full jitter that honour the provider's requested wait, a
//! circuit breaker and a concurrency cap per provider, and a cap on what is read back.
use crate::config::UpstreamOptions;
use crate::error::{Error, Result};
use axum::body::Bytes;
use pixelkeep::wire::ErrorCode;
use reqwest::StatusCode;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Semaphore;

/// A complete upstream answer (any status the provider module must interpret).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// The wait the provider asked for (`Retry-After` or Gemini's `RetryInfo`), if any.
    pub retry_after: Option<Duration>,
    /// How many attempts were made (1 = no retry).
    pub attempts: u32,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
    /// The provider's requested wait in whole seconds, for `retry_after_s`.
    pub fn retry_after_s(&self) -> Option<u64> {
        self.retry_after.map(|d| d.as_secs_f64().ceil() as u64)
    }
}

/// Per-provider state: a concurrency cap and a circuit breaker.
#[derive(Debug)]
pub struct Gate {
    pub name: &'static str,
    permits: Semaphore,
    breaker: Mutex<Breaker>,
}

#[derive(Debug, Default)]
struct Breaker {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

impl Gate {
    pub fn new(name: &'static str, concurrency: usize) -> Self {
        Gate { name, permits: Semaphore::new(concurrency.max(1)), breaker: Mutex::default() }
    }

    fn check(&self) -> Result<()> {
        let breaker = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        match breaker.open_until {
            Some(until) if until > Instant::now() => {
                let wait = until.saturating_duration_since(Instant::now()).as_secs_f64().ceil() as u64;
                Err(Error::new(
                    ErrorCode::UpstreamUnavailable,
                    format!(
                        "The {} service is failing right now; pixelkeep paused calls to it. Try again shortly.",
                        self.name
                    ),
                )
                .retry_after(Some(wait.max(1))))
            }
            _ => Ok(()),
        }
    }

    fn record(&self, healthy: bool, options: &UpstreamOptions) {
        let mut breaker = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        if healthy {
            *breaker = Breaker::default();
            return;
        }
        breaker.consecutive_failures += 1;
        // After the cooldown one more failure re-opens at once (half-open).
        if breaker.consecutive_failures >= options.breaker_failures {
            tracing::warn!(provider = self.name, failures = breaker.consecutive_failures, "circuit breaker open");
            breaker.open_until = Some(Instant::now() + options.breaker_cooldown);
        }
    }
}

/// Why one attempt produced no reply.
enum AttemptError {
    /// No connection was made: nothing was sent, safe to retry.
    Connect,
    /// The request may have reached the provider (and started a billed generation).
    Broken(String),
    TooLarge,
}

#[derive(Debug, Clone)]
pub struct Upstream {
    client: reqwest::Client,
    pub options: UpstreamOptions,
    max_body: usize,
}

impl Upstream {
    pub fn new(options: UpstreamOptions, max_body: usize) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pixelkeep-proxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Upstream { client, options, max_body }
    }

    /// Sends the request `build` makes (once per attempt) through `gate`. Returns the final
    /// reply, whatever its status; transport failures and timeouts are typed errors.
    pub async fn call(
        &self,
        gate: &Gate,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Reply> {
        let opts = &self.options;
        let deadline = tokio::time::Instant::now() + opts.total_timeout;
        gate.check()?;
        let _permit = tokio::time::timeout_at(deadline, gate.permits.acquire())
            .await
            .map_err(|_| {
                Error::new(
                    ErrorCode::Timeout,
                    format!("The {} service is busy; the edit waited too long for its turn.", gate.name),
                )
            })?
            .map_err(|_| Error::new(ErrorCode::UpstreamUnavailable, "The server is shutting down."))?;
        let mut attempts = 0;
        loop {
            gate.check()?;
            attempts += 1;
            let attempt_deadline = deadline.min(tokio::time::Instant::now() + opts.attempt_timeout);
            let outcome = tokio::time::timeout_at(attempt_deadline, self.attempt(build(&self.client))).await;
            let (retry_after, last) = match outcome {
                Err(_) => {
                    // The request was sent: retrying could pay for a second generation.
                    gate.record(false, opts);
                    tracing::warn!(provider = gate.name, attempts, "upstream attempt timed out");
                    return Err(Error::new(
                        ErrorCode::Timeout,
                        format!("The {} service did not answer in time.", gate.name),
                    ));
                }
                Ok(Err(AttemptError::Connect)) => {
                    gate.record(false, opts);
                    tracing::warn!(provider = gate.name, attempts, "upstream connection failed");
                    (None, None)
                }
                Ok(Err(AttemptError::Broken(why))) => {
                    gate.record(false, opts);
                    tracing::warn!(provider = gate.name, attempts, why, "upstream reply broken");
                    return Err(Error::upstream(format!(
                        "The {} service's answer was cut off or unreadable.",
                        gate.name
                    )));
                }
                Ok(Err(AttemptError::TooLarge)) => {
                    tracing::warn!(provider = gate.name, attempts, limit = self.max_body, "upstream reply too large");
                    return Err(Error::upstream(format!(
                        "The {} service's answer was larger than the proxy accepts.",
                        gate.name
                    )));
                }
                Ok(Ok(mut reply)) => {
                    reply.attempts = attempts;
                    let status = reply.status;
                    let retriable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    // A 429 says the provider is healthy but busy; redirects mean a wrong host.
                    gate.record(!(status.is_server_error() || status.is_redirection()), opts);
                    if status.is_redirection() {
                        tracing::warn!(provider = gate.name, %status, "upstream redirect not followed");
                        return Err(Error::upstream(format!(
                            "The {} service answered with a redirect, which the proxy does not follow.",
                            gate.name
                        )));
                    }
                    if !retriable {
                        return Ok(reply);
                    }
                    tracing::warn!(provider = gate.name, attempts, %status, "upstream attempt failed");
                    (reply.retry_after, Some(reply))
                }
            };
            let give_up = |last: Option<Reply>| match last {
                Some(reply) => Ok(reply),
                None => Err(Error::new(
                    ErrorCode::UpstreamUnavailable,
                    format!("The {} service could not be reached.", gate.name),
                )),
            };
            if attempts > opts.max_retries {
                return give_up(last);
            }
            let wait = retry_after.unwrap_or_else(|| self.backoff(attempts));
            if wait > opts.max_wait || tokio::time::Instant::now() + wait >= deadline {
                // Too long to hold the client: pass the wait back as retry_after_s.
                return give_up(last);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Full jitter: uniform between the minimum and a cap that grows 4x per retry.
    fn backoff(&self, retry: u32) -> Duration {
        let (min, max) = (self.options.backoff_min, self.options.backoff_max.max(self.options.backoff_min));
        let cap = min.saturating_mul(4u32.saturating_pow(retry)).min(max);
        min + (cap - min).mul_f64(fastrand::f64())
    }

    async fn attempt(&self, request: reqwest::RequestBuilder) -> std::result::Result<Reply, AttemptError> {
        let mut response = request.send().await.map_err(|e| {
            if e.is_connect() {
                AttemptError::Connect
            } else {
                AttemptError::Broken(e.without_url().to_string())
            }
        })?;
        if response.content_length().is_some_and(|n| n > self.max_body as u64) {
            return Err(AttemptError::TooLarge);
        }
        let status = response.status();
        let header = |name: reqwest::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let retry_header = header(reqwest::header::RETRY_AFTER);
        // Sized up front: growing a multi-megabyte buffer by doubling copies it again and again.
        let mut body = Vec::with_capacity(response.content_length().map_or(64 << 10, |n| n as usize));
        while let Some(chunk) = response.chunk().await.map_err(|e| AttemptError::Broken(e.without_url().to_string()))? {
            if body.len() + chunk.len() > self.max_body {
                return Err(AttemptError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        // RetryInfo comes in error bodies: a success's megabytes are not parsed looking for one.
        let retry_after = retry_header.as_deref().and_then(parse_retry_after).or_else(|| {
            if status.is_success() {
                None
            } else {
                retry_info(&body)
            }
        });
        Ok(Reply { status, content_type, body: Bytes::from(body), retry_after, attempts: 0 })
    }
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Gemini's `google.rpc.RetryInfo.retryDelay` (`"26s"`, `"1.5s"`) from an error body.
pub fn retry_info(body: &[u8]) -> Option<Duration> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    json["error"]["details"].as_array()?.iter().find_map(|d| {
        let is_retry_info = d["@type"].as_str().is_some_and(|t| t.ends_with("RetryInfo"));
        let delay = d["retryDelay"].as_str()?.trim().strip_suffix('s')?.parse::<f64>().ok()?;
        (is_retry_info && delay.is_finite() && delay >= 0.0).then(|| Duration::from_secs_f64(delay.min(86_400.0)))
    })
}

/// Upstream text fit for a client: the key removed, bounded in length.
pub fn scrub(text: &str, key: &str) -> String {
    let mut text = if key.is_empty() { text.to_string() } else { text.replace(key, "***") };
    if text.len() > 300 {
        let mut end = 300;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_retry_after_in_both_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(100));
        let d = parse_retry_after(&later).unwrap();
        assert!(d > Duration::from_secs(95) && d <= Duration::from_secs(100), "{d:?}");
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn reads_gemini_retry_info() {
        let body = br#"{"error":{"code":429,"details":[{"@type":"type.googleapis.com/google.rpc.Help"},
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26s"}]}}"#;
        assert_eq!(retry_info(body), Some(Duration::from_secs(26)));
        assert_eq!(retry_info(b"not json"), None);
    }

    #[test]
    fn backoff_is_within_bounds() {
        let up = Upstream::new(UpstreamOptions::default(), 1);
        for retry in 1..=3 {
            for _ in 0..100 {
                let d = up.backoff(retry);
                assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(8), "{d:?}");
                if retry == 1 {
                    assert!(d <= Duration::from_secs(2));
                }
            }
        }
    }

    #[test]
    fn scrub_removes_the_key() {
        assert_eq!(scrub("bad key sk-123 here", "sk-123"), "bad key *** here");
    }
}
