//! The proxy's own overhead: p50/p99 latency and throughput of a 2 MB edit through the proxy
//! against an instant Gemini double, compared with sending the same generateContent request
//! to the double directly. Open loop at a fixed rate on loopback; the proxy runs on its own
//! runtime, as it would in its own process.
//!
//!     cargo run --release -p pixelkeep-proxy --example overhead -- bench/proxy-overhead.json
//!
//! Environment: PIXELKEEP_BENCH_RPS (default 100), PIXELKEEP_BENCH_SECONDS (default 10).
//! Writes flat named figures as JSON to the path given (default `proxy-overhead.json`).
use axum::body::Bytes;
use axum::routing::post;
use axum::Router;
use base64::Engine;
use pixelkeep::wire::{EditRequest, InlineImage};
use pixelkeep::Size;
use pixelkeep_proxy::payload::Base64;
use pixelkeep_proxy::{app, nodelay, Config, ProviderConfig};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TARGET_BYTES: usize = 2 << 20;

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A PNG of about 2 MB: noise does not compress, so its size is set by its pixels.
fn two_megabyte_png() -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(7);
    let side = ((TARGET_BYTES / 4) as f64).sqrt() as u32;
    let rgba: Vec<u8> = (0..side * side).flat_map(|_| [rng.u8(..), rng.u8(..), rng.u8(..), 255]).collect();
    pixelkeep::encode_png(&rgba, Size::new(side, side).unwrap()).unwrap()
}

struct Stats {
    latencies_ms: Vec<f64>,
    errors: usize,
    elapsed: Duration,
}

impl Stats {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return f64::NAN;
        }
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
    }
    fn throughput(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends `body` to `url` at `rate` per second for `seconds`, each request on its own task.
async fn open_loop(client: &reqwest::Client, url: &str, body: &Bytes, rate: f64, seconds: f64) -> Stats {
    let count = (rate * seconds).round() as usize;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        ticker.tick().await;
        let (client, url, body) = (client.clone(), url.to_string(), body.clone());
        tasks.push(tokio::spawn(async move { one(&client, &url, body).await }));
    }
    let mut stats = Stats { latencies_ms: Vec::with_capacity(count), errors: 0, elapsed: Duration::ZERO };
    for task in tasks {
        match task.await {
            Ok(Some(ms)) => stats.latencies_ms.push(ms),
            _ => stats.errors += 1,
        }
    }
    stats.elapsed = started.elapsed();
    stats
}

/// As many requests as `workers` sequential clients complete in `seconds`.
async fn closed_loop(client: &reqwest::Client, url: &str, body: &Bytes, workers: usize, seconds: f64) -> Stats {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_string(), body.clone());
            tokio::spawn(async move {
                let mut out = (Vec::new(), 0);
                while Instant::now() < until {
                    match one(&client, &url, body.clone()).await {
                        Some(ms) => out.0.push(ms),
                        None => out.1 += 1,
                    }
                }
                out
            })
        })
        .collect();
    let mut stats = Stats { latencies_ms: Vec::new(), errors: 0, elapsed: Duration::ZERO };
    for task in tasks {
        let (latencies, errors) = task.await.unwrap_or_default();
        stats.latencies_ms.extend(latencies);
        stats.errors += errors;
    }
    stats.elapsed = started.elapsed();
    stats
}

/// One request, read to the end; its latency in ms, or `None` on any failure.
async fn one(client: &reqwest::Client, url: &str, body: Bytes) -> Option<f64> {
    let started = Instant::now();
    let result = async {
        let response = client.post(url).header("content-type", "application/json").body(body).send().await?;
        let status = response.status();
        Ok::<_, reqwest::Error>((status, response.bytes().await?))
    };
    match result.await {
        Ok((status, bytes)) if status.is_success() && bytes.len() > 1000 => {
            Some(started.elapsed().as_secs_f64() * 1000.0)
        }
        Ok((status, bytes)) => {
            eprintln!("overhead: {url} answered {status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(300)]));
            None
        }
        Err(e) => {
            eprintln!("overhead: {url}: {e}");
            None
        }
    }
}

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "proxy-overhead.json".into());
    let rate = env_number("PIXELKEEP_BENCH_RPS", 100.0);
    let seconds = env_number("PIXELKEEP_BENCH_SECONDS", 10.0);
    let image = two_megabyte_png();
    let image_b64 = base64::engine::general_purpose::STANDARD.encode(&image);

    // The instant upstream: answers every request with a ready Gemini response carrying a
    // 2 MB image, after reading the request body.
    let answer = Bytes::from(
        serde_json::to_vec(&json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "Here is your edit."},
                {"inlineData": {"mimeType": "image/png", "data": image_b64}}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 1290, "candidatesTokenCount": 1290, "totalTokenCount": 2580},
        }))
        .unwrap(),
    );
    let client_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let double_addr: SocketAddr = client_rt.block_on(async {
        let answer = Arc::new(answer);
        let double = Router::new()
            .fallback(post(move |_body: Bytes| {
                let answer = answer.clone();
                async move { ([("content-type", "application/json")], (*answer).clone()) }
            }))
            .layer(axum::extract::DefaultBodyLimit::disable());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, double).await.unwrap() });
        addr
    });

    // The proxy, on its own runtime and threads, served as `main.rs` serves it.
    let mut config =
        Config { gemini: Some(ProviderConfig::new("bench-key", format!("http://{double_addr}"))), ..Config::default() };
    config.limits.ip_per_min = 0;
    config.limits.site_per_min = 0;
    config.limits.upstream_concurrency = 256;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let service = app(config).into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(nodelay(listener), service).await.unwrap();
        });
    });
    let proxy_addr = rx.recv().unwrap();

    let edit = EditRequest {
        provider: "gemini".into(),
        model: None,
        instruction: "make the cup navy blue".into(),
        keep: vec!["the saucer".into()],
        image: InlineImage {
            mime_type: "image/png".into(),
            data: base64::engine::general_purpose::STANDARD.encode(&image),
        },
        mask: None,
        bbox: pixelkeep::NormBox::new(200, 150, 600, 700),
        references: vec![],
        output: None,
        grounding: false,
        client_request_id: None,
    };
    let edit_body = Bytes::from(serde_json::to_vec(&edit).unwrap());
    // The request the proxy itself would send upstream, sent directly.
    let profile = pixelkeep_proxy::gemini::profile(None);
    let (model, limits) = (profile.model(None).unwrap(), pixelkeep::Limits::default());
    let direct = pixelkeep_proxy::gemini::build_request(&edit.clone().map_data(Base64::from), model, &limits).unwrap();
    let direct_body = Bytes::from(direct.to_vec());
    let direct_url = format!("http://{double_addr}/v1beta/models/gemini-2.5-flash-image:generateContent");
    let proxy_url = format!("http://{proxy_addr}/api/edit");

    let figures = client_rt.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
        // Warm up connections and caches on both paths.
        open_loop(&client, &direct_url, &direct_body, rate, 0.5).await;
        open_loop(&client, &proxy_url, &edit_body, rate, 0.5).await;
        let direct = open_loop(&client, &direct_url, &direct_body, rate, seconds).await;
        let proxied = open_loop(&client, &proxy_url, &edit_body, rate, seconds).await;
        let max = closed_loop(&client, &proxy_url, &edit_body, 4, seconds.min(5.0)).await;
        let round = |v: f64| (v * 100.0).round() / 100.0;
        json!({
            "proxy_overhead_p50_ms": round((proxied.percentile(0.5) - direct.percentile(0.5)).max(0.0)),
            "proxy_overhead_p99_ms": round((proxied.percentile(0.99) - direct.percentile(0.99)).max(0.0)),
            "proxy_p50_ms": round(proxied.percentile(0.5)),
            "proxy_p99_ms": round(proxied.percentile(0.99)),
            "proxy_direct_p50_ms": round(direct.percentile(0.5)),
            "proxy_direct_p99_ms": round(direct.percentile(0.99)),
            "proxy_throughput_rps": round(proxied.throughput()),
            "proxy_max_throughput_rps": round(max.throughput()),
            "proxy_offered_rps": rate,
            "proxy_request_bytes": edit_body.len(),
            "proxy_image_bytes": image.len(),
            "proxy_errors": proxied.errors + max.errors,
            "proxy_direct_errors": direct.errors,
        })
    });
    let text = serde_json::to_string_pretty(&figures).unwrap();
    println!("{text}");
    if let Err(e) = std::fs::write(&out, text + "\n") {
        eprintln!("cannot write {out}: {e}");
        std::process::exit(1);
    }
    // The servers run on background threads; leave without waiting for them.
    std::process::exit(0);
}
