//! The `gemini` provider: `generateContent` on the Gemini image models.
use crate::config::ProviderConfig;
use crate::error::{Error, Result};
use crate::input::{check_base64, check_references, choose_model, ImageHeader};
use crate::payload::{Answer, Base64, Chunks, Edit, JsonWriter};
use crate::upstream::{scrub, Gate, Reply, Upstream};
use axum::body::Bytes;
use pixelkeep::wire::{
    AspectRatio, EditRequest, EditResponse, ErrorCode, InlineImage, MaskHandling, ModelProfile, OutputSize,
    ProviderProfile,
};
use serde::Deserialize;
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
    pub async fn generate(&self, upstream: &Upstream, model: &str, body: Chunks) -> Result<Reply> {
        let url = self.url(model, "generateContent");
        upstream
            .call(&self.gate, |client| {
                client
                    .post(&url)
                    .header("x-goog-api-key", self.config.key.expose())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(reqwest::Body::wrap(body.clone()))
            })
            .await
    }

    pub async fn edit(&self, upstream: &Upstream, req: &Edit, limits: &pixelkeep::Limits) -> Result<Answer> {
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
pub fn compile_prompt<D>(req: &EditRequest<D>, mask_words: &str) -> String {
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

/// One outgoing part: text, or a checked image whose base64 is sent as the slice it is.
enum OutPart {
    Text(String),
    Inline(&'static str, Bytes),
}

/// A checked image as a part: its base64 is the client's own (a slice of its body, not a
/// copy) when that is already standard padded base64.
fn inline(what: &str, data: &Base64, limits: &pixelkeep::Limits) -> Result<(ImageHeader, OutPart)> {
    let (header, base64) = check_base64(what, data.as_str(), limits)?;
    let part = data.share_part(&base64);
    // Unescaping the client's JSON can leave text that does not fit between quotes as it is.
    if !part.is_plain() && RawValue::from_string(format!("\"{base64}\"")).is_err() {
        return Err(Error::invalid(format!("The {what} is not valid base64.")));
    }
    Ok((header, OutPart::Inline(header.mime_type, part.into_bytes())))
}

/// The `generateContent` body for an edit; every image checked by its bytes first.
pub fn build_request(req: &Edit, model: &ModelProfile, limits: &pixelkeep::Limits) -> Result<Chunks> {
    let (image, image_part) = inline("image", &req.image.data, limits)?;
    check_references(req, model)?;
    let mut parts = vec![OutPart::Text(compile_prompt(req, MASK_WORDS)), image_part];
    if let Some(mask) = &req.mask {
        let (mask, mask_part) = inline("mask", &mask.data, limits)?;
        if mask.size != image.size {
            return Err(Error::invalid(format!(
                "The mask is {} x {} pixels but the image is {} x {}: send a mask of the same size as the image.",
                mask.size.width, mask.size.height, image.size.width, image.size.height
            )));
        }
        parts.push(OutPart::Text("The next image is the mask for the image above: white marks the only area to change; black marks what must stay exactly as it is. Do not draw the mask.".into()));
        parts.push(mask_part);
    }
    if !req.references.is_empty() {
        parts.push(OutPart::Text("Reference images for the change:".into()));
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
    let tools = req.grounding.then(|| json!([{"googleSearch": {}}]));
    write_request(parts, &generation_config, tools.as_ref())
        .map_err(|e| Error::invalid(format!("The request could not be encoded: {e}")))
}

/// `{"contents":[{"role":"user","parts":[...]}],"generationConfig":{...},"tools":[...]}`,
/// written by hand around the images so their megabytes are never copied.
fn write_request(parts: Vec<OutPart>, generation_config: &Value, tools: Option<&Value>) -> serde_json::Result<Chunks> {
    let mut out = JsonWriter::default();
    out.raw(br#"{"contents":[{"role":"user","parts":["#);
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.raw(b",");
        }
        match part {
            OutPart::Text(text) => out.value(&json!({ "text": text }))?,
            OutPart::Inline(mime_type, data) => {
                out.raw(br#"{"inlineData":{"mimeType":"#);
                out.value(&mime_type)?;
                out.raw(br#","data":""#);
                out.shared(data);
                out.raw(br#""}}"#);
            }
        }
    }
    out.raw(br#"]}],"generationConfig":"#);
    out.value(generation_config)?;
    if let Some(tools) = tools {
        out.raw(br#","tools":"#);
        out.value(tools)?;
    }
    out.raw(b"}");
    Ok(out.finish())
}

/// Gemini's answer, read in place: the image's base64 borrows the reply.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse<'a> {
    #[serde(default, borrow)]
    pub candidates: Vec<Candidate<'a>>,
    #[serde(alias = "prompt_feedback")]
    pub prompt_feedback: Option<PromptFeedback>,
    #[serde(alias = "usage_metadata")]
    pub usage_metadata: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate<'a> {
    #[serde(borrow)]
    pub content: Option<Content<'a>>,
    #[serde(alias = "finish_reason")]
    pub finish_reason: Option<String>,
    #[serde(alias = "finish_message")]
    pub finish_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Content<'a> {
    #[serde(default, borrow)]
    pub parts: Vec<Part<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part<'a> {
    pub text: Option<String>,
    #[serde(alias = "inline_data", borrow)]
    pub inline_data: Option<Blob<'a>>,
    #[serde(default)]
    pub thought: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob<'a> {
    #[serde(default, alias = "mime_type")]
    pub mime_type: String,
    #[serde(borrow)]
    pub data: Cow<'a, str>,
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
pub fn parse_response(body: &Bytes, limits: &pixelkeep::Limits) -> Result<Answer> {
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
    Ok(EditResponse {
        // The model's own string, a slice of the reply, when it is already clean base64.
        image: InlineImage { mime_type: image.mime_type.into(), data: Base64::share(body, &data) },
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

    fn base64_png(side: u32, seed: u64) -> String {
        // Noise, so the PNG is as large as its pixels: past the prefix the header check reads.
        let mut rng = fastrand::Rng::with_seed(seed);
        let rgba: Vec<u8> = (0..side * side * 4).map(|_| rng.u8(..)).collect();
        crate::input::encode_base64(&pixelkeep::encode_png(&rgba, pixelkeep::Size::new(side, side).unwrap()).unwrap())
    }

    fn edit(body: &Value) -> Edit {
        crate::payload::read_edit(&Bytes::from(serde_json::to_vec(body).unwrap())).unwrap()
    }

    #[test]
    fn the_upstream_body_carries_every_part() {
        let (image, mask, reference) = (base64_png(180, 1), base64_png(180, 2), base64_png(8, 3));
        let req = edit(&json!({"provider": "gemini", "model": "gemini-3-pro-image", "instruction": "make it blue",
            "image": {"mime_type": "image/jpeg", "data": image}, "mask": {"mime_type": "image/png", "data": mask},
            "references": [{"mime_type": "image/png", "data": reference}], "grounding": true,
            "output": {"aspect_ratio": "4:3", "size": "2k"}}));
        let profile = profile(None);
        let model = profile.model(Some("gemini-3-pro-image")).unwrap();
        let body = build_request(&req, model, &pixelkeep::Limits::default()).unwrap().to_vec();
        assert!(body.starts_with(br#"{"contents":[{"role":"user","parts":[{"text":"#));
        let blob = |data: &str| json!({"inlineData": {"mimeType": "image/png", "data": data}});
        let expected = json!({
            "contents": [{"role": "user", "parts": [
                {"text": compile_prompt(&req, MASK_WORDS)}, blob(&image),
                {"text": "The next image is the mask for the image above: white marks the only area to change; black marks what must stay exactly as it is. Do not draw the mask."},
                blob(&mask), {"text": "Reference images for the change:"}, blob(&reference)]}],
            "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "candidateCount": 1,
                "imageConfig": {"aspectRatio": "4:3", "imageSize": "2K"}},
            "tools": [{"googleSearch": {}}],
        });
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), expected);
    }

    #[test]
    fn escaped_base64_is_sent_unescaped_and_a_hidden_quote_refused() {
        let image = base64_png(180, 4);
        assert!(image.len() > 100_000 && image.contains('/'));
        let body =
            serde_json::to_string(&json!({"instruction": "x", "image": {"mime_type": "", "data": image}})).unwrap();
        let profile = profile(None);
        let send = |body: String| {
            let req = crate::payload::read_edit(&Bytes::from(body)).unwrap();
            build_request(&req, profile.model(None).unwrap(), &pixelkeep::Limits::default()).map(|c| c.to_vec())
        };
        // PHP's json_encode writes `\/` for `/`.
        let sent: Value = serde_json::from_slice(&send(body.replace('/', "\\/")).unwrap()).unwrap();
        assert_eq!(sent["contents"][0]["parts"][1]["inlineData"]["data"], json!(image));
        // Past the prefix the header check decodes, only the JSON check can see a quote.
        let at = body.find(&image).unwrap() + image.len() - 10;
        let quoted = format!("{}\\\"{}", &body[..at], &body[at + 1..]);
        assert_eq!(send(quoted).unwrap_err().message(), "The image is not valid base64.");
    }

    #[test]
    fn the_answer_image_is_a_slice_of_the_reply() {
        let image = base64_png(16, 5);
        let reply = |data: &str| {
            Bytes::from(format!(
                r#"{{"candidates":[{{"content":{{"parts":[{{"text":"ok"}},{{"inlineData":{{"mimeType":"image/png","data":"{data}"}}}}]}},"finishReason":"STOP"}}]}}"#
            ))
        };
        let body = reply(&image);
        let answer = parse_response(&body, &pixelkeep::Limits::default()).unwrap();
        assert_eq!((answer.image.data.as_str(), answer.text.as_deref()), (image.as_str(), Some("ok")));
        assert!(body.as_ptr_range().contains(&answer.image.data.as_bytes().as_ptr()));
        let escaped = parse_response(&reply(&image.replace('/', "\\/")), &pixelkeep::Limits::default()).unwrap();
        assert_eq!(escaped.image.data.as_str(), image);
    }
}
