// <pixelkeep-editor>: the embeddable editor. DOM and input live here; every pixel
// operation runs in a worker that owns the wasm core (pixelkeep-worker.js).

const STRINGS = {
  brush: 'Brush', eraser: 'Eraser', lasso: 'Lasso', rect: 'Rectangle', ellipse: 'Ellipse',
  box: 'Box', wand: 'Magic wand', pan: 'Pan', size: 'Brush size', undo: 'Undo', redo: 'Redo',
  clear: 'Clear mask', invert: 'Invert mask', open: 'Open photo', download: 'Download',
  fit: 'Fit', actual: '100%', instruction: 'What should change?', keep: 'Keep unchanged (comma separated)',
  provider: 'Provider', generate: 'Generate', cancel: 'Cancel', drop: 'Drop a photo here or open one',
  preparing: 'Preparing', waiting: 'Waiting for the model', compositing: 'Compositing',
  done: 'Done', loading: 'Loading', ready: 'Ready', rounds: 'Rounds', original: 'Original',
  workerDied: 'The editor stopped unexpectedly. Reload the page to continue.',
  drift: (r) => `Model changed ${r.raw.changed_pixels.toLocaleString()} protected pixels; delivered changed ${r.delivered.changed_pixels}.`,
  errors: {
    unsupported_instruction: (m) => m,
    safety_blocked: (m) => `The provider refused this edit for safety reasons. ${m}`,
    rate_limited: (m, s) => (s ? `Too many edits right now. Try again in ${s} seconds.` : `Too many edits right now. ${m}`),
    payload_too_large: (m) => `The image is too large to send. ${m}`,
    aborted: () => 'Cancelled.',
    network: (m) => m,
  },
};

const TOOLS = ['brush', 'eraser', 'lasso', 'rect', 'ellipse', 'box', 'wand', 'pan'];
const PREVIEW_EDGE = 2048;

const TEMPLATE = `
<style>
  :host { display: block; font: 14px/1.4 system-ui, sans-serif; color: var(--pk-fg, #1d1d1f);
    background: var(--pk-bg, #fff); border: 1px solid var(--pk-border, #d0d0d7); border-radius: 8px; overflow: hidden; }
  @media (prefers-color-scheme: dark) { :host { --pk-fg: #ececf1; --pk-bg: #1c1c21; --pk-border: #3a3a44; --pk-panel: #26262d; } }
  .bar, .prompt { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 8px; background: var(--pk-panel, #f5f5f7); }
  button, select, input, textarea { font: inherit; color: inherit; background: var(--pk-bg, #fff); border: 1px solid var(--pk-border, #d0d0d7); border-radius: 6px; padding: 4px 8px; }
  button[aria-pressed="true"] { background: var(--pk-accent, #3451d1); color: #fff; }
  button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 2px solid var(--pk-accent, #3451d1); outline-offset: 1px; }
  .stage { position: relative; height: var(--pk-height, 480px); background: repeating-conic-gradient(#8882 0 25%, transparent 0 50%) 0 0 / 16px 16px; touch-action: none; overflow: hidden; }
  .stage canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
  .drop { position: absolute; inset: 0; display: grid; place-items: center; pointer-events: none; opacity: .7; }
  .drop[hidden] { display: none; }
  .prompt textarea { flex: 1 1 240px; min-height: 2.4em; }
  .prompt input[name=keep] { flex: 1 1 160px; }
  .status { padding: 4px 8px; min-height: 1.4em; }
  .error { padding: 4px 8px; color: var(--pk-error, #b00020); }
  .error:empty { display: none; }
  .rounds { display: flex; gap: 6px; padding: 0 8px 8px; overflow-x: auto; }
  .rounds button { font-size: 12px; }
  @media (prefers-reduced-motion: reduce) { * { transition: none !important; } }
</style>
<div class="bar" role="toolbar">
  <span class="tools"></span>
  <label>%size% <input name="size" type="range" min="1" max="500" value="40"></label>
  <button name="undo">%undo%</button><button name="redo">%redo%</button>
  <button name="clear">%clear%</button><button name="invert">%invert%</button>
  <button name="fit">%fit%</button><button name="actual">%actual%</button>
  <button name="open">%open%</button><button name="download">%download%</button>
  <input name="file" type="file" accept="image/png,image/jpeg,image/webp" hidden>
</div>
<div class="stage"><canvas class="image"></canvas><canvas class="overlay"></canvas><div class="drop">%drop%</div></div>
<div class="prompt">
  <textarea name="instruction" aria-label="%instruction%" placeholder="%instruction%"></textarea>
  <input name="keep" aria-label="%keep%" placeholder="%keep%">
  <label>%provider% <select name="provider"><option value="local">local</option></select></label>
  <button name="generate">%generate%</button><button name="cancel" hidden>%cancel%</button>
</div>
<div class="status" role="status" aria-live="polite"></div>
<div class="error" role="alert"></div>
<div class="rounds" aria-label="%rounds%"></div>`;

export class PixelkeepEditor extends HTMLElement {
  static observedAttributes = ['src', 'endpoint', 'provider', 'model', 'wasm-url'];

  #worker = null;
  #calls = new Map();
  #nextId = 1;
  #size = null; // {width, height} of the loaded image
  #view = { scale: 1, x: 0, y: 0 };
  #bitmaps = { image: null, mask: null };
  #tool = 'brush';
  #brushSize = 40;
  #strings = STRINGS;
  #pointers = new Map();
  #gesture = null;
  #generation = null;
  #rounds = [];
  #spaceHeld = false;

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
  }

  // ----- attributes mirrored by properties
  get endpoint() { return this.getAttribute('endpoint') ?? '/api'; }
  set endpoint(v) { this.setAttribute('endpoint', v); }
  get src() { return this.getAttribute('src'); }
  set src(v) { this.setAttribute('src', v); }
  get provider() { return this.getAttribute('provider') ?? 'local'; }
  set provider(v) { this.setAttribute('provider', v); }
  get model() { return this.getAttribute('model'); }
  set model(v) { v == null ? this.removeAttribute('model') : this.setAttribute('model', v); }
  get wasmUrl() { return this.getAttribute('wasm-url') ?? new URL('./pkg/pixelkeep_bg.wasm', import.meta.url).href; }
  set wasmUrl(v) { this.setAttribute('wasm-url', v); }
  get locale() { return this.#strings; }
  set locale(v) { this.#strings = { ...STRINGS, ...v, errors: { ...STRINGS.errors, ...(v?.errors ?? {}) } }; if (this.isConnected) this.#render(); }
  get tool() { return this.#tool; }
  set tool(t) {
    if (!TOOLS.includes(t)) throw new RangeError(`unknown tool ${t}; one of ${TOOLS.join(', ')}`);
    this.#tool = t;
    this.#syncToolbar();
  }
  get brushSize() { return this.#brushSize; }
  set brushSize(v) {
    this.#brushSize = Math.max(1, Math.min(500, Math.round(Number(v) || 1)));
    const input = this.#$('input[name=size]');
    if (input) input.value = this.#brushSize;
  }
  get rounds() { return this.#rounds.slice(); }
  get imageSize() { return this.#size && { ...this.#size }; }

  connectedCallback() {
    this.#render();
    this.#startWorker();
    if (this.src) this.load(this.src).catch(() => {});
  }

  disconnectedCallback() {
    this.#worker?.terminate();
    this.#worker = null;
    for (const { reject } of this.#calls.values()) reject(coded('aborted', 'The editor was removed.'));
    this.#calls.clear();
  }

  attributeChangedCallback(name, old, value) {
    if (name === 'src' && value && old !== value && this.#worker) this.load(value).catch(() => {});
    if (name === 'provider' && this.isConnected) this.#$('select[name=provider]').value = value;
  }

  // ----- programmatic API
  async load(source) {
    this.#status(this.#strings.loading);
    try {
      const bytes = await readSource(source);
      const size = await this.#call('load', { bytes }, [bytes]);
      this.#size = size;
      this.#rounds = [];
      this.#renderRounds();
      this.#fit();
      await this.#refresh(true);
      this.#$('.drop').hidden = true;
      this.#status(`${size.width} × ${size.height}`);
      this.#emit('change', { reason: 'load', ...size });
      return size;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  addStroke(points, { width = this.#brushSize, erase = false } = {}) {
    const pts = points.map((p) => (p.length > 2 ? [p[0], p[1], p[2]] : [p[0], p[1]]));
    return this.#mask({ op: 'paint', shape: { kind: 'stroke', points: pts, width }, erase });
  }

  addShape(shape, { erase = false } = {}) {
    if (shape.kind === 'box') return this.setBox(shape.box);
    return this.#mask({ op: 'paint', shape, erase });
  }

  async setBox(box) {
    const result = await this.#call('setBox', { box });
    this.#box = result;
    await this.#refresh(false);
    this.#emit('change', { reason: 'box', box: result });
    return result;
  }

  clearMask() { return this.#mask({ op: 'clear' }); }
  invertMask() { return this.#mask({ op: 'invert' }); }
  growMask(radius) { return this.#mask({ op: 'grow', radius }); }
  selectSimilar(x, y, { tolerance = 24, contiguous = true, erase = false } = {}) {
    return this.#mask({ op: 'wand', x: Math.floor(x), y: Math.floor(y), tolerance, contiguous, erase });
  }

  async undo() { const done = await this.#call('undo'); await this.#afterHistory('undo'); return done; }
  async redo() { const done = await this.#call('redo'); await this.#afterHistory('redo'); return done; }

  maskBlob({ convention = 'white-edit' } = {}) { return this.#call('maskPng', { convention }); }

  async generate({ instruction, keep = [], references = [], provider = this.provider, model = this.model,
    aspectRatio, size, grounding = false, signal } = {}) {
    const started = performance.now();
    const options = { instruction: instruction ?? this.#$('textarea[name=instruction]').value, keep, references,
      provider, model: model ?? undefined, aspect_ratio: aspectRatio, size, grounding,
      client_request_id: crypto.randomUUID?.() };
    this.#generation = { id: 0, started };
    this.#$('button[name=generate]').disabled = true;
    this.#$('button[name=cancel]').hidden = false;
    this.#error('');
    const onAbort = () => this.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    const ticker = setInterval(() => this.#tick(), 250);
    this.#emit('generate', { instruction: options.instruction, provider });
    try {
      this.#generation.id = this.#nextId; // the id the next call gets: cancel targets it
      const report = await this.#call('generate', { endpoint: this.endpoint, options });
      this.#rounds.push(report);
      this.#renderRounds();
      await this.#refresh(true);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      this.#status(`${this.#strings.done} (${seconds} s). ${this.#strings.drift(report)}`);
      this.#emit('result', report);
      return report;
    } catch (e) {
      throw this.#fail(e);
    } finally {
      clearInterval(ticker);
      signal?.removeEventListener('abort', onAbort);
      this.#generation = null;
      this.#$('button[name=generate]').disabled = false;
      this.#$('button[name=cancel]').hidden = true;
    }
  }

  cancel() {
    if (this.#generation) this.#call('cancel', { target: this.#generation.id });
  }

  async revert(n) {
    await this.#call('revert', { n });
    this.#rounds = await this.#call('rounds');
    this.#renderRounds();
    await this.#refresh(true);
    this.#emit('change', { reason: 'revert', rounds: n });
  }

  async recomposite(round, { grow = 0, feather = 4 } = {}) {
    const report = await this.#call('recomposite', { round, grow, feather });
    this.#rounds = await this.#call('rounds');
    await this.#refresh(true);
    return report;
  }

  toBlob(type = 'image/png', quality = 0.92) { return this.#call('encode', { type, quality }); }

  async save({ type = 'image/png', quality = 0.92 } = {}) {
    const blob = await this.toBlob(type, quality);
    const provenance = await this.#call('provenance');
    this.#emit('save', { blob, type, provenance });
    return { blob, provenance };
  }

  // ----- worker plumbing
  #startWorker() {
    if (this.#worker) return;
    this.#worker = new Worker(new URL('./pixelkeep-worker.js', import.meta.url), { type: 'module' });
    this.#worker.onmessage = ({ data }) => {
      const call = this.#calls.get(data.id);
      if (!call) return;
      if (data.progress) { this.#stage = data.progress; this.#tick(); return; }
      this.#calls.delete(data.id);
      if (data.error) call.reject(coded(data.error.code, data.error.message, data.error.retryAfter));
      else call.resolve(data.result);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault?.();
      const e = coded('worker_died', this.#strings.workerDied);
      for (const { reject } of this.#calls.values()) reject(e);
      this.#calls.clear();
      this.#worker = null;
      this.#fail(e);
    };
    this.#call('init', { wasmUrl: this.wasmUrl })
      .then(() => this.#emit('ready', { version: 1 }))
      .catch((e) => this.#fail(e));
  }

  #call(method, args, transfer = []) {
    if (!this.#worker) this.#startWorker();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args }, transfer);
    });
  }

  async #mask(op) {
    const rect = await this.#call('apply', { op });
    await this.#refresh(false);
    this.#emit('change', { reason: 'mask', op: op.op, rect });
    return rect;
  }

  async #afterHistory(reason) {
    this.#rounds = await this.#call('rounds');
    this.#renderRounds();
    await this.#refresh(true);
    this.#emit('change', { reason });
  }

  async #refresh(withImage) {
    if (!this.#size) return;
    const out = await this.#call('view', { maxEdge: PREVIEW_EDGE, image: withImage });
    if (out.image) { this.#bitmaps.image?.close(); this.#bitmaps.image = out.image; }
    this.#bitmaps.mask?.close();
    this.#bitmaps.mask = out.mask;
    this.#draw();
  }

  // ----- UI
  #box = null;
  #stage = '';
  #live = null; // the shape being drawn, in image pixels

  #$(sel) { return this.shadowRoot.querySelector(sel); }

  #render() {
    const s = this.#strings;
    this.shadowRoot.innerHTML = TEMPLATE.replace(/%(\w+)%/g, (_, k) => escapeHtml(s[k] ?? k));
    const tools = this.#$('.tools');
    for (const t of TOOLS) {
      const b = document.createElement('button');
      b.textContent = s[t];
      b.dataset.tool = t;
      b.setAttribute('aria-pressed', String(t === this.#tool));
      b.onclick = () => { this.tool = t; };
      tools.append(b);
    }
    const on = (name, fn) => { this.#$(`[name=${name}]`).onclick = fn; };
    const report = (p) => p.catch((e) => this.#fail(e));
    on('undo', () => report(this.undo()));
    on('redo', () => report(this.redo()));
    on('clear', () => report(this.clearMask()));
    on('invert', () => report(this.invertMask()));
    on('fit', () => { this.#fit(); this.#draw(); });
    on('actual', () => { this.#zoomTo(1); });
    on('open', () => this.#$('input[name=file]').click());
    on('download', () => report(this.#download()));
    on('generate', () => report(this.generate({ keep: this.#keepList() })));
    on('cancel', () => this.cancel());
    this.#$('input[name=file]').onchange = (e) => { const f = e.target.files[0]; if (f) report(this.load(f)); };
    this.#$('input[name=size]').oninput = (e) => { this.brushSize = e.target.value; };
    this.#$('select[name=provider]').onchange = (e) => { this.provider = e.target.value; };
    this.#$('select[name=provider]').value = this.provider;
    const stage = this.#$('.stage');
    stage.addEventListener('dragover', (e) => e.preventDefault());
    stage.addEventListener('drop', (e) => {
      e.preventDefault();
      const f = e.dataTransfer.files[0];
      if (f) report(this.load(f));
    });
    const overlay = this.#$('canvas.overlay');
    overlay.addEventListener('pointerdown', (e) => this.#down(e));
    overlay.addEventListener('pointermove', (e) => this.#move(e));
    overlay.addEventListener('pointerup', (e) => this.#up(e));
    overlay.addEventListener('pointercancel', (e) => this.#up(e, true));
    overlay.addEventListener('wheel', (e) => this.#wheel(e), { passive: false });
    this.tabIndex = 0;
    this.addEventListener('keydown', (e) => this.#key(e, true));
    this.addEventListener('keyup', (e) => this.#key(e, false));
    new ResizeObserver(() => this.#draw()).observe(stage);
    this.#loadProviders();
  }

  async #loadProviders() {
    try {
      const list = await this.#call('providers', { endpoint: this.endpoint });
      const select = this.#$('select[name=provider]');
      select.replaceChildren(...list.map((p) => new Option(p.label, p.id)));
      select.value = list.some((p) => p.id === this.provider) ? this.provider : list[0]?.id;
    } catch { /* the proxy may come later; generate reports it then */ }
  }

  #keepList() {
    return this.#$('input[name=keep]').value.split(',').map((s) => s.trim()).filter(Boolean);
  }

  #syncToolbar() {
    for (const b of this.shadowRoot.querySelectorAll('[data-tool]')) b.setAttribute('aria-pressed', String(b.dataset.tool === this.#tool));
  }

  #status(text) { const el = this.#$('.status'); if (el) el.textContent = text; }

  #error(text) { const el = this.#$('.error'); if (el) el.textContent = text; }

  #tick() {
    if (!this.#generation) return;
    const seconds = ((performance.now() - this.#generation.started) / 1000).toFixed(1);
    this.#status(`${this.#strings[this.#stage] ?? this.#stage}… ${seconds} s`);
  }

  #fail(e) {
    const err = e instanceof Error ? e : coded('internal', String(e));
    const explain = this.#strings.errors[err.code];
    this.#error(explain ? explain(err.message, err.retryAfter) : err.message);
    this.#status('');
    this.#emit('error', { code: err.code ?? 'internal', message: err.message, retryAfter: err.retryAfter });
    return err;
  }

  #emit(name, detail) {
    this.dispatchEvent(new CustomEvent(`pixelkeep-${name}`, { detail, bubbles: true, composed: true }));
  }

  #renderRounds() {
    const strip = this.#$('.rounds');
    if (!strip) return;
    const original = document.createElement('button');
    original.textContent = this.#strings.original;
    original.onclick = () => this.revert(0).catch((e) => this.#fail(e));
    strip.replaceChildren(original, ...this.#rounds.map((r, i) => {
      const b = document.createElement('button');
      b.textContent = `${i + 1}`;
      b.title = this.#strings.drift(r);
      b.onclick = () => this.revert(i + 1).catch((e) => this.#fail(e));
      return b;
    }));
  }

  async #download() {
    const blob = await this.toBlob('image/png');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'pixelkeep.png';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    this.save().catch(() => {});
  }

  // ----- view: image pixels <-> screen
  #fit() {
    const stage = this.#$('.stage');
    if (!this.#size || !stage) return;
    const { clientWidth: w, clientHeight: h } = stage;
    const scale = Math.min(w / this.#size.width, h / this.#size.height) || 1;
    this.#view = { scale, x: (w - this.#size.width * scale) / 2, y: (h - this.#size.height * scale) / 2 };
  }

  #zoomTo(scale, cx, cy) {
    const stage = this.#$('.stage');
    cx ??= stage.clientWidth / 2;
    cy ??= stage.clientHeight / 2;
    const v = this.#view;
    const ix = (cx - v.x) / v.scale;
    const iy = (cy - v.y) / v.scale;
    const s = Math.max(0.01, Math.min(32, scale));
    this.#view = { scale: s, x: cx - ix * s, y: cy - iy * s };
    this.#draw();
  }

  #toImage(e) {
    const r = this.#$('canvas.overlay').getBoundingClientRect();
    const v = this.#view;
    return [(e.clientX - r.left - v.x) / v.scale, (e.clientY - r.top - v.y) / v.scale];
  }

  #draw() {
    const stage = this.#$('.stage');
    if (!stage) return;
    const dpr = globalThis.devicePixelRatio || 1;
    const w = stage.clientWidth;
    const h = stage.clientHeight;
    for (const c of this.shadowRoot.querySelectorAll('canvas')) {
      if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
    }
    const v = this.#view;
    const place = (ctx) => ctx.setTransform(dpr * v.scale, 0, 0, dpr * v.scale, dpr * v.x, dpr * v.y);
    const img = this.#$('canvas.image').getContext('2d');
    img.setTransform(1, 0, 0, 1, 0, 0);
    img.clearRect(0, 0, img.canvas.width, img.canvas.height);
    if (!this.#size) return;
    place(img);
    img.imageSmoothingEnabled = v.scale < 1;
    if (this.#bitmaps.image) img.drawImage(this.#bitmaps.image, 0, 0, this.#size.width, this.#size.height);
    const ov = this.#$('canvas.overlay').getContext('2d');
    ov.setTransform(1, 0, 0, 1, 0, 0);
    ov.clearRect(0, 0, ov.canvas.width, ov.canvas.height);
    place(ov);
    ov.globalAlpha = 0.5;
    if (this.#bitmaps.mask) ov.drawImage(this.#bitmaps.mask, 0, 0, this.#size.width, this.#size.height);
    ov.globalAlpha = 1;
    if (this.#box) {
      const [y0, x0, y1, x1] = this.#box;
      const { width: W, height: H } = this.#size;
      ov.strokeStyle = '#3451d1';
      ov.lineWidth = 2 / v.scale;
      ov.strokeRect(x0 * W / 1000, y0 * H / 1000, (x1 - x0) * W / 1000, (y1 - y0) * H / 1000);
    }
    const live = this.#live;
    if (live) {
      ov.fillStyle = ov.strokeStyle = live.erase ? 'rgba(40,40,40,.6)' : 'rgba(255,64,64,.5)';
      ov.lineCap = ov.lineJoin = 'round';
      ov.lineWidth = this.#brushSize;
      ov.beginPath();
      const p = live.points;
      if (live.kind === 'stroke') {
        ov.moveTo(p[0][0], p[0][1]);
        for (const q of p) ov.lineTo(q[0], q[1]);
        ov.stroke();
      } else if (live.kind === 'lasso') {
        ov.moveTo(p[0][0], p[0][1]);
        for (const q of p) ov.lineTo(q[0], q[1]);
        ov.closePath();
        ov.fill();
      } else {
        const [a, b] = [p[0], p[p.length - 1]];
        if (live.kind === 'ellipse') ov.ellipse((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, Math.abs(b[0] - a[0]) / 2, Math.abs(b[1] - a[1]) / 2, 0, 0, Math.PI * 2);
        else ov.rect(a[0], a[1], b[0] - a[0], b[1] - a[1]);
        live.kind === 'box' ? (ov.lineWidth = 2 / v.scale, ov.stroke()) : ov.fill();
      }
    }
  }

  // ----- pointer input: mouse, pen and touch alike
  #down(e) {
    if (!this.#size) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    this.#pointers.set(e.pointerId, [e.clientX, e.clientY]);
    if (this.#pointers.size === 2) { // two fingers: pinch-zoom and pan, abandon the stroke
      this.#live = null;
      this.#gesture = { kind: 'pinch', ...this.#pinchState() };
      return;
    }
    const panning = this.#tool === 'pan' || this.#spaceHeld || e.button === 1;
    if (panning) { this.#gesture = { kind: 'pan', x: e.clientX, y: e.clientY }; return; }
    if (e.button !== 0) return;
    const [x, y] = this.#toImage(e);
    if (this.#tool === 'wand') { this.selectSimilar(x, y, { erase: e.altKey }).catch((err) => this.#fail(err)); return; }
    const kind = this.#tool === 'brush' || this.#tool === 'eraser' ? 'stroke' : this.#tool;
    this.#live = { kind, erase: this.#tool === 'eraser' || e.altKey, points: [this.#point(e, x, y)] };
    this.#draw();
  }

  #point(e, x, y) {
    return e.pointerType === 'pen' && e.pressure > 0 ? [x, y, e.pressure] : [x, y];
  }

  #move(e) {
    if (!this.#pointers.has(e.pointerId)) return;
    this.#pointers.set(e.pointerId, [e.clientX, e.clientY]);
    const g = this.#gesture;
    if (g?.kind === 'pan') {
      this.#view.x += e.clientX - g.x;
      this.#view.y += e.clientY - g.y;
      g.x = e.clientX; g.y = e.clientY;
      this.#draw();
      return;
    }
    if (g?.kind === 'pinch' && this.#pointers.size === 2) {
      const now = this.#pinchState();
      const r = this.#$('canvas.overlay').getBoundingClientRect();
      this.#zoomTo(this.#view.scale * now.dist / g.dist, g.cx - r.left, g.cy - r.top);
      this.#view.x += now.cx - g.cx;
      this.#view.y += now.cy - g.cy;
      Object.assign(g, now);
      this.#draw();
      return;
    }
    if (!this.#live) return;
    const events = e.getCoalescedEvents?.() ?? [e];
    for (const ev of events) {
      const [x, y] = this.#toImage(ev);
      if (this.#live.kind === 'stroke' || this.#live.kind === 'lasso') this.#live.points.push(this.#point(ev, x, y));
      else this.#live.points[1] = [x, y];
    }
    this.#draw();
  }

  #pinchState() {
    const [a, b] = [...this.#pointers.values()];
    return { dist: Math.hypot(a[0] - b[0], a[1] - b[1]) || 1, cx: (a[0] + b[0]) / 2, cy: (a[1] + b[1]) / 2 };
  }

  #up(e, cancelled = false) {
    this.#pointers.delete(e.pointerId);
    if (this.#gesture) { if (this.#pointers.size === 0) this.#gesture = null; return; }
    const live = this.#live;
    this.#live = null;
    if (!live || cancelled) { this.#draw(); return; }
    const fail = (err) => this.#fail(err);
    const p = live.points;
    const [a, b] = [p[0], p[p.length - 1]];
    const opts = { erase: live.erase };
    if (live.kind === 'stroke') this.addStroke(p, { width: this.#brushSize, ...opts }).catch(fail);
    else if (live.kind === 'lasso' && p.length > 2) this.addShape({ kind: 'polygon', points: p.map((q) => [q[0], q[1]]) }, opts).catch(fail);
    else if (live.kind === 'rect') this.addShape({ kind: 'rect', x: a[0], y: a[1], width: b[0] - a[0], height: b[1] - a[1] }, opts).catch(fail);
    else if (live.kind === 'ellipse') this.addShape({ kind: 'ellipse', cx: (a[0] + b[0]) / 2, cy: (a[1] + b[1]) / 2, rx: Math.abs(b[0] - a[0]) / 2, ry: Math.abs(b[1] - a[1]) / 2 }, opts).catch(fail);
    else if (live.kind === 'box') {
      const { width: W, height: H } = this.#size;
      this.setBox([a[1] / H * 1000, a[0] / W * 1000, b[1] / H * 1000, b[0] / W * 1000]).catch(fail);
    }
    this.#draw();
  }

  #wheel(e) {
    if (!this.#size) return;
    e.preventDefault();
    const r = this.#$('canvas.overlay').getBoundingClientRect();
    this.#zoomTo(this.#view.scale * Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }

  #key(e, down) {
    if (e.target !== this) return; // typing in the instruction box is not a shortcut
    if (e.code === 'Space') { this.#spaceHeld = down; e.preventDefault(); return; }
    if (!down) return;
    const mod = e.ctrlKey || e.metaKey;
    const fail = (err) => this.#fail(err);
    if (mod && e.key.toLowerCase() === 'z') { e.preventDefault(); (e.shiftKey ? this.redo() : this.undo()).catch(fail); }
    else if (mod && e.key.toLowerCase() === 'y') { e.preventDefault(); this.redo().catch(fail); }
    else if (e.key === '[') this.brushSize = this.#brushSize / 1.25;
    else if (e.key === ']') this.brushSize = this.#brushSize * 1.25 + 1;
    else if (e.key === 'b') this.tool = 'brush';
    else if (e.key === 'e') this.tool = 'eraser';
  }
}

function coded(code, message, retryAfter) {
  const e = new Error(message);
  e.code = code;
  if (retryAfter != null) e.retryAfter = retryAfter;
  return e;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}

/** Bytes of a File, Blob, ArrayBuffer, typed array or URL. A cross-origin URL that the
 * server does not allow fails with an error that says it is CORS. */
async function readSource(source) {
  if (source instanceof Blob) return source.arrayBuffer();
  if (source instanceof ArrayBuffer) return source;
  if (ArrayBuffer.isView(source)) return source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength);
  const url = new URL(String(source), document.baseURI);
  let response;
  try {
    response = await fetch(url, { mode: 'cors', credentials: 'same-origin' });
  } catch {
    const cross = url.origin !== location.origin;
    throw coded(cross ? 'cors' : 'network', cross
      ? `The photo at ${url.origin} cannot be read: that server does not allow cross-origin (CORS) access.`
      : `The photo at ${url.href} could not be loaded.`);
  }
  if (!response.ok) throw coded('network', `The photo at ${url.href} could not be loaded (HTTP ${response.status}).`);
  return response.arrayBuffer();
}

if (!customElements.get('pixelkeep-editor')) customElements.define('pixelkeep-editor', PixelkeepEditor);
