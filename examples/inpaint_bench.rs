//! Quality and speed benchmark of `pixelkeep::inpaint` (the local engine's `remove`).
//!
//! ```text
//! cargo run --release --example inpaint_bench -- <out.json>
//! python3 bench/inpaint_opencv.py <work dir> <out.json>   # OpenCV Telea/NS on the same holes
//! ```
//! (`bench/inpaint.sh` runs both.)
//!
//! On every fixture photo (`../shared/fixtures`, or `$PIXELKEEP_FIXTURES`) it cuts holes of three
//! shapes (rectangle, ellipse, irregular blob) covering 2%, 5% and 10% of the image, at
//! deterministic positions in textured, homogeneous areas whose true content is known (see
//! `place_hole`). The hole's pixels are
//! replaced with noise, then filled by `inpaint` and by a flat mean of the hole's border. Inside
//! the hole it measures PSNR against the truth and the texture ratio: standard deviation of the
//! Laplacian of luminance of the result divided by that of the truth (a smear gives far below 1).
//! It also times `inpaint` on a 2048x1365 upscale of a fixture with a 5% hole.
//!
//! Files go to `$PIXELKEEP_INPAINT_DIR` (default: `<tmp>/pixelkeep-inpaint-bench`): per case the
//! noisy input, the mask and each method's result as PNG, per fixture the truth, and `cases.json`
//! which lists them with this run's metrics. Flat named figures are merged into `<out.json>`
//! (default `bench/results.json`); keys already there are kept. `$PIXELKEEP_INPAINT_ONLY=coffee`
//! restricts the run to the fixtures whose name contains that text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::{GrayImage, RgbImage, RgbaImage};
use serde_json::{json, Map, Value};

const SIZES: [u32; 3] = [2, 5, 10];
const SHAPES: [&str; 3] = ["rect", "ellipse", "blob"];
const FIXTURES: [&str; 5] = ["coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg", "hubble_deep_field.jpg"];
/// Of the candidate positions ranked by texture, the hole goes to this quantile.
const TEXTURE_QUANTILE: f64 = 0.75;
/// Texture inside vs around the hole may differ by at most this factor.
const HOMOGENEITY: f64 = 1.3;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Whether (dx, dy), relative to the centre and divided by the scale, is inside the shape.
fn inside(shape: &str, dx: f64, dy: f64) -> bool {
    match shape {
        "rect" => dx.abs() <= 1.2 && dy.abs() <= 0.85,
        "ellipse" => (dx / 1.25).powi(2) + (dy / 0.8).powi(2) <= 1.0,
        _ => {
            // Irregular blob: a wobbly radius, plus a lobe.
            let r = (dx * dx + dy * dy).sqrt();
            let t = dy.atan2(dx);
            let rad = 1.0 + 0.28 * (3.0 * t + 0.7).sin() + 0.16 * (5.0 * t + 2.1).sin() + 0.1 * (2.0 * t + 4.0).sin();
            let lobe = (dx - 0.9).powi(2) + (dy + 0.6).powi(2) <= 0.35;
            r <= rad || lobe
        }
    }
}

/// Rasterises `shape` at centre (cx, cy) with scale s; returns the pixel list.
fn raster(shape: &str, w: u32, h: u32, cx: f64, cy: f64, s: f64) -> Vec<(u32, u32)> {
    let ext = 2.2 * s;
    let (x0, x1) = ((cx - ext).floor().max(0.0) as u32, ((cx + ext).ceil() as u32).min(w - 1));
    let (y0, y1) = ((cy - ext).floor().max(0.0) as u32, ((cy + ext).ceil() as u32).min(h - 1));
    let mut v = Vec::new();
    for y in y0..=y1 {
        for x in x0..=x1 {
            if inside(shape, (x as f64 + 0.5 - cx) / s, (y as f64 + 0.5 - cy) / s) {
                v.push((x, y));
            }
        }
    }
    v
}

/// Scale at which the shape covers `area` pixels (centred in a large canvas).
fn scale_for_area(shape: &str, area: f64) -> f64 {
    let mut s = (area / 3.0).sqrt();
    for _ in 0..6 {
        let n = raster(shape, 100_000, 100_000, 50_000.0, 50_000.0, s).len() as f64;
        s *= (area / n).sqrt();
    }
    s
}

fn luminance(img: &RgbaImage) -> Vec<f64> {
    img.pixels().map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64).collect()
}

/// 4-neighbour Laplacian with replicated borders.
fn laplacian(lum: &[f64], w: usize, h: usize) -> Vec<f64> {
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let c = lum[y * w + x];
            let l = lum[y * w + x.saturating_sub(1)];
            let r = lum[y * w + (x + 1).min(w - 1)];
            let u = lum[y.saturating_sub(1) * w + x];
            let d = lum[(y + 1).min(h - 1) * w + x];
            out[y * w + x] = l + r + u + d - 4.0 * c;
        }
    }
    out
}

fn std_in(v: &[f64], mask: &[u8]) -> f64 {
    let vals: Vec<f64> = v.iter().zip(mask).filter(|(_, &m)| m > 127).map(|(&x, _)| x).collect();
    let n = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / n;
    (vals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
}

fn texture_std(img: &RgbaImage, mask: &[u8]) -> f64 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    std_in(&laplacian(&luminance(img), w, h), mask)
}

fn psnr(result: &RgbaImage, truth: &RgbaImage, mask: &[u8]) -> f64 {
    let mut se = 0.0;
    let mut n = 0.0;
    for ((a, b), &m) in result.pixels().zip(truth.pixels()).zip(mask) {
        if m > 127 {
            for c in 0..3 {
                let d = a[c] as f64 - b[c] as f64;
                se += d * d;
            }
            n += 3.0;
        }
    }
    let mse = se / n;
    if mse <= 1e-10 {
        100.0
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

/// Flat fill with the mean colour of the known pixels within 3 px of the hole.
fn mean_fill(img: &RgbaImage, mask: &[u8]) -> RgbaImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut sum = [0f64; 3];
    let mut n = 0f64;
    for y in 0..h {
        for x in 0..w {
            if mask[y * w + x] > 127 {
                continue;
            }
            let near = (y.saturating_sub(3)..(y + 4).min(h))
                .any(|yy| (x.saturating_sub(3)..(x + 4).min(w)).any(|xx| mask[yy * w + xx] > 127));
            if near {
                let p = img.get_pixel(x as u32, y as u32);
                for c in 0..3 {
                    sum[c] += p[c] as f64;
                }
                n += 1.0;
            }
        }
    }
    let mut out = img.clone();
    for (p, &m) in out.pixels_mut().zip(mask) {
        if m > 127 {
            for c in 0..3 {
                p[c] = (sum[c] / n).round() as u8;
            }
        }
    }
    out
}

/// A deterministic position in a textured area: candidate centres on a grid; a candidate is
/// homogeneous when the truth's Laplacian std inside the hole is within a factor HOMOGENEITY of
/// that in a ring around it (the surroundings show the texture that should continue; a hole that
/// swallows a whole object is not a texture test). Among the homogeneous candidates (all, if none
/// is) ranked by the std inside, the one at TEXTURE_QUANTILE.
fn place_hole(truth: &RgbaImage, shape: &str, pct: u32) -> Vec<u8> {
    let (w, h) = (truth.width(), truth.height());
    let area = (w as f64 * h as f64) * pct as f64 / 100.0;
    let s = scale_for_area(shape, area);
    let lap = laplacian(&luminance(truth), w as usize, h as usize);
    let sd_of = |px: &[(u32, u32)]| {
        let n = px.len().max(1) as f64;
        let vals: Vec<f64> = px.iter().map(|&(x, y)| lap[(y * w + x) as usize]).collect();
        let mean = vals.iter().sum::<f64>() / n;
        (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
    };
    let (ex, ey) = (1.3 * s + 0.03 * w as f64, 1.3 * s + 0.03 * h as f64);
    let mut cands: Vec<(f64, f64, f64, bool)> = Vec::new();
    const GRID: usize = 9;
    for gy in 0..GRID {
        for gx in 0..GRID {
            let cx = ex + (w as f64 - 2.0 * ex) * gx as f64 / (GRID - 1) as f64;
            let cy = ey + (h as f64 - 2.0 * ey) * gy as f64 / (GRID - 1) as f64;
            let px = raster(shape, w, h, cx, cy, s);
            let inner: std::collections::HashSet<(u32, u32)> = px.iter().copied().collect();
            let ring: Vec<(u32, u32)> =
                raster(shape, w, h, cx, cy, s * 1.4).into_iter().filter(|p| !inner.contains(p)).collect();
            let (sd_in, sd_ring) = (sd_of(&px), sd_of(&ring));
            let homogeneous = sd_in <= sd_ring * HOMOGENEITY && sd_ring <= sd_in * HOMOGENEITY;
            cands.push((sd_in, cx, cy, homogeneous));
        }
    }
    if cands.iter().any(|c| c.3) {
        cands.retain(|c| c.3);
    }
    cands.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (_, cx, cy, _) = cands[((cands.len() - 1) as f64 * TEXTURE_QUANTILE).round() as usize];
    let mut mask = vec![0u8; (w * h) as usize];
    for (x, y) in raster(shape, w, h, cx, cy, s) {
        mask[(y * w + x) as usize] = 255;
    }
    mask
}

fn add_noise(img: &mut RgbaImage, mask: &[u8], rng: &mut Rng) {
    for (p, &m) in img.pixels_mut().zip(mask) {
        if m > 127 {
            let v = rng.next();
            p[0] = v as u8;
            p[1] = (v >> 8) as u8;
            p[2] = (v >> 16) as u8;
        }
    }
}

fn save_rgb(img: &RgbaImage, path: &Path) {
    let rgb: RgbImage = image::DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    rgb.save(path).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn save_mask(mask: &[u8], w: u32, h: u32, path: &Path) {
    let g = GrayImage::from_raw(w, h, mask.to_vec()).expect("mask size");
    g.save(path).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn run_inpaint(img: &mut RgbaImage, mask: &[u8]) -> f64 {
    let (w, h) = img.dimensions();
    let t = Instant::now();
    pixelkeep::inpaint(img.as_mut(), w, h, mask).expect("inpaint");
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fixtures =
        std::env::var_os("PIXELKEEP_FIXTURES").map(PathBuf::from).unwrap_or_else(|| root.join("../shared/fixtures"));
    let out_json = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| root.join("bench/results.json"));
    let dir = std::env::var_os("PIXELKEEP_INPAINT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("pixelkeep-inpaint-bench"));
    std::fs::create_dir_all(&dir).expect("creating the work dir");
    let only: Option<String> = std::env::var("PIXELKEEP_INPAINT_ONLY").ok();

    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut cases = Vec::new();
    // (method, pct) -> (psnr list, ratio list)
    let mut agg: BTreeMap<(String, u32), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut remove_ms = Vec::new();
    for name in FIXTURES {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let path = fixtures.join(name);
        let truth = image::open(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e} (set PIXELKEEP_FIXTURES)", path.display()))
            .to_rgba8();
        let (w, h) = truth.dimensions();
        let stem = name.split('.').next().unwrap_or(name);
        let truth_file = format!("{stem}_truth.png");
        save_rgb(&truth, &dir.join(&truth_file));
        for pct in SIZES {
            for shape in SHAPES {
                let id = format!("{stem}_{shape}_{pct}pct");
                let mask = place_hole(&truth, shape, pct);
                let mut input = truth.clone();
                add_noise(&mut input, &mask, &mut rng);
                let truth_tex = texture_std(&truth, &mask);

                let mut removed = input.clone();
                let ms = run_inpaint(&mut removed, &mask);
                remove_ms.push(ms);
                let meaned = mean_fill(&input, &mask);

                let mut metrics = Map::new();
                let mut results = Map::new();
                for (method, img) in [("remove", &removed), ("mean", &meaned)] {
                    let p = psnr(img, &truth, &mask);
                    let tr = texture_std(img, &mask) / truth_tex;
                    let e = agg.entry((method.to_string(), pct)).or_default();
                    e.0.push(p);
                    e.1.push(tr);
                    let file = format!("{id}_{method}.png");
                    save_rgb(img, &dir.join(&file));
                    results.insert(method.into(), json!(file));
                    metrics.insert(method.into(), json!({"psnr": p, "texture_ratio": tr}));
                }
                metrics["remove"]["ms"] = json!(ms);
                let input_file = format!("{id}_input.png");
                let mask_file = format!("{id}_mask.png");
                save_rgb(&input, &dir.join(&input_file));
                save_mask(&mask, w, h, &dir.join(&mask_file));
                eprintln!(
                    "{id:32} remove {:6.2} dB ratio {:5.2} {:7.1} ms | mean {:6.2} dB",
                    metrics["remove"]["psnr"].as_f64().unwrap_or(0.0),
                    metrics["remove"]["texture_ratio"].as_f64().unwrap_or(0.0),
                    ms,
                    metrics["mean"]["psnr"].as_f64().unwrap_or(0.0),
                );
                cases.push(json!({
                    "id": id, "image": name, "shape": shape, "pct": pct,
                    "width": w, "height": h, "hole_pixels": mask.iter().filter(|&&m| m > 127).count(),
                    "input": input_file, "mask": mask_file, "truth": truth_file,
                    "results": results, "metrics": metrics,
                }));
            }
        }
    }

    // Speed: 2048x1365 upscale of coffee.png, 5% ellipse hole in a textured place.
    let big_src = image::open(fixtures.join("coffee.png")).expect("coffee.png").to_rgba8();
    let big = image::imageops::resize(&big_src, 2048, 1365, image::imageops::FilterType::CatmullRom);
    let big_mask = place_hole(&big, "ellipse", 5);
    let mut big_in = big.clone();
    add_noise(&mut big_in, &big_mask, &mut rng);
    // Wall time is the minimum of 3 runs (the least disturbed by other load on the machine); CPU
    // time (Linux only) is the process's user+system time per run, which load does not inflate.
    let cpu0 = cpu_ms();
    let mut times: Vec<f64> = (0..3)
        .map(|_| {
            let mut img = big_in.clone();
            run_inpaint(&mut img, &big_mask)
        })
        .collect();
    let big_cpu_ms = cpu_ms().zip(cpu0).map(|(b, a)| (b - a) / 3.0);
    times.sort_by(f64::total_cmp);
    let big_ms = times[0];
    let cpu_txt = big_cpu_ms.map_or("n/a".to_string(), |c| format!("{c:.0}"));
    let mut big_out = big_in.clone();
    run_inpaint(&mut big_out, &big_mask);
    let big_psnr = psnr(&big_out, &big, &big_mask);
    let big_ratio = texture_std(&big_out, &big_mask) / texture_std(&big, &big_mask);
    eprintln!(
        "2048x1365 5% hole: {big_ms:.0} ms (min of 3; all {times:.0?}; CPU {cpu_txt} ms), \
         {big_psnr:.2} dB, ratio {big_ratio:.2}"
    );

    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut flat = Map::new();
    for method in ["remove", "mean"] {
        let key = if method == "mean" { "meanfill" } else { method };
        let (mut all_p, mut all_r) = (Vec::new(), Vec::new());
        for pct in SIZES {
            if let Some((p, r)) = agg.get(&(method.to_string(), pct)) {
                flat.insert(format!("inpaint_{key}_psnr_db_{pct}pct"), json!(round3(mean(p))));
                flat.insert(format!("inpaint_{key}_texture_ratio_{pct}pct"), json!(round3(mean(r))));
                all_p.extend(p);
                all_r.extend(r);
            }
        }
        flat.insert(format!("inpaint_{key}_psnr_db"), json!(round3(mean(&all_p))));
        flat.insert(format!("inpaint_{key}_texture_ratio"), json!(round3(mean(&all_r))));
    }
    flat.insert("inpaint_remove_case_ms_mean".into(), json!(round3(mean(&remove_ms))));
    flat.insert("inpaint_remove_2048x1365_5pct_ms".into(), json!(round3(big_ms)));
    if let Some(c) = big_cpu_ms {
        flat.insert("inpaint_remove_2048x1365_5pct_cpu_ms".into(), json!(round3(c)));
    }
    flat.insert("inpaint_remove_2048x1365_5pct_psnr_db".into(), json!(round3(big_psnr)));
    flat.insert("inpaint_remove_2048x1365_5pct_texture_ratio".into(), json!(round3(big_ratio)));

    let manifest = json!({"cases": cases, "figures": flat});
    std::fs::write(dir.join("cases.json"), serde_json::to_string_pretty(&manifest).expect("json"))
        .expect("writing cases.json");

    // Merge into out.json, keeping other keys.
    let mut out: Map<String, Value> =
        std::fs::read_to_string(&out_json).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    for (k, v) in &flat {
        out.insert(k.clone(), v.clone());
    }
    if let Some(parent) = out_json.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&out_json, serde_json::to_string_pretty(&Value::Object(out)).expect("json") + "\n")
        .expect("writing the results JSON");

    println!("{:<10} {:>5} {:>10} {:>14}", "method", "hole", "PSNR dB", "texture ratio");
    for ((method, pct), (p, r)) in &agg {
        println!("{method:<10} {:>4}% {:>10.2} {:>14.3}", pct, mean(p), mean(r));
    }
    println!("remove 2048x1365 5%: {big_ms:.0} ms wall (min of 3), CPU {cpu_txt} ms");
    println!("work dir: {}", dir.display());
}

/// User + system CPU time of this process in ms, from /proc/self/stat (Linux; None elsewhere).
fn cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After "pid (comm) ", utime and stime are the 12th and 13th fields, in clock ticks (100/s).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10.0)
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
