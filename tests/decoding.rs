//! Hostile and unusual inputs: each gets a clear error or the right pixels, never a panic.
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};
use pixelkeep::{decode, dimensions, Error, Limits};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../shared/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn png(w: u32, h: u32, pixels: &[u8], color: ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out).write_image(pixels, w, h, color).unwrap();
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

/// A PNG whose header declares `w` x `h` and carries (almost) no pixel data.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(13u32.to_be_bytes());
    out.extend(&ihdr);
    out.extend(crc32(&ihdr).to_be_bytes());
    for (kind, data) in [(&b"IDAT"[..], &[0x78u8, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01][..]), (b"IEND", &[])] {
        let mut chunk = kind.to_vec();
        chunk.extend(data);
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(&chunk);
        out.extend(crc32(&chunk).to_be_bytes());
    }
    out
}

#[test]
fn real_photos_decode() {
    for (name, w, h) in [
        ("coffee.png", 600, 400),
        ("chelsea.png", 451, 300),
        ("rocket.jpg", 640, 427),
        ("hubble_deep_field.jpg", 1000, 872),
    ] {
        let img = decode(&fixture(name), &Limits::default()).unwrap();
        assert_eq!(img.dimensions(), (w, h), "{name}");
    }
}

#[test]
fn a_huge_declared_size_is_refused_before_allocating() {
    let bytes = png_header_only(100_000, 100_000);
    assert_eq!(dimensions(&bytes).unwrap().width, 100_000);
    match decode(&bytes, &Limits::default()) {
        Err(Error::TooLarge { width: 100_000, height: 100_000, .. }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let msg = decode(&bytes, &Limits::default()).unwrap_err().to_string();
    assert!(msg.contains("100000 x 100000") && msg.contains("12000"), "{msg}");
}

#[test]
fn zero_sized_and_garbage_inputs_are_errors() {
    assert!(decode(&png_header_only(0, 10), &Limits::default()).is_err());
    assert!(matches!(decode(b"", &Limits::default()), Err(Error::UnsupportedFormat)));
    assert!(matches!(decode(b"GIF89a......", &Limits::default()), Err(Error::UnsupportedFormat)));
}

#[test]
fn truncated_and_corrupt_files_are_errors() {
    let rgba: Vec<u8> = (0..64 * 64 * 4).map(|i| (i * 31 % 256) as u8).collect();
    let rgb: Vec<u8> = (0..64 * 64 * 3).map(|i| (i * 31 % 256) as u8).collect();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90).write_image(&rgb, 64, 64, ExtendedColorType::Rgb8).unwrap();
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp).write_image(&rgba, 64, 64, ExtendedColorType::Rgba8).unwrap();
    let png = png(64, 64, &rgba, ExtendedColorType::Rgba8);
    for (name, bytes) in [("png", png), ("jpeg", jpeg), ("webp", webp), ("photo", fixture("rocket.jpg"))] {
        assert!(decode(&bytes, &Limits::default()).is_ok(), "{name} intact");
        for cut in [bytes.len() / 2, bytes.len() / 5, 40] {
            let result = decode(&bytes[..cut], &Limits::default());
            // A truncated JPEG may still decode (grey tail), as browsers show it; it must never panic.
            if name != "jpeg" && name != "photo" {
                assert!(result.is_err(), "{name} truncated at {cut} decoded");
            }
        }
        let mut corrupt = bytes.clone();
        let mid = corrupt.len() / 2;
        corrupt[20..mid].iter_mut().for_each(|b| *b = b.wrapping_mul(7).wrapping_add(13));
        let _ = decode(&corrupt, &Limits::default()); // an error or noise, never a panic
    }
}

#[test]
fn sixteen_bit_and_grey_alpha_pngs_convert_and_keep_alpha() {
    let px16: Vec<u8> = [0xffffu16, 0x8000, 0x0000, 0x4000].iter().flat_map(|v| v.to_ne_bytes()).collect();
    let img = decode(&png(1, 1, &px16, ExtendedColorType::Rgba16), &Limits::default()).unwrap();
    assert_eq!(img.get_pixel(0, 0).0, [255, 128, 0, 64]);
    let la = decode(&png(2, 1, &[10, 0, 200, 255], ExtendedColorType::La8), &Limits::default()).unwrap();
    assert_eq!(la.get_pixel(0, 0).0, [10, 10, 10, 0]);
    assert_eq!(la.get_pixel(1, 0).0, [200, 200, 200, 255]);
    let grey = decode(&png(1, 1, &[77], ExtendedColorType::L8), &Limits::default()).unwrap();
    assert_eq!(grey.get_pixel(0, 0).0, [77, 77, 77, 255]);
}

/// A JPEG with an EXIF APP1 segment carrying `orientation`.
fn jpeg_with_orientation(rgb: &[u8], w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let mut plain = Vec::new();
    JpegEncoder::new_with_quality(&mut plain, 100).write_image(rgb, w, h, ExtendedColorType::Rgb8).unwrap();
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(1u16.to_le_bytes()); // one IFD entry
    tiff.extend(0x0112u16.to_le_bytes()); // Orientation
    tiff.extend(3u16.to_le_bytes()); // SHORT
    tiff.extend(1u32.to_le_bytes());
    tiff.extend(orientation.to_le_bytes());
    tiff.extend([0, 0]);
    tiff.extend(0u32.to_le_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = plain[..2].to_vec(); // SOI
    out.extend([0xff, 0xe1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&plain[2..]);
    out
}

#[test]
fn all_eight_exif_orientations_are_applied() {
    // 32 x 16: left half red, right half blue, a green band on the top rows of the left half.
    let (w, h) = (32u32, 16u32);
    let rgb: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            if x < 16 && y < 8 {
                [0, 255, 0]
            } else if x < 16 {
                [255, 0, 0]
            } else {
                [0, 0, 255]
            }
        })
        .collect();
    // Where the green block (top-left quadrant) lands after each orientation, in the output.
    let expect: [(u32, u32, &str); 8] = [
        (32, 16, "top-left"),
        (32, 16, "top-right"),
        (32, 16, "bottom-right"),
        (32, 16, "bottom-left"),
        (16, 32, "top-left"),
        (16, 32, "top-right"),
        (16, 32, "bottom-right"),
        (16, 32, "bottom-left"),
    ];
    for (o, (ew, eh, corner)) in (1u16..=8).zip(expect) {
        let img = decode(&jpeg_with_orientation(&rgb, w, h, o), &Limits::default()).unwrap();
        assert_eq!(img.dimensions(), (ew, eh), "orientation {o}");
        let (cx, cy) = match corner {
            "top-left" => (2, 2),
            "top-right" => (ew - 3, 2),
            "bottom-right" => (ew - 3, eh - 3),
            _ => (2, eh - 3),
        };
        let p = img.get_pixel(cx, cy);
        assert!(p[1] > 200 && p[0] < 60 && p[2] < 60, "orientation {o}: green expected at {corner}, got {p:?}");
    }
}
