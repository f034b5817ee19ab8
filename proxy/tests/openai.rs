//! The `openai` provider against a scripted double on loopback.
mod common;

use common::*;
use pixelkeep::{Limits, Size};
use serde_json::json;

async fn run(script: Vec<Scenario>, body: serde_json::Value) -> (Answer, Double) {
    let double = Double::start(script).await;
    let url = proxy(with_openai(test_config(), &double)).await;
    let answer =
        post_json(&format!("{url}/api/edit"), &body, &[("authorization", "Bearer client-token-not-for-upstream")])
            .await;
    answer.assert_no_secret();
    if double.attempts() > 0 {
        double.assert_key_only_in("authorization", &format!("Bearer {OPENAI_KEY}"), OPENAI_KEY);
    }
    (answer, double)
}

fn body() -> serde_json::Value {
    let mut body = edit_body("openai", "make the cup blue", &coffee());
    let (_, mask) = rect_mask(Size::new(600, 400).unwrap(), 100.0, 50.0, 200.0, 120.0);
    body["mask"] = json!({"mime_type": "image/png", "data": b64(&mask)});
    body
}

#[tokio::test]
async fn success_sends_multipart_with_an_alpha_mask() {
    let (answer, double) = run(vec![Scenario::Success], body()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(double.attempts(), 1);
    assert_eq!(unb64(answer.json["image"]["data"].as_str().unwrap()), double.image());
    assert_eq!(
        (answer.json["provider"].as_str(), answer.json["model"].as_str()),
        (Some("openai"), Some("gpt-image-1.5"))
    );

    let seen = &double.seen()[0];
    assert_eq!(seen.path, "/v1/images/edits");
    let content_type = seen.headers["content-type"].to_str().unwrap();
    let fields = multipart_fields(content_type, &seen.body);
    let field = |name: &str| fields.iter().find(|f| f.0 == name).unwrap_or_else(|| panic!("no {name} field"));
    assert_eq!(field("image").2, coffee());
    assert_eq!(field("image").1.as_deref(), Some("image/png"));
    assert_eq!(String::from_utf8_lossy(&field("model").2), "gpt-image-1.5");
    assert_eq!(String::from_utf8_lossy(&field("size").2), "1536x1024", "600x400 is nearest 3:2");
    assert_eq!(String::from_utf8_lossy(&field("quality").2), "auto");
    assert!(String::from_utf8_lossy(&field("prompt").2).contains("make the cup blue"));
    // The mask: RGBA at the image's size, alpha 0 where the widget's mask was white.
    let mask = pixelkeep::decode(&field("mask").2, &Limits::default()).unwrap();
    assert_eq!(mask.dimensions(), (600, 400));
    assert_eq!(mask.get_pixel(150, 100).0[3], 0, "edit region is transparent");
    assert_eq!(mask.get_pixel(10, 10).0[3], 255, "kept region is opaque");
}

#[tokio::test]
async fn references_go_as_an_image_array() {
    let mut b = body();
    b["references"] = json!([{"mime_type": "image/png", "data": b64(&png(20, 20))}]);
    let (answer, double) = run(vec![Scenario::Success], b).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let seen = &double.seen()[0];
    let fields = multipart_fields(seen.headers["content-type"].to_str().unwrap(), &seen.body);
    assert_eq!(fields.iter().filter(|f| f.0 == "image[]").count(), 2);
}

#[tokio::test]
async fn moderation_is_a_safety_block() {
    let (answer, double) = run(vec![Scenario::Moderation], body()).await;
    assert_eq!((answer.status, answer.code(), double.attempts()), (422, "safety_blocked", 1));
}

#[tokio::test]
async fn rate_limits_and_server_errors() {
    let (answer, double) = run(vec![Scenario::RetryAfterSeconds(45)], body()).await;
    assert_eq!((answer.status, answer.code(), double.attempts()), (429, "rate_limited", 1));
    assert_eq!(answer.json["error"]["retry_after_s"], 45);
    let (answer, double) = run(vec![Scenario::Status(500), Scenario::Success], body()).await;
    assert_eq!((answer.status, double.attempts()), (200, 2));
    let (answer, double) = run(vec![Scenario::Status(502)], body()).await;
    assert_eq!((answer.status, answer.code(), double.attempts()), (502, "upstream_error", 3));
    let (answer, double) = run(vec![Scenario::Status(400)], body()).await;
    assert_eq!((answer.status, answer.code(), double.attempts()), (502, "upstream_error", 1));
}

#[tokio::test]
async fn faults() {
    for (scenario, status, code) in [
        (Scenario::Hang, 504, "timeout"),
        (Scenario::Truncated, 502, "upstream_error"),
        (Scenario::MalformedJson, 502, "upstream_error"),
        (Scenario::Redirect, 502, "upstream_error"),
        (Scenario::Oversized(2 << 20), 502, "upstream_error"),
    ] {
        let (answer, double) = run(vec![scenario.clone()], body()).await;
        assert_eq!((answer.status, answer.code(), double.attempts()), (status, code, 1), "{scenario:?}");
    }
}
