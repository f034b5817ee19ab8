use std::fmt;

/// Everything the core can refuse. Turned into a `JsError` at the wasm boundary and into a
/// typed JSON error at the proxy boundary; the core never panics on bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not an image in a format we read (PNG, JPEG, WebP).
    UnsupportedFormat,
    /// The image header or data is malformed or truncated.
    Decode(String),
    /// The image is larger than the configured limits.
    TooLarge { width: u32, height: u32, max_side: u32, max_pixels: u64 },
    /// The image has no pixels.
    Empty,
    /// Two buffers that must match in size do not.
    SizeMismatch { expected: (u32, u32), actual: (u32, u32) },
    /// A parameter is outside its valid range; the text names it.
    InvalidArgument(String),
    /// Encoding failed (should not happen for valid buffers).
    Encode(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnsupportedFormat => f.write_str("this file is not an image pixelkeep can read (PNG, JPEG or WebP)"),
            Error::Decode(why) => write!(f, "the image could not be decoded: {why}"),
            Error::TooLarge { width, height, max_side, max_pixels } => write!(
                f,
                "the image is {width} x {height} pixels; the limit is {max_side} pixels a side \
                 and {} megapixels",
                max_pixels / 1_000_000
            ),
            Error::Empty => f.write_str("the image has no pixels"),
            Error::SizeMismatch { expected, actual } => {
                write!(f, "sizes differ: expected {} x {}, got {} x {}", expected.0, expected.1, actual.0, actual.1)
            }
            Error::InvalidArgument(what) => f.write_str(what),
            Error::Encode(why) => write!(f, "the image could not be encoded: {why}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
