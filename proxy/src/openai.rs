//! The `openai` provider: multipart `POST /v1/images/edits`.
use crate::config::ProviderConfig;
use crate::error::{Error, Result};
use crate::gemini::status_error;
use crate::input::{check_base64, check_references, choose_model, CheckedImage};
use crate::payload::{Answer, Base64, Edit};
use crate::upstream::{scrub, Gate, Upstream};
use pixelkeep::wire::{
    AspectRatio, EditResponse, ErrorCode, InlineImage, MaskHandling, ModelProfile, OutputSize, ProviderProfile,
};
use pixelkeep::{Mask, MaskConvention, Size};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

pub const ID: &str = "openai";
pub const DEFAULT_MODEL: &str = "gpt-image-1.5";

/// GPT image models' fixed edit sizes, named by aspect ratio.
const SIZES: &[(&str, u32, u32)] = &[("1:1", 1024, 1024), ("3:2", 1536, 1024), ("2:3", 1024, 1536)];

fn model(id: &str) -> ModelProfile {
    ModelProfile {
        id: id.into(),
        aspect_ratios: SIZES
            .iter()
            .map(|&(ratio, width, height)| AspectRatio {
                ratio: ratio.into(),
                sizes: vec![OutputSize { name: "1K".into(), width, height }],
            })
            .collect(),
        // Up to 16 images, one of them the photo.
        max_references: 15,
        max_input_side: 2048,
        max_input_bytes: 20_000_000,
        price_per_image_usd: None,
    }
}

pub fn profile(default_model: Option<&str>) -> ProviderProfile {
    let default_model = default_model.unwrap_or(DEFAULT_MODEL).to_string();
    let mut models: Vec<ModelProfile> =
        ["gpt-image-1.5", "gpt-image-1", "gpt-image-1-mini"].into_iter().map(model).collect();
    if !models.iter().any(|m| m.id == default_model) {
        models.push(model(&default_model));
    }
    ProviderProfile { id: ID.into(), label: "OpenAI".into(), mask: MaskHandling::Native, default_model, models }
}

/// The supported size whose aspect ratio is nearest the image's (compared in log space).
pub fn nearest_size(size: Size) -> &'static str {
    let aspect = (size.width as f64 / size.height as f64).ln();
    let (_, w, h) = SIZES
        .iter()
        .min_by(|a, b| {
            let d = |s: &&(&str, u32, u32)| ((s.1 as f64 / s.2 as f64).ln() - aspect).abs();
            d(a).total_cmp(&d(b))
        })
        .copied()
        .unwrap_or(SIZES[0]);
    match (w, h) {
        (1536, 1024) => "1536x1024",
        (1024, 1536) => "1024x1536",
        _ => "1024x1024",
    }
}

#[derive(Debug)]
pub struct OpenAi {
    pub config: ProviderConfig,
    pub profile: ProviderProfile,
    pub gate: Gate,
}

/// Checked inputs, ready to be put in a form once per attempt.
struct Prepared {
    images: Vec<CheckedImage>,
    mask_png: Option<Vec<u8>>,
    prompt: String,
    model: String,
    size: String,
}

impl Prepared {
    fn form(&self) -> Form {
        let file = |bytes: &[u8], name: String, mime: &str| {
            Part::bytes(bytes.to_vec()).file_name(name).mime_str(mime).unwrap_or_else(|_| Part::bytes(bytes.to_vec()))
        };
        let extension = |mime: &str| mime.rsplit('/').next().unwrap_or("png").to_string();
        // One image is `image`; several are `image[]`, as the SDK sends them.
        let field = if self.images.len() > 1 { "image[]" } else { "image" };
        let mut form = Form::new();
        for (i, image) in self.images.iter().enumerate() {
            form = form
                .part(field, file(&image.bytes, format!("image{i}.{}", extension(image.mime_type)), image.mime_type));
        }
        if let Some(mask) = &self.mask_png {
            form = form.part("mask", file(mask, "mask.png".into(), "image/png"));
        }
        form.text("prompt", self.prompt.clone())
            .text("model", self.model.clone())
            .text("size", self.size.clone())
            .text("quality", "auto")
            .text("n", "1")
    }
}

impl OpenAi {
    pub fn new(config: ProviderConfig, concurrency: usize) -> Self {
        OpenAi { profile: profile(config.model.as_deref()), config, gate: Gate::new(ID, concurrency) }
    }

    pub async fn edit(&self, upstream: &Upstream, req: &Edit, limits: &pixelkeep::Limits) -> Result<Answer> {
        let model = choose_model(&self.profile, "OpenAI", req)?;
        let prepared = prepare(req, model, limits).await?;
        let url = format!("{}/v1/images/edits", self.config.base_url);
        let key = self.config.key.expose();
        let reply =
            upstream.call(&self.gate, |client| client.post(&url).bearer_auth(key).multipart(prepared.form())).await?;
        let json: Option<Value> = serde_json::from_slice(&reply.body).ok();
        if !reply.is_success() {
            let error = json.as_ref().map(|v| &v["error"]);
            let code = error.and_then(|e| e["code"].as_str()).unwrap_or_default();
            let message = error.and_then(|e| e["message"].as_str()).map(|m| scrub(m, key)).unwrap_or_default();
            tracing::warn!(status = %reply.status, attempts = reply.attempts, code, message, "openai error");
            if code == "moderation_blocked" {
                return Err(Error::new(
                    ErrorCode::SafetyBlocked,
                    "OpenAI's safety system blocked this edit; try a different instruction or image.",
                ));
            }
            return Err(status_error("OpenAI", &reply, &message));
        }
        let Some(json) = json else {
            tracing::warn!("openai answer is not JSON");
            return Err(Error::upstream("OpenAI's answer could not be read."));
        };
        let Some(data) = json["data"][0]["b64_json"].as_str() else {
            return Err(Error::new(ErrorCode::NoImage, "OpenAI answered without an image."));
        };
        let (image, data) = check_base64("result image", data, limits)
            .map_err(|_| Error::upstream("OpenAI's image could not be read."))?;
        Ok(EditResponse {
            image: InlineImage { mime_type: image.mime_type.into(), data: Base64::from(data.into_owned()) },
            text: json["revised_prompt"].as_str().or(json["data"][0]["revised_prompt"].as_str()).map(str::to_string),
            provider: ID.into(),
            model: model.id.clone(),
            finish_reason: Some("STOP".into()),
            usage: json.get("usage").cloned(),
            elapsed_ms: 0,
        })
    }
}

async fn prepare(req: &Edit, model: &ModelProfile, limits: &pixelkeep::Limits) -> Result<Prepared> {
    let image = CheckedImage::from_inline("image", &req.image, limits)?;
    check_references(req, model)?;
    let size = match req.output.as_ref().and_then(|o| o.aspect_ratio.as_deref()).filter(|r| !r.is_empty()) {
        Some(ratio) => match SIZES.iter().find(|s| s.0 == ratio) {
            Some(&(_, w, h)) => format!("{w}x{h}"),
            None => return Err(Error::invalid(format!("{} offers the aspect ratios 1:1, 3:2 and 2:3.", model.id))),
        },
        None => nearest_size(image.size).to_string(),
    };
    let mask_png = match &req.mask {
        Some(mask) => {
            let mask = CheckedImage::from_inline("mask", mask, limits)?;
            if mask.size != image.size {
                return Err(Error::invalid(format!(
                    "The mask is {} x {} pixels but the image is {} x {}: send a mask of the same size as the image.",
                    mask.size.width, mask.size.height, image.size.width, image.size.height
                )));
            }
            // OpenAI reads alpha 0 as "edit here"; the widget sends white = edit.
            let target = image.size;
            let converted = tokio::task::spawn_blocking(move || {
                Mask::from_png(&mask.bytes, None, target, false).and_then(|m| m.to_png(MaskConvention::AlphaEdit))
            })
            .await
            .map_err(|_| Error::invalid("The mask could not be converted."))?;
            Some(converted.map_err(|e| Error::from_core("mask", e))?)
        }
        None => None,
    };
    let mut images = vec![image];
    for (i, r) in req.references.iter().enumerate() {
        images.push(CheckedImage::from_inline(&format!("reference {}", i + 1), r, limits)?);
    }
    Ok(Prepared {
        images,
        mask_png,
        prompt: crate::gemini::compile_prompt(req, "the masked (transparent) area"),
        model: model.id.clone(),
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_nearest_aspect() {
        let s = |w, h| nearest_size(Size::new(w, h).unwrap());
        assert_eq!(s(600, 400), "1536x1024");
        assert_eq!(s(400, 600), "1024x1536");
        assert_eq!(s(512, 500), "1024x1024");
        assert_eq!(s(1000, 872), "1024x1024");
    }
}
