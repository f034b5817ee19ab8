//! Golden images, compared exactly. Regenerate only deliberately: `BLESS=1 cargo test --test golden`.
use pixelkeep::{
    apply_operation, decode, encode_png, encode_png_gray, Limits, Mask, NormBox, Operation, Rect, RgbaImage, Shape,
    Size, StrokePoint,
};
use std::path::PathBuf;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.png"))
}

/// Compares `png` with the stored golden file, or writes it when blessing.
fn check(name: &str, png: Vec<u8>) {
    let path = golden_path(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &png).unwrap();
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|_| panic!("missing golden {}: run with BLESS=1", path.display()));
    // Compare decoded pixels, not bytes: the PNG encoder's settings may change.
    let (a, b) = (decode(&want, &Limits::default()).unwrap(), decode(&png, &Limits::default()).unwrap());
    assert_eq!(a.dimensions(), b.dimensions(), "{name}: size");
    let differing = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
    assert_eq!(differing, 0, "{name}: {differing} pixels differ from the golden image");
}

fn mask_png(m: &Mask) -> Vec<u8> {
    encode_png_gray(m.data(), m.size()).unwrap()
}

fn pts(p: &[[f32; 3]]) -> Vec<StrokePoint> {
    p.iter().map(|&[x, y, pressure]| StrokePoint { x, y, pressure }).collect()
}

#[test]
fn mask_shapes() {
    let size = Size::new(96, 64).unwrap();
    let star: Vec<[f32; 2]> = (0..5)
        .map(|i| {
            let a = std::f32::consts::PI * (-0.5 + 0.8 * i as f32);
            [48.0 + 28.0 * a.cos(), 32.0 + 28.0 * a.sin()]
        })
        .collect();
    let cases: Vec<(&str, Vec<(Shape, bool)>)> = vec![
        (
            "stroke",
            vec![(
                Shape::Stroke { points: pts(&[[10.0, 50.0, 1.0], [40.0, 12.5, 1.0], [85.5, 40.0, 1.0]]), width: 9.0 },
                false,
            )],
        ),
        (
            "stroke_pressure",
            vec![(
                Shape::Stroke { points: pts(&[[10.0, 32.0, 0.1], [48.0, 20.0, 0.6], [86.0, 32.0, 1.0]]), width: 20.0 },
                false,
            )],
        ),
        ("polygon_nonzero", vec![(Shape::Polygon { points: star.clone(), even_odd: false }, false)]),
        ("polygon_evenodd", vec![(Shape::Polygon { points: star, even_odd: true }, false)]),
        (
            "rect_ellipse",
            vec![
                (Shape::Rect { x: 4.5, y: 6.25, width: 40.0, height: 30.0 }, false),
                (Shape::Ellipse { cx: 60.0, cy: 36.0, rx: 30.5, ry: 20.0 }, false),
            ],
        ),
        (
            "box_erased",
            vec![
                (Shape::Box { r#box: NormBox::new(100, 100, 900, 900).unwrap() }, false),
                (Shape::Stroke { points: pts(&[[0.0, 0.0, 1.0], [96.0, 64.0, 1.0]]), width: 7.0 }, true),
            ],
        ),
    ];
    for (name, shapes) in cases {
        let mut m = Mask::new(size);
        for (s, erase) in &shapes {
            m.paint(s, *erase).unwrap();
        }
        check(&format!("mask_{name}"), mask_png(&m));
    }
    let mut m = Mask::new(size);
    m.paint(&Shape::Rect { x: 30.0, y: 20.0, width: 36.0, height: 24.0 }, false).unwrap();
    check("mask_grow6", mask_png(&m.grow(6)));
    check("mask_shrink5", mask_png(&m.grow(-5)));
    check("mask_feather8", mask_png(&m.feather(8)));
}

fn coffee() -> RgbaImage {
    let bytes = std::fs::read(format!("{}/../shared/fixtures/coffee.png", env!("CARGO_MANIFEST_DIR"))).unwrap();
    decode(&bytes, &Limits::default()).unwrap()
}

#[test]
fn local_engine_on_a_real_photo() {
    // The cup's saucer region of coffee.png, 200 x 140, with a soft elliptical mask.
    let crop = Rect::new(200, 200, 200, 140).unwrap();
    let photo = image::imageops::crop_imm(&coffee(), crop.x, crop.y, crop.width, crop.height).to_image();
    let mut mask = Mask::new(crop.size());
    mask.paint(&Shape::Ellipse { cx: 100.0, cy: 70.0, rx: 70.0, ry: 45.0 }, false).unwrap();
    let mask = mask.feather(6);
    for (name, op) in [
        ("fill", Operation::Fill([30, 58, 138])),
        ("recolor_navy", Operation::Recolor([0, 0, 128])),
        ("blur", Operation::Blur(Some(12))),
        ("pixelate", Operation::Pixelate(Some(10))),
    ] {
        let mut img = photo.clone();
        apply_operation(&mut img, &mask, op).unwrap();
        check(&format!("coffee_{name}"), encode_png(img.as_raw(), crop.size()).unwrap());
    }
}
