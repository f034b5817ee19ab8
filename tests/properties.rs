//! Property tests: the promises that must hold for every input, not just the examples.
use pixelkeep::wire::{AspectRatio, ModelProfile, OutputSize};
use pixelkeep::{
    composite_into, drift, effective_mask, effective_window_mask, CompositeOptions, Mask, NormBox, OutOfRange, Plan,
    PlanOptions, Rect, RgbaImage, Shape, Size, StrokePoint,
};
use proptest::prelude::*;

fn shape(w: u32, h: u32) -> impl Strategy<Value = Shape> {
    let (wf, hf) = (w as f32, h as f32);
    prop_oneof![
        (0.0..wf, 0.0..hf, 1.0..wf, 1.0..hf).prop_map(|(x, y, width, height)| Shape::Rect { x, y, width, height }),
        (0.0..wf, 0.0..hf, 0.5..wf / 2.0, 0.5..hf / 2.0).prop_map(|(cx, cy, rx, ry)| Shape::Ellipse { cx, cy, rx, ry }),
        (prop::collection::vec((-5.0..wf + 5.0, -5.0..hf + 5.0, 0.05f32..1.0), 1..8), 1.0..20.0f32).prop_map(
            |(pts, width)| {
                Shape::Stroke {
                    points: pts.into_iter().map(|(x, y, pressure)| StrokePoint { x, y, pressure }).collect(),
                    width,
                }
            }
        ),
        prop::collection::vec((0.0..wf, 0.0..hf), 3..9)
            .prop_map(|pts| Shape::Polygon { points: pts.into_iter().map(|(x, y)| [x, y]).collect(), even_odd: false }),
    ]
}

fn image(w: u32, h: u32, seed: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        let v = x.wrapping_mul(2654435761).wrapping_add(y.wrapping_mul(40503)).wrapping_add(seed);
        image::Rgba([v as u8, (v >> 8) as u8, (v >> 16) as u8, (v >> 24) as u8 | 1])
    })
}

fn gemini_like() -> ModelProfile {
    let ar = |r: &str, w, h| AspectRatio {
        ratio: r.into(),
        sizes: vec![OutputSize { name: "1K".into(), width: w, height: h }],
    };
    ModelProfile {
        id: "m".into(),
        aspect_ratios: vec![
            ar("1:1", 1024, 1024),
            ar("3:2", 1248, 832),
            ar("2:3", 832, 1248),
            ar("16:9", 1344, 768),
            ar("21:9", 1536, 672),
        ],
        max_references: 3,
        max_input_side: 4096,
        max_input_bytes: 1 << 24,
        price_per_image_usd: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The run-by-run blend and drift equal a plain per-pixel blend and count, for masks of
    /// random runs of 0, 255 and soft values (so runs start and end at every offset).
    #[test]
    fn blend_and_drift_equal_the_per_pixel_definition(
        (w, h, runs) in (1u32..40, 1u32..12).prop_flat_map(|(w, h)| {
            let value = prop_oneof![Just(0u8), Just(255u8), any::<u8>()];
            (Just(w), Just(h), prop::collection::vec((value, 1usize..20), 1..60))
        }),
        seed in any::<u32>(), same_share in 0u32..3,
    ) {
        let size = Size::new(w, h).unwrap();
        let data: Vec<u8> = runs.iter().flat_map(|&(v, n)| std::iter::repeat_n(v, n)).cycle().take(size.area() as usize).collect();
        let mask = Mask::from_vec(size, data).unwrap();
        let original = image(w, h, seed);
        // Some answers equal the original on whole rows, some differ in one channel only.
        let answer = RgbaImage::from_fn(w, h, |x, y| {
            let mut p = *image(w, h, seed ^ 0x5eed).get_pixel(x, y);
            if (y + same_share) % 3 == 0 { p = *original.get_pixel(x, y); }
            if (x + y) % 5 == 0 { p = *original.get_pixel(x, y); p.0[2] ^= 0x21; }
            p
        });
        let mut out = original.clone();
        let kept_out = drift(&original, &answer, size.rect(), &mask).unwrap();
        composite_into(&mut out, &answer, size.rect(), &mask).unwrap();
        let (mut protected, mut changed, mut max, mut sum, mut sq) = (0u64, 0u64, 0u8, 0u64, 0u64);
        for (i, &m) in mask.data().iter().enumerate() {
            let (o, a, got) = (&original.as_raw()[i * 4..][..4], &answer.as_raw()[i * 4..][..4], &out.as_raw()[i * 4..][..4]);
            for c in 0..4 {
                let v = o[c] as u32 * (255 - m as u32) + a[c] as u32 * m as u32;
                prop_assert_eq!(got[c] as u32, (v + 127) / 255, "pixel {} channel {} mask {}", i, c, m);
            }
            if m == 0 {
                protected += 1;
                changed += (o != a) as u64;
                for c in 0..4 {
                    let d = o[c].abs_diff(a[c]);
                    (max, sum, sq) = (max.max(d), sum + d as u64, sq + (d as u64).pow(2));
                }
            }
        }
        let samples = (protected * 4).max(1) as f64;
        prop_assert_eq!((kept_out.protected_pixels, kept_out.changed_pixels, kept_out.max_abs_diff), (protected, changed, max));
        prop_assert_eq!(kept_out.mean_abs_diff, sum as f64 / samples);
        prop_assert_eq!(kept_out.psnr_db, (sq > 0).then(|| 10.0 * (255.0f64 * 255.0 / (sq as f64 / samples)).log10()));
        // Over a window, a frame-sized mask is read at the window: the same as its crop.
        let window = Rect::new(w / 4, h / 4, w / 2 + 1, h / 2 + 1).unwrap();
        let cropped = mask.crop(window).unwrap();
        prop_assert_eq!(drift(&original, &answer, window, &mask).unwrap(), drift(&original, &answer, window, &cropped).unwrap());
    }

    /// Where the effective mask is zero, the composite's bytes are the original's.
    #[test]
    fn outside_the_mask_nothing_changes(
        (w, h, shapes) in (8u32..72, 8u32..72).prop_flat_map(|(w, h)| (Just(w), Just(h), prop::collection::vec((shape(w, h), any::<bool>()), 1..5))),
        seed in any::<u32>(), grow in -4i32..8, feather in 0u32..12,
    ) {
        let size = Size::new(w, h).unwrap();
        let mut mask = Mask::new(size);
        for (s, erase) in &shapes {
            mask.paint(s, *erase).unwrap();
        }
        let original = image(w, h, seed);
        let answer = image(w, h, seed ^ 0xdead_beef);
        let options = CompositeOptions { grow, feather };
        let eff = effective_mask(&mask, None, options).unwrap();
        let mut out = original.clone();
        composite_into(&mut out, &answer, size.rect(), &eff).unwrap();
        for (i, (&m, (a, b))) in eff.data().iter().zip(original.pixels().zip(out.pixels())).enumerate() {
            if m == 0 { prop_assert_eq!(a, b, "pixel {} changed where the mask is zero", i); }
            if m == 255 { prop_assert_eq!(answer.as_raw()[i * 4..i * 4 + 4].to_vec(), b.0.to_vec()); }
        }
        // Through a window of the frame: nothing outside the window or under a zero is written.
        let window = Rect::new(w / 4, h / 5, w / 2 + 1, h / 2 + 1).unwrap();
        let in_window = mask.crop(window).unwrap();
        let eff_w = effective_window_mask(&in_window, window, size, None, options).unwrap();
        let patch = image::imageops::crop_imm(&answer, window.x, window.y, window.width, window.height).to_image();
        let mut out_w = original.clone();
        composite_into(&mut out_w, &patch, window, &eff_w).unwrap();
        for (x, y, p) in out_w.enumerate_pixels() {
            let inside = x >= window.x && x < window.right() && y >= window.y && y < window.bottom();
            if !inside || eff_w.get(x - window.x, y - window.y) == 0 {
                prop_assert_eq!(p, original.get_pixel(x, y));
            }
        }
        // And the effective mask never reaches beyond the promised distance.
        if let (Some(b), Some(e)) = (mask.bounds(), eff.bounds()) {
            let reach = options.reach();
            prop_assert!(b.outset(reach, size).contains(e), "{:?} reaches past {:?}", e, b);
        }
    }

    /// Box -> pixels -> box moves an edge by at most one unit or one pixel's worth.
    #[test]
    fn box_pixel_round_trip(y0 in 0u16..1000, x0 in 0u16..1000, dy in 1u16..1000, dx in 1u16..1000, w in 1u32..5000, h in 1u32..5000) {
        let b = NormBox::new(y0, x0, (y0 + dy).min(1000).max(y0 + 1), (x0 + dx).min(1000).max(x0 + 1));
        prop_assume!(b.is_some());
        let b = b.unwrap();
        let frame = Size::new(w, h).unwrap();
        let r = b.to_rect(frame);
        prop_assert!(frame.rect().contains(r));
        let back = NormBox::from_rect(r, frame).unwrap();
        let tol = |n: u32| (1000.0 / n as f64).ceil().max(1.0) as i32;
        let [a, bb] = [b.values(), back.values()];
        // Outward only, and by at most the tolerance.
        prop_assert!(bb[0] <= a[0] && bb[1] <= a[1] && bb[2] >= a[2] && bb[3] >= a[3]);
        prop_assert!((a[0] as i32 - bb[0] as i32) <= tol(h) && (bb[2] as i32 - a[2] as i32) <= tol(h));
        prop_assert!((a[1] as i32 - bb[1] as i32) <= tol(w) && (bb[3] as i32 - a[3] as i32) <= tol(w));
        let from_vals = NormBox::from_values(b.values().map(f64::from), OutOfRange::Refuse).unwrap();
        prop_assert_eq!(from_vals, b);
    }

    /// Every plan holds its region, lies in the image and sends a supported aspect ratio.
    #[test]
    fn plans_contain_the_region(w in 16u32..9000, h in 16u32..9000, fx in 0.0f64..1.0, fy in 0.0f64..1.0, fw in 0.001f64..1.0, fh in 0.001f64..1.0) {
        let size = Size::new(w, h).unwrap();
        let x = (fx * w as f64) as u32;
        let y = (fy * h as f64) as u32;
        let region = Rect::new(x.min(w - 1), y.min(h - 1), ((fw * w as f64) as u32).clamp(1, w - x.min(w - 1)), ((fh * h as f64) as u32).clamp(1, h - y.min(h - 1))).unwrap();
        let model = gemini_like();
        let plan = Plan::new(size, Some(region), &model, &PlanOptions::default()).unwrap();
        prop_assert!(plan.window.contains(region), "{:?} does not hold {:?}", plan, region);
        prop_assert!(size.rect().contains(plan.window));
        prop_assert!(plan.send.rect().contains(plan.content));
        let offered = model.aspect_ratios.iter().any(|a| a.sizes.iter().any(|s| s.width == plan.send.width && s.height == plan.send.height));
        prop_assert!(offered);
    }

    /// A model answer of another size, registered, lands back on the right pixels.
    #[test]
    fn registration_lands_on_the_right_pixels(w in 64u32..400, h in 64u32..400, rx in 0.0f64..0.8, ry in 0.0f64..0.8, sw in 200u32..1600, sh in 200u32..1600) {
        // A smooth image, so resampling error stays small and position error shows.
        let original = RgbaImage::from_fn(w, h, |x, y| image::Rgba([(x * 255 / w) as u8, (y * 255 / h) as u8, 100, 255]));
        let size = Size::new(w, h).unwrap();
        let region = Rect::new((rx * w as f64) as u32, (ry * h as f64) as u32, w / 6, h / 6).unwrap();
        let plan = Plan::new(size, Some(region), &gemini_like(), &PlanOptions::default()).unwrap();
        let sent = plan.prepare(&original).unwrap();
        let answer = image::imageops::resize(&sent, sw, sh, image::imageops::FilterType::Triangle);
        let back = plan.register(&answer).unwrap();
        prop_assert_eq!(back.dimensions(), (plan.window.width, plan.window.height));
        // Compare away from the window's border, where filters see the letterbox.
        let (bw, bh) = (plan.window.width, plan.window.height);
        for (x, y) in [(bw / 2, bh / 2), (bw / 3, bh / 3), (2 * bw / 3, 2 * bh / 3)] {
            let want = original.get_pixel(plan.window.x + x, plan.window.y + y);
            let got = back.get_pixel(x, y);
            prop_assert!((0..2).all(|c| want[c].abs_diff(got[c]) <= 6), "at {},{}: {:?} vs {:?} ({:?})", x, y, want, got, plan);
        }
    }
}
