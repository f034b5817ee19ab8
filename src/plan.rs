//! The crop plan: which window of the image to send, at what size, and the exact
//! transform that maps the model's answer back onto the original pixels.
use crate::geometry::{NormBox, OutOfRange, Rect, Size};
use crate::resize::{fit_within, resize_rgba};
use crate::wire::ModelProfile;
use crate::{Error, Result};
use image::RgbaImage;
use serde::{Deserialize, Serialize};

/// How generous the context around the edit region is, and which output to ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanOptions {
    /// Context on each side, as a fraction of the region's longer side.
    pub padding: f32,
    /// At least this much context on each side, in pixels.
    pub min_padding: u32,
    /// Force an aspect ratio (`"4:3"`); otherwise the nearest supported one.
    pub aspect_ratio: Option<String>,
    /// The size class to ask for (`"1K"`); otherwise the model's first.
    pub size: Option<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions { padding: 0.5, min_padding: 32, aspect_ratio: None, size: None }
    }
}

/// A crop window and the frame it is sent in.
///
/// # Guarantees
/// `window` lies in the image and contains the padded edit region; `content` lies in the
/// `send` frame; `send` has one of the model's aspect ratios (exactly its output size)
/// unless the model accepts any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub image: Size,
    /// The pixels of the original that are sent.
    pub window: Rect,
    /// The size of the image sent (and expected back).
    pub send: Size,
    /// Where the window lands inside the sent frame; the rest is letterbox.
    pub content: Rect,
    pub aspect_ratio: Option<String>,
    pub size: Option<String>,
}

impl Plan {
    /// Plans an edit of `region` (or of the whole image when `None`) for `model`.
    pub fn new(image: Size, region: Option<Rect>, model: &ModelProfile, options: &PlanOptions) -> Result<Plan> {
        let region = match region {
            None => image.rect(),
            Some(r) => {
                let r = r
                    .intersect(image.rect())
                    .ok_or_else(|| Error::InvalidArgument("the edit region lies outside the image".into()))?;
                let pad = (options.padding.max(0.0) * r.width.max(r.height) as f32).round() as u32;
                r.outset(pad.max(options.min_padding), image)
            }
        };
        let ratios: Vec<_> = model
            .aspect_ratios
            .iter()
            .filter(|a| options.aspect_ratio.as_ref().is_none_or(|want| &a.ratio == want))
            .collect();
        if ratios.is_empty() {
            if let Some(want) = &options.aspect_ratio {
                if !model.aspect_ratios.is_empty() {
                    return Err(Error::InvalidArgument(format!("{} does not offer the aspect ratio {want}", model.id)));
                }
            }
            let send = fit_within(region.size(), model.max_input_side);
            return Ok(Plan { image, window: region, send, content: send.rect(), aspect_ratio: None, size: None });
        }
        let mut best: Option<(f64, Plan)> = None;
        for ar in ratios {
            let out = match &options.size {
                Some(name) => ar.sizes.iter().find(|s| &s.name == name),
                None => ar.sizes.first(),
            };
            let Some(out) = out else { continue };
            let Some(send) = Size::new(out.width, out.height) else { continue };
            let a = send.width as f64 / send.height as f64;
            // The frame at the exact aspect ratio that holds the region, in image pixels.
            let (rw, rh) = (region.width as f64, region.height as f64);
            let (fw, fh) = if rw / rh < a { (rh * a, rh) } else { (rw, rw / a) };
            let place = |centre: f64, len: f64, max: u32| {
                if len <= max as f64 {
                    (centre - len / 2.0).clamp(0.0, max as f64 - len)
                } else {
                    (max as f64 - len) / 2.0 // larger than the image: letterbox both sides
                }
            };
            let fx = place(region.x as f64 + rw / 2.0, fw, image.width);
            let fy = place(region.y as f64 + rh / 2.0, fh, image.height);
            let window = Rect::covering(fx, fy, fx + fw, fy + fh, image).ok_or(Error::Empty)?.union(region);
            let scale = send.width as f64 / fw;
            let content = Rect::covering(
                (window.x as f64 - fx) * scale,
                (window.y as f64 - fy) * scale,
                (window.right() as f64 - fx) * scale,
                (window.bottom() as f64 - fy) * scale,
                send,
            )
            .ok_or(Error::Empty)?;
            let score = fw * fh;
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                let plan = Plan {
                    image,
                    window,
                    send,
                    content,
                    aspect_ratio: Some(ar.ratio.clone()),
                    size: Some(out.name.clone()),
                };
                best = Some((score, plan));
            }
        }
        best.map(|(_, p)| p).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{} offers no output size {}",
                model.id,
                options.size.as_deref().unwrap_or("")
            ))
        })
    }

    /// True when nothing is resized or letterboxed: model pixels are original pixels.
    pub fn is_identity(&self) -> bool {
        self.send == self.window.size() && self.content == self.send.rect()
    }

    /// The image to send: the window resized into the frame, letterbox transparent.
    pub fn prepare(&self, original: &RgbaImage) -> Result<RgbaImage> {
        self.check(original)?;
        let inner = resize_rgba(original, self.window, self.content.size())?;
        if self.content == self.send.rect() {
            return Ok(inner);
        }
        let mut frame = RgbaImage::new(self.send.width, self.send.height);
        image::imageops::replace(&mut frame, &inner, self.content.x as i64, self.content.y as i64);
        Ok(frame)
    }

    /// Maps a model's answer of any size back onto the window's pixels (registration).
    pub fn register(&self, result: &RgbaImage) -> Result<RgbaImage> {
        let got = Size::new(result.width(), result.height()).ok_or(Error::Empty)?;
        if got == self.send && self.is_identity() {
            return Ok(result.clone());
        }
        let (sx, sy) = (got.width as f64 / self.send.width as f64, got.height as f64 / self.send.height as f64);
        let c = self.content;
        let crop = Rect::covering(c.x as f64 * sx, c.y as f64 * sy, c.right() as f64 * sx, c.bottom() as f64 * sy, got)
            .ok_or(Error::Empty)?;
        resize_rgba(result, crop, self.window.size())
    }

    /// A box given relative to the whole image, re-normalised relative to the sent frame.
    pub fn normalise_box(&self, b: NormBox) -> Result<NormBox> {
        let r = b.to_rect(self.image);
        let (kx, ky) = (
            self.content.width as f64 / self.window.width as f64,
            self.content.height as f64 / self.window.height as f64,
        );
        let map_x =
            |x: u32| (self.content.x as f64 + (x as f64 - self.window.x as f64) * kx) * 1000.0 / self.send.width as f64;
        let map_y = |y: u32| {
            (self.content.y as f64 + (y as f64 - self.window.y as f64) * ky) * 1000.0 / self.send.height as f64
        };
        NormBox::from_values([map_y(r.y), map_x(r.x), map_y(r.bottom()), map_x(r.right())], OutOfRange::Clamp)
    }

    fn check(&self, original: &RgbaImage) -> Result<()> {
        let got = (original.width(), original.height());
        if got != (self.image.width, self.image.height) {
            return Err(Error::SizeMismatch { expected: (self.image.width, self.image.height), actual: got });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AspectRatio, OutputSize};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    pub(crate) fn gemini_like() -> ModelProfile {
        let ar = |ratio: &str, w, h| AspectRatio {
            ratio: ratio.into(),
            sizes: vec![OutputSize { name: "1K".into(), width: w, height: h }],
        };
        ModelProfile {
            id: "test".into(),
            aspect_ratios: vec![
                ar("1:1", 1024, 1024),
                ar("4:3", 1184, 864),
                ar("3:4", 864, 1184),
                ar("16:9", 1344, 768),
            ],
            max_references: 3,
            max_input_side: 4096,
            max_input_bytes: 20 << 20,
            price_per_image_usd: None,
        }
    }

    #[test]
    fn window_contains_region_and_has_a_supported_ratio() {
        let image = Size::new(6000, 4000).unwrap();
        let region = Rect::new(5800, 100, 150, 400).unwrap();
        let plan = Plan::new(image, Some(region), &gemini_like(), &PlanOptions::default()).unwrap();
        assert!(plan.window.contains(region));
        assert!(image.rect().contains(plan.window));
        assert_eq!(plan.aspect_ratio.as_deref(), Some("3:4"));
        assert_eq!(plan.send, Size::new(864, 1184).unwrap());
        // Shifted inward at the right edge rather than letterboxed.
        assert_eq!(plan.window.right(), 6000);
        assert!(plan.content.width >= 862 && plan.content.height >= 1182, "{plan:?}");
    }

    #[test]
    fn too_small_images_are_letterboxed() {
        let image = Size::new(300, 300).unwrap();
        let options = PlanOptions { aspect_ratio: Some("16:9".into()), ..PlanOptions::default() };
        let plan = Plan::new(image, None, &gemini_like(), &options).unwrap();
        assert_eq!(plan.window, image.rect());
        assert_eq!(plan.content.height, 768);
        assert!(plan.content.width < 1344 && plan.content.x > 0);
    }

    #[test]
    fn register_maps_a_result_of_another_size_back() {
        let image = Size::new(400, 300).unwrap();
        let original = RgbaImage::from_fn(400, 300, |x, y| image::Rgba([(x / 2) as u8, (y / 2) as u8, 128, 255]));
        let plan =
            Plan::new(image, Some(Rect::new(100, 100, 50, 50).unwrap()), &gemini_like(), &PlanOptions::default())
                .unwrap();
        let sent = plan.prepare(&original).unwrap();
        // The "model" answers at half the size it was sent.
        let half =
            image::imageops::resize(&sent, sent.width() / 2, sent.height() / 2, image::imageops::FilterType::Triangle);
        let back = plan.register(&half).unwrap();
        assert_eq!(back.dimensions(), (plan.window.width, plan.window.height));
        let (cx, cy) = (plan.window.width / 2, plan.window.height / 2);
        let want = original.get_pixel(plan.window.x + cx, plan.window.y + cy);
        let got = back.get_pixel(cx, cy);
        assert!((0..3).all(|c| want[c].abs_diff(got[c]) <= 3), "{want:?} vs {got:?}");
    }

    #[test]
    fn free_aspect_models_get_the_window_itself() {
        let mut local = gemini_like();
        local.aspect_ratios.clear();
        let plan = Plan::new(
            Size::new(640, 480).unwrap(),
            Some(Rect::new(10, 10, 20, 20).unwrap()),
            &local,
            &PlanOptions::default(),
        )
        .unwrap();
        assert!(plan.is_identity());
        assert_eq!(plan.window, Rect::new(0, 0, 62, 62).unwrap());
    }

    #[test]
    fn boxes_are_renormalised_to_the_crop() {
        let image = Size::new(1000, 1000).unwrap();
        let mut local = gemini_like();
        local.aspect_ratios.clear();
        let options = PlanOptions { padding: 0.0, min_padding: 100, ..PlanOptions::default() };
        let b = NormBox::new(400, 400, 600, 600).unwrap();
        let plan = Plan::new(image, Some(b.to_rect(image)), &local, &options).unwrap();
        assert_eq!(plan.normalise_box(b).unwrap().values(), [250, 250, 750, 750]);
    }
}
