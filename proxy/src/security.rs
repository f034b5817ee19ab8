//! Who may call: the CORS allowlist, embed tokens, and rate limits.
use crate::error::{Error, Result};
use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use pixelkeep::wire::ErrorCode;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest token lifetime accepted, and the clock skew tolerated.
pub const MAX_TOKEN_LIFETIME_S: u64 = 600;
pub const CLOCK_SKEW_S: u64 = 60;

const ALLOWED_HEADERS: &str =
    "content-type, authorization, x-goog-api-key, x-goog-api-client, x-server-timeout, x-pixelkeep-token";

/// What an embed token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub site: String,
    /// Issued at and expiry, Unix seconds.
    pub iat: u64,
    pub exp: u64,
    /// Providers the token may use; empty = all configured.
    #[serde(default)]
    pub providers: Vec<String>,
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn mac(secret: &str, payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(payload.as_bytes());
    mac
}

/// A token for `site`, valid from now for `ttl_s` seconds (at most 10 minutes).
pub fn mint(secret: &str, site: &str, providers: &[String], ttl_s: u64) -> String {
    let iat = now_s();
    sign(
        secret,
        &Claims { site: site.into(), iat, exp: iat + ttl_s.min(MAX_TOKEN_LIFETIME_S), providers: providers.to_vec() },
    )
}

/// A token: `base64url(json claims) "." base64url(HMAC-SHA256(secret, first part))`.
pub fn sign(secret: &str, claims: &Claims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, &payload).finalize().into_bytes());
    format!("{payload}.{signature}")
}

/// Checks signature, lifetime and expiry (with the clock skew allowed).
pub fn verify(secret: &str, token: &str) -> Result<Claims> {
    let unauthorized = |why: &str| Error::new(ErrorCode::Unauthorized, why.to_string());
    let (payload, signature) =
        token.trim().split_once('.').ok_or_else(|| unauthorized("The access token is malformed."))?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| unauthorized("The access token is malformed."))?;
    mac(secret, payload).verify_slice(&signature).map_err(|_| unauthorized("The access token is not valid."))?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| unauthorized("The access token is malformed."))?;
    let now = now_s();
    if claims.exp < claims.iat || claims.exp - claims.iat > MAX_TOKEN_LIFETIME_S || claims.iat > now + CLOCK_SKEW_S {
        return Err(unauthorized("The access token's lifetime is not allowed (at most 10 minutes)."));
    }
    if claims.exp + CLOCK_SKEW_S < now {
        return Err(unauthorized("The access token has expired; reload the page to get a new one."));
    }
    Ok(claims)
}

/// Who is calling, as the guard established it; handlers read it from the extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ip: Option<IpAddr>,
    /// Set when tokens are required.
    pub claims: Option<Claims>,
}

impl Caller {
    pub fn may_use(&self, provider: &str) -> bool {
        self.claims.as_ref().map_or(true, |c| c.providers.is_empty() || c.providers.iter().any(|p| p == provider))
    }
}

fn client_ip(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
        if let Some(ip) = forwarded.and_then(|v| v.rsplit(',').next()).and_then(|s| s.trim().parse().ok()) {
            return Some(ip);
        }
    }
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The token from `Authorization: Bearer`, `x-pixelkeep-token` or (for the Gemini SDKs,
/// whose only credential is the API key) `x-goog-api-key`.
fn token(headers: &HeaderMap) -> Option<&str> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
    get("authorization")
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .or_else(|| get("x-pixelkeep-token"))
        .or_else(|| get("x-goog-api-key").filter(|v| v.contains('.')))
}

/// Same-origin requests carry an `Origin` equal to the scheme and the `Host` they were sent to.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}

/// CORS and tokens for the API routes. A browser page on a foreign origin is refused
/// (`forbidden_origin`), not merely left without CORS headers, so the refusal is visible.
pub async fn guard(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let config = &state.config;
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string);
    let allowed =
        origin.as_deref().filter(|o| *o != "null" && config.allowed_origins.iter().any(|a| a == o)).map(str::to_string);
    if let Some(origin) = &origin {
        if allowed.is_none() && (origin == "null" || !same_origin(origin, request.headers())) {
            tracing::info!(origin, path = request.uri().path(), "refused origin");
            return with_vary(
                Error::new(ErrorCode::ForbiddenOrigin, "This site is not allowed to use this pixelkeep server.")
                    .into_response(),
                None,
            );
        }
    }
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if allowed.is_some() {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
        return with_vary(response, allowed.as_deref());
    }
    let mut caller = Caller { ip: client_ip(&request, config.trust_forwarded_for), claims: None };
    if let Some(secret) = &config.token_secret {
        if request.uri().path() != "/api/health" {
            let claims = match token(request.headers()) {
                None => {
                    Err(Error::new(ErrorCode::Unauthorized, "An access token is required (Authorization: Bearer ...)."))
                }
                Some(t) => verify(secret.expose(), t),
            };
            match claims {
                Ok(claims) => caller.claims = Some(claims),
                Err(e) => return with_vary(e.into_response(), allowed.as_deref()),
            }
        }
    }
    request.extensions_mut().insert(caller);
    with_vary(next.run(request).await, allowed.as_deref())
}

fn with_vary(mut response: Response, allowed_origin: Option<&str>) -> Response {
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed_origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
    }
    response
}

/// Token buckets keyed by site or IP: `per_min` edits a minute, bursts up to `per_min`.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// Takes one token from `key`'s bucket, or says how long until one is there.
    pub fn take(&self, key: &str, per_min: u32) -> std::result::Result<(), Duration> {
        if per_min == 0 {
            return Ok(());
        }
        let (capacity, per_s) = (per_min as f64, per_min as f64 / 60.0);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 10_000 {
            // Forget full buckets: they hold no state worth keeping.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_s < capacity);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: capacity, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_s).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_s))
        }
    }
}

/// Applies the per-site and per-IP limits for one edit with `provider`.
pub fn check_rate(state: &AppState, caller: &Caller, provider: &str) -> Result<()> {
    let limits = &state.config.limits;
    let limited = |wait: Duration| {
        Error::new(ErrorCode::RateLimited, "Too many edits in a short time; please wait a moment.")
            .retry_after(Some(wait.as_secs_f64().ceil().max(1.0) as u64))
    };
    let ip = caller.ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    if provider == crate::local::ID {
        // The local engine costs CPU, not money: its own, higher per-IP limit.
        return state.rate.take(&format!("local-ip:{ip}"), limits.local_ip_per_min).map_err(limited);
    }
    if let Some(claims) = &caller.claims {
        state.rate.take(&format!("site:{}", claims.site), limits.site_per_min).map_err(limited)?;
    }
    state.rate.take(&format!("ip:{ip}"), limits.ip_per_min).map_err(limited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_forgery() {
        let t = mint("s3cret", "shop.example", &["gemini".into()], 300);
        let c = verify("s3cret", &t).unwrap();
        assert_eq!((c.site.as_str(), c.exp - c.iat), ("shop.example", 300));
        assert!(verify("other", &t).is_err());
        let (payload, sig) = t.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD
            .encode(String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap().replace("shop", "evil"));
        assert!(verify("s3cret", &format!("{forged}.{sig}")).is_err());
        assert!(verify("s3cret", "garbage").is_err());
    }

    #[test]
    fn buckets_refill() {
        let r = RateLimiter::default();
        assert!(r.take("a", 2).is_ok() && r.take("a", 2).is_ok());
        let wait = r.take("a", 2).unwrap_err();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
        assert!(r.take("b", 2).is_ok());
        assert!((0..1000).all(|_| r.take("c", 0).is_ok()));
    }
}
