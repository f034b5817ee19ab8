//! Decoding with limits checked before allocation, and encoding.
use crate::geometry::Size;
use crate::{Error, Result};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, RgbaImage};
use std::io::Cursor;

/// What a decoder may accept. Checked against the header before any pixel is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_side: u32,
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_side: 12_000, max_pixels: 60_000_000 }
    }
}

/// Image formats pixelkeep reads.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    match image::guess_format(bytes).ok()? {
        f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP) => Some(f),
        _ => None,
    }
}

/// The dimensions a file declares, read from its header only.
pub fn dimensions(bytes: &[u8]) -> Result<Size> {
    let format = sniff(bytes).ok_or(Error::UnsupportedFormat)?;
    let reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (w, h) = reader.into_dimensions().map_err(decode_error)?;
    Size::new(w, h).ok_or(Error::Empty)
}

/// Decodes PNG, JPEG or WebP to straight-alpha RGBA8 with EXIF orientation applied.
/// 16-bit, grayscale and CMYK inputs are converted; alpha is kept.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<RgbaImage> {
    Ok(decode_any(bytes, limits)?.into_rgba8())
}

/// Like [`decode`] but keeps the decoded colour type (for mask import).
pub(crate) fn decode_any(bytes: &[u8], limits: &Limits) -> Result<DynamicImage> {
    let format = sniff(bytes).ok_or(Error::UnsupportedFormat)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    // The decoder's own working memory: the pixels (up to 16-bit RGBA) plus slack.
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (w, h) = decoder.dimensions();
    let size = Size::new(w, h).ok_or(Error::Empty)?;
    if w > limits.max_side || h > limits.max_side || size.area() > limits.max_pixels {
        return Err(Error::TooLarge { width: w, height: h, max_side: limits.max_side, max_pixels: limits.max_pixels });
    }
    let orientation = decoder.orientation().map_err(decode_error)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn decode_error(e: image::ImageError) -> Error {
    match e {
        image::ImageError::Limits(_) => Error::Decode("the image exceeds the size limits".into()),
        image::ImageError::Unsupported(u) => Error::Decode(u.to_string()),
        other => Error::Decode(other.to_string()),
    }
}

/// Lossless PNG of straight-alpha RGBA8, with fast settings (these files are sent, not kept).
pub fn encode_png(rgba: &[u8], size: Size) -> Result<Vec<u8>> {
    crate::mask::check_rgba(rgba, size)?;
    encode(rgba, size, image::ExtendedColorType::Rgba8)
}

/// Lossless 8-bit grayscale PNG.
pub fn encode_png_gray(gray: &[u8], size: Size) -> Result<Vec<u8>> {
    if gray.len() as u64 != size.area() {
        return Err(Error::SizeMismatch { expected: (size.width, size.height), actual: (gray.len() as u32, 1) });
    }
    encode(gray, size, image::ExtendedColorType::L8)
}

fn encode(pixels: &[u8], size: Size, color: image::ExtendedColorType) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(pixels, size.width, size.height, color)
        .map_err(|e| Error::Encode(e.to_string()))?;
    Ok(out)
}

/// JPEG at `quality` (1–100). JPEG has no alpha: transparent pixels are flattened on white.
pub fn encode_jpeg(rgba: &[u8], size: Size, quality: u8) -> Result<Vec<u8>> {
    crate::mask::check_rgba(rgba, size)?;
    if !(1..=100).contains(&quality) {
        return Err(Error::InvalidArgument("JPEG quality must be 1 to 100".into()));
    }
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| {
            let a = p[3] as u32;
            [0, 1, 2].map(|c| ((p[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8)
        })
        .collect();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(&rgb, size.width, size.height, image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect();
        encode_png(&rgba, Size::new(w, h).unwrap()).unwrap()
    }

    #[test]
    fn round_trips_png_exactly() {
        let rgba: Vec<u8> = (0..16 * 9 * 4).map(|i| (i * 7 % 251) as u8).collect();
        let bytes = encode_png(&rgba, Size::new(16, 9).unwrap()).unwrap();
        assert_eq!(decode(&bytes, &Limits::default()).unwrap().into_raw(), rgba);
    }

    #[test]
    fn refuses_what_is_not_an_image() {
        assert!(matches!(decode(b"hello, world", &Limits::default()), Err(Error::UnsupportedFormat)));
        let mut truncated = png(64, 64);
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(decode(&truncated, &Limits::default()), Err(Error::Decode(_))));
    }

    #[test]
    fn limits_are_checked_from_the_header() {
        let bytes = png(300, 200);
        let limits = Limits { max_side: 250, max_pixels: 1_000_000 };
        assert!(matches!(decode(&bytes, &limits), Err(Error::TooLarge { width: 300, height: 200, .. })));
        let limits = Limits { max_side: 1000, max_pixels: 50_000 };
        assert!(matches!(decode(&bytes, &limits), Err(Error::TooLarge { .. })));
    }
}
