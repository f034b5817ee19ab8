//! Speed of the local engine's operations on a 2048 x 1365 photo with a 5% region
//! (issue goal: `remove` at most 1.5 s, the others at most 100 ms, natively).
//! `cargo run --release --example engine_bench -- OUT.json` merges flat figures into OUT.json.
use pixelkeep::{apply_operation, decode, resize_rgba, Limits, Mask, Operation, Shape, Size};
use std::time::Instant;

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "bench/results.json".into());
    let dir = std::env::var("PIXELKEEP_FIXTURES")
        .unwrap_or_else(|_| format!("{}/../shared/fixtures", env!("CARGO_MANIFEST_DIR")));
    let photo =
        decode(&std::fs::read(format!("{dir}/coffee.png")).expect("fixture"), &Limits::default()).expect("decodes");
    let size = Size::new(2048, 1365).unwrap();
    let photo = resize_rgba(&photo, Size::new(photo.width(), photo.height()).unwrap().rect(), size).unwrap();
    // An ellipse of 5% of the frame: pi * rx * ry = 0.05 * w * h.
    let (rx, ry) = (300.0f32, 0.05 * 2048.0 * 1365.0 / (std::f32::consts::PI * 300.0));
    let mut mask = Mask::new(size);
    mask.paint(&Shape::Ellipse { cx: 1100.0, cy: 700.0, rx, ry }, false).unwrap();
    let mut figures = serde_json::Map::new();
    for (name, op) in [
        ("fill", Operation::Fill([30, 58, 138])),
        ("background", Operation::Background([255, 255, 255])),
        ("recolor", Operation::Recolor([0, 0, 128])),
        ("blur", Operation::Blur(None)),
        ("pixelate", Operation::Pixelate(None)),
    ] {
        let best = (0..5)
            .map(|_| {
                let mut img = photo.clone();
                let t = Instant::now();
                apply_operation(&mut img, &mask, op).unwrap();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .fold(f64::INFINITY, f64::min);
        println!("{name:>10}: {best:7.1} ms (best of 5)");
        figures.insert(format!("engine_{name}_2048x1365_5pct_ms"), serde_json::json!((best * 10.0).round() / 10.0));
    }
    let mut all: serde_json::Map<String, serde_json::Value> =
        std::fs::read_to_string(&out).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    all.extend(figures);
    std::fs::write(&out, serde_json::to_string_pretty(&all).unwrap()).unwrap();
}
