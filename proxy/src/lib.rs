//! `pixelkeep-proxy`: the HTTP boundary between a public page and the image providers.
//!
//! [`app`] builds the whole service from a [`Config`]; `main.rs` only reads flags, binds and
//! shuts down gracefully. Everything a client can get wrong is answered with a typed
//! `{"error": {...}}` (see [`error`]); nothing it sends chooses where the proxy connects.
pub mod api;
pub mod compat;
pub mod config;
pub mod error;
pub mod gemini;
pub mod idempotency;
pub mod input;
pub mod local;
pub mod openai;
pub mod payload;
pub mod security;
pub mod statics;
pub mod upstream;

pub use config::{Config, Limits, ProviderConfig, Secret, UpstreamOptions};
pub use error::Error;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::serve::{ListenerExt, TapIo};
use axum::{middleware, Router};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Shared by every handler.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub gemini: Option<gemini::Gemini>,
    pub openai: Option<openai::OpenAi>,
    pub upstream: upstream::Upstream,
    pub rate: security::RateLimiter,
    pub idempotency: idempotency::IdempotencyCache,
    /// Local edits are CPU bound: at most this many at once.
    pub local_gate: Semaphore,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        let concurrency = config.limits.upstream_concurrency;
        AppState {
            gemini: config.gemini.as_ref().map(|c| gemini::Gemini::new(c.clone(), concurrency)),
            openai: config.openai.as_ref().map(|c| openai::OpenAi::new(c.clone(), concurrency)),
            upstream: upstream::Upstream::new(config.upstream.clone(), config.limits.upstream_response_bytes),
            rate: security::RateLimiter::default(),
            idempotency: idempotency::IdempotencyCache::default(),
            local_gate: Semaphore::new(config.limits.local_concurrency.max(1)),
            config,
        }
    }

    /// The ids of the providers this server offers, `local` first.
    pub fn provider_ids(&self) -> Vec<&'static str> {
        let mut ids = vec![local::ID];
        ids.extend(self.gemini.as_ref().map(|_| gemini::ID));
        ids.extend(self.openai.as_ref().map(|_| openai::ID));
        ids
    }
}

/// The listener to serve [`app`] on: connections with `TCP_NODELAY`. An answer goes out as a
/// few slices (see [`payload`]); with Nagle's algorithm on, the small last one would wait for
/// the client's delayed ACK, 40 ms.
pub fn nodelay(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY: {e}");
        }
    })
}

/// The whole service: the API, the Gemini-compatible endpoint and the static files.
pub fn app(config: Config) -> Router {
    let www = config.www.clone();
    let body_limit = config.limits.body_bytes;
    let state = Arc::new(AppState::new(config));
    let api = Router::new()
        .route("/api/health", get(api::health))
        .route("/api/providers", get(api::providers))
        .route("/api/edit", post(api::edit))
        .route("/api/{*rest}", any(api::not_found))
        .route("/v1beta/models/{action}", post(compat::generate))
        .route("/v1/models/{action}", post(compat::generate))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), security::guard))
        .with_state(state);
    match www {
        Some(dir) => api.fallback_service(statics::service(dir)),
        None => api,
    }
}
