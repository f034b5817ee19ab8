//! Configuration: one plain struct with defaults, filled from flags and environment by `Args`.
use clap::{Args as ClapArgs, Parser, Subcommand};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";
pub const OPENAI_BASE_URL: &str = "https://api.openai.com";

/// A secret (API key, token secret). Its `Debug` never shows the value, so a stray
/// `{:?}` in a log line cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A hosted provider the proxy may call: its key, and the one host it talks to.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub key: Secret,
    /// Scheme and host (and port), no trailing slash; the provider adds the path.
    pub base_url: String,
    /// The default model id; `None` uses the provider's built-in default.
    pub model: Option<String>,
}

impl ProviderConfig {
    pub fn new(key: impl Into<String>, base_url: impl Into<String>) -> Self {
        ProviderConfig {
            key: Secret::new(key),
            base_url: base_url.into().trim_end_matches('/').to_string(),
            model: None,
        }
    }
}

/// Sizes and rates the proxy enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted.
    pub body_bytes: usize,
    /// Largest image accepted (checked from the header, before decoding or forwarding).
    pub image: pixelkeep::Limits,
    /// Largest upstream response read.
    pub upstream_response_bytes: usize,
    /// Edits per minute per embed-token site (hosted providers).
    pub site_per_min: u32,
    /// Edits per minute per client IP (hosted providers).
    pub ip_per_min: u32,
    /// Local-engine edits per minute per client IP (they cost CPU, not money); 0 = unlimited.
    pub local_ip_per_min: u32,
    /// Concurrent upstream calls per hosted provider.
    pub upstream_concurrency: usize,
    /// Concurrent local-engine edits (CPU bound).
    pub local_concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 25 << 20,
            image: pixelkeep::Limits::default(),
            upstream_response_bytes: 64 << 20,
            site_per_min: 10,
            ip_per_min: 20,
            local_ip_per_min: 120,
            upstream_concurrency: 8,
            local_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Timeouts, retries and the circuit breaker for upstream calls.
#[derive(Debug, Clone)]
pub struct UpstreamOptions {
    pub connect_timeout: Duration,
    /// One attempt, from sending to the last body byte.
    pub attempt_timeout: Duration,
    /// The whole call, retries and waits included.
    pub total_timeout: Duration,
    pub max_retries: u32,
    /// Full-jitter backoff bounds.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// A provider-requested wait longer than this is passed back to the client instead.
    pub max_wait: Duration,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        UpstreamOptions {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(150),
            total_timeout: Duration::from_secs(180),
            max_retries: 2,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(8),
            max_wait: Duration::from_secs(20),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub gemini: Option<ProviderConfig>,
    pub openai: Option<ProviderConfig>,
    /// Exact origins allowed to call the API cross-origin (`https://shop.example`).
    pub allowed_origins: Vec<String>,
    /// When set, every API call but health needs an embed token signed with it.
    pub token_secret: Option<Secret>,
    /// Use the last `X-Forwarded-For` address as the client IP (behind a reverse proxy).
    pub trust_forwarded_for: bool,
    /// The directory served at `/`; `None` serves nothing.
    pub www: Option<PathBuf>,
    pub limits: Limits,
    pub upstream: UpstreamOptions,
}

/// `pixelkeep-proxy`: the pixelkeep backend. Keeps provider keys, forwards edits to Gemini or
/// OpenAI, runs the local engine, and serves the widget.
#[derive(Debug, Parser)]
#[command(name = "pixelkeep-proxy", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mint an embed token (for testing; a host site's backend mints its own).
    Token(TokenArgs),
}

#[derive(Debug, ClapArgs)]
pub struct TokenArgs {
    /// The site the token is for (rate limits are counted per site).
    #[arg(long)]
    pub site: String,
    /// Providers the token may use, comma separated; empty = all.
    #[arg(long, value_delimiter = ',')]
    pub providers: Vec<String>,
    /// Lifetime in seconds (at most 600).
    #[arg(long, default_value_t = 600)]
    pub ttl: u64,
    /// The signing secret.
    #[arg(long, env = "PIXELKEEP_TOKEN_SECRET", hide_env_values = true)]
    pub secret: String,
}

#[derive(Debug, ClapArgs)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PIXELKEEP_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Allow a non-loopback address without a token secret (an open proxy spends your keys).
    #[arg(long, env = "PIXELKEEP_PUBLIC", value_parser = parse_flag, default_value = "false", num_args = 0..=1, default_missing_value = "true")]
    pub public: bool,
    /// Directory served at `/` (the widget and demo page).
    #[arg(long, env = "PIXELKEEP_WWW", default_value = "www")]
    pub www: PathBuf,
    /// Gemini API key; enables the `gemini` provider.
    #[arg(long, env = "GEMINI_API_KEY", hide_env_values = true)]
    pub gemini_api_key: Option<String>,
    /// Gemini API host (tests point it at a local double).
    #[arg(long, env = "PIXELKEEP_GEMINI_BASE_URL", default_value = GEMINI_BASE_URL)]
    pub gemini_base_url: String,
    /// Default Gemini model.
    #[arg(long, env = "PIXELKEEP_GEMINI_MODEL")]
    pub gemini_model: Option<String>,
    /// OpenAI API key; enables the `openai` provider.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,
    /// OpenAI API host (tests point it at a local double).
    #[arg(long, env = "PIXELKEEP_OPENAI_BASE_URL", default_value = OPENAI_BASE_URL)]
    pub openai_base_url: String,
    /// Default OpenAI model.
    #[arg(long, env = "PIXELKEEP_OPENAI_MODEL")]
    pub openai_model: Option<String>,
    /// Origins allowed to call the API from other sites, comma separated, exact
    /// (`https://shop.example`). Same-origin pages need nothing.
    #[arg(long, env = "PIXELKEEP_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Secret for embed tokens; when set every API call needs a token.
    #[arg(long, env = "PIXELKEEP_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<String>,
    /// Take the client IP from the last `X-Forwarded-For` entry (only behind a reverse proxy).
    #[arg(long, env = "PIXELKEEP_TRUST_FORWARDED_FOR", value_parser = parse_flag, default_value = "false", num_args = 0..=1, default_missing_value = "true")]
    pub trust_forwarded_for: bool,
    /// Largest request body in bytes.
    #[arg(long, env = "PIXELKEEP_MAX_BODY_BYTES", default_value_t = 25 << 20)]
    pub max_body_bytes: usize,
    /// Largest image side in pixels.
    #[arg(long, env = "PIXELKEEP_MAX_IMAGE_SIDE", default_value_t = 12_000)]
    pub max_image_side: u32,
    /// Largest image in pixels.
    #[arg(long, env = "PIXELKEEP_MAX_IMAGE_PIXELS", default_value_t = 60_000_000)]
    pub max_image_pixels: u64,
    /// Largest upstream response in bytes.
    #[arg(long, env = "PIXELKEEP_MAX_UPSTREAM_BYTES", default_value_t = 64 << 20)]
    pub max_upstream_bytes: usize,
    /// Hosted-provider edits per minute per token site.
    #[arg(long, env = "PIXELKEEP_RATE_PER_SITE", default_value_t = 10)]
    pub rate_per_site: u32,
    /// Hosted-provider edits per minute per client IP.
    #[arg(long, env = "PIXELKEEP_RATE_PER_IP", default_value_t = 20)]
    pub rate_per_ip: u32,
    /// Local-engine edits per minute per client IP (0 = unlimited).
    #[arg(long, env = "PIXELKEEP_LOCAL_RATE_PER_IP", default_value_t = 120)]
    pub local_rate_per_ip: u32,
    /// Concurrent upstream calls per hosted provider.
    #[arg(long, env = "PIXELKEEP_UPSTREAM_CONCURRENCY", default_value_t = 8)]
    pub upstream_concurrency: usize,
    /// Upstream connect timeout, seconds.
    #[arg(long, env = "PIXELKEEP_CONNECT_TIMEOUT_S", default_value_t = 5.0)]
    pub connect_timeout_s: f64,
    /// One upstream attempt, seconds.
    #[arg(long, env = "PIXELKEEP_ATTEMPT_TIMEOUT_S", default_value_t = 150.0)]
    pub attempt_timeout_s: f64,
    /// A whole upstream call with retries, seconds.
    #[arg(long, env = "PIXELKEEP_TOTAL_TIMEOUT_S", default_value_t = 180.0)]
    pub total_timeout_s: f64,
    /// Upstream retries (429, 5xx, connection failures).
    #[arg(long, env = "PIXELKEEP_MAX_RETRIES", default_value_t = 2)]
    pub max_retries: u32,
}

fn parse_flag(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!("expected 1/0 or true/false, got {other:?}")),
    }
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.001))
}

impl ServeArgs {
    pub fn into_config(self) -> Config {
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let provider = |key: Option<String>, base: String, model: Option<String>| {
            nonempty(key).map(|k| ProviderConfig { model: nonempty(model), ..ProviderConfig::new(k, base) })
        };
        Config {
            gemini: provider(self.gemini_api_key, self.gemini_base_url, self.gemini_model),
            openai: provider(self.openai_api_key, self.openai_base_url, self.openai_model),
            allowed_origins: self
                .allowed_origins
                .into_iter()
                .map(|o| o.trim().trim_end_matches('/').to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            token_secret: nonempty(self.token_secret).map(Secret::new),
            trust_forwarded_for: self.trust_forwarded_for,
            www: Some(self.www),
            limits: Limits {
                body_bytes: self.max_body_bytes,
                image: pixelkeep::Limits { max_side: self.max_image_side, max_pixels: self.max_image_pixels },
                upstream_response_bytes: self.max_upstream_bytes,
                site_per_min: self.rate_per_site,
                ip_per_min: self.rate_per_ip,
                local_ip_per_min: self.local_rate_per_ip,
                upstream_concurrency: self.upstream_concurrency.max(1),
                ..Limits::default()
            },
            upstream: UpstreamOptions {
                connect_timeout: seconds(self.connect_timeout_s),
                attempt_timeout: seconds(self.attempt_timeout_s),
                total_timeout: seconds(self.total_timeout_s),
                max_retries: self.max_retries,
                ..UpstreamOptions::default()
            },
        }
    }
}
