//! Compositing a model's answer into the original through the mask, and measuring drift.
use crate::geometry::{Rect, Size};
use crate::mask::Mask;
use crate::{Error, Result};
use image::RgbaImage;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How the edit mask becomes the blend mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompositeOptions {
    /// Grow (or, negative, shrink) the mask by this many pixels first.
    pub grow: i32,
    /// Then feather its edge over about this many pixels each side.
    pub feather: u32,
}

impl Default for CompositeOptions {
    fn default() -> Self {
        CompositeOptions { grow: 0, feather: 4 }
    }
}

impl CompositeOptions {
    /// How far the effective mask may reach beyond the edit mask.
    pub fn reach(self) -> u32 {
        self.grow.max(0) as u32 + self.feather.max(3) + 1
    }
}

/// The mask actually used to blend: grown, feathered, and never over a protected pixel.
pub fn effective_mask(mask: &Mask, protect: Option<&Mask>, options: CompositeOptions) -> Result<Mask> {
    let mut m = mask.grow(options.grow).feather(options.feather);
    if let Some(p) = protect {
        if p.size() != m.size() {
            return Err(size_mismatch(m.size(), p.size()));
        }
        m.data_mut().iter_mut().zip(p.data()).for_each(|(v, &locked)| *v = (*v).min(255 - locked));
    }
    Ok(m)
}

/// The effective mask of an edit mask given for `window` of a `frame`: grown and feathered
/// with the pixels around the window as room (so the edge falls off naturally), cut back
/// to the window, and never over a protected pixel. Work and memory scale with the window.
pub fn effective_window_mask(
    mask: &Mask,
    window: Rect,
    frame: Size,
    protect: Option<&Mask>,
    options: CompositeOptions,
) -> Result<Mask> {
    if mask.size() != window.size() || !frame.rect().contains(window) {
        return Err(size_mismatch(window.size(), mask.size()));
    }
    let room = window.outset(options.reach(), frame);
    let mut m = Mask::new(room.size());
    m.put(window.x - room.x, window.y - room.y, mask)?;
    let local = Rect { x: window.x - room.x, y: window.y - room.y, ..window };
    // In place where possible: at 50 MP every copy of a mask is 50 MB.
    let mut m = if options.grow != 0 { m.grow(options.grow) } else { m };
    m.feather_in_place(options.feather);
    let mut m = if local == room.size().rect() { m } else { m.crop(local)? };
    if let Some(p) = protect {
        if p.size() != frame {
            return Err(size_mismatch(frame, p.size()));
        }
        let locked = p.crop(window)?;
        m.data_mut().iter_mut().zip(locked.data()).for_each(|(v, &l)| *v = (*v).min(255 - l));
    }
    Ok(m)
}

/// Blends `patch` (the registered answer for `window`) into `target` through `mask`
/// (the window's size). Pixels where the mask is zero, or outside the window, are not
/// written.
///
/// # Guarantees
/// Where `mask` is 0 the target's bytes are unchanged; where it is 255 they are the patch's.
pub fn composite_into(target: &mut RgbaImage, patch: &RgbaImage, window: Rect, mask: &Mask) -> Result<()> {
    let frame = Size::new(target.width(), target.height()).ok_or(Error::Empty)?;
    if mask.size() != window.size() {
        return Err(size_mismatch(window.size(), mask.size()));
    }
    if (patch.width(), patch.height()) != (window.width, window.height) || !frame.rect().contains(window) {
        return Err(size_mismatch(window.size(), Size { width: patch.width(), height: patch.height() }));
    }
    let (fw, pw) = (frame.width as usize, window.width as usize);
    let target = target.as_mut();
    let patch = patch.as_raw();
    for row in 0..window.height as usize {
        let y = window.y as usize + row;
        let m = &mask.data()[row * pw..][..pw];
        let t = &mut target[(y * fw + window.x as usize) * 4..][..pw * 4];
        let p = &patch[row * pw * 4..][..pw * 4];
        for (i, &a) in m.iter().enumerate() {
            match a {
                0 => {}
                255 => t[i * 4..i * 4 + 4].copy_from_slice(&p[i * 4..i * 4 + 4]),
                a => {
                    let (a, na) = (a as u32, 255 - a as u32);
                    for c in i * 4..i * 4 + 4 {
                        let v = t[c] as u32 * na + p[c] as u32 * a + 127;
                        t[c] = ((v + (v >> 8)) >> 8) as u8;
                    }
                }
            }
        }
    }
    Ok(())
}

/// How much an image differs from a reference where a mask is zero (the protected pixels).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub protected_pixels: u64,
    pub changed_pixels: u64,
    pub max_abs_diff: u8,
    pub mean_abs_diff: f64,
    /// `None` when nothing changed (infinite PSNR).
    pub psnr_db: Option<f64>,
}

/// Compares `image` with `reference` over the pixels of `window` where `mask` (the
/// window's size) is zero. `reference` is the full frame; `image` is either the full frame
/// or just the window's pixels (a model's registered answer).
pub fn drift(reference: &RgbaImage, image: &RgbaImage, window: Rect, mask: &Mask) -> Result<Drift> {
    let frame = Size::new(reference.width(), reference.height()).ok_or(Error::Empty)?;
    let full = image.dimensions() == reference.dimensions();
    if mask.size() != window.size()
        || !frame.rect().contains(window)
        || !(full || image.dimensions() == (window.width, window.height))
    {
        return Err(size_mismatch(window.size(), Size { width: image.width(), height: image.height() }));
    }
    let (fw, ww) = (frame.width as usize, window.width as usize);
    let (mut protected, mut changed, mut max, mut sum_abs, mut sum_sq) = (0u64, 0u64, 0u8, 0u64, 0u64);
    for row in 0..window.height as usize {
        let y = window.y as usize + row;
        let m = &mask.data()[row * ww..][..ww];
        let r = &reference.as_raw()[(y * fw + window.x as usize) * 4..][..ww * 4];
        let p = if full {
            &image.as_raw()[(y * fw + window.x as usize) * 4..][..ww * 4]
        } else {
            &image.as_raw()[row * ww * 4..][..ww * 4]
        };
        protected += m.iter().filter(|&&a| a == 0).count() as u64;
        if r == p {
            continue; // the common case, compared at memcmp speed
        }
        for (i, _) in m.iter().enumerate().filter(|(_, &a)| a == 0) {
            let (a, b) = (&r[i * 4..i * 4 + 4], &p[i * 4..i * 4 + 4]);
            if a != b {
                changed += 1;
                for c in 0..4 {
                    let d = a[c].abs_diff(b[c]);
                    max = max.max(d);
                    sum_abs += d as u64;
                    sum_sq += d as u64 * d as u64;
                }
            }
        }
    }
    let samples = (protected * 4).max(1) as f64;
    let mse = sum_sq as f64 / samples;
    Ok(Drift {
        protected_pixels: protected,
        changed_pixels: changed,
        max_abs_diff: max,
        mean_abs_diff: sum_abs as f64 / samples,
        psnr_db: (mse > 0.0).then(|| 10.0 * (255.0f64 * 255.0 / mse).log10()),
    })
}

/// SHA-256 (hex) over the size and the RGBA bytes of every pixel where `mask` is zero,
/// in raster order: equal digests before and after prove the protected region unchanged.
pub fn protected_digest(image: &RgbaImage, mask: &Mask) -> Result<String> {
    if (mask.size().width, mask.size().height) != image.dimensions() {
        return Err(size_mismatch(mask.size(), Size { width: image.width(), height: image.height() }));
    }
    let mut h = Sha256::new();
    h.update(image.width().to_le_bytes());
    h.update(image.height().to_le_bytes());
    let px = image.as_raw();
    let mut run_start = None;
    // Hash runs of protected pixels at once: far faster than pixel by pixel.
    for (i, &a) in mask.data().iter().enumerate() {
        match (a == 0, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(s)) => {
                h.update(&px[s * 4..i * 4]);
                run_start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = run_start {
        h.update(&px[s * 4..]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn size_mismatch(expected: Size, actual: Size) -> Error {
    Error::SizeMismatch { expected: (expected.width, expected.height), actual: (actual.width, actual.height) }
}
