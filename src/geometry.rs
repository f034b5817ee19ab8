//! Sizes, pixel rectangles and normalised boxes.
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A non-empty size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    /// `None` when either side is zero.
    pub fn new(width: u32, height: u32) -> Option<Self> {
        (width > 0 && height > 0).then_some(Size { width, height })
    }

    pub fn area(self) -> u64 {
        self.width as u64 * self.height as u64
    }

    /// The whole frame as a rectangle.
    pub fn rect(self) -> Rect {
        Rect { x: 0, y: 0, width: self.width, height: self.height }
    }
}

/// A non-empty axis-aligned rectangle of whole pixels: `x..x+width`, `y..y+height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    /// `None` when empty.
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Option<Self> {
        (width > 0 && height > 0).then_some(Rect { x, y, width, height })
    }

    /// From half-open edges; `None` when empty.
    pub fn from_edges(left: u32, top: u32, right: u32, bottom: u32) -> Option<Self> {
        (right > left && bottom > top).then(|| Rect { x: left, y: top, width: right - left, height: bottom - top })
    }

    /// The pixels a float rectangle touches, clipped to `frame`.
    pub fn covering(left: f64, top: f64, right: f64, bottom: f64, frame: Size) -> Option<Self> {
        if !(left.is_finite() && top.is_finite() && right.is_finite() && bottom.is_finite()) {
            return None;
        }
        let clamp = |v: f64, max: u32| v.clamp(0.0, max as f64) as u32;
        Rect::from_edges(
            clamp(left.floor(), frame.width),
            clamp(top.floor(), frame.height),
            clamp(right.ceil(), frame.width),
            clamp(bottom.ceil(), frame.height),
        )
    }

    pub fn right(self) -> u32 {
        self.x + self.width
    }

    pub fn bottom(self) -> u32 {
        self.y + self.height
    }

    pub fn size(self) -> Size {
        Size { width: self.width, height: self.height }
    }

    pub fn area(self) -> u64 {
        self.size().area()
    }

    pub fn contains(self, other: Rect) -> bool {
        other.x >= self.x && other.y >= self.y && other.right() <= self.right() && other.bottom() <= self.bottom()
    }

    pub fn intersect(self, other: Rect) -> Option<Rect> {
        Rect::from_edges(
            self.x.max(other.x),
            self.y.max(other.y),
            self.right().min(other.right()),
            self.bottom().min(other.bottom()),
        )
    }

    pub fn union(self, other: Rect) -> Rect {
        Rect::from_edges(
            self.x.min(other.x),
            self.y.min(other.y),
            self.right().max(other.right()),
            self.bottom().max(other.bottom()),
        )
        .unwrap_or(self)
    }

    /// Grown by `by` pixels on every side, clipped to `frame`.
    pub fn outset(self, by: u32, frame: Size) -> Rect {
        Rect::from_edges(
            self.x.saturating_sub(by),
            self.y.saturating_sub(by),
            self.right().saturating_add(by).min(frame.width),
            self.bottom().saturating_add(by).min(frame.height),
        )
        .unwrap_or(self)
    }
}

/// How out-of-range box values are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutOfRange {
    /// Values outside 0–1000 are clamped into it.
    #[default]
    Clamp,
    /// Values outside 0–1000 are an error.
    Refuse,
}

/// A box in Gemini's convention: `[ymin, xmin, ymax, xmax]`, each 0–1000, y first,
/// relative to some frame (the image, or a crop window).
///
/// # Guarantees
/// `ymin < ymax <= 1000` and `xmin < xmax <= 1000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NormBox {
    ymin: u16,
    xmin: u16,
    ymax: u16,
    xmax: u16,
}

impl NormBox {
    pub const SCALE: u16 = 1000;

    /// `None` unless ordered, non-empty and within 0–1000.
    pub fn new(ymin: u16, xmin: u16, ymax: u16, xmax: u16) -> Option<Self> {
        (ymin < ymax && xmin < xmax && ymax <= Self::SCALE && xmax <= Self::SCALE).then_some(NormBox {
            ymin,
            xmin,
            ymax,
            xmax,
        })
    }

    /// From four numbers as a client sends them: reversed corners are ordered, fractions
    /// rounded outward, out-of-range values clamped or refused.
    pub fn from_values(values: [f64; 4], out_of_range: OutOfRange) -> Result<Self> {
        if values.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument("a box value is not a number".into()));
        }
        if out_of_range == OutOfRange::Refuse && values.iter().any(|v| !(0.0..=1000.0).contains(v)) {
            return Err(Error::InvalidArgument(format!(
                "box values must be within 0 and 1000 ([ymin, xmin, ymax, xmax]); got {values:?}"
            )));
        }
        let c = |v: f64| v.clamp(0.0, 1000.0);
        let [y0, x0, y1, x1] = values.map(c);
        let (ymin, ymax) = (y0.min(y1).floor() as u16, y0.max(y1).ceil() as u16);
        let (xmin, xmax) = (x0.min(x1).floor() as u16, x0.max(x1).ceil() as u16);
        NormBox::new(ymin, xmin, ymax, xmax)
            .ok_or_else(|| Error::InvalidArgument(format!("the box {values:?} is empty")))
    }

    /// `[ymin, xmin, ymax, xmax]`.
    pub fn values(self) -> [u16; 4] {
        [self.ymin, self.xmin, self.ymax, self.xmax]
    }

    /// The pixels of `frame` the box covers: edges rounded outward, so the rectangle
    /// always contains the box.
    pub fn to_rect(self, frame: Size) -> Rect {
        let s = Self::SCALE as u64;
        let lo = |v: u16, n: u32| (v as u64 * n as u64 / s) as u32;
        let hi = |v: u16, n: u32| (v as u64 * n as u64).div_ceil(s) as u32;
        let (w, h) = (frame.width, frame.height);
        let left = lo(self.xmin, w);
        let top = lo(self.ymin, h);
        // Rounding outward can never make a non-empty box empty, but tiny frames clamp.
        let right = hi(self.xmax, w).max(left + 1).min(w);
        let bottom = hi(self.ymax, h).max(top + 1).min(h);
        Rect { x: left.min(w - 1), y: top.min(h - 1), width: right - left.min(w - 1), height: bottom - top.min(h - 1) }
    }

    /// The box that covers `rect` within `frame` (edges rounded outward). `None` if the
    /// rectangle is not inside the frame.
    ///
    /// # Guarantees
    /// `NormBox::from_rect(b.to_rect(f), f)` moves each edge of `b` outward by at most one
    /// normalised unit or one pixel's worth of units, whichever is larger.
    pub fn from_rect(rect: Rect, frame: Size) -> Option<Self> {
        if !frame.rect().contains(rect) {
            return None;
        }
        let s = Self::SCALE as u64;
        let lo = |v: u32, n: u32| (v as u64 * s / n as u64) as u16;
        let hi = |v: u32, n: u32| (v as u64 * s).div_ceil(n as u64) as u16;
        NormBox::new(
            lo(rect.y, frame.height),
            lo(rect.x, frame.width),
            hi(rect.bottom(), frame.height),
            hi(rect.right(), frame.width),
        )
    }
}

impl Serialize for NormBox {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.values().serialize(s)
    }
}

impl<'de> Deserialize<'de> for NormBox {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = <[f64; 4]>::deserialize(d)?;
        NormBox::from_values(v, OutOfRange::Refuse).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn box_orders_reversed_corners_and_clamps() {
        let b = NormBox::from_values([600.0, 700.0, 200.0, 150.0], OutOfRange::Clamp).unwrap();
        assert_eq!(b.values(), [200, 150, 600, 700]);
        let b = NormBox::from_values([-5.0, 10.0, 1200.0, 20.5], OutOfRange::Clamp).unwrap();
        assert_eq!(b.values(), [0, 10, 1000, 21]);
        assert!(NormBox::from_values([-5.0, 10.0, 100.0, 20.0], OutOfRange::Refuse).is_err());
        assert!(NormBox::from_values([5.0, 10.0, 5.0, 20.0], OutOfRange::Clamp).is_err());
        assert!(NormBox::from_values([f64::NAN, 10.0, 5.0, 20.0], OutOfRange::Clamp).is_err());
    }

    #[test]
    fn box_to_rect_is_y_first_and_covers() {
        let frame = Size::new(2000, 1000).unwrap();
        let b = NormBox::new(200, 150, 600, 700).unwrap();
        assert_eq!(b.to_rect(frame), Rect::new(300, 200, 1100, 400).unwrap());
        let small = Size::new(3, 3).unwrap();
        assert_eq!(NormBox::new(0, 0, 1, 1).unwrap().to_rect(small), Rect::new(0, 0, 1, 1).unwrap());
        assert_eq!(NormBox::new(999, 999, 1000, 1000).unwrap().to_rect(small), Rect::new(2, 2, 1, 1).unwrap());
    }
}
