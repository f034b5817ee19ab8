//! Matching an answer's tone to the photo's at the edge of an edit.
//!
//! Hosted models redraw the whole crop and often shift its colours a little (brighter,
//! warmer, more contrast). Composited through the mask, that shift would end at the mask's
//! edge as a visible seam. The shift is measured in a ring just outside the blend mask, where
//! the answer should equal the photo, spread smoothly over the window, and taken out of the
//! answer. Pixels outside the blend mask are never written, so the promise is untouched.
use crate::geometry::Rect;
use crate::mask::{leading, Mask};
use crate::{Error, Result};
use image::RgbaImage;
use serde::{Deserialize, Serialize};

/// How far the ring reaches beyond the blend mask, in cells.
const RING_CELLS: usize = 3;
/// A larger difference in any channel is a change of content, not of tone: not measured.
const OUTLIER: i32 = 48;
/// Fewer measured pixels than this say nothing reliable.
const MIN_PIXELS: f32 = 64.0;

/// The shift taken out of an answer, in levels (0–255) per channel, over its window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ToneShift {
    /// The mean absolute correction over the window (cell by cell) and the three channels.
    pub mean: f32,
    /// The largest correction of any channel anywhere.
    pub max: f32,
}

/// Takes the answer's tone shift out of `answer` (the registered answer for `window`),
/// measured against `base` (the full frame the answer will be composited into) in a ring
/// around `mask` (the blend mask, the window's size). Colour channels only; alpha is kept.
///
/// Returns `None`, and leaves `answer` as it is, when the ring is too small to measure or
/// the answer already matches there (as the local engine's answers do, exactly).
pub fn match_tone(base: &RgbaImage, answer: &mut RgbaImage, window: Rect, mask: &Mask) -> Result<Option<ToneShift>> {
    let size = window.size();
    if mask.size() != size
        || answer.dimensions() != (size.width, size.height)
        || window.right() > base.width()
        || window.bottom() > base.height()
    {
        return Err(Error::SizeMismatch {
            expected: (size.width, size.height),
            actual: (answer.width(), answer.height()),
        });
    }
    let grid = Grid::new(size.width as usize, size.height as usize);
    let ring = grid.ring(mask);
    let (fw, w) = (base.width() as usize, size.width as usize);
    let (mut sums, mut counts) = (vec![[0f32; 3]; grid.len()], vec![0f32; grid.len()]);
    for y in 0..size.height as usize {
        let m = &mask.data()[y * w..][..w];
        let b = &base.as_raw()[((window.y as usize + y) * fw + window.x as usize) * 4..][..w * 4];
        let a = &answer.as_raw()[y * w * 4..][..w * 4];
        for cx in (0..grid.cols).filter(|&cx| ring[grid.at(cx, y / grid.cell)]) {
            let cell = grid.at(cx, y / grid.cell);
            for x in cx * grid.cell..((cx + 1) * grid.cell).min(w) {
                let d = [0, 1, 2].map(|c| b[x * 4 + c] as i32 - a[x * 4 + c] as i32);
                // Only opaque pixels say what colour they are (under alpha 0 it is arbitrary).
                let opaque = b[x * 4 + 3] == 255 && a[x * 4 + 3] == 255;
                if m[x] == 0 && opaque && d.iter().all(|d| d.abs() <= OUTLIER) {
                    (0..3).for_each(|c| sums[cell][c] += d[c] as f32);
                    counts[cell] += 1.0;
                }
            }
        }
    }
    if counts.iter().sum::<f32>() < MIN_PIXELS {
        return Ok(None);
    }
    let means = sums.iter().zip(&counts).map(|(s, &n)| if n > 0.0 { s.map(|v| v / n) } else { [0.0; 3] }).collect();
    let mut field = fill(means, counts, grid.cols, grid.rows);
    // Cell means are noisy and the filled interior is piecewise: smooth at the ring's scale.
    for _ in 0..2 {
        blur_grid(&mut field, grid.cols, grid.rows, 1);
    }
    let max = field.iter().flatten().fold(0f32, |m, v| m.max(v.abs()));
    if max < 0.5 {
        return Ok(None); // rounds to no change anywhere
    }
    // The field at pixel resolution, in 1/16 levels (i16 lanes vectorise), for two cell-centre
    // rows at a time; each pixel row between them is a lerp of the two, added with saturation.
    let xs: Vec<(usize, usize, f32)> = (0..w).map(|x| grid.between(x, grid.cols)).collect();
    let expand = |cy: usize| -> Vec<i16> {
        let row = &field[grid.at(0, cy)..][..grid.cols];
        let mut out = vec![0i16; w * 4];
        for (px, &(c0, c1, s)) in out.chunks_exact_mut(4).zip(&xs) {
            for c in 0..3 {
                px[c] = ((row[c0][c] + (row[c1][c] - row[c0][c]) * s) * 16.0).round() as i16;
            }
        }
        out
    };
    let (mut band, mut top, mut bottom) = (usize::MAX, Vec::new(), Vec::new());
    for (y, pixels) in answer.as_mut().chunks_exact_mut(w * 4).enumerate() {
        let (r0, r1, t) = grid.between(y, grid.rows);
        if r0 != band {
            (band, top, bottom) = (r0, expand(r0), expand(r1));
        }
        let t = (t * 16.0).round() as i16;
        for ((p, &a), &b) in pixels.iter_mut().zip(&top).zip(&bottom) {
            let offset = a + (((b - a) * t) >> 4); // 1/16 levels
            *p = (*p as i16 + ((offset + 8) >> 4)).clamp(0, 255) as u8;
        }
    }
    // The report: the mean correction over the cells (each stands for its pixels alike).
    let mean = field.iter().flatten().map(|v| v.abs()).sum::<f32>() / (3 * grid.len()) as f32;
    Ok(Some(ToneShift { mean, max }))
}

/// The window in square cells: the field is measured, filled and smoothed per cell.
struct Grid {
    cell: usize,
    cols: usize,
    rows: usize,
}

impl Grid {
    fn new(width: usize, height: usize) -> Grid {
        // About 8 px cells, at most some 500 per side: the field is smooth, the grid small.
        let cell = 8.max(width.max(height).div_ceil(512));
        Grid { cell, cols: width.div_ceil(cell), rows: height.div_ceil(cell) }
    }

    fn len(&self) -> usize {
        self.cols * self.rows
    }

    fn at(&self, cx: usize, cy: usize) -> usize {
        cy * self.cols + cx
    }

    /// The two cells whose centres surround pixel `p` along an axis of `n` cells, and how far
    /// between them it lies.
    fn between(&self, p: usize, n: usize) -> (usize, usize, f32) {
        between(p, self.cell, n)
    }

    /// Cells outside the mask within [`RING_CELLS`] of a cell it touches.
    fn ring(&self, mask: &Mask) -> Vec<bool> {
        let w = mask.size().width as usize;
        let mut covered = vec![false; self.len()];
        for (y, m) in mask.data().chunks_exact(w).enumerate() {
            for cx in 0..self.cols {
                let span = &m[cx * self.cell..((cx + 1) * self.cell).min(w)];
                if leading(span, 0) < span.len() {
                    covered[self.at(cx, y / self.cell)] = true;
                }
            }
        }
        let r = RING_CELLS as isize;
        (0..self.len())
            .map(|i| {
                let (cx, cy) = ((i % self.cols) as isize, (i / self.cols) as isize);
                !covered[i]
                    && (-r..=r).any(|dy| {
                        (-r..=r).any(|dx| {
                            let (x, y) = (cx + dx, cy + dy);
                            x >= 0
                                && y >= 0
                                && (x as usize) < self.cols
                                && (y as usize) < self.rows
                                && covered[self.at(x as usize, y as usize)]
                        })
                    })
            })
            .collect()
    }
}

/// Push-pull: every cell without a measurement takes the bilinear value of the next
/// coarser level, whose cells average the measured cells below them.
fn fill(values: Vec<[f32; 3]>, weights: Vec<f32>, cols: usize, rows: usize) -> Vec<[f32; 3]> {
    if weights.iter().all(|&w| w > 0.0) || cols * rows == 1 {
        return values;
    }
    let (c2, r2) = (cols.div_ceil(2), rows.div_ceil(2));
    let (mut sums, mut coarse_w) = (vec![[0f32; 3]; c2 * r2], vec![0f32; c2 * r2]);
    for (i, (v, &w)) in values.iter().zip(&weights).enumerate() {
        let j = (i / cols / 2) * c2 + (i % cols) / 2;
        (0..3).for_each(|c| sums[j][c] += v[c] * w);
        coarse_w[j] += w;
    }
    let coarse_v =
        sums.iter().zip(&coarse_w).map(|(s, &w)| if w > 0.0 { s.map(|v| v / w) } else { [0.0; 3] }).collect();
    let coarse = fill(coarse_v, coarse_w, c2, r2);
    (0..cols * rows)
        .map(|i| {
            if weights[i] > 0.0 {
                return values[i];
            }
            let ((x0, x1, s), (y0, y1, t)) = (between(i % cols, 2, c2), between(i / cols, 2, r2));
            let at = |x: usize, y: usize| coarse[y * c2 + x];
            [0, 1, 2].map(|c| {
                let top = at(x0, y0)[c] + (at(x1, y0)[c] - at(x0, y0)[c]) * s;
                let bottom = at(x0, y1)[c] + (at(x1, y1)[c] - at(x0, y1)[c]) * s;
                top + (bottom - top) * t
            })
        })
        .collect()
}

/// The two cells of an axis of `n` cells, each `scale` units wide, whose centres surround
/// unit `p`, and how far between them it lies.
fn between(p: usize, scale: usize, n: usize) -> (usize, usize, f32) {
    let f = ((p as f32 + 0.5) / scale as f32 - 0.5).clamp(0.0, (n - 1) as f32);
    let i = f as usize;
    (i, (i + 1).min(n - 1), f - i as f32)
}

/// A box blur of the grid, edges repeated.
fn blur_grid(field: &mut [[f32; 3]], cols: usize, rows: usize, r: usize) {
    let n = (2 * r + 1) as f32;
    let src = field.to_vec();
    for y in 0..rows {
        for x in 0..cols {
            let mut s = [0f32; 3];
            for dx in -(r as isize)..=r as isize {
                let v = src[y * cols + (x as isize + dx).clamp(0, cols as isize - 1) as usize];
                (0..3).for_each(|c| s[c] += v[c]);
            }
            field[y * cols + x] = s.map(|v| v / n);
        }
    }
    let src = field.to_vec();
    for y in 0..rows {
        for x in 0..cols {
            let mut s = [0f32; 3];
            for dy in -(r as isize)..=r as isize {
                let v = src[(y as isize + dy).clamp(0, rows as isize - 1) as usize * cols + x];
                (0..3).for_each(|c| s[c] += v[c]);
            }
            field[y * cols + x] = s.map(|v| v / n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Size;
    use crate::mask::Shape;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn photo(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([(40 + x % 150) as u8, (60 + y % 120) as u8, ((x * y) % 97 + 80) as u8, 255])
        })
    }

    fn disc(w: u32, h: u32) -> Mask {
        let mut m = Mask::new(Size::new(w, h).unwrap());
        m.paint(
            &Shape::Ellipse { cx: w as f32 / 2.0, cy: h as f32 / 2.0, rx: w as f32 / 5.0, ry: h as f32 / 5.0 },
            false,
        )
        .unwrap();
        m.feather(4)
    }

    /// A model that tints everything (+12 red, -8 blue) and paints new content in the disc:
    /// after matching, the content comes back without the tint, and the seam is gone.
    #[test]
    fn a_global_tint_is_taken_out_of_the_answer() {
        let (w, h) = (240, 160);
        let (base, mask) = (photo(w, h), disc(w, h));
        let content = |x: u32, y: u32| image::Rgba([(100 + (x + y) % 50) as u8, 150, 90, 255]);
        let mut answer = RgbaImage::from_fn(w, h, |x, y| {
            let inside = mask.get(x, y) > 0;
            let p = if inside { content(x, y) } else { *base.get_pixel(x, y) };
            image::Rgba([p[0].saturating_add(12), p[1], p[2].saturating_sub(8), 255])
        });
        let shift = match_tone(&base, &mut answer, Size::new(w, h).unwrap().rect(), &mask).unwrap().unwrap();
        assert!((11.0..13.0).contains(&shift.max), "{shift:?}");
        for (x, y) in [(120, 80), (110, 75), (130, 88)] {
            let (got, want) = (answer.get_pixel(x, y), content(x, y));
            for c in 0..3 {
                assert!(got[c].abs_diff(want[c]) <= 1, "({x}, {y}) channel {c}: {got:?} vs {want:?}");
            }
            assert_eq!(got[3], 255);
        }
    }

    /// An answer that already equals the photo outside the mask (the local engine's) is left
    /// byte for byte as it is.
    #[test]
    fn a_matching_answer_is_left_alone() {
        let (w, h) = (120, 90);
        let (base, mask) = (photo(w, h), disc(w, h));
        let mut answer = RgbaImage::from_fn(w, h, |x, y| {
            if mask.get(x, y) > 0 {
                image::Rgba([255, 0, 0, 255])
            } else {
                *base.get_pixel(x, y)
            }
        });
        let before = answer.clone();
        assert_eq!(match_tone(&base, &mut answer, Size::new(w, h).unwrap().rect(), &mask).unwrap(), None);
        assert_eq!(answer, before);
        // Nothing to measure (the mask covers everything): nothing done either.
        let full = Mask::from_vec(Size::new(w, h).unwrap(), vec![255; (w * h) as usize]).unwrap();
        assert_eq!(match_tone(&base, &mut answer, Size::new(w, h).unwrap().rect(), &full).unwrap(), None);
        assert!(match_tone(&base, &mut answer, Rect::new(0, 0, w, h + 1).unwrap(), &mask).is_err());
    }

    /// A cut-out product on a transparent background: the colours under alpha 0 are arbitrary
    /// and say nothing about tone.
    #[test]
    fn transparent_pixels_are_not_measured() {
        let (w, h) = (120, 90);
        let mask = disc(w, h);
        let base = RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([x as u8, y as u8, 0, if mask.get(x, y) > 0 { 255 } else { 0 }])
        });
        let mut answer = RgbaImage::from_fn(w, h, |x, y| {
            let p = base.get_pixel(x, y);
            image::Rgba([p[0].saturating_add(20), p[1], p[2], p[3]])
        });
        let before = answer.clone();
        assert_eq!(match_tone(&base, &mut answer, Size::new(w, h).unwrap().rect(), &mask).unwrap(), None);
        assert_eq!(answer, before);
    }

    /// A shift that changes across the frame (a gradient) is followed, not averaged away.
    #[test]
    fn a_varying_shift_is_followed_across_the_window() {
        let (w, h) = (300, 120);
        let base = photo(w, h);
        let mut mask = Mask::new(Size::new(w, h).unwrap());
        mask.paint(&Shape::Rect { x: 20.0, y: 40.0, width: 260.0, height: 40.0 }, false).unwrap();
        let shift = |x: u32| (x / 20) as u8; // 0 at the left, 14 at the right
        let mut answer = RgbaImage::from_fn(w, h, |x, y| {
            let p = base.get_pixel(x, y);
            image::Rgba([p[0].saturating_add(shift(x)), p[1], p[2], 255])
        });
        match_tone(&base, &mut answer, Size::new(w, h).unwrap().rect(), &mask).unwrap().unwrap();
        for x in [40, 150, 260] {
            let d = answer.get_pixel(x, 60)[0] as i32 - base.get_pixel(x, 60)[0] as i32;
            assert!(d.abs() <= 2, "at x {x} the shift {} became {d}", shift(x));
        }
    }
}
