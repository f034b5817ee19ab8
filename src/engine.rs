//! The local engine: real edits with no API key, on the masked region.
//!
//! The grammar is small and documented (see [`Operation::parse`]): operation words and
//! colours are recognised anywhere in a sentence; anything else is refused with a message
//! that says what the engine can do.
use crate::geometry::{Rect, Size};
use crate::mask::Mask;
use crate::{Error, Result};
use image::RgbaImage;

/// What the local engine can do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operation {
    /// Fill from the surroundings (patch-based inpainting).
    Remove,
    /// The region becomes the colour (soft mask edge kept).
    Fill([u8; 3]),
    /// A catalogue background: like fill, named for what it is for.
    Background([u8; 3]),
    /// Hue and chroma of the target, shading and texture of the photo.
    Recolor([u8; 3]),
    /// Redaction by blur; `None` picks a radius from the region's size.
    Blur(Option<u32>),
    /// Redaction by blocks; `None` picks a block size from the region's size.
    Pixelate(Option<u32>),
}

/// The text a refused instruction gets: what the engine can do instead.
pub const CAPABILITIES: &str = "The local engine understands: \"remove the ...\" (or \"erase ...\"), \
\"fill with <colour>\", \"<colour> background\", \"make it <colour>\" (or \"recolor to <colour>\"), \
\"blur\" and \"pixelate\". Colours are CSS names, #rgb, #rrggbb, rgb(r, g, b) or phrases like \
\"navy blue\" and \"light grey\". Free-form instructions need a hosted provider (Gemini or OpenAI).";

impl Operation {
    /// Reads an English instruction.
    ///
    /// | words anywhere in the sentence | operation |
    /// |---|---|
    /// | remove, erase, delete, get rid of, take out | `Remove` |
    /// | pixelate, pixelise, mosaic, censor (+ a block size) | `Pixelate` |
    /// | blur, blurred (+ a radius) | `Blur` |
    /// | background + a colour | `Background` |
    /// | fill, paint + a colour | `Fill` |
    /// | make, turn, change, recolor, recolour, colour, color, dye + a colour | `Recolor` |
    pub fn parse(instruction: &str) -> std::result::Result<Operation, String> {
        let text = instruction.to_lowercase();
        let words: Vec<&str> =
            text.split(|c: char| !(c.is_alphanumeric() || c == '#')).filter(|w| !w.is_empty()).collect();
        let has = |ws: &[&str]| words.iter().any(|w| ws.contains(w));
        let number = words.iter().find_map(|w| w.parse::<u32>().ok()).filter(|&n| (1..=512).contains(&n));
        let refuse = |why: &str| Err(format!("{why} {CAPABILITIES}"));
        if has(&["remove", "erase", "delete"]) || text.contains("get rid of") || text.contains("take out") {
            return Ok(Operation::Remove);
        }
        if has(&["pixelate", "pixelise", "pixelize", "pixelated", "mosaic", "censor"]) {
            return Ok(Operation::Pixelate(number));
        }
        if has(&["blur", "blurred", "blurry"]) {
            return Ok(Operation::Blur(number));
        }
        let colour = find_colour(&text, &words);
        if has(&["background", "backdrop"]) {
            return match colour {
                Some(c) => Ok(Operation::Background(c)),
                None => refuse("Which colour should the background be?"),
            };
        }
        if has(&["fill", "paint"]) {
            return match colour {
                Some(c) => Ok(Operation::Fill(c)),
                None => refuse("Fill with which colour?"),
            };
        }
        if has(&["make", "turn", "change", "recolor", "recolour", "colour", "color", "dye"]) {
            return match colour {
                Some(c) => Ok(Operation::Recolor(c)),
                None => refuse("Which colour?"),
            };
        }
        refuse(&format!("The local engine cannot do \"{}\".", instruction.trim()))
    }
}

/// A colour named in the text: `#hex`, `rgb(...)`, a two-word phrase (`navy blue`,
/// `dark green`) or a CSS colour name.
fn find_colour(text: &str, words: &[&str]) -> Option<[u8; 3]> {
    let rgb = |c: csscolorparser::Color| {
        let [r, g, b, _] = c.to_rgba8();
        [r, g, b]
    };
    if let Some(start) = text.find("rgb(") {
        let end = text[start..].find(')')? + start + 1;
        return csscolorparser::parse(&text[start..end]).ok().map(rgb);
    }
    if let Some(hex) = words.iter().find(|w| w.starts_with('#')) {
        return csscolorparser::parse(hex).ok().map(rgb);
    }
    const PHRASES: &[(&str, &str)] = &[("navy blue", "navy"), ("off white", "#f8f8f2"), ("sky blue", "skyblue")];
    for pair in words.windows(2) {
        let phrase = format!("{} {}", pair[0], pair[1]);
        if let Some((_, css)) = PHRASES.iter().find(|(p, _)| *p == phrase) {
            return csscolorparser::parse(css).ok().map(rgb);
        }
        // "dark green" -> darkgreen, "light grey" -> lightgrey.
        if let Ok(c) = csscolorparser::parse(&format!("{}{}", pair[0], pair[1])) {
            return Some(rgb(c));
        }
    }
    words.iter().filter(|w| w.chars().all(char::is_alphabetic)).find_map(|w| csscolorparser::parse(w).ok()).map(rgb)
}

/// Applies `op` to the pixels of `image` under `mask` (same size), blended by coverage.
/// Pixels where the mask is zero are not changed.
pub fn apply(image: &mut RgbaImage, mask: &Mask, op: Operation) -> Result<()> {
    let size = Size::new(image.width(), image.height()).ok_or(Error::Empty)?;
    if mask.size() != size {
        return Err(Error::SizeMismatch {
            expected: (size.width, size.height),
            actual: (mask.size().width, mask.size().height),
        });
    }
    let Some(bounds) = mask.bounds() else { return Ok(()) };
    if op == Operation::Remove {
        // Inpainting picks its own context windows around each hole.
        let mut filled = image.clone();
        crate::inpaint::inpaint(filled.as_mut(), size.width, size.height, mask.data())
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        return crate::composite::composite_into(image, &filled, size.rect(), mask);
    }
    // The other operations only need the region and, for filters, the pixels their kernel reads.
    let long = bounds.width.max(bounds.height);
    let radius = match op {
        Operation::Blur(r) => r.unwrap_or_else(|| (long / 16).clamp(4, 64)),
        _ => 0,
    };
    let block = match op {
        Operation::Pixelate(b) => b.unwrap_or_else(|| (long / 12).clamp(6, 96)).max(1),
        _ => 1,
    };
    let window = match op {
        Operation::Blur(_) => bounds.outset(3 * radius, size),
        // Blocks stay on the image's grid, wherever the region is.
        Operation::Pixelate(_) => Rect::from_edges(
            bounds.x / block * block,
            bounds.y / block * block,
            bounds.right().div_ceil(block).saturating_mul(block).min(size.width),
            bounds.bottom().div_ceil(block).saturating_mul(block).min(size.height),
        )
        .unwrap_or(bounds),
        _ => bounds,
    };
    let part = image::imageops::crop_imm(image, window.x, window.y, window.width, window.height).to_image();
    let part_mask = mask.crop(window)?;
    let edited = match op {
        Operation::Fill(c) | Operation::Background(c) => {
            RgbaImage::from_pixel(window.width, window.height, image::Rgba([c[0], c[1], c[2], 255]))
        }
        Operation::Recolor(c) => recolor(&part, &part_mask, c),
        Operation::Blur(_) => blur(&part, radius),
        Operation::Pixelate(_) => pixelate(&part, block),
        Operation::Remove => part, // handled above
    };
    crate::composite::composite_into(image, &edited, window, &part_mask)
}

fn recolor(image: &RgbaImage, mask: &Mask, target: [u8; 3]) -> RgbaImage {
    let t = oklab(target);
    let t_chroma = t[1].hypot(t[2]);
    // The region's mean lightness and chroma: lightness shifts so the mean matches the
    // target, keeping its variation (shading); chroma scales relative to the mean, so
    // highlights and grey parts stay nearly neutral (texture).
    let (mut l_sum, mut c_sum, mut n) = (0.0f64, 0.0f64, 0.0f64);
    for (p, &m) in image.pixels().zip(mask.data()) {
        if m > 0 {
            let [l, a, b] = oklab([p[0], p[1], p[2]]);
            l_sum += l as f64 * m as f64;
            c_sum += a.hypot(b) as f64 * m as f64;
            n += m as f64;
        }
    }
    let n = n.max(1.0);
    let shift = t[0] - (l_sum / n) as f32;
    let mean_chroma = ((c_sum / n) as f32).max(1e-3);
    let (hue_a, hue_b) = if t_chroma > 1e-6 { (t[1] / t_chroma, t[2] / t_chroma) } else { (0.0, 0.0) };
    let mut out = image.clone();
    for (p, &m) in out.pixels_mut().zip(mask.data()) {
        if m == 0 {
            continue;
        }
        let [l, a, b] = oklab([p[0], p[1], p[2]]);
        let chroma = t_chroma * (a.hypot(b) / mean_chroma).min(1.5);
        let rgb = from_oklab_in_gamut([(l + shift).clamp(0.0, 1.0), hue_a * chroma, hue_b * chroma]);
        p.0[..3].copy_from_slice(&rgb);
    }
    out
}

fn srgb_to_linear(v: u8) -> f32 {
    let v = v as f32 / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(v: f32) -> u8 {
    let v = v.clamp(0.0, 1.0);
    let s = if v <= 0.0031308 { v * 12.92 } else { 1.055 * v.powf(1.0 / 2.4) - 0.055 };
    (s * 255.0).round() as u8
}

/// Oklab (Björn Ottosson) of an sRGB colour.
#[allow(clippy::excessive_precision)] // the published matrices, digit for digit
fn oklab(c: [u8; 3]) -> [f32; 3] {
    let [r, g, b] = c.map(srgb_to_linear);
    let l = (0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b).cbrt();
    let m = (0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b).cbrt();
    let s = (0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b).cbrt();
    [
        0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s,
        1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s,
        0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s,
    ]
}

#[allow(clippy::excessive_precision)]
fn oklab_to_linear([l, a, b]: [f32; 3]) -> [f32; 3] {
    let l_ = (l + 0.3963377774 * a + 0.2158037573 * b).powi(3);
    let m_ = (l - 0.1055613458 * a - 0.0638541728 * b).powi(3);
    let s_ = (l - 0.0894841775 * a - 1.2914855480 * b).powi(3);
    [
        4.0767416621 * l_ - 3.3077115913 * m_ + 0.2309699292 * s_,
        -1.2684380046 * l_ + 2.6097574011 * m_ - 0.3413193965 * s_,
        -0.0041960863 * l_ - 0.7034186147 * m_ + 1.7076147010 * s_,
    ]
}

/// Back to sRGB, reducing chroma (not lightness or hue) until the colour fits the gamut.
fn from_oklab_in_gamut([l, a, b]: [f32; 3]) -> [u8; 3] {
    let mut k = 1.0f32;
    for _ in 0..12 {
        let lin = oklab_to_linear([l, a * k, b * k]);
        if lin.iter().all(|v| (-1e-4..=1.0001).contains(v)) {
            return lin.map(linear_to_srgb);
        }
        k *= 0.8;
    }
    oklab_to_linear([l, 0.0, 0.0]).map(linear_to_srgb)
}

fn blur(image: &RgbaImage, radius: u32) -> RgbaImage {
    let sigma = radius as f32 / 2.0;
    image::imageops::fast_blur(image, sigma.max(1.0))
}

fn pixelate(image: &RgbaImage, block: u32) -> RgbaImage {
    let (w, h) = image.dimensions();
    let mut out = image.clone();
    for by in (0..h).step_by(block as usize) {
        for bx in (0..w).step_by(block as usize) {
            let (bw, bh) = (block.min(w - bx), block.min(h - by));
            let mut sum = [0u64; 4];
            for y in by..by + bh {
                for x in bx..bx + bw {
                    let p = image.get_pixel(x, y);
                    (0..4).for_each(|c| sum[c] += p[c] as u64);
                }
            }
            let n = (bw * bh) as u64;
            let avg = image::Rgba(sum.map(|s| ((s + n / 2) / n) as u8));
            for y in by..by + bh {
                for x in bx..bx + bw {
                    out.put_pixel(x, y, avg);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use Operation::*;

    #[test]
    fn grammar_table() {
        let table: &[(&str, Option<Operation>)] = &[
            ("fill with red", Some(Fill([255, 0, 0]))),
            ("Fill it with #0f0", Some(Fill([0, 255, 0]))),
            ("fill with #1e3a8a please", Some(Fill([0x1e, 0x3a, 0x8a]))),
            ("paint it rgb(10, 20, 30)", Some(Fill([10, 20, 30]))),
            ("white background", Some(Background([255, 255, 255]))),
            ("make the background light grey", Some(Background([211, 211, 211]))),
            ("make it navy blue", Some(Recolor([0, 0, 128]))),
            ("change the colour to #1e3a8a", Some(Recolor([0x1e, 0x3a, 0x8a]))),
            ("recolor to red", Some(Recolor([255, 0, 0]))),
            ("turn the mug dark green", Some(Recolor([0, 100, 0]))),
            ("remove the cup", Some(Remove)),
            ("please erase this person", Some(Remove)),
            ("get rid of the logo", Some(Remove)),
            ("blur", Some(Blur(None))),
            ("blur the plate with radius 12", Some(Blur(Some(12)))),
            ("pixelate the faces", Some(Pixelate(None))),
            ("add a hat", None),
            ("fill it", None),
            ("make it nicer", None),
            ("", None),
        ];
        for (text, want) in table {
            let got = Operation::parse(text);
            match want {
                Some(op) => assert_eq!(got.as_ref(), Ok(op), "{text:?}"),
                None => {
                    let msg = got.expect_err(text);
                    assert!(msg.contains("hosted provider") && msg.contains("fill with"), "{msg}");
                }
            }
        }
    }

    fn photo() -> RgbaImage {
        // A gradient (shading) with a checker texture on top.
        RgbaImage::from_fn(64, 48, |x, y| {
            let t = if (x / 3 + y / 3) % 2 == 0 { 40 } else { 0 };
            image::Rgba([(x * 3 + t) as u8, (y * 4 + t) as u8, ((x + y) * 2) as u8, 255])
        })
    }

    fn centre_mask() -> Mask {
        let mut m = Mask::new(Size::new(64, 48).unwrap());
        m.paint(&crate::mask::Shape::Rect { x: 16.0, y: 12.0, width: 32.0, height: 24.0 }, false).unwrap();
        m
    }

    #[test]
    fn every_operation_leaves_unmasked_pixels_alone() {
        for op in
            [Fill([1, 2, 3]), Background([9, 9, 9]), Recolor([0, 0, 128]), Blur(Some(6)), Pixelate(Some(8)), Remove]
        {
            let before = photo();
            let mut after = before.clone();
            apply(&mut after, &centre_mask(), op).unwrap();
            for (i, (a, b)) in before.pixels().zip(after.pixels()).enumerate() {
                if centre_mask().data()[i] == 0 {
                    assert_eq!(a, b, "{op:?} changed pixel {i}");
                }
            }
            assert!(before != after, "{op:?} changed nothing");
        }
    }

    #[test]
    fn fill_is_exact_and_recolor_keeps_shading() {
        let mut img = photo();
        apply(&mut img, &centre_mask(), Fill([200, 10, 20])).unwrap();
        assert_eq!(img.get_pixel(30, 20).0, [200, 10, 20, 255]);
        let mut img = photo();
        apply(&mut img, &centre_mask(), Recolor([0, 0, 255])).unwrap();
        // The gradient (shading) survives: lighter input pixels stay lighter.
        let l = |x, y| oklab(img.get_pixel(x, y).0[..3].try_into().unwrap())[0];
        assert!(l(46, 34) > l(17, 13) + 0.1);
    }

    #[test]
    fn hostile_masks_do_not_panic() {
        let size = Size::new(64, 48).unwrap();
        let mut one = Mask::new(size);
        one.data_mut()[0] = 255;
        let mut full = Mask::new(size);
        full.invert();
        for m in [Mask::new(size), one, full] {
            for op in [Fill([1, 2, 3]), Blur(None), Pixelate(None), Recolor([1, 1, 1]), Remove] {
                let _ = apply(&mut photo(), &m, op);
            }
        }
        assert!(apply(&mut photo(), &Mask::new(Size::new(3, 3).unwrap()), Fill([0, 0, 0])).is_err());
    }
}
