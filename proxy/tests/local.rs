//! The API routes and the local engine, driven without a socket (`oneshot`).
mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use http_body_util::BodyExt;
use pixelkeep::{Limits, Size};
use pixelkeep_proxy::{app, Config};
use serde_json::{json, Value};
use tower::ServiceExt;

async fn call(config: Config, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app(config).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

async fn edit(body: Value) -> (StatusCode, Value) {
    let request = Request::post("/api/edit")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, bytes) = call(Config::default(), request).await;
    (status, serde_json::from_slice(&bytes).expect("a JSON answer"))
}

#[tokio::test]
async fn health_and_providers() {
    let (status, _, body) = call(Config::default(), Request::get("/api/health").body(Body::empty()).unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), json!({"status": "ok", "providers": ["local"]}));

    let config = Config {
        gemini: Some(pixelkeep_proxy::ProviderConfig::new("k", "http://127.0.0.1:9")),
        openai: Some(pixelkeep_proxy::ProviderConfig::new("k", "http://127.0.0.1:9")),
        ..Config::default()
    };
    let (status, _, body) = call(config, Request::get("/api/providers").body(Body::empty()).unwrap()).await;
    assert_eq!(status, 200);
    let profiles: Vec<pixelkeep::wire::ProviderProfile> = serde_json::from_slice(&body).unwrap();
    let ids: Vec<&str> = profiles.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["local", "gemini", "openai"]);
    let local = profiles[0].model(None).unwrap();
    assert!(local.aspect_ratios.is_empty() && local.max_references == 0 && local.max_input_side == 4096);
    assert_eq!(profiles[1].default_model, "gemini-2.5-flash-image");
    assert_eq!(profiles[1].mask, pixelkeep::wire::MaskHandling::Composited);
    assert_eq!(profiles[2].default_model, "gpt-image-1.5");
    assert_eq!(
        profiles[2].model(None).unwrap().aspect_ratios.iter().map(|a| a.ratio.as_str()).collect::<Vec<_>>(),
        ["1:1", "3:2", "2:3"]
    );
}

#[tokio::test]
async fn fill_with_red_changes_only_the_masked_pixels() {
    let photo = coffee();
    let original = pixelkeep::decode(&photo, &Limits::default()).unwrap();
    let size = Size::new(original.width(), original.height()).unwrap();
    let (mask, mask_png) = rect_mask(size, 100.0, 50.0, 200.0, 120.0);
    let mut body = edit_body("local", "fill with red", &photo);
    body["mask"] = json!({"mime_type": "image/png", "data": b64(&mask_png)});
    let (status, answer) = edit(body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["provider"].as_str(), answer["image"]["mime_type"].as_str()),
        (Some("local"), Some("image/png"))
    );
    let result = pixelkeep::decode(&unb64(answer["image"]["data"].as_str().unwrap()), &Limits::default()).unwrap();
    assert_eq!(result.dimensions(), original.dimensions());
    let (mut red, mut kept) = (0, 0);
    for (x, y, p) in result.enumerate_pixels() {
        match mask.get(x, y) {
            255 => {
                assert_eq!(p.0, [255, 0, 0, 255], "masked pixel {x},{y}");
                red += 1;
            }
            0 => {
                assert_eq!(p, original.get_pixel(x, y), "unmasked pixel {x},{y}");
                kept += 1;
            }
            _ => {}
        }
    }
    assert_eq!(red, 200 * 120);
    assert_eq!(kept, 600 * 400 - 200 * 120);
}

#[tokio::test]
async fn a_box_is_a_region_too() {
    let photo = coffee();
    let original = pixelkeep::decode(&photo, &Limits::default()).unwrap();
    let mut body = edit_body("", "fill with #0000ff", &photo);
    body["box"] = json!([500, 500, 1000, 1000]);
    let (status, answer) = edit(body).await;
    assert_eq!(status, 200, "{answer}");
    let result = pixelkeep::decode(&unb64(answer["image"]["data"].as_str().unwrap()), &Limits::default()).unwrap();
    assert_eq!(result.get_pixel(450, 300).0, [0, 0, 255, 255]);
    assert_eq!(result.get_pixel(100, 100), original.get_pixel(100, 100));
}

#[tokio::test]
async fn unsupported_instruction_is_422_with_the_capabilities() {
    let (status, answer) = edit(edit_body("local", "turn the cup into a cat", &coffee())).await;
    assert_eq!(status, 422);
    assert_eq!(answer["error"]["code"], "unsupported_instruction");
    assert!(answer["error"]["message"].as_str().unwrap().contains(pixelkeep::CAPABILITIES), "{answer}");
}

#[tokio::test]
async fn a_mask_of_another_size_is_refused() {
    let mut body = edit_body("local", "fill with red", &coffee());
    body["mask"] = json!({"mime_type": "image/png", "data": b64(&png(300, 200))});
    let (status, answer) = edit(body).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("300 x 200") && message.contains("600 x 400") && message.contains("same size"),
        "{message}"
    );
}

#[tokio::test]
async fn bad_images_are_400() {
    for (what, bytes) in [
        ("text", b"just some text, not a picture".to_vec()),
        ("png magic only", b"\x89PNG\r\n\x1a\n and then nothing".to_vec()),
        ("truncated png", coffee()[..coffee().len() / 2].to_vec()),
    ] {
        let (status, answer) = edit(edit_body("local", "blur", &bytes)).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{what}: {answer}"
        );
    }
    let mut body = edit_body("local", "blur", &coffee());
    body["image"]["data"] = json!("%%% not base64 %%%");
    assert_eq!(edit(body).await.0, 400);
}

#[tokio::test]
async fn malformed_requests_are_typed() {
    let (status, answer) = edit(json!({"instruction": 3})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, answer) = edit(edit_body("dalle", "blur", &coffee())).await;
    assert_eq!(status, 400);
    assert!(answer["error"]["message"].as_str().unwrap().contains("offers: local"), "{answer}");
    let mut body = edit_body("local", "blur", &coffee());
    body["box"] = json!([0, 0, 2000, 10]);
    assert_eq!(edit(body).await.0, 400);
}

#[tokio::test]
async fn an_oversized_body_is_413_json() {
    let mut config = Config::default();
    config.limits.body_bytes = 1 << 20;
    let body = edit_body("local", "blur", &vec![7u8; 2 << 20]).to_string();
    let request = Request::post("/api/edit").header("content-type", "application/json").body(Body::from(body)).unwrap();
    let (status, headers, bytes) = call(config, request).await;
    assert_eq!(status, 413);
    assert_eq!(headers["content-type"], "application/json");
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(answer["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn static_files_have_the_right_types() {
    let dir = std::env::temp_dir().join(format!("pixelkeep-www-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>pk</title>").unwrap();
    std::fs::write(dir.join("pkg/core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.join("app.mjs"), "export {}").unwrap();
    std::fs::write(dir.join("app.js"), "export {}").unwrap();
    let config = || Config { www: Some(dir.clone()), ..Config::default() };
    for (path, expected) in [
        ("/", "text/html"),
        ("/pkg/core.wasm", "application/wasm"),
        ("/app.mjs", "text/javascript; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
    ] {
        let (status, headers, _) = call(config(), Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(headers["content-type"], expected, "{path}");
    }
    let (status, _, _) = call(config(), Request::get("/missing.js").body(Body::empty()).unwrap()).await;
    assert_eq!(status, 404);
    let _ = std::fs::remove_dir_all(dir);
}
