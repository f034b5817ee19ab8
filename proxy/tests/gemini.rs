//! The `gemini` provider against a scripted double on loopback: every scenario asserts the
//! number of upstream attempts, what the client got, and where the key went.
mod common;

use common::*;
use pixelkeep_proxy::Config;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

struct Run {
    answer: Answer,
    double: Double,
    elapsed: Duration,
}

async fn run_with(script: Vec<Scenario>, config: impl FnOnce(Config) -> Config, body: Value) -> Run {
    let double = Double::start(script).await;
    let url = proxy(config(with_gemini(test_config(), &double))).await;
    let started = Instant::now();
    let answer = post_json(&format!("{url}/api/edit"), &body, &[]).await;
    let elapsed = started.elapsed();
    answer.assert_no_secret();
    if double.attempts() > 0 {
        double.assert_key_only_in("x-goog-api-key", GEMINI_KEY, GEMINI_KEY);
    }
    Run { answer, double, elapsed }
}

async fn run(script: Vec<Scenario>) -> Run {
    run_with(script, |c| c, edit_body("gemini", "make the cup blue", &coffee())).await
}

#[tokio::test]
async fn success_sends_the_documented_request() {
    let mut body = edit_body("gemini", "make the cup blue", &coffee());
    body["box"] = json!([200, 150, 600, 700]);
    body["mask"] = json!({"mime_type": "image/png", "data": b64(&rect_mask(pixelkeep::Size::new(600, 400).unwrap(), 10.0, 10.0, 50.0, 50.0).1)});
    body["output"] = json!({"aspect_ratio": "3:2", "size": "1K"});
    body["grounding"] = json!(true);
    let r = run_with(vec![Scenario::Success], |c| c, body).await;
    assert_eq!(r.answer.status, 200, "{}", r.answer.text);
    assert_eq!(r.double.attempts(), 1);
    assert_eq!(unb64(r.answer.json["image"]["data"].as_str().unwrap()), r.double.image());
    assert_eq!(r.answer.json["provider"], "gemini");
    assert_eq!(r.answer.json["model"], "gemini-2.5-flash-image");
    assert_eq!(r.answer.json["finish_reason"], "STOP");
    assert_eq!(r.answer.json["text"], "Here is your edit.");
    assert_eq!(r.answer.json["usage"]["totalTokenCount"], 2290);

    let seen = &r.double.seen()[0];
    assert_eq!(seen.path, "/v1beta/models/gemini-2.5-flash-image:generateContent");
    let sent: Value = serde_json::from_slice(&seen.body).unwrap();
    let parts = sent["contents"][0]["parts"].as_array().unwrap();
    let prompt = parts[0]["text"].as_str().unwrap();
    assert!(prompt.starts_with("Keep the cup unchanged"), "{prompt}");
    assert!(prompt.contains("[200, 150, 600, 700]") && prompt.contains("make the cup blue"), "{prompt}");
    assert_eq!(parts[1]["inlineData"]["mimeType"], "image/png");
    assert_eq!(unb64(parts[1]["inlineData"]["data"].as_str().unwrap()), coffee());
    assert!(parts[2]["text"].as_str().unwrap().contains("mask"));
    assert!(parts[3]["inlineData"].is_object());
    assert_eq!(sent["generationConfig"]["responseModalities"], json!(["TEXT", "IMAGE"]));
    // 2.5 Flash Image has no imageSize.
    assert_eq!(sent["generationConfig"]["imageConfig"], json!({"aspectRatio": "3:2"}));
    assert_eq!(sent["tools"], json!([{"googleSearch": {}}]));
}

#[tokio::test]
async fn image_size_is_sent_for_the_3_models() {
    let mut body = edit_body("gemini", "make the cup blue", &coffee());
    body["model"] = json!("gemini-3-pro-image");
    body["output"] = json!({"aspect_ratio": "16:9", "size": "2K"});
    let r = run_with(vec![Scenario::Success], |c| c, body).await;
    assert_eq!(r.answer.status, 200, "{}", r.answer.text);
    let seen = &r.double.seen()[0];
    assert_eq!(seen.path, "/v1beta/models/gemini-3-pro-image:generateContent");
    let sent: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(sent["generationConfig"]["imageConfig"], json!({"aspectRatio": "16:9", "imageSize": "2K"}));
}

#[tokio::test]
async fn the_final_image_is_the_last_non_thought_part() {
    let r = run(vec![Scenario::ThoughtsThenImage]).await;
    assert_eq!(r.answer.status, 200, "{}", r.answer.text);
    assert_eq!(r.double.attempts(), 1);
    assert_eq!(unb64(r.answer.json["image"]["data"].as_str().unwrap()), r.double.image());
    assert_eq!(r.answer.json["text"], "Here it is.");
}

#[tokio::test]
async fn no_image_carries_the_models_text() {
    let r = run(vec![Scenario::NoImage]).await;
    assert_eq!((r.answer.status, r.answer.code()), (502, "no_image"));
    assert!(r.answer.json["error"]["message"].as_str().unwrap().contains("here is a poem"), "{}", r.answer.text);
    assert_eq!(r.double.attempts(), 1);
    let r = run(vec![Scenario::Finish("NO_IMAGE")]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (502, "no_image", 1));
}

#[tokio::test]
async fn safety_blocks_are_typed() {
    for reason in ["IMAGE_SAFETY", "SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_PROHIBITED_CONTENT"] {
        let r = run(vec![Scenario::Finish(reason)]).await;
        assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (422, "safety_blocked", 1), "{reason}");
        assert!(r.answer.json["error"]["message"].as_str().unwrap().contains(reason));
    }
    let r = run(vec![Scenario::BlockedPrompt]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (422, "safety_blocked", 1));
    assert!(r.answer.json["error"]["message"].as_str().unwrap().contains("PROHIBITED_CONTENT"));
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let r = run(vec![Scenario::Status(400)]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (502, "upstream_error", 1));
    assert!(
        r.answer.json["error"]["message"].as_str().unwrap().contains("overloaded"),
        "the provider's words help: {}",
        r.answer.text
    );
}

#[tokio::test]
async fn server_errors_are_retried_twice() {
    let r = run(vec![Scenario::Status(503)]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (503, "upstream_unavailable", 3));
    let r = run(vec![Scenario::Status(500)]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (502, "upstream_error", 3));
    let r = run(vec![Scenario::Status(500), Scenario::Status(503), Scenario::Success]).await;
    assert_eq!((r.answer.status, r.double.attempts()), (200, 3));
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let r = run(vec![Scenario::RetryAfterSeconds(1), Scenario::Success]).await;
    assert_eq!((r.answer.status, r.double.attempts()), (200, 2));
    assert!(r.elapsed >= Duration::from_millis(950), "waited {:?}", r.elapsed);
}

#[tokio::test]
async fn a_long_retry_after_is_passed_back() {
    let r = run(vec![Scenario::RetryAfterSeconds(30)]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (429, "rate_limited", 1));
    assert_eq!(r.answer.json["error"]["retry_after_s"], 30);
    assert_eq!(r.answer.headers["retry-after"], "30");
}

#[tokio::test]
async fn retry_after_as_a_date() {
    let r = run(vec![Scenario::RetryAfterDate(2), Scenario::Success]).await;
    assert_eq!((r.answer.status, r.double.attempts()), (200, 2));
    let r = run(vec![Scenario::RetryAfterDate(120)]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (429, "rate_limited", 1));
    let wait = r.answer.json["error"]["retry_after_s"].as_u64().unwrap();
    assert!((118..=120).contains(&wait), "{wait}");
}

#[tokio::test]
async fn retry_info_is_honoured() {
    let r = run(vec![Scenario::RetryInfo(1), Scenario::Success]).await;
    assert_eq!((r.answer.status, r.double.attempts()), (200, 2));
    assert!(r.elapsed >= Duration::from_millis(950));
    let r = run(vec![Scenario::RetryInfo(26)]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (429, "rate_limited", 1));
    assert_eq!(r.answer.json["error"]["retry_after_s"], 26);
}

#[tokio::test]
async fn a_429_without_a_wait_is_retried_with_jitter() {
    let r = run(vec![Scenario::Status(429)]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (429, "rate_limited", 3));
}

#[tokio::test]
async fn a_hang_times_out_without_a_retry() {
    let r = run(vec![Scenario::Hang]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (504, "timeout", 1));
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
}

#[tokio::test]
async fn a_slow_drip_times_out_without_a_retry() {
    let r = run(vec![Scenario::SlowDrip]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (504, "timeout", 1));
}

#[tokio::test]
async fn a_truncated_body_is_an_upstream_error() {
    let r = run(vec![Scenario::Truncated]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (502, "upstream_error", 1));
}

#[tokio::test]
async fn malformed_json_is_an_upstream_error() {
    let r = run(vec![Scenario::MalformedJson]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (502, "upstream_error", 1));
}

#[tokio::test]
async fn an_oversized_answer_is_cut_off() {
    let r = run(vec![Scenario::Oversized(2 << 20)]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (502, "upstream_error", 1));
    assert!(r.answer.json["error"]["message"].as_str().unwrap().contains("larger"));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let r = run(vec![Scenario::Redirect]).await;
    assert_eq!((r.answer.status, r.answer.code(), r.double.attempts()), (502, "upstream_error", 1));
    assert!(r.double.seen().iter().all(|s| s.path != "/elsewhere"));
}

#[tokio::test]
async fn an_unreachable_host_is_retried_then_unavailable() {
    // A port nothing listens on: connection refused, safe to retry.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut config = test_config();
    config.gemini = Some(pixelkeep_proxy::ProviderConfig::new(GEMINI_KEY, format!("http://{closed}")));
    let url = proxy(config).await;
    let answer = post_json(&format!("{url}/api/edit"), &edit_body("gemini", "make it blue", &coffee()), &[]).await;
    assert_eq!((answer.status, answer.code()), (503, "upstream_unavailable"));
    answer.assert_no_secret();
}

#[tokio::test]
async fn the_breaker_opens_after_five_failures() {
    let double = Double::start(vec![Scenario::Status(500)]).await;
    let mut config = with_gemini(test_config(), &double);
    config.upstream.max_retries = 0;
    let url = proxy(config).await;
    let body = edit_body("gemini", "make it blue", &png(16, 16));
    for _ in 0..5 {
        let a = post_json(&format!("{url}/api/edit"), &body, &[]).await;
        assert_eq!(a.code(), "upstream_error");
    }
    assert_eq!(double.attempts(), 5);
    let started = Instant::now();
    let a = post_json(&format!("{url}/api/edit"), &body, &[]).await;
    assert_eq!((a.status, a.code()), (503, "upstream_unavailable"));
    assert!(a.json["error"]["retry_after_s"].as_u64().unwrap() > 0);
    assert_eq!(double.attempts(), 5, "an open breaker does not call upstream");
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn concurrency_per_provider_is_capped() {
    let double = Double::start(vec![Scenario::Slow(Duration::from_millis(150))]).await;
    let mut config = with_gemini(test_config(), &double);
    config.limits.upstream_concurrency = 2;
    let url = proxy(config).await;
    let body = edit_body("gemini", "make it blue", &png(16, 16));
    let edit = format!("{url}/api/edit");
    let calls = (0..5).map(|_| post_json(&edit, &body, &[]));
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(|a| a.status == 200));
    assert_eq!((double.attempts(), double.max_in_flight()), (5, 2));
}

#[tokio::test]
async fn a_repeated_client_request_id_is_answered_once() {
    let double = Double::start(vec![Scenario::Slow(Duration::from_millis(200))]).await;
    let url = proxy(with_gemini(test_config(), &double)).await;
    let mut body = edit_body("gemini", "make it blue", &png(16, 16));
    body["client_request_id"] = json!("round-1-abc");
    let edit = format!("{url}/api/edit");
    // A retry while the first is still running waits for it; a later one gets the stored result.
    let (a, b) = tokio::join!(post_json(&edit, &body, &[]), post_json(&edit, &body, &[]));
    let c = post_json(&edit, &body, &[]).await;
    assert!([&a, &b, &c].iter().all(|x| x.status == 200));
    assert_eq!(a.json["image"], c.json["image"]);
    assert_eq!(double.attempts(), 1);
    body["instruction"] = json!("make it green");
    let d = post_json(&edit, &body, &[]).await;
    assert_eq!((d.status, d.code()), (400, "invalid_request"));
    body["client_request_id"] = json!("round-2");
    assert_eq!(post_json(&edit, &body, &[]).await.status, 200);
    assert_eq!(double.attempts(), 2);
}

#[tokio::test]
async fn unknown_models_and_ratios_are_refused_before_calling() {
    let mut body = edit_body("gemini", "make it blue", &coffee());
    body["model"] = json!("gemini-1.0-pro");
    let r = run_with(vec![Scenario::Success], |c| c, body).await;
    assert_eq!((r.answer.status, r.double.attempts()), (400, 0));
    let mut body = edit_body("gemini", "make it blue", &coffee());
    body["output"] = json!({"aspect_ratio": "7:3"});
    let r = run_with(vec![Scenario::Success], |c| c, body).await;
    assert_eq!((r.answer.status, r.double.attempts()), (400, 0));
    assert!(r.answer.json["error"]["message"].as_str().unwrap().contains("16:9"));
}
