//! Before/after pictures of each local-engine operation on real photos, for the README.
//! Run: `cargo run --release --example engine_gallery` (writes docs/engine/*.png).
use pixelkeep::{apply_operation, decode, encode_png, Limits, Mask, Operation, RgbaImage, Shape, Size, StrokePoint};

fn fixture(name: &str) -> RgbaImage {
    let dir = std::env::var("PIXELKEEP_FIXTURES")
        .unwrap_or_else(|_| format!("{}/../shared/fixtures", env!("CARGO_MANIFEST_DIR")));
    decode(&std::fs::read(format!("{dir}/{name}")).expect("fixture"), &Limits::default()).expect("decodes")
}

fn stroke(points: &[[f32; 2]], width: f32) -> Shape {
    Shape::Stroke { points: points.iter().map(|p| StrokePoint { x: p[0], y: p[1], pressure: 1.0 }).collect(), width }
}

/// Before and after side by side, the mask outlined in the before half.
fn save(name: &str, before: &RgbaImage, mask: &Mask, after: &RgbaImage) {
    let (w, h) = before.dimensions();
    let mut out = RgbaImage::new(w * 2 + 8, h);
    image::imageops::replace(&mut out, before, 0, 0);
    image::imageops::replace(&mut out, after, (w + 8) as i64, 0);
    for (x, y, p) in out.enumerate_pixels_mut() {
        if x < w && mask.get(x, y) > 0 && ((x + y) / 3) % 2 == 0 {
            p.0 = [255, 255, 255, 255].map(|v: u8| v / 2 + p.0[0] / 4);
        }
    }
    let png = encode_png(out.as_raw(), Size::new(out.width(), out.height()).unwrap()).unwrap();
    std::fs::write(format!("docs/engine/{name}.png"), png).unwrap();
}

fn main() {
    std::fs::create_dir_all("docs/engine").unwrap();
    let coffee = fixture("coffee.png");
    let size = Size::new(coffee.width(), coffee.height()).unwrap();

    let mut spoon = Mask::new(size);
    spoon.paint(&stroke(&[[410.0, 72.0], [400.0, 140.0], [383.0, 235.0]], 26.0), false).unwrap();
    spoon.paint(&Shape::Ellipse { cx: 366.0, cy: 285.0, rx: 46.0, ry: 46.0 }, false).unwrap();
    let spoon = spoon.grow(4);

    // The cup and saucer (not the coffee): a product colour variant.
    let mut saucer = Mask::new(size);
    saucer.paint(&Shape::Ellipse { cx: 277.0, cy: 230.0, rx: 206.0, ry: 160.0 }, false).unwrap();
    saucer.paint(&Shape::Ellipse { cx: 290.0, cy: 132.0, rx: 112.0, ry: 80.0 }, true).unwrap();

    let mut table = Mask::new(size);
    table.paint(&Shape::Ellipse { cx: 278.0, cy: 208.0, rx: 208.0, ry: 196.0 }, false).unwrap();
    table.invert();

    let mut handle = Mask::new(size);
    handle.paint(&Shape::Ellipse { cx: 230.0, cy: 265.0, rx: 45.0, ry: 50.0 }, false).unwrap();

    for (name, mask, op) in [
        ("remove", &spoon, Operation::Remove),
        ("recolor", &saucer, Operation::Recolor([0, 0, 128])),
        ("background", &table, Operation::Background([255, 255, 255])),
        ("blur", &handle, Operation::Blur(None)),
        ("pixelate", &handle, Operation::Pixelate(None)),
    ] {
        let mut after = coffee.clone();
        let t = std::time::Instant::now();
        apply_operation(&mut after, &mask.feather(3), op).unwrap();
        println!("{name}: {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
        save(name, &coffee, mask, &after);
    }
}
