//! High-quality resizing (Lanczos3) of RGBA images, with alpha premultiplied while
//! filtering, and of masks.
use crate::geometry::{Rect, Size};
use crate::mask::Mask;
use crate::{Error, Result};
use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::{U8x4, U8};
use fast_image_resize::{FilterType, PixelTrait, ResizeAlg, ResizeOptions, Resizer};
use image::RgbaImage;

/// Lanczos3 of one pixel type. Typed (not `Resizer::resize`, which dispatches at run time)
/// so only the pixel types we use are linked: that keeps half a megabyte of 16-bit tables
/// out of the wasm module.
fn resize_raw<P: PixelTrait>(src: &[u8], from: Size, crop: Rect, to: Size, premultiply: bool) -> Result<Vec<u8>> {
    if !from.rect().contains(crop) {
        return Err(Error::InvalidArgument("the crop lies outside the image".into()));
    }
    let bad = |e: &dyn std::fmt::Display| Error::InvalidArgument(e.to_string());
    let src = TypedImageRef::<P>::from_buffer(from.width, from.height, src).map_err(|e| bad(&e))?;
    let mut out = vec![0u8; to.area() as usize * std::mem::size_of::<P>()];
    let mut dst = TypedImage::<P>::from_buffer(to.width, to.height, &mut out).map_err(|e| bad(&e))?;
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(premultiply)
        .crop(crop.x as f64, crop.y as f64, crop.width as f64, crop.height as f64);
    Resizer::new().resize_typed(&src, &mut dst, &options).map_err(|e| bad(&e))?;
    Ok(out)
}

/// Whether every pixel of `crop` is opaque: then premultiplying changes nothing and is skipped.
fn opaque(image: &RgbaImage, crop: Rect) -> bool {
    let stride = image.width() as usize * 4;
    (crop.y..crop.bottom()).all(|y| {
        let start = y as usize * stride + crop.x as usize * 4;
        let row = &image.as_raw()[start..start + crop.width as usize * 4];
        // AND of whole pixels, row by row without an early exit: it vectorises (a byte-wise
        // `all` took 12 ms of a 24 MP preview's 72).
        let pixel = |p: &[u8]| u32::from_le_bytes(p.try_into().unwrap_or_default());
        row.chunks_exact(4).fold(u32::MAX, |all, p| all & pixel(p)) >> 24 == 0xFF
    })
}

/// The `crop` of `image` resized to `to` (Lanczos3, premultiplied alpha).
/// A crop already at the target size is copied exactly.
pub fn resize_rgba(image: &RgbaImage, crop: Rect, to: Size) -> Result<RgbaImage> {
    let from = Size::new(image.width(), image.height()).ok_or(Error::Empty)?;
    let data = if crop.size() == to {
        if !from.rect().contains(crop) {
            return Err(Error::InvalidArgument("the crop lies outside the image".into()));
        }
        image::imageops::crop_imm(image, crop.x, crop.y, crop.width, crop.height).to_image().into_raw()
    } else {
        resize_raw::<U8x4>(image.as_raw(), from, crop, to, !opaque(image, crop))?
    };
    RgbaImage::from_raw(to.width, to.height, data).ok_or(Error::Empty)
}

/// A mask resized to `to` (Lanczos3).
pub fn resize_mask(mask: &Mask, to: Size) -> Result<Mask> {
    resize_mask_crop(mask, mask.size().rect(), to)
}

/// The `crop` of a mask resized to `to`.
pub fn resize_mask_crop(mask: &Mask, crop: Rect, to: Size) -> Result<Mask> {
    if crop.size() == to {
        return mask.crop(crop);
    }
    let data = resize_raw::<U8>(mask.data(), mask.size(), crop, to, false)?;
    Mask::from_vec(to, data).ok_or(Error::Empty)
}

/// The size that fits within `max_edge` on its long side, keeping the aspect ratio.
pub fn fit_within(size: Size, max_edge: u32) -> Size {
    let long = size.width.max(size.height);
    if long <= max_edge || max_edge == 0 {
        return size;
    }
    let scale = max_edge as f64 / long as f64;
    Size {
        width: ((size.width as f64 * scale).round() as u32).max(1),
        height: ((size.height as f64 * scale).round() as u32).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn same_size_crop_is_exact_and_flat_colour_stays_flat() {
        let img = RgbaImage::from_fn(40, 30, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
        let r = Rect::new(5, 6, 10, 8).unwrap();
        let out = resize_rgba(&img, r, r.size()).unwrap();
        assert_eq!(out.get_pixel(0, 0), img.get_pixel(5, 6));
        let flat = RgbaImage::from_pixel(64, 64, image::Rgba([10, 200, 30, 255]));
        let small = resize_rgba(&flat, flat_rect(64), Size::new(17, 9).unwrap()).unwrap();
        assert!(small.pixels().all(|p| p.0 == [10, 200, 30, 255]));
    }

    #[test]
    fn transparent_pixels_do_not_bleed_colour() {
        // Left half opaque red, right half transparent green: premultiplied filtering keeps
        // the visible colour red at the seam.
        let img =
            RgbaImage::from_fn(
                64,
                8,
                |x, _| if x < 32 { image::Rgba([255, 0, 0, 255]) } else { image::Rgba([0, 255, 0, 0]) },
            );
        let out = resize_rgba(&img, Rect::new(0, 0, 64, 8).unwrap(), Size::new(16, 2).unwrap()).unwrap();
        let seam = out.get_pixel(8, 0);
        assert!(seam[3] > 0 && seam[1] < 8, "{seam:?}");
    }

    #[test]
    fn one_translucent_pixel_anywhere_in_the_crop_counts() {
        let mut img = RgbaImage::from_pixel(37, 5, image::Rgba([9, 9, 9, 255]));
        assert!(opaque(&img, Rect::new(0, 0, 37, 5).unwrap()));
        img.put_pixel(36, 4, image::Rgba([9, 9, 9, 254]));
        assert!(!opaque(&img, Rect::new(0, 0, 37, 5).unwrap()));
        assert!(opaque(&img, Rect::new(0, 0, 36, 5).unwrap()), "outside the crop it does not");
    }

    fn flat_rect(n: u32) -> Rect {
        Rect::new(0, 0, n, n).unwrap()
    }

    #[test]
    fn fit_within_keeps_aspect() {
        assert_eq!(fit_within(Size::new(6000, 4000).unwrap(), 2048), Size::new(2048, 1365).unwrap());
        assert_eq!(fit_within(Size::new(100, 50).unwrap(), 2048), Size::new(100, 50).unwrap());
    }
}
