//! `POST /v1beta/models/{model}:generateContent` in Gemini's own format, so the official
//! Google SDKs can use the proxy as their base URL. Forwarded to Gemini when a key is
//! configured (the SDK's dummy key replaced by the real one); answered by the local engine
//! otherwise. Errors are in Gemini's shape too, which the SDKs know how to raise.
use crate::api::read_body;
use crate::error::{Error, Result};
use crate::input::{check_base64, decode_base64, encode_base64};
use crate::local::{LocalEdit, MODEL};
use crate::payload::Chunks;
use crate::security::{check_rate, Caller};
use crate::upstream::scrub;
use crate::{gemini, local, AppState};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use pixelkeep::wire::ErrorCode;
use pixelkeep::{NormBox, OutOfRange};
use serde_json::{json, Value};
use std::sync::Arc;

pub async fn generate(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(action): Path<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let (model, method) = action.split_once(':').unwrap_or((action.as_str(), ""));
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => {
            return gemini_error(&Error::invalid(format!("pixelkeep answers generateContent only, not \"{method}\".")))
        }
    };
    match handle(&state, &caller, model, body).await {
        Ok((status, json)) if stream && status.is_success() => sse(json),
        Ok((status, json)) => {
            (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json).into_response()
        }
        Err(e) => gemini_error(&e),
    }
}

async fn handle(
    state: &Arc<AppState>,
    caller: &Caller,
    model: &str,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Bytes)> {
    let body = read_body(body, state.config.limits.body_bytes)?;
    let request: Value =
        serde_json::from_slice(&body).map_err(|e| Error::invalid(format!("The request is not valid JSON: {e}.")))?;
    let parts = user_parts(&request);
    let limits = state.config.limits.image;
    match &state.gemini {
        Some(g) => {
            if !caller.may_use(gemini::ID) {
                return Err(Error::new(
                    ErrorCode::Unauthorized,
                    "Your access token does not allow the gemini provider.",
                ));
            }
            // Only configured models: the key is not a general-purpose Gemini key for callers.
            if g.profile.model(Some(model)).is_none() {
                let ids: Vec<&str> = g.profile.models.iter().map(|m| m.id.as_str()).collect();
                return Err(Error::invalid(format!(
                    "Unknown model \"{model}\"; this server offers: {}.",
                    ids.join(", ")
                )));
            }
            for (i, image) in all_images(&request).into_iter().enumerate() {
                check_base64(&format!("image {}", i + 1), image, &limits)?;
            }
            check_rate(state, caller, gemini::ID)?;
            let reply = g.generate(&state.upstream, model, Chunks::from(body)).await?;
            if reply.is_success() {
                return Ok((StatusCode::OK, reply.body));
            }
            tracing::warn!(status = %reply.status, attempts = reply.attempts, "gemini error (compat)");
            let text = scrub(&String::from_utf8_lossy(&reply.body), g.config.key.expose());
            match reply.status.as_u16() {
                // Gemini's own error bodies pass through; ours replace anything odd.
                400..=599 if serde_json::from_str::<Value>(&text).is_ok_and(|v| v["error"].is_object()) => {
                    Ok((reply.status, Bytes::from(text)))
                }
                _ => Err(g.reply_error(&reply)),
            }
        }
        None => {
            check_rate(state, caller, local::ID)?;
            let edit = local_edit(&parts)?;
            let png = edit.run(limits, &state.local_gate).await?;
            let answer = json!({
                "candidates": [{
                    "content": {"role": "model", "parts": [
                        {"text": "Edited by the pixelkeep local engine."},
                        {"inlineData": {"mimeType": "image/png", "data": encode_base64(&png)}},
                    ]},
                    "finishReason": "STOP",
                    "index": 0,
                }],
                "usageMetadata": {"promptTokenCount": 0, "candidatesTokenCount": 0, "totalTokenCount": 0},
                "modelVersion": if model.is_empty() { MODEL } else { model },
            });
            Ok((StatusCode::OK, Bytes::from(serde_json::to_vec(&answer).unwrap_or_default())))
        }
    }
}

/// A part as either SDK or the REST docs send it (camelCase or snake_case).
enum PartRef<'a> {
    Text(&'a str),
    Image(&'a str),
}

fn field<'a>(v: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    v.get(camel).or_else(|| v.get(snake))
}

fn part_ref(part: &Value) -> Option<PartRef<'_>> {
    if let Some(text) = part.get("text").and_then(Value::as_str) {
        return Some(PartRef::Text(text));
    }
    let blob = field(part, "inlineData", "inline_data")?;
    blob.get("data").and_then(Value::as_str).map(PartRef::Image)
}

fn contents(request: &Value) -> Vec<&Value> {
    match request.get("contents") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// The parts of the last user turn (the SDKs send history first).
fn user_parts(request: &Value) -> Vec<PartRef<'_>> {
    let turn = contents(request).into_iter().rev().find(|c| c.get("role").and_then(Value::as_str) != Some("model"));
    let parts = turn.and_then(|c| c.get("parts")).and_then(Value::as_array);
    parts.map(|ps| ps.iter().filter_map(part_ref).collect()).unwrap_or_default()
}

fn all_images(request: &Value) -> Vec<&str> {
    let parts = contents(request).into_iter().filter_map(|c| c.get("parts").and_then(Value::as_array)).flatten();
    parts
        .filter_map(|p| match part_ref(p)? {
            PartRef::Image(data) => Some(data),
            PartRef::Text(_) => None,
        })
        .collect()
}

/// The first image is the photo, a second one the mask; a `[ymin, xmin, ymax, xmax]` box in
/// the text is the region; the rest of the text is the instruction.
fn local_edit(parts: &[PartRef<'_>]) -> Result<LocalEdit> {
    let mut text = String::new();
    let mut images = Vec::new();
    for part in parts {
        match part {
            PartRef::Text(t) => {
                text.push(' ');
                text.push_str(t);
            }
            PartRef::Image(data) => images.push(*data),
        }
    }
    let (bbox, instruction) = take_box(&text);
    let operation = LocalEdit::parse_instruction(&instruction)?;
    let decode = |what: &str, data: &str| {
        decode_base64(data).ok_or_else(|| Error::invalid(format!("The {what} is not valid base64.")))
    };
    let image = images.first().ok_or_else(|| Error::invalid("Send the photo to edit as an inline image part."))?;
    let image = decode("image", image)?;
    let mask = images.get(1).map(|m| decode("mask", m)).transpose()?;
    Ok(LocalEdit { image, mask, bbox, operation })
}

/// Finds the first `[a, b, c, d]` of numbers in `text`; returns it as a box and the text
/// without it (so its numbers are not read as a blur radius).
pub fn take_box(text: &str) -> (Option<NormBox>, String) {
    let mut from = 0;
    while let Some(open) = text[from..].find('[').map(|i| i + from) {
        let Some(close) = text[open..].find(']').map(|i| i + open) else { break };
        let numbers: Vec<f64> = text[open + 1..close].split(',').filter_map(|n| n.trim().parse().ok()).collect();
        if let [a, b, c, d] = numbers[..] {
            if let Ok(bbox) = NormBox::from_values([a, b, c, d], OutOfRange::Clamp) {
                return (Some(bbox), format!("{}{}", &text[..open], &text[close + 1..]));
            }
        }
        from = open + 1;
    }
    (None, text.to_string())
}

/// A streaming call gets the whole answer as one server-sent event.
fn sse(json: Bytes) -> Response {
    let mut event = b"data: ".to_vec();
    event.extend_from_slice(&json);
    event.extend_from_slice(b"\r\n\r\n");
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"))], Body::from(event)).into_response()
}

/// Gemini's error shape (`code`, `message`, `status`), with pixelkeep's code as the
/// `ErrorInfo` reason and a wait as `RetryInfo`.
fn gemini_error(e: &Error) -> Response {
    let status = e.status();
    let grpc = match status.as_u16() {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
    let mut details = vec![
        json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": e.code().as_str(), "domain": "pixelkeep"}),
    ];
    if let Some(s) = e.0.retry_after_s {
        details.push(json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{s}s")}));
    }
    let body = json!({"error": {"code": status.as_u16(), "message": e.message(), "status": grpc, "details": details}});
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(s) = e.0.retry_after_s {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_box_in_the_text() {
        let (b, rest) = take_box("Within the bounding box [200, 150, 600, 700] of the image, fill with dark blue");
        assert_eq!(b.unwrap().values(), [200, 150, 600, 700]);
        assert_eq!(rest, "Within the bounding box  of the image, fill with dark blue");
        let (b, rest) = take_box("blur [a] the face [10,20,30,40]");
        assert_eq!((b.unwrap().values(), rest.as_str()), ([10, 20, 30, 40], "blur [a] the face "));
        assert_eq!(take_box("no box").0, None);
    }
}
