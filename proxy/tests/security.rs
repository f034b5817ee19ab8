//! Abuse is refused with typed errors: origins, tokens, sizes, fake images, references,
//! rate limits.
mod common;

use common::*;
use pixelkeep_proxy::security::{mint, sign, Claims};
use pixelkeep_proxy::{Config, Secret};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

const SECRET: &str = "token-secret-for-tests";

fn with_tokens(mut config: Config) -> Config {
    config.token_secret = Some(Secret::new(SECRET));
    config
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn origins_are_an_exact_allowlist() {
    let mut config = test_config();
    config.allowed_origins = vec!["https://shop.example".into()];
    let url = proxy(config).await;
    let edit = format!("{url}/api/edit");
    let body = edit_body("local", "blur", &png(32, 32));

    let wrong = post_json(&edit, &body, &[("origin", "https://evil.example")]).await;
    assert_eq!((wrong.status, wrong.code()), (403, "forbidden_origin"));
    assert!(wrong.headers.get("access-control-allow-origin").is_none());
    let similar = post_json(&edit, &body, &[("origin", "https://shop.example.evil.example")]).await;
    assert_eq!(similar.status, 403);
    let null = post_json(&edit, &body, &[("origin", "null")]).await;
    assert_eq!((null.status, null.code()), (403, "forbidden_origin"));

    let allowed = post_json(&edit, &body, &[("origin", "https://shop.example")]).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    assert_eq!(allowed.headers["access-control-allow-origin"], "https://shop.example");
    assert!(allowed.headers.get_all("vary").iter().any(|v| v.to_str().unwrap().contains("Origin")));

    // Same origin needs nothing; no Origin at all (curl, a server) is not a browser page.
    let host = url.trim_start_matches("http://");
    assert_eq!(post_json(&edit, &body, &[("origin", &format!("http://{host}"))]).await.status, 200);
    assert_eq!(post_json(&edit, &body, &[]).await.status, 200);

    let preflight = client()
        .request(reqwest::Method::OPTIONS, &edit)
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-pixelkeep-token")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let allow_headers = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_string();
    for h in [
        "content-type",
        "authorization",
        "x-goog-api-key",
        "x-goog-api-client",
        "x-server-timeout",
        "x-pixelkeep-token",
    ] {
        assert!(allow_headers.contains(h), "{h} in {allow_headers}");
    }
    let preflight = client()
        .request(reqwest::Method::OPTIONS, &edit)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 403);
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let url = proxy(with_tokens(test_config())).await;
    let edit = format!("{url}/api/edit");
    let body = edit_body("local", "blur", &png(32, 32));

    let missing = post_json(&edit, &body, &[]).await;
    assert_eq!((missing.status, missing.code()), (401, "unauthorized"));

    let expired = sign(SECRET, &Claims { site: "shop".into(), iat: now() - 1000, exp: now() - 400, providers: vec![] });
    let a = post_json(&edit, &body, &[("authorization", &format!("Bearer {expired}"))]).await;
    assert_eq!(a.code(), "unauthorized");
    assert!(a.json["error"]["message"].as_str().unwrap().contains("expired"));

    let too_long = sign(SECRET, &Claims { site: "shop".into(), iat: now(), exp: now() + 3600, providers: vec![] });
    assert_eq!(post_json(&edit, &body, &[("x-pixelkeep-token", &too_long)]).await.status, 401);

    let forged =
        sign("someone-elses-secret", &Claims { site: "shop".into(), iat: now(), exp: now() + 300, providers: vec![] });
    assert_eq!(post_json(&edit, &body, &[("x-pixelkeep-token", &forged)]).await.status, 401);
    assert_eq!(post_json(&edit, &body, &[("x-pixelkeep-token", "not.a-token")]).await.status, 401);

    // Within the clock skew: expired 30 s ago still passes.
    let skewed = sign(SECRET, &Claims { site: "shop".into(), iat: now() - 330, exp: now() - 30, providers: vec![] });
    assert_eq!(post_json(&edit, &body, &[("x-pixelkeep-token", &skewed)]).await.status, 200);

    let good = mint(SECRET, "shop", &[], 300);
    let ok = post_json(&edit, &body, &[("authorization", &format!("Bearer {good}"))]).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(post_json(&edit, &body, &[("x-pixelkeep-token", &good)]).await.status, 200);

    let gemini_only = mint(SECRET, "shop", &["gemini".into()], 300);
    let refused = post_json(&edit, &body, &[("x-pixelkeep-token", &gemini_only)]).await;
    assert_eq!((refused.status, refused.code()), (401, "unauthorized"));

    // Health stays open for monitoring.
    assert_eq!(client().get(format!("{url}/api/health")).send().await.unwrap().status(), 200);
    assert_eq!(client().get(format!("{url}/api/providers")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn oversized_bodies_are_413_json() {
    let mut config = test_config();
    config.limits.body_bytes = 1 << 20;
    let url = proxy(config).await;
    let body = edit_body("local", "blur", &vec![1u8; 3 << 20]);
    let a = post_json(&format!("{url}/api/edit"), &body, &[]).await;
    assert_eq!((a.status, a.code()), (413, "payload_too_large"));
}

#[tokio::test]
async fn fake_images_and_too_many_references_never_reach_the_provider() {
    let double = Double::start(vec![Scenario::Success]).await;
    let url = proxy(with_gemini(test_config(), &double)).await;
    let edit = format!("{url}/api/edit");

    let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
    fake.extend_from_slice(b"<script>this is not a picture</script>");
    let a = post_json(&edit, &edit_body("gemini", "make it blue", &fake), &[]).await;
    assert_eq!((a.status, a.code()), (400, "invalid_request"));
    let a = post_json(&edit, &edit_body("gemini", "make it blue", b"GIF89a not supported either"), &[]).await;
    assert_eq!((a.status, a.code()), (400, "invalid_request"));

    let mut body = edit_body("gemini", "make it blue", &png(32, 32));
    body["references"] =
        json!((0..3).map(|_| json!({"mime_type": "image/png", "data": b64(&png(8, 8))})).collect::<Vec<_>>());
    let a = post_json(&edit, &body, &[]).await;
    assert_eq!((a.status, a.code()), (400, "invalid_request"));
    assert!(a.json["error"]["message"].as_str().unwrap().contains("at most 1 reference"), "{}", a.text);

    let mut body = edit_body("gemini", "make it blue", &png(32, 32));
    body["references"] = json!([{"mime_type": "image/png", "data": b64(b"nope")}]);
    assert_eq!(post_json(&edit, &body, &[]).await.status, 400);

    let mut config = test_config();
    config.limits.image = pixelkeep::Limits { max_side: 100, max_pixels: 10_000 };
    let small = proxy(with_gemini(config, &double)).await;
    let a = post_json(&format!("{small}/api/edit"), &edit_body("gemini", "make it blue", &png(200, 20)), &[]).await;
    assert_eq!((a.status, a.code()), (413, "payload_too_large"));

    assert_eq!(double.attempts(), 0);
}

#[tokio::test]
async fn rate_limits_per_ip_and_per_site() {
    let double = Double::start(vec![Scenario::Success]).await;
    let mut config = with_gemini(test_config(), &double);
    config.limits.ip_per_min = 3;
    let url = proxy(config).await;
    let edit = format!("{url}/api/edit");
    let body = edit_body("gemini", "make it blue", &png(16, 16));
    for _ in 0..3 {
        assert_eq!(post_json(&edit, &body, &[]).await.status, 200);
    }
    let limited = post_json(&edit, &body, &[]).await;
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"));
    assert!(limited.json["error"]["retry_after_s"].as_u64().unwrap() >= 1);
    assert_eq!(double.attempts(), 3);

    let mut config = with_tokens(with_gemini(test_config(), &double));
    config.limits.site_per_min = 2;
    let url = proxy(config).await;
    let edit = format!("{url}/api/edit");
    let shop = mint(SECRET, "shop", &[], 300);
    let other = mint(SECRET, "other", &[], 300);
    for _ in 0..2 {
        assert_eq!(post_json(&edit, &body, &[("x-pixelkeep-token", &shop)]).await.status, 200);
    }
    assert_eq!(post_json(&edit, &body, &[("x-pixelkeep-token", &shop)]).await.code(), "rate_limited");
    assert_eq!(post_json(&edit, &body, &[("x-pixelkeep-token", &other)]).await.status, 200);
}

#[test]
fn secrets_do_not_print() {
    let config = with_tokens(Config {
        gemini: Some(pixelkeep_proxy::ProviderConfig::new(GEMINI_KEY, "http://x")),
        ..Config::default()
    });
    let printed = format!("{config:?}");
    assert!(!printed.contains(GEMINI_KEY) && !printed.contains(SECRET), "{printed}");
}
