//! The Gemini-compatible endpoint: the local engine without a key, forwarding with one.
mod common;

use common::*;
use pixelkeep::{Limits, NormBox, Size};
use serde_json::{json, Value};

const MODEL_URL: &str = "/v1beta/models/gemini-2.5-flash-image:generateContent";

fn decode(b64: &str) -> pixelkeep::RgbaImage {
    pixelkeep::decode(&unb64(b64), &Limits::default()).unwrap()
}

/// The image part of a Gemini-shaped answer.
fn answer_image(answer: &Answer) -> pixelkeep::RgbaImage {
    let parts = answer.json["candidates"][0]["content"]["parts"].as_array().expect("parts");
    let data = parts.iter().find_map(|p| p["inlineData"]["data"].as_str()).expect("an inlineData part");
    decode(data)
}

#[tokio::test]
async fn local_engine_answers_an_sdk_shaped_request_with_a_box() {
    let url = proxy(test_config()).await;
    let photo = coffee();
    let body = json!({
        "contents": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": b64(&photo)}},
            {"text": "Within the bounding box [200, 150, 600, 700] of the image, fill with dark blue"},
        ]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]},
    });
    let answer = post_json(&format!("{url}{MODEL_URL}"), &body, &[("x-goog-api-key", "dummy")]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["candidates"][0]["finishReason"], "STOP");
    let result = answer_image(&answer);
    let original = pixelkeep::decode(&photo, &Limits::default()).unwrap();
    let inside = NormBox::new(200, 150, 600, 700).unwrap().to_rect(Size::new(600, 400).unwrap());
    for (x, y, p) in result.enumerate_pixels() {
        let within = x >= inside.x && x < inside.right() && y >= inside.y && y < inside.bottom();
        if within {
            assert_eq!(p.0, [0, 0, 139, 255], "{x},{y}");
        } else {
            assert_eq!(p, original.get_pixel(x, y), "{x},{y}");
        }
    }
}

#[tokio::test]
async fn snake_case_and_a_mask_image() {
    let url = proxy(test_config()).await;
    let photo = coffee();
    let (mask, mask_png) = rect_mask(Size::new(600, 400).unwrap(), 0.0, 0.0, 100.0, 100.0);
    let body = json!({
        "contents": [{"parts": [
            {"text": "pixelate this"},
            {"inline_data": {"mime_type": "image/png", "data": b64(&photo)}},
            {"inline_data": {"mime_type": "image/png", "data": b64(&mask_png)}},
        ]}],
    });
    let answer = post_json(&format!("{url}{MODEL_URL}"), &body, &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let result = answer_image(&answer);
    let original = pixelkeep::decode(&photo, &Limits::default()).unwrap();
    let changed = result.enumerate_pixels().filter(|(x, y, p)| *p != original.get_pixel(*x, *y)).count();
    assert!(changed > 5000, "pixelation changed {changed} pixels");
    assert!(result.enumerate_pixels().all(|(x, y, p)| mask.get(x, y) != 0 || p == original.get_pixel(x, y)));
}

#[tokio::test]
async fn errors_come_in_geminis_shape() {
    let url = proxy(test_config()).await;
    let body = json!({"contents": [{"parts": [{"text": "write a poem"}, {"inlineData": {"mimeType": "image/png", "data": b64(&png(8, 8))}}]}]});
    let answer = post_json(&format!("{url}{MODEL_URL}"), &body, &[]).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.json["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(answer.json["error"]["code"], 422);
    assert_eq!(answer.json["error"]["details"][0]["reason"], "unsupported_instruction");
    let answer =
        post_json(&format!("{url}{MODEL_URL}"), &json!({"contents": [{"parts": [{"text": "blur"}]}]}), &[]).await;
    assert_eq!((answer.status, answer.json["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")));
    let answer = post_json(&format!("{url}/v1beta/models/x:countTokens"), &json!({}), &[]).await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn with_a_key_the_request_is_forwarded_and_the_dummy_key_replaced() {
    let double = Double::start(vec![Scenario::Success]).await;
    let url = proxy(with_gemini(test_config(), &double)).await;
    let body = json!({"contents": [{"role": "user", "parts": [
        {"text": "Make the cup blue"},
        {"inlineData": {"mimeType": "image/png", "data": b64(&png(16, 16))}},
    ]}]});
    let answer = post_json(&format!("{url}{MODEL_URL}"), &body, &[("x-goog-api-key", "dummy-sdk-key")]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.assert_no_secret();
    double.assert_key_only_in("x-goog-api-key", GEMINI_KEY, GEMINI_KEY);
    let seen = &double.seen()[0];
    assert_eq!(seen.path, MODEL_URL);
    assert_eq!(serde_json::from_slice::<Value>(&seen.body).unwrap(), body, "forwarded verbatim");
    assert!(!seen.headers.iter().any(|(_, v)| v.to_str().unwrap_or("").contains("dummy-sdk-key")));
    assert_eq!(
        unb64(answer.json["candidates"][0]["content"]["parts"][1]["inlineData"]["data"].as_str().unwrap()),
        double.image()
    );

    // Streaming gets the same answer as one event.
    let stream = client()
        .post(format!("{url}/v1beta/models/gemini-2.5-flash-image:streamGenerateContent?alt=sse"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let text = stream.text().await.unwrap();
    let event: Value = serde_json::from_str(text.strip_prefix("data: ").unwrap().trim()).unwrap();
    assert!(event["candidates"].is_array());
}

#[tokio::test]
async fn forwarded_errors_keep_geminis_body_and_unknown_models_are_refused() {
    let double = Double::start(vec![Scenario::RetryInfo(26)]).await;
    let url = proxy(with_gemini(test_config(), &double)).await;
    let body = json!({"contents": [{"parts": [{"text": "hi"}, {"inlineData": {"mimeType": "image/png", "data": b64(&png(16, 16))}}]}]});
    let answer = post_json(&format!("{url}{MODEL_URL}"), &body, &[]).await;
    assert_eq!((answer.status, answer.json["error"]["status"].as_str()), (429, Some("RESOURCE_EXHAUSTED")));
    assert_eq!(double.attempts(), 1);
    answer.assert_no_secret();

    let answer = post_json(&format!("{url}/v1beta/models/gemini-2.5-pro:generateContent"), &body, &[]).await;
    assert_eq!(answer.status, 400);
    let fake =
        json!({"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": b64(b"not an image")}}]}]});
    assert_eq!(post_json(&format!("{url}{MODEL_URL}"), &fake, &[]).await.status, 400);
    assert_eq!(double.attempts(), 1);
}
