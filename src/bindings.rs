//! The wasm boundary: every item converts, calls the core, converts back. Errors become
//! JS exceptions (never panics: a panic would kill the widget).
use crate::session::GenerateOptions;
use crate::wire::{EditResponse, ErrorBody, ModelProfile};
use crate::{
    fit_within, resize_mask, resize_rgba, CompositeOptions, Limits, MaskConvention, MaskOp, NormBox, OutOfRange,
    Session,
};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

fn err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: serde::Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(err)
}

/// One editing session, owned by the worker.
#[wasm_bindgen]
pub struct Editor {
    session: Session,
}

#[wasm_bindgen]
impl Editor {
    /// Decodes the photo (limits checked from its header first).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8], max_side: u32, max_pixels: f64) -> Result<Editor, JsError> {
        let limits = Limits { max_side, max_pixels: max_pixels as u64 };
        Ok(Editor { session: Session::open(bytes, &limits).map_err(err)? })
    }

    #[wasm_bindgen(getter)]
    pub fn width(&self) -> u32 {
        self.session.size().width
    }

    #[wasm_bindgen(getter)]
    pub fn height(&self) -> u32 {
        self.session.size().height
    }

    /// Applies a mask operation (`{op: "paint", shape: {...}, erase}` and so on); returns
    /// the changed rectangle or `null`.
    pub fn apply(&mut self, op: JsValue) -> Result<JsValue, JsError> {
        let op: MaskOp = serde_wasm_bindgen::from_value(op).map_err(err)?;
        to_js(&self.session.apply(op).map_err(err)?)
    }

    pub fn undo(&mut self) -> Result<bool, JsError> {
        self.session.undo().map_err(err)
    }

    pub fn redo(&mut self) -> Result<bool, JsError> {
        self.session.redo().map_err(err)
    }

    #[wasm_bindgen(js_name = canUndo)]
    pub fn can_undo(&self) -> bool {
        self.session.can_undo()
    }

    #[wasm_bindgen(js_name = canRedo)]
    pub fn can_redo(&self) -> bool {
        self.session.can_redo()
    }

    /// `[ymin, xmin, ymax, xmax]` (0–1000) or `undefined` to clear; returns the ordered box.
    #[wasm_bindgen(js_name = setBox)]
    pub fn set_box(&mut self, values: Option<Vec<f64>>) -> Result<JsValue, JsError> {
        let b = match values {
            None => None,
            Some(v) => {
                let v: [f64; 4] = v.try_into().map_err(|_| err("a box is [ymin, xmin, ymax, xmax]"))?;
                Some(NormBox::from_values(v, OutOfRange::Clamp).map_err(err)?)
            }
        };
        self.session.set_box(b);
        to_js(&b.map(|b| b.values()))
    }

    #[wasm_bindgen(js_name = setComposite)]
    pub fn set_composite(&mut self, grow: i32, feather: u32) {
        self.session.composite = CompositeOptions { grow, feather };
    }

    /// The mask as PNG in `"white-edit"`, `"alpha-edit"` or `"alpha-coverage"` convention.
    #[wasm_bindgen(js_name = maskPng)]
    pub fn mask_png(&self, convention: &str) -> Result<Vec<u8>, JsError> {
        let c: MaskConvention = serde_json::from_value(serde_json::Value::String(convention.into()))
            .map_err(|_| err(format!("unknown mask convention {convention}")))?;
        self.session.mask().to_png(c).map_err(err)
    }

    /// Plans the round and returns the JSON body for `POST /api/edit`.
    pub fn request(&mut self, options: JsValue, model: JsValue) -> Result<String, JsError> {
        let options: GenerateOptions = serde_wasm_bindgen::from_value(options).map_err(err)?;
        let model: ModelProfile = serde_wasm_bindgen::from_value(model).map_err(err)?;
        let request = self.session.request(&options, &model).map_err(err)?;
        serde_json::to_string(&request).map_err(err)
    }

    /// Takes the proxy's answer to the last `request`: registers, composites, reports.
    pub fn accept(&mut self, response: &str) -> Result<JsValue, JsError> {
        let response: EditResponse =
            serde_json::from_str(response).map_err(|e| err(format!("the proxy's answer is malformed: {e}")))?;
        to_js(&self.session.accept(&response).map_err(err)?)
    }

    pub fn recomposite(&mut self, round: usize, grow: i32, feather: u32) -> Result<JsValue, JsError> {
        to_js(&self.session.recomposite(round, CompositeOptions { grow, feather }).map_err(err)?)
    }

    pub fn revert(&mut self, n: usize) -> Result<(), JsError> {
        self.session.revert(n).map_err(err)
    }

    pub fn rounds(&self) -> Result<JsValue, JsError> {
        let reports: Vec<_> = self.session.rounds().iter().map(|r| &r.report).collect();
        to_js(&reports)
    }

    /// Where a composite with these options may write: the bounds of the grown and
    /// feathered mask (`null` when the mask is empty).
    #[wasm_bindgen(js_name = effectiveMaskBounds)]
    pub fn effective_mask_bounds(&self, grow: i32, feather: u32) -> Result<JsValue, JsError> {
        let m = crate::effective_mask(self.session.mask(), None, CompositeOptions { grow, feather }).map_err(err)?;
        to_js(&m.bounds())
    }

    /// The delivered image fitted within `max_edge`, as RGBA.
    pub fn preview(&self, max_edge: u32) -> Result<Vec<u8>, JsError> {
        let size = self.session.size();
        let to = fit_within(size, max_edge);
        Ok(resize_rgba(self.session.current(), size.rect(), to).map_err(err)?.into_raw())
    }

    /// The mask fitted within `max_edge`, one byte a pixel.
    #[wasm_bindgen(js_name = maskPreview)]
    pub fn mask_preview(&self, max_edge: u32) -> Result<Vec<u8>, JsError> {
        let to = fit_within(self.session.size(), max_edge);
        Ok(resize_mask(self.session.mask(), to).map_err(err)?.into_vec())
    }

    /// The delivered image's RGBA at full resolution (for the browser's own encoders).
    pub fn rgba(&self) -> Vec<u8> {
        self.session.current().as_raw().clone()
    }

    #[wasm_bindgen(js_name = toPng)]
    pub fn to_png(&self) -> Result<Vec<u8>, JsError> {
        self.session.to_png().map_err(err)
    }

    #[wasm_bindgen(js_name = toJpeg)]
    pub fn to_jpeg(&self, quality: u8) -> Result<Vec<u8>, JsError> {
        self.session.to_jpeg(quality).map_err(err)
    }

    /// The mask recipe and the protected-region digests of the original and the result.
    pub fn provenance(&self) -> Result<JsValue, JsError> {
        let (before, after) = self.session.provenance_digests().map_err(err)?;
        to_js(&serde_json::json!({
            "recipe": self.session.recipe(),
            "rounds": self.session.rounds().iter().map(|r| serde_json::json!({
                "instruction": r.instruction, "provider": r.report.provider, "model": r.report.model,
                "window": r.report.window, "options": r.report.options,
            })).collect::<Vec<_>>(),
            "protected_digest_original": before,
            "protected_digest_result": after,
        }))
    }
}

/// POSTs a JSON body through gloo-net (with the host's embed token, if any); resolves with
/// the answer's text, or throws an
/// `Error` whose `code` is the proxy's error code (`network` or `aborted` when there was
/// no answer).
#[wasm_bindgen(js_name = postEdit)]
pub async fn post_edit(
    url: String,
    body: String,
    token: Option<String>,
    signal: Option<web_sys::AbortSignal>,
) -> Result<String, JsValue> {
    let fail = |code: &str, message: &str, retry: Option<u64>| -> JsValue {
        let e = js_sys::Error::new(message);
        let _ = js_sys::Reflect::set(&e, &"code".into(), &code.into());
        if let Some(s) = retry {
            let _ = js_sys::Reflect::set(&e, &"retryAfter".into(), &(s as f64).into());
        }
        e.into()
    };
    let mut builder = gloo_net::http::Request::post(&url).header("content-type", "application/json");
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        builder = builder.header("authorization", &format!("Bearer {token}"));
    }
    let request =
        builder.abort_signal(signal.as_ref()).body(body).map_err(|e| fail("invalid_request", &e.to_string(), None))?;
    let response = request.send().await.map_err(|e| {
        if signal.as_ref().is_some_and(|s| s.aborted()) {
            fail("aborted", "The generation was cancelled.", None)
        } else {
            fail("network", &format!("The proxy could not be reached ({e})."), None)
        }
    })?;
    let text = response.text().await.map_err(|e| fail("network", &format!("The answer was cut off ({e})."), None))?;
    if response.ok() {
        return Ok(text);
    }
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => Err(fail(body.error.code.as_str(), &body.error.message, body.error.retry_after_s)),
        Err(_) => Err(fail(
            "upstream_error",
            &format!("The proxy answered {} without an explanation.", response.status()),
            None,
        )),
    }
}

/// What the editor's UI shows besides the delivered image.
#[wasm_bindgen]
impl Editor {
    /// The original (never edited) image fitted within `max_edge`, as RGBA: the "before"
    /// of the before/after comparison.
    #[wasm_bindgen(js_name = originalPreview)]
    pub fn original_preview(&self, max_edge: u32) -> Result<Vec<u8>, JsError> {
        let size = self.session.size();
        Ok(resize_rgba(self.session.original(), size.rect(), fit_within(size, max_edge)).map_err(err)?.into_raw())
    }

    /// Every round kept (also those undone or reverted past, which `revert` brings back),
    /// with its instruction, and how many are active: `{active, rounds: [{instruction, report}]}`.
    pub fn history(&self) -> Result<JsValue, JsError> {
        to_js(&serde_json::json!({
            "active": self.session.rounds().len(),
            "rounds": self.session.all_rounds().iter().map(|r| serde_json::json!({
                "instruction": r.instruction, "report": r.report,
            })).collect::<Vec<_>>(),
        }))
    }
}
