//! pixelkeep's pixel core: masks, crop plans, resizing, provable compositing, codecs and
//! the local engine. Pure Rust, tested natively; `bindings` is the only wasm-aware module.
#![deny(unsafe_code)]

mod codec;
mod composite;
mod engine;
mod error;
mod geometry;
mod inpaint;
mod mask;
mod plan;
mod resize;
mod session;
mod spatial;
mod tone;
pub mod wire;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)] // wasm-bindgen's generated glue
mod bindings;

pub use codec::{decode, dimensions, encode_jpeg, encode_png, encode_png_gray, sniff, Limits};
pub use composite::{
    composite_into, drift, effective_mask, effective_window_mask, protected_digest, CompositeOptions, Drift,
};
pub use engine::{apply as apply_operation, Operation, CAPABILITIES};
pub use error::{Error, Result};
pub use geometry::{NormBox, OutOfRange, Rect, Size};
pub use inpaint::{inpaint, InpaintError};
pub use mask::{Mask, MaskConvention, Shape, StrokePoint};
pub use plan::{Plan, PlanOptions};
pub use resize::{fit_within, resize_mask, resize_mask_crop, resize_rgba};
pub use session::{GenerateOptions, MaskOp, Round, RoundReport, Session};
pub use spatial::{parse_spatial, spatial_mask, SpatialItem};
pub use tone::{match_tone, ToneShift};

pub use image::RgbaImage;
