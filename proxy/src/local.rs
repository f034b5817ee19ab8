//! The `local` provider: the core's engine, run natively on a blocking thread.
use crate::error::{Error, Result};
use crate::input::{decode_base64, encode_base64};
use crate::payload::{Answer, Base64, Edit};
use pixelkeep::wire::{EditResponse, ErrorCode, InlineImage, MaskHandling, ModelProfile, ProviderProfile};
use pixelkeep::{apply_operation, Mask, NormBox, Operation, Shape, Size};
use tokio::sync::Semaphore;

pub const ID: &str = "local";
pub const MODEL: &str = "pixelkeep-local";

pub fn profile(limits: &crate::config::Limits) -> ProviderProfile {
    ProviderProfile {
        id: ID.into(),
        label: "Local engine (no API key)".into(),
        mask: MaskHandling::Native,
        default_model: MODEL.into(),
        models: vec![ModelProfile {
            id: MODEL.into(),
            aspect_ratios: Vec::new(),
            max_references: 0,
            max_input_side: 4096,
            max_input_bytes: limits.body_bytes as u64,
            price_per_image_usd: None,
        }],
    }
}

/// One local edit: the photo's bytes, the region (mask and/or box; neither = the whole
/// image) and the operation.
#[derive(Debug)]
pub struct LocalEdit {
    pub image: Vec<u8>,
    /// PNG, white = edit, the image's size.
    pub mask: Option<Vec<u8>>,
    pub bbox: Option<NormBox>,
    pub operation: Operation,
}

impl LocalEdit {
    pub fn parse_instruction(instruction: &str) -> Result<Operation> {
        Operation::parse(instruction).map_err(|message| Error::new(ErrorCode::UnsupportedInstruction, message))
    }

    pub fn from_request(req: &Edit) -> Result<Self> {
        // The keep list needs no handling: the engine changes only the region.
        let operation = Self::parse_instruction(&req.instruction)?;
        if !req.references.is_empty() {
            return Err(Error::invalid("The local engine takes no reference images."));
        }
        let image =
            decode_base64(req.image.data.as_str()).ok_or_else(|| Error::invalid("The image is not valid base64."))?;
        let mask = match &req.mask {
            Some(m) => {
                Some(decode_base64(m.data.as_str()).ok_or_else(|| Error::invalid("The mask is not valid base64."))?)
            }
            None => None,
        };
        Ok(LocalEdit { image, mask, bbox: req.bbox, operation })
    }

    /// Runs the edit with at most `gate`'s permits at once; answers a PNG.
    pub async fn run(self, limits: pixelkeep::Limits, gate: &Semaphore) -> Result<Vec<u8>> {
        let _permit = gate
            .acquire()
            .await
            .map_err(|_| Error::new(ErrorCode::UpstreamUnavailable, "The server is shutting down."))?;
        tokio::task::spawn_blocking(move || self.run_blocking(&limits))
            .await
            .map_err(|_| Error::upstream("The local engine failed on this image."))?
    }

    fn run_blocking(self, limits: &pixelkeep::Limits) -> Result<Vec<u8>> {
        let mut image = pixelkeep::decode(&self.image, limits).map_err(|e| Error::from_core("image", e))?;
        let size =
            Size::new(image.width(), image.height()).ok_or_else(|| Error::invalid("The image has no pixels."))?;
        let mask = region(size, self.mask.as_deref(), self.bbox)?;
        apply_operation(&mut image, &mask, self.operation).map_err(|e| Error::from_core("edit", e))?;
        pixelkeep::encode_png(image.as_raw(), size).map_err(|e| Error::from_core("result", e))
    }
}

/// The edit region: the mask, the box, or both (their union); neither means the whole image.
fn region(size: Size, mask: Option<&[u8]>, bbox: Option<NormBox>) -> Result<Mask> {
    let mut region = match mask {
        Some(bytes) => {
            let declared = pixelkeep::dimensions(bytes).map_err(|e| Error::from_core("mask", e))?;
            if declared != size {
                return Err(Error::invalid(format!(
                    "The mask is {} x {} pixels but the image is {} x {}: send a mask of the same size as the image.",
                    declared.width, declared.height, size.width, size.height
                )));
            }
            Mask::from_png(bytes, None, size, false).map_err(|e| Error::from_core("mask", e))?
        }
        None if bbox.is_some() => Mask::new(size),
        None => {
            let mut everything = Mask::new(size);
            everything.invert();
            everything
        }
    };
    if let Some(b) = bbox {
        region.paint(&Shape::Box { r#box: b }, false).map_err(|e| Error::from_core("box", e))?;
    }
    Ok(region)
}

/// `POST /api/edit` with the local provider.
pub async fn edit(req: &Edit, limits: pixelkeep::Limits, gate: &Semaphore) -> Result<Answer> {
    let png = LocalEdit::from_request(req)?.run(limits, gate).await?;
    Ok(EditResponse {
        image: InlineImage { mime_type: "image/png".into(), data: Base64::from(encode_base64(&png)) },
        text: None,
        provider: ID.into(),
        model: MODEL.into(),
        finish_reason: Some("STOP".into()),
        usage: None,
        elapsed_ms: 0,
    })
}
