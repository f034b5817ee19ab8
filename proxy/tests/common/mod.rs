//! Shared test helpers: fixtures, a proxy on a loopback socket, and scripted doubles of the
//! Gemini and OpenAI APIs that count attempts and record what reached them.
#![allow(dead_code)]
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use pixelkeep::{Mask, MaskConvention, Shape, Size};
use pixelkeep_proxy::{Config, ProviderConfig, UpstreamOptions};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub const GEMINI_KEY: &str = "test-gemini-key-7f3a9";
pub const OPENAI_KEY: &str = "sk-test-openai-key-51c2";

pub fn coffee() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/coffee.png")).expect("the coffee fixture")
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).expect("base64")
}

/// A small valid PNG of `w` x `h`.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i % 251) as u8).collect();
    pixelkeep::encode_png(&rgba, Size::new(w, h).unwrap()).unwrap()
}

/// A white-edit mask PNG with one rectangle marked.
pub fn rect_mask(size: Size, x: f32, y: f32, width: f32, height: f32) -> (Mask, Vec<u8>) {
    let mut mask = Mask::new(size);
    mask.paint(&Shape::Rect { x, y, width, height }, false).unwrap();
    let png = mask.to_png(MaskConvention::WhiteEdit).unwrap();
    (mask, png)
}

/// Upstream timings small enough for tests.
pub fn fast_upstream() -> UpstreamOptions {
    UpstreamOptions {
        connect_timeout: Duration::from_millis(500),
        attempt_timeout: Duration::from_millis(1500),
        total_timeout: Duration::from_secs(6),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        max_wait: Duration::from_secs(3),
        ..UpstreamOptions::default()
    }
}

pub fn test_config() -> Config {
    let mut config = Config { upstream: fast_upstream(), ..Config::default() };
    config.limits.upstream_response_bytes = 1 << 20;
    config.limits.site_per_min = 1000;
    config.limits.ip_per_min = 1000;
    config
}

pub fn with_gemini(mut config: Config, double: &Double) -> Config {
    config.gemini = Some(ProviderConfig::new(GEMINI_KEY, double.url()));
    config
}

pub fn with_openai(mut config: Config, double: &Double) -> Config {
    config.openai = Some(ProviderConfig::new(OPENAI_KEY, double.url()));
    config
}

/// Serves `router` on 127.0.0.1 with client addresses, as `main` does.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    addr
}

pub async fn proxy(config: Config) -> String {
    format!("http://{}", serve(pixelkeep_proxy::app(config)).await)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// What a client got back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
    /// The key appears nowhere in what the client received.
    pub fn assert_no_secret(&self) {
        for key in [GEMINI_KEY, OPENAI_KEY] {
            assert!(!self.text.contains(key), "key leaked in the body: {}", self.text);
            for (name, value) in &self.headers {
                assert!(!value.to_str().unwrap_or("").contains(key), "key leaked in header {name}");
            }
        }
    }
}

pub async fn post_json(url: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
    let mut request = client().post(url).json(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    answer(request.send().await.unwrap()).await
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, headers, text, json }
}

pub fn edit_body(provider: &str, instruction: &str, image: &[u8]) -> Value {
    json!({"provider": provider, "instruction": instruction, "keep": ["the cup"], "image": {"mime_type": "image/png", "data": b64(image)}})
}

/// What the double answers to one attempt.
#[derive(Debug, Clone)]
pub enum Scenario {
    Success,
    /// Thought text and a draft image before the final image.
    ThoughtsThenImage,
    NoImage,
    /// `finishReason` on the candidate (`IMAGE_SAFETY`, `NO_IMAGE`, ...), no image.
    Finish(&'static str),
    BlockedPrompt,
    /// A status with the provider's JSON error body.
    Status(u16),
    RetryAfterSeconds(u64),
    RetryAfterDate(u64),
    RetryInfo(u64),
    /// The OpenAI moderation error.
    Moderation,
    Hang,
    SlowDrip,
    Truncated,
    MalformedJson,
    Oversized(usize),
    Redirect,
    /// Success after a delay (for concurrency and idempotency).
    Slow(Duration),
}

/// One request as the double saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct Double {
    pub addr: SocketAddr,
    inner: Arc<DoubleState>,
}

struct DoubleState {
    script: Vec<Scenario>,
    seen: Mutex<Vec<Seen>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// The final image the double answers with.
    image: Vec<u8>,
}

impl Double {
    /// Attempt `i` gets `script[i]`, the last entry repeating.
    pub async fn start(script: Vec<Scenario>) -> Double {
        let inner = Arc::new(DoubleState {
            script,
            seen: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            image: png(48, 32),
        });
        let router = Router::new().fallback(handle).with_state(inner.clone());
        let addr = serve(router).await;
        Double { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn attempts(&self) -> usize {
        self.inner.seen.lock().unwrap().len()
    }
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().unwrap().clone()
    }
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }
    pub fn image(&self) -> &[u8] {
        &self.inner.image
    }

    /// Every attempt carried `key` in exactly the provider's header, and nowhere else.
    pub fn assert_key_only_in(&self, header: &str, expected_value: &str, key: &str) {
        let seen = self.seen();
        assert!(!seen.is_empty(), "no attempt reached the double");
        for s in seen {
            assert_eq!(
                s.headers.get(header).and_then(|v| v.to_str().ok()),
                Some(expected_value),
                "key header on {}",
                s.path
            );
            for (name, value) in &s.headers {
                if name.as_str() != header {
                    assert!(!value.to_str().unwrap_or("").contains(key), "key in header {name}");
                }
            }
            assert!(!s.path.contains(key), "key in the URL");
            assert!(!String::from_utf8_lossy(&s.body).contains(key), "key in the body");
        }
    }
}

struct InFlight<'a>(&'a DoubleState);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(State(state): State<Arc<DoubleState>>, request: axum::extract::Request) -> Response {
    let path = request.uri().path().to_string();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 64 << 20).await.unwrap_or_default();
    let index = {
        let mut seen = state.seen.lock().unwrap();
        seen.push(Seen { path: path.clone(), headers, body });
        seen.len() - 1
    };
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(&state);
    let scenario = state.script[index.min(state.script.len() - 1)].clone();
    let openai = path.contains("/images/");
    respond(&state, scenario, openai).await
}

fn gemini_image(parts: Vec<Value>, finish: &str) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
        "usageMetadata": {"promptTokenCount": 1000, "candidatesTokenCount": 1290, "totalTokenCount": 2290},
        "modelVersion": "gemini-2.5-flash-image",
    })
}

fn error_body(openai: bool, status: u16, message: &str) -> Value {
    if openai {
        json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}})
    } else {
        json!({"error": {"code": status, "message": message, "status": "UNAVAILABLE"}})
    }
}

fn json_response(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

async fn respond(state: &DoubleState, scenario: Scenario, openai: bool) -> Response {
    let image = b64(&state.image);
    let success = || {
        if openai {
            json_response(200, json!({"created": 1, "data": [{"b64_json": image}], "usage": {"total_tokens": 4210}}))
        } else {
            json_response(
                200,
                gemini_image(
                    vec![
                        json!({"text": "Here is your edit."}),
                        json!({"inlineData": {"mimeType": "image/png", "data": image}}),
                    ],
                    "STOP",
                ),
            )
        }
    };
    match scenario {
        Scenario::Success => success(),
        Scenario::Slow(d) => {
            tokio::time::sleep(d).await;
            success()
        }
        Scenario::ThoughtsThenImage => json_response(
            200,
            gemini_image(
                vec![
                    json!({"text": "Planning the edit", "thought": true}),
                    json!({"inlineData": {"mimeType": "image/png", "data": b64(&png(8, 8))}, "thought": true}),
                    json!({"text": "Here it is.", "thoughtSignature": "sig-a"}),
                    json!({"inlineData": {"mimeType": "image/png", "data": image}, "thoughtSignature": "sig-b"}),
                ],
                "STOP",
            ),
        ),
        Scenario::NoImage => {
            json_response(200, gemini_image(vec![json!({"text": "I cannot draw that, but here is a poem."})], "STOP"))
        }
        Scenario::Finish(reason) => json_response(200, gemini_image(vec![json!({"text": "Sorry."})], reason)),
        Scenario::BlockedPrompt => json_response(
            200,
            json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "The prompt was blocked."}}),
        ),
        Scenario::Status(status) => {
            json_response(status, error_body(openai, status, "The model is overloaded. Please try again later."))
        }
        Scenario::RetryAfterSeconds(s) => {
            let mut r = json_response(429, error_body(openai, 429, "Too many requests."));
            r.headers_mut().insert("retry-after", s.into());
            r
        }
        Scenario::RetryAfterDate(s) => {
            let mut r = json_response(429, error_body(openai, 429, "Too many requests."));
            let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(s));
            r.headers_mut().insert("retry-after", date.parse().unwrap());
            r
        }
        Scenario::RetryInfo(s) => json_response(
            429,
            json!({"error": {"code": 429, "message": "You exceeded your current quota.", "status": "RESOURCE_EXHAUSTED", "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{s}s")}]}}),
        ),
        Scenario::Moderation => json_response(
            400,
            json!({"error": {"message": "Your request was rejected by the safety system.", "type": "image_generation_user_error",
                "param": null, "code": "moderation_blocked", "moderation_details": {"moderation_stage": "input", "categories": ["violence"]}}}),
        ),
        Scenario::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            success()
        }
        Scenario::SlowDrip => {
            let drip = futures_util::stream::unfold(0u32, |i| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                (i < 100).then(|| (Ok::<_, std::io::Error>(Bytes::from_static(b" ")), i + 1))
            });
            Response::builder().header("content-type", "application/json").body(Body::from_stream(drip)).unwrap()
        }
        Scenario::Truncated => {
            let parts: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(Bytes::from_static(b"{\"candidates\": [{\"content\"")), Err(std::io::Error::other("cut"))];
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(futures_util::stream::iter(parts)))
                .unwrap()
        }
        Scenario::MalformedJson => Response::builder()
            .header("content-type", "application/json")
            .body(Body::from("{\"candidates\": ["))
            .unwrap(),
        Scenario::Oversized(n) => {
            let mut body = b"{\"pad\": \"".to_vec();
            body.resize(n, b'a');
            body.extend_from_slice(b"\"}");
            Response::builder().header("content-type", "application/json").body(Body::from(body)).unwrap()
        }
        Scenario::Redirect => {
            Response::builder().status(307).header("location", "/elsewhere").body(Body::empty()).unwrap()
        }
    }
}

/// The fields of a multipart body, crudely parsed: (name, content type, bytes).
pub fn multipart_fields(content_type: &str, body: &[u8]) -> Vec<(String, Option<String>, Vec<u8>)> {
    let boundary = content_type.split("boundary=").nth(1).expect("a boundary").trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let mut fields = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, &delimiter) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(end) = find(rest, &delimiter) else { break };
        let part = &rest[..end];
        let split = find(part, b"\r\n\r\n").expect("part headers");
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let content = part[split + 4..part.len() - 2].to_vec();
        let name = head.split("name=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_string();
        let ctype = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string()));
        fields.push((name, ctype, content));
    }
    fields
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
