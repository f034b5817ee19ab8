//! 8-bit coverage masks at full resolution: 255 = edit, 0 = keep.
use crate::geometry::{NormBox, Rect, Size};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use tiny_skia::{FillRule, LineCap, LineJoin, PathBuilder, Stroke, Transform};

/// A point of a brush stroke in image pixels, with pen pressure in 0–1 (1 without a pen).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f32>", into = "[f32; 3]")]
pub struct StrokePoint {
    pub x: f32,
    pub y: f32,
    pub pressure: f32,
}

impl TryFrom<Vec<f32>> for StrokePoint {
    type Error = String;
    fn try_from(v: Vec<f32>) -> std::result::Result<Self, String> {
        match v[..] {
            [x, y] => Ok(StrokePoint { x, y, pressure: 1.0 }),
            [x, y, p] => Ok(StrokePoint { x, y, pressure: p.clamp(0.0, 1.0) }),
            _ => Err("a stroke point is [x, y] or [x, y, pressure]".into()),
        }
    }
}

impl From<StrokePoint> for [f32; 3] {
    fn from(p: StrokePoint) -> Self {
        [p.x, p.y, p.pressure]
    }
}

/// A vector shape the mask tools produce, in image pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Shape {
    /// A brush polyline with round caps and joins; pressure scales the width per point.
    Stroke {
        points: Vec<StrokePoint>,
        width: f32,
    },
    /// A lasso or polygon, filled with the non-zero rule unless `even_odd`.
    Polygon {
        points: Vec<[f32; 2]>,
        #[serde(default)]
        even_odd: bool,
    },
    Rect {
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    },
    Ellipse {
        cx: f32,
        cy: f32,
        rx: f32,
        ry: f32,
    },
    /// A normalised `[ymin, xmin, ymax, xmax]` box relative to the whole image.
    Box {
        r#box: NormBox,
    },
}

/// How a PNG mask encodes the edit region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaskConvention {
    /// Grayscale, white = edit (Gemini hint, Imagen, IOPaint, Clipdrop).
    WhiteEdit,
    /// RGBA, alpha 0 = edit (OpenAI, ComfyUI).
    AlphaEdit,
    /// RGBA, opaque = edit (a painted layer: coverage is the alpha).
    AlphaCoverage,
}

/// An 8-bit coverage mask.
///
/// # Guarantees
/// `data().len() == width * height`.
#[derive(Clone, PartialEq, Eq)]
pub struct Mask {
    size: Size,
    data: Vec<u8>,
}

impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mask({}x{}, bounds {:?})", self.size.width, self.size.height, self.bounds())
    }
}

impl Mask {
    /// An empty (all keep) mask.
    pub fn new(size: Size) -> Self {
        Mask { size, data: vec![0; size.area() as usize] }
    }

    /// `None` unless `data.len() == width * height`.
    pub fn from_vec(size: Size, data: Vec<u8>) -> Option<Self> {
        (data.len() as u64 == size.area()).then_some(Mask { size, data })
    }

    pub fn size(&self) -> Size {
        self.size
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.data
    }

    pub fn get(&self, x: u32, y: u32) -> u8 {
        self.data[(y * self.size.width + x) as usize]
    }

    pub fn clear(&mut self) {
        self.data.fill(0);
    }

    pub fn invert(&mut self) {
        self.data.iter_mut().for_each(|v| *v = 255 - *v);
    }

    pub fn is_empty(&self) -> bool {
        self.data.iter().all(|&v| v == 0)
    }

    /// The smallest rectangle holding every non-zero pixel.
    pub fn bounds(&self) -> Option<Rect> {
        let w = self.size.width as usize;
        let nonzero = |row: &[u8]| leading(row, 0) < row.len();
        let top = self.data.chunks_exact(w).position(nonzero)?;
        let bottom = self.data.chunks_exact(w).rposition(nonzero)?;
        let (mut left, mut right) = (w, 0);
        for row in self.data[top * w..(bottom + 1) * w].chunks_exact(w) {
            // Only what lies outside the span found so far can widen it.
            left = left.min(leading(&row[..left], 0));
            let from = right.max(left);
            right = right.max(row.len() - trailing_zeros(&row[from..]));
        }
        Rect::from_edges(left as u32, top as u32, right as u32, bottom as u32 + 1)
    }

    /// A copy of the pixels under `rect` (which must lie inside the mask).
    pub fn crop(&self, rect: Rect) -> Result<Mask> {
        if !self.size.rect().contains(rect) {
            return Err(Error::InvalidArgument("crop rectangle outside the mask".into()));
        }
        let w = self.size.width as usize;
        let mut out = Vec::with_capacity(rect.area() as usize);
        for y in rect.y..rect.bottom() {
            let start = y as usize * w + rect.x as usize;
            out.extend_from_slice(&self.data[start..start + rect.width as usize]);
        }
        Ok(Mask { size: rect.size(), data: out })
    }

    /// Writes `patch` at `(x, y)`, replacing what is there. The patch must fit.
    pub fn put(&mut self, x: u32, y: u32, patch: &Mask) -> Result<()> {
        self.rows_under(x, y, patch, |dst, src| dst.copy_from_slice(src))
    }

    /// Raises the pixels under `patch` placed at `(x, y)` to at least its values: the union
    /// of the two masks there. The patch must fit.
    pub fn union_at(&mut self, x: u32, y: u32, patch: &Mask) -> Result<()> {
        self.rows_under(x, y, patch, |dst, src| dst.iter_mut().zip(src).for_each(|(d, &s)| *d = (*d).max(s)))
    }

    fn rows_under(&mut self, x: u32, y: u32, patch: &Mask, f: impl Fn(&mut [u8], &[u8])) -> Result<()> {
        let rect = Rect { x, y, width: patch.size.width, height: patch.size.height };
        if !self.size.rect().contains(rect) {
            return Err(Error::InvalidArgument("patch outside the mask".into()));
        }
        let (w, pw) = (self.size.width as usize, patch.size.width as usize);
        for row in 0..patch.size.height as usize {
            let start = (y as usize + row) * w + x as usize;
            f(&mut self.data[start..start + pw], &patch.data[row * pw..(row + 1) * pw]);
        }
        Ok(())
    }

    /// Paints a shape (anti-aliased) into the mask, or erases it. Only the pixels the
    /// shape touches are visited. Returns the rectangle that may have changed.
    pub fn paint(&mut self, shape: &Shape, erase: bool) -> Result<Option<Rect>> {
        Ok(self.paint_keeping(shape, erase)?.map(|(rect, _)| rect))
    }

    /// Like [`Mask::paint`], also returning the pixels the rectangle held before (for undo).
    pub(crate) fn paint_keeping(&mut self, shape: &Shape, erase: bool) -> Result<Option<(Rect, Mask)>> {
        let Some((rect, cover)) = rasterise(shape, self.size)? else { return Ok(None) };
        let before = self.crop(rect)?;
        let w = self.size.width as usize;
        for (row, cov_row) in cover.chunks_exact(rect.width as usize).enumerate() {
            let start = (rect.y as usize + row) * w + rect.x as usize;
            let dst = &mut self.data[start..start + rect.width as usize];
            // Most of a stroke's bounding box is untouched, much of the rest fully covered.
            for (run, coverage) in runs(cov_row) {
                match coverage {
                    Coverage::None => {}
                    Coverage::Full => dst[run].fill(if erase { 0 } else { 255 }),
                    Coverage::Partial => {
                        for (d, &c) in dst[run.clone()].iter_mut().zip(&cov_row[run]) {
                            let (dv, cv) = (*d as u32, c as u32);
                            *d = if erase { div255(dv * (255 - cv)) } else { dv + cv - div255(dv * cv) } as u8;
                        }
                    }
                }
            }
        }
        Ok(Some((rect, before)))
    }

    /// Grown (`radius > 0`) or shrunk (`radius < 0`) by a Euclidean distance in pixels,
    /// with an anti-aliased edge.
    pub fn grow(&self, radius: i32) -> Mask {
        if radius == 0 {
            return self.clone();
        }
        let r = radius.unsigned_abs();
        let mut out = self.clone();
        if radius > 0 {
            let Some(bounds) = self.bounds() else { return out };
            let roi = bounds.outset(r + 1, self.size);
            let Ok(inside) = self.crop(roi) else { return out }; // roi is clipped to the frame
            let dist = distance_to(&inside, |v| v >= 128);
            let w = self.size.width as usize;
            for (i, d) in dist.iter().enumerate() {
                let (x, y) = (i % roi.width as usize, i / roi.width as usize);
                let idx = (roi.y as usize + y) * w + roi.x as usize + x;
                let grown = ramp(r as f32 + 1.0 - d.sqrt());
                out.data[idx] = out.data[idx].max(grown);
            }
        } else {
            // Distance from each pixel to the nearest kept pixel, image borders not counting.
            let dist = distance_to(self, |v| v < 128);
            for (o, d) in out.data.iter_mut().zip(&dist) {
                *o = (*o).min(ramp(d.sqrt() - r as f32));
            }
        }
        out
    }

    /// Feathered: three box-blur passes approximate a Gaussian whose falloff spans about
    /// `radius` pixels on each side of an edge.
    ///
    /// # Guarantees
    /// Coverage never spreads more than `max(radius, 3)` pixels beyond the mask.
    pub fn feather(&self, radius: u32) -> Mask {
        let mut out = self.clone();
        out.feather_in_place(radius);
        out
    }

    /// [`Mask::feather`] without copying the whole mask (big photos).
    pub fn feather_in_place(&mut self, radius: u32) {
        let Some(bounds) = self.bounds() else { return };
        if radius == 0 {
            return;
        }
        let b = (radius / 3).max(1);
        let roi = bounds.outset(3 * b + 1, self.size);
        if 3 * b <= FEATHER_TILE / 4 {
            self.feather_tiles(roi, b);
        } else if roi == self.size.rect() {
            (0..3).for_each(|_| box_blur(self, b));
        } else if let Ok(mut patch) = self.crop(roi) {
            // `outset` clips to the frame, so the region always fits back.
            (0..3).for_each(|_| box_blur(&mut patch, b));
            let _ = self.put(roi.x, roi.y, &patch);
        }
    }

    /// Three box passes of radius `b` over `roi`, computed only for the tiles near an edge:
    /// where every pixel the passes read for a tile has one value, they leave it unchanged.
    /// Same bytes as blurring all of `roi` (its outer ring is zero, as clamping assumes).
    fn feather_tiles(&mut self, roi: Rect, b: u32) {
        let reach = 3 * b;
        let Ok(src) = self.crop(roi) else { return };
        let w = self.size.width as usize;
        for ty in (roi.y..roi.bottom()).step_by(FEATHER_TILE as usize) {
            for tx in (roi.x..roi.right()).step_by(FEATHER_TILE as usize) {
                let tile = Rect {
                    x: tx,
                    y: ty,
                    width: FEATHER_TILE.min(roi.right() - tx),
                    height: FEATHER_TILE.min(roi.bottom() - ty),
                };
                // What the passes read for this tile; an edge inside `roi` only disturbs the
                // outer `reach` pixels of the patch, never the tile.
                let Some(around) = tile.outset(reach, self.size).intersect(roi) else { continue };
                let local = Rect { x: around.x - roi.x, y: around.y - roi.y, ..around };
                let Ok(mut patch) = src.crop(local) else { continue };
                let first = patch.data[0];
                if patch.data.iter().all(|&v| v == first) {
                    continue;
                }
                (0..3).for_each(|_| box_blur(&mut patch, b));
                let (pw, dx, dy) = (around.width as usize, (tile.x - around.x) as usize, (tile.y - around.y) as usize);
                for row in 0..tile.height as usize {
                    let from = &patch.data[(dy + row) * pw + dx..][..tile.width as usize];
                    let at = (tile.y as usize + row) * w + tile.x as usize;
                    self.data[at..at + tile.width as usize].copy_from_slice(from);
                }
            }
        }
    }

    /// Bounding rectangles of the 8-connected regions of coverage >= 128, largest first.
    pub fn regions(&self) -> Vec<(Rect, u64)> {
        let (w, h) = (self.size.width as usize, self.size.height as usize);
        let mut seen = vec![false; w * h];
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for start in 0..w * h {
            if seen[start] || self.data[start] < 128 {
                continue;
            }
            seen[start] = true;
            stack.push(start);
            let (mut l, mut t, mut r, mut b, mut n) = (w, h, 0, 0, 0u64);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                (l, t, r, b, n) = (l.min(x), t.min(y), r.max(x), b.max(y), n + 1);
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                        if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                            continue;
                        }
                        let j = ny as usize * w + nx as usize;
                        if !seen[j] && self.data[j] >= 128 {
                            seen[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
            if let Some(rect) = Rect::from_edges(l as u32, t as u32, r as u32 + 1, b as u32 + 1) {
                out.push((rect, n));
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.1));
        out
    }

    /// The region of similar colour around a seed (or, not `contiguous`, anywhere in the
    /// image): pixels whose every RGBA channel is within `tolerance` of the seed's.
    pub fn magic_wand(rgba: &[u8], size: Size, seed: (u32, u32), tolerance: u8, contiguous: bool) -> Result<Mask> {
        check_rgba(rgba, size)?;
        if seed.0 >= size.width || seed.1 >= size.height {
            return Err(Error::InvalidArgument("the wand's seed is outside the image".into()));
        }
        let (w, h) = (size.width as usize, size.height as usize);
        let at = |i: usize| &rgba[i * 4..i * 4 + 4];
        let seed_px = {
            let p = at(seed.1 as usize * w + seed.0 as usize);
            [p[0], p[1], p[2], p[3]]
        };
        let similar = |i: usize| at(i).iter().zip(seed_px).all(|(&a, b)| a.abs_diff(b) <= tolerance);
        let mut mask = Mask::new(size);
        if !contiguous {
            for (i, m) in mask.data.iter_mut().enumerate() {
                if similar(i) {
                    *m = 255;
                }
            }
            return Ok(mask);
        }
        let mut stack = vec![seed.1 as usize * w + seed.0 as usize];
        mask.data[stack[0]] = 255;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < w).then(|| i + 1),
                (y > 0).then(|| i - w),
                (y + 1 < h).then(|| i + w),
            ];
            for j in neighbours.into_iter().flatten() {
                if mask.data[j] == 0 && similar(j) {
                    mask.data[j] = 255;
                    stack.push(j);
                }
            }
        }
        Ok(mask)
    }

    /// The mask as a PNG in a provider's convention.
    pub fn to_png(&self, convention: MaskConvention) -> Result<Vec<u8>> {
        match convention {
            MaskConvention::WhiteEdit => crate::codec::encode_png_gray(&self.data, self.size),
            MaskConvention::AlphaEdit | MaskConvention::AlphaCoverage => {
                let invert = convention == MaskConvention::AlphaEdit;
                let rgba: Vec<u8> = self
                    .data
                    .iter()
                    .flat_map(|&c| {
                        let v = if invert { 255 - c } else { c };
                        [v, v, v, v]
                    })
                    .collect();
                crate::codec::encode_png(&rgba, self.size)
            }
        }
    }

    /// Reads a PNG mask, detecting its convention unless one is given, and scales it to
    /// `target`. With `threshold`, coverage becomes 0 or 255 (at 128).
    pub fn from_png(bytes: &[u8], convention: Option<MaskConvention>, target: Size, threshold: bool) -> Result<Mask> {
        let decoded = crate::codec::decode_any(bytes, &crate::codec::Limits::default())?;
        let size = Size::new(decoded.width(), decoded.height()).ok_or(Error::Empty)?;
        let has_alpha = decoded.color().has_alpha();
        let rgba = decoded.to_rgba8().into_raw();
        let alpha = || rgba.chunks_exact(4).map(|p| p[3]);
        let convention = convention.unwrap_or_else(|| {
            let transparent = alpha().filter(|&a| a < 128).count();
            if !has_alpha || alpha().all(|a| a == 255) {
                MaskConvention::WhiteEdit
            } else if transparent * 2 < size.area() as usize {
                // The edit region is the smaller part of a mask: holes cut into an opaque image.
                MaskConvention::AlphaEdit
            } else {
                MaskConvention::AlphaCoverage
            }
        });
        let data: Vec<u8> = match convention {
            MaskConvention::WhiteEdit => rgba
                .chunks_exact(4)
                .map(|p| ((p[0] as u32 * 77 + p[1] as u32 * 150 + p[2] as u32 * 29 + 128) >> 8) as u8)
                .collect(),
            MaskConvention::AlphaEdit => alpha().map(|a| 255 - a).collect(),
            MaskConvention::AlphaCoverage => alpha().collect(),
        };
        let mut mask = Mask { size, data };
        if size != target {
            mask = crate::resize::resize_mask(&mask, target)?;
        }
        if threshold {
            mask.data.iter_mut().for_each(|v| *v = if *v >= 128 { 255 } else { 0 });
        }
        Ok(mask)
    }
}

/// The tile size of [`Mask::feather_tiles`]; kernels reaching over a quarter of it blur whole.
const FEATHER_TILE: u32 = 128;

pub(crate) fn check_rgba(rgba: &[u8], size: Size) -> Result<()> {
    if rgba.len() as u64 != size.area() * 4 {
        return Err(Error::InvalidArgument(format!(
            "expected {} bytes of RGBA for {} x {}, got {}",
            size.area() * 4,
            size.width,
            size.height,
            rgba.len()
        )));
    }
    Ok(())
}

fn div255(v: u32) -> u32 {
    (v + 128 + ((v + 128) >> 8)) >> 8
}

fn ramp(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Coverage of a shape within the frame: the rectangle it touches and its pixels.
fn rasterise(shape: &Shape, frame: Size) -> Result<Option<(Rect, Vec<u8>)>> {
    let finite = |vals: &[f32]| vals.iter().all(|v| v.is_finite());
    let bad = |what: &str| Err(Error::InvalidArgument(format!("invalid {what}")));
    // Each shape becomes one or more filled paths (pressure strokes: one per segment).
    let mut paths = Vec::new();
    let mut rule = FillRule::Winding;
    match shape {
        Shape::Stroke { points, width } => {
            if points.is_empty() || !(width.is_finite() && *width > 0.0) {
                return bad("stroke: it needs points and a positive width");
            }
            if !points.iter().all(|p| finite(&[p.x, p.y, p.pressure])) {
                return bad("stroke point");
            }
            let uniform = points.iter().all(|p| p.pressure == points[0].pressure);
            let radius = |p: &StrokePoint| (width * p.pressure / 2.0).max(0.5);
            if uniform && points.len() > 1 && points.windows(2).any(|s| s[0].x != s[1].x || s[0].y != s[1].y) {
                let mut pb = PathBuilder::new();
                pb.move_to(points[0].x, points[0].y);
                points[1..].iter().for_each(|p| pb.line_to(p.x, p.y));
                let stroke = Stroke {
                    width: (width * points[0].pressure).max(1.0),
                    line_cap: LineCap::Round,
                    line_join: LineJoin::Round,
                    ..Stroke::default()
                };
                paths.extend(pb.finish().and_then(|p| p.stroke(&stroke, 1.0)));
            } else {
                for p in points {
                    paths.extend(PathBuilder::from_circle(p.x, p.y, radius(p)));
                }
                for s in points.windows(2) {
                    let (a, b) = (s[0], s[1]);
                    let (dx, dy) = (b.x - a.x, b.y - a.y);
                    let len = (dx * dx + dy * dy).sqrt();
                    if len < 1e-3 {
                        continue;
                    }
                    let (nx, ny) = (-dy / len, dx / len);
                    let (ra, rb) = (radius(&a), radius(&b));
                    let mut pb = PathBuilder::new();
                    pb.move_to(a.x + nx * ra, a.y + ny * ra);
                    pb.line_to(b.x + nx * rb, b.y + ny * rb);
                    pb.line_to(b.x - nx * rb, b.y - ny * rb);
                    pb.line_to(a.x - nx * ra, a.y - ny * ra);
                    pb.close();
                    paths.extend(pb.finish());
                }
            }
        }
        Shape::Polygon { points, even_odd } => {
            if points.len() < 3 || !points.iter().all(|p| finite(p)) {
                return bad("polygon: it needs at least three points");
            }
            let mut pb = PathBuilder::new();
            pb.move_to(points[0][0], points[0][1]);
            points[1..].iter().for_each(|p| pb.line_to(p[0], p[1]));
            pb.close();
            paths.extend(pb.finish());
            if *even_odd {
                rule = FillRule::EvenOdd;
            }
        }
        Shape::Rect { x, y, width, height } => {
            if !finite(&[*x, *y, *width, *height]) {
                return bad("rectangle");
            }
            let (l, r) = (x.min(x + width), x.max(x + width));
            let (t, b) = (y.min(y + height), y.max(y + height));
            paths.extend(tiny_skia::Rect::from_ltrb(l, t, r, b).map(PathBuilder::from_rect));
        }
        Shape::Ellipse { cx, cy, rx, ry } => {
            if !finite(&[*cx, *cy, *rx, *ry]) {
                return bad("ellipse");
            }
            let (rx, ry) = (rx.abs(), ry.abs());
            paths.extend(
                tiny_skia::Rect::from_ltrb(cx - rx, cy - ry, cx + rx, cy + ry).and_then(PathBuilder::from_oval),
            );
        }
        Shape::Box { r#box } => {
            let r = r#box.to_rect(frame);
            paths.extend(
                tiny_skia::Rect::from_xywh(r.x as f32, r.y as f32, r.width as f32, r.height as f32)
                    .map(PathBuilder::from_rect),
            );
        }
    }
    let Some(bounds) = paths.iter().map(|p| p.bounds()).reduce(|a, b| {
        tiny_skia::Rect::from_ltrb(
            a.left().min(b.left()),
            a.top().min(b.top()),
            a.right().max(b.right()),
            a.bottom().max(b.bottom()),
        )
        .unwrap_or(a)
    }) else {
        return Ok(None);
    };
    let Some(rect) = Rect::covering(
        bounds.left() as f64 - 1.0,
        bounds.top() as f64 - 1.0,
        bounds.right() as f64 + 1.0,
        bounds.bottom() as f64 + 1.0,
        frame,
    ) else {
        return Ok(None);
    };
    let mut cover = tiny_skia::Mask::new(rect.width, rect.height).ok_or(Error::Empty)?;
    let shift = Transform::from_translate(-(rect.x as f32), -(rect.y as f32));
    for path in &paths {
        cover.fill_path(path, rule, true, shift);
    }
    Ok(Some((rect, cover.take())))
}

/// Squared Euclidean distance from every pixel to the nearest pixel whose value passes
/// `is_source` (Felzenszwalb & Huttenlocher's linear-time transform).
fn distance_to(mask: &Mask, is_source: impl Fn(u8) -> bool) -> Vec<f32> {
    let (w, h) = (mask.size.width as usize, mask.size.height as usize);
    const FAR: f32 = 1e20;
    let mut grid: Vec<f32> = mask.data.iter().map(|&v| if is_source(v) { 0.0 } else { FAR }).collect();
    let n = w.max(h);
    let (mut f, mut d, mut v, mut z) = (vec![0f32; n], vec![0f32; n], vec![0usize; n], vec![0f32; n + 1]);
    for x in 0..w {
        for y in 0..h {
            f[y] = grid[y * w + x];
        }
        edt_1d(&f[..h], &mut d[..h], &mut v, &mut z);
        for y in 0..h {
            grid[y * w + x] = d[y];
        }
    }
    for y in 0..h {
        f[..w].copy_from_slice(&grid[y * w..(y + 1) * w]);
        edt_1d(&f[..w], &mut d[..w], &mut v, &mut z);
        grid[y * w..(y + 1) * w].copy_from_slice(&d[..w]);
    }
    grid
}

fn edt_1d(f: &[f32], d: &mut [f32], v: &mut [usize], z: &mut [f32]) {
    let n = f.len();
    let mut k = 0;
    v[0] = 0;
    z[0] = f32::NEG_INFINITY;
    z[1] = f32::INFINITY;
    for q in 1..n {
        loop {
            let p = v[k];
            let s = ((f[q] + (q * q) as f32) - (f[p] + (p * p) as f32)) / (2.0 * (q as f32 - p as f32));
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            if s <= z[k] {
                // k == 0: the new parabola replaces the first.
                v[0] = q;
                z[0] = f32::NEG_INFINITY;
                z[1] = f32::INFINITY;
                break;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f32::INFINITY;
            break;
        }
    }
    k = 0;
    for (q, out) in d.iter_mut().enumerate().take(n) {
        while z[k + 1] < q as f32 {
            k += 1;
        }
        let p = v[k];
        let dq = q as f32 - p as f32;
        *out = dq * dq + f[p];
    }
}

/// One box-blur pass of radius `r`, horizontal then vertical, with edge clamping.
fn box_blur(mask: &mut Mask, r: u32) {
    let (w, h) = (mask.size.width as usize, mask.size.height as usize);
    let r = r as usize;
    let div = Divider::new(2 * r as u32 + 1);
    let mut line = vec![0u8; w];
    for y in 0..h {
        let row = &mut mask.data[y * w..(y + 1) * w];
        blur_line(row, &mut line, r, div);
        row.copy_from_slice(&line);
    }
    // Vertical: running column sums, a whole row added and removed at a time.
    let src = mask.data.clone();
    let row = |y: isize| &src[y.clamp(0, h as isize - 1) as usize * w..][..w];
    let mut sums = vec![0u32; w];
    for y in -(r as isize)..=r as isize {
        sums.iter_mut().zip(row(y)).for_each(|(s, &v)| *s += v as u32);
    }
    for y in 0..h {
        let out = &mut mask.data[y * w..(y + 1) * w];
        out.iter_mut().zip(&sums).for_each(|(o, &s)| *o = div.round(s));
        let (add, sub) = (row(y as isize + r as isize + 1), row(y as isize - r as isize));
        for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
            *s = *s + a as u32 - b as u32;
        }
    }
}

fn blur_line(src: &[u8], dst: &mut [u8], r: usize, div: Divider) {
    let n = src.len();
    let at = |i: isize| src[i.clamp(0, n as isize - 1) as usize] as u32;
    let full = 255 * (2 * r as u32 + 1);
    let mut sum: u32 = (-(r as isize)..=r as isize).map(at).sum();
    let mut i = 0;
    while i < n {
        if sum == 0 || sum == full {
            // A window all 0 or all 255 stays so for as long as the same value enters it:
            // jump over the flat stretch, eight pixels at a time (most of a mask is flat).
            let v = if sum == 0 { 0 } else { 255 };
            let entering = i + r + 1;
            let k = if entering < n { leading(&src[entering..], v) } else { n };
            if entering + k >= n {
                dst[i..].fill(v); // flat to the end (the edge pixel repeats, and it is v)
                return;
            }
            dst[i..=i + k].fill(v);
            i += k + 1;
            // The next window: 2r values v, and the first different one entering.
            sum = v as u32 * 2 * r as u32 + src[entering + k] as u32;
            continue;
        }
        dst[i] = div.round(sum);
        sum = sum + at(i as isize + r as isize + 1) - at(i as isize - r as isize);
        i += 1;
    }
}

/// Rounded division by a fixed divisor as a multiply and a shift (a division per pixel is
/// the slowest part of a blur). Exact for the sums a blur of 8-bit values produces.
#[derive(Clone, Copy)]
struct Divider {
    div: u32,
    magic: u64,
}

impl Divider {
    fn new(div: u32) -> Self {
        Divider { div, magic: (1u64 << 32).div_ceil(div as u64) }
    }

    fn round(self, sum: u32) -> u8 {
        (((sum + self.div / 2) as u64 * self.magic) >> 32) as u8
    }
}

/// How much of a run of mask values is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coverage {
    None,
    Full,
    Partial,
}

/// The runs of a mask row: maximal stretches of 0, of 255, and of values in between.
pub(crate) fn runs(m: &[u8]) -> impl Iterator<Item = (std::ops::Range<usize>, Coverage)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        let first = *m.get(start)?;
        let rest = &m[start..];
        let (len, coverage) = match first {
            0 => (leading(rest, 0), Coverage::None),
            255 => (leading(rest, 255), Coverage::Full),
            _ => (rest.iter().position(|&v| v == 0 || v == 255).unwrap_or(rest.len()), Coverage::Partial),
        };
        let run = start..start + len;
        start += len;
        Some((run, coverage))
    })
}

/// How many leading bytes of `m` equal `value`, checked eight at a time.
pub(crate) fn leading(m: &[u8], value: u8) -> usize {
    let word = u64::from_ne_bytes([value; 8]);
    let whole = m.chunks_exact(8).take_while(|c| u64::from_ne_bytes((*c).try_into().unwrap_or_default()) == word);
    let n = whole.count() * 8;
    n + m[n..].iter().take_while(|&&v| v == value).count()
}

/// How many trailing bytes of `m` are zero, checked eight at a time.
fn trailing_zeros(m: &[u8]) -> usize {
    let whole = m.rchunks_exact(8).take_while(|c| u64::from_ne_bytes((*c).try_into().unwrap_or_default()) == 0);
    let n = whole.count() * 8;
    n + m[..m.len() - n].iter().rev().take_while(|&&v| v == 0).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn size(w: u32, h: u32) -> Size {
        Size::new(w, h).unwrap()
    }

    /// Bounds equal the plain definition (min and max of the non-zero pixels' coordinates)
    /// for scattered pixels at every offset against the eight-byte words.
    #[test]
    fn bounds_hold_exactly_the_non_zero_pixels() {
        let mut state = 0x9e37_79b9_u32;
        for case in 0..400u32 {
            let (w, h) = (1 + case % 37, 1 + case % 11);
            let mut m = Mask::new(size(w, h));
            for _ in 0..case % 5 {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let i = (state >> 8) as usize % m.data.len();
                m.data[i] = 1 + (state % 255) as u8;
            }
            let on: Vec<(u32, u32)> =
                (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).filter(|&(x, y)| m.get(x, y) != 0).collect();
            let want = (!on.is_empty()).then(|| {
                let (xs, ys) = (on.iter().map(|p| p.0), on.iter().map(|p| p.1));
                let (x0, x1) = (xs.clone().min().unwrap(), xs.max().unwrap());
                let (y0, y1) = (ys.clone().min().unwrap(), ys.max().unwrap());
                Rect::from_edges(x0, y0, x1 + 1, y1 + 1).unwrap()
            });
            assert_eq!(m.bounds(), want, "case {case}: {w}x{h}");
        }
    }

    #[test]
    fn runs_split_a_row_into_maximal_stretches() {
        let row = [0, 0, 255, 255, 255, 7, 9, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3];
        let got: Vec<_> = runs(&row).collect();
        assert_eq!(
            got,
            [
                (0..2, Coverage::None),
                (2..5, Coverage::Full),
                (5..7, Coverage::Partial),
                (7..8, Coverage::None),
                (8..9, Coverage::Full),
                (9..19, Coverage::None),
                (19..20, Coverage::Partial),
            ]
        );
        assert_eq!(runs(&[]).count(), 0);
    }

    fn stroke(points: &[[f32; 2]], width: f32) -> Shape {
        Shape::Stroke {
            points: points.iter().map(|p| StrokePoint { x: p[0], y: p[1], pressure: 1.0 }).collect(),
            width,
        }
    }

    #[test]
    fn stroke_covers_its_core_and_touches_only_its_bounds() {
        let mut m = Mask::new(size(100, 80));
        let dirty = m.paint(&stroke(&[[10.0, 40.0], [90.0, 40.0]], 10.0), false).unwrap().unwrap();
        assert_eq!(m.get(50, 40), 255);
        assert_eq!(m.get(50, 30), 0);
        assert_eq!(m.get(2, 40), 0);
        let b = m.bounds().unwrap();
        assert!(dirty.contains(b));
        assert_eq!((b.x, b.y, b.right(), b.bottom()), (5, 35, 95, 45));
        // Anti-aliased: an edge pixel of a circle cap is partly covered.
        assert!(m.data().iter().any(|&v| v > 0 && v < 255));
    }

    #[test]
    fn eraser_subtracts() {
        let mut m = Mask::new(size(50, 50));
        m.paint(&Shape::Rect { x: 0.0, y: 0.0, width: 50.0, height: 50.0 }, false).unwrap();
        m.paint(&stroke(&[[25.0, 0.0], [25.0, 50.0]], 6.0), true).unwrap();
        assert_eq!(m.get(25, 25), 0);
        assert_eq!(m.get(10, 25), 255);
    }

    #[test]
    fn polygon_fill_rules_differ_on_a_pentagram() {
        let star: Vec<[f32; 2]> = (0..5)
            .map(|i| {
                let a = std::f32::consts::PI * (-0.5 + 0.8 * i as f32);
                [50.0 + 40.0 * a.cos(), 50.0 + 40.0 * a.sin()]
            })
            .collect();
        let mut nz = Mask::new(size(100, 100));
        nz.paint(&Shape::Polygon { points: star.clone(), even_odd: false }, false).unwrap();
        let mut eo = Mask::new(size(100, 100));
        eo.paint(&Shape::Polygon { points: star, even_odd: true }, false).unwrap();
        assert_eq!(nz.get(50, 50), 255);
        assert_eq!(eo.get(50, 50), 0);
    }

    #[test]
    fn grow_is_euclidean_and_shrink_inverts_it() {
        let mut m = Mask::new(size(101, 101));
        m.data[50 * 101 + 50] = 255;
        let g = m.grow(20);
        assert_eq!(g.get(50 + 20, 50), 255); // distance 20 along an axis
        assert_eq!(g.get(50 + 14, 50 + 14), 255); // distance 19.8
        assert_eq!(g.get(50 + 15, 50 + 15), 0); // distance 21.2: a square kernel would keep it
        let s = g.grow(-10);
        assert_eq!(s.get(50 + 10, 50), 255);
        assert_eq!(s.get(50 + 12, 50), 0);
    }

    #[test]
    fn feather_falls_off_and_stays_zero_beyond_its_radius() {
        let mut m = Mask::new(size(200, 50));
        m.paint(&Shape::Rect { x: 100.0, y: 0.0, width: 100.0, height: 50.0 }, false).unwrap();
        let f = m.feather(12);
        assert!(f.get(100, 25) > 100 && f.get(100, 25) < 160);
        assert_eq!(f.get(150, 25), 255);
        assert_eq!(f.get(86, 25), 0);
        let row: Vec<u8> = (80..120).map(|x| f.get(x, 25)).collect();
        assert!(row.windows(2).all(|p| p[0] <= p[1]), "monotone edge {row:?}");
    }

    /// The horizontal pass, with its jumps over flat stretches, equals the rounded mean of
    /// every window (edges repeated), for rows of flat runs and soft values at every radius.
    #[test]
    fn blur_line_is_the_rounded_window_mean() {
        let mut state = 0x1234_5678_u32;
        for case in 0..300usize {
            let n = 1 + case % 97;
            let r = 1 + case % 13;
            let mut row = Vec::with_capacity(n);
            while row.len() < n {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let value = [0, 255, 0, 255, (state >> 24) as u8][(state >> 4) as usize % 5];
                row.extend(std::iter::repeat_n(value, 1 + (state >> 12) as usize % 40));
            }
            row.truncate(n);
            let mut got = vec![0; n];
            blur_line(&row, &mut got, r, Divider::new(2 * r as u32 + 1));
            let d = 2 * r as u32 + 1;
            let want: Vec<u8> = (0..n as isize)
                .map(|i| {
                    let sum: u32 = (i - r as isize..=i + r as isize)
                        .map(|j| row[j.clamp(0, n as isize - 1) as usize] as u32)
                        .sum();
                    ((sum + d / 2) / d) as u8
                })
                .collect();
            assert_eq!(got, want, "case {case}: r {r}, row {row:?}");
        }
    }

    #[test]
    fn tiled_feather_equals_blurring_everything() {
        let mut m = Mask::new(size(700, 450));
        m.paint(&Shape::Ellipse { cx: 300.0, cy: 200.0, rx: 260.0, ry: 170.0 }, false).unwrap();
        m.paint(&stroke(&[[10.0, 440.0], [690.0, 20.0]], 15.0), true).unwrap();
        m.paint(&Shape::Rect { x: 600.0, y: 300.0, width: 100.0, height: 150.0 }, false).unwrap();
        for radius in [1, 4, 12, 32, 96] {
            let b = (radius / 3).max(1);
            let roi = m.bounds().unwrap().outset(3 * b + 1, m.size());
            let mut whole = m.crop(roi).unwrap();
            (0..3).for_each(|_| box_blur(&mut whole, b));
            let mut want = m.clone();
            want.put(roi.x, roi.y, &whole).unwrap();
            assert!(m.feather(radius) == want, "radius {radius}");
        }
    }

    #[test]
    fn the_blur_divider_is_exact() {
        for div in (1..=1025).step_by(2) {
            let d = Divider::new(div);
            for sum in (0..=255 * div).step_by(7).chain([255 * div]) {
                assert_eq!(d.round(sum) as u32, (sum + div / 2) / div, "{sum} / {div}");
            }
        }
    }

    #[test]
    fn wand_selects_contiguous_or_global() {
        let s = size(10, 1);
        let mut rgba = vec![0u8; 40];
        for x in [0usize, 1, 2, 7, 8] {
            rgba[x * 4..x * 4 + 4].copy_from_slice(&[200, 10, 10, 255]);
        }
        let c = Mask::magic_wand(&rgba, s, (1, 0), 20, true).unwrap();
        assert_eq!(c.data(), &[255, 255, 255, 0, 0, 0, 0, 0, 0, 0]);
        let g = Mask::magic_wand(&rgba, s, (1, 0), 20, false).unwrap();
        assert_eq!(g.data(), &[255, 255, 255, 0, 0, 0, 0, 255, 255, 0]);
        assert!(Mask::magic_wand(&rgba, s, (10, 0), 20, true).is_err());
    }

    #[test]
    fn png_conventions_round_trip_and_are_detected() {
        let mut m = Mask::new(size(40, 30));
        m.paint(&Shape::Ellipse { cx: 20.0, cy: 15.0, rx: 8.0, ry: 6.0 }, false).unwrap();
        for conv in [MaskConvention::WhiteEdit, MaskConvention::AlphaEdit] {
            let png = m.to_png(conv).unwrap();
            assert_eq!(Mask::from_png(&png, None, m.size(), false).unwrap(), m, "{conv:?}");
        }
        let cov = m.to_png(MaskConvention::AlphaCoverage).unwrap();
        assert_eq!(Mask::from_png(&cov, Some(MaskConvention::AlphaCoverage), m.size(), false).unwrap(), m);
        let scaled = Mask::from_png(&m.to_png(MaskConvention::WhiteEdit).unwrap(), None, size(80, 60), true).unwrap();
        assert_eq!(scaled.get(40, 30), 255);
        assert_eq!(scaled.get(5, 5), 0);
        assert!(scaled.data().iter().all(|&v| v == 0 || v == 255));
    }

    #[test]
    fn regions_are_found_largest_first() {
        let mut m = Mask::new(size(60, 20));
        m.paint(&Shape::Rect { x: 2.0, y: 2.0, width: 5.0, height: 5.0 }, false).unwrap();
        m.paint(&Shape::Rect { x: 30.0, y: 2.0, width: 20.0, height: 10.0 }, false).unwrap();
        let r = m.regions();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].0, Rect::new(30, 2, 20, 10).unwrap());
        assert_eq!(r[1].1, 25);
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        let mut m = Mask::new(size(10, 10));
        assert!(m.paint(&stroke(&[], 5.0), false).is_err());
        assert!(m.paint(&stroke(&[[1.0, 1.0]], f32::NAN), false).is_err());
        assert!(m.paint(&Shape::Polygon { points: vec![[0.0, 0.0]], even_odd: false }, false).is_err());
        assert_eq!(m.paint(&stroke(&[[-100.0, -100.0]], 5.0), false).unwrap(), None);
        assert!(m.is_empty());
    }
}
