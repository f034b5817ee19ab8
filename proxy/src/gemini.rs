//! The `gemini` provider: `generateContent` on the Gemini image models.
use crate::config::ProviderConfig;
use crate::error::{Error, Result};
use crate::input::{check_base64, check_references, choose_model, ImageHeader};
use crate::upstream::{scrub, Gate, Reply, Upstream};
use pixelkeep::wire::{
    AspectRatio, EditRequest, EditResponse, ErrorCode, InlineImage, MaskHandling, ModelProfile, OutputSize,
    ProviderProfile,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::borrow::Cow;

pub const ID: &str = "gemini";
pub const DEFAULT_MODEL: &str = "gemini-2.5-flash-image";

/// Output sizes, from the image-generation docs (reference §1.5).
const FLASH_25: &[(&str, [(u32, u32); 1])] = &[
    ("1:1", [(1024, 1024)]),
    ("2:3", [(832, 1248)]),
    ("3:2", [(1248, 832)]),
    ("3:4", [(864, 1184)]),
    ("4:3", [(1184, 864)]),
    ("4:5", [(896, 1152)]),
    ("5:4", [(1152, 896)]),
    ("9:16", [(768, 1344)]),
    ("16:9", [(1344, 768)]),
    ("21:9", [(1536, 672)]),
];

const PRO_3: &[(&str, [(u32, u32); 3])] = &[
    ("1:1", [(1024, 1024), (2048, 2048), (4096, 4096)]),
    ("2:3", [(848, 1264), (1696, 2528), (3392, 5056)]),
    ("3:2", [(1264, 848), (2528, 1696), (5056, 3392)]),
    ("3:4", [(896, 1200), (1792, 2400), (3584, 4800)]),
    ("4:3", [(1200, 896), (2400, 1792), (4800, 3584)]),
    ("4:5", [(928, 1152), (1856, 2304), (3712, 4608)]),
    ("5:4", [(1152, 928), (2304, 1856), (4608, 3712)]),
    ("9:16", [(768, 1376), (1536, 2752), (3072, 5504)]),
    ("16:9", [(1376, 768), (2752, 1536), (5504, 3072)]),
    ("21:9", [(1584, 672), (3168, 1344), (6336, 2688)]),
];

const FLASH_31: &[(&str, [(u32, u32); 4])] = &[
    ("1:1", [(512, 512), (1024, 1024), (2048, 2048), (4096, 4096)]),
    ("1:4", [(256, 1024), (512, 2048), (1024, 4096), (2048, 8192)]),
    ("1:8", [(192, 1536), (384, 3072), (768, 6144), (1536, 12288)]),
    ("2:3", [(424, 632), (848, 1264), (1696, 2528), (3392, 5056)]),
    ("3:2", [(632, 424), (1264, 848), (2528, 1696), (5056, 3392)]),
    ("3:4", [(448, 600), (896, 1200), (1792, 2400), (3584, 4800)]),
    ("4:1", [(1024, 256), (2048, 512), (4096, 1024), (8192, 2048)]),
    ("4:3", [(600, 448), (1200, 896), (2400, 1792), (4800, 3584)]),
    ("4:5", [(464, 576), (928, 1152), (1856, 2304), (3712, 4608)]),
    ("5:4", [(576, 464), (1152, 928), (2304, 1856), (4608, 3712)]),
    ("8:1", [(1536, 192), (3072, 384), (6144, 768), (12288, 1536)]),
    ("9:16", [(384, 688), (768, 1376), (1536, 2752), (3072, 5504)]),
    ("16:9", [(688, 384), (1376, 768), (2752, 1536), (5504, 3072)]),
    // The docs print "792x168" for 512; that is not 21:9 and looks like a typo for 792x336.
    ("21:9", [(792, 336), (1584, 672), (3168, 1344), (6336, 2688)]),
];

fn table<const N: usize>(rows: &[(&str, [(u32, u32); N])], names: [&str; N]) -> Vec<AspectRatio> {
    rows.iter()
        .map(|(ratio, sizes)| AspectRatio {
            ratio: ratio.to_string(),
            sizes: sizes
                .iter()
                .zip(names)
                .map(|(&(width, height), name)| OutputSize { name: name.into(), width, height })
                .collect(),
        })
        .collect()
}

/// `images_per_prompt` is the model's limit on input images; two are the photo and the
/// mask hint, the rest may be references.
fn model(id: &str, aspect_ratios: Vec<AspectRatio>, images_per_prompt: u32, max_input_side: u32) -> ModelProfile {
    ModelProfile {
        id: id.into(),
        aspect_ratios,
        max_references: images_per_prompt.saturating_sub(2),
        max_input_side,
        // Vertex's inline limit per image; the Gemini API allows more, this stays portable.
        max_input_bytes: 7_000_000,
        price_per_image_usd: None,
    }
}

pub fn profile(default_model: Option<&str>) -> ProviderProfile {
    let flash_31 = || table(FLASH_31, ["512", "1K", "2K", "4K"]);
    let mut models = vec![
        model("gemini-2.5-flash-image", table(FLASH_25, ["1K"]), 3, 2048),
        model("gemini-3.1-flash-image", flash_31(), 14, 4096),
        model("gemini-3-pro-image", table(PRO_3, ["1K", "2K", "4K"]), 14, 4096),
    ];
    let default_model = default_model.unwrap_or(DEFAULT_MODEL).to_string();
    if !models.iter().any(|m| m.id == default_model) {
        // A configured id we have no table for (a newer model): assume the newest family's.
        models.push(model(&default_model, flash_31(), 14, 4096));
    }
    ProviderProfile {
        id: ID.into(),
        label: "Google Gemini".into(),
        mask: MaskHandling::Composited,
        default_model,
        models,
    }
}

#[derive(Debug)]
pub struct Gemini {
    pub config: ProviderConfig,
    pub profile: ProviderProfile,
    pub gate: Gate,
}

impl Gemini {
    pub fn new(config: ProviderConfig, concurrency: usize) -> Self {
        Gemini { profile: profile(config.model.as_deref()), config, gate: Gate::new(ID, concurrency) }
    }

    pub fn url(&self, model: &str, action: &str) -> String {
        format!("{}/v1beta/models/{model}:{action}", self.config.base_url)
    }

    /// Sends a JSON body to `generateContent` of a model already checked to be safe in a path.
    pub async fn generate(&self, upstream: &Upstream, model: &str, body: Vec<u8>) -> Result<Reply> {
        let url = self.url(model, "generateContent");
        let body = axum::body::Bytes::from(body);
        upstream
            .call(&self.gate, |client| {
                client
                    .post(&url)
                    .header("x-goog-api-key", self.config.key.expose())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await
    }

    pub async fn edit(
        &self,
        upstream: &Upstream,
        req: &EditRequest,
        limits: &pixelkeep::Limits,
    ) -> Result<EditResponse> {
        let model = choose_model(&self.profile, "Gemini", req)?;
        let body = build_request(req, model, limits)?;
        let reply = self.generate(upstream, &model.id, body).await?;
        if !reply.is_success() {
            return Err(self.reply_error(&reply));
        }
        let mut response = parse_response(&reply.body, limits)?;
        response.model = model.id.clone();
        Ok(response)
    }

    /// A non-2xx Gemini reply as a typed error; the provider's message only where it helps.
    pub fn reply_error(&self, reply: &Reply) -> Error {
        let message = serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(|m| scrub(m, self.config.key.expose())))
            .unwrap_or_default();
        tracing::warn!(status = %reply.status, attempts = reply.attempts, message, "gemini error");
        status_error("Gemini", reply, &message)
    }
}

/// Maps an upstream HTTP status to the proxy's codes.
pub fn status_error(provider: &str, reply: &Reply, message: &str) -> Error {
    let status = reply.status.as_u16();
    let detail = if message.is_empty() { String::new() } else { format!(": {message}") };
    match status {
        429 => {
            Error::new(ErrorCode::RateLimited, format!("{provider} is rate limiting this server; try again shortly."))
                .retry_after(reply.retry_after_s())
        }
        503 => Error::new(
            ErrorCode::UpstreamUnavailable,
            format!("{provider} is overloaded right now; try again shortly."),
        )
        .retry_after(reply.retry_after_s()),
        401 | 403 => Error::upstream(format!(
            "{provider} refused this server's credentials; the site owner must check the API key."
        )),
        s if s >= 500 => Error::upstream(format!("{provider} failed ({s}); try again shortly.")),
        s => Error::upstream(format!("{provider} refused the request ({s}){detail}")),
    }
}

/// "a", "a and b", "a, b and c".
fn join_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// How Gemini is told where its mask hint is.
pub const MASK_WORDS: &str = "the area shown white in the mask image";

/// The instruction as a model should read it: what must stay, then the one change and where.
/// `mask_words` names the masked area in the provider's terms.
pub fn compile_prompt(req: &EditRequest, mask_words: &str) -> String {
    let keep: Vec<&str> = req.keep.iter().map(|k| k.trim().trim_end_matches('.')).filter(|k| !k.is_empty()).collect();
    let region = match (req.mask.is_some(), req.bbox) {
        (true, Some(b)) => Some(format!("{mask_words}, inside the bounding box {:?}", b.values())),
        (true, None) => Some(mask_words.to_string()),
        (false, Some(b)) => Some(format!("the area inside the bounding box {:?}", b.values())),
        (false, None) => None,
    };
    let mut prompt = String::new();
    match (keep.is_empty(), &region) {
        (false, Some(_)) => {
            prompt += &format!("Keep {} unchanged, and everything outside the area to edit. ", join_list(&keep))
        }
        (false, None) => prompt += &format!("Keep {} unchanged. ", join_list(&keep)),
        (true, Some(_)) => prompt += "Keep everything outside the area to edit unchanged. ",
        (true, None) => {}
    }
    let instruction = req.instruction.trim().trim_end_matches('.');
    match &region {
        Some(region) => prompt += &format!("Only change {region}: {instruction}."),
        None => prompt += &format!("Only change this: {instruction}."),
    }
    if req.bbox.is_some() {
        prompt += " Bounding boxes are [ymin, xmin, ymax, xmax], normalised to 0-1000.";
    }
    prompt += " Return the whole image with the same framing, perspective and lighting.";
    prompt
}

/// One outgoing part. Image data is written verbatim (`RawValue`): escaping megabytes of
/// base64 that never needs it was the proxy's largest cost.
#[derive(Serialize)]
#[serde(untagged)]
enum OutPart {
    Text {
        text: String,
    },
    Inline {
        #[serde(rename = "inlineData")]
        inline_data: OutBlob,
    },
}

#[derive(Serialize)]
struct OutBlob {
    #[serde(rename = "mimeType")]
    mime_type: &'static str,
    data: Box<RawValue>,
}

#[derive(Serialize)]
struct OutTurn {
    role: &'static str,
    parts: Vec<OutPart>,
}

#[derive(Serialize)]
struct OutRequest {
    contents: [OutTurn; 1],
    #[serde(rename = "generationConfig")]
    generation_config: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Value>,
}

fn text(text: impl Into<String>) -> OutPart {
    OutPart::Text { text: text.into() }
}

/// A checked image as a part; `what` names it if its base64 is not a clean JSON string.
fn inline(what: &str, data: &str, limits: &pixelkeep::Limits) -> Result<(ImageHeader, OutPart)> {
    let (header, base64) = check_base64(what, data, limits)?;
    let mut quoted = String::with_capacity(base64.len() + 2);
    quoted.push('"');
    quoted.push_str(&base64);
    quoted.push('"');
    let data = RawValue::from_string(quoted).map_err(|_| Error::invalid(format!("The {what} is not valid base64.")))?;
    Ok((header, OutPart::Inline { inline_data: OutBlob { mime_type: header.mime_type, data } }))
}

/// The `generateContent` body for an edit, serialized; every image checked by its bytes first.
pub fn build_request(req: &EditRequest, model: &ModelProfile, limits: &pixelkeep::Limits) -> Result<Vec<u8>> {
    let (image, image_part) = inline("image", &req.image.data, limits)?;
    check_references(req, model)?;
    let mut parts = vec![text(compile_prompt(req, MASK_WORDS)), image_part];
    if let Some(mask) = &req.mask {
        let (mask, mask_part) = inline("mask", &mask.data, limits)?;
        if mask.size != image.size {
            return Err(Error::invalid(format!(
                "The mask is {} x {} pixels but the image is {} x {}: send a mask of the same size as the image.",
                mask.size.width, mask.size.height, image.size.width, image.size.height
            )));
        }
        parts.push(text("The next image is the mask for the image above: white marks the only area to change; black marks what must stay exactly as it is. Do not draw the mask."));
        parts.push(mask_part);
    }
    if !req.references.is_empty() {
        parts.push(text("Reference images for the change:"));
        for (i, r) in req.references.iter().enumerate() {
            parts.push(inline(&format!("reference {}", i + 1), &r.data, limits)?.1);
        }
    }
    let mut image_config = serde_json::Map::new();
    let output = req.output.clone().unwrap_or_default();
    if let Some(ratio) = output.aspect_ratio.as_deref().filter(|r| !r.is_empty()) {
        let Some(entry) = model.aspect_ratios.iter().find(|a| a.ratio == ratio) else {
            let ratios: Vec<&str> = model.aspect_ratios.iter().map(|a| a.ratio.as_str()).collect();
            return Err(Error::invalid(format!(
                "{} has no aspect ratio {ratio}; it offers {}.",
                model.id,
                ratios.join(", ")
            )));
        };
        image_config.insert("aspectRatio".into(), json!(ratio));
        if let Some(size) = output.size.as_deref().filter(|s| !s.is_empty()) {
            let Some(size) = entry.sizes.iter().find(|s| s.name.eq_ignore_ascii_case(size)) else {
                let names: Vec<&str> = entry.sizes.iter().map(|s| s.name.as_str()).collect();
                return Err(Error::invalid(format!("{} offers the sizes {} at {ratio}.", model.id, names.join(", "))));
            };
            // 2.5 Flash Image has one fixed size class and rejects imageSize.
            if entry.sizes.len() > 1 {
                image_config.insert("imageSize".into(), json!(size.name));
            }
        }
    }
    let mut generation_config = json!({"responseModalities": ["TEXT", "IMAGE"], "candidateCount": 1});
    if !image_config.is_empty() {
        generation_config["imageConfig"] = Value::Object(image_config);
    }
    let body = OutRequest {
        contents: [OutTurn { role: "user", parts }],
        generation_config,
        tools: req.grounding.then(|| json!([{"googleSearch": {}}])),
    };
    let capacity = req.image.data.len()
        + req.mask.as_ref().map_or(0, |m| m.data.len())
        + req.references.iter().map(|r| r.data.len()).sum::<usize>();
    let mut out = Vec::with_capacity(capacity + 4096);
    serde_json::to_writer(&mut out, &body)
        .map_err(|e| Error::invalid(format!("The request could not be encoded: {e}")))?;
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(alias = "prompt_feedback")]
    pub prompt_feedback: Option<PromptFeedback>,
    #[serde(alias = "usage_metadata")]
    pub usage_metadata: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub content: Option<Content>,
    #[serde(alias = "finish_reason")]
    pub finish_reason: Option<String>,
    #[serde(alias = "finish_message")]
    pub finish_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Content {
    #[serde(default)]
    pub parts: Vec<Part>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    pub text: Option<String>,
    #[serde(alias = "inline_data")]
    pub inline_data: Option<Blob>,
    #[serde(default)]
    pub thought: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    #[serde(default, alias = "mime_type")]
    pub mime_type: String,
    pub data: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    #[serde(alias = "block_reason")]
    pub block_reason: Option<String>,
    #[serde(alias = "block_reason_message")]
    pub block_reason_message: Option<String>,
}

const SAFETY_REASONS: &[&str] =
    &["SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_PROHIBITED_CONTENT"];

/// The final image is the last non-thought `inlineData` part; blocks and missing images are
/// typed errors carrying the model's own words.
pub fn parse_response(body: &[u8], limits: &pixelkeep::Limits) -> Result<EditResponse> {
    let response: GenerateResponse = serde_json::from_slice(body).map_err(|e| {
        tracing::warn!(error = %e, "gemini answer is not the expected JSON");
        Error::upstream("Gemini's answer could not be read.")
    })?;
    if let Some(feedback) = &response.prompt_feedback {
        if let Some(reason) = feedback.block_reason.as_deref().filter(|r| *r != "BLOCKED_REASON_UNSPECIFIED") {
            let detail = feedback.block_reason_message.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
            return Err(Error::new(
                ErrorCode::SafetyBlocked,
                format!("Gemini blocked this request ({reason}).{detail}"),
            ));
        }
    }
    let Some(candidate) = response.candidates.into_iter().next() else {
        return Err(Error::new(ErrorCode::NoImage, "Gemini returned no result for this edit; try rewording it."));
    };
    let finish = candidate.finish_reason.clone();
    let mut parts = candidate.content.map(|c| c.parts).unwrap_or_default();
    parts.retain(|p| p.thought != Some(true));
    let text: Vec<&str> =
        parts.iter().filter_map(|p| p.text.as_deref()).map(str::trim).filter(|t| !t.is_empty()).collect();
    let text = (!text.is_empty()).then(|| text.join("\n"));
    let said = |prefix: String| match (&text, &candidate.finish_message) {
        (Some(t), _) => format!("{prefix} The model said: \"{t}\""),
        (None, Some(m)) => format!("{prefix} {m}"),
        (None, None) => prefix,
    };
    if let Some(reason) = finish.as_deref().filter(|r| SAFETY_REASONS.contains(r)) {
        return Err(Error::new(
            ErrorCode::SafetyBlocked,
            said(format!("Gemini blocked the result ({reason}); try a different instruction or image.")),
        ));
    }
    let Some(blob) = parts.into_iter().filter_map(|p| p.inline_data).next_back() else {
        let reason = finish.as_deref().unwrap_or("no finish reason");
        return Err(Error::new(ErrorCode::NoImage, said(format!("Gemini answered without an image ({reason})."))));
    };
    let (image, data) = check_base64("result image", &blob.data, limits).map_err(|e| {
        tracing::warn!(error = %e, "gemini image unreadable");
        Error::upstream("Gemini's image could not be read.")
    })?;
    // The model's own string when it is already clean base64 (no copy of megabytes).
    let data = match data {
        Cow::Borrowed(b) if b.len() == blob.data.len() => None,
        other => Some(other.into_owned()),
    };
    Ok(EditResponse {
        image: InlineImage { mime_type: image.mime_type.into(), data: data.unwrap_or(blob.data) },
        text,
        provider: ID.into(),
        model: String::new(),
        finish_reason: finish,
        usage: response.usage_metadata,
        elapsed_ms: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelkeep::wire::InlineImage;

    fn request() -> EditRequest {
        EditRequest {
            provider: "gemini".into(),
            model: None,
            instruction: "make the mug red.".into(),
            keep: vec!["the logo".into(), "the table".into(), " ".into()],
            image: InlineImage { mime_type: "image/png".into(), data: String::new() },
            mask: None,
            bbox: pixelkeep::NormBox::new(200, 150, 600, 700),
            references: vec![],
            output: None,
            grounding: false,
            client_request_id: None,
        }
    }

    #[test]
    fn prompt_names_what_stays_and_where() {
        let p = compile_prompt(&request(), MASK_WORDS);
        assert!(
            p.starts_with("Keep the logo and the table unchanged, and everything outside the area to edit. "),
            "{p}"
        );
        assert!(
            p.contains("Only change the area inside the bounding box [200, 150, 600, 700]: make the mug red."),
            "{p}"
        );
    }

    #[test]
    fn profiles_follow_the_reference_tables() {
        let p = profile(None);
        assert_eq!(p.default_model, "gemini-2.5-flash-image");
        let flash = p.model(None).unwrap();
        assert_eq!(flash.aspect_ratios.len(), 10);
        assert_eq!(flash.aspect_ratios[4].sizes[0], OutputSize { name: "1K".into(), width: 1184, height: 864 });
        let pro = p.model(Some("gemini-3-pro-image")).unwrap();
        assert_eq!(pro.aspect_ratios[9].sizes[2].width, 6336);
        assert_eq!(p.model(Some("gemini-3.1-flash-image")).unwrap().aspect_ratios.len(), 14);
    }
}
