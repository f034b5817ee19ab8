//! Gemini's spatial understanding output turned into masks: `box_2d` lists and
//! segmentation items (a base64 PNG probability map sized to the box, or a polygon).
use crate::geometry::{NormBox, OutOfRange, Rect, Size};
use crate::mask::{Mask, Shape};
use crate::resize::resize_mask;
use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::Value;

/// One detected object.
#[derive(Debug, Clone, PartialEq)]
pub struct SpatialItem {
    pub label: Option<String>,
    pub bbox: NormBox,
    /// The object's coverage within `bbox`'s pixels, when the model segmented it.
    pub mask: Option<Mask>,
}

/// Reads the model's answer text: a JSON list of `{"box_2d": [ymin, xmin, ymax, xmax],
/// "label", "mask"?}` (0–1000, y first), possibly inside a Markdown code fence. `mask` is
/// either `"data:image/png;base64,..."` (a probability map, resized to the box) or a polygon
/// of `[x, y]` points in 0–1000 of the whole image (note: x first). Items are placed on an
/// image of `size`.
pub fn parse_spatial(text: &str, size: Size) -> Result<Vec<SpatialItem>> {
    let json = strip_fence(text);
    let value: Value = serde_json::from_str(json)
        .map_err(|e| Error::InvalidArgument(format!("the spatial answer is not JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        one @ Value::Object(_) => vec![one],
        _ => return Err(Error::InvalidArgument("the spatial answer is not a list of objects".into())),
    };
    items.iter().map(|item| parse_item(item, size)).collect()
}

/// The union of the items' masks (their boxes where they have none), soft or thresholded
/// at 127 as the Gemini docs do.
pub fn spatial_mask(items: &[SpatialItem], size: Size, threshold: bool) -> Result<Mask> {
    let mut out = Mask::new(size);
    for item in items {
        let rect = item.bbox.to_rect(size);
        let patch = match &item.mask {
            Some(m) => m.clone(),
            None => {
                let mut full = Mask::new(rect.size());
                full.invert();
                full
            }
        };
        let mut merged = out.crop(rect)?;
        for (o, &p) in merged.data_mut().iter_mut().zip(patch.data()) {
            let p = if threshold {
                if p > 127 {
                    255
                } else {
                    0
                }
            } else {
                p
            };
            *o = (*o).max(p);
        }
        out.put(rect.x, rect.y, &merged)?;
    }
    Ok(out)
}

fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else { return t };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    rest.trim().strip_suffix("```").unwrap_or(rest).trim()
}

fn parse_item(item: &Value, size: Size) -> Result<SpatialItem> {
    let bad = |what: &str| Error::InvalidArgument(format!("a spatial item {what}"));
    let values: Vec<f64> = item
        .get("box_2d")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("has no box_2d"))?
        .iter()
        .map(|v| v.as_f64().ok_or_else(|| bad("has a box_2d value that is not a number")))
        .collect::<Result<_>>()?;
    let values: [f64; 4] = values.try_into().map_err(|_| bad("box_2d is not [ymin, xmin, ymax, xmax]"))?;
    // Models sometimes swap corners; NormBox orders them.
    let bbox = NormBox::from_values(values, OutOfRange::Clamp)?;
    let rect = bbox.to_rect(size);
    let mask = match item.get("mask") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(png_mask(s, rect)?),
        Some(Value::Array(points)) => Some(polygon_mask(points, rect, size)?),
        Some(_) => return Err(bad("has a mask that is neither a PNG nor a polygon")),
    };
    Ok(SpatialItem { label: item.get("label").and_then(Value::as_str).map(str::to_string), bbox, mask })
}

fn png_mask(data: &str, rect: Rect) -> Result<Mask> {
    let b64 = data.split_once("base64,").map_or(data, |(_, b)| b);
    let bytes =
        BASE64.decode(b64.trim()).map_err(|_| Error::Decode("a segmentation mask is not valid base64".into()))?;
    let decoded = crate::codec::decode(&bytes, &crate::codec::Limits::default())?;
    let size = Size::new(decoded.width(), decoded.height()).ok_or(Error::Empty)?;
    // A probability map: its grey level (alpha, if any, multiplies in) is the coverage.
    let data = decoded.pixels().map(|p| ((p[0] as u32 * p[3] as u32 + 127) / 255) as u8).collect();
    let map = Mask::from_vec(size, data).ok_or(Error::Empty)?;
    resize_mask(&map, rect.size())
}

fn polygon_mask(points: &[Value], rect: Rect, size: Size) -> Result<Mask> {
    let bad = || Error::InvalidArgument("a segmentation polygon point is not [x, y]".into());
    let pts = points
        .iter()
        .map(|p| {
            let xy = p.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
            let (x, y) = (xy[0].as_f64().ok_or_else(bad)?, xy[1].as_f64().ok_or_else(bad)?);
            // x first here, relative to the whole image, then into the box's pixels.
            Ok([
                (x / 1000.0 * size.width as f64 - rect.x as f64) as f32,
                (y / 1000.0 * size.height as f64 - rect.y as f64) as f32,
            ])
        })
        .collect::<Result<Vec<_>>>()?;
    let mut m = Mask::new(rect.size());
    m.paint(&Shape::Polygon { points: pts, even_odd: false }, false)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn size() -> Size {
        Size::new(2000, 1000).unwrap()
    }

    #[test]
    fn boxes_are_y_first_and_fenced_json_is_read() {
        let text = "```json\n[{\"box_2d\": [100, 200, 300, 400], \"label\": \"jar\"}, {\"box_2d\": [900, 900, 800, 800]}]\n```";
        let items = parse_spatial(text, size()).unwrap();
        assert_eq!(items[0].label.as_deref(), Some("jar"));
        assert_eq!(items[0].bbox.to_rect(size()), Rect::new(400, 100, 400, 200).unwrap());
        assert_eq!(items[1].bbox.values(), [800, 800, 900, 900], "swapped corners ordered");
        let m = spatial_mask(&items, size(), true).unwrap();
        assert_eq!(m.get(500, 150), 255);
        assert_eq!(m.get(500, 350), 0);
    }

    #[test]
    fn png_probability_maps_are_resized_to_the_box() {
        // A 4x2 map: left half certain, right half unlikely.
        let map = [255u8, 255, 40, 40, 255, 255, 40, 40];
        let png = crate::codec::encode_png_gray(&map, Size::new(4, 2).unwrap()).unwrap();
        let text =
            format!("[{{\"box_2d\": [0, 0, 500, 500], \"mask\": \"data:image/png;base64,{}\"}}]", BASE64.encode(png));
        let items = parse_spatial(&text, size()).unwrap();
        assert_eq!(items[0].mask.as_ref().unwrap().size(), Size::new(1000, 500).unwrap());
        let soft = spatial_mask(&items, size(), false).unwrap();
        assert!(soft.get(900, 250) < 60 && soft.get(900, 250) > 20);
        let hard = spatial_mask(&items, size(), true).unwrap();
        assert_eq!((hard.get(100, 250), hard.get(900, 250), hard.get(1500, 250)), (255, 0, 0));
    }

    #[test]
    fn polygons_are_x_first() {
        let text = r#"[{"box_2d": [0, 0, 1000, 500], "mask": [[0, 0], [500, 0], [0, 1000]]}]"#;
        let m = spatial_mask(&parse_spatial(text, size()).unwrap(), size(), true).unwrap();
        assert_eq!(m.get(100, 100), 255, "inside the triangle");
        assert_eq!(m.get(900, 900), 0, "outside it, inside the box");
    }

    #[test]
    fn malformed_answers_are_errors() {
        for text in [
            "not json",
            "42",
            r#"[{"label": "x"}]"#,
            r#"[{"box_2d": [1, 2, 3]}]"#,
            r#"[{"box_2d": [1, 2, 3, 4], "mask": 7}]"#,
            r#"[{"box_2d": [0, 0, 10, 10], "mask": "data:image/png;base64,!!"}]"#,
        ] {
            assert!(parse_spatial(text, size()).is_err(), "{text}");
        }
    }
}
