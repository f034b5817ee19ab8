// The in-page half of `npm run bench`: bench/run.mjs opens bench/browser.html in headless
// Chromium and calls these functions one at a time through page.evaluate. Every timing is
// taken here, on the page's main thread (one thread), with performance.now(); each function
// returns raw samples in milliseconds and run.mjs takes the median.
import init, { Editor } from '/www/pkg/pixelkeep.js';
import createPica from '/node_modules/pica/dist/pica.min.mjs';

const MAX_SIDE = 12000;
const MAX_PIXELS = 60e6;

/** Gemini 2.5 Flash Image's ten aspect ratios at 1K (../shared/reference/provider-apis.md). */
export const GEMINI = {
  id: 'gemini-like',
  aspect_ratios: [
    ['1:1', 1024, 1024], ['2:3', 832, 1248], ['3:2', 1248, 832], ['3:4', 864, 1184], ['4:3', 1184, 864],
    ['4:5', 896, 1152], ['5:4', 1152, 896], ['9:16', 768, 1344], ['16:9', 1344, 768], ['21:9', 1536, 672],
  ].map(([ratio, width, height]) => ({ ratio, sizes: [{ name: '1K', width, height }] })),
  max_references: 3,
  max_input_side: 4096,
  max_input_bytes: 2e7,
};

/** A model that takes any aspect ratio at up to 8192 px: the window is sent as it is. */
export const FREE = { id: 'free', aspect_ratios: [], max_references: 0, max_input_side: 8192, max_input_bytes: 4e8 };

const OPTIONS = { provider: 'gemini', instruction: 'x' };

let wasm; // the module's exports; wasm.memory is its WebAssembly.Memory
const inputs = {}; // name -> { bytes, width, height }
let editor = null; // the Editor the current group of measurements works on
let rgba = null; // that editor's pixels, for pica

const status = (text) => { document.getElementById('status').textContent = text; };
const now = () => performance.now();
const mb = () => wasm.memory.buffer.byteLength / (1 << 20);

async function ready() {
  wasm = await init({ module_or_path: '/www/pkg/pixelkeep_bg.wasm' });
  status('ready');
  return { memoryMb: mb(), simd: WebAssembly.validate(SIMD_PROBE) };
}

// (module (func (result v128) (v128.const i32x4 0 0 0 0))): validates only where wasm SIMD exists.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);

async function fixtureBitmap(name) {
  const res = await fetch(`/fixtures/${name}`);
  if (!res.ok) throw new Error(`fixture ${name}: HTTP ${res.status}`);
  return createImageBitmap(await res.blob());
}

/** Draws a fixture scaled to width x height (a CSS filter optional) onto a canvas. */
async function drawScaled(fixture, width, height, filter = 'none') {
  const bitmap = await fixtureBitmap(fixture);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.filter = filter;
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return canvas;
}

/** Makes a large photo at run time: a fixture upscaled and encoded (JPEG, as cameras write). */
async function makeInput(name, fixture, width, height, type = 'image/jpeg', quality = 0.92) {
  const canvas = await drawScaled(fixture, width, height);
  const blob = await canvas.convertToBlob({ type, quality });
  inputs[name] = { bytes: new Uint8Array(await blob.arrayBuffer()), width, height };
  canvas.width = canvas.height = 1;
  return { bytes: blob.size };
}

/** Opens an Editor on an input (timed: this is the decode), and keeps it for what follows. */
function open(name) {
  editor?.free();
  rgba = null;
  const t = now();
  editor = new Editor(inputs[name].bytes, MAX_SIDE, MAX_PIXELS);
  const ms = now() - t;
  if (editor.width !== inputs[name].width || editor.height !== inputs[name].height) {
    throw new Error(`decoded ${editor.width}x${editor.height}, expected ${inputs[name].width}x${inputs[name].height}`);
  }
  return { ms, memoryMb: mb() };
}

/** Runs fn warmup + runs times (between(), untimed, after each); returns the timed samples. */
async function sample(fn, { runs, warmup = 1, between = () => {} }) {
  const out = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t = now();
    await fn(i);
    const ms = now() - t;
    if (i >= warmup) out.push(ms);
    await between(i);
    // Let the page breathe (GC, the driver's messages) outside the timed part.
    await new Promise((r) => setTimeout(r, 0));
  }
  return out;
}

// ---------- shapes ----------

/** A 1000-point wave from the left edge to the right, twice up and down the frame. */
function wave(width, height, n = 1000) {
  const pts = [];
  for (let i = 0; i < n; i++) {
    const t = i / (n - 1);
    pts.push([width * (0.025 + 0.95 * t), height * (0.5 + 0.4 * Math.sin(4 * Math.PI * t))]);
  }
  return pts;
}

/** A 200-point star-like blob covering most of the frame. */
function star(width, height, n = 200) {
  const pts = [];
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / n;
    const f = 0.82 + 0.16 * Math.cos(10 * a);
    pts.push([width / 2 + 0.49 * width * f * Math.cos(a), height / 2 + 0.49 * height * f * Math.sin(a)]);
  }
  return pts;
}

const paint = (shape) => ({ op: 'paint', shape });

// ---------- measurements ----------

/** pixelkeep: Lanczos3 resize of the whole image to a 2048 long edge (RGBA out). */
function resize({ runs }) {
  let out;
  const samples = sample(() => { out = editor.preview(2048); }, { runs });
  return samples.then((ms) => ({ ms, bytes: out.length }));
}

/** pica (lanczos3, js+wasm, no workers) on the same RGBA, to the same size. */
async function resizePica({ runs, mode = 'buffer' }) {
  const p = createPica({ features: ['js', 'wasm'], concurrency: 1 });
  const w = editor.width, h = editor.height;
  const scale = 2048 / Math.max(w, h);
  const tw = Math.round(w * scale), th = Math.round(h * scale);
  rgba ??= editor.rgba();
  if (mode === 'buffer') {
    // RGBA in, RGBA out: the same shape of work as Editor.preview.
    let out;
    const ms = await sample(async () => {
      out = await p.resizeBuffer({ src: rgba, width: w, height: h, toWidth: tw, toHeight: th, filter: 'lanczos3' });
    }, { runs });
    return { ms, bytes: out.length, features: p.features ?? null };
  }
  // Canvas to canvas (pica's main API: tiled, getImageData/putImageData per tile).
  const src = new OffscreenCanvas(w, h);
  src.getContext('2d', { willReadFrequently: true }).putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), w, h), 0, 0);
  const dst = new OffscreenCanvas(tw, th);
  const ms = await sample(() => p.resize(src, dst, { filter: 'lanczos3' }), { runs });
  src.width = src.height = 1;
  return { ms };
}

/**
 * pixelkeep and pica (resizeBuffer) alternately, run for run, so that whatever else the machine
 * is doing slows both alike: the speed-up is the ratio of the medians.
 */
async function resizeAB({ runs }) {
  const p = createPica({ features: ['js', 'wasm'], concurrency: 1 });
  const w = editor.width, h = editor.height;
  const scale = 2048 / Math.max(w, h);
  const tw = Math.round(w * scale), th = Math.round(h * scale);
  rgba ??= editor.rgba();
  const ours = [], theirs = [];
  let a, b;
  for (let i = 0; i <= runs; i++) { // run 0 is the warm-up of both
    let t = now();
    a = editor.preview(2048);
    const ms = now() - t;
    await new Promise((r) => setTimeout(r, 0));
    t = now();
    b = await p.resizeBuffer({ src: rgba, width: w, height: h, toWidth: tw, toHeight: th, filter: 'lanczos3' });
    const pms = now() - t;
    await new Promise((r) => setTimeout(r, 0));
    if (i > 0) { ours.push(ms); theirs.push(pms); }
  }
  if (a.length !== b.length) throw new Error(`pixelkeep gave ${a.length} bytes, pica ${b.length}`);
  // How close the two Lanczos3 results are (mean absolute difference per channel).
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
  return { ours, theirs, meanAbsDiff: diff / a.length };
}

/** A 1000-point, 40 px brush stroke across the frame into the full-resolution mask. */
function stroke({ runs }) {
  const shape = { kind: 'stroke', points: wave(editor.width, editor.height), width: 40 };
  let rect;
  return sample(() => { rect = editor.apply(paint(shape)); }, { runs, between: () => editor.undo() })
    .then((ms) => ({ ms, rect }));
}

/** Canvas2D strokes the same path on a canvas of the same size and reads the pixels back. */
function strokeCanvas({ runs }) {
  const w = editor.width, h = editor.height;
  const points = wave(w, h);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  let data;
  return sample(() => {
    ctx.clearRect(0, 0, w, h);
    ctx.lineWidth = 40;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = '#fff';
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    for (const [x, y] of points.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
    data = ctx.getImageData(0, 0, w, h).data;
  }, { runs }).then((ms) => {
    canvas.width = canvas.height = 1;
    return { ms, bytes: data.length };
  });
}

/** A 200-point lasso (polygon fill) covering most of the frame. */
function lasso({ runs }) {
  const shape = { kind: 'polygon', points: star(editor.width, editor.height) };
  let rect;
  return sample(() => { rect = editor.apply(paint(shape)); }, { runs, between: () => editor.undo() })
    .then((ms) => ({ ms, rect }));
}

/** Anchor: Canvas2D filling the same polygon on a 6000x4000 canvas and reading it back. */
function lassoCanvas({ runs }) {
  const w = editor.width, h = editor.height;
  const points = star(w, h);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return sample(() => {
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    points.forEach(([x, y]) => ctx.lineTo(x, y));
    ctx.fill();
    ctx.getImageData(0, 0, w, h);
  }, { runs }).then((ms) => { canvas.width = canvas.height = 1; return { ms }; });
}

/**
 * Anchor: Canvas2D's `blur()` filter over the same ellipse, read back. Our feather of radius 64
 * is three box passes of radius 21, a Gaussian of sigma about 21.5 px: blur(21.5px).
 */
function featherCanvas({ runs }) {
  const w = editor.width, h = editor.height;
  const mask = new OffscreenCanvas(w, h);
  const m = mask.getContext('2d');
  m.fillStyle = '#fff';
  m.beginPath();
  m.ellipse(w / 2, h / 2, 0.37 * w, 0.37 * h, 0, 0, 2 * Math.PI);
  m.fill();
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return sample(() => {
    ctx.clearRect(0, 0, w, h);
    ctx.filter = 'blur(21.5px)';
    ctx.drawImage(mask, 0, 0);
    ctx.getImageData(0, 0, w, h);
  }, { runs }).then((ms) => { canvas.width = canvas.height = mask.width = mask.height = 1; return { ms }; });
}

/** effectiveMaskBounds(0, 64) on a large ellipse mask: feather radius 64, then the bounds. */
async function feather({ runs }) {
  const w = editor.width, h = editor.height;
  editor.apply({ op: 'clear' });
  editor.apply(paint({ kind: 'ellipse', cx: w / 2, cy: h / 2, rx: 0.37 * w, ry: 0.37 * h }));
  let bounds;
  const ms = await sample(() => { bounds = editor.effectiveMaskBounds(0, 64); }, { runs });
  // Reference point: the same call without feathering (grow 0, feather 0 = a copy and the bounds scan).
  const plain = await sample(() => editor.effectiveMaskBounds(0, 0), { runs });
  editor.apply({ op: 'clear' });
  return { ms, plain, bounds };
}

/** Base64 of bytes, through the browser's own encoder. */
async function base64(bytes, type) {
  const url = await new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(new Blob([bytes], { type }));
  });
  return url.slice(url.indexOf(',') + 1);
}

/**
 * A "model answer" for the pending request: the image it sends, recoloured, as PNG (what the
 * providers return), wrapped in the proxy's answer JSON.
 */
async function answerFor(requestJson, fixture = null) {
  const req = JSON.parse(requestJson);
  const sent = Uint8Array.from(atob(req.image.data), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([sent], { type: 'image/png' }));
  const { width, height } = bitmap;
  let canvas;
  if (fixture) {
    bitmap.close();
    canvas = await drawScaled(fixture, width, height, 'hue-rotate(140deg)');
  } else {
    canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    ctx.filter = 'hue-rotate(140deg) saturate(1.4)';
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
  }
  const png = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
  canvas.width = canvas.height = 1;
  const json = JSON.stringify({
    image: { mime_type: 'image/png', data: await base64(png, 'image/png') },
    text: null, provider: 'bench', model: 'bench', elapsed_ms: 0,
  });
  return { json, png, width, height };
}

/**
 * The composite of a full-frame result. The mask is the full-frame lasso; the model takes any
 * aspect at up to 8192 px, so the plan's window is the whole frame and the answer is full size.
 * Times Editor.accept (decode PNG + register + composite + drift); Editor.recomposite with
 * the same options (what undo, redo and revert do for each round: restore, blend, both drift
 * reports, with the round's blend mask kept) and with another feather (the blend mask made
 * again); and decoding the same PNG alone.
 */
async function composite({ runs }) {
  const w = editor.width, h = editor.height;
  editor.apply({ op: 'clear' });
  editor.apply(paint({ kind: 'polygon', points: star(w, h) }));
  const first = editor.request(OPTIONS, FREE);
  const answer = await answerFor(first);
  if (answer.width !== w || answer.height !== h) throw new Error(`the plan sent ${answer.width}x${answer.height}, not the full frame`);
  let report;
  let pending = true; // the first request is still pending
  const accept = await sample(() => { report = editor.accept(answer.json); pending = false; }, {
    runs,
    between: () => {
      editor.undo(); // back to the original (replays zero rounds)
      editor.request(OPTIONS, FREE); // a new pending request (encodes a 24 MP PNG: untimed)
      pending = true;
    },
  });
  if (pending) editor.accept(answer.json);
  const win = report.window;
  if (win.x !== 0 || win.y !== 0 || win.width !== w || win.height !== h) throw new Error(`window ${JSON.stringify(win)} is not the full frame`);
  editor.recomposite(0, 0, 4); // the blend mask for these options, as accept left it
  const recomposite = await sample(() => { editor.recomposite(0, 0, 4); }, { runs });
  // Another feather every run: the blend mask is grown and feathered again each time.
  let feather = 4;
  const refeather = await sample(() => { feather = feather === 4 ? 5 : 4; editor.recomposite(0, 0, feather); }, { runs });
  const decode = await sample(() => { new Editor(answer.png, MAX_SIDE, MAX_PIXELS).free(); }, { runs: Math.min(runs, 3) });
  const canvas = await compositeCanvas(answer.png, { runs });
  editor.revert(0);
  editor.apply({ op: 'clear' });
  return {
    accept, recomposite, refeather, decode, canvas, window: win, pngBytes: answer.png.length, jsonBytes: answer.json.length,
    delivered: report.delivered, raw: report.raw,
  };
}

/**
 * Anchor: how a Canvas2D editor composites the same answer: the answer cut by the lasso
 * (destination-in with a feathered alpha mask) drawn over the original, then read back.
 * Decoding and the mask are set up untimed.
 */
async function compositeCanvas(answerPng, { runs }) {
  const w = editor.width, h = editor.height;
  const [original, answer] = await Promise.all([
    createImageBitmap(new Blob([inputs.photo24.bytes])), createImageBitmap(new Blob([answerPng], { type: 'image/png' })),
  ]);
  const mask = new OffscreenCanvas(w, h);
  const m = mask.getContext('2d');
  m.filter = 'blur(2px)';
  m.beginPath();
  star(w, h).forEach(([x, y]) => m.lineTo(x, y));
  m.fill();
  const cut = new OffscreenCanvas(w, h);
  const c = cut.getContext('2d');
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const ms = await sample(() => {
    c.globalCompositeOperation = 'copy';
    c.drawImage(answer, 0, 0);
    c.globalCompositeOperation = 'destination-in';
    c.drawImage(mask, 0, 0);
    ctx.globalCompositeOperation = 'copy';
    ctx.drawImage(original, 0, 0);
    ctx.globalCompositeOperation = 'source-over';
    ctx.drawImage(cut, 0, 0);
    ctx.getImageData(0, 0, w, h);
  }, { runs });
  original.close();
  answer.close();
  canvas.width = canvas.height = cut.width = cut.height = mask.width = mask.height = 1;
  return ms;
}

/** The whole prepare step (plan, crop, resize, encode image and mask, JSON) for Gemini. */
async function prepare({ runs, shape = 'star' }) {
  const w = editor.width, h = editor.height;
  editor.apply({ op: 'clear' });
  if (shape === 'star') editor.apply(paint({ kind: 'polygon', points: star(w, h) }));
  if (shape === 'stroke') editor.apply(paint({ kind: 'stroke', points: wave(w, h).slice(0, 200), width: 40 }));
  let body;
  const ms = await sample(() => { body = editor.request(OPTIONS, GEMINI); }, { runs });
  const req = JSON.parse(body);
  // Settle the pending request so the editor is clean for what follows.
  editor.apply({ op: 'clear' });
  return { ms, bytes: body.length, output: req.output ?? null, hasMask: !!req.mask };
}

/**
 * Peak wasm memory while editing a 50 MP photo, in a fresh page: decode, a brush stroke,
 * prepare for Gemini, accept an answer at the size sent. Wasm memory never shrinks, so its
 * size after each step is the peak so far.
 */
async function memoryRound(name) {
  const steps = { init: mb() };
  const t0 = now();
  editor = new Editor(inputs[name].bytes, MAX_SIDE, MAX_PIXELS);
  steps.decodeMs = now() - t0;
  steps.decode = mb();
  const w = editor.width, h = editor.height;
  editor.apply(paint({ kind: 'stroke', points: wave(w, h), width: 40 }));
  steps.stroke = mb();
  const body = editor.request(OPTIONS, GEMINI);
  steps.prepare = mb();
  const answer = await answerFor(body, 'rocket.jpg');
  const report = editor.accept(answer.json);
  steps.accept = mb();
  steps.answer = `${answer.width}x${answer.height}`;
  steps.window = report.window;
  steps.peak = mb();
  return steps;
}

// For `node bench/run.mjs --profile fullFrameRound,recompositeLoop` and the like.
async function fullFrameRound() {
  const w = editor.width, h = editor.height;
  editor.apply({ op: 'clear' });
  editor.apply(paint({ kind: 'polygon', points: star(w, h) }));
  const answer = await answerFor(editor.request(OPTIONS, FREE));
  editor.accept(answer.json);
  return {};
}
const recompositeLoop = ({ runs }) => sample(() => editor.recomposite(0, 0, 4), { runs });
let refeatherWith = 4;
const refeatherLoop = ({ runs }) => sample(() => editor.recomposite(0, 0, (refeatherWith = 9 - refeatherWith)), { runs });
async function ellipseMask() {
  const w = editor.width, h = editor.height;
  editor.apply({ op: 'clear' });
  editor.apply(paint({ kind: 'ellipse', cx: w / 2, cy: h / 2, rx: 0.37 * w, ry: 0.37 * h }));
  return {};
}
const featherLoop = ({ runs }) => sample(() => editor.effectiveMaskBounds(0, 64), { runs });

window.bench = {
  fullFrameRound, recompositeLoop, refeatherLoop, ellipseMask, featherLoop,
  ready, makeInput, open, resize, resizePica, resizeAB, stroke, strokeCanvas, lasso, lassoCanvas, feather, featherCanvas, composite, prepare, memoryRound,
  memoryMb: mb,
};
