//! `Session::all_rounds`: rounds reverted past stay listed (so the editor's history strip
//! can offer them again) until a new round replaces them.
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use pixelkeep::wire::{EditResponse, InlineImage, ModelProfile};
use pixelkeep::{encode_png, GenerateOptions, MaskOp, RgbaImage, Session, Shape, Size};

fn model() -> ModelProfile {
    ModelProfile {
        id: "m".into(),
        aspect_ratios: vec![],
        max_references: 0,
        max_input_side: 4096,
        max_input_bytes: 1 << 24,
        price_per_image_usd: None,
    }
}

/// Asks for a round and answers it with a flat colour (the window's size, as sent).
fn round(s: &mut Session, rgb: [u8; 3]) {
    let options = GenerateOptions { provider: "local".into(), instruction: "fill".into(), ..Default::default() };
    let request = s.request(&options, &model()).unwrap();
    let sent = image::load_from_memory(&BASE64.decode(request.image.data).unwrap()).unwrap().to_rgba8();
    let answer = RgbaImage::from_pixel(sent.width(), sent.height(), image::Rgba([rgb[0], rgb[1], rgb[2], 255]));
    let png = encode_png(answer.as_raw(), Size { width: sent.width(), height: sent.height() }).unwrap();
    let response = EditResponse {
        image: InlineImage { mime_type: "image/png".into(), data: BASE64.encode(png) },
        text: None,
        provider: "test".into(),
        model: "m".into(),
        finish_reason: None,
        usage: None,
        elapsed_ms: 1,
    };
    s.accept(&response).unwrap();
}

#[test]
fn reverted_rounds_stay_listed_until_replaced() {
    let mut s = Session::from_rgba(RgbaImage::from_pixel(64, 48, image::Rgba([200, 200, 200, 255])));
    s.apply(MaskOp::Paint { shape: Shape::Rect { x: 10.0, y: 10.0, width: 8.0, height: 8.0 }, erase: false }).unwrap();
    round(&mut s, [255, 0, 0]);
    round(&mut s, [0, 0, 255]);
    assert_eq!((s.rounds().len(), s.all_rounds().len()), (2, 2));
    s.revert(1).unwrap();
    assert_eq!((s.rounds().len(), s.all_rounds().len()), (1, 2), "round 2 is kept after a revert");
    assert_eq!(s.current().get_pixel(14, 14).0, [255, 0, 0, 255]);
    s.revert(2).unwrap();
    assert_eq!(s.current().get_pixel(14, 14).0, [0, 0, 255, 255], "and a revert brings it back");
    s.revert(1).unwrap();
    round(&mut s, [0, 255, 0]);
    assert_eq!(s.all_rounds().len(), 2, "a new round replaces the rounds reverted past");
    assert_eq!(s.current().get_pixel(14, 14).0, [0, 255, 0, 255]);
}
