//! Compositing a model's answer into the original through the mask, and measuring drift.
use crate::geometry::{Rect, Size};
use crate::mask::{runs, Coverage, Mask};
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
/// written (nor read: the blend walks runs of the mask).
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
        // Runs, not pixels: a mask is long stretches of 0 and 255 with a thin soft edge.
        for (run, coverage) in runs(m) {
            let bytes = run.start * 4..run.end * 4;
            match coverage {
                Coverage::None => {}
                Coverage::Full => t[bytes.clone()].copy_from_slice(&p[bytes]),
                Coverage::Partial => {
                    for ((t, p), &a) in t[bytes.clone()].chunks_exact_mut(4).zip(p[bytes].chunks_exact(4)).zip(&m[run])
                    {
                        let (a, na) = (a as u32, 255 - a as u32);
                        for (t, &p) in t.iter_mut().zip(p) {
                            // (x + 128 + ((x + 128) >> 8)) >> 8 is x / 255 rounded, exactly, for x <= 255².
                            let v = *t as u32 * na + p as u32 * a + 128;
                            *t = ((v + (v >> 8)) >> 8) as u8;
                        }
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

/// Compares `image` with `reference` over the pixels of `window` where `mask` is zero.
/// `reference` is the full frame; `image` is either the full frame or just the window's
/// pixels (a model's registered answer); `mask` is either the window's size or the
/// frame's (then read at the window).
pub fn drift(reference: &RgbaImage, image: &RgbaImage, window: Rect, mask: &Mask) -> Result<Drift> {
    let frame = Size::new(reference.width(), reference.height()).ok_or(Error::Empty)?;
    let full = image.dimensions() == reference.dimensions();
    let mask_full = mask.size() == frame;
    if !(mask_full || mask.size() == window.size())
        || !frame.rect().contains(window)
        || !(full || image.dimensions() == (window.width, window.height))
    {
        return Err(size_mismatch(window.size(), Size { width: image.width(), height: image.height() }));
    }
    let (fw, ww) = (frame.width as usize, window.width as usize);
    let at_window = |row: usize| (window.y as usize + row) * fw + window.x as usize;
    let mut sums = DriftSums::default();
    for row in 0..window.height as usize {
        let m = &mask.data()[if mask_full { at_window(row) } else { row * ww }..][..ww];
        let r = &reference.as_raw()[at_window(row) * 4..][..ww * 4];
        let p = &image.as_raw()[if full { at_window(row) } else { row * ww } * 4..][..ww * 4];
        for (run, coverage) in runs(m) {
            if coverage == Coverage::None {
                sums.add(&r[run.start * 4..run.end * 4], &p[run.start * 4..run.end * 4]);
            }
        }
    }
    Ok(sums.finish())
}

/// Running totals of a drift, added run by run.
#[derive(Default)]
struct DriftSums {
    protected: u64,
    changed: u64,
    max: u8,
    sum_abs: u64,
    sum_sq: u64,
}

impl DriftSums {
    /// Adds two equally long runs of RGBA bytes.
    fn add(&mut self, a: &[u8], b: &[u8]) {
        self.protected += (a.len() / 4) as u64;
        for (a, b) in a.chunks(BLOCK).zip(b.chunks(BLOCK)) {
            // A protected region mostly is equal, and then costs no more than reading it.
            if same(a, b) {
                continue;
            }
            let block = block_sums(a, b);
            self.changed += block.changed as u64;
            self.sum_abs += block.sum as u64;
            self.sum_sq += block.sq as u64;
            self.max = self.max.max(block.max);
        }
    }

    fn finish(self) -> Drift {
        let samples = (self.protected * 4).max(1) as f64;
        let mse = self.sum_sq as f64 / samples;
        Drift {
            protected_pixels: self.protected,
            changed_pixels: self.changed,
            max_abs_diff: self.max,
            mean_abs_diff: self.sum_abs as f64 / samples,
            psnr_db: (mse > 0.0).then(|| 10.0 * (255.0f64 * 255.0 / mse).log10()),
        }
    }
}

/// Bytes per block: small enough that no lane of [`block_sums`] can overflow.
const BLOCK: usize = 2048;

/// The sums of a drift over one block of at most [`BLOCK`] bytes (whole pixels).
#[derive(Debug, Default, PartialEq)]
struct BlockSums {
    changed: u32,
    sum: u32,
    sq: u32,
    max: u8,
}

/// Sixteen bytes per step in one SIMD register: the drift of a full-frame answer
/// reads some hundred megabytes, and plain loops leave most of the speed unused.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn block_sums(a: &[u8], b: &[u8]) -> BlockSums {
    use core::arch::wasm32::*;
    let load = |c: &[u8]| {
        let c: &[u8; 16] = c.try_into().unwrap_or(&[0; 16]);
        u8x16(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15])
    };
    let (xs, ys) = (a.chunks_exact(16), b.chunks_exact(16));
    let mut tail = scalar_block_sums(xs.remainder(), ys.remainder());
    // Per lane at most 128 steps: sums of pairs (510 each) fit u16, of squares (4 * 255²) i32.
    let (mut sum, mut sq, mut max, mut changed) = (u16x8_splat(0), i32x4_splat(0), u8x16_splat(0), i32x4_splat(0));
    for (x, y) in xs.zip(ys) {
        let (x, y) = (load(x), load(y));
        let d = v128_or(u8x16_sub_sat(x, y), u8x16_sub_sat(y, x));
        max = u8x16_max(max, d);
        sum = u16x8_add(sum, u16x8_extadd_pairwise_u8x16(d));
        let (lo, hi) = (u16x8_extend_low_u8x16(d), u16x8_extend_high_u8x16(d));
        sq = i32x4_add(sq, i32x4_add(i32x4_dot_i16x8(lo, lo), i32x4_dot_i16x8(hi, hi)));
        changed = i32x4_sub(changed, i32x4_ne(x, y)); // ne is -1 per differing pixel
    }
    let sum = u32x4_extadd_pairwise_u16x8(sum);
    let lanes = |v: v128| {
        [u32x4_extract_lane::<0>(v), u32x4_extract_lane::<1>(v), u32x4_extract_lane::<2>(v), u32x4_extract_lane::<3>(v)]
    };
    tail.changed += lanes(changed).iter().sum::<u32>();
    tail.sum += lanes(sum).iter().sum::<u32>();
    tail.sq += lanes(sq).iter().sum::<u32>();
    tail.max = lanes(max).iter().flat_map(|l| l.to_le_bytes()).fold(tail.max, u8::max);
    tail
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn block_sums(a: &[u8], b: &[u8]) -> BlockSums {
    scalar_block_sums(a, b)
}

fn scalar_block_sums(a: &[u8], b: &[u8]) -> BlockSums {
    let mut s = BlockSums::default();
    for (x, y) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        s.changed += (x != y) as u32;
        for (&x, &y) in x.iter().zip(y) {
            let d = x.abs_diff(y);
            (s.sum, s.sq, s.max) = (s.sum + d as u32, s.sq + d as u32 * d as u32, s.max.max(d));
        }
    }
    s
}

/// Whether two equally long byte runs are equal: eight bytes at a time, without early exit,
/// so it vectorises.
fn same(a: &[u8], b: &[u8]) -> bool {
    let word = |c: &[u8]| u64::from_ne_bytes(c.try_into().unwrap_or_default());
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca.remainder() == cb.remainder();
    tail && ca.zip(cb).fold(0, |acc, (x, y)| acc | (word(x) ^ word(y))) == 0
}

/// Copies `source`'s pixels into `target` (the same size) wherever `mask` (the same size)
/// is not zero.
pub(crate) fn copy_where(target: &mut RgbaImage, source: &RgbaImage, mask: &Mask) -> Result<()> {
    let size = mask.size();
    if target.dimensions() != source.dimensions() || target.dimensions() != (size.width, size.height) {
        return Err(size_mismatch(size, Size { width: target.width(), height: target.height() }));
    }
    let w = size.width as usize;
    let rows = target.as_mut().chunks_exact_mut(w * 4).zip(source.as_raw().chunks_exact(w * 4));
    for ((t, s), m) in rows.zip(mask.data().chunks_exact(w)) {
        for (run, coverage) in runs(m) {
            if coverage != Coverage::None {
                t[run.start * 4..run.end * 4].copy_from_slice(&s[run.start * 4..run.end * 4]);
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The block kernel (SIMD on wasm32) counts exactly what the plain loop counts, at every
    /// length up to a block, for random bytes and for the extremes that could overflow a lane.
    #[test]
    fn block_sums_equal_the_plain_loop() {
        let mut state = 0x2545_f491_u32;
        let mut random = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        };
        let noise: Vec<u8> = (0..2 * BLOCK).map(|_| random()).collect();
        let (zeros, full) = (vec![0u8; BLOCK], vec![255u8; BLOCK]);
        for len in (0..=BLOCK).step_by(4).filter(|n| *n < 80 || n % 52 == 0 || *n == BLOCK) {
            let (a, b) = (&noise[..len], &noise[BLOCK..][..len]);
            assert_eq!(block_sums(a, b), scalar_block_sums(a, b), "noise, {len} bytes");
            assert_eq!(block_sums(&zeros[..len], &full[..len]), scalar_block_sums(&zeros[..len], &full[..len]));
        }
        let extreme = block_sums(&full, &zeros);
        assert_eq!((extreme.changed, extreme.sum, extreme.sq, extreme.max), (512, 2048 * 255, 2048 * 255 * 255, 255));
    }
}
