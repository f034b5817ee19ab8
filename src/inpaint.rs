//! Object removal: multi-scale exemplar inpainting.
//!
//! The hole is filled by image completion in the style of Wexler, Shechtman and Irani
//! ("Space-Time Completion of Video", 2007): every patch that overlaps the hole should look like
//! some patch of the known surroundings, and every hole pixel is the (weighted) vote of the
//! source pixels that the overlapping patches copy. The nearest-neighbour field between hole
//! patches and source patches is found with PatchMatch (Barnes, Shechtman, Finkelstein and
//! Goldman, 2009): random initialisation, propagation of good offsets to the neighbours, and a
//! random search at exponentially shrinking radii. Everything runs coarse to fine on a Gaussian-
//! like pyramid of a window around the hole, so large structures are settled at the coarse levels
//! and the fine levels only refine the texture.
//!
//! Patches are compared on alpha-premultiplied colour plus a texture feature (the local mean
//! gradient magnitude, as in Newson et al., "Video Inpainting of Complex Scenes", 2014), which
//! keeps the completion from filling textured areas with smooth exemplars. At full resolution
//! each hole pixel takes the value of its best-matching overlapping patch rather than the mean of
//! all of them, which keeps the texture sharp.
//!
//! Only a window around the hole (its bounding box plus a margin as large as the hole) is
//! processed: it is faster than the whole image and keeps the exemplars local. Disjoint holes far
//! from each other are filled independently, each in its own window.
//!
//! The random number generator is a constant-seeded xorshift, so the result is a deterministic
//! function of the input. Pixels outside the hole are never written.
#![allow(clippy::needless_range_loop)] // indexed loops read best in pixel code

use std::fmt;

/// Why [`inpaint`] refused its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InpaintError {
    /// Width or height is zero.
    ZeroSize { width: u32, height: u32 },
    /// `rgba` is not `width * height * 4` bytes or `hole` is not `width * height` bytes.
    SizeMismatch { width: u32, height: u32, rgba_len: usize, hole_len: usize },
    /// Every pixel is in the hole: there is nothing to fill it from.
    NoSource,
}

impl fmt::Display for InpaintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InpaintError::ZeroSize { width, height } => {
                write!(f, "cannot inpaint an empty image ({width}x{height})")
            }
            InpaintError::SizeMismatch { width, height, rgba_len, hole_len } => write!(
                f,
                "inpaint buffers do not match a {width}x{height} image: {rgba_len} RGBA bytes \
                 and {hole_len} mask bytes"
            ),
            InpaintError::NoSource => {
                write!(f, "the hole covers the whole image: there are no pixels to fill it from")
            }
        }
    }
}

impl std::error::Error for InpaintError {}

/// Patch radius: patches are (2r+1)^2 = 5x5 pixels (smaller than the usual 7x7: sharper
/// texture at a small cost in PSNR; measured with examples/inpaint_bench.rs).
const PATCH_RADIUS: usize = 2;
/// Context margin around a hole's bounding box, as a fraction of the box's larger side.
const MARGIN_FACTOR: f32 = 1.0;
/// Smallest context margin in pixels.
const MIN_MARGIN: usize = 24;
/// Stop building the pyramid once the hole is at most this deep (distance to the nearest known
/// pixel): a coarsest hole about 25 pixels across still shows the surrounding structure; going
/// coarser loses it (measured: deeper pyramids give lower PSNR).
const COARSE_DEPTH: u32 = 12;
/// A pyramid level needs at least this many complete source patches to be used.
const MIN_SOURCES: usize = 64;
const MAX_LEVELS: usize = 10;
/// Beyond this many separate holes, fill them all in one window.
const MAX_WINDOWS: usize = 256;
/// Weight of the texture feature channel relative to colour.
const TEXTURE_WEIGHT: f32 = 4.5;
/// Radius of the box the texture feature is averaged over.
const TEXTURE_RADIUS: usize = 5;
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;
const NONE: u32 = u32::MAX;

/// Fills the pixels where `hole[i] > 127` from their surroundings so that texture and
/// structure continue (multi-scale PatchMatch exemplar inpainting). `rgba` is width*height*4
/// straight-alpha RGBA, modified in place ONLY inside the hole; pixels outside the hole stay
/// byte-identical. Returns an error instead of panicking for a size mismatch, a zero size, or a
/// hole covering the whole image (no source pixels). An empty hole is `Ok` and changes nothing.
pub fn inpaint(rgba: &mut [u8], width: u32, height: u32, hole: &[u8]) -> Result<(), InpaintError> {
    if width == 0 || height == 0 {
        return Err(InpaintError::ZeroSize { width, height });
    }
    let (w, h) = (width as usize, height as usize);
    let n = w.checked_mul(h);
    let sizes_ok = match (n, n.and_then(|n| n.checked_mul(4))) {
        (Some(n), Some(n4)) => rgba.len() == n4 && hole.len() == n,
        _ => false,
    };
    if !sizes_ok {
        return Err(InpaintError::SizeMismatch { width, height, rgba_len: rgba.len(), hole_len: hole.len() });
    }
    let count = hole.iter().filter(|&&m| m > 127).count();
    if count == 0 {
        return Ok(());
    }
    if count == hole.len() {
        return Err(InpaintError::NoSource);
    }
    let mut rng = Rng(SEED);
    for win in plan_windows(w, h, hole) {
        fill_window(rgba, w, hole, win, &mut rng);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Windows

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x0: usize,
    y0: usize,
    x1: usize, // exclusive
    y1: usize, // exclusive
}

impl Rect {
    fn union(self, o: Rect) -> Rect {
        Rect { x0: self.x0.min(o.x0), y0: self.y0.min(o.y0), x1: self.x1.max(o.x1), y1: self.y1.max(o.y1) }
    }
    fn intersects(self, o: Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    /// The window processed for a hole with this bounding box.
    fn expand(self, w: usize, h: usize) -> Rect {
        let side = (self.x1 - self.x0).max(self.y1 - self.y0);
        let m = ((side as f32 * MARGIN_FACTOR) as usize).max(MIN_MARGIN);
        Rect {
            x0: self.x0.saturating_sub(m),
            y0: self.y0.saturating_sub(m),
            x1: (self.x1 + m).min(w),
            y1: (self.y1 + m).min(h),
        }
    }
}

/// Groups the hole's 8-connected components into windows that do not overlap.
fn plan_windows(w: usize, h: usize, hole: &[u8]) -> Vec<Rect> {
    let mut label = vec![NONE; w * h];
    let mut boxes: Vec<Rect> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut all = Rect { x0: w, y0: h, x1: 0, y1: 0 };
    for start in 0..w * h {
        if hole[start] <= 127 || label[start] != NONE {
            continue;
        }
        let id = boxes.len() as u32;
        let mut b = Rect { x0: w, y0: h, x1: 0, y1: 0 };
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            b = b.union(Rect { x0: x, y0: y, x1: x + 1, y1: y + 1 });
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let j = ny * w + nx;
                    if hole[j] > 127 && label[j] == NONE {
                        label[j] = id;
                        stack.push(j);
                    }
                }
            }
        }
        all = all.union(b);
        boxes.push(b);
    }
    if boxes.len() > MAX_WINDOWS {
        return vec![all.expand(w, h)];
    }
    // Each group: (union of hole boxes, window). Merge groups whose windows overlap.
    let mut groups: Vec<(Rect, Rect)> = boxes.iter().map(|&b| (b, b.expand(w, h))).collect();
    loop {
        let mut merged = false;
        'outer: for i in 0..groups.len() {
            for j in i + 1..groups.len() {
                if groups[i].1.intersects(groups[j].1) {
                    let b = groups[i].0.union(groups[j].0);
                    groups[i] = (b, b.expand(w, h));
                    groups.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            break;
        }
    }
    groups.into_iter().map(|g| g.1).collect()
}

// ---------------------------------------------------------------------------------------------
// Pyramid

struct Level {
    w: usize,
    h: usize,
    /// Per pixel: alpha-premultiplied R, G, B and a texture feature (local mean gradient
    /// magnitude of luminance, scaled). These four channels are what patches are compared on.
    /// Hole pixels hold the current estimate.
    img: Vec<f32>,
    /// Per pixel alpha (voted along with the colour, not compared).
    alpha: Vec<f32>,
    hole: Vec<bool>,
}

impl Level {
    /// Half resolution. A coarse pixel is in the hole if any of its children is, so coarse
    /// source pixels never mix in unknown values.
    fn downsample(&self) -> Level {
        let (cw, ch) = (self.w.div_ceil(2), self.h.div_ceil(2));
        let mut img = vec![0f32; cw * ch * 4];
        let mut alpha = vec![0f32; cw * ch];
        let mut hole = vec![false; cw * ch];
        for cy in 0..ch {
            for cx in 0..cw {
                let mut acc = [0f32; 4];
                let mut acc_a = 0f32;
                let mut cnt = 0f32;
                let mut any_hole = false;
                for fy in 2 * cy..(2 * cy + 2).min(self.h) {
                    for fx in 2 * cx..(2 * cx + 2).min(self.w) {
                        let i = fy * self.w + fx;
                        any_hole |= self.hole[i];
                        for c in 0..4 {
                            acc[c] += self.img[i * 4 + c];
                        }
                        acc_a += self.alpha[i];
                        cnt += 1.0;
                    }
                }
                let o = cy * cw + cx;
                hole[o] = any_hole;
                if !any_hole {
                    for c in 0..4 {
                        img[o * 4 + c] = acc[c] / cnt;
                    }
                    alpha[o] = acc_a / cnt;
                }
            }
        }
        Level { w: cw, h: ch, img, alpha, hole }
    }

    /// Largest Chebyshev distance from a hole pixel to the nearest known pixel (or window edge
    /// beyond which nothing is known, which is treated as far).
    fn hole_depth(&self) -> u32 {
        let (w, h) = (self.w, self.h);
        let inf = u32::MAX / 2;
        let mut d: Vec<u32> = self.hole.iter().map(|&b| if b { inf } else { 0 }).collect();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if d[i] == 0 {
                    continue;
                }
                let mut m = d[i];
                if x > 0 {
                    m = m.min(d[i - 1] + 1);
                }
                if y > 0 {
                    m = m.min(d[i - w] + 1);
                    if x > 0 {
                        m = m.min(d[i - w - 1] + 1);
                    }
                    if x + 1 < w {
                        m = m.min(d[i - w + 1] + 1);
                    }
                }
                d[i] = m;
            }
        }
        let mut max = 0;
        for y in (0..h).rev() {
            for x in (0..w).rev() {
                let i = y * w + x;
                if d[i] == 0 {
                    continue;
                }
                let mut m = d[i];
                if x + 1 < w {
                    m = m.min(d[i + 1] + 1);
                }
                if y + 1 < h {
                    m = m.min(d[i + w] + 1);
                    if x + 1 < w {
                        m = m.min(d[i + w + 1] + 1);
                    }
                    if x > 0 {
                        m = m.min(d[i + w - 1] + 1);
                    }
                }
                d[i] = m;
                max = max.max(m);
            }
        }
        max
    }

    /// Channel 3 := `weight` x the mean of |d/dx| + |d/dy| of luminance over a (2 radius + 1)^2
    /// box, from known pixels only (hole pixels get theirs by voting, like colours). It lets
    /// patch distances tell textured from smooth areas of similar mean colour, which keeps the
    /// completion from favouring smooth exemplars (Newson et al., 2014).
    fn add_texture_feature(&mut self, weight: f32, radius: usize) {
        let (w, h) = (self.w, self.h);
        let lum: Vec<f32> = (0..w * h)
            .map(|i| 0.299 * self.img[i * 4] + 0.587 * self.img[i * 4 + 1] + 0.114 * self.img[i * 4 + 2])
            .collect();
        let known = |x: usize, y: usize| !self.hole[y * w + x];
        // Gradient magnitude where defined, plus a 0/1 "defined" count.
        let mut g = vec![0f32; w * h];
        let mut def = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                if !known(x, y) {
                    continue;
                }
                let gx = if x > 0 && x + 1 < w && known(x - 1, y) && known(x + 1, y) {
                    Some((lum[y * w + x + 1] - lum[y * w + x - 1]).abs() * 0.5)
                } else {
                    None
                };
                let gy = if y > 0 && y + 1 < h && known(x, y - 1) && known(x, y + 1) {
                    Some((lum[(y + 1) * w + x] - lum[(y - 1) * w + x]).abs() * 0.5)
                } else {
                    None
                };
                if let (Some(a), Some(b)) = (gx, gy) {
                    g[y * w + x] = a + b;
                    def[y * w + x] = 1.0;
                }
            }
        }
        let gs = box_sum(&g, w, h, radius);
        let ds = box_sum(&def, w, h, radius);
        for i in 0..w * h {
            self.img[i * 4 + 3] = if self.hole[i] || ds[i] == 0.0 { 0.0 } else { weight * gs[i] / ds[i] };
        }
    }

    /// Fills the hole by repeatedly averaging already-filled 8-neighbours (onion peel): a smooth
    /// first guess for the coarsest level.
    fn onion_fill(&mut self) {
        let (w, h) = (self.w, self.h);
        let mut filled: Vec<bool> = self.hole.iter().map(|&b| !b).collect();
        let mut todo: Vec<usize> = (0..w * h).filter(|&i| self.hole[i]).collect();
        let mut newly: Vec<(usize, [f32; 5])> = Vec::new();
        while !todo.is_empty() {
            newly.clear();
            todo.retain(|&i| {
                let (x, y) = (i % w, i / w);
                let mut acc = [0f32; 5];
                let mut cnt = 0f32;
                for ny in y.saturating_sub(1)..(y + 2).min(h) {
                    for nx in x.saturating_sub(1)..(x + 2).min(w) {
                        let j = ny * w + nx;
                        if filled[j] {
                            for c in 0..4 {
                                acc[c] += self.img[j * 4 + c];
                            }
                            acc[4] += self.alpha[j];
                            cnt += 1.0;
                        }
                    }
                }
                if cnt > 0.0 {
                    newly.push((i, acc.map(|v| v / cnt)));
                    false
                } else {
                    true
                }
            });
            if newly.is_empty() {
                break; // cannot happen: the window always contains a known pixel
            }
            for &(i, v) in &newly {
                self.img[i * 4..i * 4 + 4].copy_from_slice(&v[..4]);
                self.alpha[i] = v[4];
                filled[i] = true;
            }
        }
    }
}

/// Sum over the (2r+1)^2 box around every pixel, clipped to the image.
fn box_sum(v: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        let row = &v[y * w..(y + 1) * w];
        let mut acc = 0f32;
        for x in 0..r.min(w) {
            acc += row[x];
        }
        for x in 0..w {
            if x + r < w {
                acc += row[x + r];
            }
            if x > r {
                acc -= row[x - r - 1];
            }
            tmp[y * w + x] = acc;
        }
    }
    let mut out = vec![0f32; w * h];
    for x in 0..w {
        let mut acc = 0f32;
        for y in 0..r.min(h) {
            acc += tmp[y * w + x];
        }
        for y in 0..h {
            if y + r < h {
                acc += tmp[(y + r) * w + x];
            }
            if y > r {
                acc -= tmp[(y - r - 1) * w + x];
            }
            out[y * w + x] = acc.max(0.0);
        }
    }
    out
}

/// Dilates `m` by `r` in Chebyshev distance (separable max filter).
fn dilate(m: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    if r == 0 {
        return m.to_vec();
    }
    let mut tmp = vec![false; w * h];
    for y in 0..h {
        let row = &m[y * w..(y + 1) * w];
        // running count of set pixels in the window
        let mut cnt = 0usize;
        for x in 0..r.min(w) {
            cnt += row[x] as usize;
        }
        for x in 0..w {
            if x + r < w {
                cnt += row[x + r] as usize;
            }
            if x > r {
                cnt -= row[x - r - 1] as usize;
            }
            tmp[y * w + x] = cnt > 0;
        }
    }
    let mut out = vec![false; w * h];
    for x in 0..w {
        let mut cnt = 0usize;
        for y in 0..r.min(h) {
            cnt += tmp[y * w + x] as usize;
        }
        for y in 0..h {
            if y + r < h {
                cnt += tmp[(y + r) * w + x] as usize;
            }
            if y > r {
                cnt -= tmp[(y - r - 1) * w + x] as usize;
            }
            out[y * w + x] = cnt > 0;
        }
    }
    out
}

/// Target patch centres (patches that touch the hole) and valid source patch centres (patches
/// entirely inside the window and entirely known).
fn patch_maps(level: &Level, r: usize) -> (Vec<bool>, Vec<bool>) {
    let (w, h) = (level.w, level.h);
    let target = dilate(&level.hole, w, h, r);
    let mut valid = vec![false; w * h];
    if w > 2 * r && h > 2 * r {
        for y in r..h - r {
            for x in r..w - r {
                let i = y * w + x;
                valid[i] = !target[i];
            }
        }
    }
    (target, valid)
}

// ---------------------------------------------------------------------------------------------
// PatchMatch + EM on one level

struct Field {
    w: usize,
    h: usize,
    r: usize,
    /// Pixel index of each target patch centre, in scanline order.
    targets: Vec<u32>,
    /// Pixel index -> target slot, or NONE.
    slot: Vec<u32>,
    valid: Vec<bool>,
    valid_list: Vec<u32>,
    /// Per target: source patch centre (x, y).
    nnf: Vec<(u32, u32)>,
    /// Per target: sum of squared differences to its source patch.
    dist: Vec<f32>,
    /// Hole pixel index -> compact index for voting, or NONE.
    hole_slot: Vec<u32>,
    hole_pixels: Vec<u32>,
    /// Vote with the best candidate instead of the weighted mean.
    best_vote: bool,
}

impl Field {
    fn new(level: &Level, r: usize) -> Field {
        let (w, h) = (level.w, level.h);
        let (target, valid) = patch_maps(level, r);
        let mut slot = vec![NONE; w * h];
        let mut targets = Vec::new();
        let mut valid_list = Vec::new();
        let mut hole_slot = vec![NONE; w * h];
        let mut hole_pixels = Vec::new();
        for i in 0..w * h {
            if target[i] {
                slot[i] = targets.len() as u32;
                targets.push(i as u32);
            }
            if valid[i] {
                valid_list.push(i as u32);
            }
            if level.hole[i] {
                hole_slot[i] = hole_pixels.len() as u32;
                hole_pixels.push(i as u32);
            }
        }
        let nt = targets.len();
        Field {
            w,
            h,
            r,
            targets,
            slot,
            valid,
            valid_list,
            nnf: vec![(0, 0); nt],
            dist: vec![f32::INFINITY; nt],
            hole_slot,
            hole_pixels,
            best_vote: false,
        }
    }

    fn random_source(&self, rng: &mut Rng) -> (u32, u32) {
        let i = self.valid_list[rng.below(self.valid_list.len())] as usize;
        ((i % self.w) as u32, (i / self.w) as u32)
    }

    fn random_init(&mut self, rng: &mut Rng) {
        for k in 0..self.targets.len() {
            self.nnf[k] = self.random_source(rng);
        }
    }

    /// Target patch clipped to the window: (left, right, up, down) extents.
    #[inline]
    fn extents(&self, tx: usize, ty: usize) -> (usize, usize, usize, usize) {
        let r = self.r;
        (tx.min(r), (self.w - 1 - tx).min(r), ty.min(r), (self.h - 1 - ty).min(r))
    }

    /// SSD between the (clipped) target patch at `t` and the source patch at `s`; stops early
    /// once it exceeds `cutoff`.
    #[inline]
    fn patch_dist(&self, img: &[f32], t: usize, s: (u32, u32), cutoff: f32) -> f32 {
        let w = self.w;
        let (tx, ty) = (t % w, t / w);
        let (sx, sy) = (s.0 as usize, s.1 as usize);
        let (lx, rx, uy, dy) = self.extents(tx, ty);
        let len = (lx + rx + 1) * 4;
        let mut acc = 0f32;
        for row in 0..uy + dy + 1 {
            let ti = ((ty - uy + row) * w + tx - lx) * 4;
            let si = ((sy - uy + row) * w + sx - lx) * 4;
            let a = &img[ti..ti + len];
            let b = &img[si..si + len];
            let mut lanes = [0f32; 4];
            for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
                for c in 0..4 {
                    let d = pa[c] - pb[c];
                    lanes[c] += d * d;
                }
            }
            acc += lanes[0] + lanes[1] + lanes[2] + lanes[3];
            if acc > cutoff {
                return acc;
            }
        }
        acc
    }

    fn patch_pixels(&self, t: usize) -> f32 {
        let (lx, rx, uy, dy) = self.extents(t % self.w, t / self.w);
        ((lx + rx + 1) * (uy + dy + 1)) as f32
    }

    fn compute_dists(&mut self, img: &[f32]) {
        for k in 0..self.targets.len() {
            self.dist[k] = self.patch_dist(img, self.targets[k] as usize, self.nnf[k], f32::INFINITY);
        }
    }

    #[inline]
    fn is_valid(&self, x: isize, y: isize) -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < self.w
            && (y as usize) < self.h
            && self.valid[y as usize * self.w + x as usize]
    }

    /// One PatchMatch sweep: propagation from the previous neighbours in scan order, then random
    /// search around the current best at radii max_radius, max_radius/2, ..., 1.
    fn sweep(&mut self, img: &[f32], forward: bool, max_radius: usize, rng: &mut Rng) {
        let n = self.targets.len();
        let w = self.w;
        let step: isize = if forward { 1 } else { -1 };
        let r = self.r as isize;
        let (xmax, ymax) = (self.w as isize - 1 - r, self.h as isize - 1 - r);
        for kk in 0..n {
            let k = if forward { kk } else { n - 1 - kk };
            let t = self.targets[k] as usize;
            let (tx, ty) = ((t % w) as isize, (t / w) as isize);
            let mut best = self.nnf[k];
            let mut bd = self.dist[k];
            // Propagation.
            for (nx, ny) in [(tx - step, ty), (tx, ty - step)] {
                if nx < 0 || ny < 0 || nx >= w as isize || ny >= self.h as isize {
                    continue;
                }
                let ns = self.slot[ny as usize * w + nx as usize];
                if ns == NONE {
                    continue;
                }
                let (sx, sy) = self.nnf[ns as usize];
                let cx = sx as isize + (tx - nx);
                let cy = sy as isize + (ty - ny);
                if self.is_valid(cx, cy) && (cx as u32, cy as u32) != best {
                    let d = self.patch_dist(img, t, (cx as u32, cy as u32), bd);
                    if d < bd {
                        bd = d;
                        best = (cx as u32, cy as u32);
                    }
                }
            }
            // Random search.
            let mut rad = max_radius as isize;
            while rad >= 1 {
                let cx = (best.0 as isize + rng.range(rad)).clamp(r, xmax.max(r));
                let cy = (best.1 as isize + rng.range(rad)).clamp(r, ymax.max(r));
                if self.is_valid(cx, cy) && (cx as u32, cy as u32) != best {
                    let d = self.patch_dist(img, t, (cx as u32, cy as u32), bd);
                    if d < bd {
                        bd = d;
                        best = (cx as u32, cy as u32);
                    }
                }
                rad /= 2;
            }
            self.nnf[k] = best;
            self.dist[k] = bd;
        }
    }

    /// Reconstructs every hole pixel as the weighted mean of what the overlapping patches'
    /// matches put there. `uniform` ignores the match quality (used right after upsampling,
    /// before distances mean anything).
    fn vote(&self, level: &mut Level, uniform: bool) {
        if !uniform && self.best_vote {
            return self.vote_best(level);
        }
        let img = &mut level.img;
        let w = self.w;
        let nt = self.targets.len();
        let weights: Vec<f32> = if uniform {
            vec![1.0; nt]
        } else {
            let norm: Vec<f32> = (0..nt).map(|k| self.dist[k] / self.patch_pixels(self.targets[k] as usize)).collect();
            let mut sorted = norm.clone();
            let q = (nt * 3) / 4;
            let (_, &mut s2, _) = sorted.select_nth_unstable_by(q.min(nt - 1), |a, b| a.total_cmp(b));
            let s2 = s2.max(1.0);
            norm.iter().map(|&d| (-d / (2.0 * s2)).exp().max(1e-6)).collect()
        };
        let nh = self.hole_pixels.len();
        let mut acc = vec![0f32; nh * 5];
        let mut wsum = vec![0f32; nh];
        for k in 0..nt {
            let t = self.targets[k] as usize;
            let (tx, ty) = (t % w, t / w);
            let (sx, sy) = (self.nnf[k].0 as usize, self.nnf[k].1 as usize);
            let (lx, rx, uy, dy) = self.extents(tx, ty);
            let wt = weights[k];
            for row in 0..uy + dy + 1 {
                let trow = (ty - uy + row) * w + tx - lx;
                let srow = (sy - uy + row) * w + sx - lx;
                for col in 0..lx + rx + 1 {
                    let hs = self.hole_slot[trow + col];
                    if hs == NONE {
                        continue;
                    }
                    let hs = hs as usize;
                    let si = (srow + col) * 4;
                    for c in 0..4 {
                        acc[hs * 5 + c] += wt * img[si + c];
                    }
                    acc[hs * 5 + 4] += wt * level.alpha[srow + col];
                    wsum[hs] += wt;
                }
            }
        }
        for (hs, &p) in self.hole_pixels.iter().enumerate() {
            let p = p as usize;
            if wsum[hs] > 0.0 {
                let inv = 1.0 / wsum[hs];
                for c in 0..4 {
                    img[p * 4 + c] = acc[hs * 5 + c] * inv;
                }
                level.alpha[p] = acc[hs * 5 + 4] * inv;
            }
        }
    }

    /// Every hole pixel takes the value that the lowest-error overlapping patch puts there.
    fn vote_best(&self, level: &mut Level) {
        let img = &mut level.img;
        let w = self.w;
        let nh = self.hole_pixels.len();
        let mut best = vec![f32::INFINITY; nh];
        let mut val = vec![[0f32; 5]; nh];
        for k in 0..self.targets.len() {
            let t = self.targets[k] as usize;
            let (tx, ty) = (t % w, t / w);
            let (sx, sy) = (self.nnf[k].0 as usize, self.nnf[k].1 as usize);
            let (lx, rx, uy, dy) = self.extents(tx, ty);
            let d = self.dist[k] / self.patch_pixels(t);
            for row in 0..uy + dy + 1 {
                let trow = (ty - uy + row) * w + tx - lx;
                let srow = (sy - uy + row) * w + sx - lx;
                for col in 0..lx + rx + 1 {
                    let hs = self.hole_slot[trow + col];
                    if hs == NONE || d >= best[hs as usize] {
                        continue;
                    }
                    let si = (srow + col) * 4;
                    best[hs as usize] = d;
                    val[hs as usize][..4].copy_from_slice(&img[si..si + 4]);
                    val[hs as usize][4] = level.alpha[srow + col];
                }
            }
        }
        for (hs, &p) in self.hole_pixels.iter().enumerate() {
            let p = p as usize;
            img[p * 4..p * 4 + 4].copy_from_slice(&val[hs][..4]);
            level.alpha[p] = val[hs][4];
        }
    }

    /// Initial field for a finer level from this (coarser) level's field.
    fn upsample_into(&self, fine: &mut Field, rng: &mut Rng) {
        let r = fine.r as isize;
        let (xmax, ymax) = (fine.w as isize - 1 - r, fine.h as isize - 1 - r);
        for k in 0..fine.targets.len() {
            let t = fine.targets[k] as usize;
            let (tx, ty) = (t % fine.w, t / fine.w);
            let (cx, cy) = ((tx / 2).min(self.w - 1), (ty / 2).min(self.h - 1));
            let cs = self.slot[cy * self.w + cx];
            let mut chosen = None;
            if cs != NONE {
                let (sx, sy) = self.nnf[cs as usize];
                let fx = (2 * sx as isize + (tx as isize - 2 * cx as isize)).clamp(r, xmax.max(r));
                let fy = (2 * sy as isize + (ty as isize - 2 * cy as isize)).clamp(r, ymax.max(r));
                if fine.is_valid(fx, fy) {
                    chosen = Some((fx as u32, fy as u32));
                }
            }
            fine.nnf[k] = match chosen {
                Some(s) => s,
                None => fine.random_source(rng),
            };
        }
    }
}

/// EM iterations and PatchMatch sweeps per EM iteration at a level (0 = finest).
fn schedule(level: usize, levels: usize) -> (usize, usize) {
    if level + 1 == levels {
        (12, 3)
    } else if level == 0 {
        (1, 2)
    } else {
        (4, 2)
    }
}

fn fill_window(rgba: &mut [u8], img_w: usize, hole: &[u8], win: Rect, rng: &mut Rng) {
    let (w, h) = (win.x1 - win.x0, win.y1 - win.y0);
    let mut img = vec![0f32; w * h * 4];
    let mut alpha = vec![0f32; w * h];
    let mut hmask = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let gi = (win.y0 + y) * img_w + win.x0 + x;
            let li = y * w + x;
            if hole[gi] > 127 {
                hmask[li] = true;
            } else {
                let a = rgba[gi * 4 + 3] as f32;
                let k = a / 255.0;
                for c in 0..3 {
                    img[li * 4 + c] = rgba[gi * 4 + c] as f32 * k;
                }
                alpha[li] = a;
            }
        }
    }
    let mut base = Level { w, h, img, alpha, hole: hmask };
    base.add_texture_feature(TEXTURE_WEIGHT, TEXTURE_RADIUS);

    // Largest patch radius for which the window has any complete known patch.
    let mut r = PATCH_RADIUS;
    loop {
        let (_, valid) = patch_maps(&base, r);
        if r == 0 || valid.iter().any(|&v| v) {
            break;
        }
        r -= 1;
    }

    let mut levels = vec![base];
    while levels.len() < MAX_LEVELS {
        let Some(cur) = levels.last() else { break };
        if cur.hole_depth() <= COARSE_DEPTH || cur.w < 8 * r + 8 || cur.h < 8 * r + 8 {
            break;
        }
        let next = cur.downsample();
        let (_, valid) = patch_maps(&next, r);
        if valid.iter().filter(|&&v| v).count() < MIN_SOURCES {
            break;
        }
        levels.push(next);
    }

    let nl = levels.len();
    let mut prev: Option<Field> = None;
    for li in (0..nl).rev() {
        let level = &mut levels[li];
        let mut field = Field::new(level, r);
        let max_radius = level.w.max(level.h);
        match prev.take() {
            None => {
                level.onion_fill();
                field.random_init(rng);
            }
            Some(coarse) => {
                coarse.upsample_into(&mut field, rng);
                field.vote(level, true);
            }
        }
        let (em, sweeps) = schedule(li, nl);
        // At full resolution each hole pixel takes the value of its best-matching overlapping
        // patch instead of the mean of all of them: averaging misaligned exemplars blurs texture.
        field.best_vote = li == 0;
        for _ in 0..em {
            field.compute_dists(&level.img);
            for s in 0..sweeps {
                field.sweep(&level.img, s % 2 == 0, max_radius, rng);
            }
            field.vote(level, false);
        }
        prev = Some(field);
    }

    let (Some(level), Some(field)) = (levels.first(), prev) else { return };
    for &p in &field.hole_pixels {
        let p = p as usize;
        let (x, y) = (p % w, p / w);
        let gi = (win.y0 + y) * img_w + win.x0 + x;
        let a = level.alpha[p].round().clamp(0.0, 255.0);
        // Un-premultiply (exact for opaque pixels).
        let k = if a > 0.0 { 255.0 / a } else { 0.0 };
        for c in 0..3 {
            rgba[gi * 4 + c] = (level.img[p * 4 + c] * k).round().clamp(0.0, 255.0) as u8;
        }
        rgba[gi * 4 + 3] = a as u8;
    }
}

/// xorshift64* — tiny, fast, deterministic.
struct Rng(u64);

impl Rng {
    #[inline]
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in 0..n (n > 0, n < 2^32).
    #[inline]
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
    /// Uniform in -rad..=rad.
    #[inline]
    fn range(&mut self, rad: isize) -> isize {
        self.below((2 * rad + 1) as usize) as isize - rad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn noisy(rgba: &mut [u8], hole: &[u8], seed: u64) {
        let mut rng = Rng(seed | 1);
        for (i, &m) in hole.iter().enumerate() {
            if m > 127 {
                for c in 0..3 {
                    rgba[i * 4 + c] = rng.next() as u8;
                }
            }
        }
    }

    fn rect_hole(w: usize, h: usize, x0: usize, y0: usize, x1: usize, y1: usize) -> Vec<u8> {
        let mut m = vec![0u8; w * h];
        for y in y0..y1 {
            for x in x0..x1 {
                m[y * w + x] = 255;
            }
        }
        m
    }

    /// A smooth-ish colourful test image with some noise.
    fn test_image(w: usize, h: usize) -> Vec<u8> {
        let mut rng = Rng(12345);
        let mut v = vec![0u8; w * h * 4];
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 4;
                v[i] = ((x * 255) / w.max(1)) as u8;
                v[i + 1] = ((y * 255) / h.max(1)) as u8;
                v[i + 2] = (((x + y) * 7) % 256) as u8 ^ (rng.next() as u8 & 15);
                v[i + 3] = 255;
            }
        }
        v
    }

    fn hole_mse(a: &[u8], b: &[u8], hole: &[u8]) -> f64 {
        let mut s = 0f64;
        let mut n = 0f64;
        for (i, &m) in hole.iter().enumerate() {
            if m > 127 {
                for c in 0..3 {
                    let d = a[i * 4 + c] as f64 - b[i * 4 + c] as f64;
                    s += d * d;
                    n += 1.0;
                }
            }
        }
        s / n
    }

    fn mean_fill_mse(truth: &[u8], hole: &[u8]) -> f64 {
        let mut mean = [0f64; 3];
        let mut n = 0f64;
        for (i, &m) in hole.iter().enumerate() {
            if m <= 127 {
                for c in 0..3 {
                    mean[c] += truth[i * 4 + c] as f64;
                }
                n += 1.0;
            }
        }
        let mut filled = truth.to_vec();
        for (i, &m) in hole.iter().enumerate() {
            if m > 127 {
                for c in 0..3 {
                    filled[i * 4 + c] = (mean[c] / n).round() as u8;
                }
            }
        }
        hole_mse(&filled, truth, hole)
    }

    #[test]
    fn outside_hole_is_byte_identical_and_hole_is_filled() {
        let (w, h) = (80, 60);
        let truth = test_image(w, h);
        let mut hole = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - 30.0, y as f32 - 25.0);
                if dx * dx / 144.0 + dy * dy / 64.0 <= 1.0 || (x == 70 && y == 50) {
                    hole[y * w + x] = 200;
                }
            }
        }
        // Values <= 127 are not part of the hole.
        hole[0] = 127;
        let mut img = truth.clone();
        noisy(&mut img, &hole, 7);
        let before = img.clone();
        inpaint(&mut img, w as u32, h as u32, &hole).unwrap();
        for i in 0..w * h {
            if hole[i] <= 127 {
                assert_eq!(img[i * 4..i * 4 + 4], before[i * 4..i * 4 + 4], "pixel {i} changed");
            }
        }
        // The noise is gone: the fill is much closer to the truth than the noise was.
        assert!(hole_mse(&img, &truth, &hole) < hole_mse(&before, &truth, &hole) / 4.0);
    }

    #[test]
    fn empty_hole_is_a_no_op() {
        let (w, h) = (20, 10);
        let mut img = test_image(w, h);
        let before = img.clone();
        inpaint(&mut img, w as u32, h as u32, &vec![0u8; w * h]).unwrap();
        assert_eq!(img, before);
        let soft = vec![127u8; w * h];
        inpaint(&mut img, w as u32, h as u32, &soft).unwrap();
        assert_eq!(img, before);
    }

    #[test]
    fn full_hole_is_an_error() {
        let (w, h) = (16, 16);
        let mut img = test_image(w, h);
        let before = img.clone();
        let err = inpaint(&mut img, w as u32, h as u32, &vec![255u8; w * h]).unwrap_err();
        assert_eq!(err, InpaintError::NoSource);
        assert!(!err.to_string().is_empty());
        assert_eq!(img, before);
        let mut one = vec![1u8, 2, 3, 255];
        assert_eq!(inpaint(&mut one, 1, 1, &[255]), Err(InpaintError::NoSource));
    }

    #[test]
    fn size_mismatch_and_zero_size_are_errors() {
        let mut img = vec![0u8; 10 * 10 * 4];
        let hole = vec![255u8; 100];
        assert!(matches!(inpaint(&mut img, 10, 9, &hole), Err(InpaintError::SizeMismatch { .. })));
        assert!(matches!(inpaint(&mut img, 10, 10, &hole[..99]), Err(InpaintError::SizeMismatch { .. })));
        assert!(matches!(inpaint(&mut img[..399], 10, 10, &hole), Err(InpaintError::SizeMismatch { .. })));
        assert!(matches!(inpaint(&mut img, u32::MAX, u32::MAX, &hole), Err(InpaintError::SizeMismatch { .. })));
        assert!(matches!(inpaint(&mut [], 0, 5, &[]), Err(InpaintError::ZeroSize { .. })));
        assert!(matches!(inpaint(&mut [], 5, 0, &[]), Err(InpaintError::ZeroSize { .. })));
        let e = inpaint(&mut img, 10, 9, &hole).unwrap_err();
        assert!(e.to_string().contains("10x9"), "{e}");
    }

    #[test]
    fn corner_holes_and_tiny_holes_do_not_panic() {
        let (w, h) = (50, 40);
        let truth = test_image(w, h);
        let cases = [
            rect_hole(w, h, 0, 0, 12, 9),
            rect_hole(w, h, w - 10, h - 10, w, h),
            rect_hole(w, h, 0, h - 1, w, h),
            rect_hole(w, h, 17, 13, 18, 14),
            rect_hole(w, h, 0, 0, 1, 1),
            rect_hole(w, h, 0, 0, w - 1, h), // only one known column
        ];
        for hole in &cases {
            let mut img = truth.clone();
            noisy(&mut img, hole, 3);
            let before = img.clone();
            inpaint(&mut img, w as u32, h as u32, hole).unwrap();
            for i in 0..w * h {
                if hole[i] <= 127 {
                    assert_eq!(img[i * 4..i * 4 + 4], before[i * 4..i * 4 + 4]);
                }
            }
        }
        // One pixel filled from one or a few known pixels.
        for (w, h) in [(2usize, 1usize), (1, 2), (3, 3), (1, 7)] {
            let mut img: Vec<u8> = (0..w * h * 4).map(|i| (i * 37) as u8).collect();
            let mut hole = vec![0u8; w * h];
            hole[(w * h) / 2] = 255;
            let before = img.clone();
            inpaint(&mut img, w as u32, h as u32, &hole).unwrap();
            for i in 0..w * h {
                if hole[i] == 0 {
                    assert_eq!(img[i * 4..i * 4 + 4], before[i * 4..i * 4 + 4]);
                }
            }
        }
        // A single known pixel in a 1x3.
        let mut img = vec![9u8, 8, 7, 255, 1, 2, 3, 255, 0, 0, 0, 0];
        inpaint(&mut img, 3, 1, &[255, 0, 255]).unwrap();
        assert_eq!(img, vec![1u8, 2, 3, 255, 1, 2, 3, 255, 1, 2, 3, 255]);
    }

    #[test]
    fn one_pixel_hole_in_flat_area_takes_the_flat_colour() {
        let (w, h) = (30, 30);
        let mut img = vec![0u8; w * h * 4];
        for p in img.chunks_exact_mut(4) {
            p.copy_from_slice(&[10, 200, 30, 255]);
        }
        let mut hole = vec![0u8; w * h];
        hole[15 * w + 15] = 255;
        img[(15 * w + 15) * 4] = 99;
        inpaint(&mut img, w as u32, h as u32, &hole).unwrap();
        assert_eq!(img[(15 * w + 15) * 4..(15 * w + 15) * 4 + 4], [10, 200, 30, 255]);
    }

    fn periodic_case(pattern: impl Fn(usize, usize) -> [u8; 3], hole_box: (usize, usize, usize, usize)) -> (f64, f64) {
        let (w, h) = (128, 112);
        let mut truth = vec![0u8; w * h * 4];
        for y in 0..h {
            for x in 0..w {
                let c = pattern(x, y);
                truth[(y * w + x) * 4..(y * w + x) * 4 + 4].copy_from_slice(&[c[0], c[1], c[2], 255]);
            }
        }
        let (x0, y0, x1, y1) = hole_box;
        let hole = rect_hole(w, h, x0, y0, x1, y1);
        let mut img = truth.clone();
        noisy(&mut img, &hole, 11);
        inpaint(&mut img, w as u32, h as u32, &hole).unwrap();
        let (mse, flat) = (hole_mse(&img, &truth, &hole), mean_fill_mse(&truth, &hole));
        eprintln!("periodic texture: hole MSE {mse:.1}, flat mean fill MSE {flat:.1}");
        (mse, flat)
    }

    #[test]
    fn checkerboard_continues_through_the_hole() {
        // Period 8: 4-pixel squares.
        let (mse, flat) = periodic_case(
            |x, y| {
                if ((x / 4) + (y / 4)) % 2 == 0 {
                    [230, 40, 40]
                } else {
                    [20, 30, 200]
                }
            },
            (44, 38, 76, 70),
        );
        assert!(mse < flat * 0.05, "checkerboard mse {mse:.1} vs flat fill {flat:.1}");
    }

    #[test]
    fn diagonal_stripes_continue_through_the_hole() {
        // Period 8 along the diagonal, anti-aliased edges.
        let (mse, flat) = periodic_case(
            |x, y| {
                let t = ((x + 2 * y) % 8) as f32 / 8.0;
                let v = (0.5 + 0.5 * (t * std::f32::consts::TAU).sin()) * 255.0;
                [v as u8, (255.0 - v) as u8, 128]
            },
            (50, 40, 82, 66),
        );
        assert!(mse < flat * 0.05, "stripes mse {mse:.1} vs flat fill {flat:.1}");
    }

    #[test]
    fn alpha_is_filled_too() {
        let (w, h) = (40, 30);
        let mut img = vec![0u8; w * h * 4];
        for p in img.chunks_exact_mut(4) {
            p.copy_from_slice(&[100, 50, 25, 128]);
        }
        let hole = rect_hole(w, h, 15, 10, 25, 20);
        noisy(&mut img, &hole, 9);
        inpaint(&mut img, w as u32, h as u32, &hole).unwrap();
        for p in img.chunks_exact(4) {
            assert_eq!(p, [100, 50, 25, 128]);
        }
    }

    /// Standard deviation of the 4-neighbour Laplacian of luminance inside the hole.
    fn hole_texture(img: &[u8], w: usize, h: usize, hole: &[u8]) -> f64 {
        let lum = |x: usize, y: usize| {
            let i = (y * w + x) * 4;
            0.299 * img[i] as f64 + 0.587 * img[i + 1] as f64 + 0.114 * img[i + 2] as f64
        };
        let mut v = Vec::new();
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                if hole[y * w + x] > 127 {
                    v.push(lum(x - 1, y) + lum(x + 1, y) + lum(x, y - 1) + lum(x, y + 1) - 4.0 * lum(x, y));
                }
            }
        }
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / n).sqrt()
    }

    #[test]
    fn random_texture_is_continued_not_smeared() {
        // Blocky random texture (2x2 cells of random grey): no structure to copy, only texture.
        let (w, h) = (120, 100);
        let mut rng = Rng(77);
        let cells: Vec<u8> = (0..(w / 2) * (h / 2)).map(|_| 60 + (rng.next() % 136) as u8).collect();
        let mut truth = vec![0u8; w * h * 4];
        for y in 0..h {
            for x in 0..w {
                let v = cells[(y / 2) * (w / 2) + x / 2];
                truth[(y * w + x) * 4..(y * w + x) * 4 + 4].copy_from_slice(&[v, v, v, 255]);
            }
        }
        let hole = rect_hole(w, h, 40, 35, 80, 65);
        let mut img = truth.clone();
        noisy(&mut img, &hole, 13);
        inpaint(&mut img, w as u32, h as u32, &hole).unwrap();
        let ratio = hole_texture(&img, w, h, &hole) / hole_texture(&truth, w, h, &hole);
        eprintln!("random texture: ratio {ratio:.2}");
        assert!((0.7..1.3).contains(&ratio), "texture ratio {ratio:.2}");
        // The fill is made of the texture's own values: 2x2 cells, not a blend.
        let mut blocky = 0;
        let mut total = 0;
        for y in (36..64).step_by(2) {
            for x in (40..80).step_by(2) {
                let i = (y * w + x) * 4;
                total += 1;
                if img[i] == img[i + 4] {
                    blocky += 1;
                }
            }
        }
        eprintln!("random texture: {blocky} of {total} cell pairs equal");
        assert!(blocky * 2 > total, "{blocky} of {total} horizontal pairs equal");
    }

    #[test]
    fn result_is_deterministic() {
        let (w, h) = (64, 64);
        let truth = test_image(w, h);
        let hole = rect_hole(w, h, 20, 24, 40, 36);
        let mut a = truth.clone();
        let mut b = truth.clone();
        inpaint(&mut a, w as u32, h as u32, &hole).unwrap();
        inpaint(&mut b, w as u32, h as u32, &hole).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn distant_holes_are_filled_independently() {
        let (w, h) = (300, 80);
        let truth = test_image(w, h);
        let mut hole = rect_hole(w, h, 10, 30, 20, 40);
        for y in 30..40 {
            for x in 270..285 {
                hole[y * w + x] = 255;
            }
        }
        assert_eq!(plan_windows(w, h, &hole).len(), 2);
        let mut img = truth.clone();
        noisy(&mut img, &hole, 5);
        let noisy_mse = hole_mse(&img, &truth, &hole);
        inpaint(&mut img, w as u32, h as u32, &hole).unwrap();
        assert!(hole_mse(&img, &truth, &hole) < noisy_mse / 4.0);
    }
}
