//! The request and response types shared by the widget and the proxy (`/api/...`).
use crate::geometry::NormBox;
use serde::{Deserialize, Serialize};

/// An image inline in JSON: base64 without a `data:` prefix. `D` holds the base64 text: a
/// `String`, or (in a server passing megabytes on) a type that shares the body it came in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineImage<D = String> {
    pub mime_type: String,
    pub data: D,
}

impl<D> InlineImage<D> {
    pub fn map_data<E>(self, f: impl FnOnce(D) -> E) -> InlineImage<E> {
        InlineImage { mime_type: self.mime_type, data: f(self.data) }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// `POST /api/edit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "D: Deserialize<'de>"))]
pub struct EditRequest<D = String> {
    /// Empty means the local engine.
    #[serde(default)]
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub instruction: String,
    #[serde(default)]
    pub keep: Vec<String>,
    pub image: InlineImage<D>,
    /// PNG, white = edit, the same size as `image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<InlineImage<D>>,
    /// `[ymin, xmin, ymax, xmax]`, 0–1000, relative to `image`.
    #[serde(default, rename = "box", skip_serializing_if = "Option::is_none")]
    pub bbox: Option<NormBox>,
    #[serde(default)]
    pub references: Vec<InlineImage<D>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputSpec>,
    #[serde(default)]
    pub grounding: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
}

impl<D> EditRequest<D> {
    /// The same request with every image's data converted by `f`.
    pub fn map_data<E>(self, mut f: impl FnMut(D) -> E) -> EditRequest<E> {
        EditRequest {
            provider: self.provider,
            model: self.model,
            instruction: self.instruction,
            keep: self.keep,
            image: self.image.map_data(&mut f),
            mask: self.mask.map(|m| m.map_data(&mut f)),
            bbox: self.bbox,
            references: self.references.into_iter().map(|r| r.map_data(&mut f)).collect(),
            output: self.output,
            grounding: self.grounding,
            client_request_id: self.client_request_id,
        }
    }
}

/// The answer to a successful edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditResponse<D = String> {
    pub image: InlineImage<D>,
    #[serde(default)]
    pub text: Option<String>,
    pub provider: String,
    pub model: String,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub usage: Option<serde_json::Value>,
    pub elapsed_ms: u64,
}

/// Every error the API answers, with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    Unauthorized,
    ForbiddenOrigin,
    PayloadTooLarge,
    UnsupportedInstruction,
    SafetyBlocked,
    RateLimited,
    NoImage,
    UpstreamError,
    UpstreamUnavailable,
    Timeout,
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::ForbiddenOrigin => 403,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedInstruction | ErrorCode::SafetyBlocked => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::NoImage | ErrorCode::UpstreamError => 502,
            ErrorCode::UpstreamUnavailable => 503,
            ErrorCode::Timeout => 504,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ForbiddenOrigin => "forbidden_origin",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedInstruction => "unsupported_instruction",
            ErrorCode::SafetyBlocked => "safety_blocked",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NoImage => "no_image",
            ErrorCode::UpstreamError => "upstream_error",
            ErrorCode::UpstreamUnavailable => "upstream_unavailable",
            ErrorCode::Timeout => "timeout",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), retry_after_s: None }
    }
}

/// `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

/// How a provider uses the mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskHandling {
    /// The provider reads the mask itself (the client still composites).
    Native,
    /// The mask is only a hint; the client's composite enforces it.
    Composited,
}

/// One output size class of an aspect ratio, e.g. `1K` = 1184 x 864 for 4:3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSize {
    pub name: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AspectRatio {
    /// As the provider names it, e.g. `"4:3"`.
    pub ratio: String,
    pub sizes: Vec<OutputSize>,
}

/// What the planner and the widget need to know about one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelProfile {
    pub id: String,
    /// Empty: any aspect ratio, answered at the size sent.
    pub aspect_ratios: Vec<AspectRatio>,
    pub max_references: u32,
    /// The longest side the model should be sent.
    pub max_input_side: u32,
    pub max_input_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_image_usd: Option<f64>,
}

/// `GET /api/providers`: one entry per configured provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderProfile {
    pub id: String,
    pub label: String,
    pub mask: MaskHandling,
    pub default_model: String,
    pub models: Vec<ModelProfile>,
}

impl ProviderProfile {
    pub fn model(&self, id: Option<&str>) -> Option<&ModelProfile> {
        let id = id.unwrap_or(&self.default_model);
        self.models.iter().find(|m| m.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn edit_request_reads_the_documented_json() {
        let json = r#"{"provider":"local","instruction":"fill with red","keep":["background"],
            "image":{"mime_type":"image/png","data":"AAAA"},"box":[600,700,200,150]}"#;
        let req: EditRequest = serde_json::from_str(json).unwrap();
        assert_eq!(req.bbox.unwrap().values(), [200, 150, 600, 700]);
        assert!(req.references.is_empty() && req.mask.is_none());
        assert!(serde_json::from_str::<EditRequest>(&json.replace("600,700", "1600,700")).is_err());
    }

    #[test]
    fn error_body_is_typed() {
        let body = ErrorBody {
            error: ApiError { retry_after_s: Some(3), ..ApiError::new(ErrorCode::RateLimited, "slow down") },
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["error"]["code"], "rate_limited");
        assert_eq!(v["error"]["retry_after_s"], 3);
        assert_eq!(ErrorCode::RateLimited.status(), 429);
    }
}
