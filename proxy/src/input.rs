//! Images as clients send them, checked by their bytes (magic and header) before any
//! provider sees them: the declared MIME type is never trusted.
use crate::error::{Error, Result};
use crate::payload::Base64;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use pixelkeep::wire::{EditRequest, InlineImage, ModelProfile, ProviderProfile};
use pixelkeep::Size;
use std::borrow::Cow;

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Base64 as standard or URL-safe alphabet, padded or not, with an optional `data:` prefix.
pub fn decode_base64(data: &str) -> Option<Vec<u8>> {
    let data = data.trim();
    let data = match data.strip_prefix("data:") {
        Some(rest) => rest.split_once(',')?.1,
        None => data,
    };
    STANDARD.decode(data).or_else(|_| URL_SAFE.decode(data)).ok()
}

pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What an image's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// From the bytes, not from the client.
    pub mime_type: &'static str,
    /// As the header declares it (before any EXIF rotation).
    pub size: Size,
}

impl ImageHeader {
    /// Magic bytes and header dimensions, within `limits`. `what` names the input in messages
    /// ("image", "mask", "reference 2").
    pub fn read(what: &str, bytes: &[u8], limits: &pixelkeep::Limits) -> Result<Self> {
        let format = pixelkeep::sniff(bytes).ok_or_else(|| {
            Error::invalid(format!("The {what} is not a PNG, JPEG or WebP image (its bytes say otherwise)."))
        })?;
        let size = pixelkeep::dimensions(bytes).map_err(|e| Error::from_core(what, e))?;
        if size.width > limits.max_side || size.height > limits.max_side || size.area() > limits.max_pixels {
            let e = pixelkeep::Error::TooLarge {
                width: size.width,
                height: size.height,
                max_side: limits.max_side,
                max_pixels: limits.max_pixels,
            };
            return Err(Error::from_core(what, e));
        }
        Ok(ImageHeader { mime_type: format.to_mime_type(), size })
    }
}

/// Enough of an image to find its header in nearly every file (JPEG's comes after EXIF).
const HEADER_PREFIX_CHARS: usize = 96 * 1024;

/// Checks a base64 image by its header, decoding only a prefix when it can: forwarding
/// megabytes must not cost a full decode. Returns the header and the image as standard
/// padded base64 — `data` itself when it already is that (the usual case).
pub fn check_base64<'a>(what: &str, data: &'a str, limits: &pixelkeep::Limits) -> Result<(ImageHeader, Cow<'a, str>)> {
    let trimmed = data.trim();
    let (body, prefixed) = match trimmed.strip_prefix("data:") {
        Some(rest) => (rest.split_once(',').map_or("", |(_, b)| b), true),
        None => (trimmed, false),
    };
    let padded = !prefixed && body.len() % 4 == 0;
    if padded && body.len() > HEADER_PREFIX_CHARS {
        if let Ok(head) = STANDARD.decode(&body[..HEADER_PREFIX_CHARS]) {
            if let Ok(header) = ImageHeader::read(what, &head, limits) {
                return Ok((header, Cow::Borrowed(body)));
            }
        }
    }
    let (bytes, standard) = match STANDARD.decode(body) {
        Ok(bytes) => (bytes, padded),
        Err(_) => {
            (URL_SAFE.decode(body).map_err(|_| Error::invalid(format!("The {what} is not valid base64.")))?, false)
        }
    };
    let header = ImageHeader::read(what, &bytes, limits)?;
    Ok((header, if standard { Cow::Borrowed(body) } else { Cow::Owned(encode_base64(&bytes)) }))
}

/// An image whose bytes were checked: a format we read, with a header within limits.
#[derive(Debug, Clone)]
pub struct CheckedImage {
    pub bytes: Vec<u8>,
    /// From the bytes, not from the client.
    pub mime_type: &'static str,
    /// As the header declares it (before any EXIF rotation).
    pub size: Size,
}

impl CheckedImage {
    pub fn from_base64(what: &str, data: &str, limits: &pixelkeep::Limits) -> Result<Self> {
        let bytes = decode_base64(data).ok_or_else(|| Error::invalid(format!("The {what} is not valid base64.")))?;
        Self::from_bytes(what, bytes, limits)
    }

    pub fn from_inline(what: &str, image: &InlineImage<Base64>, limits: &pixelkeep::Limits) -> Result<Self> {
        Self::from_base64(what, image.data.as_str(), limits)
    }

    pub fn from_bytes(what: &str, bytes: Vec<u8>, limits: &pixelkeep::Limits) -> Result<Self> {
        let ImageHeader { mime_type, size } = ImageHeader::read(what, &bytes, limits)?;
        Ok(CheckedImage { bytes, mime_type, size })
    }
}

/// References are counted before anything is sent: over the model's limit is refused, never
/// truncated.
pub fn check_references<D>(req: &EditRequest<D>, model: &ModelProfile) -> Result<()> {
    if req.references.len() as u32 > model.max_references {
        return Err(Error::invalid(format!(
            "{} accepts at most {} reference images; {} were sent.",
            model.id,
            model.max_references,
            req.references.len()
        )));
    }
    Ok(())
}

/// The model the request names (its default when none), or an error listing the offered ones.
pub fn choose_model<'a, D>(profile: &'a ProviderProfile, name: &str, req: &EditRequest<D>) -> Result<&'a ModelProfile> {
    profile.model(req.model.as_deref().filter(|m| !m.is_empty())).ok_or_else(|| {
        let ids: Vec<&str> = profile.models.iter().map(|m| m.id.as_str()).collect();
        Error::invalid(format!("Unknown {name} model; this server offers: {}.", ids.join(", ")))
    })
}
