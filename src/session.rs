//! One editing session: the original, the mask with its undo history, and the rounds.
//!
//! Every round composites into the decoded original (never a re-encoded copy), so pixels
//! outside every round's effective mask stay the original's bytes after any number of rounds.
use crate::codec::{decode, encode_jpeg, encode_png, Limits};
use crate::composite::{
    composite_into, copy_where, drift, effective_window_mask, protected_digest, CompositeOptions, Drift,
};
use crate::geometry::{NormBox, Rect, Size};
use crate::mask::{Mask, MaskConvention, Shape};
use crate::plan::{Plan, PlanOptions};
use crate::resize::resize_mask_crop;
use crate::tone::{match_tone, ToneShift};
use crate::wire::{EditRequest, EditResponse, InlineImage, ModelProfile, OutputSpec};
use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use image::RgbaImage;
use serde::{Deserialize, Serialize};

/// A replayable mask operation, as the tools produce them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum MaskOp {
    Paint {
        shape: Shape,
        #[serde(default)]
        erase: bool,
    },
    Wand {
        x: u32,
        y: u32,
        tolerance: u8,
        #[serde(default = "yes")]
        contiguous: bool,
        #[serde(default)]
        erase: bool,
    },
    Grow {
        radius: i32,
    },
    Invert,
    Clear,
}

fn yes() -> bool {
    true
}

/// One undoable step: the pixels of the mask before and after, in the rectangle it
/// touched; or a change of how many rounds are active (a new round, a revert).
#[derive(Debug, Clone)]
enum Step {
    /// A painted shape: redo paints it again (cheaper than keeping a copy of the result).
    Paint {
        shape: Shape,
        erase: bool,
        rect: Rect,
        before: Mask,
    },
    Mask {
        op: MaskOp,
        rect: Rect,
        before: Mask,
        after: Mask,
    },
    Rounds {
        from: usize,
        to: usize,
    },
}

/// What the person (and a CMS) learns about a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    pub index: usize,
    pub window: Rect,
    /// How much the raw model output changed outside the blend mask it arrived to (measured
    /// then, before any tone matching): what was thrown away.
    pub raw: Drift,
    /// The same for what was delivered: zero changed pixels.
    pub delivered: Drift,
    pub options: CompositeOptions,
    /// Whether the edit region was derived from the output (a mask-free edit).
    pub auto_protect: bool,
    /// The tone shift taken out of the answer so its edge meets the photo without a seam;
    /// `None` when matching was off or there was nothing to take out.
    pub tone: Option<ToneShift>,
    pub provider: String,
    pub model: String,
    pub text: Option<String>,
    pub elapsed_ms: u64,
}

/// A finished generation, kept so it can be re-composited without paying again.
#[derive(Debug, Clone)]
pub struct Round {
    pub plan: Plan,
    /// The edit mask within the plan's window, at generation time.
    mask: Mask,
    /// The model's answer registered onto the window's pixels.
    result: RgbaImage,
    /// The blend mask last computed from `mask`, and the options it was computed with:
    /// undo, redo and revert re-composite every round, and need not feather again.
    effective: Option<(CompositeOptions, Mask)>,
    pub report: RoundReport,
    pub instruction: String,
}

/// A request sent and not yet answered: what the answer will be composited through is
/// fixed when the request is made, so painting while waiting changes nothing.
#[derive(Debug, Clone)]
struct Pending {
    plan: Plan,
    /// The edit mask (with the box painted in) within the window; `None`: auto-protect.
    mask: Option<Mask>,
    instruction: String,
    match_tone: bool,
}

/// What `generate` needs besides the session: the JS API's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateOptions {
    pub provider: String,
    pub model: Option<String>,
    pub instruction: String,
    pub keep: Vec<String>,
    pub references: Vec<InlineImage>,
    pub aspect_ratio: Option<String>,
    pub size: Option<String>,
    pub grounding: bool,
    pub client_request_id: Option<String>,
    /// Take the answer's tone shift out at the edge of the edit (see [`match_tone`]).
    pub match_tone: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            provider: String::new(),
            model: None,
            instruction: String::new(),
            keep: Vec::new(),
            references: Vec::new(),
            aspect_ratio: None,
            size: None,
            grounding: false,
            client_request_id: None,
            match_tone: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    original: RgbaImage,
    current: RgbaImage,
    mask: Mask,
    protect: Option<Mask>,
    bbox: Option<NormBox>,
    undo: Vec<Step>,
    redo: Vec<Step>,
    rounds: Vec<Round>,
    active: usize,
    pending: Option<Pending>,
    /// Where the active rounds may have written: the union of their effective masks.
    edited: Mask,
    pub composite: CompositeOptions,
    pub plan_options: PlanOptions,
}

impl Session {
    /// Decodes a photo (limits checked first) and opens a session on it.
    pub fn open(bytes: &[u8], limits: &Limits) -> Result<Session> {
        Ok(Session::from_rgba(decode(bytes, limits)?))
    }

    pub fn from_rgba(original: RgbaImage) -> Session {
        let size = Size { width: original.width(), height: original.height() };
        Session {
            current: original.clone(),
            original,
            mask: Mask::new(size),
            protect: None,
            bbox: None,
            undo: Vec::new(),
            redo: Vec::new(),
            rounds: Vec::new(),
            active: 0,
            pending: None,
            edited: Mask::new(size),
            composite: CompositeOptions::default(),
            plan_options: PlanOptions::default(),
        }
    }

    pub fn size(&self) -> Size {
        self.mask.size()
    }

    pub fn original(&self) -> &RgbaImage {
        &self.original
    }

    /// The delivered image: the original with the active rounds composited in.
    pub fn current(&self) -> &RgbaImage {
        &self.current
    }

    pub fn mask(&self) -> &Mask {
        &self.mask
    }

    pub fn rounds(&self) -> &[Round] {
        &self.rounds[..self.active]
    }

    /// Every round kept, the active ones first, then those undone or reverted past
    /// (`revert` or redo brings them back until a new round replaces them).
    pub fn all_rounds(&self) -> &[Round] {
        &self.rounds
    }

    pub fn bbox(&self) -> Option<NormBox> {
        self.bbox
    }

    pub fn set_box(&mut self, b: Option<NormBox>) {
        self.bbox = b;
    }

    /// Locked pixels that always keep the current image, whatever the edit mask says.
    pub fn set_protect(&mut self, protect: Option<Mask>) -> Result<()> {
        if let Some(p) = &protect {
            self.check_size(p.size())?;
        }
        self.protect = protect;
        self.rounds.iter_mut().for_each(|r| r.effective = None);
        Ok(())
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Applies a mask operation; returns the rectangle that changed.
    pub fn apply(&mut self, op: MaskOp) -> Result<Option<Rect>> {
        if let MaskOp::Paint { shape, erase } = &op {
            let Some((rect, before)) = self.mask.paint_keeping(shape, *erase)? else { return Ok(None) };
            self.push(Step::Paint { shape: shape.clone(), erase: *erase, rect, before });
            return Ok(Some(rect));
        }
        // The other operations touch the whole frame.
        let before = self.mask.clone();
        match &op {
            MaskOp::Wand { x, y, tolerance, contiguous, erase } => {
                let sel = Mask::magic_wand(self.current.as_raw(), self.size(), (*x, *y), *tolerance, *contiguous)?;
                for (m, &s) in self.mask.data_mut().iter_mut().zip(sel.data()) {
                    if s > 0 {
                        *m = if *erase { 0 } else { 255 };
                    }
                }
            }
            MaskOp::Grow { radius } => self.mask = self.mask.grow(*radius),
            MaskOp::Invert => self.mask.invert(),
            MaskOp::Clear => self.mask.clear(),
            MaskOp::Paint { .. } => {}
        }
        let rect = self.size().rect();
        self.push(Step::Mask { op, rect, before, after: self.mask.clone() });
        Ok(Some(rect))
    }

    fn push(&mut self, step: Step) {
        self.undo.push(step);
        self.redo.clear();
    }

    /// Undoes the last mask operation or round; returns false when there is none.
    pub fn undo(&mut self) -> Result<bool> {
        let Some(step) = self.undo.pop() else { return Ok(false) };
        match &step {
            Step::Mask { rect, before, .. } | Step::Paint { rect, before, .. } => {
                self.mask.put(rect.x, rect.y, before)?
            }
            Step::Rounds { from, .. } => self.set_active(*from)?,
        }
        self.redo.push(step);
        Ok(true)
    }

    pub fn redo(&mut self) -> Result<bool> {
        let Some(step) = self.redo.pop() else { return Ok(false) };
        match &step {
            Step::Mask { rect, after, .. } => self.mask.put(rect.x, rect.y, after)?,
            Step::Paint { shape, erase, .. } => {
                self.mask.paint(shape, *erase)?;
            }
            Step::Rounds { to, .. } => self.set_active(*to)?,
        }
        self.undo.push(step);
        Ok(true)
    }

    /// The mask operations so far, in order (for provenance and autosave).
    pub fn recipe(&self) -> Vec<MaskOp> {
        self.undo
            .iter()
            .filter_map(|s| match s {
                Step::Mask { op, .. } => Some(op.clone()),
                Step::Paint { shape, erase, .. } => Some(MaskOp::Paint { shape: shape.clone(), erase: *erase }),
                Step::Rounds { .. } => None,
            })
            .collect()
    }

    /// The edit region: the mask's bounds grown by the composite reach, and the box.
    fn region(&self) -> Option<Rect> {
        let from_mask = self.mask.bounds().map(|b| b.outset(self.composite.reach(), self.size()));
        let from_box = self.bbox.map(|b| b.to_rect(self.size()));
        match (from_mask, from_box) {
            (Some(a), Some(b)) => Some(a.union(b)),
            (a, b) => a.or(b),
        }
    }

    /// Plans the next round and builds the request for the proxy.
    /// The request is remembered until [`Session::accept`] takes its answer.
    pub fn request(&mut self, options: &GenerateOptions, model: &ModelProfile) -> Result<EditRequest> {
        if options.instruction.trim().is_empty() {
            return Err(Error::InvalidArgument("write an instruction first".into()));
        }
        if options.references.len() > model.max_references as usize {
            return Err(Error::InvalidArgument(format!(
                "{} takes at most {} reference images; {} were given",
                model.id,
                model.max_references,
                options.references.len()
            )));
        }
        let plan_options = PlanOptions {
            aspect_ratio: options.aspect_ratio.clone(),
            size: options.size.clone(),
            ..self.plan_options.clone()
        };
        let plan = Plan::new(self.size(), self.region(), model, &plan_options)?;
        let image = encode_png(plan.prepare(&self.current)?.as_raw(), plan.send)?;
        let mask = match self.mask.bounds() {
            None => None,
            Some(_) => {
                let inner = resize_mask_crop(&self.mask, plan.window, plan.content.size())?;
                let mut frame = Mask::new(plan.send);
                frame.put(plan.content.x, plan.content.y, &inner)?;
                Some(frame.to_png(MaskConvention::WhiteEdit)?)
            }
        };
        let png = |bytes: Vec<u8>| InlineImage { mime_type: "image/png".into(), data: BASE64.encode(bytes) };
        let request = EditRequest {
            provider: options.provider.clone(),
            model: options.model.clone(),
            instruction: options.instruction.clone(),
            keep: options.keep.clone(),
            image: png(image),
            mask: mask.map(png),
            bbox: self.bbox.map(|b| plan.normalise_box(b)).transpose()?,
            references: options.references.clone(),
            output: plan
                .aspect_ratio
                .as_ref()
                .map(|ar| OutputSpec { aspect_ratio: Some(ar.clone()), size: plan.size.clone() }),
            grounding: options.grounding,
            client_request_id: options.client_request_id.clone(),
        };
        let mut edit = self.mask.clone();
        if let Some(b) = self.bbox {
            edit.paint(&Shape::Box { r#box: b }, false)?;
        }
        let mask = edit.bounds().map(|_| edit.crop(plan.window)).transpose()?;
        self.pending =
            Some(Pending { plan, mask, instruction: options.instruction.clone(), match_tone: options.match_tone });
        Ok(request)
    }

    /// The plan of the request awaiting its answer.
    pub fn pending_plan(&self) -> Option<&Plan> {
        self.pending.as_ref().map(|p| &p.plan)
    }

    /// Takes the model's answer to the pending request: registers it, composites it through
    /// the mask (or, with no mask and no box, through the region it really changed), and
    /// records the round.
    pub fn accept(&mut self, response: &EditResponse) -> Result<RoundReport> {
        let Pending { plan, mask, instruction, match_tone: tone_wanted } =
            self.pending.take().ok_or_else(|| Error::InvalidArgument("no generation is pending".into()))?;
        let bytes = BASE64
            .decode(response.image.data.as_bytes())
            .map_err(|_| Error::Decode("the result is not valid base64".into()))?;
        let answer = decode(&bytes, &Limits::default())?;
        let mut result = plan.register(&answer)?;
        let auto_protect = mask.is_none();
        let window_mask = match mask {
            Some(m) => m,
            None => changed_region(&self.current, &result, plan.window)?,
        };
        // A new round after an undo or revert replaces the rounds that were undone, and
        // forgets the steps that pointed at them.
        self.rounds.truncate(self.active);
        let kept = self.active;
        self.undo.retain(|s| !matches!(s, Step::Rounds { from, to } if *from > kept || *to > kept));
        let options = self.composite;
        let effective = effective_window_mask(&window_mask, plan.window, self.size(), self.protect.as_ref(), options)?;
        let raw = drift(&self.current, &result, plan.window, &effective)?;
        let tone = if tone_wanted { match_tone(&self.current, &mut result, plan.window, &effective)? } else { None };
        let report = RoundReport {
            index: self.active,
            window: plan.window,
            raw,
            delivered: raw, // until composited
            options,
            auto_protect,
            tone,
            provider: response.provider.clone(),
            model: response.model.clone(),
            text: response.text.clone(),
            elapsed_ms: response.elapsed_ms,
        };
        let effective = Some((options, effective));
        self.rounds.push(Round { plan, mask: window_mask, result, effective, report, instruction });
        self.active += 1;
        let report = self.composite_round(self.active - 1)?;
        self.push(Step::Rounds { from: kept, to: kept + 1 });
        Ok(report)
    }

    /// Composites round `i` onto the current image (which must hold rounds `..i`).
    fn composite_round(&mut self, i: usize) -> Result<RoundReport> {
        let frame = self.size();
        let round = &mut self.rounds[i];
        let (window, options) = (round.plan.window, round.report.options);
        let effective = match round.effective.take() {
            Some((o, m)) if o == options => m,
            _ => effective_window_mask(&round.mask, window, frame, self.protect.as_ref(), options)?,
        };
        composite_into(&mut self.current, &round.result, window, &effective)?;
        // What was delivered is checked against the original itself, everywhere no active
        // round may have written: outside the union of their effective masks.
        self.edited.union_at(window.x, window.y, &effective)?;
        let mut delivered = drift(&self.original, &self.current, window, &self.edited)?;
        // Outside the window nothing is written at all; count those pixels as protected too.
        delivered.protected_pixels += self.size().area() - window.area();
        let round = &mut self.rounds[i];
        round.effective = Some((options, effective));
        round.report.delivered = delivered;
        Ok(round.report.clone())
    }

    /// Re-composites round `i` with other options, without a new generation.
    pub fn recomposite(&mut self, i: usize, options: CompositeOptions) -> Result<RoundReport> {
        if i >= self.active {
            return Err(Error::InvalidArgument(format!("there is no round {i}")));
        }
        self.rounds[i].report.options = options;
        self.replay()?;
        Ok(self.rounds[i].report.clone())
    }

    /// Goes back to the state after `n` rounds (0 = the original).
    /// Undoable, like any step.
    pub fn revert(&mut self, n: usize) -> Result<()> {
        if n > self.rounds.len() {
            return Err(Error::InvalidArgument(format!("there are only {} rounds", self.rounds.len())));
        }
        if n != self.active {
            self.push(Step::Rounds { from: self.active, to: n });
        }
        self.set_active(n)
    }

    fn set_active(&mut self, n: usize) -> Result<()> {
        self.active = n.min(self.rounds.len());
        self.replay()
    }

    fn replay(&mut self) -> Result<()> {
        // Only where a round may have written does the current image differ from the
        // original (the promise, checked each round): restore just those pixels.
        copy_where(&mut self.current, &self.original, &self.edited)?;
        self.edited.clear();
        for i in 0..self.active {
            self.composite_round(i)?;
        }
        Ok(())
    }

    /// Where every active round may have written: the union of their effective masks.
    pub fn edited_region(&self) -> &Mask {
        &self.edited
    }

    /// Digests of the protected region (outside every edit) in the original and in the
    /// delivered image: equal digests prove the promise.
    pub fn provenance_digests(&self) -> Result<(String, String)> {
        Ok((protected_digest(&self.original, &self.edited)?, protected_digest(&self.current, &self.edited)?))
    }

    /// The delivered image, lossless.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        encode_png(self.current.as_raw(), self.size())
    }

    pub fn to_jpeg(&self, quality: u8) -> Result<Vec<u8>> {
        encode_jpeg(self.current.as_raw(), self.size(), quality)
    }

    fn check_size(&self, got: Size) -> Result<()> {
        if got != self.size() {
            return Err(Error::SizeMismatch {
                expected: (self.size().width, self.size().height),
                actual: (got.width, got.height),
            });
        }
        Ok(())
    }
}

/// Auto-protect: the pixels of `window` that the answer really changed (colour distance
/// over a threshold), cleaned of specks and grown a little.
fn changed_region(base: &RgbaImage, result: &RgbaImage, window: Rect) -> Result<Mask> {
    const THRESHOLD: u8 = 24;
    let size = window.size();
    let mut data = Vec::with_capacity(size.area() as usize);
    for y in 0..window.height {
        for x in 0..window.width {
            let a = base.get_pixel(window.x + x, window.y + y);
            let b = result.get_pixel(x, y);
            let d = (0..4).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0);
            data.push(if d > THRESHOLD { 255 } else { 0 });
        }
    }
    let mask = Mask::from_vec(size, data).ok_or(Error::Empty)?;
    // Opening removes isolated specks of model noise; then a margin covers soft edges.
    Ok(mask.grow(-2).grow(2).grow(6))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn free_model() -> ModelProfile {
        ModelProfile {
            id: "local".into(),
            aspect_ratios: vec![],
            max_references: 0,
            max_input_side: 4096,
            max_input_bytes: 1 << 24,
            price_per_image_usd: None,
        }
    }

    fn photo() -> RgbaImage {
        RgbaImage::from_fn(80, 60, |x, y| image::Rgba([(x * 3) as u8, (y * 4) as u8, ((x * y) % 251) as u8, 255]))
    }

    /// Answers a request the way a model that redraws everything in one colour would.
    fn answer(request: &EditRequest, rgb: [u8; 3]) -> EditResponse {
        let sent = decode(&BASE64.decode(&request.image.data).unwrap(), &Limits::default()).unwrap();
        let flat = RgbaImage::from_pixel(sent.width(), sent.height(), image::Rgba([rgb[0], rgb[1], rgb[2], 255]));
        let png = encode_png(flat.as_raw(), Size { width: flat.width(), height: flat.height() }).unwrap();
        EditResponse {
            image: InlineImage { mime_type: "image/png".into(), data: BASE64.encode(png) },
            text: None,
            provider: "test".into(),
            model: "m".into(),
            finish_reason: None,
            usage: None,
            elapsed_ms: 1,
        }
    }

    fn paint_rect(s: &mut Session, x: f32, y: f32) {
        s.apply(MaskOp::Clear).unwrap();
        s.apply(MaskOp::Paint { shape: Shape::Rect { x, y, width: 10.0, height: 10.0 }, erase: false }).unwrap();
    }

    fn round(s: &mut Session, rgb: [u8; 3]) -> RoundReport {
        let options = GenerateOptions { instruction: "x".into(), ..GenerateOptions::default() };
        let req = s.request(&options, &free_model()).unwrap();
        s.accept(&answer(&req, rgb)).unwrap()
    }

    #[test]
    fn rounds_undo_redo_revert_and_recomposite() {
        let mut s = Session::from_rgba(photo());
        paint_rect(&mut s, 5.0, 5.0);
        let r1 = round(&mut s, [255, 0, 0]);
        assert!(r1.raw.changed_pixels > 0);
        assert_eq!(r1.delivered.changed_pixels, 0);
        paint_rect(&mut s, 50.0, 30.0);
        round(&mut s, [0, 0, 255]);
        assert_eq!(s.current().get_pixel(10, 10).0, [255, 0, 0, 255]);
        assert_eq!(s.current().get_pixel(55, 35).0, [0, 0, 255, 255]);
        assert_eq!(s.current().get_pixel(70, 5), photo().get_pixel(70, 5));
        // Undo the second round, then the mask ops, then redo them all.
        assert!(s.undo().unwrap());
        assert_eq!(s.current().get_pixel(55, 35), photo().get_pixel(55, 35));
        assert_eq!(s.rounds().len(), 1);
        assert!(s.redo().unwrap());
        assert_eq!(s.current().get_pixel(55, 35).0, [0, 0, 255, 255]);
        // Revert to the original: every byte is the original's.
        s.revert(0).unwrap();
        assert_eq!(s.current(), &photo());
        s.revert(2).unwrap();
        // A wider feather reaches further, without a new generation.
        let wide = s.recomposite(0, CompositeOptions { grow: 3, feather: 0 }).unwrap();
        assert_eq!(wide.delivered.changed_pixels, 0);
        assert_eq!(s.current().get_pixel(3, 10).0, [255, 0, 0, 255]);
        let (before, after) = s.provenance_digests().unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn undo_after_revert_returns_to_before_the_revert() {
        let mut s = Session::from_rgba(photo());
        paint_rect(&mut s, 5.0, 5.0);
        round(&mut s, [255, 0, 0]);
        s.revert(0).unwrap();
        assert_eq!(s.current(), &photo());
        assert!(s.undo().unwrap(), "the revert is undone");
        assert_eq!(s.current().get_pixel(10, 10).0, [255, 0, 0, 255]);
        assert!(s.undo().unwrap(), "then the round");
        assert_eq!(s.current(), &photo());
        // Revert, then a new round: the old round's steps are forgotten, undo never panics.
        assert!(s.redo().unwrap());
        s.revert(0).unwrap();
        round(&mut s, [0, 0, 255]);
        while s.undo().unwrap() {}
        assert_eq!(s.current(), &photo());
        while s.redo().unwrap() {}
        assert_eq!(s.current().get_pixel(10, 10).0, [0, 0, 255, 255]);
    }

    #[test]
    fn painting_while_waiting_does_not_change_the_pending_round() {
        let mut s = Session::from_rgba(photo());
        paint_rect(&mut s, 5.0, 5.0);
        let req = s.request(&GenerateOptions { instruction: "x".into(), ..Default::default() }, &free_model()).unwrap();
        s.apply(MaskOp::Invert).unwrap();
        s.accept(&answer(&req, [0, 255, 0])).unwrap();
        assert_eq!(s.current().get_pixel(10, 10).0, [0, 255, 0, 255]);
        assert_eq!(s.current().get_pixel(70, 50), photo().get_pixel(70, 50));
        assert!(s.accept(&answer(&req, [0, 255, 0])).is_err(), "an answer with nothing pending is refused");
    }

    #[test]
    fn mask_free_edits_protect_what_did_not_change() {
        let base = photo();
        let mut s = Session::from_rgba(base.clone());
        // Exact pixels: no tone matching (the noise below would shift the patch by a level).
        let options = GenerateOptions { instruction: "x".into(), match_tone: false, ..Default::default() };
        let req = s.request(&options, &free_model()).unwrap();
        // A model that changes one patch and adds faint noise everywhere else.
        let mut out = base.clone();
        for (x, y, p) in out.enumerate_pixels_mut() {
            if (30..45).contains(&x) && (20..35).contains(&y) {
                *p = image::Rgba([250, 250, 0, 255]);
            } else {
                p.0[0] = p.0[0].saturating_add(((x + y) % 3) as u8);
            }
        }
        let mut resp = answer(&req, [0, 0, 0]);
        resp.image.data = BASE64.encode(encode_png(out.as_raw(), Size { width: 80, height: 60 }).unwrap());
        let report = s.accept(&resp).unwrap();
        assert!(report.auto_protect);
        assert_eq!(s.current().get_pixel(37, 27).0, [250, 250, 0, 255]);
        assert_eq!(s.current().get_pixel(5, 50), base.get_pixel(5, 50), "noise far away was thrown away");
        assert!(report.raw.changed_pixels > 1000);
        assert_eq!(report.delivered.changed_pixels, 0);
    }

    #[test]
    fn protected_pixels_keep_the_original_whatever_the_mask_says() {
        let mut s = Session::from_rgba(photo());
        let mut lock = Mask::new(s.size());
        lock.paint(&Shape::Rect { x: 8.0, y: 8.0, width: 4.0, height: 4.0 }, false).unwrap();
        s.set_protect(Some(lock)).unwrap();
        s.composite = CompositeOptions { grow: 0, feather: 0 };
        paint_rect(&mut s, 5.0, 5.0);
        round(&mut s, [255, 0, 0]);
        assert_eq!(s.current().get_pixel(9, 9), photo().get_pixel(9, 9));
        assert_eq!(s.current().get_pixel(6, 6).0, [255, 0, 0, 255]);
    }

    /// Undo, redo and revert reuse each round's blend mask; a new lock or other options
    /// make it again, and the image is what a fresh composite gives.
    #[test]
    fn replays_reuse_the_blend_mask_only_while_it_is_right() {
        let mut s = Session::from_rgba(photo());
        let sharp = CompositeOptions { grow: 0, feather: 0 };
        s.composite = sharp;
        paint_rect(&mut s, 5.0, 5.0);
        round(&mut s, [255, 0, 0]);
        paint_rect(&mut s, 8.0, 30.0);
        round(&mut s, [0, 0, 255]);
        let fresh = s.current().clone();
        s.recomposite(0, CompositeOptions { grow: 4, feather: 0 }).unwrap();
        assert_eq!(s.current().get_pixel(2, 10).0, [255, 0, 0, 255], "grown by 4");
        s.recomposite(0, sharp).unwrap();
        assert_eq!(s.current(), &fresh, "back to the first options, byte for byte");
        // Locking pixels after the rounds: the next replay honours the lock.
        let mut lock = Mask::new(s.size());
        lock.paint(&Shape::Rect { x: 8.0, y: 8.0, width: 4.0, height: 4.0 }, false).unwrap();
        s.set_protect(Some(lock)).unwrap();
        s.revert(0).unwrap();
        s.revert(2).unwrap();
        assert_eq!(s.current().get_pixel(9, 9), photo().get_pixel(9, 9), "the lock holds after a replay");
        assert_eq!(s.current().get_pixel(6, 6).0, [255, 0, 0, 255]);
        assert_eq!(s.current().get_pixel(12, 34).0, [0, 0, 255, 255]);
        let (before, after) = s.provenance_digests().unwrap();
        assert_eq!(before, after);
    }

    /// A model that tints its whole answer: the tint is taken out before compositing (and
    /// reported), unless the request asked for the answer as it is.
    #[test]
    fn a_tinted_answer_is_matched_to_the_photo_unless_asked_not_to() {
        for match_tone in [true, false] {
            let mut s = Session::from_rgba(photo());
            s.composite = CompositeOptions { grow: 0, feather: 0 };
            s.apply(MaskOp::Paint { shape: Shape::Rect { x: 30.0, y: 20.0, width: 20.0, height: 20.0 }, erase: false })
                .unwrap();
            let options = GenerateOptions { instruction: "x".into(), match_tone, ..Default::default() };
            let req = s.request(&options, &free_model()).unwrap();
            let sent = decode(&BASE64.decode(&req.image.data).unwrap(), &Limits::default()).unwrap();
            let tinted = RgbaImage::from_fn(sent.width(), sent.height(), |x, y| {
                let p = sent.get_pixel(x, y);
                image::Rgba([p[0].saturating_add(10), p[1], p[2], 255])
            });
            let mut resp = answer(&req, [0, 0, 0]);
            resp.image.data = BASE64
                .encode(encode_png(tinted.as_raw(), Size { width: sent.width(), height: sent.height() }).unwrap());
            let report = s.accept(&resp).unwrap();
            assert!(report.raw.changed_pixels > 0, "the raw drift is the model's, before matching");
            assert_eq!(report.delivered.changed_pixels, 0);
            let inside = s.current().get_pixel(40, 30)[0] as i32 - photo().get_pixel(40, 30)[0] as i32;
            if match_tone {
                assert!(report.tone.is_some_and(|t| t.max > 9.0), "{:?}", report.tone);
                assert!(inside.abs() <= 1, "the tint is gone inside: {inside}");
            } else {
                assert_eq!(report.tone, None);
                assert_eq!(inside, 10, "the answer as it came");
            }
        }
    }

    #[test]
    fn too_many_references_are_refused_not_truncated() {
        let mut s = Session::from_rgba(photo());
        let img = InlineImage { mime_type: "image/png".into(), data: String::new() };
        let options = GenerateOptions { instruction: "x".into(), references: vec![img], ..Default::default() };
        let e = s.request(&options, &free_model()).unwrap_err();
        assert!(e.to_string().contains("at most 0 reference"), "{e}");
        assert!(s.request(&GenerateOptions::default(), &free_model()).is_err(), "an empty instruction");
    }
}
