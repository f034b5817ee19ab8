// <pixelkeep-editor>: the embeddable editor. DOM and input live here; every pixel
// operation runs in a worker that owns the wasm core (pixelkeep-worker.js).

/** Every string the editor shows. Replace any of them with `editor.strings = {...}`, or
 * register a whole table: `PixelkeepEditor.locales.de = {...}` and `locale="de"`. */
const STRINGS = {
  brush: 'Brush', eraser: 'Eraser', lasso: 'Lasso', rect: 'Rectangle', ellipse: 'Ellipse',
  box: 'Box', wand: 'Magic wand', pan: 'Pan',
  tools: 'Tools', history: 'History', view: 'View', file: 'File', toolOptions: 'Tool and mask options',
  canvas: 'Photo and mask. Draw with the selected tool; arrow keys pan, plus and minus zoom, question mark lists the shortcuts.',
  size: 'Size', tolerance: 'Tolerance', contiguous: 'Contiguous',
  boxValues: 'Box, 0–1000', ymin: 'y min', xmin: 'x min', ymax: 'y max', xmax: 'x max', clearBox: 'Clear box',
  mask: 'Mask', showMask: 'Show', maskColour: 'Mask colour', maskOpacity: 'Opacity',
  grow: 'Grow', shrink: 'Shrink', invert: 'Invert', clear: 'Clear',
  growBy: (px) => `Grow the mask by ${px} px`, shrinkBy: (px) => `Shrink the mask by ${px} px`,
  undo: 'Undo', redo: 'Redo', zoomIn: 'Zoom in', zoomOut: 'Zoom out', zoom: 'Zoom', fit: 'Fit', actual: '100%',
  open: 'Open…', save: 'Save', export: 'Export', format: 'Format', quality: 'Quality',
  png: 'PNG (lossless)', jpeg: 'JPEG', webp: 'WebP',
  downloadImage: 'Download image', downloadMaskWhite: 'Download mask (white = edit)',
  downloadMaskAlpha: 'Download mask (transparent = edit)',
  help: 'Shortcuts', helpTitle: 'Keyboard shortcuts', close: 'Close',
  compare: 'Before / after', drop: 'Drop a photo here, or open one',
  instruction: 'What should change?', instructionPlaceholder: 'e.g. make the cup navy blue',
  keep: 'Keep unchanged', keepCustom: 'Something else to keep', add: 'Add', remove: (what) => `Remove ${what}`,
  keepPresets: { identity: 'Identity', background: 'Background', lighting: 'Lighting', text: 'Text' },
  references: 'Reference images', addReferences: 'Add images…',
  referencesCount: (n, max) => `${n} of ${max}`,
  referencesNone: 'This model takes no reference images.',
  tooManyReferences: (model, max, n) => `${model} takes at most ${max} reference image${max === 1 ? '' : 's'}; that would make ${n}. Remove some first.`,
  provider: 'Provider', model: 'Model', aspect: 'Aspect ratio', outputSize: 'Output size',
  auto: 'Automatic', anyAspect: 'Any (as sent)',
  cost: (usd) => `Estimated cost: $${usd.toFixed(3)} per generation`,
  matchTone: 'Match the tone at the edges',
  matchToneHint: 'Takes a colour shift of the whole answer out where it meets your photo, so no seam shows.',
  generate: 'Generate', cancel: 'Cancel',
  stages: {
    preparing: 'Preparing the crop and mask',
    uploading: (mb) => `Sent ${mb} MB; waiting for the model`,
    compositing: 'Compositing into the original',
  },
  done: (s) => `Done in ${s} s.`,
  loading: 'Loading the photo…', imageInfo: (w, h) => `${w} × ${h} px`,
  rounds: 'Rounds', original: 'Original', round: (n) => `Round ${n}`,
  drift: (r) => `${r.raw.changed_pixels ? `The model changed ${r.raw.changed_pixels.toLocaleString()} pixels outside the edit; those changes were thrown away.` : 'The model changed nothing outside the edit.'} Delivered: ${r.delivered.changed_pixels.toLocaleString()} pixels changed outside it.${r.tone ? ` A tone shift of up to ${Math.round(r.tone.max)} levels was taken out at the edges.` : ''}`,
  recomposite: 'Re-composite', feather: 'Feather', growEdge: 'Grow',
  recompositeHint: 'Blend this round again with other edges: no new generation, no cost.',
  autosaved: (t) => `Saved in this browser at ${t}`,
  restored: (t) => `Restored your work from ${t}.`,
  discard: 'Discard saved work', discarded: 'Saved work discarded.',
  saved: (type, kb) => `Saved as ${type}, ${kb} KB.`,
  autosaveFailed: (m) => `Could not save your work in this browser: ${m}`,
  recovering: 'The editor stopped unexpectedly. Recovering your work from this browser…',
  recovered: 'The editor stopped unexpectedly; your work was recovered from this browser.',
  notRecovered: 'The editor stopped unexpectedly and no saved work was found. Open the photo again.',
  shortcuts: [
    ['B E L R O X W H', 'Brush, eraser, lasso, rectangle, ellipse, box, magic wand, pan'],
    ['Alt + draw', 'Erase with any tool'],
    ['[  ]', 'Smaller / larger brush'],
    ['Space + drag, middle button, two fingers', 'Pan'],
    ['Wheel, pinch, +  −', 'Zoom'],
    ['0  1', 'Fit / 100%'],
    ['Arrow keys', 'Pan (on the canvas)'],
    ['M', 'Show or hide the mask'],
    ['\\ (hold)', 'Show the original'],
    ['G  Shift+G', 'Grow / shrink the mask'],
    ['I  Delete', 'Invert / clear the mask'],
    ['Ctrl/⌘ + Z', 'Undo'],
    ['Shift + Ctrl/⌘ + Z, Ctrl + Y', 'Redo'],
    ['Ctrl/⌘ + Enter', 'Generate'],
    ['Esc', 'Cancel the generation'],
    ['Ctrl/⌘ + S', 'Save'],
    ['?', 'This list'],
  ],
  errors: {
    aborted: () => 'Cancelled. Nothing was changed.',
    busy: () => 'A generation is already running.',
    rate_limited: (m, s) => (s > 0 ? `The provider is busy: too many edits right now. Try again in ${s} s.` : 'The provider was busy. You can try again now.'),
    safety_blocked: (m) => `The provider refused this edit for safety reasons, so nothing was changed. Try another instruction. (${m})`,
    payload_too_large: (m) => `The image sent was too large for the provider: ${m} Try a smaller mask or output size.`,
    unsupported_instruction: (m) => m,
    network: (m) => `${m} Check the connection and try again.`,
    timeout: () => 'The model took too long to answer. Try again, or try a smaller edit.',
    no_image: (m) => `The model answered without an image. ${m}`,
    upstream_unavailable: () => 'The provider is unavailable right now. Try again in a minute.',
    upstream_error: (m) => `The provider failed: ${m}`,
    unauthorized: () => 'This editor may not use the proxy (its embed token is missing or expired). Reload the page.',
    forbidden_origin: () => 'This site is not allowed to use the proxy; its administrator must allow it (PIXELKEEP_ALLOWED_ORIGINS).',
  },
};

const TOOLS = { brush: 'b', eraser: 'e', lasso: 'l', rect: 'r', ellipse: 'o', box: 'x', wand: 'w', pan: 'h' };
const KEEP_PRESETS = ['identity', 'background', 'lighting', 'text'];
const FORMATS = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };
const PREVIEW_EDGE = 2048;

const STYLE = `
:host { display: block; color-scheme: light dark; --pk-height: 600px; --pk-stage-height: clamp(240px, 66vw, var(--pk-height));
  --pk-bg: light-dark(#ffffff, #1c1c21); --pk-fg: light-dark(#1d1d1f, #ececf1); --pk-muted: light-dark(#5f5f6b, #a3a3b0);
  --pk-panel: light-dark(#f5f5f7, #25252c); --pk-border: light-dark(#d3d3da, #3b3b45); --pk-stage: light-dark(#e6e6eb, #101014);
  --pk-accent: light-dark(#3451d1, #7d93ff); --pk-accent-fg: light-dark(#ffffff, #0d0f1a);
  --pk-error: light-dark(#b00020, #ff8a8a); --pk-ok: light-dark(#1b7a36, #6fd68f); --pk-warn: light-dark(#8a5300, #ffc46b);
  --pk-radius: 10px; --pk-font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
:host([theme=light]) { color-scheme: light; } :host([theme=dark]) { color-scheme: dark; }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.root { container-type: inline-size; font: var(--pk-font); color: var(--pk-fg); background: var(--pk-bg);
  border: 1px solid var(--pk-border); border-radius: var(--pk-radius); overflow: hidden; }
[hidden] { display: none !important; }
button, select, input, textarea, summary { font: inherit; color: inherit; }
button, select, input:not([type=range]):not([type=checkbox]):not([type=color]), textarea {
  background: var(--pk-bg); border: 1px solid var(--pk-border); border-radius: 6px; padding: 4px 9px; min-height: 30px; }
button { cursor: pointer; white-space: nowrap; }
button:hover:not(:disabled) { border-color: var(--pk-muted); }
button:disabled { opacity: .45; cursor: default; }
button[aria-pressed=true], .primary { background: var(--pk-accent); color: var(--pk-accent-fg); border-color: var(--pk-accent); }
.primary { font-weight: 600; }
:focus-visible { outline: 2px solid var(--pk-accent); outline-offset: 2px; }
input[type=range] { accent-color: var(--pk-accent); width: 110px; }
input[type=number] { width: 5.2em; }
input[type=color] { width: 30px; height: 28px; padding: 0 2px; border: 1px solid var(--pk-border); border-radius: 6px; background: var(--pk-bg); }
.bar { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; padding: 6px 8px; background: var(--pk-panel); border-bottom: 1px solid var(--pk-border); }
.group { display: flex; flex-wrap: wrap; gap: 3px; align-items: center; }
.group > .label { color: var(--pk-muted); font-size: 12px; margin-right: 2px; }
.opt { display: flex; gap: 6px; align-items: center; font-size: 13px; }
.opt label, label.inline { display: inline-flex; gap: 5px; align-items: center; }
.zoom output { min-width: 4.2em; text-align: center; font-variant-numeric: tabular-nums; font-size: 13px; }
.spacer { flex: 1; }
.menu { position: relative; }
.menu summary { list-style: none; cursor: pointer; border: 1px solid var(--pk-border); border-radius: 6px; padding: 4px 9px; min-height: 30px; display: inline-flex; align-items: center; background: var(--pk-bg); }
.menu summary::-webkit-details-marker { display: none; }
.menu summary::after { content: "▾"; margin-left: 6px; font-size: 11px; }
.popup { position: absolute; right: 0; top: calc(100% + 4px); z-index: 10; display: grid; gap: 8px; min-width: 250px; padding: 10px;
  background: var(--pk-bg); border: 1px solid var(--pk-border); border-radius: 8px; box-shadow: 0 8px 28px #0003; }
.work { display: grid; grid-template-columns: minmax(0, 1fr); }
.stage { position: relative; height: var(--pk-stage-height); overflow: hidden; touch-action: none; user-select: none;
  background: var(--pk-stage); }
.stage:focus-visible { outline-offset: -3px; }
.stage canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
.stage canvas.overlay { cursor: crosshair; }
.stage[data-tool=pan] canvas.overlay, .stage.panning canvas.overlay { cursor: grab; }
.cursor { position: absolute; left: 0; top: 0; pointer-events: none; border-radius: 50%; border: 1px solid #fff; box-shadow: 0 0 0 1px #000a; }
.drop { position: absolute; inset: 0; display: grid; place-items: center; pointer-events: none; color: var(--pk-muted); font-size: 15px; }
.compare { position: absolute; left: 8px; bottom: 8px; display: flex; gap: 6px; align-items: center; font-size: 12px; padding: 3px 8px;
  border-radius: 999px; background: color-mix(in srgb, var(--pk-bg) 85%, transparent); }
.side { display: flex; flex-direction: column; gap: 12px; padding: 12px; border-top: 1px solid var(--pk-border); min-width: 0; }
.side > * { flex-shrink: 0; }
@container (min-width: 880px) {
  .work { grid-template-columns: minmax(0, 1fr) 330px; }
  .side { border-top: none; border-left: 1px solid var(--pk-border); height: var(--pk-stage-height); overflow-y: auto; }
}
.side section { display: grid; gap: 6px; }
.side h3, .side legend, .field > span { margin: 0; padding: 0; font-size: 12px; font-weight: 600; color: var(--pk-muted); letter-spacing: .02em; }
fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
textarea { width: 100%; min-height: 4.2em; resize: vertical; }
.chips { display: flex; flex-wrap: wrap; gap: 4px; }
.chip { border-radius: 999px; padding: 2px 10px; min-height: 28px; font-size: 13px; }
.custom { display: flex; gap: 4px; } .custom input { flex: 1; min-width: 0; }
.refs { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.ref { position: relative; } .ref img { width: 52px; height: 52px; object-fit: cover; border-radius: 6px; border: 1px solid var(--pk-border); display: block; }
.ref button { position: absolute; top: -6px; right: -6px; min-height: 0; width: 22px; height: 22px; padding: 0; border-radius: 50%; font-size: 12px; line-height: 1; }
.pickers { display: grid; grid-template-columns: 1fr 1fr; gap: 6px; }
.field { display: grid; gap: 2px; min-width: 0; } .field select { width: 100%; }
.note { font-size: 12px; color: var(--pk-muted); margin: 0; }
.actions { display: flex; gap: 6px; } .actions .primary { flex: 1; min-height: 36px; }
.progress { display: grid; gap: 4px; font-size: 13px; }
.progress .track { height: 4px; border-radius: 2px; overflow: hidden; background: var(--pk-panel); }
.progress .track::before { content: ""; display: block; width: 35%; height: 100%; background: var(--pk-accent); animation: slide 1.3s ease-in-out infinite; }
@keyframes slide { from { transform: translateX(-100%); } to { transform: translateX(290%); } }
.status { font-size: 13px; color: var(--pk-muted); min-height: 1.4em; }
.error { color: var(--pk-error); background: color-mix(in srgb, var(--pk-error) 10%, transparent); border-radius: 6px; padding: 6px 8px; font-size: 13px; }
.error:empty { display: none; }
.strip { display: flex; gap: 6px; overflow-x: auto; padding: 2px 2px 4px; }
.strip button { display: grid; justify-items: center; gap: 2px; padding: 3px; font-size: 11px; min-height: 0; }
.strip canvas { width: 64px; height: 44px; object-fit: contain; display: block; border-radius: 4px; background: var(--pk-stage); }
.strip button[aria-current=true] { border-color: var(--pk-accent); box-shadow: 0 0 0 1px var(--pk-accent); }
.strip button.undone { opacity: .5; }
.badge { border-radius: 999px; padding: 0 6px; font-size: 10px; background: color-mix(in srgb, var(--pk-ok) 16%, transparent); color: var(--pk-ok); }
.badge.drifted { background: color-mix(in srgb, var(--pk-warn) 18%, transparent); color: var(--pk-warn); }
.detail { display: grid; gap: 6px; font-size: 13px; }
.detail .row { display: flex; gap: 8px; align-items: end; flex-wrap: wrap; }
.foot { display: flex; flex-wrap: wrap; gap: 4px 12px; justify-content: space-between; align-items: center; padding: 5px 10px; min-height: 30px; font-size: 12px; color: var(--pk-muted); border-top: 1px solid var(--pk-border); background: var(--pk-panel); }
.link { border: 0; background: none; padding: 0; min-height: 0; text-decoration: underline; color: inherit; }
dialog { color: var(--pk-fg); background: var(--pk-bg); border: 1px solid var(--pk-border); border-radius: 12px; max-width: min(560px, 92vw); padding: 16px 20px; }
dialog::backdrop { background: #0006; }
dialog h2 { margin: 0 0 8px; font-size: 17px; }
dialog table { border-collapse: collapse; font-size: 13px; } dialog td { padding: 3px 12px 3px 0; vertical-align: top; }
kbd { font: 12px ui-monospace, monospace; padding: 1px 5px; border: 1px solid var(--pk-border); border-radius: 4px; background: var(--pk-panel); white-space: nowrap; }
@media (pointer: coarse) { button, select, .menu summary { min-height: 40px; } }
@container (max-width: 600px) {
  .tools { flex-wrap: nowrap; overflow-x: auto; max-width: 100%; scrollbar-width: thin; }
  .stage { height: clamp(240px, 78vw, var(--pk-height)); }
}
@media (prefers-reduced-motion: reduce) { *, *::before { animation: none !important; transition: none !important; } }
`;

const TEMPLATE = `
<div class="root">
<div class="bar top" role="toolbar" aria-label="%tools%">
  <div class="group tools" role="group" aria-label="%tools%"></div>
  <div class="group" role="group" aria-label="%history%"><button name="undo">%undo%</button><button name="redo">%redo%</button></div>
  <div class="group zoom" role="group" aria-label="%view%">
    <button name="zoomOut" aria-label="%zoomOut%" title="%zoomOut%">−</button><output name="zoom" aria-label="%zoom%">100%</output>
    <button name="zoomIn" aria-label="%zoomIn%" title="%zoomIn%">+</button><button name="fit">%fit%</button><button name="actual">%actual%</button>
  </div>
  <span class="spacer"></span>
  <div class="group" role="group" aria-label="%file%">
    <button name="open">%open%</button>
    <details class="menu"><summary>%export%</summary><div class="popup">
      <label class="field"><span>%format%</span><select name="format">
        <option value="image/png">%png%</option><option value="image/jpeg">%jpeg%</option><option value="image/webp">%webp%</option></select></label>
      <label class="field quality"><span>%quality% <output name="qualityValue"></output></span><input name="quality" type="range" min="0.1" max="1" step="0.01" aria-label="%quality%"></label>
      <button name="downloadImage">%downloadImage%</button>
      <button name="downloadMaskWhite">%downloadMaskWhite%</button>
      <button name="downloadMaskAlpha">%downloadMaskAlpha%</button>
    </div></details>
    <button name="save" class="primary">%save%</button>
    <button name="help" aria-label="%help%" title="%help% (?)">?</button>
  </div>
  <input name="file" type="file" accept="image/png,image/jpeg,image/webp" hidden>
</div>
<div class="bar options" role="toolbar" aria-label="%toolOptions%">
  <div class="opt" data-for="brush eraser">
    <label>%size% <input name="size" type="range" min="1" max="500"></label>
    <input name="sizeValue" type="number" min="1" max="500" aria-label="%size%">
  </div>
  <div class="opt" data-for="wand">
    <label>%tolerance% <input name="tolerance" type="range" min="0" max="255"></label><output name="toleranceValue"></output>
    <label class="inline"><input name="contiguous" type="checkbox"> %contiguous%</label>
  </div>
  <fieldset class="opt boxvalues" data-for="box" aria-label="%boxValues%">
    <span aria-hidden="true">%boxValues%</span>
    <input name="ymin" type="number" min="0" max="1000" aria-label="%ymin%" title="%ymin%">
    <input name="xmin" type="number" min="0" max="1000" aria-label="%xmin%" title="%xmin%">
    <input name="ymax" type="number" min="0" max="1000" aria-label="%ymax%" title="%ymax%">
    <input name="xmax" type="number" min="0" max="1000" aria-label="%xmax%" title="%xmax%">
    <button name="clearBox">%clearBox%</button>
  </fieldset>
  <span class="spacer"></span>
  <div class="group maskopts" role="group" aria-label="%mask%">
    <span class="label">%mask%</span>
    <label class="inline"><input name="showMask" type="checkbox"> %showMask%</label>
    <input name="maskColour" type="color" aria-label="%maskColour%" title="%maskColour%">
    <input name="maskOpacity" type="range" min="0.1" max="1" step="0.05" aria-label="%maskOpacity%" title="%maskOpacity%">
    <button name="grow">%grow%</button><button name="shrink">%shrink%</button>
    <button name="invert">%invert%</button><button name="clear">%clear%</button>
  </div>
</div>
<div class="work">
  <div class="stage" tabindex="0" role="application" aria-label="%canvas%">
    <canvas class="image"></canvas><canvas class="overlay"></canvas><div class="cursor" hidden></div>
    <div class="drop">%drop%</div>
    <label class="compare" hidden>%compare% <input name="compare" type="range" min="0" max="100" value="0"></label>
  </div>
  <div class="side">
    <section>
      <label class="field" for="pk-instruction"><span>%instruction%</span></label>
      <textarea id="pk-instruction" name="instruction" placeholder="%instructionPlaceholder%"></textarea>
    </section>
    <fieldset>
      <legend>%keep%</legend>
      <div class="chips keep"></div>
      <div class="custom"><input name="keepCustom" aria-label="%keepCustom%" placeholder="%keepCustom%"><button name="keepAdd">%add%</button></div>
    </fieldset>
    <fieldset class="references">
      <legend>%references% <span class="refcount"></span></legend>
      <div class="refs"><button name="addReferences">%addReferences%</button></div>
      <p class="note refnote"></p>
      <input name="referenceFiles" type="file" accept="image/png,image/jpeg,image/webp" multiple hidden>
    </fieldset>
    <div class="pickers">
      <label class="field"><span>%provider%</span><select name="provider"></select></label>
      <label class="field"><span>%model%</span><select name="model"></select></label>
      <label class="field"><span>%aspect%</span><select name="aspect"></select></label>
      <label class="field"><span>%outputSize%</span><select name="outputSize"></select></label>
    </div>
    <label class="inline" title="%matchToneHint%"><input name="matchTone" type="checkbox" checked> %matchTone%</label>
    <p class="note cost"></p>
    <div class="actions"><button name="generate" class="primary">%generate%</button><button name="cancel" hidden>%cancel%</button></div>
    <div class="progress" hidden><span class="stagetext"></span><div class="track"></div></div>
    <div class="status" role="status" aria-live="polite"></div>
    <div class="error" role="alert"></div>
    <section class="roundsbox">
      <h3>%rounds%</h3>
      <div class="strip" role="group" aria-label="%rounds%"></div>
      <div class="detail" hidden>
        <div class="summary"></div>
        <div class="drifttext note"></div>
        <div class="row">
          <label class="field"><span>%growEdge%</span><input name="rcGrow" type="number" min="-100" max="200"></label>
          <label class="field"><span>%feather%</span><input name="rcFeather" type="number" min="0" max="128"></label>
          <button name="recomposite">%recomposite%</button>
        </div>
        <p class="note">%recompositeHint%</p>
      </div>
    </section>
  </div>
</div>
<div class="foot"><span class="info"></span><span class="saved"></span></div>
<dialog class="help" aria-labelledby="pk-help-title"><h2 id="pk-help-title">%helpTitle%</h2><table></table>
  <form method="dialog"><p><button>%close%</button></p></form></dialog>
</div>`;

export class PixelkeepEditor extends HTMLElement {
  static observedAttributes = ['src', 'endpoint', 'token', 'provider', 'model', 'locale', 'wasm-url', 'autosave', 'theme'];
  /** String tables by locale tag; `en` is built in. */
  static locales = { en: STRINGS };

  #worker = null;
  #ready = null;
  #calls = new Map();
  #nextId = 1;
  #size = null; // {width, height} of the loaded image
  #view = { scale: 1, x: 0, y: 0 };
  #bitmaps = { image: null, original: null, mask: null };
  #tinted = null; // the mask in the overlay colour
  #tool = 'brush';
  #brushSize = 40;
  #tolerance = 24;
  #contiguous = true;
  #maskColour = '#ff3b30';
  #maskOpacity = 0.5;
  #maskVisible = true;
  #compare = 0; // 0–100: how much of the stage shows the original
  #holdOriginal = false;
  #overrides = {};
  #strings = STRINGS;
  #pointers = new Map();
  #gesture = null;
  #live = null; // the shape being drawn, in image pixels
  #spaceHeld = false;
  #generation = null;
  #state = { canUndo: false, canRedo: false, box: null, active: 0, rounds: [] };
  #profiles = [];
  #keep = new Set();
  #customKeep = [];
  #references = []; // {name, mime_type, data, url}
  #aspect = '';
  #outputSize = '';
  #format = 'image/png';
  #quality = 0.9;
  #savedAt = null;
  #retry = null; // {until, message, timer}
  #recovering = false;
  #fitted = true; // the view follows the stage's size until the person zooms or pans
  #resize = new ResizeObserver(() => { if (this.#fitted) this.#fit(); this.#draw(); });

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.addEventListener('keydown', (e) => this.#key(e, true));
    this.addEventListener('keyup', (e) => this.#key(e, false));
  }

  // ----- attributes mirrored by properties
  get endpoint() { return this.getAttribute('endpoint') ?? '/api'; }
  set endpoint(v) { this.setAttribute('endpoint', v); }
  /** The short-lived embed token the host's backend minted (sent as `Authorization: Bearer`). */
  get token() { return this.getAttribute('token'); }
  set token(v) { v == null ? this.removeAttribute('token') : this.setAttribute('token', v); }
  get src() { return this.getAttribute('src'); }
  set src(v) { v == null ? this.removeAttribute('src') : this.setAttribute('src', v); }
  get provider() { return this.getAttribute('provider') ?? this.#profiles[0]?.id ?? 'local'; }
  set provider(v) { v == null ? this.removeAttribute('provider') : this.setAttribute('provider', v); }
  get model() { return this.getAttribute('model'); }
  set model(v) { v == null ? this.removeAttribute('model') : this.setAttribute('model', v); }
  get locale() { return this.getAttribute('locale') ?? 'en'; }
  set locale(v) { this.setAttribute('locale', v); }
  get theme() { return this.getAttribute('theme') ?? 'auto'; }
  set theme(v) { this.setAttribute('theme', v); }
  get wasmUrl() { return this.getAttribute('wasm-url') ?? new URL('./pkg/pixelkeep_bg.wasm', import.meta.url).href; }
  set wasmUrl(v) { this.setAttribute('wasm-url', v); }
  /** The IndexedDB key the session autosaves under; `autosave="off"` turns it off. */
  get autosave() {
    const v = this.getAttribute('autosave');
    if (v === 'off' || v === 'false') return null;
    return v || `pixelkeep:${location.pathname}${this.id ? `#${this.id}` : ''}`;
  }
  set autosave(v) { this.setAttribute('autosave', v ?? 'off'); }

  /** Replaces any UI strings (merged over the locale's table). */
  get strings() { return this.#strings; }
  set strings(v) { this.#overrides = v ?? {}; this.#applyStrings(); }

  get tool() { return this.#tool; }
  set tool(t) {
    if (!(t in TOOLS)) throw new RangeError(`unknown tool ${t}; one of ${Object.keys(TOOLS).join(', ')}`);
    this.#tool = t;
    this.#syncTools();
  }
  get brushSize() { return this.#brushSize; }
  set brushSize(v) {
    this.#brushSize = Math.max(1, Math.min(500, Math.round(Number(v) || 1)));
    this.#setValue('size', this.#brushSize);
    this.#setValue('sizeValue', this.#brushSize);
    this.#placeCursor();
  }
  get wandTolerance() { return this.#tolerance; }
  set wandTolerance(v) { this.#tolerance = Math.max(0, Math.min(255, Math.round(Number(v) || 0))); this.#syncOptions(); }
  get maskColor() { return this.#maskColour; }
  set maskColor(v) { this.#maskColour = String(v); this.#tint(); this.#syncOptions(); this.#draw(); }
  get maskOpacity() { return this.#maskOpacity; }
  set maskOpacity(v) { this.#maskOpacity = Math.max(0, Math.min(1, Number(v))); this.#syncOptions(); this.#draw(); }
  get maskVisible() { return this.#maskVisible; }
  set maskVisible(v) { this.#maskVisible = Boolean(v); this.#syncOptions(); this.#draw(); }
  /** Screen (CSS) pixels per image pixel. */
  get zoom() { return this.#view.scale; }
  set zoom(v) { this.#zoomTo(Number(v)); }
  /** The active rounds' reports (rounds reverted past are left out). */
  get rounds() { return this.#state.rounds.slice(0, this.#state.active).map((r) => r.report); }
  get box() { return this.#state.box; }
  get imageSize() { return this.#size && { ...this.#size }; }

  connectedCallback() {
    if (!this.shadowRoot.firstChild) this.#render();
    this.#boot();
  }

  disconnectedCallback() {
    this.#stopWorker(coded('aborted', 'The editor was removed.'));
  }

  attributeChangedCallback(name, old, value) {
    if (old === value || !this.shadowRoot.firstChild) return;
    if (name === 'src' && value && this.#worker) this.load(value).catch(() => {});
    if (name === 'locale') this.#applyStrings();
    if (name === 'endpoint' || name === 'token') this.#loadProviders();
    if (name === 'provider' || name === 'model') this.#syncPickers();
    if (name === 'autosave' && this.#worker) this.#call('setAutosave', { key: this.autosave }).catch(() => {});
  }

  // ----- programmatic API
  async load(source) {
    this.#status(this.#strings.loading);
    try {
      const { bytes, label } = await readSource(source);
      const size = await this.#call('load', { bytes, source: label }, { transfer: [bytes] });
      await this.#opened(size);
      this.#status('');
      this.#error('');
      this.#emit('change', { reason: 'load', ...size });
      if (this.autosave) navigator.storage?.persist?.().catch(() => {});
      return size;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Restores the work autosaved under `autosave` (only if it was made on `source`, when
   * given); resolves with the image size, or null when there was none. */
  async restore({ source = null } = {}) {
    const key = this.autosave;
    if (!key) return null;
    const saved = await this.#call('restore', { key, source });
    if (!saved) return null;
    await this.#opened(saved);
    this.#savedAt = saved.savedAt;
    this.#status(this.#strings.restored(new Date(saved.savedAt).toLocaleString(this.locale)));
    this.#syncFooter();
    this.#emit('restore', { savedAt: saved.savedAt, source: saved.source, width: saved.width, height: saved.height });
    this.#emit('change', { reason: 'restore' });
    return { width: saved.width, height: saved.height };
  }

  /** Forgets the autosaved work and empties the editor (or reloads `src`). */
  async discardSaved() {
    await this.#call('discard', { key: this.autosave });
    await this.#call('close');
    this.#size = null;
    this.#savedAt = null;
    for (const k of Object.keys(this.#bitmaps)) { this.#bitmaps[k]?.close(); this.#bitmaps[k] = null; }
    this.#tinted = null;
    this.#state = { canUndo: false, canRedo: false, box: null, active: 0, rounds: [] };
    this.#syncState();
    this.#syncFooter();
    this.#$('.drop').hidden = false;
    this.#draw();
    this.#status(this.#strings.discarded);
    this.#emit('change', { reason: 'discard' });
    if (this.src) await this.load(this.src).catch(() => {});
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
    try {
      const result = await this.#call('setBox', { box: box ?? null });
      await this.#sync(false);
      this.#emit('change', { reason: 'box', box: result });
      return result;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  clearMask() { return this.#mask({ op: 'clear' }); }
  invertMask() { return this.#mask({ op: 'invert' }); }
  growMask(radius) { return this.#mask({ op: 'grow', radius: Math.round(radius) }); }
  selectSimilar(x, y, { tolerance = this.#tolerance, contiguous = this.#contiguous, erase = false } = {}) {
    return this.#mask({ op: 'wand', x: Math.floor(x), y: Math.floor(y), tolerance, contiguous, erase });
  }

  async undo() { return this.#history('undo'); }
  async redo() { return this.#history('redo'); }

  maskBlob({ convention = 'white-edit' } = {}) { return this.#call('maskPng', { convention }); }

  async generate({ instruction, keep, references, provider, model, aspectRatio, size, grounding = false, matchTone, signal } = {}) {
    const s = this.#strings;
    if (this.#generation) throw this.#fail(coded('busy', s.errors.busy()));
    instruction ??= this.#$('textarea[name=instruction]').value;
    keep ??= this.#keepList();
    references ??= this.#references.map(({ mime_type, data }) => ({ mime_type, data }));
    provider ??= this.#$('select[name=provider]').value || this.provider;
    model ??= this.#$('select[name=model]').value || this.model || undefined;
    aspectRatio ??= this.#aspect || undefined;
    matchTone ??= this.#named('matchTone').checked;
    size ??= this.#outputSize || undefined;
    const profile = this.#modelProfile(provider, model);
    if (profile && references.length > profile.max_references) {
      throw this.#fail(coded('too_many_references', s.tooManyReferences(profile.id, profile.max_references, references.length)));
    }
    const options = { instruction, keep, references, provider, model, aspect_ratio: aspectRatio, size, grounding,
      match_tone: matchTone, client_request_id: crypto.randomUUID?.() };
    this.#generation = { id: 0, started: performance.now(), stage: 'preparing', detail: {} };
    this.#error('');
    this.#setBusy(true);
    const onAbort = () => this.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    const ticker = setInterval(() => this.#tick(), 100);
    this.#emit('generate', { instruction, provider, model, keep });
    try {
      const call = this.#send('generate', { endpoint: this.endpoint, token: this.token, options }, {
        onProgress: (stage, detail) => { Object.assign(this.#generation, { stage, detail }); this.#tick(); },
      });
      this.#generation.id = call.id;
      if (signal?.aborted) this.cancel();
      const report = await call.promise;
      await this.#sync(true);
      const seconds = ((performance.now() - this.#generation.started) / 1000).toFixed(1);
      this.#status(s.done(seconds));
      this.#emit('result', report);
      return report;
    } catch (e) {
      throw this.#fail(e);
    } finally {
      clearInterval(ticker);
      signal?.removeEventListener('abort', onAbort);
      this.#generation = null;
      this.#setBusy(false);
    }
  }

  cancel() {
    if (this.#generation?.id) this.#call('cancel', { target: this.#generation.id }).catch(() => {});
  }

  async revert(n) {
    try {
      await this.#call('revert', { n });
      await this.#sync(true);
      this.#emit('change', { reason: 'revert', rounds: n });
    } catch (e) {
      throw this.#fail(e);
    }
  }

  async recomposite(round, { grow = 0, feather = 4 } = {}) {
    try {
      const report = await this.#call('recomposite', { round, grow, feather });
      await this.#sync(true);
      this.#emit('change', { reason: 'recomposite', round, grow, feather });
      return report;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  toBlob(type = 'image/png', quality = 0.92) { return this.#call('encode', { type, quality }); }

  /** Encodes the result and hands it to the page: a `pixelkeep-save` event with the Blob
   * and the provenance (recipe, rounds, protected-region digests). */
  async save({ type = this.#format, quality = this.#quality } = {}) {
    try {
      const blob = await this.toBlob(type, quality);
      const provenance = await this.#call('provenance');
      this.#emit('save', { blob, type: blob.type, provenance });
      this.#status(this.#strings.saved(FORMATS[blob.type]?.toUpperCase() ?? blob.type, Math.round(blob.size / 1024)));
      return { blob, provenance };
    } catch (e) {
      throw this.#fail(e);
    }
  }

  // ----- worker plumbing
  #startWorker() {
    if (this.#worker) return this.#ready;
    this.#worker = new Worker(new URL('./pixelkeep-worker.js', import.meta.url), { type: 'module' });
    this.#worker.onmessage = ({ data }) => this.#message(data);
    this.#worker.onerror = (event) => { event.preventDefault?.(); this.#crashed(); };
    this.#ready = this.#call('init', { wasmUrl: this.wasmUrl, autosave: this.autosave });
    return this.#ready;
  }

  #stopWorker(reason) {
    this.#worker?.terminate();
    this.#worker = null;
    for (const { reject } of this.#calls.values()) reject(reason);
    this.#calls.clear();
  }

  async #boot() {
    let restored = null;
    try {
      await this.#startWorker();
      this.#loadProviders();
      restored = await this.restore({ source: this.src ? new URL(this.src, document.baseURI).href : null });
      if (!restored && this.src) await this.load(this.src);
    } catch (e) {
      this.#fail(e);
    } finally {
      this.#emit('ready', { version: 1, restored: Boolean(restored) });
    }
  }

  /** The worker died (or its wasm trapped): start another and replay the autosave. */
  async #crashed() {
    if (this.#recovering) return;
    this.#recovering = true;
    const s = this.#strings;
    this.#stopWorker(coded('worker_died', s.recovering));
    this.#error(s.recovering);
    this.#emit('error', { code: 'worker_died', message: s.recovering });
    try {
      await this.#startWorker();
      const restored = await this.restore();
      this.#error(restored ? '' : s.notRecovered);
      this.#status(restored ? s.recovered : '');
    } catch (e) {
      this.#error(`${s.notRecovered} (${e.message})`);
    } finally {
      this.#recovering = false;
    }
  }

  #message(data) {
    if (data.event === 'autosaved') {
      this.#savedAt = data.detail.savedAt;
      this.#syncFooter();
      this.#emit('autosave', data.detail);
      return;
    }
    if (data.event === 'autosave-failed') { this.#syncFooter(this.#strings.autosaveFailed(data.detail.message)); return; }
    const call = this.#calls.get(data.id);
    if (!call) return;
    if (data.progress) { call.onProgress?.(data.progress, data.detail); return; }
    this.#calls.delete(data.id);
    if (data.error) {
      call.reject(coded(data.error.code, data.error.message, data.error.retryAfter));
      if (data.error.fatal) this.#crashed();
    } else {
      call.resolve(data.result);
    }
  }

  #send(method, args, { transfer = [], onProgress } = {}) {
    if (!this.#worker) this.#startWorker();
    const id = this.#nextId++;
    const promise = new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, method, args }, transfer);
    });
    return { id, promise };
  }

  #call(method, args, options) { return this.#send(method, args, options).promise; }

  async #mask(op) {
    try {
      const rect = await this.#call('apply', { op });
      await this.#sync(false);
      this.#emit('change', { reason: 'mask', op: op.op, rect });
      return rect;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  async #history(which) {
    try {
      const done = await this.#call(which);
      await this.#sync(true);
      this.#emit('change', { reason: which });
      return done;
    } catch (e) {
      throw this.#fail(e);
    }
  }

  async #opened(size) {
    this.#size = { width: size.width, height: size.height };
    this.#bitmaps.original?.close();
    this.#bitmaps.original = null;
    this.#$('.drop').hidden = true;
    this.#fit();
    await this.#sync(true);
  }

  /** Fetches what changed: the screen bitmaps and the history state. */
  async #sync(withImage) {
    if (!this.#size) return;
    const wantOriginal = withImage && Boolean(this.#bitmaps.original) === false && (this.#compare > 0 || this.#holdOriginal);
    const [out, state] = await Promise.all([
      this.#call('view', { maxEdge: PREVIEW_EDGE, image: withImage, original: wantOriginal }),
      this.#call('state'),
    ]);
    for (const k of ['image', 'original', 'mask']) {
      if (out[k]) { this.#bitmaps[k]?.close(); this.#bitmaps[k] = out[k]; }
    }
    this.#state = state;
    this.#tint();
    this.#syncState();
    this.#draw();
  }

  async #ensureOriginal() {
    if (this.#bitmaps.original || !this.#size) return;
    const out = await this.#call('view', { maxEdge: PREVIEW_EDGE, image: false, mask: false, original: true });
    this.#bitmaps.original = out.original;
    this.#draw();
  }

  // ----- UI
  #$(sel) { return this.shadowRoot.querySelector(sel); }
  #named(name) { return this.shadowRoot.querySelector(`[name=${name}]`); }
  #setValue(name, v) { const el = this.#named(name); if (el && el.value !== String(v)) el.value = v; }

  #applyStrings() {
    const table = PixelkeepEditor.locales[this.locale] ?? PixelkeepEditor.locales[this.locale.split('-')[0]] ?? {};
    const o = this.#overrides;
    this.#strings = { ...STRINGS, ...table, ...o,
      stages: { ...STRINGS.stages, ...table.stages, ...o.stages },
      keepPresets: { ...STRINGS.keepPresets, ...table.keepPresets, ...o.keepPresets },
      errors: { ...STRINGS.errors, ...table.errors, ...o.errors } };
    if (this.shadowRoot.firstChild) this.#render();
  }

  #render() {
    const s = this.#strings;
    const instruction = this.#$('textarea[name=instruction]')?.value ?? '';
    // A constructed stylesheet, not a <style> element: a host's CSP without
    // style-src 'unsafe-inline' still allows it.
    this.shadowRoot.adoptedStyleSheets = [sheet()];
    this.shadowRoot.innerHTML = TEMPLATE.replace(/%(\w+)%/g, (_, k) => escapeHtml(typeof s[k] === 'string' ? s[k] : k));
    this.#named('instruction').value = instruction;
    const tools = this.#$('.tools');
    for (const [t, key] of Object.entries(TOOLS)) {
      const b = button(s[t], () => { this.tool = t; });
      b.dataset.tool = t;
      b.title = `${s[t]} (${key.toUpperCase()})`;
      tools.append(b);
    }
    this.#$('.help table').replaceChildren(...s.shortcuts.map(([keys, what]) => {
      const tr = document.createElement('tr');
      const k = document.createElement('td');
      const kbd = document.createElement('kbd');
      kbd.textContent = keys;
      k.append(kbd);
      const d = document.createElement('td');
      d.textContent = what;
      tr.append(k, d);
      return tr;
    }));
    const report = (p) => p?.catch?.(() => {}); // failures are shown by #fail
    const on = (name, fn) => { this.#named(name).onclick = () => report(fn()); };
    on('undo', () => this.undo());
    on('redo', () => this.redo());
    on('zoomIn', () => this.#zoomTo(this.#view.scale * 1.25));
    on('zoomOut', () => this.#zoomTo(this.#view.scale / 1.25));
    on('fit', () => { this.#fit(); this.#draw(); });
    on('actual', () => this.#zoomTo(1));
    on('open', () => this.#named('file').click());
    on('save', () => this.save());
    on('help', () => this.#$('dialog.help').showModal());
    on('downloadImage', () => this.#download());
    on('downloadMaskWhite', () => this.#downloadMask('white-edit'));
    on('downloadMaskAlpha', () => this.#downloadMask('alpha-edit'));
    on('clearBox', () => this.setBox(null));
    on('grow', () => this.growMask(this.#growStep()));
    on('shrink', () => this.growMask(-this.#growStep()));
    on('invert', () => this.invertMask());
    on('clear', () => this.clearMask());
    on('generate', () => this.generate());
    on('cancel', () => this.cancel());
    on('keepAdd', () => this.#addCustomKeep());
    on('addReferences', () => this.#named('referenceFiles').click());
    on('recomposite', () => this.recomposite(this.#state.active - 1, {
      grow: Number(this.#named('rcGrow').value) || 0, feather: Math.max(0, Number(this.#named('rcFeather').value) || 0) }));
    this.#named('file').onchange = (e) => { const f = e.target.files[0]; e.target.value = ''; if (f) report(this.load(f)); };
    this.#named('referenceFiles').onchange = (e) => { const files = [...e.target.files]; e.target.value = ''; report(this.#addReferences(files)); };
    this.#named('size').oninput = (e) => { this.brushSize = e.target.value; };
    this.#named('sizeValue').onchange = (e) => { this.brushSize = e.target.value; };
    this.#named('tolerance').oninput = (e) => { this.wandTolerance = e.target.value; };
    this.#named('contiguous').onchange = (e) => { this.#contiguous = e.target.checked; };
    this.#named('showMask').onchange = (e) => { this.maskVisible = e.target.checked; };
    this.#named('maskColour').oninput = (e) => { this.maskColor = e.target.value; };
    this.#named('maskOpacity').oninput = (e) => { this.maskOpacity = e.target.value; };
    for (const n of ['ymin', 'xmin', 'ymax', 'xmax']) this.#named(n).onchange = () => report(this.#boxFromInputs());
    this.#named('format').onchange = (e) => { this.#format = e.target.value; this.#syncExport(); };
    this.#named('quality').oninput = (e) => { this.#quality = Number(e.target.value); this.#syncExport(); };
    this.#named('keepCustom').onkeydown = (e) => { if (e.key === 'Enter') { e.preventDefault(); this.#addCustomKeep(); } };
    this.#named('provider').onchange = (e) => { this.provider = e.target.value; this.removeAttribute('model'); this.#aspect = ''; this.#outputSize = ''; this.#syncPickers(); };
    this.#named('model').onchange = (e) => { this.model = e.target.value; this.#aspect = ''; this.#outputSize = ''; this.#syncPickers(); };
    this.#named('aspect').onchange = (e) => { this.#aspect = e.target.value; this.#outputSize = ''; this.#syncPickers(); };
    this.#named('outputSize').onchange = (e) => { this.#outputSize = e.target.value; this.#syncPickers(); };
    this.#named('compare').oninput = (e) => { this.#compare = Number(e.target.value); report(this.#ensureOriginal()); this.#draw(); };
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
    overlay.addEventListener('pointerleave', () => { this.#$('.cursor').hidden = true; });
    overlay.addEventListener('wheel', (e) => this.#wheel(e), { passive: false });
    this.#resize.disconnect();
    this.#resize.observe(stage);
    this.#$('.drop').hidden = Boolean(this.#size);
    this.#syncTools();
    this.#syncOptions();
    this.#syncExport();
    this.#syncKeep();
    this.#syncReferences();
    this.#syncPickers();
    this.#syncState();
    this.#syncFooter();
    this.#setBusy(Boolean(this.#generation));
  }

  async #loadProviders() {
    try {
      this.#profiles = await this.#call('providers', { endpoint: this.endpoint, token: this.token });
    } catch { this.#profiles = []; /* the proxy may come later; generate reports it then */ }
    this.#syncPickers();
  }

  #modelProfile(providerId = this.#named('provider')?.value, modelId = this.#named('model')?.value) {
    const p = this.#profiles.find((x) => x.id === providerId);
    return p?.models.find((m) => m.id === (modelId || p.default_model));
  }

  #syncPickers() {
    const s = this.#strings;
    const select = (name, options, value) => {
      const el = this.#named(name);
      if (!el) return '';
      el.replaceChildren(...options.map(([v, label]) => new Option(label, v)));
      el.value = options.some(([v]) => v === value) ? value : (options[0]?.[0] ?? '');
      el.disabled = options.length < 2;
      return el.value;
    };
    const providers = this.#profiles.length ? this.#profiles : [{ id: this.provider, label: this.provider, models: [], default_model: '' }];
    const pid = select('provider', providers.map((p) => [p.id, p.label]), this.provider);
    const provider = providers.find((p) => p.id === pid);
    const mid = select('model', provider.models.map((m) => [m.id, m.id]), this.model ?? provider.default_model);
    const model = provider.models.find((m) => m.id === mid);
    const ratios = model?.aspect_ratios ?? [];
    const ar = select('aspect', ratios.length ? [['', s.auto], ...ratios.map((r) => [r.ratio, r.ratio])] : [['', s.anyAspect]], this.#aspect);
    this.#aspect = ar;
    const sizes = ar ? ratios.find((r) => r.ratio === ar).sizes.map((z) => [z.name, `${z.name} (${z.width} × ${z.height})`])
      : [...new Set(ratios.flatMap((r) => r.sizes.map((z) => z.name)))].map((n) => [n, n]);
    this.#outputSize = select('outputSize', [['', s.auto], ...sizes], this.#outputSize);
    const cost = this.#$('.cost');
    cost.textContent = model?.price_per_image_usd != null ? s.cost(model.price_per_image_usd) : '';
    cost.hidden = !cost.textContent;
    this.#syncReferences();
  }

  #syncTools() {
    for (const b of this.shadowRoot.querySelectorAll('[data-tool]')) b.setAttribute('aria-pressed', String(b.dataset.tool === this.#tool));
    for (const el of this.shadowRoot.querySelectorAll('[data-for]')) {
      el.hidden = !el.dataset.for.split(' ').includes(this.#tool) && !(el.dataset.for === 'box' && this.#state.box);
    }
    const stage = this.#$('.stage');
    if (stage) stage.dataset.tool = this.#tool;
    this.#placeCursor();
  }

  #syncOptions() {
    this.#setValue('size', this.#brushSize);
    this.#setValue('sizeValue', this.#brushSize);
    this.#setValue('tolerance', this.#tolerance);
    const out = this.#named('toleranceValue');
    if (out) out.value = this.#tolerance;
    const set = (name, prop, v) => { const el = this.#named(name); if (el) el[prop] = v; };
    set('contiguous', 'checked', this.#contiguous);
    set('showMask', 'checked', this.#maskVisible);
    set('maskColour', 'value', this.#maskColour);
    set('maskOpacity', 'value', this.#maskOpacity);
    const step = this.#growStep();
    set('grow', 'title', this.#strings.growBy(step));
    set('shrink', 'title', this.#strings.shrinkBy(step));
  }

  #syncExport() {
    this.#setValue('format', this.#format);
    this.#setValue('quality', this.#quality);
    const out = this.#named('qualityValue');
    if (out) out.value = `${Math.round(this.#quality * 100)}%`;
    const q = this.#$('.quality');
    if (q) q.hidden = this.#format === 'image/png';
  }

  #syncState() {
    const st = this.#state;
    const has = Boolean(this.#size);
    const set = (name, disabled) => { const el = this.#named(name); if (el) el.disabled = disabled; };
    set('undo', !st.canUndo);
    set('redo', !st.canRedo);
    for (const n of ['save', 'grow', 'shrink', 'invert', 'clear', 'downloadImage', 'downloadMaskWhite', 'downloadMaskAlpha', 'recomposite']) set(n, !has);
    const values = st.box ?? ['', '', '', ''];
    ['ymin', 'xmin', 'ymax', 'xmax'].forEach((n, i) => this.#setValue(n, values[i] === '' ? '' : Math.round(values[i])));
    set('clearBox', !st.box);
    const compare = this.#$('.compare');
    if (compare) compare.hidden = !has;
    this.#syncTools();
    this.#renderRounds();
    this.#syncFooter();
  }

  #syncFooter(message) {
    const info = this.#$('.foot .info');
    if (!info) return;
    info.textContent = this.#size ? this.#strings.imageInfo(this.#size.width, this.#size.height) : '';
    const saved = this.#$('.foot .saved');
    const s = this.#strings;
    const parts = [];
    if (message) parts.push(document.createTextNode(message));
    else if (this.#savedAt && this.#size) parts.push(document.createTextNode(`${s.autosaved(new Date(this.#savedAt).toLocaleTimeString(this.locale))} · `));
    if (this.#savedAt && this.#size) {
      const b = button(s.discard, () => this.discardSaved().catch((e) => this.#fail(e)));
      b.className = 'link';
      b.name = 'discard';
      parts.push(b);
    }
    saved.replaceChildren(...parts);
  }

  #setBusy(busy) {
    const g = this.#named('generate');
    if (!g) return;
    g.disabled = busy;
    this.#named('cancel').hidden = !busy;
    this.#$('.progress').hidden = !busy;
    if (busy) this.#tick();
  }

  #tick() {
    const g = this.#generation;
    const el = this.#$('.stagetext');
    if (!g || !el) return;
    const seconds = ((performance.now() - g.started) / 1000).toFixed(1);
    const label = this.#strings.stages[g.stage];
    const text = typeof label === 'function' ? label(((g.detail?.bytes ?? 0) / 1e6).toFixed(1)) : (label ?? g.stage);
    el.textContent = `${text}… ${seconds} s`;
  }

  #status(text) { const el = this.#$('.status'); if (el) el.textContent = text; }

  #error(text) { const el = this.#$('.error'); if (el) el.textContent = text; }

  #fail(e) {
    const err = e instanceof Error ? e : coded('internal', String(e));
    err.code ??= 'internal';
    clearInterval(this.#retry?.timer);
    this.#retry = null;
    const explain = this.#strings.errors[err.code];
    if (err.code === 'rate_limited' && err.retryAfter) {
      const until = Date.now() + err.retryAfter * 1000;
      const show = () => {
        const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        this.#error(explain(err.message, left));
        if (!left) clearInterval(this.#retry?.timer);
      };
      this.#retry = { timer: setInterval(show, 1000) };
      show();
    } else {
      this.#error(explain ? explain(err.message, err.retryAfter) : err.message);
    }
    this.#status('');
    this.#emit('error', { code: err.code, message: err.message, retryAfter: err.retryAfter });
    return err;
  }

  #emit(name, detail) {
    this.dispatchEvent(new CustomEvent(`pixelkeep-${name}`, { detail, bubbles: true, composed: true }));
  }

  #keepList() {
    return [...this.#keep, ...this.#customKeep];
  }

  #syncKeep() {
    const box = this.#$('.chips.keep');
    if (!box) return;
    const s = this.#strings;
    const presets = KEEP_PRESETS.map((k) => {
      const b = button(s.keepPresets[k] ?? k, () => { this.#keep.has(k) ? this.#keep.delete(k) : this.#keep.add(k); this.#syncKeep(); this.#named(`keep-${k}`)?.focus(); });
      b.className = 'chip';
      b.name = `keep-${k}`;
      b.setAttribute('aria-pressed', String(this.#keep.has(k)));
      return b;
    });
    const custom = this.#customKeep.map((k) => {
      const b = button(`${k} ×`, () => { this.#customKeep = this.#customKeep.filter((x) => x !== k); this.#syncKeep(); });
      b.className = 'chip';
      b.setAttribute('aria-pressed', 'true');
      b.setAttribute('aria-label', s.remove(k));
      return b;
    });
    box.replaceChildren(...presets, ...custom);
  }

  #addCustomKeep() {
    const input = this.#named('keepCustom');
    const v = input.value.trim();
    if (v && !this.#customKeep.includes(v)) this.#customKeep.push(v);
    input.value = '';
    this.#syncKeep();
  }

  async #addReferences(files) {
    const s = this.#strings;
    const model = this.#modelProfile();
    const max = model?.max_references ?? 0;
    const total = this.#references.length + files.length;
    if (total > max) {
      this.#fail(coded('too_many_references', max === 0 ? s.referencesNone : s.tooManyReferences(model?.id ?? '', max, total)));
      return;
    }
    for (const f of files) {
      const data = base64(new Uint8Array(await f.arrayBuffer()));
      this.#references.push({ name: f.name, mime_type: f.type || 'image/png', data, url: URL.createObjectURL(f) });
    }
    this.#error('');
    this.#syncReferences();
  }

  #syncReferences() {
    const refs = this.#$('.refs');
    if (!refs) return;
    const s = this.#strings;
    const max = this.#modelProfile()?.max_references ?? 0;
    const items = this.#references.map((r, i) => {
      const wrap = document.createElement('span');
      wrap.className = 'ref';
      const img = document.createElement('img');
      img.src = r.url;
      img.alt = r.name;
      const del = button('×', () => { URL.revokeObjectURL(r.url); this.#references.splice(i, 1); this.#syncReferences(); });
      del.setAttribute('aria-label', s.remove(r.name));
      wrap.append(img, del);
      return wrap;
    });
    const add = this.#named('addReferences');
    add.disabled = this.#references.length >= max;
    refs.replaceChildren(...items, add);
    this.#$('.refcount').textContent = max ? `(${s.referencesCount(this.#references.length, max)})` : '';
    const over = this.#references.length > max;
    this.#$('.refnote').textContent = over
      ? (max ? s.tooManyReferences(this.#modelProfile()?.id ?? '', max, this.#references.length) : s.referencesNone)
      : (max ? '' : s.referencesNone);
    this.#$('.refnote').classList.toggle('error', over);
  }

  #renderRounds() {
    const strip = this.#$('.strip');
    if (!strip) return;
    const s = this.#strings;
    const { active, rounds } = this.#state;
    this.#$('.roundsbox').hidden = !this.#size;
    const original = button('', () => this.revert(0).catch(() => {}));
    original.append(thumbCanvas(this.#state.originalThumb), s.original);
    original.setAttribute('aria-current', String(active === 0));
    strip.replaceChildren(original, ...rounds.map((r, i) => {
      const b = button('', () => this.revert(i + 1).catch(() => {}));
      const canvas = thumbCanvas(r.thumb);
      const badge = document.createElement('span');
      const raw = r.report.raw.changed_pixels;
      badge.className = `badge${raw ? ' drifted' : ''}`;
      badge.textContent = `${compact(raw)} → ${r.report.delivered.changed_pixels}`;
      const label = document.createElement('span');
      label.textContent = `${i + 1}`;
      b.append(canvas, label, badge);
      b.title = `${s.round(i + 1)}: ${r.instruction}. ${s.drift(r.report)}`;
      b.setAttribute('aria-label', b.title);
      b.setAttribute('aria-current', String(active === i + 1));
      if (i >= active) b.classList.add('undone');
      return b;
    }));
    const detail = this.#$('.detail');
    const current = rounds[active - 1];
    detail.hidden = !current;
    if (!current) return;
    const r = current.report;
    this.#$('.detail .summary').textContent = `${s.round(active)} · ${r.provider} · ${r.model} · ${(r.elapsed_ms / 1000).toFixed(1)} s — “${current.instruction}”`;
    this.#$('.detail .drifttext').textContent = s.drift(r);
    this.#setValue('rcGrow', r.options.grow);
    this.#setValue('rcFeather', r.options.feather);
  }

  async #boxFromInputs() {
    const v = ['ymin', 'xmin', 'ymax', 'xmax'].map((n) => this.#named(n).value);
    if (v.some((x) => x === '')) return;
    await this.setBox(v.map(Number));
  }

  #growStep() {
    return this.#size ? Math.max(1, Math.round(Math.max(this.#size.width, this.#size.height) / 150)) : 4;
  }

  async #download() {
    const blob = await this.toBlob(this.#format, this.#quality).catch((e) => { throw this.#fail(e); });
    saveAs(blob, `pixelkeep.${FORMATS[blob.type] ?? 'png'}`);
  }

  async #downloadMask(convention) {
    const blob = await this.maskBlob({ convention }).catch((e) => { throw this.#fail(e); });
    saveAs(blob, `pixelkeep-mask-${convention}.png`);
  }

  // ----- view: image pixels <-> screen
  #fit() {
    const stage = this.#$('.stage');
    if (!this.#size || !stage) return;
    const { clientWidth: w, clientHeight: h } = stage;
    const scale = Math.min(w / this.#size.width, h / this.#size.height) || 1;
    this.#view = { scale, x: (w - this.#size.width * scale) / 2, y: (h - this.#size.height * scale) / 2 };
    this.#fitted = true;
  }

  #zoomTo(scale, cx, cy) {
    const stage = this.#$('.stage');
    if (!stage || !Number.isFinite(scale)) return;
    cx ??= stage.clientWidth / 2;
    cy ??= stage.clientHeight / 2;
    const v = this.#view;
    const ix = (cx - v.x) / v.scale;
    const iy = (cy - v.y) / v.scale;
    const s = Math.max(0.01, Math.min(32, scale));
    this.#view = { scale: s, x: cx - ix * s, y: cy - iy * s };
    this.#fitted = false;
    this.#draw();
  }

  #toImage(e) {
    const r = this.#$('canvas.overlay').getBoundingClientRect();
    const v = this.#view;
    return [(e.clientX - r.left - v.x) / v.scale, (e.clientY - r.top - v.y) / v.scale];
  }

  #tint() {
    const mask = this.#bitmaps.mask;
    if (!mask) { this.#tinted = null; return; }
    const c = this.#tinted?.width === mask.width && this.#tinted?.height === mask.height ? this.#tinted : new OffscreenCanvas(mask.width, mask.height);
    const ctx = c.getContext('2d');
    ctx.globalCompositeOperation = 'copy';
    ctx.drawImage(mask, 0, 0);
    ctx.globalCompositeOperation = 'source-in';
    ctx.fillStyle = this.#maskColour;
    ctx.fillRect(0, 0, c.width, c.height);
    this.#tinted = c;
  }

  #draw() {
    const stage = this.#$('.stage');
    if (!stage) return;
    const zoom = this.#named('zoom');
    if (zoom) zoom.value = `${Math.round(this.#view.scale * 100)}%`;
    const dpr = globalThis.devicePixelRatio || 1;
    const w = stage.clientWidth;
    const h = stage.clientHeight;
    for (const c of this.shadowRoot.querySelectorAll('.stage canvas')) {
      if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
    }
    const v = this.#view;
    const place = (ctx) => ctx.setTransform(dpr * v.scale, 0, 0, dpr * v.scale, dpr * v.x, dpr * v.y);
    const img = this.#$('canvas.image').getContext('2d');
    img.setTransform(1, 0, 0, 1, 0, 0);
    img.clearRect(0, 0, img.canvas.width, img.canvas.height);
    const ov = this.#$('canvas.overlay').getContext('2d');
    ov.setTransform(1, 0, 0, 1, 0, 0);
    ov.clearRect(0, 0, ov.canvas.width, ov.canvas.height);
    if (!this.#size || !w || !h) return;
    const { width: W, height: H } = this.#size;
    place(img);
    img.imageSmoothingEnabled = v.scale < 1;
    img.fillStyle = checker(img);
    img.fillRect(0, 0, W, H);
    if (this.#bitmaps.image) img.drawImage(this.#bitmaps.image, 0, 0, W, H);
    const split = this.#holdOriginal ? w : (w * this.#compare) / 100;
    if (split > 0 && this.#bitmaps.original) {
      img.save();
      img.setTransform(1, 0, 0, 1, 0, 0);
      img.beginPath();
      img.rect(0, 0, split * dpr, h * dpr);
      img.clip();
      place(img);
      img.clearRect(0, 0, W, H);
      img.fillRect(0, 0, W, H);
      img.drawImage(this.#bitmaps.original, 0, 0, W, H);
      img.restore();
      if (!this.#holdOriginal) {
        img.setTransform(1, 0, 0, 1, 0, 0);
        img.fillStyle = '#fff';
        img.fillRect(split * dpr - dpr, 0, 2 * dpr, h * dpr);
      }
    }
    place(ov);
    if (this.#maskVisible && this.#tinted && !this.#holdOriginal) {
      ov.globalAlpha = this.#maskOpacity;
      ov.drawImage(this.#tinted, 0, 0, W, H);
      ov.globalAlpha = 1;
    }
    const box = this.#state.box;
    if (box) {
      const [y0, x0, y1, x1] = box;
      ov.lineWidth = 2 / v.scale;
      ov.setLineDash([6 / v.scale, 4 / v.scale]);
      ov.strokeStyle = '#fff';
      ov.strokeRect(x0 * W / 1000, y0 * H / 1000, (x1 - x0) * W / 1000, (y1 - y0) * H / 1000);
      ov.lineDashOffset = 6 / v.scale;
      ov.strokeStyle = '#000';
      ov.strokeRect(x0 * W / 1000, y0 * H / 1000, (x1 - x0) * W / 1000, (y1 - y0) * H / 1000);
      ov.setLineDash([]);
      ov.lineDashOffset = 0;
    }
    const live = this.#live;
    if (live) {
      ov.globalAlpha = live.erase ? 0.6 : this.#maskOpacity;
      ov.fillStyle = ov.strokeStyle = live.erase ? '#282828' : this.#maskColour;
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
        if (live.kind === 'box') { ov.globalAlpha = 1; ov.strokeStyle = '#fff'; ov.lineWidth = 2 / v.scale; ov.stroke(); } else ov.fill();
      }
      ov.globalAlpha = 1;
    }
  }

  /** The brush outline follows the pointer, at the brush's real size on screen. */
  #placeCursor(e) {
    const cursor = this.#$('.cursor');
    if (!cursor) return;
    if (e) this.#cursorAt = [e.clientX, e.clientY];
    const show = this.#cursorAt && this.#size && (this.#tool === 'brush' || this.#tool === 'eraser') && !this.#gesture && !this.#spaceHeld;
    cursor.hidden = !show;
    if (!show) return;
    const r = this.#$('.stage').getBoundingClientRect();
    const d = Math.max(2, this.#brushSize * this.#view.scale);
    cursor.style.width = cursor.style.height = `${d}px`;
    cursor.style.transform = `translate(${this.#cursorAt[0] - r.left - d / 2}px, ${this.#cursorAt[1] - r.top - d / 2}px)`;
  }

  #cursorAt = null;

  // ----- pointer input: mouse, pen and touch alike
  #down(e) {
    if (!this.#size) return;
    this.#$('.stage').focus({ preventScroll: true });
    e.currentTarget.setPointerCapture(e.pointerId);
    this.#pointers.set(e.pointerId, [e.clientX, e.clientY]);
    if (this.#pointers.size === 2) { // two fingers: pinch-zoom and pan, abandon the stroke
      this.#live = null;
      this.#gesture = { kind: 'pinch', ...this.#pinchState() };
      this.#placeCursor();
      this.#draw();
      return;
    }
    if (this.#pointers.size > 2) return;
    const panning = this.#tool === 'pan' || this.#spaceHeld || e.button === 1;
    if (panning) { this.#gesture = { kind: 'pan', x: e.clientX, y: e.clientY }; this.#placeCursor(); return; }
    if (e.button !== 0) return;
    const [x, y] = this.#toImage(e);
    if (this.#tool === 'wand') { this.selectSimilar(x, y, { erase: e.altKey }).catch(() => {}); return; }
    const kind = this.#tool === 'brush' || this.#tool === 'eraser' ? 'stroke' : this.#tool;
    this.#live = { kind, erase: this.#tool === 'eraser' || e.altKey, points: [this.#point(e, x, y)] };
    this.#draw();
  }

  #point(e, x, y) {
    return e.pointerType === 'pen' && e.pressure > 0 ? [x, y, e.pressure] : [x, y];
  }

  #move(e) {
    if (e.pointerType !== 'touch') this.#placeCursor(e);
    if (!this.#pointers.has(e.pointerId)) return;
    this.#pointers.set(e.pointerId, [e.clientX, e.clientY]);
    const g = this.#gesture;
    if (g?.kind === 'pan') {
      this.#view.x += e.clientX - g.x;
      this.#view.y += e.clientY - g.y;
      this.#fitted = false;
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
    for (const ev of events.length ? events : [e]) {
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
    const p = live.points;
    const [a, b] = [p[0], p[p.length - 1]];
    const opts = { erase: live.erase };
    const quiet = () => {}; // #fail has shown it
    if (live.kind === 'stroke') this.addStroke(p, { width: this.#brushSize, ...opts }).catch(quiet);
    else if (live.kind === 'lasso' && p.length > 2) this.addShape({ kind: 'polygon', points: p.map((q) => [q[0], q[1]]) }, opts).catch(quiet);
    else if (live.kind === 'rect') this.addShape({ kind: 'rect', x: Math.min(a[0], b[0]), y: Math.min(a[1], b[1]), width: Math.abs(b[0] - a[0]), height: Math.abs(b[1] - a[1]) }, opts).catch(quiet);
    else if (live.kind === 'ellipse') this.addShape({ kind: 'ellipse', cx: (a[0] + b[0]) / 2, cy: (a[1] + b[1]) / 2, rx: Math.abs(b[0] - a[0]) / 2, ry: Math.abs(b[1] - a[1]) / 2 }, opts).catch(quiet);
    else if (live.kind === 'box') {
      const { width: W, height: H } = this.#size;
      const clamp = (v) => Math.max(0, Math.min(1000, v));
      this.setBox([clamp(a[1] / H * 1000), clamp(a[0] / W * 1000), clamp(b[1] / H * 1000), clamp(b[0] / W * 1000)]).catch(quiet);
    }
    this.#draw();
  }

  #wheel(e) {
    if (!this.#size) return;
    e.preventDefault();
    const r = this.#$('canvas.overlay').getBoundingClientRect();
    this.#zoomTo(this.#view.scale * Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    this.#placeCursor(e);
  }

  // ----- keyboard: every action has a button; these are the shortcuts
  #key(e, down) {
    const target = e.composedPath()[0];
    const field = target instanceof Element && target.closest('input, textarea, select, [contenteditable]');
    const mod = e.ctrlKey || e.metaKey;
    const quiet = () => {};
    if (down && mod && e.key === 'Enter') { e.preventDefault(); this.generate().catch(quiet); return; }
    if (down && e.key === 'Escape' && this.#generation) { this.cancel(); return; }
    if (field) return;
    const onStage = target === this || target?.classList?.contains('stage');
    if (e.code === 'Space' && (onStage || this.#spaceHeld)) { this.#spaceHeld = down; this.#placeCursor(); e.preventDefault(); return; }
    if (e.key === '\\') {
      e.preventDefault();
      if (down && !this.#holdOriginal) this.#ensureOriginal().catch(quiet);
      this.#holdOriginal = down;
      this.#draw();
      return;
    }
    if (!down) return;
    const key = e.key.toLowerCase();
    const act = (fn) => { e.preventDefault(); fn()?.catch?.(quiet); };
    const pan = (dx, dy) => act(() => { this.#view.x += dx; this.#view.y += dy; this.#fitted = false; this.#draw(); });
    if (mod && key === 'z') act(() => (e.shiftKey ? this.redo() : this.undo()));
    else if (mod && key === 'y') act(() => this.redo());
    else if (mod && key === 's') act(() => this.save());
    else if (mod || e.altKey) return;
    else if (e.key === '?') act(() => this.#$('dialog.help').showModal());
    else if (e.key === '[') act(() => { this.brushSize = this.#brushSize / 1.25; });
    else if (e.key === ']') act(() => { this.brushSize = this.#brushSize * 1.25 + 1; });
    else if (e.key === '+' || e.key === '=') act(() => this.#zoomTo(this.#view.scale * 1.25));
    else if (e.key === '-') act(() => this.#zoomTo(this.#view.scale / 1.25));
    else if (e.key === '0') act(() => { this.#fit(); this.#draw(); });
    else if (e.key === '1') act(() => this.#zoomTo(1));
    else if (key === 'm') act(() => { this.maskVisible = !this.#maskVisible; });
    else if (key === 'g') act(() => this.growMask(e.shiftKey ? -this.#growStep() : this.#growStep()));
    else if (key === 'i') act(() => this.invertMask());
    else if (e.key === 'Delete' || e.key === 'Backspace') act(() => this.clearMask());
    else if (onStage && e.key.startsWith('Arrow')) {
      const d = e.shiftKey ? 200 : 40;
      pan(...{ ArrowLeft: [d, 0], ArrowRight: [-d, 0], ArrowUp: [0, d], ArrowDown: [0, -d] }[e.key]);
    } else {
      const tool = Object.keys(TOOLS).find((t) => TOOLS[t] === key);
      if (tool) act(() => { this.tool = tool; });
    }
  }
}

function button(text, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.onclick = onclick;
  return b;
}

let sharedSheet = null;
/** The element's styles, parsed once and shared by every instance. */
function sheet() {
  if (!sharedSheet) {
    sharedSheet = new CSSStyleSheet();
    sharedSheet.replaceSync(STYLE);
  }
  return sharedSheet;
}

/** A history-strip thumbnail ({width, height, data} RGBA from the worker), blank if none. */
function thumbCanvas(thumb) {
  const canvas = document.createElement('canvas');
  if (thumb) {
    canvas.width = thumb.width;
    canvas.height = thumb.height;
    canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(thumb.data), thumb.width, thumb.height), 0, 0);
  }
  return canvas;
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

function compact(n) {
  return n < 1000 ? String(n) : n < 1e6 ? `${(n / 1000).toFixed(n < 1e4 ? 1 : 0)}k` : `${(n / 1e6).toFixed(1)}M`;
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function saveAs(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

let checkerPattern = null;
/** The transparency checkerboard, drawn under the image so transparent pixels show as such. */
function checker(ctx) {
  if (!checkerPattern) {
    const c = new OffscreenCanvas(16, 16);
    const g = c.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, 16, 16);
    g.fillStyle = '#d8d8d8';
    g.fillRect(0, 0, 8, 8);
    g.fillRect(8, 8, 8, 8);
    checkerPattern = c;
  }
  return ctx.createPattern(checkerPattern, 'repeat');
}

/** Bytes of a File, Blob, ArrayBuffer, typed array or URL, and a label saying where they
 * came from. A cross-origin URL that the server does not allow fails with an error that
 * says it is CORS. */
async function readSource(source) {
  if (source instanceof Blob) return { bytes: await source.arrayBuffer(), label: source.name ?? null };
  if (source instanceof ArrayBuffer) return { bytes: source, label: null };
  if (ArrayBuffer.isView(source)) return { bytes: source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength), label: null };
  const url = new URL(String(source), document.baseURI);
  let response;
  try {
    response = await fetch(url, { mode: 'cors', credentials: 'same-origin' });
  } catch {
    const cross = url.origin !== location.origin;
    throw coded(cross ? 'cors' : 'network', cross
      ? `The photo at ${url.origin} cannot be read: that server does not allow cross-origin (CORS) access. Ask its owner to send Access-Control-Allow-Origin, or upload the photo instead.`
      : `The photo at ${url.href} could not be loaded.`);
  }
  if (!response.ok) throw coded('network', `The photo at ${url.href} could not be loaded (HTTP ${response.status}).`);
  return { bytes: await response.arrayBuffer(), label: url.href };
}

if (!customElements.get('pixelkeep-editor')) customElements.define('pixelkeep-editor', PixelkeepEditor);
