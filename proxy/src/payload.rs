//! Megabytes of base64 passed on without copying. An image stays a slice of the body it came
//! in (the client's edit, the provider's reply), and bodies go out as a few such slices, not
//! joined into one buffer: every copy of a 2 MB image costs fresh pages as well as the bytes.
use axum::body::Bytes;
use http_body::{Frame, SizeHint};
use pixelkeep::wire::{EditRequest, EditResponse};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A JSON string as read: borrowed from the body when it holds no escapes.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// Base64 text held as shared bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base64 {
    bytes: Bytes,
    /// Fit to stand between JSON quotes as it is (see [`json_safe`]).
    plain: bool,
}

/// An edit as the proxy holds it: the images share the client's body.
pub type Edit = EditRequest<Base64>;

/// An edit's answer as the proxy holds it: the image shares the provider's reply.
pub type Answer = EditResponse<Base64>;

/// Reads an `EditRequest` without copying its images out of `body`.
pub fn read_edit(body: &Bytes) -> serde_json::Result<Edit> {
    let req: EditRequest<Text> = serde_json::from_slice(body)?;
    Ok(req.map_data(|text| Base64::share(body, &text.0)))
}

impl Base64 {
    fn new(bytes: Bytes) -> Self {
        Base64 { plain: json_safe(&bytes), bytes }
    }

    /// `text`, a JSON string's content (or part of it) read from `body`. When serde borrowed
    /// it, it had no escapes: it is shared, and known to need none. Otherwise it is copied.
    pub fn share(body: &Bytes, text: &str) -> Self {
        Self::slice_or_copy(body, true, text)
    }

    /// Part of this text (say, trimmed) shared with it; other text copied.
    pub fn share_part(&self, text: &str) -> Self {
        Self::slice_or_copy(&self.bytes, self.plain, text)
    }

    fn slice_or_copy(bytes: &Bytes, plain: bool, text: &str) -> Self {
        let (outer, inner) = (bytes.as_ptr_range(), text.as_bytes().as_ptr_range());
        if outer.start <= inner.start && inner.end <= outer.end {
            Base64 { bytes: bytes.slice_ref(text.as_bytes()), plain }
        } else {
            Base64::new(Bytes::copy_from_slice(text.as_bytes()))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from text.
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }

    /// Whether the text can stand between JSON quotes as it is.
    pub fn is_plain(&self) -> bool {
        self.plain
    }

    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The text as it goes between JSON quotes: itself (base64 needs no escapes), else escaped.
    pub fn json_content(&self) -> Bytes {
        if self.plain {
            return self.bytes.clone();
        }
        let quoted = Bytes::from(serde_json::to_vec(self.as_str()).unwrap_or_default());
        quoted.slice(1..quoted.len().max(2) - 1)
    }
}

impl From<String> for Base64 {
    fn from(text: String) -> Self {
        Base64::new(Bytes::from(text))
    }
}

impl Serialize for Base64 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Whether `text` can stand between JSON quotes as it is: no quote, backslash or control
/// character. Checked in blocks, which the compiler vectorises: a megabyte in microseconds.
pub fn json_safe(text: &[u8]) -> bool {
    text.chunks(64).all(|block| block.iter().fold(true, |ok, &b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\')))
}

/// A body of shared slices with an exact length: hyper sends it with `Content-Length` and
/// one vectored write, as it would a single buffer, but nothing was joined to make it.
#[derive(Debug, Clone, Default)]
pub struct Chunks {
    parts: VecDeque<Bytes>,
    len: u64,
}

impl Chunks {
    pub fn push(&mut self, bytes: impl Into<Bytes>) {
        let bytes = bytes.into();
        if !bytes.is_empty() {
            self.len += bytes.len() as u64;
            self.parts.push_back(bytes);
        }
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The whole body in one buffer (for tests and benchmarks).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.parts.iter().for_each(|p| out.extend_from_slice(p));
        out
    }
}

impl From<Bytes> for Chunks {
    fn from(bytes: Bytes) -> Self {
        let mut chunks = Chunks::default();
        chunks.push(bytes);
        chunks
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let part = self.parts.pop_front();
        self.len -= part.as_ref().map_or(0, |p| p.len() as u64);
        Poll::Ready(part.map(|p| Ok(Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

/// Small JSON written piece by piece around large shared slices.
#[derive(Debug, Default)]
pub struct JsonWriter {
    chunks: Chunks,
    pending: Vec<u8>,
}

impl JsonWriter {
    /// JSON text as it is.
    pub fn raw(&mut self, json: &[u8]) {
        self.pending.extend_from_slice(json);
    }

    pub fn value(&mut self, value: &impl Serialize) -> serde_json::Result<()> {
        serde_json::to_writer(&mut self.pending, value)
    }

    /// A slice shared, not copied.
    pub fn shared(&mut self, bytes: Bytes) {
        self.chunks.push(std::mem::take(&mut self.pending));
        self.chunks.push(bytes);
    }

    pub fn finish(mut self) -> Chunks {
        self.chunks.push(self.pending);
        self.chunks
    }
}

/// An answer's JSON, byte for byte as serde writes it, with the image put in as its slice.
pub fn answer_body(mut answer: Answer) -> serde_json::Result<Chunks> {
    let image = std::mem::take(&mut answer.image.data);
    let json = serde_json::to_vec(&answer)?;
    // The image is the first field and its data the second: the first `"data":""` is it
    // (a string cannot hold a bare quote).
    const EMPTY_DATA: &[u8] = br#""data":"""#;
    let Some(at) = json.windows(EMPTY_DATA.len()).position(|w| w == EMPTY_DATA) else {
        answer.image.data = image;
        return Ok(Chunks::from(Bytes::from(serde_json::to_vec(&answer)?)));
    };
    let mut head = Bytes::from(json);
    let tail = head.split_off(at + EMPTY_DATA.len() - 1);
    let mut chunks = Chunks::from(head);
    chunks.push(image.json_content());
    chunks.push(tail);
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelkeep::wire::InlineImage;
    use serde_json::json;

    fn answer(data: &str, usage: serde_json::Value) -> Answer {
        EditResponse {
            image: InlineImage { mime_type: "image/png".into(), data: Base64::from(data.to_string()) },
            text: Some("Here \"it\" is: \"data\":\"\"".into()),
            provider: "gemini".into(),
            model: "m".into(),
            finish_reason: Some("STOP".into()),
            usage: Some(usage),
            elapsed_ms: 12,
        }
    }

    #[test]
    fn edits_are_read_as_edit_requests_are() {
        let image = r#""image":{"mime_type":"image/png","data":"QU\/JD"}"#;
        let bodies = [
            format!(
                r#"{{"provider":"gemini","instruction":"x",{image},"references":[{{"mime_type":"a","data":"QUJD"}}]}}"#
            ),
            format!(
                r#"{{"instruction":"x",{image},"mask":{{"mime_type":"image/png","data":" QUJD\n"}},"box":[1,2,3,4]}}"#
            ),
            format!(r#"{{"instruction":"x",{image},"box":[1,2]}}"#),
            r#"{"instruction":"x","image":{"mime_type":"image/png","data":5}}"#.into(),
            r#"{"instruction":"x","image":{"mime_type":"image/png"}}"#.into(),
            "{\"instruction\":\"x\",\"image\":{\"mime_type\":\"a\",\"data\":\"QU\nJD\"}}".into(),
            r#"{"instruction":"x"}"#.into(),
            "[1]".into(),
            "{".into(),
        ];
        for body in bodies {
            let expected = serde_json::from_str::<EditRequest>(&body).map_err(|e| e.to_string());
            let read = read_edit(&Bytes::from(body.clone())).map_err(|e| e.to_string());
            assert_eq!(read.map(|r| r.map_data(|d| d.as_str().to_string())), expected, "{body}");
        }
    }

    #[test]
    fn answers_are_written_as_serde_writes_them() {
        for data in ["iVBORw0KGgo+/==", "", "odd \"text\"\n\\ \u{1}"] {
            let a = answer(data, json!({"data": "", "n": 1}));
            let expected = serde_json::to_vec(&a).unwrap();
            assert_eq!(answer_body(a).unwrap().to_vec(), expected, "{data:?}");
        }
    }

    #[test]
    fn shares_slices_of_the_body_and_copies_the_rest() {
        let body = Bytes::from_static(b"{\"data\":\"QUJD\"}");
        let text = std::str::from_utf8(&body[9..13]).unwrap();
        let shared = Base64::share(&body, text);
        assert_eq!(
            (shared.as_str(), shared.as_bytes().as_ptr(), shared.is_plain()),
            ("QUJD", body[9..].as_ptr(), true)
        );
        let part = shared.share_part(&text[1..3]);
        assert_eq!((part.as_str(), part.as_bytes().as_ptr()), ("UJ", body[10..].as_ptr()));
        let copied = Base64::share(&body, "QUJD");
        assert_eq!((copied.as_str(), copied.is_plain()), ("QUJD", true));
        assert_ne!(copied.as_bytes().as_ptr(), body[9..].as_ptr());
        let unescaped = Base64::share(&body, "QU\"JD");
        assert!(!unescaped.is_plain() && !unescaped.share_part(&unescaped.as_str()[..2]).is_plain());
    }

    #[test]
    fn json_safety_is_exact() {
        assert!(json_safe(b"") && json_safe("AZaz09+/=".repeat(100).as_bytes()) && json_safe("é".as_bytes()));
        for bad in [b'"', b'\\', 0, 0x1f, b'\n'] {
            let mut text = vec![b'A'; 200];
            text[130] = bad;
            assert!(!json_safe(&text), "{bad}");
        }
    }

    #[test]
    fn chunks_know_their_length() {
        let mut c = Chunks::from(Bytes::from_static(b"ab"));
        c.push(Vec::new());
        c.push(Bytes::from_static(b"cde"));
        assert_eq!((c.len(), c.to_vec()), (5, b"abcde".to_vec()));
        assert_eq!(http_body::Body::size_hint(&c).exact(), Some(5));
    }
}
